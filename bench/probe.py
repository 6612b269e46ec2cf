#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: what a capability probe costs, next to its baseline.

Runs `vmctr-probe --json` (full probe, which runs `qemu --version`) and
`vmctr-probe --json --quick`, and the baseline `qemu-system-* --version` alone,
interleaved, N times each, and prints medians. A report, never a pass/fail.

    python3 bench/probe.py build/examples/vmctr-probe [N]
"""
import json
import statistics
import subprocess
import sys
import time


def run(argv):
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t


def main():
    probe = sys.argv[1] if len(sys.argv) > 1 else "build/examples/vmctr-probe"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 11
    caps = json.loads(subprocess.run([probe, "--json", "--quick"], capture_output=True,
                                     text=True, check=False).stdout)
    qemu = caps["qemu"]["path"]
    cases = {"vmctr-probe --json": [probe, "--json"],
             "vmctr-probe --json --quick": [probe, "--json", "--quick"]}
    if qemu:
        cases["baseline: qemu --version"] = [qemu, "--version"]
    times = {k: [] for k in cases}
    for _ in range(n):
        for k, argv in cases.items():  # interleaved, so load drifts hit all alike
            times[k].append(run(argv))
    print(f"median of {n} runs, whole process, accelerator {caps['accelerator']['name']}")
    for k, ts in times.items():
        print(f"  {k:30s} {statistics.median(ts) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
