#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vmctr-oci with a pod network, as an engine runs it after CNI: config.json
names a network namespace path whose veth eth0 (an address, a default route)
leads to a peer namespace with a web server. create, start: the container
fetches from the peer with eth0's MAC and address, and reaches nothing else;
after delete no tap and no ingress qdisc are left in the pod's namespace.
Namespace names hold our pid; they are removed whatever happens.

usage: test_runtime_podnet.py RUNTIME"""
import ctypes
import json
import os
import shutil
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


def skip_all(reason):
    print('1..0 # SKIP ' + reason)
    sys.exit(0)


if os.geteuid() != 0:
    skip_all('needs root')
if not BUSYBOX or not shutil.which('ip') or not shutil.which('tc'):
    skip_all('needs busybox, ip and tc')
if not KERNEL or not os.path.exists(KERNEL):
    skip_all('no guest kernel at %r' % KERNEL)
os.environ['VMCTR_KERNEL'] = KERNEL
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER

PID = os.getpid()
POD, PEER = 'vrpod-%d' % PID, 'vrpeer-%d' % PID
X = PID % 250 + 1
PEER_IP, POD_IP = '10.78.%d.1' % X, '10.78.%d.2' % X
work = tempfile.mkdtemp(prefix='vmctr-oci-podnet.')
ROOT, LOG = os.path.join(work, 'root'), os.path.join(work, 'log.json')
server = None


def sh(cmd):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if r.returncode != 0:
        print('# command failed (%d): %s\n# %s' % (r.returncode, cmd, r.stderr.strip()))
    return r


def rt(*args, **kw):
    cmd = [RUNTIME, '--root', ROOT, '--log', LOG, '--log-format', 'json'] + list(args)
    kw.setdefault('capture_output', True)
    kw.setdefault('text', True)
    kw.setdefault('timeout', 180)
    return subprocess.run(cmd, **kw)


def last_error():
    try:
        with open(LOG) as f:
            lines = [json.loads(x) for x in f if x.strip()]
        return [x.get('msg') for x in lines if x.get('level') == 'error'][-1]
    except (OSError, ValueError, IndexError):
        return None


def wait_pid(pid, timeout=180):
    end = time.time() + timeout
    while time.time() < end:
        try:
            p, st = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if p == pid:
            return os.waitstatus_to_exitcode(st)
        time.sleep(0.05)
    return None


def make_rootfs(path):
    for d in ('bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root'):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    shutil.copy(BUSYBOX, os.path.join(path, 'bin', 'busybox'))
    for a in subprocess.run([BUSYBOX, '--list'], capture_output=True, text=True).stdout.split():
        p = os.path.join(path, 'bin', a)
        if not os.path.lexists(p):
            os.symlink('busybox', p)
    with open(os.path.join(path, 'etc', 'passwd'), 'w') as f:
        f.write('root:x:0:0:root:/root:/bin/sh\n')


def spec(args, netns):
    return {
        'ociVersion': '1.0.2',
        'process': {'terminal': False, 'user': {'uid': 0, 'gid': 0}, 'args': args,
                    'env': ['PATH=/bin'], 'cwd': '/'},
        'root': {'path': 'rootfs', 'readonly': False},
        'hostname': 'podnet',
        'mounts': [
            {'destination': '/proc', 'type': 'proc', 'source': 'proc'},
            {'destination': '/sys', 'type': 'sysfs', 'source': 'sysfs',
             'options': ['nosuid', 'noexec', 'nodev', 'ro']},
        ],
        'linux': {'namespaces': [{'type': 'pid'}, {'type': 'ipc'}, {'type': 'uts'},
                                 {'type': 'mount'}, {'type': 'network', 'path': netns}]},
    }


def count(cmd, needle):
    return sh(cmd).stdout.count(needle)


try:
    # The pod as CNI leaves it, and its peer with a server.
    for c in ('ip netns add %s' % POD, 'ip netns add %s' % PEER,
              'ip -n %s link set lo up' % POD,
              'ip -n %s link add eth0 type veth peer name vr%d netns %s' % (POD, PID, PEER),
              'ip -n %s addr add %s/24 dev eth0' % (POD, POD_IP), 'ip -n %s link set eth0 up' % POD,
              'ip -n %s route add default via %s' % (POD, PEER_IP),
              'ip -n %s addr add %s/24 dev vr%d' % (PEER, PEER_IP, PID),
              'ip -n %s link set vr%d up' % (PEER, PID)):
        if sh(c).returncode != 0:
            raise RuntimeError('setup failed: ' + c)
    mac = sh('ip netns exec %s cat /sys/class/net/eth0/address' % POD).stdout.strip()
    www = os.path.join(work, 'www')
    os.makedirs(www)
    with open(os.path.join(www, 'hello.txt'), 'w') as f:
        f.write('hello from the pod\n')
    server = subprocess.Popen(['ip', 'netns', 'exec', PEER, BUSYBOX, 'httpd', '-f', '-p',
                               '%s:8080' % PEER_IP, '-h', www])
    time.sleep(0.3)

    b = os.path.join(work, 'bundle')
    os.makedirs(b)
    make_rootfs(os.path.join(b, 'rootfs'))
    script = ('timeout 30 wget -q -O - http://%s:8080/hello.txt; '
              'echo mac=$(cat /sys/class/net/eth0/address); '
              'ip -o -4 addr show dev eth0 | awk \'{print "addr=" $4}\'; '
              'timeout 8 wget -q -O - http://1.1.1.1/ && echo OUT || echo NO-OUT') % PEER_IP
    with open(os.path.join(b, 'config.json'), 'w') as f:
        json.dump(spec(['sh', '-c', script], '/run/netns/' + POD), f)
    rd, wr = os.pipe()
    pidfile = os.path.join(work, 'pid')
    r = rt('create', '--bundle', b, '--pid-file', pidfile, 'pn', stdin=subprocess.DEVNULL,
           stdout=wr, stderr=wr, capture_output=False)
    os.close(wr)
    t.eq(r.returncode, 0, 'create with the pod namespace succeeds')
    if r.returncode != 0:
        print('# ' + str(last_error()))
        # What the monitor wrote on its (the container's) stdio, sanitizer reports included.
        os.set_blocking(rd, False)
        try:
            for line in os.read(rd, 65536).decode(errors='replace').splitlines()[:40]:
                print('# ' + line)
        except OSError:
            pass
        raise RuntimeError('create failed')
    t.eq(count('ip -n %s -d link show' % POD, 'tap0_vmctr'), 1, 'the tap is in the pod namespace')
    t.eq(count('tc -n %s filter show dev eth0 ingress' % POD, 'Redirect to device tap0_vmctr'), 1,
         'eth0\'s ingress goes to the tap')
    with open(pidfile) as f:
        mon = int(f.read())
    t.eq(rt('start', 'pn').returncode, 0, 'start succeeds')
    status = wait_pid(mon)
    out = b''
    while True:
        chunk = os.read(rd, 65536)
        if not chunk:
            break
        out += chunk
    os.close(rd)
    text = out.decode(errors='replace')
    t.eq(status, 0, 'the container exits 0')
    t.ok('hello from the pod\n' in text, 'the container fetches from the pod network\'s peer', text)
    t.ok(('mac=%s\n' % mac) in text, 'its eth0 has the CNI interface\'s MAC', text)
    t.ok(('addr=%s/24\n' % POD_IP) in text, 'and its address', text)
    t.ok('NO-OUT\n' in text, 'nothing beyond the pod network is reachable', text)
    r = rt('delete', 'pn')
    t.eq(r.returncode, 0, 'delete succeeds')
    t.eq(count('ip -n %s -d link show' % POD, 'tap0_vmctr'), 0, 'no tap is left after delete')
    t.eq(count('tc -n %s qdisc show' % POD, 'ingress'), 0, 'no ingress qdisc is left after delete')
    t.eq(count('ip -n %s addr show dev eth0' % POD, 'inet %s/24' % POD_IP), 1,
         'eth0 is as CNI left it')
    t.eq(count('ip -d link show', 'tap0_vmctr'), 0, 'nothing of it in the host namespace')
except Exception as e:  # noqa: BLE001 - report, then clean up
    t.ok(False, 'the test ran to its end', repr(e))
finally:
    if server:
        server.terminate()
        server.wait()
    rt('delete', '--force', 'pn')
    for ns in (POD, PEER):
        sh('ip netns pids %s | xargs -r kill 2>/dev/null; ip netns del %s' % (ns, ns))
    shutil.rmtree(work, ignore_errors=True)
sys.exit(t.finish())
