#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the fuzz corpus of tests/image/layer/fuzz-layer.c: small layers, good
ones (tests/corpus/layer-good) and hostile or broken ones
(tests/corpus/layer-bad). Deterministic: run it again to regenerate.

    python3 tests/image/layer/gen-corpus.py [SRCDIR]
"""
import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..', '..')
GOOD = os.path.join(ROOT, 'tests', 'corpus', 'layer-good')
BAD = os.path.join(ROOT, 'tests', 'corpus', 'layer-bad')


def info(name, kind=tarfile.REGTYPE, data=b'', mode=0o644, link=''):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.mtime = 1000000000
    ti.linkname = link
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    return ti, data


def tar(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=fmt) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if ti.size else None)
    return buf.getvalue()


def gz(b):
    return gzip.compress(b, mtime=0)


def zst(b):
    if not shutil.which('zstd'):
        return None
    return subprocess.run(['zstd', '-q', '-c', '-3'], input=b, stdout=subprocess.PIPE,
                          check=True).stdout


tarfile.RECORDSIZE = 512  # no padding to 10 KiB: small inputs fuzz faster
D, F, L, H = tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE

basic = tar([info('./', D, mode=0o755), info('etc/', D), info('etc/hosts', F, b'127.0.0.1 x\n'),
             info('etc/link', L, link='hosts'), info('etc/hard', H, link='etc/hosts'),
             info('usr/lib/deep', F, b'implicit parents'), info('fifo', tarfile.FIFOTYPE),
             info('dev/null', tarfile.CHRTYPE), info('empty', F)])
whiteouts = tar([info('a/', D), info('a/x', F, b'x'), info('a/.wh.y', F),
                 info('b/', D), info('b/keep', F, b'k'), info('b/.wh..wh..opq', F),
                 info('b/after', F, b'a'), info('.wh.gone', F)])
inroot = tar([info('usr/lib/', D), info('lib', L, link='usr/lib'), info('lib/libc.so', F, b'elf'),
              info('three', H, link='lib/libc.so')])
gnu = tar([info('g' * 150, F, b'long name'), info('l', L, link='t' * 150)], tarfile.GNU_FORMAT)

good = {
    'basic.tar': basic, 'basic.tar.gz': gz(basic), 'basic.tar.zst': zst(basic),
    'whiteouts.tar': whiteouts, 'inroot-symlink.tar': inroot, 'gnu-longnames.tar': gnu,
    'empty.tar': b'\0' * 1024,
}

bad = {
    'absolute.tar': tar([info('/tmp/vmctr-pwned', F, b'x')]),
    'dotdot.tar': tar([info('a/../../vmctr-pwned', F, b'x')]),
    'symlink-abs.tar': tar([info('a', L, link='/tmp'), info('a/vmctr-pwned', F, b'x')]),
    'symlink-up.tar': tar([info('a', L, link='../..'), info('a/vmctr-pwned', F, b'x')]),
    'symlink-chain.tar': tar([info('m', L, link='..'), info('a', L, link='m'),
                              info('a/vmctr-pwned/', D)]),
    'hardlink-out.tar': tar([info('h', H, link='../vmctr-pwned')]),
    'hardlink-via-symlink.tar': tar([info('s', L, link='..'), info('h', H, link='s/x')]),
    'whiteout-out.tar': tar([info('s', L, link='..'), info('s/.wh.root', F)]),
    'opaque-out.tar': tar([info('s', L, link='/tmp'), info('s/.wh..wh..opq', F)]),
    'replace-dir-by-link.tar': tar([info('etc/', D), info('etc', L, link='..'),
                                    info('etc/vmctr-pwned', F, b'x')]),
    'truncated.tar.gz': gz(basic)[:200],
    'not-a-tar.bin': b'hello, this is not a layer\n' * 20,
    'xz-magic.bin': b'\xfd7zXZ\x00' + b'\0' * 64,
}
# A header declaring 2 GiB with no data after it.
huge = bytearray(tar([info('huge', F, b'')])[:512])
huge[124:136] = b'%011o\0' % (2 << 30)
huge[148:156] = b' ' * 8
huge[148:156] = b'%06o\0 ' % sum(huge)
bad['huge-declared.tar'] = bytes(huge)

# Resource bombs and special files where a regular file is expected (see
# doc/security-images.md): the replay applies them under the fuzzer's limits.
fifo = info('etc/passwd', tarfile.FIFOTYPE)
dev = info('etc/passwd', tarfile.CHRTYPE)
dev[0].devmajor, dev[0].devminor = 1, 3
bad['fifo-passwd.tar'] = tar([info('etc/', D), fifo])
bad['device-passwd.tar'] = tar([info('etc/', D), dev])
# 96 MiB of zeros in about 100 KiB: past the replay's 64 MiB limit.
bomb = io.BytesIO()
with tarfile.open(fileobj=bomb, mode='w', format=tarfile.GNU_FORMAT) as t:
    ti, _ = info('zeros', F)
    ti.size = 96 << 20
    t.addfile(ti, io.BytesIO(bytes(96 << 20)))
bad['gzip-bomb.tar.gz'] = gzip.compress(bomb.getvalue(), 9, mtime=0)
# More entries than the replay's limit of 4096.
bad['many-entries.tar.gz'] = gzip.compress(
    tar([info('f%05d' % i, F) for i in range(5000)], tarfile.GNU_FORMAT), 9, mtime=0)
# A PAX sparse file declaring 1 TiB with 8 bytes of data (GNU tar: Python's
# tarfile cannot write sparse entries).
if shutil.which('tar'):
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, 'big')
        with open(big, 'wb') as f:
            f.write(b'data')
            f.truncate(1 << 40)
            f.seek((1 << 40) - 4096)
            f.write(b'tail')
        os.utime(big, (1000000000, 1000000000))
        bad['sparse-1tib.tar'] = subprocess.run(
            ['tar', '--sparse', '--posix', '--numeric-owner', '--owner=0', '--group=0',
             '--pax-option=delete=atime,delete=ctime,exthdr.name=%d/PaxHeaders/%f',
             '-C', tmp, '-cf', '-', 'big'], check=True, capture_output=True).stdout

for d, files in ((GOOD, good), (BAD, bad)):
    os.makedirs(d, exist_ok=True)
    for name, data in files.items():
        if data is not None:
            with open(os.path.join(d, name), 'wb') as f:
                f.write(data)
