#!/usr/bin/env python3
"""coldpath.py: where a cold `vmctr-run --rm -q -- true` spends its time, step by step,
next to the raw QEMU boot of the same kernel; and the start of a large image against a
small one.

    bench/coldpath.py BUILD_DIR [--runs N] [--image NAME=LAYOUT]...

One interleaved run: each round runs every variant once, then bench/boot-raw.sh once.
Variants: `default` (the busybox image vmctr-run builds itself) and each --image (an OCI
layout, imported once before the rounds; every run imports it again, as vmctr-run does).

Steps come from the library's debug log (VMCTR_DEBUG=2), each line stamped by this script
when it arrives on the pipe; a step is the time from the previous mark to its own:

  image      process start to the image being in the store (import of an imported image)
  root disk  to the container's writable disk being made
  caps       to the capability probe's result
  spawn      to QEMU started (runtime dir, jail, initfs, argv)
  boot       to the guest agent's handshake (kernel + init + agent)
  setup      to the container being up (clock, mounts, network, hostname, process spawn)
  run+stop   to the VM having ended (the command, power-off, QEMU exit)
  exit       to vmctr-run's exit

Medians of N (default 5) per step and in total, the raw boot's median, and the ratios
total/raw and (with --image) each image's total against the default's.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)

MARKS = [
    ("image", re.compile(r"\[image\] .* is already in the store|\[image\] imported")),
    ("root disk", re.compile(r"\[image\] writable disk ")),
    ("caps", re.compile(r"\[caps\] backend ")),
    ("spawn", re.compile(r"\[child\] started qemu, pid")),
    ("boot", re.compile(r"\[agent\] connected to ")),
    ("setup", re.compile(r"\[container\] container .* is up")),
    ("run+stop", re.compile(r"\[vmm\] VM .* ended")),
]
STEPS = [m[0] for m in MARKS] + ["exit"]


def run_steps(cmd, env):
    """Run cmd, stamping its stderr lines; return {step: seconds} and the total."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, bufsize=1)
    stamps = {}
    tail = []
    for line in p.stderr:
        now = time.monotonic() - t0
        tail = (tail + [line])[-20:]
        for name, rx in MARKS:
            if name not in stamps and rx.search(line):
                stamps[name] = now
    rc = p.wait()
    total = time.monotonic() - t0
    if rc != 0:
        sys.exit("coldpath.py: %s failed (%d): %s" % (" ".join(cmd), rc, "".join(tail)[-800:]))
    steps, prev = {}, 0.0
    for name in STEPS:
        at = total if name == "exit" else stamps.get(name)
        if at is None:
            continue
        steps[name] = at - prev
        prev = at
    return steps, total


def raw_boot(kernel):
    p = subprocess.run([os.path.join(here, "boot-raw.sh"), "--kernel", kernel, "--runs", "1"],
                       capture_output=True, text=True, timeout=600)
    m = re.search(r"median: ([0-9.]+)", p.stdout)
    if p.returncode != 0 or not m:
        sys.exit("coldpath.py: boot-raw.sh failed: %s" % p.stderr[-500:])
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build_dir")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--image", action="append", default=[], metavar="NAME=LAYOUT")
    ap.add_argument("--kernel", default=os.path.join(root, "kernel", "out", "bzImage"))
    a = ap.parse_args()
    exe = os.path.join(a.build_dir, "examples", "vmctr-run")
    if not os.access(exe, os.X_OK):
        sys.exit("coldpath.py: %s is missing; build %s first" % (exe, a.build_dir))
    # Cold: templates are on by default since 0.6, and would restore instead of boot.
    env = dict(os.environ, VMCTR_DEBUG="2", VMCTR_KERNEL=a.kernel, VMCTR_TEMPLATES="0")
    tmp = tempfile.mkdtemp(prefix="vmctr-coldpath-")
    variants = [("default", [])]
    for spec in a.image:
        name, _, layout = spec.partition("=")
        variants.append((name, ["--image", layout]))
    try:
        store = os.path.join(tmp, "store")
        for _, extra in variants:  # warm: import, ext4 form, initfs
            run_steps([exe, "--store", store, "--rm", "-q"] + extra + ["--", "true"], env)
        results = {name: [] for name, _ in variants}
        raws = []
        for i in range(a.runs):
            for name, extra in variants:
                results[name].append(
                    run_steps([exe, "--store", store, "--rm", "-q"] + extra + ["--", "true"], env))
            raws.append(raw_boot(a.kernel))
            print("round %d: %s, raw %.3f s" % (i + 1, ", ".join(
                "%s %.3f s" % (n, results[n][-1][1]) for n, _ in variants), raws[-1]),
                file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    raw = statistics.median(raws)
    names = [n for n, _ in variants]
    print("| step | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for step in STEPS:
        cells = []
        for n in names:
            vals = [s.get(step) for s, _ in results[n] if step in s]
            cells.append("%.3f" % statistics.median(vals) if vals else "-")
        print("| %s | %s |" % (step, " | ".join(cells)))
    totals = {n: statistics.median([t for _, t in results[n]]) for n in names}
    print("| **total** | " + " | ".join("**%.3f**" % totals[n] for n in names) + " |")
    print()
    print("raw boot (boot-raw.sh, same kernel): %.3f s" % raw)
    for n in names:
        print("%s / raw: %.2fx" % (n, totals[n] / raw))
    for n in names[1:]:
        print("%s / default: %.2fx" % (n, totals[n] / totals["default"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
