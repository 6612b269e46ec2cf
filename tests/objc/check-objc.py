#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Syntax-check libvmctr's macOS Objective-C sources on Linux; speaks TAP.

usage: check-objc.py CLANG SOURCE_ROOT BUILD_ROOT (FILE.m | DIR)...

A DIR stands for every *.m file in it, so a new file there is checked
without anyone remembering to list it.

Each file is parsed by clang (-fsyntax-only) against GNUstep's Foundation,
GCC's Objective-C runtime headers and the hand-written shims in
tests/objc/shim (Virtualization.framework and libdispatch subsets). Nothing is
linked. See tests/objc/README.md for what this proves and what it cannot.

Prints "1..0 # SKIP reason" and exits 0 when clang, GNUstep's headers, GCC's
objc headers or the Blocks runtime header are missing.
"""
import os
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from tap import Tap  # noqa: E402  (tests/tap.py)

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.join(HERE, 'shim')
GNUSTEP_INC = '/usr/include/GNUstep'


def skip(reason):
    print('1..0 # SKIP ' + reason)
    sys.exit(0)


def find_clang(arg):
    cmd = shlex.split(arg) if arg else []
    if not cmd:
        return None
    exe = cmd[0] if os.path.isabs(cmd[0]) else shutil.which(cmd[0])
    if not exe or not os.access(exe, os.X_OK):
        return None
    return [exe] + cmd[1:]


def gcc_include_dir():
    """GCC's private include dir, which holds objc/objc.h (libobjc-N-dev)."""
    gcc = shutil.which('gcc')
    if not gcc:
        return None
    try:
        out = subprocess.run([gcc, '-print-file-name=include'], check=True,
                             capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    if os.path.isfile(os.path.join(out, 'objc', 'objc.h')):
        return out
    return None


def blocks_header(clang):
    """True if <Block.h> (libblocksruntime-dev) is on clang's default path."""
    try:
        r = subprocess.run(clang + ['-E', '-x', 'c', '-fblocks', '-o', os.devnull, '-'],
                           input='#include <Block.h>\n', capture_output=True, text=True)
    except OSError:
        return False
    return r.returncode == 0


def main(argv):
    if len(argv) < 4:
        print('usage: check-objc.py CLANG SOURCE_ROOT BUILD_ROOT FILE.m...', file=sys.stderr)
        return 2
    clang_arg, src, build = argv[0], argv[1], argv[2]
    files = []
    for a in argv[3:]:
        if os.path.isdir(a):
            found = sorted(os.path.join(a, n) for n in os.listdir(a) if n.endswith('.m'))
            if not found:
                print('check-objc.py: no .m file in %s' % a, file=sys.stderr)
                return 2
            files += found
        else:
            files.append(a)

    clang = find_clang(clang_arg)
    if clang is None:
        skip('clang not found (%r)' % clang_arg)
    if not os.path.isfile(os.path.join(GNUSTEP_INC, 'Foundation', 'Foundation.h')):
        skip('GNUstep Foundation headers missing (install libgnustep-base-dev)')
    gcc_inc = gcc_include_dir()
    if gcc_inc is None:
        skip("GCC's objc headers missing (install libobjc-12-dev, or gobjc)")
    if not blocks_header(clang):
        skip('<Block.h> missing (install libblocksruntime-dev)')

    flags = [
        '-fsyntax-only', '-x', 'objective-c',
        # ARC, as the macOS build compiles these files. clang refuses ARC
        # with the gcc runtime, so the check declares the gnustep-2.0 one;
        # the one place GCC's objc/runtime.h then fails to parse is wrapped
        # by shim/objc/runtime.h. Nothing is linked, so the runtime named
        # here only decides how clang reads the headers.
        '-fobjc-runtime=gnustep-2.0', '-fobjc-arc', '-fblocks',
        '-std=gnu11',
        '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter',
        # the shims first, so <Virtualization/...>, <vmnet/...>,
        # <CoreFoundation/...>, <dispatch/...>, <objc/runtime.h> and
        # <objc/blocks_runtime.h> resolve to them; -I, so
        # the shims themselves must be warning-free
        '-I' + SHIM,
        # the project, as lib/meson.build includes it
        '-I' + os.path.join(src, 'include'),
        '-I' + os.path.join(build, 'include'),
        '-I' + os.path.join(src, 'lib'),
        '-I' + build,
        '-DVMCTR_BUILDING=1',
        # GNUstep and GCC's runtime headers as system headers: their own
        # warnings are not ours to fix
        '-isystem', GNUSTEP_INC,
        '-DGNUSTEP', '-DGNUSTEP_BASE_LIBRARY=1', '-DGNU_RUNTIME=1',
        '-isystem', gcc_inc,
    ]

    # The macOS code has arm64-only branches (Rosetta) behind
    # "#if defined(__aarch64__) || defined(__arm64__)". Parse each file twice:
    # once as this x86_64 host sees it (the Intel-Mac branches), once with
    # __arm64__ defined (the Apple-silicon branches). Nothing in the GNUstep,
    # GCC objc or glibc headers tests __arm64__, so only our code changes;
    # type sizes stay x86_64's, which is LP64 like arm64 macOS.
    passes = [('x86_64', []), ('arm64', ['-D__arm64__=1'])]
    tap = Tap()
    for f in files:
        name = os.path.relpath(f, src) if os.path.isabs(f) else f
        for arch, extra in passes:
            cmd = clang + flags + extra + [f]
            r = subprocess.run(cmd, capture_output=True, text=True)
            tap.ok(r.returncode == 0, '%s (%s)' % (name, arch),
                   ' '.join(shlex.quote(c) for c in cmd) + '\n' + (r.stdout + r.stderr).strip())
    return tap.finish()

if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
