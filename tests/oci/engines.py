#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Container engines driving an OCI runtime: containerd (ctr, the runc v2 shim),
Docker, podman, and containerd with CNI networking.

    engines.py --runtime PATH|NAME [--vmctr-image PATH] [--kernel F] [--guest-init F]
               [--engines containerd,docker,podman,cni] [--keep]

The runtime is any runc-compatible binary: meson registers this test with
vmctr-oci from the build tree; `--runtime runc` (or VMCTR_OCI_RUNTIME=runc, which
overrides the argument) runs the same checks with Debian's runc, which is how the
harness itself is validated.

Isolation: the test re-executes itself under `unshare --net --mount --pid --fork
--mount-proc`, so that every daemon runs in a network namespace of the test's own
(nothing reaches any address outside it), with a private mount table (a tmpfs on
/run, so /run/netns, /run/containerd, /run/docker, /run/containers and the
runtimes' state are the test's own), and as a member of a PID namespace whose end
kills whatever is left. Every daemon's state is under one temporary directory.
The outer process then checks that no process, mount or cgroup of the test is
left, and removes the directory. The image is a busybox OCI image made here from
the host's busybox-static: nothing is downloaded.

VMCTR_KERNEL and VMCTR_GUEST_INIT (--kernel and --guest-init, else from the
environment) are passed into every daemon's environment, since the shims and the
runtime inherit it; podman gives conmon a clean environment, so for podman they go
through containers.conf's conmon_env_vars. A check per engine looks at the running
shim's (conmon's) environment.

TAP, one line per check; the plan comes last. Without root, unshare, skopeo,
busybox or the runtime, the whole test skips (1..0 # SKIP); an engine whose
binaries are missing has its checks reported as skipped."""
import argparse
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from tap import Tap  # noqa: E402  (tests/tap.py)

INNER_ENV = 'VMCTR_ENGINES_INNER'
IMAGE_REF = 'docker.io/library/busybox:test'
CMD_TIMEOUT = 120   # one engine command; a VM runtime's start is 1-3 s under TCG
ENGINES = ('containerd', 'docker', 'podman', 'cni')
# Docker's bridge (docker0) address in the test's namespace.
DOCKER_BIP = '10.91.0.1'
# The test's own addresses, on a bridge inside its own network namespace.
CNI_SUBNET = '10.89.0.0/24'
CNI_BRIDGE = 'vmctr-eng0'


class Interrupted(BaseException):
    """SIGTERM (meson's timeout) or SIGINT: stop the checks, still tear everything down."""


def on_signal(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Interrupted('signal %d' % signum)


def log(msg):
    print('# ' + msg)
    sys.stdout.flush()


def run(argv, timeout=CMD_TIMEOUT, env=None, input=None, check=False):
    """Run argv; return (rc, stdout, stderr) with text output. A timeout gives rc -9."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                           input=input, stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors='replace') if isinstance(e.stdout, bytes) else (e.stdout or '')
        return -9, out, 'timed out after %ds: %s' % (timeout, ' '.join(argv))
    except OSError as e:
        return -1, '', str(e)
    if check and p.returncode != 0:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(argv), p.returncode, p.stderr.strip()))
    return p.returncode, p.stdout, p.stderr


def diag(rc, out, err):
    return 'exit %s\nstdout: %s\nstderr: %s' % (rc, out.strip()[-2000:], err.strip()[-2000:])


def wait_for(pred, timeout, step=0.2):
    end = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(step)


def find_tool(name, *candidates):
    for c in candidates:
        if os.access(c, os.X_OK):
            return c
    return shutil.which(name)


# ---------------------------------------------------------------------------
# The image: busybox-static in an OCI layout, then docker-archive and oci-archive.

def make_rootfs(root, busybox):
    for d in ('bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'root',
              'home/user', 'var', 'run'):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.makedirs(os.path.join(root, 'tmp'), exist_ok=True)
    os.chmod(os.path.join(root, 'tmp'), 0o1777)
    shutil.copy(busybox, os.path.join(root, 'bin', 'busybox'))
    os.chmod(os.path.join(root, 'bin', 'busybox'), 0o755)
    names = subprocess.run([busybox, '--list'], capture_output=True, text=True,
                           check=True).stdout.split()
    for n in names:
        if n != 'busybox' and '/' not in n:
            os.symlink('busybox', os.path.join(root, 'bin', n))
    with open(os.path.join(root, 'etc', 'passwd'), 'w') as f:
        f.write('root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n'
                'nobody:x:65534:65534:nobody:/:/bin/false\n')
    with open(os.path.join(root, 'etc', 'group'), 'w') as f:
        f.write('root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n')
    os.chown(os.path.join(root, 'home', 'user'), 1000, 1000)


def make_image(tmp, busybox, vmctr_image, umoci, skopeo):
    """Return (docker_archive, oci_archive); raise on failure."""
    root = os.path.join(tmp, 'image', 'rootfs')
    layout = os.path.join(tmp, 'image', 'layout')
    make_rootfs(root, busybox)
    path_env = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    if vmctr_image:
        # The project's own writer (vmctr_image_build_from_dir); ref name "latest".
        run([vmctr_image, 'build', root, layout, '--cmd', 'sh', '--env', path_env], check=True)
        src = 'oci:%s:latest' % layout
    else:
        bundle = os.path.join(tmp, 'image', 'bundle')
        run([umoci, 'init', '--layout', layout], check=True)
        run([umoci, 'new', '--image', layout + ':test'], check=True)
        run([umoci, 'unpack', '--image', layout + ':test', bundle], check=True)
        os.rmdir(os.path.join(bundle, 'rootfs'))
        shutil.move(root, os.path.join(bundle, 'rootfs'))
        run([umoci, 'repack', '--image', layout + ':test', bundle], check=True)
        run([umoci, 'config', '--image', layout + ':test', '--config.cmd', 'sh',
             '--config.env', path_env], check=True)
        src = 'oci:%s:test' % layout
    docker_archive = os.path.join(tmp, 'image', 'busybox-docker.tar')
    oci_archive = os.path.join(tmp, 'image', 'busybox-oci.tar')
    pol = os.path.join(tmp, 'image', 'policy.json')
    with open(pol, 'w') as f:
        json.dump({'default': [{'type': 'insecureAcceptAnything'}]}, f)
    run([skopeo, '--policy', pol, 'copy', '-q', src,
         'docker-archive:%s:busybox:test' % docker_archive], check=True)
    run([skopeo, '--policy', pol, 'copy', '-q', src, 'oci-archive:%s:test' % oci_archive],
        check=True)
    return docker_archive, oci_archive


# ---------------------------------------------------------------------------
# Daemons

class Daemon:
    def __init__(self, name, argv, env, logfile):
        self.name = name
        self.logfile = logfile
        self.log = open(logfile, 'w')
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def alive(self):
        return self.proc.poll() is None

    def tail(self, n=30):
        try:
            with open(self.logfile, errors='replace') as f:
                return ''.join(f.readlines()[-n:])
        except OSError:
            return ''

    def stop(self, grace=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                log('%s did not stop on SIGTERM in %ds: SIGKILL' % (self.name, grace))
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Ctx:
    def __init__(self, args, tap, tmp):
        self.args = args
        self.t = tap
        self.tmp = tmp
        self.runtime = args.runtime
        self.uid = args.uid
        self.daemons = []
        self._containerd = None
        self.docker_archive = None
        self.cleanups = []   # callables, run last-in first-out
        env = dict(os.environ)
        env.pop(INNER_ENV, None)
        env['TMPDIR'] = os.path.join(tmp, 'tmp')
        # The shims and the runtime inherit the daemon's environment: vmctr-oci finds its
        # kernel and guest init through these.
        for k, v in (('VMCTR_KERNEL', args.kernel), ('VMCTR_GUEST_INIT', args.guest_init)):
            if v:
                env[k] = v
        self.env = env

    def containerd(self):
        """The one containerd of the run (the containerd and the CNI checks share it), with
        the image imported; None if it did not start (reported once)."""
        if self._containerd is None:
            c = Containerd(self)
            self.cleanups.append(c.remove_all)
            c.up = self.t.ok(c.ready(), 'containerd: starts (state and socket under the temp dir)',
                             c.proc.tail())
            if c.up:
                self.env_check(c.proc, 'containerd')
                rc, out, err = c.ctr('images', 'import', self.docker_archive)
                c.up = self.t.ok(rc == 0 and IMAGE_REF in c.ctr('images', 'ls', '-q')[1],
                                 'containerd: ctr images import of the docker-archive',
                                 diag(rc, out, err))
            self._containerd = c
        return self._containerd if self._containerd.up else None

    def env_check(self, proc, name):
        """When VMCTR_KERNEL or VMCTR_GUEST_INIT are set, the daemon has them."""
        want = {k: self.env[k] for k in ('VMCTR_KERNEL', 'VMCTR_GUEST_INIT') if k in self.env}
        if not want:
            return
        try:
            with open('/proc/%d/environ' % proc.proc.pid, 'rb') as f:
                got = dict(e.decode(errors='replace').split('=', 1)
                           for e in f.read().split(b'\0') if b'=' in e)
        except OSError as e:
            got = {'error': str(e)}
        self.t.ok(all(got.get(k) == v for k, v in want.items()),
                  '%s: its environment has %s' % (name, ' and '.join(sorted(want))),
                  'want %r' % want)

    def shim_env_check(self, name, comm):
        """While a container runs: its shim (whose environment the runtime gets) has
        VMCTR_KERNEL and VMCTR_GUEST_INIT when they are set. comm: the shim's process name."""
        want = {k: self.env[k] for k in ('VMCTR_KERNEL', 'VMCTR_GUEST_INIT') if k in self.env}
        if not want:
            return
        seen = {}
        for p in os.listdir('/proc'):   # our PID namespace's /proc: only the test's processes
            if not p.isdigit():
                continue
            try:
                with open('/proc/%s/comm' % p) as f:
                    if f.read().strip() != comm:
                        continue
                with open('/proc/%s/environ' % p, 'rb') as f:
                    seen[p] = dict(e.decode(errors='replace').split('=', 1)
                                   for e in f.read().split(b'\0') if b'=' in e)
            except OSError:
                pass
        self.t.ok(seen and all(all(env.get(k) == v for k, v in want.items())
                               for env in seen.values()),
                  '%s: the shim (%s) passes %s on to the runtime' % (name, comm,
                                                                   ' and '.join(sorted(want))),
                  'want %r; %s processes: %r' % (want, comm, {
                      p: {k: e.get(k) for k in want} for p, e in seen.items()}))

    def kernel_check(self, name, rc, out, err):
        """`uname -r` in a container: a VM runtime's guest kernel is not the host's; runc's
        container shares the host's kernel."""
        host = os.uname().release
        if self.args.expect_vm:
            self.t.ok(rc == 0 and out.strip() and out.strip() != host,
                      '%s: the container runs on its own kernel (a VM), not the host\'s %s'
                      % (name, host), diag(rc, out, err))
        else:
            self.t.ok(rc == 0 and out.strip() == host,
                      '%s: the container shares the host\'s kernel %s (a runtime without a VM)'
                      % (name, host), diag(rc, out, err))

    def daemon(self, name, argv, logfile):
        d = Daemon(name, argv, self.env, logfile)
        self.daemons.append(d)
        return d

    def cmd(self, argv, **kw):
        kw.setdefault('env', self.env)
        return run(argv, **kw)


# ---------------------------------------------------------------------------
# containerd

class Containerd:
    def __init__(self, cx, name='containerd'):
        self.cx = cx
        d = os.path.join(cx.tmp, name)
        os.makedirs(d)
        self.dir = d
        self.sock = os.path.join(d, 'containerd.sock')
        conf = os.path.join(d, 'config.toml')
        with open(conf, 'w') as f:
            f.write('version = 2\n'
                    'root = "%s/root"\n'
                    'state = "%s/state"\n'
                    '# no CRI: nothing here is Kubernetes (doc/kubernetes.md)\n'
                    'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                    '[grpc]\n  address = "%s"\n'
                    '[ttrpc]\n  address = "%s.ttrpc"\n'
                    '[debug]\n  address = ""\n'
                    '[metrics]\n  address = ""\n' % (d, d, self.sock, self.sock))
        # A namespace of the test's own: runc's cgroups go under /<namespace>/<id>.
        self.ns = 'vmctr-eng-%s' % cx.uid
        self.proc = cx.daemon(name, ['containerd', '--config', conf],
                              os.path.join(d, 'containerd.log'))
        self.ctr_base = ['ctr', '--address', self.sock, '--namespace', self.ns]

    def ctr(self, *a, **kw):
        return self.cx.cmd(self.ctr_base + list(a), **kw)

    def ready(self):
        return wait_for(lambda: not self.proc.alive() or self.ctr('version', timeout=10)[0] == 0,
                        60) and self.proc.alive()

    def run_args(self, *extra):
        return ['run', '--runc-binary', self.cx.runtime] + list(extra)

    def remove_all(self):
        rc, out, _ = self.ctr('task', 'ls', '-q', timeout=60)
        for tid in out.split() if rc == 0 else []:
            self.ctr('task', 'kill', '-s', 'KILL', tid, timeout=60)
        for tid in out.split() if rc == 0 else []:
            wait_for(lambda: 'RUNNING' not in self.ctr('task', 'ls', timeout=30)[1], 30, 0.5)
            self.ctr('task', 'delete', '-f', tid, timeout=60)
        rc, out, _ = self.ctr('container', 'ls', '-q', timeout=60)
        for cid in out.split() if rc == 0 else []:
            self.ctr('container', 'rm', cid, timeout=60)
        # The image's snapshots: the only mounts containerd makes are a container's rootfs.
        self.ctr('images', 'rm', '--sync', IMAGE_REF, timeout=60)


def pty_run(argv, env, timeout):
    """Run argv with a new pseudo-terminal as its controlling terminal; return (rc, output)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    out = b''
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:   # EIO: the other side is closed
                break
            if not chunk:
                break
            out += chunk
        else:
            wpid, status = os.waitpid(pid, os.WNOHANG)
            if wpid:
                os.close(fd)
                return os.waitstatus_to_exitcode(status), out.decode(errors='replace')
    else:
        os.kill(pid, signal.SIGKILL)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors='replace')


def cri_config_check(cx):
    """containerd reads the CRI configuration of doc/kubernetes.md (no daemon: config dump)."""
    doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'doc',
                       'kubernetes.md')
    try:
        with open(doc) as f:
            m = re.search(r'```toml\n(.*?)```', f.read(), re.S)
    except OSError as e:
        cx.t.skip('containerd: the CRI configuration of doc/kubernetes.md', str(e))
        return
    conf = os.path.join(cx.tmp, 'cri-config.toml')
    with open(conf, 'w') as f:
        f.write(m.group(1) if m else '')
    rc, out, err = cx.cmd(['containerd', '--config', conf, 'config', 'dump'], timeout=60)
    sect = out.split('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.vmctr]', 1)
    body = sect[1] if len(sect) == 2 else ''
    cx.t.ok(m and rc == 0 and 'runtime_type = "io.containerd.runc.v2"' in body
            and 'BinaryName = "/usr/local/bin/vmctr-oci"' in body,
            'containerd: reads the CRI configuration of doc/kubernetes.md (config dump shows '
            'the vmctr handler and its BinaryName)', diag(rc, out[-1500:], err))


def test_containerd(cx, oci_archive):
    t = cx.t
    cri_config_check(cx)
    c = cx.containerd()
    if not c:
        return
    oci_ref = 'docker.io/library/busybox-oci:test'
    rc, out, err = c.ctr('images', 'import', '--base-name', 'docker.io/library/busybox-oci',
                         oci_archive)
    t.ok(rc == 0 and oci_ref in c.ctr('images', 'ls', '-q')[1],
         'containerd: ctr images import of the oci-archive', diag(rc, out, err))

    rc, out, err = c.ctr(*c.run_args('--rm', IMAGE_REF, 'c-exit', 'sh', '-c', 'echo hi; exit 3'))
    t.ok(out.strip() == 'hi' and rc == 3,
         'containerd: ctr run --rm prints the output and returns the exit code (hi, 3)',
         diag(rc, out, err))
    rc, out, err = c.ctr(*c.run_args('--rm', oci_ref, 'c-oci', 'echo', 'from-oci'))
    t.ok(rc == 0 and out.strip() == 'from-oci', 'containerd: ctr run of the oci-archive image',
         diag(rc, out, err))
    cx.kernel_check('containerd', *c.ctr(*c.run_args('--rm', IMAGE_REF, 'c-uname', 'uname',
                                                       '-r')))
    rc, out, err = c.ctr(*c.run_args('--rm', '--env', 'GREETING=hello env', '--cwd', '/tmp',
                                     IMAGE_REF, 'c-env', 'sh', '-c', 'echo "$GREETING"; pwd'))
    t.ok(rc == 0 and out.split('\n')[:2] == ['hello env', '/tmp'],
         'containerd: ctr run --env and --cwd', diag(rc, out, err))
    # One line: ctr 1.6 does not pass its stdin's EOF on (with runc too), so no `cat`.
    rc, out, err = c.ctr(*c.run_args('--rm', IMAGE_REF, 'c-stdin', 'sh', '-c',
                                     'read line; echo "got $line"'), input='through stdin\n')
    t.ok(rc == 0 and out == 'got through stdin\n', 'containerd: stdin reaches the container',
         diag(rc, out, err))
    rc, out, err = c.ctr(*c.run_args('--rm', IMAGE_REF, 'c-notty', 'tty'))
    t.ok(rc == 1 and 'not a tty' in out, 'containerd: without -t, no terminal', diag(rc, out, err))
    rc, out = pty_run(c.ctr_base + c.run_args('-t', '--rm', IMAGE_REF, 'c-tty', 'tty'),
                      cx.env, CMD_TIMEOUT)
    t.ok(rc == 0 and re.search(r'^/dev/pts/\d+\s*$', out, re.M),
         'containerd: ctr run -t gives a terminal (/dev/pts/N)', 'exit %s, output %r' % (rc, out))

    # A running one: exec, ps, kill.
    rc, out, err = c.ctr(*c.run_args('-d', IMAGE_REF, 'c-bg', 'sleep', '600'))
    t.ok(rc == 0, 'containerd: ctr run -d', diag(rc, out, err))
    rc, out, err = c.ctr('task', 'ls')
    m = re.search(r'^c-bg\s+(\d+)\s+(\S+)', out, re.M)
    t.ok(m and m.group(2) == 'RUNNING', 'containerd: ctr task ls shows it RUNNING',
         diag(rc, out, err))
    task_pid = m.group(1) if m else None
    cx.shim_env_check('containerd', 'containerd-shim')
    rc, out, err = c.ctr('task', 'exec', '--exec-id', 'e1', 'c-bg', 'sh', '-c',
                         'echo "in exec $(cat /proc/1/cmdline | tr "\\0" " ")"; exit 4')
    t.ok(rc == 4 and out.strip() == 'in exec sleep 600',
         'containerd: ctr task exec runs beside the task (output, exit code 4)',
         diag(rc, out, err))
    rc, out, err = c.ctr('task', 'exec', '--exec-id', 'e2', '--user', '1000', '--cwd', '/etc',
                         'c-bg', 'sh', '-c', 'echo $(id -u) $(pwd)')
    t.ok(rc == 0 and out.strip() == '1000 /etc', 'containerd: ctr task exec --user --cwd',
         diag(rc, out, err))
    rc, out, err = c.ctr('task', 'ps', 'c-bg')
    pids = re.findall(r'^(\d+)\s', out, re.M)
    t.ok(rc == 0 and task_pid in pids, 'containerd: ctr task ps lists the task\'s process',
         diag(rc, out, err) + '\ntask pid %s' % task_pid)
    rc, out, err = c.ctr('task', 'kill', '-s', 'KILL', 'c-bg')
    stopped = rc == 0 and wait_for(
        lambda: re.search(r'^c-bg\s+\d+\s+STOPPED', c.ctr('task', 'ls', timeout=30)[1], re.M),
        60, 0.5)
    t.ok(stopped, 'containerd: ctr task kill -s KILL stops it', diag(rc, out, err))
    rc, out, err = c.ctr('task', 'delete', 'c-bg')
    rc2, out2, err2 = c.ctr('container', 'rm', 'c-bg')
    t.ok(rc == 0 and rc2 == 0 and 'c-bg' not in c.ctr('container', 'ls', '-q')[1],
         'containerd: ctr task delete and container rm', diag(rc, out, err) + diag(rc2, out2, err2))

    # The default signal (SIGTERM) reaches a handler in the container, and the exit status
    # of the handler is what the attached `ctr run` returns.
    p = subprocess.Popen(c.ctr_base + c.run_args(
        '--rm', IMAGE_REF, 'c-term', 'sh', '-c',
        'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 1; done'),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        env=cx.env)
    # Its first line, within the timeout (a runtime that hangs must not hang the test).
    got = []
    reader = threading.Thread(target=lambda: got.append(p.stdout.readline()), daemon=True)
    reader.start()
    reader.join(CMD_TIMEOUT)
    first = got[0] if got else ''
    rc, out, err = c.ctr('task', 'kill', 'c-term')
    try:
        rest, perr = p.communicate(timeout=CMD_TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        rest, perr = p.communicate()
    t.ok(first.strip() == 'ready' and rc == 0 and 'got-term' in rest and p.returncode == 7,
         'containerd: ctr task kill (SIGTERM) reaches the trap; ctr run returns its status 7',
         'kill: ' + diag(rc, out, err) + '\nrun: ' + diag(p.returncode, first + rest, perr))


# ---------------------------------------------------------------------------
# Docker

def test_docker(cx, docker_archive):
    t = cx.t
    d = os.path.join(cx.tmp, 'docker')
    os.makedirs(d)
    sock = os.path.join(d, 'docker.sock')
    conf = os.path.join(d, 'daemon.json')
    with open(conf, 'w') as f:
        json.dump({}, f)   # not the host's /etc/docker/daemon.json
    # Docker's default bridge, on a subnet of the test's own, in the test's network
    # namespace, without iptables rules: Docker's would set the FORWARD policy to DROP,
    # which (with br_netfilter) also drops the CNI part's bridged traffic. Docker attaches a container to it from a prestart
    # hook (libnetwork's setkey) that moves a veth into the network namespace of the pid the
    # runtime reports: vmctr-oci's monitor makes that namespace, runs the hook with its pid,
    # and joins what the hook put there to the VM (a tap and tc mirroring). Most runs use
    # --network none; one checks the bridge.
    proc = cx.daemon('dockerd', [
        'dockerd', '--config-file', conf, '--data-root', os.path.join(d, 'data'),
        '--exec-root', os.path.join(d, 'exec'), '--pidfile', os.path.join(d, 'docker.pid'),
        '-H', 'unix://' + sock, '--bip', DOCKER_BIP + '/24', '--iptables=false',
        '--ip6tables=false', '--ip-masq=false', '--userland-proxy=false',
        '--storage-driver=overlay2',
        '--cgroup-parent', '/vmctr-eng-%s-docker' % cx.uid,
        '--add-runtime', 'vmctr=' + cx.runtime], os.path.join(d, 'dockerd.log'))
    dk = [cx.args.docker, '-H', 'unix://' + sock]
    cx.cleanups.append(lambda: docker_cleanup(cx, dk))
    ok = wait_for(lambda: not proc.alive() or run(dk + ['version'], timeout=10)[0] == 0, 90)
    if not t.ok(ok and proc.alive(), 'docker: dockerd starts (data, exec root, socket under the '
                'temp dir)', proc.tail()):
        return
    cx.env_check(proc, 'dockerd')
    rc, out, err = cx.cmd(dk + ['info', '--format', '{{json .Runtimes}}'])
    t.ok(rc == 0 and 'vmctr' in json.loads(out or '{}'),
         'docker: --add-runtime vmctr is listed by docker info', diag(rc, out, err))
    rc, out, err = cx.cmd(dk + ['load', '-i', docker_archive])
    t.ok(rc == 0 and 'busybox:test' in out, 'docker: docker load of the docker-archive',
         diag(rc, out, err))

    drun = dk + ['run', '--runtime', 'vmctr', '--network', 'none']
    rc, out, err = cx.cmd(drun + ['--rm', 'busybox:test', 'sh', '-c', 'echo hi; exit 3'])
    t.ok(rc == 3 and out.strip() == 'hi', 'docker: run --rm prints the output, exit code 3',
         diag(rc, out, err))
    cx.kernel_check('docker', *cx.cmd(drun + ['--rm', 'busybox:test', 'uname', '-r']))
    rc, out, err = cx.cmd(drun + ['--rm', '-e', 'GREETING=hello env', '-w', '/tmp',
                                  'busybox:test', 'sh', '-c', 'echo "$GREETING"; pwd'])
    t.ok(rc == 0 and out.split('\n')[:2] == ['hello env', '/tmp'], 'docker: run -e and -w',
         diag(rc, out, err))
    rc, out, err = cx.cmd(drun + ['--rm', '-u', '1000:1000', 'busybox:test', 'sh', '-c',
                                  'echo $(id -u) $(id -g)'])
    t.ok(rc == 0 and out.strip() == '1000 1000', 'docker: run -u 1000:1000', diag(rc, out, err))
    rc, out, err = cx.cmd(drun + ['--rm', '-u', 'user', 'busybox:test', 'id', '-un'])
    t.ok(rc == 0 and out.strip() == 'user', 'docker: run -u NAME (the image\'s /etc/passwd)',
         diag(rc, out, err))

    # The default bridge: the container's eth0 has an address of it and reaches a server on
    # the bridge's own address (in the test's namespace).
    www = os.path.join(d, 'www')
    os.makedirs(www)
    with open(os.path.join(www, 'index.html'), 'w') as f:
        f.write('hello over the docker bridge\n')
    srv = cx.daemon('httpd-docker', [cx.args.busybox, 'httpd', '-f', '-p', DOCKER_BIP + ':8089',
                                     '-h', www], os.path.join(d, 'httpd.log'))
    ok = wait_for(lambda: http_get('http://%s:8089/' % DOCKER_BIP) is not None, 20)
    rc, out, err = cx.cmd(dk + ['run', '--runtime', 'vmctr', '--rm', 'busybox:test', 'sh', '-c',
                                'ip -4 -o addr show eth0; timeout 20 wget -q -O- http://%s:8089/'
                                % DOCKER_BIP])
    prefix = DOCKER_BIP.rsplit('.', 1)[0] + '.'
    t.ok(ok and rc == 0 and ('inet ' + prefix) in out and 'hello over the docker bridge' in out,
         'docker: the default bridge network: eth0 has a bridge address and reaches the '
         'bridge\'s server (libnetwork\'s prestart hook, through the monitor\'s namespace)',
         diag(rc, out, err) + '\n' + srv.tail())

    hostdir = os.path.join(d, 'shared')
    os.makedirs(hostdir)
    with open(os.path.join(hostdir, 'in.txt'), 'w') as f:
        f.write('from the host\n')
    hostfile = os.path.join(d, 'greeting.txt')
    with open(hostfile, 'w') as f:
        f.write('a single file\n')
    rc, out, err = cx.cmd(drun + ['--rm', '-v', hostdir + ':/data', 'busybox:test', 'sh', '-c',
                                  'cat /data/in.txt; echo from the container > /data/out.txt'])
    try:
        with open(os.path.join(hostdir, 'out.txt')) as f:
            back = f.read()
    except OSError as e:
        back = str(e)
    t.ok(rc == 0 and out == 'from the host\n' and back == 'from the container\n',
         'docker: -v HOSTDIR:/data, read and written both ways',
         diag(rc, out, err) + '\nout.txt: %r' % back)
    rc, out, err = cx.cmd(drun + ['--rm', '-v', hostfile + ':/etc/greeting:ro', 'busybox:test',
                                  'sh', '-c', 'cat /etc/greeting; echo x >> /etc/greeting && '
                                  'echo WROTE'])
    with open(hostfile) as f:
        after = f.read()
    t.ok(out.startswith('a single file\n') and 'WROTE' not in out and rc != 0
         and after == 'a single file\n',
         'docker: -v HOSTFILE:/etc/greeting:ro, readable and not writable',
         diag(rc, out, err))

    rc, out, err = cx.cmd(drun + ['--rm', '-i', 'busybox:test', 'sh', '-c', 'tr a-z A-Z'],
                          input='through stdin\n')
    t.ok(rc == 0 and out == 'THROUGH STDIN\n', 'docker: run -i: stdin reaches the container',
         diag(rc, out, err))
    rc, out, err = cx.cmd(drun + ['-d', '--name', 'bg', 'busybox:test', 'sh', '-c',
                                  'echo started; exec sleep 600'])
    t.ok(rc == 0 and re.fullmatch(r'[0-9a-f]{64}', out.strip()), 'docker: run -d',
         diag(rc, out, err))
    rc, out, err = cx.cmd(dk + ['inspect', '-f', '{{.State.Running}} {{.HostConfig.Runtime}}',
                                'bg'])
    t.ok(rc == 0 and out.strip() == 'true vmctr', 'docker: inspect: running, runtime vmctr',
         diag(rc, out, err))
    cx.shim_env_check('docker', 'containerd-shim')
    ok = wait_for(lambda: 'started' in cx.cmd(dk + ['logs', 'bg'], timeout=30)[1], 30, 0.5)
    rc, out, err = cx.cmd(dk + ['logs', 'bg'])
    t.ok(ok and out == 'started\n', 'docker: logs of the detached container', diag(rc, out, err))
    rc, out, err = cx.cmd(dk + ['exec', '-e', 'X=y', '-w', '/etc', 'bg', 'sh', '-c',
                                'echo $X $(pwd) $(cat /proc/1/cmdline | tr "\\0" " "); exit 5'])
    t.ok(rc == 5 and out.strip() == 'y /etc sleep 600',
         'docker: exec -e -w in the running container (output, exit code 5)', diag(rc, out, err))
    rc, out, err = cx.cmd(dk + ['exec', '-u', '1000', 'bg', 'id', '-u'])
    t.ok(rc == 0 and out.strip() == '1000', 'docker: exec -u', diag(rc, out, err))
    rc, out, err = cx.cmd(dk + ['stop', '-t', '2', 'bg'])
    rc2, out2, err2 = cx.cmd(dk + ['inspect', '-f', '{{.State.Running}} {{.State.ExitCode}}',
                                   'bg'])
    t.ok(rc == 0 and out2.strip() == 'false 137', 'docker: stop (SIGTERM ignored by pid 1, '
         'then SIGKILL: 137)', diag(rc, out, err) + diag(rc2, out2, err2))
    rc, out, err = cx.cmd(dk + ['rm', 'bg'])
    t.ok(rc == 0 and cx.cmd(dk + ['ps', '-aq'])[1].strip() == '', 'docker: rm; no container left',
         diag(rc, out, err))


def docker_cleanup(cx, dk):
    rc, out, _ = run(dk + ['ps', '-aq'], timeout=30)
    if rc == 0 and out.split():
        run(dk + ['rm', '-f'] + out.split(), timeout=120)
    run(dk + ['rmi', '-f', 'busybox:test'], timeout=60)


# ---------------------------------------------------------------------------
# podman

def test_podman(cx, docker_archive):
    t = cx.t
    d = os.path.join(cx.tmp, 'podman')
    os.makedirs(os.path.join(d, 'cni'))
    conf = os.path.join(d, 'containers.conf')
    # podman gives conmon (which runs the runtime) a clean environment: VMCTR_KERNEL and
    # VMCTR_GUEST_INIT reach it only through conmon_env_vars.
    passed = ['%s=%s' % (k, cx.env[k]) for k in ('VMCTR_KERNEL', 'VMCTR_GUEST_INIT')
              if k in cx.env]
    with open(conf, 'w') as f:
        f.write('[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n'
                'events_logfile_path = "%s/events.log"\nconmon_env_vars = %s\n'
                % (d, json.dumps(passed)))
    env = dict(cx.env, CONTAINERS_CONF=conf,
               CONTAINERS_STORAGE_CONF=os.path.join(d, 'storage.conf'),
               CONTAINERS_REGISTRIES_CONF=os.path.join(d, 'registries.conf'))
    with open(env['CONTAINERS_STORAGE_CONF'], 'w') as f:
        f.write('[storage]\ndriver = "overlay"\nrunroot = "%s/runroot"\ngraphroot = "%s/root"\n'
                % (d, d))
    with open(env['CONTAINERS_REGISTRIES_CONF'], 'w') as f:
        f.write('unqualified-search-registries = []\n')
    pm = [cx.args.podman, '--root', os.path.join(d, 'root'), '--runroot',
          os.path.join(d, 'runroot'), '--tmpdir', os.path.join(d, 'tmp'),
          '--cgroup-manager=cgroupfs', '--events-backend=file', '--storage-driver', 'overlay',
          '--network-config-dir', os.path.join(d, 'cni'), '--runtime', cx.runtime]
    cx.cleanups.append(lambda: podman_cleanup(pm, env))
    rc, out, err = run(pm + ['load', '-i', docker_archive], env=env)
    m = re.search(r'Loaded image(?:\(s\))?: (\S+)', out)
    t.ok(rc == 0 and m, 'podman: podman load of the docker-archive', diag(rc, out, err))
    image = m.group(1) if m else 'busybox:test'
    prun = pm + ['run', '--network', 'none', '--cgroup-parent', '/vmctr-eng-%s-podman' % cx.uid]
    rc, out, err = run(prun + ['--rm', image, 'sh', '-c', 'echo hi; exit 3'], env=env)
    t.ok(rc == 3 and out.strip() == 'hi', 'podman: run --rm prints the output, exit code 3',
         diag(rc, out, err))
    cx.kernel_check('podman', *run(prun + ['--rm', image, 'uname', '-r'], env=env))
    rc, out, err = run(prun + ['--rm', '-e', 'GREETING=hello env', '-w', '/tmp', image, 'sh', '-c',
                               'echo "$GREETING"; pwd'], env=env)
    t.ok(rc == 0 and out.split('\n')[:2] == ['hello env', '/tmp'], 'podman: run -e and -w',
         diag(rc, out, err))
    rc, out, err = run(prun + ['--rm', '-i', image, 'sh', '-c', 'tr a-z A-Z'], env=env,
                       input='through stdin\n')
    t.ok(rc == 0 and out == 'THROUGH STDIN\n', 'podman: run -i: stdin reaches the container',
         diag(rc, out, err))
    rc, out, err = run(prun + ['-d', '--name', 'bg', image, 'sleep', '600'], env=env)
    t.ok(rc == 0, 'podman: run -d', diag(rc, out, err))
    cx.shim_env_check('podman', 'conmon')
    rc, out, err = run(pm + ['exec', 'bg', 'sh', '-c', 'echo in exec; exit 4'], env=env)
    t.ok(rc == 4 and out.strip() == 'in exec', 'podman: exec (output, exit code 4)',
         diag(rc, out, err))
    rc, out, err = run(pm + ['rm', '-f', '-t', '2', 'bg'], env=env)
    t.ok(rc == 0 and run(pm + ['ps', '-aq'], env=env)[1].strip() == '', 'podman: rm -f',
         diag(rc, out, err))


def podman_cleanup(pm, env):
    run(pm + ['rm', '-af', '-t', '0'], env=env, timeout=120)
    # Unmounts the storage (containers/storage keeps its overlay home mounted) and removes it.
    run(pm + ['system', 'reset', '--force'], env=env, timeout=120)


# ---------------------------------------------------------------------------
# containerd + CNI (Debian's containernetworking-plugins, run by hand)

class Cni:
    def __init__(self, cx):
        self.cx = cx
        self.path = cx.args.cni_path
        d = os.path.join(cx.tmp, 'cni')
        os.makedirs(d)
        self.conf = {
            'cniVersion': '1.0.0', 'name': 'vmctr-eng', 'type': 'bridge', 'bridge': CNI_BRIDGE,
            'isGateway': True, 'ipMasq': False, 'hairpinMode': False,
            'ipam': {'type': 'host-local', 'dataDir': os.path.join(d, 'ipam'),
                     'ranges': [[{'subnet': CNI_SUBNET}]]}}
        self.lo = {'cniVersion': '1.0.0', 'name': 'lo', 'type': 'loopback'}
        self.attached = []   # netns names

    def call(self, cmd, netns, conf, ifname):
        env = dict(self.cx.env, CNI_COMMAND=cmd, CNI_CONTAINERID=netns,
                   CNI_NETNS='/run/netns/' + netns, CNI_IFNAME=ifname, CNI_PATH=self.path)
        return run([os.path.join(self.path, conf['type'])], env=env, input=json.dumps(conf),
                   timeout=60)

    def add(self, netns):
        """ip netns add + CNI ADD (loopback, bridge); return the IPv4 address or raise."""
        run(['ip', 'netns', 'add', netns], check=True)
        self.attached.append(netns)
        rc, out, err = self.call('ADD', netns, self.lo, 'lo')
        if rc != 0:
            raise RuntimeError('CNI loopback ADD: ' + diag(rc, out, err))
        rc, out, err = self.call('ADD', netns, self.conf, 'eth0')
        if rc != 0:
            raise RuntimeError('CNI bridge ADD: ' + diag(rc, out, err))
        return json.loads(out)['ips'][0]['address'].split('/')[0]

    def delete(self, netns):
        errs = []
        for conf, ifname in ((self.conf, 'eth0'), (self.lo, 'lo')):
            rc, out, err = self.call('DEL', netns, conf, ifname)
            if rc != 0:
                errs.append(diag(rc, out, err))
        rc, out, err = run(['ip', 'netns', 'del', netns])
        if rc != 0:
            errs.append(diag(rc, out, err))
        self.attached.remove(netns)
        return errs

    def delete_all(self):
        for n in list(self.attached):
            self.delete(n)


def http_get(url, timeout=3):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read().decode()
    except OSError:
        return None


def test_cni(cx):
    t = cx.t
    c = cx.containerd()
    if not c:
        return
    cni = Cni(cx)
    cx.cleanups.append(cni.delete_all)
    names = {k: 'vmctr-eng-%s-%s' % (cx.uid, k) for k in ('srv', 'c1', 'c2')}
    try:
        ips = {k: cni.add(n) for k, n in names.items()}
    except (RuntimeError, KeyError, ValueError, IndexError) as e:
        t.ok(False, 'cni: ip netns add and CNI ADD (bridge, host-local, loopback)', str(e))
        return
    t.ok(len(set(ips.values())) == 3 and all(ip.startswith('10.89.0.') for ip in ips.values()),
         'cni: ip netns add and CNI ADD (bridge, host-local, loopback) give three addresses',
         repr(ips))

    # A server in a peer namespace on the same bridge: the host's busybox httpd.
    www = os.path.join(cx.tmp, 'cni', 'www')
    os.makedirs(www)
    with open(os.path.join(www, 'index.html'), 'w') as f:
        f.write('from-peer-namespace\n')
    srv = cx.daemon('httpd', ['ip', 'netns', 'exec', names['srv'], cx.args.busybox, 'httpd',
                              '-f', '-p', '8000', '-h', www], os.path.join(cx.tmp, 'cni',
                                                                           'httpd.log'))
    url = 'http://%s:8000/' % ips['srv']
    t.ok(wait_for(lambda: http_get(url) == 'from-peer-namespace\n', 20),
         'cni: the peer namespace\'s httpd answers from the test\'s namespace', srv.tail())

    rc, out, err = c.ctr(*c.run_args('--rm', '--with-ns',
                                     'network:/run/netns/' + names['c1'], IMAGE_REF, 'n-addr',
                                     'ip', '-4', '-o', 'addr', 'show', 'eth0'))
    t.ok(rc == 0 and (' %s/' % ips['c1']) in out,
         'cni: ctr run --with-ns network:NETNS: the container has eth0 with the CNI address',
         diag(rc, out, err))
    rc, out, err = c.ctr(*c.run_args('--rm', '--with-ns', 'network:/run/netns/' + names['c1'],
                                     IMAGE_REF, 'n-fetch', 'timeout', '10', 'wget', '-q', '-O-',
                                     url))
    t.ok(rc == 0 and out == 'from-peer-namespace\n',
         'cni: the container reaches the server in the peer namespace', diag(rc, out, err))

    # Container to container: c2 serves, c1 fetches.
    rc, out, err = c.ctr(*c.run_args('-d', '--with-ns', 'network:/run/netns/' + names['c2'],
                                     IMAGE_REF, 'n-srv', 'sh', '-c',
                                     'mkdir -p /tmp/w && echo from-c2 > /tmp/w/index.html && '
                                     'exec httpd -f -p 8080 -h /tmp/w'))
    url2 = 'http://%s:8080/' % ips['c2']
    t.ok(rc == 0 and wait_for(lambda: http_get(url2) == 'from-c2\n', 60, 0.5),
         'cni: a detached container serves on its CNI address', diag(rc, out, err))
    rc, out, err = c.ctr(*c.run_args('--rm', '--with-ns', 'network:/run/netns/' + names['c1'],
                                     IMAGE_REF, 'n-fetch2', 'timeout', '10', 'wget', '-q', '-O-',
                                     url2))
    t.ok(rc == 0 and out == 'from-c2\n', 'cni: one container reaches the other',
         diag(rc, out, err))
    c.ctr('task', 'kill', '-s', 'KILL', 'n-srv')
    wait_for(lambda: not re.search(r'^n-srv\s+\d+\s+RUNNING', c.ctr('task', 'ls')[1], re.M), 60,
             0.5)
    rc, out, err = c.ctr('task', 'delete', 'n-srv')
    rc2, out2, err2 = c.ctr('container', 'rm', 'n-srv')
    t.ok(rc == 0 and rc2 == 0, 'cni: the serving container stopped and removed',
         diag(rc, out, err) + diag(rc2, out2, err2))
    srv.stop(5)

    errs = []
    for n in names.values():
        errs += cni.delete(n)
    rc, links, _ = run(['ip', '-o', 'link', 'show', 'master', CNI_BRIDGE])
    t.ok(not errs and links.strip() == '' and os.listdir('/run/netns') == [],
         'cni: CNI DEL and ip netns del leave no veth on the bridge and no netns',
         '\n'.join(errs) + '\nlinks: %s\n/run/netns: %s' % (links, os.listdir('/run/netns')))
    run(['ip', 'link', 'del', CNI_BRIDGE])


# ---------------------------------------------------------------------------
# Inside the namespaces

def setup_namespaces(tmp):
    # /run of our own: netns bind mounts, containerd's and runc's state, podman's locks.
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'mode=755', 'vmctr-eng-run', '/run'],
                   check=True)
    os.makedirs('/run/netns')
    os.makedirs('/run/lock')
    # Docker keeps its key in /etc/docker: not the host's.
    if os.path.isdir('/etc/docker'):
        subprocess.run(['mount', '-t', 'tmpfs', 'vmctr-eng-etc-docker', '/etc/docker'],
                       check=True)
    subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
    os.makedirs(os.path.join(tmp, 'tmp'), exist_ok=True)


def tmp_mounts(tmp):
    with open('/proc/self/mounts') as f:
        return [ln.split()[1] for ln in f if ln.split()[1].startswith(tmp + '/')
                or ln.split()[1] == tmp]


def inner(args):
    t = Tap()
    tmp = args.inner
    cx = None
    # As the PID namespace's init, only signals with a handler reach us.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        setup_namespaces(tmp)
        cx = Ctx(args, t, tmp)
        log('runtime %s, engines %s, temp dir %s' % (args.runtime, ','.join(args.engines), tmp))
        try:
            docker_archive, oci_archive = make_image(tmp, args.busybox, args.vmctr_image,
                                                     args.umoci, args.skopeo)
            cx.docker_archive = docker_archive
            t.ok(True, 'image: busybox OCI layout from busybox-static (%s), docker-archive and '
                 'oci-archive by skopeo' % ('vmctr-image build' if args.vmctr_image else 'umoci'))
        except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
            t.ok(False, 'image: busybox OCI image', str(e))
            return t
        have = {
            'containerd': shutil.which('containerd') and shutil.which('ctr')
            and shutil.which('containerd-shim-runc-v2'),
            'docker': shutil.which('dockerd') and args.docker,
            'podman': args.podman and shutil.which('conmon'),
            'cni': shutil.which('containerd') and shutil.which('ctr')
            and os.access(os.path.join(args.cni_path, 'bridge'), os.X_OK)
            and os.access(os.path.join(args.cni_path, 'host-local'), os.X_OK),
        }
        for e in args.engines:
            if not have[e]:
                t.skip(e, 'its binaries are not installed')
                continue
            start = time.monotonic()
            try:
                if e == 'containerd':
                    test_containerd(cx, oci_archive)
                elif e == 'docker':
                    test_docker(cx, docker_archive)
                elif e == 'podman':
                    test_podman(cx, docker_archive)
                else:
                    test_cni(cx)
            except Exception as ex:   # one engine's crash must not stop the others
                t.ok(False, '%s: the checks ran to the end' % e, repr(ex))
            log('%s: %.1f s' % (e, time.monotonic() - start))
    except Interrupted as e:
        t.ok(False, 'the checks ran to the end', 'interrupted by %s: tearing down' % e)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if cx:
            for fn in reversed(cx.cleanups):
                try:
                    fn()
                except Exception as ex:
                    log('cleanup: %r' % ex)
            for d in reversed(cx.daemons):
                d.stop()
            left = tmp_mounts(tmp)
            t.ok(not left, 'teardown: engines stopped, no mount left under the temp dir',
                 '\n'.join(left))
            for m in reversed(left):
                subprocess.run(['umount', '-l', m])
            if t.failed:
                for d in cx.daemons:   # for whoever debugs the runtime (--keep keeps them whole)
                    log('last lines of %s:' % d.logfile)
                    for ln in d.tail(15).splitlines():
                        log('  ' + ln[:300])
    return t


# ---------------------------------------------------------------------------
# Outside: namespaces, then what is left

def cgroup_dirs(uid):
    found = []
    base = '/sys/fs/cgroup'
    for h in os.listdir(base) if os.path.isdir(base) else []:
        hp = os.path.join(base, h)
        try:
            for e in os.listdir(hp):
                if e == 'vmctr-eng-%s' % uid or e.startswith('vmctr-eng-%s-' % uid):
                    found.append(os.path.join(hp, e))
        except OSError:
            pass
    return found


def remove_cgroups(dirs):
    """rmdir every cgroup under dirs, deepest first (those still in use stay)."""
    for top in dirs:
        for root, subdirs, _ in os.walk(top, topdown=False):
            try:
                os.rmdir(root)
            except OSError:
                pass


def ns_members(ns_id):
    pids = []
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                if os.readlink('/proc/%s/ns/pid' % p) == ns_id:
                    pids.append(int(p))
            except OSError:
                pass
    return pids


def skip_all(reason):
    print('1..0 # SKIP ' + reason)
    return 0


def outer(args, argv):
    if os.geteuid() != 0:
        return skip_all('needs root (network, mount and PID namespaces, daemons)')
    for tool in ('unshare', 'ip', 'mount'):
        if not shutil.which(tool):
            return skip_all(tool + ' not installed')
    if not args.skopeo:
        return skip_all('skopeo not installed (it writes the image archives)')
    if not args.busybox:
        return skip_all('busybox-static not installed (the image is made from it)')
    if not args.vmctr_image and not args.umoci:
        return skip_all('neither vmctr-image nor umoci to write the OCI layout')
    if not args.runtime or not os.access(args.runtime, os.X_OK):
        return skip_all('runtime %s not found' % args.runtime)
    if not any(shutil.which(x) for x in ('containerd', 'dockerd', 'podman')):
        return skip_all('no container engine installed (containerd, docker.io, podman)')

    tmp = tempfile.mkdtemp(prefix='vmctr-engines-')
    os.chmod(tmp, 0o755)
    env = dict(os.environ, **{INNER_ENV: '1'})
    # Unique names (containerd namespace, cgroups, netns) come from our pid.
    # --kill-child: should unshare itself be killed, the inner run gets SIGTERM and tears down.
    cmd = ['unshare', '--net', '--mount', '--pid', '--fork', '--kill-child=SIGTERM', '--mount-proc',
           '--propagation', 'private', '--', sys.executable, os.path.abspath(__file__),
           '--inner', tmp, '--uid', str(os.getpid()), '--runtime', args.runtime] + argv
    n = 0
    failed = 0
    ns_id = None
    inner_pid = None
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                         env=env)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    interrupted = False
    while True:
        try:
            line = p.stdout.readline()
        except Interrupted:
            interrupted = True
            if inner_pid:
                os.kill(inner_pid, signal.SIGTERM)   # it tears down; we read on to its end
            continue
        if not line:
            break
        if ns_id is None:
            # The child of unshare is the PID namespace's init.
            try:
                with open('/proc/%d/task/%d/children' % (p.pid, p.pid)) as f:
                    kids = f.read().split()
                if kids:
                    inner_pid = int(kids[0])
                    ns_id = os.readlink('/proc/%d/ns/pid' % inner_pid)
            except OSError:
                pass
        if re.match(r'^1\.\.\d+', line):
            continue   # our plan replaces the inner one
        if re.match(r'^(not )?ok \d+', line):
            n += 1
            if line.startswith('not ok'):
                failed += 1
            line = re.sub(r'^((?:not )?ok) \d+', r'\g<1> %d' % n, line)
        try:
            sys.stdout.write(line)
            sys.stdout.flush()
        except OSError:   # our reader is gone (a closed pipe): read on, tear down all the same
            sys.stdout = open(os.devnull, 'w')
    rc = p.wait()
    if interrupted:
        log('interrupted')
    t = Tap()
    t.n = n
    t.failed = failed
    left_pids = ns_members(ns_id) if ns_id else []
    t.ok(ns_id and not left_pids,
         'teardown: the PID namespace is gone, no daemon or shim left',
         'namespace %s, processes %s' % (ns_id, left_pids))
    with open('/proc/self/mounts') as f:
        left = [ln for ln in f if tmp in ln]
    t.ok(not left, 'teardown: no mount of the temp dir in the host\'s mount table', ''.join(left))
    cg = cgroup_dirs(args.uid or os.getpid())
    # The last exits of the namespace's processes may still be under way: a cgroup is
    # removable once they are.
    wait_for(lambda: remove_cgroups(cg) or not any(os.path.exists(d) for d in cg), 15, 0.5)
    still = [d for d in cg if os.path.exists(d)]
    t.ok(not still, 'teardown: the cgroups the runtime made (%d) are removed' % len(cg),
         '\n'.join(still))
    if args.keep:
        log('kept ' + tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
        t.ok(not os.path.exists(tmp), 'teardown: the temp dir is removed')
    if rc != 0 and failed == 0:
        t.ok(False, 'the namespaced run exited %d' % rc)
    return t.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--runtime', default='vmctr-oci',
                    help='runc-compatible runtime: a path, or a name on PATH (runc)')
    ap.add_argument('--vmctr-image', help='vmctr-image, to write the OCI layout (else umoci)')
    ap.add_argument('--kernel', help='VMCTR_KERNEL for the daemons (default: $VMCTR_KERNEL)')
    ap.add_argument('--guest-init',
                    help='VMCTR_GUEST_INIT for the daemons (default: $VMCTR_GUEST_INIT)')
    ap.add_argument('--engines', default=','.join(ENGINES),
                    help='comma-separated subset of ' + ','.join(ENGINES))
    ap.add_argument('--cni-path', default='/usr/lib/cni')
    ap.add_argument('--expect-vm', choices=('auto', 'yes', 'no'), default='auto',
                    help='whether containers run on a kernel of their own (auto: yes for a '
                    'runtime named vmctr-*)')
    ap.add_argument('--keep', action='store_true', help='keep the temp dir (logs)')
    ap.add_argument('--inner', help=argparse.SUPPRESS)
    ap.add_argument('--uid', help=argparse.SUPPRESS)
    args = ap.parse_args()
    # The environment overrides the argument: `VMCTR_OCI_RUNTIME=runc meson test oci-engines`.
    runtime = os.environ.get('VMCTR_OCI_RUNTIME') or args.runtime
    if runtime and '/' not in runtime:
        runtime = shutil.which(runtime) or runtime
    args.runtime = os.path.abspath(runtime) if runtime and '/' in runtime else runtime
    args.engines = [e for e in args.engines.split(',') if e]
    bad = [e for e in args.engines if e not in ENGINES]
    if bad:
        ap.error('unknown engine %s' % ','.join(bad))
    args.skopeo = shutil.which('skopeo')
    args.umoci = shutil.which('umoci')
    args.busybox = find_tool('busybox', '/bin/busybox', '/usr/bin/busybox')
    # docker.io's client (its API matches its dockerd), before any other on PATH.
    args.docker = find_tool('docker', '/usr/bin/docker')
    args.podman = shutil.which('podman')
    if args.vmctr_image and not os.access(args.vmctr_image, os.X_OK):
        args.vmctr_image = None
    args.kernel = args.kernel or os.environ.get('VMCTR_KERNEL')
    args.guest_init = args.guest_init or os.environ.get('VMCTR_GUEST_INIT')
    if args.kernel:
        args.kernel = os.path.abspath(args.kernel)
    if args.guest_init:
        args.guest_init = os.path.abspath(args.guest_init)
    if args.expect_vm == 'auto':
        args.expect_vm = os.path.basename(args.runtime or '').startswith('vmctr')
    else:
        args.expect_vm = args.expect_vm == 'yes'
    if args.inner:
        return inner(args).finish()
    # Arguments handed to the inner run (the runtime is resolved already).
    fwd = ['--engines', ','.join(args.engines), '--cni-path', args.cni_path,
           '--expect-vm', 'yes' if args.expect_vm else 'no']
    for k in ('vmctr_image', 'kernel', 'guest_init'):
        v = getattr(args, k)
        if v:
            fwd += ['--' + k.replace('_', '-'), v]
    return outer(args, fwd)


if __name__ == '__main__':
    sys.exit(main())
