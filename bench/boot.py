#!/usr/bin/env python3
"""boot.py: VM life through libvmctr, next to the raw-QEMU baseline.

    bench/boot.py BUILD_DIR [--runs N]

For the tailored kernel (kernel/out/bzImage) and Debian's cloud kernel
(kernel/out/debian/, with its modules in the initfs), runs
BUILD_DIR/tests/vmm/bench-vmm-boot N times (default 5): boot -> guest agent
ready -> `true` through the agent (SPAWN + WAIT) -> power-off, all under TCG.
Runs are interleaved with the baseline, round by round. Prints the median of
each phase, the median of bench/boot-raw.sh (plain QEMU,
an init that only reboots) for the same kernel, and their ratio.
vmctr-init comes from $VMCTR_GUEST_INIT, else BUILD_DIR/lib/guest/vmctr-init.
"""
import argparse
import os
import statistics
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def lib_runs(exe, args, runs):
    phases = {}
    for i in range(runs):
        p = subprocess.run([exe] + args, capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            return None, (p.stderr or p.stdout).strip()[-400:]
        kv = dict(x.split("=") for x in p.stdout.split())
        print(f"  run {i + 1}: " + " ".join(f"{k}={v}" for k, v in kv.items()), file=sys.stderr)
        for k, v in kv.items():
            phases.setdefault(k, []).append(float(v))
    return {k: statistics.median(v) for k, v in phases.items()}, None


def raw_run(kind, runs):
    script = os.path.join(here, "boot-raw.sh")
    if not os.access(script, os.X_OK):
        return None
    p = subprocess.run([script, "--kind", kind, "--runs", str(runs)], capture_output=True,
                       text=True, timeout=900)
    for line in p.stdout.splitlines():
        if line.startswith("median:"):
            return float(line.split()[1])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build_dir")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    exe = os.path.join(a.build_dir, "tests", "vmm", "bench-vmm-boot")
    if not os.access(exe, os.X_OK):
        sys.exit(f"boot.py: {exe} is missing; build {a.build_dir} first")
    init = os.environ.get("VMCTR_GUEST_INIT") or os.path.join(a.build_dir, "lib", "guest", "vmctr-init")
    if not os.access(init, os.X_OK):
        sys.exit(f"boot.py: vmctr-init not found at {init}; set VMCTR_GUEST_INIT")
    os.environ["VMCTR_GUEST_INIT"] = init
    kernels = [
        # "" = the library's default command line (the same as kernel/cmdline.*,
        # plus tsc_early_khz under TCG, as bench/boot-raw.sh adds it too).
        ("tailored", os.path.join(root, "kernel/out/bzImage"), "", None),
        ("debian", os.path.join(root, "kernel/out/debian/vmlinuz"), "",
         os.path.join(root, "kernel/out/debian/modules")),
    ]
    print(f"{'kernel':10} {'boot':>7} {'run':>7} {'stop':>7} {'total':>7} {'raw':>7} {'ratio':>6}")
    for kind, kernel, cmdline, mods in kernels:
        if not os.path.exists(kernel):
            print(f"{kind:10} skipped: {kernel} is missing")
            continue
        print(f"{kind}:", file=sys.stderr)
        # Interleaved, one library run and one raw run per round, so that the
        # shared machine's drift hits both alike.
        phases, raws, err = {}, [], None
        for _ in range(a.runs):
            m, err = lib_runs(exe, [kernel, cmdline] + ([mods] if mods else []), 1)
            if m is None:
                break
            for k, v in m.items():
                phases.setdefault(k, []).append(v)
            r = raw_run(kind, 1)
            if r:
                raws.append(r)
        if err:
            print(f"{kind:10} failed: {err}")
            continue
        med = {k: statistics.median(v) for k, v in phases.items()}
        raw = statistics.median(raws) if raws else None
        ratio = f"{med['total'] / raw:6.2f}" if raw else "   n/a"
        raws = f"{raw:7.3f}" if raw else "    n/a"
        print(f"{kind:10} {med['boot']:7.3f} {med['run']:7.3f} {med['stop']:7.3f} "
              f"{med['total']:7.3f} {raws} {ratio}")
    print("(seconds, median of %d; raw = bench/boot-raw.sh, plain QEMU whose init only reboots;"
          " ratio = total / raw)" % a.runs)


if __name__ == "__main__":
    main()
