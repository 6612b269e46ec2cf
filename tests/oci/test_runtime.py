#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vmctr-oci driven as the containerd runc shim drives a runtime, without an
engine: create (stdio on pipes, a pid file), start, state, exec, kill, ps,
delete, with a real VM behind each container. The test process is a child
subreaper, as the shim is, so that it reaps the monitors and sees their exit
status. Also: failures are clean (one JSON error line in --log, nothing left
in --root, no process left), a crashed monitor is detected, and a terminal
comes over the console socket.

usage: test_runtime.py RUNTIME"""
import array
import ctypes
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from tap import Tap  # noqa: E402

t = Tap()
RUNTIME = os.path.abspath(sys.argv[1])
BUSYBOX = shutil.which('busybox')
KERNEL = os.environ.get('VMCTR_TEST_KERNEL', '')
work = tempfile.mkdtemp(prefix='vmctr-oci-test.')
ROOT = os.path.join(work, 'root')
LOG = os.path.join(work, 'log.json')


def skip_all(reason):
    print('1..0 # SKIP ' + reason)
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(0)


if os.geteuid() != 0:
    skip_all('needs root')
if not BUSYBOX:
    skip_all('no busybox')
if not KERNEL or not os.path.exists(KERNEL):
    skip_all('no guest kernel at %r' % KERNEL)
os.environ['VMCTR_KERNEL'] = KERNEL

PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def make_rootfs(path):
    for d in ('bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'data'):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    shutil.copy(BUSYBOX, os.path.join(path, 'bin', 'busybox'))
    applets = subprocess.run([BUSYBOX, '--list'], capture_output=True, text=True).stdout.split()
    for a in applets:
        p = os.path.join(path, 'bin', a)
        if not os.path.lexists(p):
            os.symlink('busybox', p)
    with open(os.path.join(path, 'etc', 'passwd'), 'w') as f:
        f.write('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n')
    with open(os.path.join(path, 'etc', 'group'), 'w') as f:
        f.write('root:x:0:\nnogroup:x:65534:\n')


ROOTFS = os.path.join(work, 'rootfs')
make_rootfs(ROOTFS)


def spec(args, terminal=False, **extra):
    """A config.json as runc spec writes it, with our args."""
    s = {
        'ociVersion': '1.0.2',
        'process': {
            'terminal': terminal, 'user': {'uid': 0, 'gid': 0}, 'args': args,
            'env': ['PATH=/bin', 'TERM=xterm'], 'cwd': '/',
            'capabilities': {k: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID',
                                 'CAP_SETGID', 'CAP_DAC_OVERRIDE']
                             for k in ('bounding', 'effective', 'permitted')},
            'rlimits': [{'type': 'RLIMIT_NOFILE', 'hard': 1024, 'soft': 1024}],
            'noNewPrivileges': True,
        },
        'root': {'path': 'rootfs', 'readonly': False},
        'hostname': 'ocitest',
        'mounts': [
            {'destination': '/proc', 'type': 'proc', 'source': 'proc'},
            {'destination': '/dev', 'type': 'tmpfs', 'source': 'tmpfs',
             'options': ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},
            {'destination': '/dev/pts', 'type': 'devpts', 'source': 'devpts',
             'options': ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620']},
            {'destination': '/sys', 'type': 'sysfs', 'source': 'sysfs',
             'options': ['nosuid', 'noexec', 'nodev', 'ro']},
        ],
        'linux': {
            'namespaces': [{'type': n} for n in ('pid', 'network', 'ipc', 'uts', 'mount')],
            'resources': {'devices': [{'allow': False, 'access': 'rwm'}]},
        },
    }
    s.update(extra)
    return s


def bundle(name, cfg):
    b = os.path.join(work, 'bundle-' + name)
    os.makedirs(b, exist_ok=True)
    if not os.path.exists(os.path.join(b, 'rootfs')):
        os.symlink(ROOTFS, os.path.join(b, 'rootfs'))
    with open(os.path.join(b, 'config.json'), 'w') as f:
        json.dump(cfg, f)
    return b


def rt(*args, **kw):
    """Run the runtime as the shim does: --root, --log, --log-format json."""
    cmd = [RUNTIME, '--root', ROOT, '--log', LOG, '--log-format', 'json'] + list(args)
    kw.setdefault('capture_output', True)
    kw.setdefault('text', True)
    kw.setdefault('timeout', 180)
    return subprocess.run(cmd, **kw)


def last_error():
    """The msg of the log's last error line, as the shim reads it."""
    msg = None
    try:
        with open(LOG) as f:
            for line in f:
                try:
                    j = json.loads(line)
                except ValueError:
                    return 'unparsable log line: ' + line
                if j.get('level') == 'error':
                    msg = j.get('msg')
    except FileNotFoundError:
        pass
    return msg


def state(cid):
    r = rt('state', cid)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def wait_pid(pid, timeout=120):
    """Reap pid (we are its subreaper): its exit status, or None."""
    if pid is None or pid <= 0:
        return None
    end = time.time() + timeout
    while time.time() < end:
        try:
            p, st = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if p == pid:
            return os.waitstatus_to_exitcode(st) if hasattr(os, 'waitstatus_to_exitcode') else st
        time.sleep(0.05)
    return None


def create(cid, cfg, stdout=None, stderr=None, stdin=None, console=None):
    b = bundle(cid, cfg)
    pidfile = os.path.join(work, cid + '.pid')
    args = ['create', '--bundle', b, '--pid-file', pidfile]
    if console:
        args += ['--console-socket', console]
    r = rt(*args, cid, stdin=stdin if stdin is not None else subprocess.DEVNULL,
           stdout=stdout, stderr=stderr, capture_output=False)
    pid = None
    if r.returncode != 0:
        print('# create %s: %s' % (cid, last_error()))
    if r.returncode == 0:
        with open(pidfile) as f:
            raw = f.read()
        pid = int(raw)
        t.ok('\n' not in raw, '%s: the pid file holds the number alone' % cid, repr(raw))
    return r.returncode, pid


def qemu_pids():
    out = []
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                with open('/proc/%s/cmdline' % p, 'rb') as f:
                    cmd = f.read()
            except OSError:
                continue
            if b'qemu-system' in cmd and ROOT.encode() in cmd or (b'qemu-system' in cmd and b'vmctr-oci-test' in cmd):
                out.append(int(p))
    return out


def reap_all():
    """Reap what was reparented to us (the library's short-lived helpers
    that outlive a monitor for a moment), as a shim's reaper does."""
    while True:
        try:
            p, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if p == 0:
            return


def monitors_left():
    """Live processes named as the monitor (or forked from one), after
    waiting up to 10 s for them to finish."""
    end = time.time() + 10
    while True:
        reap_all()
        left = []
        for p in os.listdir('/proc'):
            if p.isdigit():
                try:
                    with open('/proc/%s/stat' % p) as f:
                        st = f.read()
                except OSError:
                    continue
                if '(vmctr-oci-mon)' in st and st.rsplit(')', 1)[1].split()[0] not in 'ZX':
                    left.append(int(p))
        if not left or time.time() > end:
            return left
        time.sleep(0.2)


try:
    # ---- features and version ----
    r = rt('features')
    try:
        feats = json.loads(r.stdout)
    except ValueError:
        feats = {}
    t.ok(r.returncode == 0 and feats.get('ociVersionMax', '').startswith('1.')
         and 'network' in feats.get('linux', {}).get('namespaces', []),
         'features prints the runtime\'s features as JSON', r.stdout + r.stderr)
    r = rt('--version')
    t.ok(r.returncode == 0 and 'spec: 1.' in r.stdout, '--version names the spec version', r.stdout)

    # ---- a whole life: create, state, start, output, exit status, delete ----
    rd, wr = os.pipe()
    rc, pid = create('life', spec(['sh', '-c', 'echo out-$(hostname); echo err >&2; '
                                   'cat /proc/cpuinfo | grep -c ^processor; exit 3']),
                     stdout=wr, stderr=wr)
    os.close(wr)
    t.eq(rc, 0, 'create succeeds')
    st = state('life')
    t.ok(st and st['status'] == 'created' and st['pid'] == pid and st['id'] == 'life'
         and st['bundle'].endswith('bundle-life'), 'state after create: created, with the monitor pid',
         st)
    r = rt('start', 'life')
    t.eq(r.returncode, 0, 'start succeeds')
    status = wait_pid(pid)
    out = b''
    while True:
        chunk = os.read(rd, 65536)
        if not chunk:
            break
        out += chunk
    os.close(rd)
    t.eq(status, 3, 'the monitor exits with the init process\'s status')
    t.ok(b'out-ocitest' in out and b'err' in out, 'the init\'s stdout and stderr are the runtime\'s stdio',
         out)
    st = state('life')
    t.ok(st and st['status'] == 'stopped', 'state after exit: stopped', st)
    r = rt('start', 'life')
    t.ok(r.returncode == 1 and 'stopped' in (last_error() or ''), 'start of a stopped container fails',
         last_error())
    r = rt('kill', 'life', 'KILL')
    t.ok(r.returncode == 1 and 'not running' in (last_error() or ''),
         'kill of a stopped container says "container not running"', last_error())
    r = rt('delete', 'life')
    t.ok(r.returncode == 0 and not os.path.exists(os.path.join(ROOT, 'life')),
         'delete removes the state', r.stderr)
    r = rt('state', 'life')
    t.ok(r.returncode == 1 and 'does not exist' in (last_error() or ''),
         'state of a deleted container: "does not exist"', last_error())
    r = rt('delete', '--force', 'life')
    t.eq(r.returncode, 0, 'delete --force of a container that does not exist succeeds (as runc)')

    # ---- a running container: exec, ps, kill, signals ----
    rd, wr = os.pipe()
    rc, pid = create('svc', spec(['sh', '-c', 'trap "echo got-term; exit 42" TERM; '
                                  'while :; do sleep 0.2; done']), stdout=wr, stderr=wr)
    os.close(wr)
    t.eq(rc, 0, 'create a long-running container')
    t.eq(rt('start', 'svc').returncode, 0, 'start it')
    st = state('svc')
    t.ok(st and st['status'] == 'running', 'state: running', st)
    r = rt('delete', 'svc')
    t.ok(r.returncode == 1 and 'not stopped' in (last_error() or ''),
         'delete of a running container without --force is refused', last_error())

    proc = {'args': ['sh', '-c', 'echo exec-$(id -u)-$PWD; exit 7'], 'cwd': '/tmp',
            'env': ['PATH=/bin'], 'user': {'uid': 65534, 'gid': 65534}, 'terminal': False}
    pf = os.path.join(work, 'proc.json')
    with open(pf, 'w') as f:
        json.dump(proc, f)
    erd, ewr = os.pipe()
    epid_file = os.path.join(work, 'exec.pid')
    r = rt('exec', '--detach', '--pid-file', epid_file, '--process', pf, 'svc',
           stdout=ewr, stderr=ewr, stdin=subprocess.DEVNULL, capture_output=False)
    os.close(ewr)
    t.eq(r.returncode, 0, 'exec --detach --process succeeds')
    epid = int(open(epid_file).read()) if r.returncode == 0 else -1
    est = wait_pid(epid) if epid > 0 else None
    eout = b''
    while True:
        chunk = os.read(erd, 65536)
        if not chunk:
            break
        eout += chunk
    os.close(erd)
    t.eq(est, 7, 'the exec monitor exits with the exec\'d process\'s status')
    t.ok(b'exec-65534-/tmp' in eout, 'the exec\'d process runs as the user, in the cwd, on the exec\'s stdio',
         eout)

    # A foreground exec (no --detach): the runtime's own exit status.
    r = rt('exec', 'svc', 'sh', '-c', 'echo fg; exit 5')
    t.ok(r.returncode == 5 and 'fg' in r.stdout, 'a foreground exec returns the process\'s status',
         r.stdout + r.stderr)

    # A long exec'd process: ps lists its monitor; a signal sent to that
    # monitor reaches the process.
    lp = {'args': ['sh', '-c', 'trap "exit 9" USR1; while :; do sleep 0.2; done'], 'cwd': '/',
          'env': ['PATH=/bin'], 'terminal': False}
    with open(pf, 'w') as f:
        json.dump(lp, f)
    r = rt('exec', '--detach', '--pid-file', epid_file, '--process', pf, 'svc',
           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
           capture_output=False)
    epid = int(open(epid_file).read()) if r.returncode == 0 else -1
    r = rt('ps', '--format', 'json', 'svc')
    try:
        pids = json.loads(r.stdout)
    except ValueError:
        pids = []
    t.ok(pid in pids and epid in pids, 'ps --format json lists the monitor and the exec monitor',
         '%r (want %d and %d)' % (pids, pid, epid))
    time.sleep(1)
    os.kill(epid, signal.SIGUSR1)
    t.eq(wait_pid(epid, 60), 9, 'a signal sent to an exec monitor reaches its process')

    # kill TERM through the runtime: the init's trap runs.
    r = rt('kill', 'svc', 'TERM')
    t.eq(r.returncode, 0, 'kill TERM succeeds')
    t.eq(wait_pid(pid), 42, 'the init got SIGTERM (its trap\'s status)')
    os.close(rd)
    t.eq(rt('delete', 'svc').returncode, 0, 'delete after the exit')

    # A signal sent straight to the monitor (kill(2), as a reaper might)
    # reaches the init; SIGKILL through the runtime gives 137.
    rc, pid = create('sig', spec(['sh', '-c', 'trap "exit 11" HUP; while :; do sleep 0.2; done']),
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rt('start', 'sig')
    time.sleep(1)
    os.kill(pid, signal.SIGHUP)
    t.eq(wait_pid(pid), 11, 'a signal sent to the monitor reaches the init')
    rt('delete', 'sig')
    rc, pid = create('sigkill', spec(['sleep', '1000']), stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    rt('start', 'sigkill')
    r = rt('kill', 'sigkill', '9')
    t.eq(wait_pid(pid), 137, 'kill 9 ends the container with status 137')
    rt('delete', 'sigkill')

    # A created container that is deleted (the shim's cleanup of a failed
    # start): killed, nothing left.
    rc, pid = create('never', spec(['true']), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = rt('delete', 'never')
    status = wait_pid(pid, 30)
    t.ok(r.returncode == 0 and status == 137 and not os.path.exists(os.path.join(ROOT, 'never')),
         'delete of a created container kills its monitor and removes the state',
         'rc %d status %r' % (r.returncode, status))

    # ---- a crashed monitor ----
    rc, pid = create('crash', spec(['sleep', '1000']), stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    rt('start', 'crash')
    with open(pf, 'w') as f:
        json.dump({'args': ['sleep', '1000'], 'cwd': '/', 'env': ['PATH=/bin']}, f)
    rt('exec', '--detach', '--pid-file', epid_file, '--process', pf, 'crash',
       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
       capture_output=False)
    epid = int(open(epid_file).read())
    os.kill(pid, signal.SIGKILL)
    wait_pid(pid, 30)
    t.eq(wait_pid(epid, 30), 137, 'the exec monitor of a crashed container exits with 137')
    st = state('crash')
    t.ok(st and st['status'] == 'stopped', 'a crashed monitor is seen: state says stopped', st)
    time.sleep(0.5)
    t.eq(qemu_pids(), [], 'no QEMU outlives its monitor')
    r = rt('delete', '--force', 'crash')
    t.ok(r.returncode == 0 and not os.path.exists(os.path.join(ROOT, 'crash')),
         'delete --force cleans up after a crash', last_error())

    # ---- a terminal over the console socket ----
    sockpath = os.path.join(work, 'console.sock')
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sockpath)
    srv.listen(1)
    tcfg = spec(['sh', '-c', '[ -t 0 ] && [ -t 1 ] && echo is-a-tty; stty size; '
                 'read line; echo got-$line; exit 4'], terminal=True)
    tcfg['process']['consoleSize'] = {'height': 30, 'width': 100}
    rc, pid = create('tty', tcfg,
                     console=sockpath, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t.eq(rc, 0, 'create with a terminal and --console-socket')
    master = None
    srv.settimeout(5)
    try:
        conn, _ = srv.accept()
        fds = array.array('i')
        msg, anc, _, _ = conn.recvmsg(1024, socket.CMSG_LEN(fds.itemsize))
        for lvl, typ, data in anc:
            if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds.frombytes(data[:fds.itemsize])
        master = fds[0] if fds else None
        conn.close()
    except OSError as e:
        print('# console socket: %s' % e)
    t.ok(master is not None, 'the pty master arrives over the console socket')
    rt('start', 'tty')
    tout = b''
    if master is not None:
        os.write(master, b'hello\r')
        end = time.time() + 60
        while time.time() < end and b'got-hello' not in tout:
            rl, _, _ = select.select([master], [], [], 1)
            if rl:
                try:
                    tout += os.read(master, 4096)
                except OSError:
                    break
    t.ok(b'is-a-tty' in tout and b'got-hello' in tout, 'the process has a terminal, fed through the master',
         tout)
    t.ok(b'30 100' in tout, 'the terminal has process.consoleSize', tout)
    t.eq(wait_pid(pid), 4, 'the terminal container\'s status')
    rt('delete', 'tty')

    # ---- linux.seccomp and pids: honoured in the guest, for exec'd processes too ----
    scfg = spec(['sh', '-c', 'mkdir /tmp/x 2>&1; echo mkdir=$?; echo ready; '
                 'while :; do sleep 0.2; done'])
    scfg['linux']['seccomp'] = {
        'defaultAction': 'SCMP_ACT_ALLOW', 'architectures': ['SCMP_ARCH_X86_64'],
        'syscalls': [{'names': ['mkdir', 'mkdirat'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 1}]}
    scfg['linux']['resources']['pids'] = {'limit': 20}
    rd, wr = os.pipe()
    rc, pid = create('sec', scfg, stdout=wr, stderr=wr)
    os.close(wr)
    rt('start', 'sec')
    sout = b''
    end = time.time() + 60
    while time.time() < end and b'ready' not in sout:
        rl, _, _ = select.select([rd], [], [], 1)
        if rl:
            sout += os.read(rd, 4096)
    t.ok(b'mkdir=1' in sout and b'Operation not permitted' in sout,
         'linux.seccomp: the profile denies mkdir in the init', sout)
    r = rt('exec', 'sec', 'sh', '-c', 'mkdir /tmp/y; echo rc=$?')
    t.ok('rc=1' in r.stdout + r.stderr, 'the profile holds for an exec\'d process', r.stdout + r.stderr)
    r = rt('exec', 'sec', 'sh', '-c', 'cat /sys/fs/cgroup/pids.max; '
           'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do '
           'sleep 3 & done; wait; echo done')
    out = r.stdout + r.stderr
    t.ok(out.startswith('20') and 'fork' in out, 'linux.resources.pids.limit: pids.max is 20 and '
         'forks past it fail', out)
    rt('kill', 'sec', 'KILL')
    wait_pid(pid)
    os.close(rd)
    rt('delete', 'sec')
    bad = spec(['true'])
    bad['linux']['seccomp'] = {'defaultAction': 'SCMP_ACT_NOTIFY'}
    rc, _ = create('badsec', bad)
    t.ok(rc == 1 and 'NOTIFY' in (last_error() or ''), 'a seccomp action that cannot work is refused',
         last_error())

    # ---- mounts: a directory and a file bound in, a tmpfs; masked and read-only paths ----
    hostdir = os.path.join(work, 'hostdir')
    os.makedirs(hostdir, exist_ok=True)
    with open(os.path.join(hostdir, 'in.txt'), 'w') as f:
        f.write('from-host\n')
    hostfile = os.path.join(work, 'hosts.host')
    with open(hostfile, 'w') as f:
        f.write('10.9.9.9 bound-file\n')
    with open(os.path.join(work, 'sibling.secret'), 'w') as f:
        f.write('secret\n')
    mcfg = spec(['sh', '-c', 'cat /data/in.txt; echo w > /data/out.txt; cat /etc/hosts; '
                 'ls /etc/; echo x > /etc/hosts 2>&1 || echo hosts-ro; '
                 'echo tmpfs=$(grep -c " /scratch tmpfs" /proc/mounts); '
                 'echo maskedfile=$(cat /etc/masked-file | wc -c); echo masked=$(ls /etc/masked-dir | wc -l); '
                 '(echo y > /srv/ro/f) 2>/dev/null || echo srv-ro; '
                 'echo staging=$(grep -c vmctr-stage /proc/self/mountinfo)'])
    os.makedirs(os.path.join(ROOTFS, 'etc', 'masked-dir'), exist_ok=True)
    with open(os.path.join(ROOTFS, 'etc', 'masked-dir', 'a'), 'w') as f:
        f.write('a')
    os.makedirs(os.path.join(ROOTFS, 'srv', 'ro'), exist_ok=True)
    mcfg['mounts'] += [
        {'destination': '/data', 'type': 'bind', 'source': hostdir, 'options': ['rbind', 'rprivate']},
        {'destination': '/etc/hosts', 'type': 'bind', 'source': hostfile, 'options': ['rbind', 'ro']},
        {'destination': '/scratch', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['size=16m', 'mode=1777']},
    ]
    with open(os.path.join(ROOTFS, 'etc', 'masked-file'), 'w') as f:
        f.write('not for the container\n')
    mcfg['linux']['maskedPaths'] = ['/etc/masked-file', '/etc/masked-dir', '/proc/absent']
    mcfg['linux']['readonlyPaths'] = ['/srv/ro']
    rd, wr = os.pipe()
    rc, pid = create('mnt', mcfg, stdout=wr, stderr=wr)
    os.close(wr)
    rt('start', 'mnt')
    mst = wait_pid(pid)
    mout = b''
    while True:
        chunk = os.read(rd, 65536)
        if not chunk:
            break
        mout += chunk
    os.close(rd)
    lines = mout.decode(errors='replace').split('\n')
    t.ok('from-host' in lines and open(os.path.join(hostdir, 'out.txt')).read() == 'w\n',
         'a bind-mounted directory reads and writes through to the host', mout)
    t.ok('10.9.9.9 bound-file' in lines and 'hosts-ro' in lines,
         'a bind-mounted file (read-only) replaces the image\'s', mout)
    t.ok(b'sibling.secret' not in mout and b'hosts.host' not in mout,
         'nothing beside the bound file is visible', mout)
    t.ok(all(x in lines for x in ('tmpfs=1', 'maskedfile=0', 'masked=0', 'srv-ro', 'staging=0'))
         and mst == 0,
         'tmpfs mounted; maskedPaths (a file, a directory) and readonlyPaths honoured; no staging '
         'mount visible', lines[-6:])
    rt('delete', 'mnt')

    # ---- refusals are clean ----
    before = set(os.listdir(ROOT)) if os.path.isdir(ROOT) else set()
    bad = spec(['true'])
    bad['mounts'].append({'destination': '/x', 'type': 'nfs', 'source': 'server:/x'})
    rc, _ = create('bad', bad)
    err = last_error() or ''
    t.ok(rc == 1 and 'nfs' in err and '/x' in err, 'an unsupported mount type is refused, naming it', err)
    with open(LOG) as f:
        lines = f.read().splitlines()
    j = json.loads(lines[-1]) if lines else {}
    t.ok(j.get('level') == 'error' and 'T' in j.get('time', '') and j['time'].endswith('Z'),
         'the log line is JSON with level and an RFC 3339 time', lines[-1:] and lines[-1])
    t.eq(set(os.listdir(ROOT)), before, 'a refused create leaves nothing under --root')
    bad = spec(['true'])
    bad['linux']['namespaces'].append({'type': 'user'})
    rc, _ = create('bad2', bad)
    t.ok(rc == 1 and 'user' in (last_error() or ''), 'a user namespace is refused', last_error())
    bad = spec(['true'])
    bad['annotations'] = {'org.libvmctr.bogus': '1'}
    rc, _ = create('bad3', bad)
    t.ok(rc == 1 and 'org.libvmctr.bogus' in (last_error() or ''),
         'an unknown annotation of ours is refused', last_error())
    bad = spec(['true'])
    bad['annotations'] = {'org.libvmctr.kernel': '/nonexistent/kernel'}
    rc, _ = create('bad4', bad)
    t.ok(rc == 1 and (last_error() or '') != '', 'a kernel that does not exist fails the create', last_error())
    t.eq(set(os.listdir(ROOT)), before, 'no state left by the failed creates')
    rc, pid = create('dup', spec(['sleep', '100']), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rc2, _ = create('dup', spec(['sleep', '100']))
    t.ok(rc2 == 1 and 'already exists' in (last_error() or ''), 'a second create of one id is refused',
         last_error())
    r = rt('pause', 'dup')
    t.ok(r.returncode == 1 and 'not supported' in (last_error() or ''), 'pause says it is not supported',
         last_error())
    rt('delete', '--force', 'dup')
    wait_pid(pid, 30)
    r = rt('create', '--bundle', work, 'bad/id')
    t.ok(r.returncode == 1 and 'invalid container id' in (last_error() or ''), 'an invalid id is refused',
         last_error())

    time.sleep(0.5)
    t.eq(monitors_left(), [], 'no monitor process is left')
    t.eq(qemu_pids(), [], 'no QEMU process is left')
    t.eq(sorted(os.listdir(ROOT)) if os.path.isdir(ROOT) else [], [], 'nothing is left under --root')
finally:
    for p in monitors_left():
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    shutil.rmtree(work, ignore_errors=True)

sys.exit(t.finish())
