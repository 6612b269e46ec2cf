#!/usr/bin/env python3
"""network.py: container networking throughput and request latency, next to a plain veth.

    bench/network.py BUILD_DIR [--runs N] [--mib M]

Runs as root, inside a network and mount namespace of its own (it re-executes
itself under unshare(1)), so nothing leaves this machine's namespaces. All
from one interleaved run, medians of N runs (default 5):

  tput   guest -> host TCP throughput: `dd if=/dev/zero bs=64k | nc` of M MiB
         (default 32) from the guest to a receiver on the host, timed by the
         receiver from accept to EOF (busybox wget --post-file sends nothing)
  req    the guest's `busybox wget` of a 2-byte file from the host, 20 in a
         row, total / 20: a TCP connect plus one request, with the start of a
         wget process in the guest included (the same in the veth namespace)
for
  user      isolated NAT with QEMU's user-mode network (the default)
  passt     isolated NAT with passt
  shared    a tap on a Linux bridge with NAT
  veth      the limit: the same commands between two network namespaces over
            a veth pair, with no VM

and what a network costs a start: `vmctr-run --rm true` with --network none
and with the default isolated network, medians of N.

Every transfer is started by the guest: with Debian 12's passt, connections
from the host to a published port did not work here (doc/vmm.md).
"""
import argparse
import http.server
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))


class Sink:
    """TCP on 0.0.0.0:port: each connection read to EOF, (bytes, seconds) recorded."""
    results = []

    def __init__(self, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind(("0.0.0.0", port))
        self.s.listen(8)
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
            Sink.results.append((n, time.monotonic() - t0))
            c.close()


class Receiver(http.server.BaseHTTPRequestHandler):
    """GET /x: 2 bytes."""

    def do_GET(self):
        self.reply(b"x\n")

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def guest_script(host, mib):
    # busybox date has no %N: /proc/uptime gives centiseconds.
    return ("dd if=/dev/zero bs=64k count=%d 2>/dev/null | nc %s 19001 && "
            "t0=$(cut -d' ' -f1 /proc/uptime) && for i in $(seq 20); do wget -q -O /dev/null http://%s/x; done && "
            "t1=$(cut -d' ' -f1 /proc/uptime) && "
            "awk -v a=$t0 -v b=$t1 'BEGIN { printf \"req_ns=%%d\\n\", (b - a) * 1e9 / 20 }'" % (mib * 16, host.split(":")[0], host))


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
                               sys.executable] + sys.argv, dict(os.environ, VMCTR_BENCH_NS="1"))
    run = os.path.join(a.build_dir, "examples", "vmctr-run")
    net = os.path.join(a.build_dir, "examples", "vmctr-network")
    for exe in (run, net):
        if not os.access(exe, os.X_OK):
            sys.exit("network.py: %s is missing; build %s first" % (exe, a.build_dir))
    tmp = tempfile.mkdtemp(prefix="vmctr-netbench-")
    store = os.path.join(tmp, "store")
    env = dict(os.environ, VMCTR_STATE_DIR=os.path.join(tmp, "state"))
    # The host: loopback and a veth to a peer namespace, which is also the limit's
    # sender; its end is the default route (passt wants one).
    sh("ip link set lo up && mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns && "
       "ip netns add bpeer && ip link add vb0 type veth peer name vb1 netns bpeer && "
       "ip addr add 10.98.0.1/24 dev vb0 && ip link set vb0 up && "
       "ip -n bpeer addr add 10.98.0.2/24 dev vb1 && ip -n bpeer link set vb1 up && "
       "ip -n bpeer link set lo up && ip route add default via 10.98.0.2")
    for args in (["bshared", "--mode", "shared", "--subnet", "10.99.0.0/24"],
                 ["buser", "--mode", "isolated", "--nat", "user"],
                 ["bpasst", "--mode", "isolated", "--nat", "passt"]):
        subprocess.run([net, "create"] + args, env=env, check=True)
    Sink(19001)
    srv = http.server.ThreadingHTTPServer(("0.0.0.0", 19000), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    base = [run, "--store", store, "--rm", "-q"]
    subprocess.run(base + ["--network", "none", "--", "true"], env=env, check=True)  # warm
    modes = {
        "user": (["--network", "buser"], "10.0.2.2:19000"),
        "passt": (["--network", "bpasst"], "10.0.2.2:19000"),
        "shared": (["--network", "bshared"], "10.99.0.1:19000"),
    }
    tput = {m: [] for m in list(modes) + ["veth"]}
    req = {m: [] for m in list(modes) + ["veth"]}
    start = {"none": [], "isolated": []}

    def measure(m, cmd):
        before = len(Sink.results)
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        got = re.search(r"req_ns=(\d+)", p.stdout)
        if p.returncode != 0 or not got or len(Sink.results) <= before:
            sys.exit("network.py: %s failed (%d): %s %s" % (m, p.returncode, p.stdout, p.stderr[-500:]))
        n, dt = Sink.results[before]
        if n != a.mib << 20:
            sys.exit("network.py: %s: %d bytes arrived of %d MiB" % (m, n, a.mib))
        tput[m].append(n / dt / (1 << 20))
        req[m].append(int(got.group(1)) / 1e6)

    for r in range(a.runs):
        for m, (args, host) in modes.items():
            measure(m, base + args + ["--", "sh", "-c", guest_script(host, a.mib)])
        measure("veth", ["ip", "netns", "exec", "bpeer", "busybox", "sh", "-c",
                         guest_script("10.98.0.1:19000", a.mib)
                         .replace("wget", "busybox wget").replace("dd ", "busybox dd ")
                         .replace("| nc ", "| busybox nc ")
                         .replace("$(seq", "$(busybox seq").replace("$(cut", "$(busybox cut")
                         .replace("awk ", "busybox awk ")])
        for k, args in (("none", ["--network", "none"]), ("isolated", [])):
            t0 = time.monotonic()
            subprocess.run(base + args + ["--", "true"], env=env, check=True)
            start[k].append(time.monotonic() - t0)
    srv.shutdown()
    print("runs %d, transfer %d MiB; medians" % (a.runs, a.mib))
    print("%-8s %10s %10s" % ("mode", "MiB/s", "req ms"))
    for m in tput:
        print("%-8s %10.1f %10.2f" % (m, statistics.median(tput[m]), statistics.median(req[m])))
    sn, si = statistics.median(start["none"]), statistics.median(start["isolated"])
    print("start: --network none %.3f s, isolated (default) %.3f s, ratio %.3f" % (sn, si, si / sn))


if __name__ == "__main__":
    main()
