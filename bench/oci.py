#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""oci.py: a container start through containerd with vmctr-oci, next to runc and vmctr-run.

    bench/oci.py BUILD_DIR [--runs N] [--runtime PATH] [--kernel F]

Runs as root, inside network, mount and PID namespaces of its own (it re-executes
itself under unshare(1), as tests/oci/engines.py does, whose pieces it uses): one
containerd with its state under a temporary directory, and a busybox image made
from the host's busybox-static, imported into containerd and into a vmctr store
of the same directory. One interleaved run of N rounds (default 5), medians of:

  vmctr-oci  `ctr run --rm --runc-binary BUILD/examples/oci/vmctr-oci IMAGE ID true`
             (containerd's runc v2 shim, the runtime boots a VM under TCG here)
  runc       the same with Debian's runc (no VM: the floor of what ctr, the shim
             and containerd cost)
  vmctr-run  `BUILD/examples/vmctr-run --rm -q --network none --image IMAGE -- true`,
             the library's own start of the same image, without an engine

--network none for vmctr-run because `ctr run` without CNI gives the container
no network either. Templates are on, as by default: the warm-up round builds the
template each kind of VM restores from (set VMCTR_TEMPLATES=0 to time cold boots). Prints a table with the ratios vmctr-oci / runc (what the VM
costs under an engine) and vmctr-oci / vmctr-run (what the engine and the shim
add to the library's start).
"""
import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
src_root = os.path.dirname(here)
INNER_ENV = 'VMCTR_BENCH_OCI_INNER'


def load_engines():
    path = os.path.join(src_root, 'tests', 'oci', 'engines.py')
    spec = importlib.util.spec_from_file_location('engines', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def timed(argv, env, timeout=300):
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, 'timed out after %d s' % timeout
    dt = time.monotonic() - t0
    if p.returncode != 0:
        return None, 'exit %d: %s' % (p.returncode, (p.stderr or p.stdout).strip()[-400:])
    return dt, None


def inner(args):
    eng = load_engines()
    tmp = args.inner
    eng.setup_namespaces(tmp)
    build = os.path.abspath(args.build)
    vmctr_image = os.path.join(build, 'examples', 'vmctr-image')
    vmctr_run = os.path.join(build, 'examples', 'vmctr-run')
    vmctr_oci = args.runtime or os.path.join(build, 'examples', 'oci', 'vmctr-oci')
    runc = shutil.which('runc')
    cargs = argparse.Namespace(runtime=vmctr_oci, uid=str(args.uid), kernel=args.kernel,
                               guest_init=os.path.join(build, 'lib', 'guest', 'vmctr-init'),
                               expect_vm=True)
    if not os.path.exists(cargs.kernel or ''):
        cargs.kernel = None
    cx = eng.Ctx(cargs, None, tmp)
    docker_archive, _ = eng.make_image(
        tmp, shutil.which('busybox'), vmctr_image if os.access(vmctr_image, os.X_OK) else None,
        shutil.which('umoci'), shutil.which('skopeo'))
    cx.docker_archive = docker_archive
    c = None
    try:
        c = eng.Containerd(cx)
        cx.cleanups.append(c.remove_all)
        if not c.ready():
            print('containerd did not start:\n' + c.proc.tail())
            return 1
        rc, out, err = c.ctr('images', 'import', docker_archive)
        if rc != 0:
            print('ctr images import: ' + err)
            return 1
        store = os.path.join(tmp, 'store')
        venv = dict(cx.env, VMCTR_STORE=store)
        rc = subprocess.run([vmctr_image, '--store', store, 'import', docker_archive, '--name',
                             'busybox:test'], env=venv, capture_output=True, text=True)
        if rc.returncode != 0:
            print('vmctr-image import: ' + rc.stderr)
            return 1

        variants = [
            ('vmctr-oci', lambda i: c.ctr_base + ['run', '--rm', '--runc-binary', vmctr_oci,
                                                  eng.IMAGE_REF, 'b-oci-%d' % i, 'true'], cx.env),
            ('runc', lambda i: c.ctr_base + ['run', '--rm', '--runc-binary', runc,
                                             eng.IMAGE_REF, 'b-runc-%d' % i, 'true'], cx.env),
            ('vmctr-run', lambda i: [vmctr_run, '--rm', '-q', '--network', 'none', '--image',
                                     'busybox:test', '--', 'true'], venv),
        ]
        times = {n: [] for n, _, _ in variants}
        errors = {}
        # One warm-up of each (page cache, the first snapshot), not counted.
        for name, argv, env in variants:
            _, e = timed(argv(0), env)
            if e:
                errors[name] = e
        for r in range(1, args.runs + 1):
            for name, argv, env in variants:
                dt, e = timed(argv(r), env)
                if dt is None:
                    errors.setdefault(name, e)
                    c.ctr('container', 'rm', 'b-%s-%d' % (name.split('-')[-1], r))
                else:
                    times[name].append(dt)
            print('round %d/%d: %s' % (r, args.runs, ', '.join(
                '%s %s' % (n, '%.3f' % times[n][-1] if len(times[n]) == r else 'failed')
                for n, _, _ in variants)))
            sys.stdout.flush()
        med = {n: statistics.median(v) if v else None for n, v in times.items()}

        def cell(v):
            return '%.3f' % v if v is not None else 'failed'

        def ratio(a, b):
            return '%.2f' % (med[a] / med[b]) if med[a] and med[b] else '-'
        print()
        print('| start of `true` | median s | min s | max s | runs |')
        print('|---|---|---|---|---|')
        labels = {'vmctr-oci': '`ctr run --rm --runc-binary vmctr-oci`',
                  'runc': '`ctr run --rm --runc-binary runc`',
                  'vmctr-run': '`vmctr-run --rm -q --network none`'}
        for n, v in times.items():
            print('| %s | %s | %s | %s | %d |' % (labels[n], cell(med[n]),
                                                 cell(min(v) if v else None),
                                                 cell(max(v) if v else None), len(v)))
        print()
        print('ratio vmctr-oci / runc: %s' % ratio('vmctr-oci', 'runc'))
        print('ratio vmctr-oci / vmctr-run: %s' % ratio('vmctr-oci', 'vmctr-run'))
        print('ratio vmctr-run / runc: %s' % ratio('vmctr-run', 'runc'))
        for n, e in errors.items():
            print('%s failed at least once: %s' % (n, e))
        return 0
    finally:
        for fn in reversed(cx.cleanups):
            try:
                fn()
            except Exception as ex:
                print('cleanup: %r' % ex)
        for d in reversed(cx.daemons):
            d.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('build', help='the build directory')
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--runtime', help='vmctr-oci (default: BUILD/examples/oci/vmctr-oci)')
    ap.add_argument('--kernel', default=os.environ.get('VMCTR_KERNEL') or
                    os.path.join(src_root, 'kernel', 'out', 'bzImage'))
    ap.add_argument('--inner', help=argparse.SUPPRESS)
    ap.add_argument('--uid', help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.kernel = os.path.abspath(args.kernel)
    if args.runtime:
        args.runtime = os.path.abspath(args.runtime)
    if args.inner:
        return inner(args)
    if os.geteuid() != 0:
        sys.exit('oci.py: needs root (namespaces, containerd)')
    for tool in ('unshare', 'containerd', 'ctr', 'runc', 'skopeo', 'busybox'):
        if not shutil.which(tool):
            sys.exit('oci.py: %s is not installed' % tool)
    tmp = tempfile.mkdtemp(prefix='vmctr-bench-oci-')
    os.chmod(tmp, 0o755)
    cmd = ['unshare', '--net', '--mount', '--pid', '--fork', '--kill-child=SIGTERM',
           '--mount-proc', '--propagation', 'private', '--', sys.executable,
           os.path.abspath(__file__), args.build, '--runs', str(args.runs), '--kernel',
           args.kernel, '--inner', tmp, '--uid', 'b%d' % os.getpid()]
    if args.runtime:
        cmd += ['--runtime', args.runtime]
    try:
        rc = subprocess.run(cmd, env=dict(os.environ, **{INNER_ENV: '1'})).returncode
    finally:
        eng = load_engines()
        cg = eng.cgroup_dirs('b%d' % os.getpid())
        eng.wait_for(lambda: eng.remove_cgroups(cg) or not any(os.path.exists(d) for d in cg),
                     15, 0.5)
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == '__main__':
    sys.exit(main())
