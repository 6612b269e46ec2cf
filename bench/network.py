#!/usr/bin/env python3
"""network.py: container networking throughput and latency, next to a plain veth.

    bench/network.py BUILD_DIR [--runs N] [--mib M]

Runs as root, inside a network and mount namespace of its own (it re-executes
itself under unshare(1)), so nothing leaves this machine's namespaces. All
from one interleaved run, medians of N (default 5):

  tput   guest -> host TCP throughput: `dd if=/dev/zero bs=64k | nc` of M MiB
         (default 32) in the guest, timed by the host's receiver from accept
         to EOF
  rtt    one HTTP request from the host to busybox httpd in the guest
         (connect + GET + reply of a small file), median of 20 per run
for
  passt     isolated NAT with passt          (published port for rtt)
  user      isolated NAT with QEMU user-mode (published port for rtt)
  shared    a tap on a Linux bridge with NAT (the guest's address for rtt)
  veth      the limit: the same transfer between two network namespaces over
            a veth pair, with no VM

and what a network costs a start: `vmctr-run --rm true` with --network none
and with the default isolated network (passt), medians of N.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))


class Receiver:
    """A TCP server on 0.0.0.0:port that times each connection from accept to EOF."""

    def __init__(self, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind(("0.0.0.0", port))
        self.s.listen(8)
        self.results = []
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            c, _ = self.s.accept()
            t0, n = time.monotonic(), 0
            while True:
                b = c.recv(1 << 20)
                if not b:
                    break
                n += len(b)
            self.results.append((n, time.monotonic() - t0))
            c.close()

    def wait(self, count, timeout=600):
        end = time.monotonic() + timeout
        while len(self.results) < count and time.monotonic() < end:
            time.sleep(0.05)
        if len(self.results) < count:
            sys.exit("network.py: the receiver got nothing")
        return self.results[count - 1]


def http_rtt(host, port, tries=20):
    req = b"GET /x HTTP/1.0\r\n\r\n"
    times = []
    deadline = time.monotonic() + 120
    while len(times) < tries and time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=5) as s:
                s.sendall(req)
                data = b""
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    data += b
            if b"200" in data.split(b"\r\n", 1)[0]:
                times.append(time.monotonic() - t0)
                continue
        except OSError:
            pass
        time.sleep(0.2)  # not listening yet
    if not times:
        sys.exit("network.py: no HTTP answer from %s:%d" % (host, port))
    return statistics.median(times)


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build_dir")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mib", type=int, default=32)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("network.py: needs root (namespaces, bridges, taps)")
    if os.environ.get("VMCTR_BENCH_NS") != "1":
        os.execvpe("unshare", ["unshare", "--net", "--mount", "--propagation", "private",
                               sys.executable] + sys.argv,
                   dict(os.environ, VMCTR_BENCH_NS="1"))
    run = os.path.join(a.build_dir, "examples", "vmctr-run")
    net = os.path.join(a.build_dir, "examples", "vmctr-network")
    for exe in (run, net):
        if not os.access(exe, os.X_OK):
            sys.exit("network.py: %s is missing; build %s first" % (exe, a.build_dir))
    tmp = tempfile.mkdtemp(prefix="vmctr-netbench-")
    state = os.path.join(tmp, "state")
    store = os.path.join(tmp, "store")
    env = dict(os.environ, VMCTR_STATE_DIR=state)
    sh("ip link set lo up")
    sh("mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns")
    subprocess.run([net, "create", "bshared", "--mode", "shared", "--subnet", "10.99.0.0/24"],
                   env=env, check=True)
    subprocess.run([net, "create", "buser", "--mode", "isolated", "--nat", "user"], env=env, check=True)
    subprocess.run([net, "create", "bpasst", "--mode", "isolated", "--nat", "passt"], env=env,
                   check=True)
    # The limit: two namespaces over a veth, no VM.
    sh("ip netns add bpeer && ip link add vb0 type veth peer name vb1 netns bpeer && "
       "ip addr add 10.98.0.1/24 dev vb0 && ip link set vb0 up && "
       "ip -n bpeer addr add 10.98.0.2/24 dev vb1 && ip -n bpeer link set vb1 up && "
       "ip -n bpeer link set lo up")
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    with open(os.path.join(www, "x"), "w") as f:
        f.write("x\n")
    httpd = subprocess.Popen(["ip", "netns", "exec", "bpeer", "busybox", "httpd", "-f", "-p", "80",
                              "-h", www])
    recv = Receiver(19000)
    count = 0
    base = [run, "--store", store, "--rm", "-q"]
    subprocess.run(base + ["--network", "none", "--", "true"], env=env, check=True)  # warm
    dd = "dd if=/dev/zero bs=64k count=%d 2>/dev/null" % (a.mib * 16)
    modes = {
        "passt": (["--network", "bpasst"], "10.0.2.2", ("127.0.0.1", 19080)),
        "user": (["--network", "buser"], "10.0.2.2", ("127.0.0.1", 19081)),
        "shared": (["--network", "bshared", "--ip", "10.99.0.9"], "10.99.0.1", ("10.99.0.9", 80)),
    }
    tput = {m: [] for m in list(modes) + ["veth"]}
    rtt = {m: [] for m in list(modes) + ["veth"]}
    start = {"none": [], "isolated": []}
    for r in range(a.runs):
        for m, (args, gw, (rhost, rport)) in modes.items():
            extra, go = [], (rhost, 81)
            if m != "shared":
                extra = ["-p", "127.0.0.1:%d:80" % rport, "-p", "127.0.0.1:%d:81" % (rport + 100)]
                go = ("127.0.0.1", rport + 100)
            # The guest serves a small file for rtt; a connection to its port 81
            # then starts the transfer of M MiB to the host's receiver.
            script = ("mkdir -p /w && echo x > /w/x && (httpd -f -p 80 -h /w &) && "
                      "nc -l -p 81 </dev/null >/dev/null; %s | nc %s 19000" % (dd, gw))
            p = subprocess.Popen(base + args + extra + ["--name", "b-%s-%d" % (m, r), "--", "sh",
                                                        "-c", script], env=env)
            rtt[m].append(http_rtt(rhost, rport))
            socket.create_connection(go, timeout=10).close()
            count += 1
            n, dt = recv.wait(count)
            p.wait(timeout=600)
            tput[m].append(n / dt / (1 << 20))
        sh("ip netns exec bpeer sh -c '%s | busybox nc 10.98.0.1 19000'" % dd)
        count += 1
        n, dt = recv.wait(count)
        tput["veth"].append(n / dt / (1 << 20))
        rtt["veth"].append(http_rtt("10.98.0.2", 80))
        for k, args in (("none", ["--network", "none"]), ("isolated", [])):
            t0 = time.monotonic()
            subprocess.run(base + args + ["--", "true"], env=env, check=True)
            start[k].append(time.monotonic() - t0)
    httpd.terminate()
    print("runs %d, transfer %d MiB; medians" % (a.runs, a.mib))
    print("%-8s %12s %12s" % ("mode", "MiB/s", "rtt ms"))
    for m in tput:
        print("%-8s %12.1f %12.2f" % (m, statistics.median(tput[m]), 1000 * statistics.median(rtt[m])))
    sn, si = statistics.median(start["none"]), statistics.median(start["isolated"])
    print("start   --network none %.3f s, isolated (default) %.3f s, ratio %.3f" % (sn, si, si / sn))


if __name__ == "__main__":
    main()
