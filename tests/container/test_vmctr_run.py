#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vmctr-run as a user runs it: exit codes, signals forwarded, stdin, a real
terminal (through script(1)), and failures before boot. TAP on stdout.

usage: test_vmctr_run.py PATH/TO/vmctr-run
Needs VMCTR_TEST_KERNEL and VMCTR_GUEST_INIT (meson's tap_env sets both).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from tap import Tap  # noqa: E402


def main():
    exe = sys.argv[1]
    kernel = os.environ.get('VMCTR_TEST_KERNEL', '')
    if not os.path.exists(kernel):
        print('1..0 # SKIP no guest kernel (VMCTR_TEST_KERNEL)')
        return 77
    store = tempfile.mkdtemp(prefix='vmctr-run-test-')
    env = dict(os.environ, VMCTR_KERNEL=kernel)
    base = [exe, '--store', store, '--rm', '-q']
    t = Tap()

    def run(args, **kw):
        return subprocess.run(base + args, env=env, capture_output=True, text=True, timeout=120, **kw)

    try:
        p = run(['--', 'sh', '-c', 'echo out; echo err >&2; exit 42'])
        t.eq((p.returncode, p.stdout, p.stderr), (42, 'out\n', 'err\n'), 'exit code and both streams')

        # Without --rm the container's disk stays, and its name stays taken.
        keep = [exe, '--store', store, '-q', '--name', 'kept', '--', 'true']
        p1 = subprocess.run(keep, env=env, capture_output=True, text=True, timeout=120)
        p2 = subprocess.run(keep, env=env, capture_output=True, text=True, timeout=120)
        disk = os.path.join(store, 'containers', 'kept.ext4')
        t.ok(p1.returncode == 0 and os.path.exists(disk) and p2.returncode == 125 and
             'kept' in p2.stderr, 'without --rm the disk stays and the name is taken',
             'rc %d/%d, stderr %r' % (p1.returncode, p2.returncode, p2.stderr))
        if os.path.exists(disk):
            os.unlink(disk)

        p = run(['-i', '--', 'tr', 'a-z', 'A-Z'], input='piped in\n')
        t.eq(p.stdout, 'PIPED IN\n', '-i: stdin reaches the container')

        p = run(['-e', 'A=1', '-w', '/tmp', '-u', 'nobody', '--hostname', 'h1', '--',
                 'sh', '-c', 'echo $A $(pwd) $(id -u) $(hostname)'])
        t.eq(p.stdout, '1 /tmp 65534 h1\n', '-e, -w, -u, --hostname applied')

        # SIGTERM to vmctr-run goes to the container's init, whose trap decides the exit.
        proc = subprocess.Popen(base + ['--', 'sh', '-c',
                                        'trap "exit 9" TERM; echo ready; while :; do sleep 0.1; done'],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        t.eq((line, rc), ('ready\n', 9), 'SIGTERM is forwarded to the container')

        if shutil.which('script'):
            cmd = ' '.join([exe, '--store', store, '--rm', '-q', '-t', '-i'])
            p = subprocess.run(['script', '-qfec', 'stty rows 33 cols 101; ' + cmd, '/dev/null'],
                               input='stty size; test -t 0 && echo tty; exit 5\n', env=env,
                               capture_output=True, text=True, timeout=120)
            out = p.stdout.replace('\r', '')
            t.ok('33 101\ntty\n' in out and p.returncode == 5,
                 '-t -i on a terminal: window size, a tty, the exit code',
                 'rc %d, output %r' % (p.returncode, out[-300:]))
        else:
            t.skip('-t on a terminal', 'script(1) is not installed')

        # Confinement and its relaxations, as docker run spells them.
        status = "grep -E '^(CapEff|Seccomp):' /proc/self/status | tr -s '\\t' ' '"
        p = run(['--', 'sh', '-c', status])
        t.eq(p.stdout, 'CapEff: 00000000a00425fb\nSeccomp: 2\n', 'default capabilities and seccomp')
        p = run(['--cap-add', 'NET_ADMIN', '--cap-drop', 'ALL', '--security-opt',
                 'seccomp=unconfined', '--', 'sh', '-c', status])
        t.eq(p.stdout, 'CapEff: 0000000000001000\nSeccomp: 0\n',
             '--cap-drop ALL --cap-add NET_ADMIN --security-opt seccomp=unconfined')
        p = run(['--privileged', '--', 'sh', '-c', status + '; mount -t tmpfs none /mnt && echo mounted'])
        t.eq(p.stdout, 'CapEff: 000001ffffffffff\nSeccomp: 0\nmounted\n', '--privileged')
        p = run(['--cap-add', 'NO_SUCH', '--', 'true'])
        t.ok(p.returncode == 125 and 'NO_SUCH' in p.stderr, 'an unknown capability: exit 125',
             p.stderr)

        p = run(['--virtualization', '--', 'true'])
        t.ok(p.returncode == 125 and 'nested virtualization' in p.stderr,
             '--virtualization fails before boot with the capability message',
             'rc %d, stderr %r' % (p.returncode, p.stderr))

        p = run(['--image', '/nonexistent/image.tar', '--', 'true'])
        t.ok(p.returncode == 125 and '/nonexistent/image.tar' in p.stderr,
             'a missing image: exit 125 naming it', 'rc %d, stderr %r' % (p.returncode, p.stderr))

        p = run(['--memory', 'lots', '--', 'true'])
        t.ok(p.returncode == 125 and '--memory' in p.stderr, 'a bad option value: exit 125',
             p.stderr)

        # An ephemeral disk is left as it is at power-off (no write-back, no
        # unmount: its journal still says "needs recovery"); a kept one is
        # unmounted clean.
        disks = {}
        for name in ('kept', 'eph'):
            disks[name] = os.path.join(store, name + '.img')
            subprocess.run(['truncate', '-s', '64M', disks[name]], check=True)
            subprocess.run(['mke2fs', '-q', '-F', '-t', 'ext4', disks[name]], check=True)
        p = run(['--mount', 'type=block,source=%s,target=/kept' % disks['kept'],
                 '--mount', 'type=block,source=%s,target=/eph,ephemeral' % disks['eph'], '--',
                 'sh', '-c', 'echo k > /kept/f && echo e > /eph/f && cat /kept/f /eph/f'])
        feats = {}
        for name, path in disks.items():
            d = subprocess.run(['dumpe2fs', '-h', path], capture_output=True, text=True)
            feats[name] = [ln for ln in d.stdout.splitlines() if ln.startswith('Filesystem features')]
        t.ok(p.returncode == 0 and p.stdout == 'k\ne\n' and feats['kept'] and feats['eph'] and
             'needs_recovery' not in feats['kept'][0] and 'needs_recovery' in feats['eph'][0],
             'an ephemeral disk is left mounted at power-off, a kept one unmounted clean',
             'rc %d, %r %r, %r' % (p.returncode, p.stdout, p.stderr, feats))
        p = run(['--mount', 'type=share,source=%s,target=/s,ephemeral' % store, '--', 'true'])
        t.ok(p.returncode == 125 and 'ephemeral' in p.stderr,
             'ephemeral on a share is refused before boot', 'rc %d, %r' % (p.returncode, p.stderr))

        left = os.listdir(os.path.join(store, 'containers')) if os.path.isdir(
            os.path.join(store, 'containers')) else []
        t.eq(left, [], '--rm leaves no container disk behind')
    finally:
        shutil.rmtree(store, ignore_errors=True)
    return t.finish()


if __name__ == '__main__':
    sys.exit(main())
