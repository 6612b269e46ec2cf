#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Python ctypes binding proof for libvmctr (TAP output; stdlib only).

usage: test_ffi.py PATH/TO/libvmctr.so

Declares argtypes/restype for every function it calls, as a real binding
would, and exercises the ABI from Python: versions, error codes and the
per-thread error detail, capability probing and its JSON, a boot-config round
trip through a file, and the log callback with its destroy notifier.

Against a library built with -Db_sanitize=address the interpreter must load
libasan first; the script then re-executes itself with LD_PRELOAD set to the
runtime the library needs (leak detection off: the interpreter's own
allocations are not ours to judge).
"""
import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from ctypes import (CFUNCTYPE, POINTER, Structure, byref, c_char_p, c_int, c_int32, c_size_t,
                    c_uint32, c_uint64, c_void_p)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from tap import Tap  # noqa: E402  (tests/tap.py)

REEXEC_MARK = 'VMCTR_FFI_SANITIZER_REEXEC'

# Error codes of <vmctr/error.h>.
CODES = {
    'VMCTR_EGENERIC': -1, 'VMCTR_EINVAL': -2, 'VMCTR_ENOMEM': -3, 'VMCTR_ENOENT': -4,
    'VMCTR_EEXIST': -5, 'VMCTR_EBUSY': -6, 'VMCTR_EUNSUPPORTED': -7, 'VMCTR_ETIMEDOUT': -8,
    'VMCTR_EIO': -9, 'VMCTR_EPERM': -10, 'VMCTR_EPARSE': -11, 'VMCTR_ETOOBIG': -12,
    'VMCTR_ESTATE': -13, 'VMCTR_EPROTO': -14, 'VMCTR_ECANCELED': -15,
}
EINVAL, ENOENT, EPARSE = -2, -4, -11
LOG_ERROR, LOG_DEBUG = 0, 3
CAPS_PROBE_DEFAULT = 0
CAP_FIRST, CAP_LAST = 1, 8
ACCEL_NAMES = {0: b'none', 1: b'tcg', 2: b'kvm', 3: b'hvf'}
BACKEND_NAMES = {0: b'none', 1: b'qemu', 2: b'vz'}


# --- sanitizer builds ---------------------------------------------------------

def sanitizer_runtime(so):
    """The libasan that `so` needs and that is not loaded yet, or None."""
    try:
        with open('/proc/self/maps') as f:
            if 'libasan' in f.read():
                return None
    except OSError:
        return None
    try:
        out = subprocess.run(['ldd', so], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True).stdout
    except OSError:
        return None
    m = re.search(r'^\s*libasan\.so\S*\s+=>\s+(\S+)', out, re.M)
    if m and os.path.exists(m.group(1)):
        return m.group(1)
    if 'libasan' in out:
        for cc in ('gcc', 'cc'):
            if shutil.which(cc):
                path = subprocess.run([cc, '-print-file-name=libasan.so'], stdout=subprocess.PIPE,
                                      universal_newlines=True).stdout.strip()
                if os.path.isabs(path) and os.path.exists(path):
                    return path
        return 'missing'
    return None


def maybe_reexec(so):
    rt = sanitizer_runtime(so)
    if rt is None:
        return
    if rt == 'missing' or os.environ.get(REEXEC_MARK):
        print('1..0 # SKIP %s is built with AddressSanitizer and libasan could not be preloaded '
              'into the Python interpreter' % os.path.basename(so))
        sys.exit(0)
    env = dict(os.environ)
    env[REEXEC_MARK] = '1'
    env['LD_PRELOAD'] = rt + (' ' + env['LD_PRELOAD'] if env.get('LD_PRELOAD') else '')
    # The interpreter's allocations are not libvmctr's leaks.
    env['ASAN_OPTIONS'] = (env.get('ASAN_OPTIONS', '') + ':detect_leaks=0').lstrip(':')
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


# --- TAP ------------------------------------------------------------------------

# --- the binding ------------------------------------------------------------------

class vmctr_error(Structure):
    _fields_ = [('code', c_int32), ('os_errno', c_int32), ('message', c_char_p)]


class vmctr_caps(Structure):
    pass  # opaque


class vmctr_bootcfg(Structure):
    pass  # opaque


caps_p = POINTER(vmctr_caps)
bootcfg_p = POINTER(vmctr_bootcfg)
LOG_FN = CFUNCTYPE(None, c_int32, c_char_p, c_char_p, c_void_p)
DESTROY_FN = CFUNCTYPE(None, c_void_p)

# name: (restype, argtypes). Strings the library allocates come back as
# c_void_p, so that they can be handed to vmctr_free().
SIGNATURES = {
    'vmctr_version': (c_uint32, []),
    'vmctr_version_string': (c_char_p, []),
    'vmctr_has_feature': (c_int, [c_char_p]),
    'vmctr_strerror': (c_char_p, [c_int]),
    'vmctr_error_last': (POINTER(vmctr_error), []),
    'vmctr_error_clear': (None, []),
    'vmctr_free': (None, [c_void_p]),
    'vmctr_strv_free': (None, [POINTER(c_char_p)]),
    'vmctr_log_set_handler': (c_int, [c_int32, LOG_FN, c_void_p, DESTROY_FN]),
    'vmctr_caps_probe': (c_int, [POINTER(caps_p), c_uint32]),
    'vmctr_caps_free': (None, [caps_p]),
    'vmctr_caps_has': (c_int, [caps_p, c_uint32, POINTER(c_char_p)]),
    'vmctr_caps_backend': (c_int32, [caps_p]),
    'vmctr_caps_accelerator': (c_int32, [caps_p, POINTER(c_char_p)]),
    'vmctr_accelerator_name': (c_char_p, [c_int32]),
    'vmctr_backend_name': (c_char_p, [c_int32]),
    'vmctr_caps_host_cpus': (c_uint32, [caps_p]),
    'vmctr_caps_host_memory': (c_uint64, [caps_p]),
    'vmctr_caps_max_vcpus': (c_uint32, [caps_p]),
    'vmctr_caps_max_memory': (c_uint64, [caps_p]),
    'vmctr_caps_to_json': (c_int, [caps_p, POINTER(c_void_p)]),
    'vmctr_bootcfg_new': (c_int, [POINTER(bootcfg_p)]),
    'vmctr_bootcfg_free': (None, [bootcfg_p]),
    'vmctr_bootcfg_set_kernel': (c_int, [bootcfg_p, c_char_p]),
    'vmctr_bootcfg_kernel': (c_char_p, [bootcfg_p]),
    'vmctr_bootcfg_initfs': (c_char_p, [bootcfg_p]),
    'vmctr_bootcfg_set_cmdline': (c_int, [bootcfg_p, POINTER(c_char_p), c_size_t]),
    'vmctr_bootcfg_add_cmdline_arg': (c_int, [bootcfg_p, c_char_p]),
    'vmctr_bootcfg_cmdline_count': (c_size_t, [bootcfg_p]),
    'vmctr_bootcfg_cmdline_arg': (c_char_p, [bootcfg_p, c_size_t]),
    'vmctr_bootcfg_cmdline_string': (c_int, [bootcfg_p, POINTER(c_void_p)]),
    'vmctr_bootcfg_set_cpus': (c_int, [bootcfg_p, c_uint32]),
    'vmctr_bootcfg_cpus': (c_uint32, [bootcfg_p]),
    'vmctr_bootcfg_set_memory': (c_int, [bootcfg_p, c_uint64]),
    'vmctr_bootcfg_memory': (c_uint64, [bootcfg_p]),
    'vmctr_bootcfg_set_nested_virtualization': (c_int, [bootcfg_p, c_int32]),
    'vmctr_bootcfg_nested_virtualization': (c_int32, [bootcfg_p]),
    'vmctr_bootcfg_rosetta': (c_int32, [bootcfg_p]),
    'vmctr_bootcfg_set': (c_int, [bootcfg_p, c_char_p, c_char_p]),
    'vmctr_bootcfg_get': (c_int, [bootcfg_p, c_char_p, POINTER(c_void_p)]),
    'vmctr_bootcfg_keys': (c_int, [bootcfg_p, POINTER(POINTER(c_char_p))]),
    'vmctr_bootcfg_to_json': (c_int, [bootcfg_p, POINTER(c_void_p)]),
    'vmctr_bootcfg_from_json': (c_int, [POINTER(bootcfg_p), c_char_p, c_size_t]),
    'vmctr_bootcfg_save': (c_int, [bootcfg_p, c_char_p]),
    'vmctr_bootcfg_load': (c_int, [POINTER(bootcfg_p), c_char_p]),
}


class Lib:
    """Functions of the .so with their declared types; missing ones are recorded."""

    def __init__(self, cdll):
        self.missing = []
        for name, (restype, argtypes) in SIGNATURES.items():
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                self.missing.append(name)
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name[len('vmctr_'):], fn)

    def __getattr__(self, name):
        raise AttributeError('vmctr_%s is not exported by the library' % name)

    def take_string(self, ptr):
        """Copy a library-allocated string and release it with vmctr_free()."""
        if not ptr.value:
            return None
        try:
            return ctypes.string_at(ptr.value).decode('utf-8')
        finally:
            self.free(ptr)

    def last(self):
        e = self.error_last()
        return e.contents if e else None


# --- the tests ---------------------------------------------------------------------

def test_version(tap, L):
    v = L.version()
    s = L.version_string()
    tap.ok(s is not None, 'vmctr_version_string() is not NULL')
    tap.eq(s, ('%d.%d.%d' % (v >> 16, (v >> 8) & 0xff, v & 0xff)).encode(),
           'vmctr_version_string() matches vmctr_version() 0x%06x' % v)
    # The headers the build generated must agree with the library.
    build = os.environ.get('VMCTR_TEST_BUILDDIR')
    hdr = os.path.join(os.path.dirname(build), 'include', 'vmctr', 'version.h') if build else ''
    if hdr and os.path.exists(hdr):
        with open(hdr) as f:
            m = re.search(r'#define\s+VMCTR_VERSION_STRING\s+"([^"]*)"', f.read())
        tap.eq(s, m.group(1).encode() if m else None,
               'vmctr_version_string() equals VMCTR_VERSION_STRING of the generated version.h')
    tap.eq(L.has_feature(b'no.such.feature'), 0, 'vmctr_has_feature() of an unknown name is 0')
    tap.eq(L.has_feature(None), EINVAL, 'vmctr_has_feature(NULL) is VMCTR_EINVAL')
    tap.eq(L.has_feature(b'bootcfg'), 1, 'vmctr_has_feature("bootcfg") is 1')


def test_errors(tap, L):
    unknown = L.strerror(-12345)
    tap.ok(unknown, 'vmctr_strerror() of an unknown code is not empty (%r)' % unknown)
    texts = {}
    bad = []
    for name, code in sorted(CODES.items(), key=lambda kv: -kv[1]):
        t = L.strerror(code)
        if not t or t == unknown:
            bad.append('%s (%d): %r' % (name, code, t))
        texts[code] = t
    tap.ok(not bad, 'vmctr_strerror() names every code VMCTR_EGENERIC..VMCTR_ECANCELED',
           '\n'.join(bad))
    tap.eq(len(set(texts.values())), len(CODES), 'the %d error strings are distinct' % len(CODES))

    L.error_clear()
    e = L.error_last()
    tap.ok(bool(e), 'vmctr_error_last() is not NULL after vmctr_error_clear()')
    if e:
        tap.ok(e.contents.code == 0 and e.contents.message,
               'a cleared error has code 0 and a message (%r)' % e.contents.message)

    out = caps_p()
    rc = L.caps_probe(None, CAPS_PROBE_DEFAULT)
    tap.eq(rc, EINVAL, 'vmctr_caps_probe(NULL, 0) returns VMCTR_EINVAL')
    e = L.last()
    tap.ok(e is not None and e.code == EINVAL and e.message,
           'vmctr_error_last() then has code VMCTR_EINVAL and a message (%r)'
           % (e.message if e else None))
    rc = L.caps_probe(byref(out), 0x80000000)
    tap.eq(rc, EINVAL, 'vmctr_caps_probe() with an unknown flag bit returns VMCTR_EINVAL')
    tap.ok(not out, '*out is left untouched on failure')
    e = L.last()
    tap.ok(e is not None and e.code == EINVAL and e.message,
           'the unknown-flag failure has a message (%r)' % (e.message if e else None))
    if out:
        L.caps_free(out)


def find(d, *paths):
    for path in paths:
        cur = d
        for key in path:
            if not isinstance(cur, dict) or key not in cur:
                break
            cur = cur[key]
        else:
            return cur
    return None


def test_caps(tap, L):
    caps = caps_p()
    rc = L.caps_probe(byref(caps), CAPS_PROBE_DEFAULT)
    if not tap.ok(rc == 0 and bool(caps), 'vmctr_caps_probe(&caps, 0) succeeds',
                  'rc=%d: %r' % (rc, L.last() and L.last().message)):
        return
    try:
        why = c_char_p()
        accel = L.caps_accelerator(caps, byref(why))
        tap.ok(accel in ACCEL_NAMES, 'the accelerator is a VMCTR_ACCEL_* value (%d)' % accel)
        tap.eq(L.accelerator_name(accel), ACCEL_NAMES.get(accel, b'unknown'),
               'vmctr_accelerator_name() names it')
        tap.ok(why.value, 'the accelerator comes with a reason (%r)' % why.value)
        backend = L.caps_backend(caps)
        tap.ok(backend in BACKEND_NAMES, 'the backend is a VMCTR_BACKEND_* value (%d)' % backend)
        tap.eq(L.backend_name(backend), BACKEND_NAMES.get(backend, b'unknown'),
               'vmctr_backend_name() names it')
        tap.eq(L.accelerator_name(99), b'unknown', 'vmctr_accelerator_name(99) is "unknown"')

        bad = []
        for cap in range(CAP_FIRST, CAP_LAST + 1):
            reason = c_char_p()
            r = L.caps_has(caps, cap, byref(reason))
            if r not in (0, 1) or not reason.value:
                bad.append('cap %d: %d, reason %r' % (cap, r, reason.value))
        tap.ok(not bad, 'vmctr_caps_has() answers 0 or 1 with a reason for every VMCTR_CAP_*',
               '\n'.join(bad))
        tap.eq(L.caps_has(caps, 999, None), EINVAL, 'vmctr_caps_has() of an unknown cap is EINVAL')

        cpus = L.caps_host_cpus(caps)
        ncpu = os.cpu_count() or 0
        tap.ok(0 < cpus <= max(ncpu, 1), 'host CPUs %d are in 1..os.cpu_count()=%d' % (cpus, ncpu))
        tap.ok(L.caps_host_memory(caps) > 0, 'host memory is > 0')
        tap.ok(0 < L.caps_max_vcpus(caps) <= cpus or L.caps_max_vcpus(caps) == 0,
               'max vCPUs %d do not exceed host CPUs' % L.caps_max_vcpus(caps))

        ptr = c_void_p()
        rc = L.caps_to_json(caps, byref(ptr))
        tap.eq(rc, 0, 'vmctr_caps_to_json() succeeds')
        text = L.take_string(ptr)
        try:
            doc = json.loads(text)
        except (TypeError, ValueError) as e:
            tap.ok(False, 'the capability JSON parses', '%s\n%r' % (e, text))
            return
        tap.ok(isinstance(doc, dict), 'the capability JSON is an object')
        tap.eq(find(doc, ('host', 'cpus'), ('host_cpus',)), cpus,
               'the JSON host CPUs equal vmctr_caps_host_cpus()')
        tap.eq(find(doc, ('accelerator', 'name'), ('accelerator',)),
               ACCEL_NAMES.get(accel, b'?').decode(), 'the JSON accelerator equals the getter')
        tap.eq(find(doc, ('backend', 'name'), ('backend',)),
               BACKEND_NAMES.get(backend, b'?').decode(), 'the JSON backend equals the getter')
        tap.eq(L.caps_to_json(None, byref(ptr)), EINVAL, 'vmctr_caps_to_json(NULL) is EINVAL')
    finally:
        L.caps_free(caps)
        L.caps_free(None)


def get_key(L, cfg, key):
    ptr = c_void_p()
    rc = L.bootcfg_get(cfg, key.encode(), byref(ptr))
    return rc, (L.take_string(ptr) if rc == 0 else None)


def snapshot(L, cfg):
    """Everything the getters say about a builder."""
    keys = POINTER(c_char_p)()
    n = L.bootcfg_keys(cfg, byref(keys))
    names = []
    if n >= 0 and keys:
        i = 0
        while keys[i] is not None:
            names.append(keys[i].decode())
            i += 1
        L.strv_free(keys)
    return {
        'kernel': L.bootcfg_kernel(cfg),
        'initfs': L.bootcfg_initfs(cfg),
        'cmdline': [L.bootcfg_cmdline_arg(cfg, i) for i in range(L.bootcfg_cmdline_count(cfg))],
        'cpus': L.bootcfg_cpus(cfg),
        'memory': L.bootcfg_memory(cfg),
        'nested': L.bootcfg_nested_virtualization(cfg),
        'rosetta': L.bootcfg_rosetta(cfg),
        'keys': (n, names),
        'note': get_key(L, cfg, 'com.example.note'),
    }


def to_json(L, cfg):
    ptr = c_void_p()
    rc = L.bootcfg_to_json(cfg, byref(ptr))
    return rc, L.take_string(ptr) if rc == 0 else None


def test_bootcfg(tap, L):
    cfg = bootcfg_p()
    loaded = bootcfg_p()
    parsed = bootcfg_p()
    tmpdir = tempfile.mkdtemp(prefix='vmctr-ffi-')
    note = 'hello, w\u00f6rld \u2713'
    try:
        if not tap.eq(L.bootcfg_new(byref(cfg)), 0, 'vmctr_bootcfg_new() succeeds') or not cfg:
            return
        tap.eq(L.bootcfg_cpus(cfg), 1, 'a new builder has 1 vCPU')
        tap.eq(L.bootcfg_memory(cfg), 512 << 20, 'a new builder has 512 MiB')

        steps = [
            ('set_kernel', L.bootcfg_set_kernel(cfg, b'/var/lib/vmctr/vmlinux')),
            ('set initfs', L.bootcfg_set(cfg, b'initfs', b'/var/lib/vmctr/initfs.cpio.gz')),
            ('set_cmdline', L.bootcfg_set_cmdline(
                cfg, (c_char_p * 2)(b'console=hvc0', b'quiet'), 2)),
            ('add_cmdline_arg', L.bootcfg_add_cmdline_arg(cfg, b'root=/dev/vda')),
            ('set cpus', L.bootcfg_set(cfg, b'cpus', b'3')),
            ('set_memory', L.bootcfg_set_memory(cfg, 256 << 20)),
            ('set memory 1G', L.bootcfg_set(cfg, b'memory', b'1G')),
            ('set_nested_virtualization', L.bootcfg_set_nested_virtualization(cfg, 1)),
            ('set rosetta', L.bootcfg_set(cfg, b'rosetta', b'off')),
            ('set an unknown key', L.bootcfg_set(cfg, b'com.example.note', note.encode())),
            ('set another unknown key', L.bootcfg_set(cfg, b'com.example.gone', b'x')),
            ('remove it again', L.bootcfg_set(cfg, b'com.example.gone', None)),
        ]
        failed = ['%s: %d (%r)' % (what, rc, L.last().message) for what, rc in steps if rc != 0]
        tap.ok(not failed, 'the typed setters and vmctr_bootcfg_set() accept good values',
               '\n'.join(failed))

        tap.eq(L.bootcfg_set(cfg, b'cpus', b'zero'), EINVAL, 'set cpus="zero" is VMCTR_EINVAL')
        msg = L.last().message or b''
        tap.ok(b'cpus' in msg, 'the message names the key (%r)' % msg)
        tap.eq(L.bootcfg_set_nested_virtualization(cfg, 2), EINVAL,
               'set_nested_virtualization(2) is VMCTR_EINVAL')
        tap.eq(L.bootcfg_set(cfg, b'version', b'2'), EINVAL, 'the key "version" is refused')

        before = snapshot(L, cfg)
        want = {
            'kernel': b'/var/lib/vmctr/vmlinux',
            'initfs': b'/var/lib/vmctr/initfs.cpio.gz',
            'cmdline': [b'console=hvc0', b'quiet', b'root=/dev/vda'],
            'cpus': 3,
            'memory': 1 << 30,
            'nested': 1,
            'rosetta': 0,
            'note': (0, note),
        }
        tap.eq({k: before[k] for k in want}, want, 'the getters read back what was set')
        tap.ok('com.example.note' in before['keys'][1] and
               'com.example.gone' not in before['keys'][1] and
               before['keys'][0] == len(before['keys'][1]),
               'vmctr_bootcfg_keys() lists the free key once, not the removed one, and counts '
               'them', repr(before['keys']))
        tap.eq(get_key(L, cfg, 'com.example.gone')[0], ENOENT,
               'vmctr_bootcfg_get() of a removed key is VMCTR_ENOENT')
        tap.eq(get_key(L, cfg, 'memory'), (0, str(1 << 30)), 'get("memory") is in bytes')
        ptr = c_void_p()
        rc = L.bootcfg_cmdline_string(cfg, byref(ptr))
        tap.eq((rc, L.take_string(ptr) if rc == 0 else None),
               (0, 'console=hvc0 quiet root=/dev/vda'), 'vmctr_bootcfg_cmdline_string() joins')

        rc, text = to_json(L, cfg)
        tap.eq(rc, 0, 'vmctr_bootcfg_to_json() succeeds')
        doc = json.loads(text) if text else None
        tap.ok(isinstance(doc, dict) and doc.get('com.example.note') == note and
               doc.get('cpus') == 3 and doc.get('cmdline') == ['console=hvc0', 'quiet',
                                                               'root=/dev/vda'],
               'the JSON holds the settings and the free key', text)

        path = os.path.join(tmpdir, 'boot.json')
        tap.eq(L.bootcfg_save(cfg, path.encode()), 0, 'vmctr_bootcfg_save() succeeds')
        with open(path, encoding='utf-8') as f:
            on_disk = json.load(f)
        tap.eq(sorted(os.listdir(tmpdir)), ['boot.json'], 'the save left no temporary file')
        tap.eq(L.bootcfg_load(byref(loaded), path.encode()), 0, 'vmctr_bootcfg_load() succeeds')
        if loaded:
            tap.eq(snapshot(L, loaded), before, 'the loaded builder reads back the same')
            rc, text2 = to_json(L, loaded)
            tap.ok(rc == 0 and json.loads(text2) == doc == on_disk,
                   'its JSON equals the original and the file', '%s\n%s' % (text, text2))

        raw = json.dumps(doc).encode()
        tap.eq(L.bootcfg_from_json(byref(parsed), raw, len(raw)), 0,
               'vmctr_bootcfg_from_json() parses the same text')
        if parsed:
            tap.eq(snapshot(L, parsed), before, 'the parsed builder reads back the same')

        bad = bootcfg_p()
        rc = L.bootcfg_from_json(byref(bad), b'{"cpus": "three"', 16)
        tap.eq(rc, EPARSE, 'malformed JSON is VMCTR_EPARSE')
        tap.ok(not bad, '*out is left untouched when parsing fails')
        if bad:
            L.bootcfg_free(bad)
        rc = L.bootcfg_load(byref(bad), os.path.join(tmpdir, 'missing.json').encode())
        tap.eq(rc, ENOENT, 'loading a missing file is VMCTR_ENOENT')
        msg = L.last().message or b''
        tap.ok(b'missing.json' in msg, 'the message names the file (%r)' % msg)
    finally:
        L.bootcfg_free(cfg)
        L.bootcfg_free(loaded)
        L.bootcfg_free(parsed)
        L.bootcfg_free(None)
        shutil.rmtree(tmpdir, ignore_errors=True)


def test_log(tap, L):
    received = []
    destroyed = []

    @LOG_FN
    def on_log(level, domain, message, userdata):
        received.append((level, domain, message, userdata))

    @DESTROY_FN
    def on_destroy(userdata):
        destroyed.append(userdata)

    tag_a, tag_b = 0x5a5a, 0x6b6b
    try:
        tap.eq(L.log_set_handler(7, on_log, tag_a, on_destroy), EINVAL,
               'vmctr_log_set_handler() with level 7 is VMCTR_EINVAL')
        tap.eq(destroyed, [], 'the refused handler\'s destroy notifier is not called')

        tap.eq(L.log_set_handler(LOG_DEBUG, on_log, tag_a, on_destroy), 0,
               'vmctr_log_set_handler(DEBUG, fn, userdata, destroy) succeeds')
        L.caps_probe(None, 0)  # fails, and failures are logged at DEBUG
        debug = [r for r in received if r[0] == LOG_DEBUG]
        tap.ok(debug, 'the callback received the failure at VMCTR_LOG_DEBUG', repr(received))
        if debug:
            level, domain, message, userdata = debug[-1]
            tap.ok(domain and message, 'it has a domain (%r) and a message (%r)'
                   % (domain, message))
            tap.eq(userdata, tag_a, 'it got the registered userdata')

        # Replacing the handler destroys the old one; ERROR level filters DEBUG out.
        tap.eq(L.log_set_handler(LOG_ERROR, on_log, tag_b, on_destroy), 0,
               'replacing the handler with one at VMCTR_LOG_ERROR succeeds')
        tap.eq(destroyed, [tag_a], 'the replaced handler\'s destroy ran once with its userdata')
        del received[:]
        L.caps_probe(None, 0)
        tap.eq([r for r in received if r[0] > LOG_ERROR], [],
               'a handler at VMCTR_LOG_ERROR receives no DEBUG messages')
    finally:
        # A NULL function pointer: ctypes spells it as the prototype called with no argument.
        rc = L.log_set_handler(LOG_DEBUG, LOG_FN(), None, DESTROY_FN())
    tap.eq(rc, 0, 'vmctr_log_set_handler(fn=NULL) removes the handler')
    tap.eq(destroyed, [tag_a, tag_b], 'destroy ran exactly once per handler')
    del received[:]
    L.caps_probe(None, 0)
    tap.eq(received, [], 'no callback runs once the handler is removed')


def main():
    if len(sys.argv) != 2:
        sys.stderr.write('usage: %s PATH/TO/libvmctr.so\n' % sys.argv[0])
        return 2
    so = os.path.abspath(sys.argv[1])
    maybe_reexec(so)

    tap = Tap()
    try:
        cdll = ctypes.CDLL(so)
    except OSError as e:
        tap.ok(False, 'ctypes loads %s' % so, str(e))
        return tap.finish()
    tap.ok(True, 'ctypes loads %s' % os.path.basename(so))
    L = Lib(cdll)
    tap.ok(not L.missing, 'the library exports every function this binding declares',
           'missing: ' + ', '.join(L.missing))

    for group in (test_version, test_errors, test_caps, test_bootcfg, test_log):
        try:
            group(tap, L)
        except Exception:  # a missing function or a broken check: report, go on
            tap.ok(False, '%s ran to the end' % group.__name__, traceback.format_exc())
    return tap.finish()


if __name__ == '__main__':
    sys.exit(main())
