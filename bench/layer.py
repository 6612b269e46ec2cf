#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Layer apply vs GNU tar: builds a ~100 MB gzip layer (20000 small files
grouped by directory, as a tar of a real tree lists them, and 5 large ones;
data that compresses about 2:1) in a temp dir, then extracts it 5
times each with `tar -xzf` and with libvmctr (bench/layer-bench.c, built as
BUILD/bench/layer-bench) and prints the medians and their ratio.

    python3 bench/layer.py BUILD/bench/layer-bench [RUNS] [SCALE]

SCALE (default 1.0) multiplies the layer size. The temp dir is on the
filesystem of $TMPDIR (default /tmp); both extract there.
"""
import gzip
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time


def build(path, scale):
    rnd = random.Random(42)
    small, large = int(20000 * scale), 5
    text = bytes(rnd.choices(b'abcdefghijklmnop', k=1 << 20))  # 4 bits/byte: gzip halves it

    def data(n):
        out, left = [], n
        while left:
            k = min(left, 65536)
            o = rnd.randrange(0, len(text) - k + 1)
            out.append(text[o:o + k])
            left -= k
        return b''.join(out)
    with gzip.open(path, 'wb', compresslevel=1) as gz, \
            tarfile.open(fileobj=gz, mode='w', format=tarfile.PAX_FORMAT) as t:
        def add(name, data=None, kind=tarfile.REGTYPE):
            ti = tarfile.TarInfo(name)
            ti.type = kind
            ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            ti.mtime = 1700000000
            ti.size = len(data) if data is not None else 0
            t.addfile(ti, io.BytesIO(data) if data else None)
        per_dir = max(1, small // 200)
        for i in range(small):
            if i % per_dir == 0:
                add('usr/share/d%03d' % (i // per_dir), kind=tarfile.DIRTYPE)
            add('usr/share/d%03d/f%05d' % (i // per_dir, i), data(rnd.randint(64, 8192)))
        for i in range(large):
            add('usr/lib/big%d.so' % i, data(int((20 << 20) * scale)))
    return os.path.getsize(path)


def timed(cmd):
    """Wall seconds, and CPU seconds (user + sys, children included)."""
    t, c = time.monotonic(), os.times()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    c2 = os.times()
    return time.monotonic() - t, (c2.children_user - c.children_user +
                                  c2.children_system - c.children_system)


def main():
    driver = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    scale = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    tmp = tempfile.mkdtemp(prefix='vmctr-bench-layer-')
    try:
        blob = os.path.join(tmp, 'layer.tar.gz')
        size = build(blob, scale)
        print('layer: %.1f MB gzip' % (size / 1e6))
        res = {'tar -xzf': [], 'libvmctr': []}
        for _ in range(runs):
            for name in res:
                out = os.path.join(tmp, 'out')
                shutil.rmtree(out, ignore_errors=True)
                os.mkdir(out)
                subprocess.run(['sync'])
                cmd = ['tar', '-xzf', blob, '-C', out] if name == 'tar -xzf' else [driver, blob, out]
                res[name].append(timed(cmd))
        med = {k: statistics.median(w for w, _ in v) for k, v in res.items()}
        cpu = {k: statistics.median(c for _, c in v) for k, v in res.items()}
        for k, v in res.items():
            print('%-9s median wall %.3f s, cpu %.3f s  (wall runs: %s)' %
                  (k, med[k], cpu[k], ' '.join('%.3f' % w for w, _ in v)))
        print('ratio libvmctr / tar: wall %.2f, cpu %.2f' %
              (med['libvmctr'] / med['tar -xzf'], cpu['libvmctr'] / cpu['tar -xzf']))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


main()
