#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Pull a ~100 MB multi-layer image from Debian's docker-registry on
loopback (in a network namespace of its own): `vmctr-image pull` into a
fresh store against `skopeo copy docker://... oci:...` to the same disk, one
interleaved run, medians. Both verify every digest; vmctr-image also unpacks
the layers into the store (skopeo only writes blobs), so a third column
gives a local `vmctr-image import` of the same image (verify + unpack, no
network) for what the unpack alone costs.

usage: registry.py BUILD/examples/vmctr-image [--runs N] [--mib M] [--layers L]"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'registry'))
import regtest as rt  # noqa: E402


def timed(cmd):
    t = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit('%s failed: %s' % (cmd[0], p.stderr.strip()))
    return time.monotonic() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('vmctr_image')
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--mib', type=int, default=100)
    ap.add_argument('--layers', type=int, default=5)
    a = ap.parse_args()
    vi = os.path.abspath(a.vmctr_image)
    for p in ('docker-registry', 'skopeo'):
        if not shutil.which(p):
            raise SystemExit('needs ' + p)
    if not rt.in_own_netns([sys.executable] + sys.argv):
        raise SystemExit('needs a network namespace (unshare -n, as root)')
    work = tempfile.mkdtemp(prefix='vmctr-bench-registry-', dir=os.environ.get('TMPDIR'))
    reg = None
    try:
        layout = os.path.join(work, 'layout')
        per = a.mib * 1024 * 1024 // a.layers
        # Incompressible content: the layers stay ~100 MB on the wire.
        layers = [rt.make_layer({'l%d/blob' % i: os.urandom(per)}, i) for i in range(a.layers)]
        m, _ = rt.image_manifest(layout, layers, 'amd64' if os.uname().machine == 'x86_64'
                                 else 'arm64')
        rt.write_layout(layout, [(m, None)])
        size = sum(len(g) for g, _ in layers)
        reg = rt.start_registry(work, 5000)
        subprocess.run(['skopeo', 'copy', '--dest-tls-verify=false', 'oci:%s:latest' % layout,
                        'docker://127.0.0.1:5000/bench/img:1'], check=True, capture_output=True)
        ref = '127.0.0.1:5000/bench/img:1'
        res = {'vmctr-image pull': [], 'skopeo copy': [], 'vmctr-image import (local)': []}
        for i in range(a.runs):
            for k in res:
                out = os.path.join(work, 'out-%d' % i)
                shutil.rmtree(out, ignore_errors=True)
                if k == 'vmctr-image pull':
                    cmd = [vi, '--store', out, 'pull', ref, '--insecure']
                elif k == 'skopeo copy':
                    cmd = ['skopeo', 'copy', '--src-tls-verify=false', 'docker://' + ref,
                           'oci:%s:x' % out]
                else:
                    cmd = [vi, '--store', out, 'import', layout]
                subprocess.run(['sync'])
                res[k].append(timed(cmd))
                shutil.rmtree(out, ignore_errors=True)
        base = statistics.median(res['skopeo copy'])
        print('image: %d layers, %.1f MB compressed; %d interleaved runs, medians' %
              (a.layers, size / 1e6, a.runs))
        for k, v in res.items():
            med = statistics.median(v)
            print('%-28s %7.3f s  %6.1f MB/s  %.2fx skopeo' % (k, med, size / 1e6 / med,
                                                               med / base))
    finally:
        if reg:
            reg.kill()
            reg.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
