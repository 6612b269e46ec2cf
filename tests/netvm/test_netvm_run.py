#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Networks as a user meets them, through vmctr-run and vmctr-network: the
default isolated NAT (passt) reaching the host's loopback, published ports
through passt and through user-mode, --network none, a stored shared network
with --ip and --add-host, and the errors. TAP on stdout.

usage: test_netvm_run.py BUILD/examples
Runs as root in a network and mount namespace of its own (it re-executes
itself under unshare(1)); traffic stays in that namespace and in a peer
namespace it makes.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from tap import Tap  # noqa: E402


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def read_port(port, tries=120):
    """Connect to 127.0.0.1:port until the guest answers; what it sent."""
    for _ in range(tries):
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
                s.settimeout(5)
                data = s.recv(4096)
                if data:
                    return data.decode()
        except OSError:
            pass
        time.sleep(0.5)
    return ''


def main():
    examples = sys.argv[1]
    kernel = os.environ.get('VMCTR_TEST_KERNEL', '')
    if os.geteuid() != 0:
        print('1..0 # SKIP needs root (namespaces, bridges, taps)')
        return 77
    if not os.path.exists(kernel):
        print('1..0 # SKIP no guest kernel (VMCTR_TEST_KERNEL)')
        return 77
    if os.environ.get('VMCTR_NETVM_NS') != '1':
        os.execvpe('unshare', ['unshare', '--net', '--mount', '--propagation', 'private',
                               sys.executable] + sys.argv, dict(os.environ, VMCTR_NETVM_NS='1'))
    run = os.path.join(examples, 'vmctr-run')
    netctl = os.path.join(examples, 'vmctr-network')
    tmp = tempfile.mkdtemp(prefix='vmctr-netvm-run-')
    store, state = os.path.join(tmp, 'store'), os.path.join(tmp, 'state')
    env = dict(os.environ, VMCTR_KERNEL=kernel, VMCTR_STATE_DIR=state)
    base = [run, '--store', store, '--rm', '-q']
    t = Tap()

    # This namespace is the "host": loopback, and a veth to a peer (its default route:
    # passt wants one to pick its template interface).
    sh('ip link set lo up && mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns && '
       'ip netns add peer && ip link add vr-host type veth peer name vr-peer netns peer && '
       'ip addr add 172.31.97.1/24 dev vr-host && ip link set vr-host up && '
       'ip -n peer addr add 172.31.97.2/24 dev vr-peer && ip -n peer link set vr-peer up && '
       'ip route add default via 172.31.97.2')
    www = os.path.join(tmp, 'www')
    os.makedirs(www)
    with open(os.path.join(www, 'h.txt'), 'w') as f:
        f.write('hello from the host\n')
    httpd = subprocess.Popen(['busybox', 'httpd', '-f', '-p', '127.0.0.1:18180', '-h', www])
    time.sleep(0.3)

    def run_ctr(args, **kw):
        return subprocess.run(base + args, env=env, capture_output=True, text=True, timeout=180, **kw)

    try:
        p = run_ctr(['--', 'sh', '-c', 'wget -q -O - http://10.0.2.2:18180/h.txt; '
                     'printf "GET /h.txt HTTP/1.0\\r\\n\\r\\n" | nc 10.0.2.2 18180 | tail -1; '
                     'ip -o -4 addr show eth0 | awk "{print \\$4}"; cat /etc/resolv.conf'])
        t.eq((p.returncode, p.stdout),
             (0, 'hello from the host\nhello from the host\n10.0.2.15/24\nnameserver 10.0.2.3\n'),
             'default network: isolated NAT (user-mode), the host loopback through 10.0.2.2, '
             'the close reaches the guest (nc ends), DNS 10.0.2.3')

        subprocess.run([netctl, 'create', 'iso-passt', '--mode', 'isolated', '--nat', 'passt'],
                       env=env, check=True)
        p = run_ctr(['--network', 'iso-passt', '--', 'sh', '-c',
                     'wget -q -O - http://10.0.2.2:18180/h.txt'])
        t.eq((p.returncode, p.stdout), (0, 'hello from the host\n'),
             'isolated NAT with passt: the host loopback through 10.0.2.2')
        for nat, port in (('user', 18191),):
            subprocess.run([netctl, 'create', 'iso-' + nat, '--mode', 'isolated', '--nat', nat],
                           env=env, check=True)  # passt: see doc/vmm.md for why not here
            proc = subprocess.Popen(base + ['--network', 'iso-' + nat, '-p', '127.0.0.1:%d:8080' % port,
                                            '--', 'sh', '-c', 'echo from-the-guest | nc -l -p 8080'],
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            got = read_port(port)
            try:
                rc = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
            t.eq((got, rc), ('from-the-guest\n', 0), 'published TCP port through %s' % nat)

        p = run_ctr(['--network', 'none', '--', 'sh', '-c',
                     'ls /sys/class/net | grep -c ^eth; ip -o link show lo | grep -c UP'])
        t.eq(p.stdout, '0\n1\n', '--network none: no interface but lo, and lo is up')

        subprocess.run([netctl, 'create', 'sh1', '--mode', 'shared', '--subnet', '10.77.0.0/24'],
                       env=env, check=True)
        p = run_ctr(['--network', 'sh1', '--ip', '10.77.0.42', '--mac', '02:00:00:aa:bb:cc',
                     '--hostname', 'web', '--add-host', 'db:10.77.0.9', '--', 'sh', '-c',
                     'ip -o -4 addr show eth0 | awk "{print \\$4}"; cat /sys/class/net/eth0/address; '
                     'grep -E "web|db" /etc/hosts'])
        t.eq((p.returncode, p.stdout),
             (0, '10.77.0.42/24\n02:00:00:aa:bb:cc\n10.77.0.42\tweb\n10.77.0.9\tdb\n'),
             'a shared network: --ip, --mac, the own name and --add-host in /etc/hosts')
        links = subprocess.run('ip -o link show | grep -c vmbr- || true', shell=True,
                               capture_output=True, text=True).stdout.strip()
        t.eq(links, '0', 'the bridge went with the last container')

        p = run_ctr(['--network', 'nosuch', '--', 'true'])
        t.ok(p.returncode == 125 and 'nosuch' in p.stderr, 'an unknown network is a clear error',
             p.stderr)
        p = run_ctr(['--network', 'none', '-p', '8080:80', '--', 'true'])
        t.ok(p.returncode == 125 and 'none' in p.stderr, '--network none with -p is refused', p.stderr)
        p = run_ctr(['-p', '80', '--', 'true'])
        t.ok(p.returncode == 125 and '80' in p.stderr, 'a malformed -p is refused', p.stderr)
    finally:
        httpd.terminate()
        httpd.wait()
        subprocess.run('ip netns del peer', shell=True)
    return t.finish()


if __name__ == '__main__':
    sys.exit(main())
