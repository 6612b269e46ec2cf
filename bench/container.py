#!/usr/bin/env python3
"""container.py: containers end to end, next to the raw QEMU boot of the same kernel.

    bench/container.py BUILD_DIR [--runs N]

All from one run, medians of N (default 5), under TCG on the tailored kernel
(kernel/out/bzImage):
  run       `vmctr-run --rm -- true`, the image already imported (store reused)
  import    the same with a fresh store each time: import + unpack + ext4 + run
  exec      `true` exec'd into a running container (bench/container-bench)
  rss       the host process's RSS with one container running (QEMU excluded)
  raw       bench/boot-raw.sh: plain QEMU, same kernel, an init that only reboots
  template  `vmctr-run --rm -- true` restored from a template VM (VMCTR_TEMPLATES=1,
            templates in a cache of the run's own, built before the rounds)
  pss       QEMU's proportional set size per idle container, ten running
            (`sleep`), cold-booted and restored from a template
and the overhead ratios run/raw, import/raw and template/raw.

    bench/container.py BUILD_DIR --baseline OTHER_BUILD_DIR [--runs N]

also runs OTHER_BUILD_DIR's vmctr-run (an earlier version of the code) in
the same rounds, so that a change is judged against the code before it on
the same machine at the same moment: it adds the baseline's medians, cold and
from a template (its own templates, in the same cache), and the ratios
run/baseline and template/baseline template.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)


def timed(cmd, env):
    t = time.monotonic()
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       timeout=600)
    if p.returncode != 0:
        sys.exit("container.py: %s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr[-500:]))
    return time.monotonic() - t


def qemu_children(parents):
    """The pids of the processes whose parent is in parents (each vmctr-run's QEMU)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
            comm = st[st.index("(") + 1:st.rindex(")")]
            ppid = int(st[st.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
        if ppid in parents and comm.startswith("qemu"):
            out.append(int(d))
    return out


def pss_kib(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def idle_pss(run, store, env, n=10):
    """Start n containers that sleep, wait until each runs, and return the
    mean PSS of their QEMU processes in MiB."""
    procs = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen([run, "--store", store, "--rm", "-q", "--network", "none",
                                           # PID 1 of the container: TERM ends it only
                                           # through a handler
                                           "--", "sh", "-c",
                                           "trap 'exit 0' TERM; echo up; sleep 600 & wait"], env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                          text=True))
        for p in procs:
            if p.stdout.readline().strip() != "up":
                sys.exit("container.py: an idle container did not start")
        time.sleep(2)  # idle
        pids = qemu_children({p.pid for p in procs})
        if len(pids) != n:
            sys.exit("container.py: found %d QEMU processes of %d containers" % (len(pids), n))
        return sum(pss_kib(q) for q in pids) / n / 1024.0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build_dir")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--baseline", help="another build dir whose vmctr-run is timed in the same rounds")
    a = ap.parse_args()
    run = os.path.join(a.build_dir, "examples", "vmctr-run")
    bench = os.path.join(a.build_dir, "bench", "container-bench")
    for exe in (run, bench):
        if not os.access(exe, os.X_OK):
            sys.exit("container.py: %s is missing; build %s first" % (exe, a.build_dir))
    # Cold unless asked: templates are on by default since 0.6.
    env = dict(os.environ, VMCTR_TEMPLATES="0")
    tmp = tempfile.mkdtemp(prefix="vmctr-bench-")
    try:
        store = os.path.join(tmp, "store")
        timed([run, "--store", store, "--rm", "-q", "--", "true"], env)  # warm: image + initfs
        layout = os.path.join(store, "default-image", "busybox")
        base_run = os.path.join(a.baseline, "examples", "vmctr-run") if a.baseline else None
        base_store = os.path.join(tmp, "base-store")
        if base_run:
            timed([base_run, "--store", base_store, "--rm", "-q", "--", "true"], env)

        tenv = dict(env, VMCTR_TEMPLATES="1", XDG_CACHE_HOME=os.path.join(tmp, "cache"))
        timed([run, "--store", store, "--rm", "-q", "--", "true"], tenv)  # builds the template
        if base_run:  # its own template (another key)
            timed([base_run, "--store", base_store, "--rm", "-q", "--", "true"], tenv)

        # Interleaved, one of each per round, so that the machine's drift
        # (it is shared) hits the library and the baseline alike.
        runs, imports, raws, bases, tmpls, base_tmpls = [], [], [], [], [], []
        for i in range(a.runs):
            runs.append(timed([run, "--store", store, "--rm", "-q", "--", "true"], env))
            tmpls.append(timed([run, "--store", store, "--rm", "-q", "--", "true"], tenv))
            if base_run:
                bases.append(timed([base_run, "--store", base_store, "--rm", "-q", "--", "true"], env))
                base_tmpls.append(timed([base_run, "--store", base_store, "--rm", "-q", "--", "true"],
                                        tenv))
            fresh = os.path.join(tmp, "fresh%d" % i)
            imports.append(timed([run, "--store", fresh, "--image", layout, "--rm", "-q", "--", "true"],
                                 env))
            shutil.rmtree(fresh, ignore_errors=True)
            p = subprocess.run([os.path.join(here, "boot-raw.sh"), "--runs", "1"],
                               capture_output=True, text=True, timeout=900)
            for line in p.stdout.splitlines():
                if line.startswith("median:"):
                    raws.append(float(line.split()[1]))

        out = subprocess.run([bench, store, str(max(a.runs, 5) * 4)], env=env, capture_output=True,
                             text=True, timeout=600)
        if out.returncode != 0:
            sys.exit("container.py: container-bench failed: " + out.stderr[-500:])
        execs = [float(l.split()[1]) for l in out.stdout.splitlines() if l.startswith("exec ")]
        rss = [int(l.split()[1]) for l in out.stdout.splitlines() if l.startswith("rss_kib ")][0]

        raw = statistics.median(raws) if raws else None
        pss_cold = idle_pss(run, store, env)
        pss_tmpl = idle_pss(run, store, tenv)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    med = statistics.median
    print("%-34s %8s" % ("measure (median of %d)" % a.runs, "value"))
    print("%-34s %7.3fs" % ("vmctr-run true, image imported", med(runs)))
    print("%-34s %7.3fs" % ("vmctr-run true, fresh import", med(imports)))
    print("%-34s %7.1fms" % ("exec true in a running container", med(execs) * 1000))
    print("%-34s %6d KiB" % ("host RSS, one container (no QEMU)", rss))
    print("%-34s %7.3fs" % ("vmctr-run true, from a template", med(tmpls)))
    print("%-34s %6.1f MiB" % ("QEMU PSS per idle container, cold", pss_cold))
    print("%-34s %6.1f MiB" % ("QEMU PSS per idle container, tmpl", pss_tmpl))
    print("  (ten running at once)")
    if raw:
        print("%-34s %7.3fs" % ("raw QEMU boot (boot-raw.sh)", raw))
        print("ratios: run/raw %.2f, fresh import/raw %.2f, template/raw %.2f" %
              (med(runs) / raw, med(imports) / raw, med(tmpls) / raw))
    if bases:
        print("%-34s %7.3fs" % ("baseline vmctr-run true (%s)" % os.path.basename(a.baseline.rstrip("/")),
                                med(bases)))
        print("ratio: run/baseline %.3f (baseline/raw %.2f)" % (med(runs) / med(bases),
                                                              med(bases) / raw if raw else 0))
        print("%-34s %7.3fs" % ("baseline from a template", med(base_tmpls)))
        print("ratio: template/baseline template %.3f (baseline template/raw %.2f)" %
              (med(tmpls) / med(base_tmpls), med(base_tmpls) / raw if raw else 0))


if __name__ == "__main__":
    main()
