#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Python ctypes client: runs a container in its own VM and reads its output
(TAP; stdlib only). The binding proof of issue 5: opaque handles, options
structs, fds for stdio, all through ctypes with declared prototypes.

usage: test_container.py PATH/TO/libvmctr.so
Needs VMCTR_TEST_KERNEL (a guest kernel) and VMCTR_GUEST_INIT (vmctr-init).
"""
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
from ctypes import (POINTER, Structure, byref, c_char_p, c_int, c_int32, c_size_t, c_uint32,
                    c_uint64, c_void_p)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))
sys.path.insert(0, HERE)
from tap import Tap  # noqa: E402
from test_ffi import maybe_reexec  # noqa: E402

STDIO_NULL = -1


class Error(Structure):
    _fields_ = [('code', c_int32), ('os_errno', c_int32), ('message', c_char_p)]


class ImportOptions(Structure):
    _fields_ = [('version', c_uint32), ('flags', c_uint32), ('architecture', c_char_p),
                ('progress', c_void_p), ('userdata', c_void_p)]


class BuildOptions(Structure):
    _fields_ = [('version', c_uint32), ('flags', c_uint32), ('entrypoint', c_void_p),
                ('cmd', POINTER(c_char_p)), ('env', POINTER(c_char_p)), ('workdir', c_char_p),
                ('user', c_char_p), ('architecture', c_char_p), ('ref_name', c_char_p),
                ('progress', c_void_p), ('userdata', c_void_p)]


def bind(lib):
    P = c_void_p
    PP = POINTER(c_void_p)
    protos = {
        'vmctr_error_last': (POINTER(Error), []),
        'vmctr_image_store_open': (c_int, [PP, c_char_p, c_uint32]),
        'vmctr_image_store_free': (None, [P]),
        'vmctr_image_build_options_init': (c_int, [POINTER(BuildOptions), c_uint32]),
        'vmctr_image_build_from_dir': (c_int, [c_char_p, c_char_p, POINTER(BuildOptions)]),
        'vmctr_image_store_import': (c_int, [P, c_char_p, P, PP]),
        'vmctr_image_free': (None, [P]),
        'vmctr_image_create_writable': (c_int, [P, c_char_p, P, POINTER(c_int32)]),
        'vmctr_mount_new_block': (c_int, [PP, c_char_p, c_char_p]),
        'vmctr_mount_free': (None, [P]),
        'vmctr_bootcfg_new': (c_int, [PP]),
        'vmctr_bootcfg_set_kernel': (c_int, [P, c_char_p]),
        'vmctr_bootcfg_free': (None, [P]),
        'vmctr_process_config_new': (c_int, [PP]),
        'vmctr_process_config_set_args': (c_int, [P, POINTER(c_char_p), c_size_t]),
        'vmctr_process_config_set_env': (c_int, [P, c_char_p, c_char_p]),
        'vmctr_process_config_set_stdio': (c_int, [P, c_int32, c_int32, c_int32]),
        'vmctr_process_config_free': (None, [P]),
        'vmctr_container_config_new': (c_int, [PP]),
        'vmctr_container_config_set_process': (c_int, [P, P]),
        'vmctr_container_config_set_image': (c_int, [P, P]),
        'vmctr_container_config_free': (None, [P]),
        'vmctr_container_new': (c_int, [PP, c_char_p, P, P, P]),
        'vmctr_container_start': (c_int, [P]),
        'vmctr_container_init_process': (P, [P]),
        'vmctr_process_wait': (c_int, [P, c_int32, POINTER(c_int32), POINTER(c_int32)]),
        'vmctr_process_state': (c_int32, [P]),
        'vmctr_container_state': (c_int32, [P]),
        'vmctr_container_stop': (c_int, [P, c_uint32]),
        'vmctr_container_free': (None, [P]),
    }
    for name, (res, args) in protos.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args


def busybox_rootfs(root):
    os.makedirs(os.path.join(root, 'bin'))
    os.makedirs(os.path.join(root, 'etc'))
    shutil.copy('/bin/busybox', os.path.join(root, 'bin', 'busybox'))
    for applet in ('sh', 'echo', 'cat', 'uname'):
        os.symlink('busybox', os.path.join(root, 'bin', applet))
    with open(os.path.join(root, 'etc', 'passwd'), 'w') as f:
        f.write('root:x:0:0:root:/root:/bin/sh\n')


def main():
    so = sys.argv[1]
    maybe_reexec(so)
    kernel = os.environ.get('VMCTR_TEST_KERNEL', '')
    if not kernel or not os.path.exists(kernel) or not os.path.exists('/bin/busybox'):
        print('1..0 # SKIP needs VMCTR_TEST_KERNEL and busybox-static')
        return 0
    lib = ctypes.CDLL(so)
    bind(lib)
    t = Tap()

    def check(rc, what):
        if rc < 0:
            e = lib.vmctr_error_last().contents
            raise RuntimeError('%s: %d %s' % (what, rc, e.message.decode()))
        return rc

    tmp = tempfile.mkdtemp(prefix='vmctr-pyffi-')
    objs = {}
    try:
        busybox_rootfs(os.path.join(tmp, 'rootfs'))
        opts = BuildOptions()
        check(lib.vmctr_image_build_options_init(byref(opts), 1), 'build options')
        cmd = (c_char_p * 2)(b'sh', None)
        opts.cmd = cmd
        layout = os.path.join(tmp, 'layout').encode()
        check(lib.vmctr_image_build_from_dir(os.path.join(tmp, 'rootfs').encode(), layout,
                                             byref(opts)), 'build image')
        t.ok(os.path.exists(os.path.join(tmp, 'layout', 'index.json')), 'image built from a directory')

        for k in ('store', 'image', 'mount', 'boot', 'proc', 'cfg', 'ct'):
            objs[k] = c_void_p()
        check(lib.vmctr_image_store_open(byref(objs['store']), os.path.join(tmp, 'store').encode(), 0),
              'store')
        check(lib.vmctr_image_store_import(objs['store'], layout, None, byref(objs['image'])), 'import')
        disk = os.path.join(tmp, 'disk.ext4').encode()
        form = c_int32(0)
        check(lib.vmctr_image_create_writable(objs['image'], disk, None, byref(form)), 'writable')
        check(lib.vmctr_mount_new_block(byref(objs['mount']), disk, None), 'mount')
        check(lib.vmctr_bootcfg_new(byref(objs['boot'])), 'bootcfg')
        check(lib.vmctr_bootcfg_set_kernel(objs['boot'], kernel.encode()), 'kernel')

        rfd, wfd = os.pipe()
        check(lib.vmctr_process_config_new(byref(objs['proc'])), 'process config')
        args = (c_char_p * 3)(b'sh', b'-c', b'echo "hello from $WHO in $(uname -s)"; exit 5')
        check(lib.vmctr_process_config_set_args(objs['proc'], args, 3), 'args')
        check(lib.vmctr_process_config_set_env(objs['proc'], b'WHO', b'python'), 'env')
        check(lib.vmctr_process_config_set_stdio(objs['proc'], STDIO_NULL, wfd, STDIO_NULL), 'stdio')
        check(lib.vmctr_container_config_new(byref(objs['cfg'])), 'container config')
        check(lib.vmctr_container_config_set_process(objs['cfg'], objs['proc']), 'set process')
        check(lib.vmctr_container_config_set_image(objs['cfg'], objs['image']), 'set image')

        check(lib.vmctr_container_new(byref(objs['ct']), b'pyffi', objs['mount'], objs['boot'],
                                      objs['cfg']), 'create')
        t.eq(lib.vmctr_container_state(objs['ct']), 1, 'state CREATED after create')
        check(lib.vmctr_container_start(objs['ct']), 'start')
        os.close(wfd)  # duplicated at start: the library keeps its own
        code, sig = c_int32(-1), c_int32(-1)
        init = lib.vmctr_container_init_process(objs['ct'])
        t.ok(bool(init), 'the init process after start')
        check(lib.vmctr_process_wait(init, 60000, byref(code), byref(sig)), 'wait')
        t.eq(lib.vmctr_process_state(init), 2, 'init process EXITED after wait')
        t.eq((code.value, sig.value), (5, -1), 'exit code 5 crosses the FFI')
        check(lib.vmctr_container_stop(objs['ct'], 1000), 'stop')
        out = b''
        while True:
            chunk = os.read(rfd, 4096)
            if not chunk:
                break
            out += chunk
        os.close(rfd)
        t.eq(out, b'hello from python in Linux\n', 'stdout read from our pipe')
        t.eq(lib.vmctr_container_state(objs['ct']), 4, 'state STOPPED after stop')
    except Exception as e:  # a failure is a TAP failure with the reason
        t.ok(False, 'container through ctypes', str(e))
    finally:
        frees = [('ct', 'vmctr_container_free'), ('cfg', 'vmctr_container_config_free'),
                 ('proc', 'vmctr_process_config_free'), ('boot', 'vmctr_bootcfg_free'),
                 ('mount', 'vmctr_mount_free'), ('image', 'vmctr_image_free'),
                 ('store', 'vmctr_image_store_free')]
        for k, fn in frees:
            if objs.get(k):
                getattr(lib, fn)(objs[k])
        shutil.rmtree(tmp, ignore_errors=True)
    return t.finish()


if __name__ == '__main__':
    sys.exit(main())
