#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The root disk's size through vmctr-run: a copy-on-write root whose ext4
the guest grows to --rootfs-size (df in the container shows it, and more
than the image's own free space can be written), the image's ext4 never
written (checksums, also with two containers writing at once), and a
container's disk that stays small on the host whatever the image's size.
TAP on stdout.

usage: test_rootfs_size.py PATH/TO/vmctr-run
Needs VMCTR_TEST_KERNEL (meson's tap_env sets it).
"""
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from tap import Tap  # noqa: E402

MIB = 1 << 20


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def df_root(out):
    """(total, available) bytes of / from `df -k /` output, or None."""
    lines = out.strip().splitlines()
    if len(lines) < 2:
        return None
    f = lines[-1].split()
    try:
        return int(f[1]) * 1024, int(f[3]) * 1024
    except (IndexError, ValueError):
        return None


def main():
    exe = sys.argv[1]
    kernel = os.environ.get('VMCTR_TEST_KERNEL', '')
    if not os.path.exists(kernel):
        print('1..0 # SKIP no guest kernel (VMCTR_TEST_KERNEL)')
        return 77
    store = tempfile.mkdtemp(prefix='vmctr-rootfs-size-')
    env = dict(os.environ, VMCTR_KERNEL=kernel)
    t = Tap()

    def run(args, rm=True, name=None):
        cmd = [exe, '--store', store, '-q'] + (['--rm'] if rm else []) + \
            (['--name', name] if name else []) + args
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)

    try:
        # The image's own size: a disk asked smaller keeps it.
        p = run(['--rootfs-size', '1M', '--', 'df', '-k', '/'])
        small = df_root(p.stdout)
        t.ok(p.returncode == 0 and small is not None, 'a root disk asked smaller than the image boots',
             'rc %d, %r %r' % (p.returncode, p.stdout, p.stderr))
        images = glob.glob(os.path.join(store, 'snapshots', '*', 'rootfs.ext4'))
        t.eq(len(images), 1, 'the image has one ext4 form in the store')
        if small is None or len(images) != 1:
            return t.finish()
        image = images[0]
        image_size = os.path.getsize(image)
        before = sha256(image)
        t.ok(small[0] <= image_size, "without room to grow, / is the image's ext4",
             'df total %d, image %d' % (small[0], image_size))

        # --rootfs-size: df in the container shows it (ext4 keeps a few % for
        # its metadata), and the default is VMCTR_IMAGE_WRITABLE_DEFAULT_SIZE.
        for arg, size in (('2G', 2048 * MIB), (None, 8192 * MIB)):
            p = run((['--rootfs-size', arg] if arg else []) + ['--', 'df', '-k', '/'])
            got = df_root(p.stdout)
            t.ok(p.returncode == 0 and got is not None and 0.95 * size <= got[0] <= size,
                 'df shows the root disk grown to %s' % (arg or 'the default 8G'),
                 'rc %d, df %r, want about %d' % (p.returncode, p.stdout, size))

        # More than the image's free space: refused at the image's size, fine on a grown disk.
        need = small[1] // MIB + 32
        write = ['--', 'sh', '-c', 'dd if=/dev/zero of=/big bs=1M count=%d 2>/dev/null && sync && '
                 'ls -l /big' % need]
        p = run(['--rootfs-size', '1M'] + write)
        t.ok(p.returncode != 0, '%d MiB do not fit on the image-sized disk' % need,
             'rc %d %r' % (p.returncode, p.stdout))
        p = run(['--rootfs-size', '1G'] + write)
        t.ok(p.returncode == 0 and str(need * MIB) in p.stdout,
             '%d MiB (more than the image had free) fit on a 1G root' % need,
             'rc %d, %r %r' % (p.returncode, p.stdout, p.stderr))

        # A kept container: its disk is an overlay, small on the host, and
        # its files survive in it, not in the image.
        p = run(['--rootfs-size', '1G', '--', 'sh', '-c', 'echo kept > /kept && sync'], rm=False,
                name='kept')
        disk = os.path.join(store, 'containers', 'kept.ext4')
        st = os.stat(disk) if os.path.exists(disk) else None
        t.ok(p.returncode == 0 and st is not None and st.st_blocks * 512 < image_size,
             "a container's disk holds only its writes (%s bytes on the host, image %d)" %
             (st.st_blocks * 512 if st else '?', image_size), 'rc %d %r' % (p.returncode, p.stderr))
        if shutil.which('qemu-img') and st is not None:
            q = subprocess.run(['qemu-img', 'check', '-f', 'qcow2', disk], capture_output=True,
                               text=True)
            t.ok(q.returncode == 0, 'the kept disk checks clean after the guest wrote it', q.stdout)
        else:
            t.skip('the kept disk checks clean', 'qemu-img is not installed')
        if st is not None:
            os.unlink(disk)

        # Two containers writing at once over the same image.
        procs = [subprocess.Popen([exe, '--store', store, '-q', '--rm', '--', 'sh', '-c',
                                   'dd if=/dev/urandom of=/etc/w%d bs=1M count=16 2>/dev/null && '
                                   'rm -rf /bin/ls && sync' % i], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(2)]
        rcs = [pr.wait(timeout=300) for pr in procs]
        t.eq(rcs, [0, 0], 'two containers write and delete over one image at once')
        t.eq(sha256(image), before, "the image's ext4 is unchanged (sha256) after every container")
        p = run(['--', 'sh', '-c', 'test -e /bin/ls && ! test -e /etc/w0 && ! test -e /kept'])
        t.eq(p.returncode, 0, "a new container sees the image's files, none of the others' writes")
    finally:
        shutil.rmtree(store, ignore_errors=True)
    return t.finish()


if __name__ == '__main__':
    sys.exit(main())
