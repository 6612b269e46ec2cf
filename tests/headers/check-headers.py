#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check that every public header stands alone (TAP output).

For each public header (include/vmctr.h, include/vmctr/*.h and the generated
vmctr/version.h found in one of the --include directories):
  - a translation unit that includes only that header, twice, compiles as C99
    and as C++11 with -Wall -Wextra -pedantic -Werror;
  - the header declares and defines only vmctr_/VMCTR_ names (functions,
    typedefs, tags, enumerators, macros);
  - in C++ every function it declares has C linkage;
  - it has an include guard named VMCTR_*.
Also checks that the umbrella header vmctr.h includes every vmctr/*.h.

usage: check-headers.py [--include DIR]... --cc CMD --cxx CMD PUBLIC_INCLUDE_DIR
--cxx may be empty: c++ or g++ from PATH is used then, and without either the
C++ checks are reported as TAP skips.
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from tap import Tap  # noqa: E402  (tests/tap.py)

PREFIXES = ('vmctr_', 'VMCTR_')
C_FLAGS = ['-std=c99', '-Wall', '-Wextra', '-pedantic', '-Werror',
           '-Wundef', '-Wstrict-prototypes']
CXX_FLAGS = ['-std=c++11', '-Wall', '-Wextra', '-pedantic', '-Werror', '-Wundef']

KEYWORDS = {
    'auto', 'break', 'case', 'char', 'const', 'continue', 'default', 'do', 'double',
    'else', 'enum', 'extern', 'float', 'for', 'goto', 'if', 'inline', 'int', 'long',
    'register', 'restrict', 'return', 'short', 'signed', 'sizeof', 'static', 'struct',
    'switch', 'typedef', 'union', 'unsigned', 'void', 'volatile', 'while', '_Bool',
    '__restrict', '__restrict__', '__inline', '__inline__', '__extension__',
}


def run(cmd, cwd):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    return p.returncode, ' '.join(shlex.quote(c) for c in cmd) + '\n' + p.stdout


def find_cxx(arg):
    if arg.strip():
        return shlex.split(arg), None
    for name in ('c++', 'g++', 'clang++'):
        path = shutil.which(name)
        if path:
            return [path], None
    return None, 'no C++ compiler (meson found none, and c++/g++/clang++ are not in PATH)'


# --- a small C tokenizer, enough for declarations in preprocessed headers ---

TOKEN_RE = re.compile(r'''
    (?P<str>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<num>\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*)
  | (?P<op>::|->|\.\.\.|[{}()\[\];,*=<>&|^!~?:.+\-/%#])
  | (?P<ws>\s+)
''', re.VERBOSE)


def tokenize(text):
    out = []
    pos = 0
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m:
            pos += 1
            continue
        pos = m.end()
        if m.lastgroup != 'ws':
            out.append(m.group())
    return out


def own_text(preprocessed, own_dirs):
    """The lines of `cc -E` output that come from files under own_dirs."""
    keep = []
    mine = False
    own_dirs = [os.path.realpath(d) + os.sep for d in own_dirs]
    for line in preprocessed.splitlines():
        m = re.match(r'#\s*(?:line\s+)?\d+\s+"([^"]*)"', line)
        if m:
            path = os.path.realpath(m.group(1)) if os.path.isabs(m.group(1)) else m.group(1)
            mine = any(path.startswith(d) for d in own_dirs)
            continue
        if mine:
            keep.append(line)
    return '\n'.join(keep)


def strip_attributes(toks):
    """Drop __attribute__((...)) and __declspec(...) groups."""
    out = []
    i = 0
    while i < len(toks):
        if toks[i] in ('__attribute__', '__declspec', '__asm__', '__asm') and \
                i + 1 < len(toks) and toks[i + 1] == '(':
            depth = 0
            i += 1
            while i < len(toks):
                if toks[i] == '(':
                    depth += 1
                elif toks[i] == ')':
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            i += 1
            continue
        out.append(toks[i])
        i += 1
    return out


def split_top(toks, sep):
    """Split at sep tokens outside (), [] and {}."""
    parts, cur, depth = [], [], 0
    for t in toks:
        if t in '([{':
            depth += 1
        elif t in ')]}':
            depth -= 1
        if t == sep and depth == 0:
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    if cur:
        parts.append(cur)
    return parts


def declarator_name(toks):
    """The name a declarator (with its specifiers before it) declares."""
    # drop brace bodies (struct definitions) and initializers
    flat, depth = [], 0
    for t in toks:
        if t == '{':
            depth += 1
            continue
        if t == '}':
            depth -= 1
            continue
        if depth == 0:
            flat.append(t)
    if '=' in flat:
        flat = flat[:flat.index('=')]
    # function pointer declarator: ... ( * name ) ( ... )
    for i, t in enumerate(flat):
        if t == '(':
            j = i + 1
            if j < len(flat) and flat[j] == '*':
                while j < len(flat) and flat[j] in ('*', 'const', 'volatile', 'restrict',
                                                    '__restrict'):
                    j += 1
                if j < len(flat) and re.match(r'[A-Za-z_]\w*$', flat[j]):
                    return flat[j]
            # ordinary function: the identifier before the first '('
            if i > 0 and re.match(r'[A-Za-z_]\w*$', flat[i - 1]) and flat[i - 1] not in KEYWORDS:
                return flat[i - 1]
            return None
    if '[' in flat:
        flat = flat[:flat.index('[')]
    ids = [t for t in flat if re.match(r'[A-Za-z_]\w*$', t) and t not in KEYWORDS]
    # "struct tag;" or "struct tag {...};" declares only the tag
    if len(flat) >= 2 and flat[-2] in ('struct', 'union', 'enum'):
        return None
    return ids[-1] if ids else None


def declared_names(text, cplusplus=False):
    """Return (names, functions_outside_extern_c) for preprocessed header text."""
    toks = strip_attributes(tokenize(text))
    names = set()
    # tags and enumerators anywhere
    for i, t in enumerate(toks):
        if t in ('struct', 'union', 'enum') and i + 1 < len(toks) and \
                re.match(r'[A-Za-z_]\w*$', toks[i + 1]):
            names.add(toks[i + 1])
        if t == 'enum':
            j = i + 1
            while j < len(toks) and toks[j] not in ('{', ';'):
                j += 1
            if j < len(toks) and toks[j] == '{':
                depth, k, expect = 0, j, True
                while k < len(toks):
                    if toks[k] == '{':
                        depth += 1
                    elif toks[k] == '}':
                        depth -= 1
                        if depth == 0:
                            break
                    elif toks[k] == ',' and depth == 1:
                        expect = True
                        k += 1
                        continue
                    if expect and depth == 1 and re.match(r'[A-Za-z_]\w*$', toks[k]):
                        names.add(toks[k])
                        expect = False
                    elif toks[k] != '{':
                        expect = False
                    k += 1
    # top-level declarations, tracking extern "C" { } blocks in C++
    outside_c = []
    decl = []
    linkage = []  # stack: True for an extern "C" block
    depth = 0
    i = 0
    while i < len(toks):
        t = toks[i]
        if depth == 0 and t == 'extern' and i + 2 < len(toks) and toks[i + 1] == '"C"' \
                and toks[i + 2] == '{':
            linkage.append(True)
            i += 3
            continue
        if depth == 0 and t == '}' and linkage:
            linkage.pop()
            i += 1
            continue
        if t == '{':
            depth += 1
        elif t == '}':
            depth -= 1
        if t == ';' and depth == 0:
            if decl:
                is_typedef = 'typedef' in decl
                for k, part in enumerate(split_top(decl, ',')):
                    if k > 0:
                        # later declarators share the specifiers of the first
                        part = [x for x in decl if x in KEYWORDS] + part
                    name = declarator_name(part)
                    if name:
                        names.add(name)
                        is_func = (not is_typedef and '(' in part and
                                   part.index('(') > 0 and part[part.index('(') - 1] == name)
                        if cplusplus and is_func and not linkage:
                            outside_c.append(name)
            decl = []
        else:
            decl.append(t)
        i += 1
    return names, outside_c


def macro_names(dump):
    out = set()
    for line in dump.splitlines():
        m = re.match(r'#define\s+([A-Za-z_]\w*)', line)
        if m:
            out.add(m.group(1))
    return out


def include_guard(path):
    """The guard macro if the file is wrapped in #ifndef X / #define X ... #endif."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    text = re.sub(r'//[^\n]*', '', text)
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    if len(lines) < 3:
        return None
    m1 = re.match(r'#\s*ifndef\s+(\w+)$', lines[0]) or \
        re.match(r'#\s*if\s+!\s*defined\s*\(?\s*(\w+)\s*\)?$', lines[0])
    m2 = re.match(r'#\s*define\s+(\w+)\b', lines[1])
    if not (m1 and m2 and m1.group(1) == m2.group(1) and re.match(r'#\s*endif\b', lines[-1])):
        return None
    # the #endif must close the guard: count conditional nesting
    depth = 0
    for i, l in enumerate(lines):
        if re.match(r'#\s*if', l):
            depth += 1
        elif re.match(r'#\s*endif\b', l):
            depth -= 1
            if depth == 0 and i != len(lines) - 1:
                return None
    return m1.group(1)


def undocumented_functions(path):
    """Names of VMCTR_API functions not directly preceded by a /** ... */ comment."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    missing = []
    for m in re.finditer(r'^VMCTR_API\b[^;(]*?(\w+)\s*\(', text, re.M):
        before = text[:m.start()].rstrip()
        start = before.rfind('/*')
        if not before.endswith('*/') or start < 0 or not before.startswith('/**', start):
            missing.append(m.group(1))
    return missing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--include', action='append', default=[])
    ap.add_argument('--cc', default='cc')
    ap.add_argument('--cxx', default='')
    ap.add_argument('public_dir')
    args = ap.parse_args()

    cc = shlex.split(args.cc) if args.cc.strip() else ['cc']
    cxx, cxx_missing = find_cxx(args.cxx)
    public_dir = os.path.realpath(args.public_dir)
    inc_dirs = [os.path.realpath(d) for d in args.include]
    if public_dir not in inc_dirs:
        inc_dirs.insert(0, public_dir)
    inc_flags = ['-I' + d for d in inc_dirs]

    tap = Tap()

    # The headers: vmctr.h, vmctr/*.h, and the generated vmctr/version.h.
    headers = {}  # relative name -> path
    if os.path.isfile(os.path.join(public_dir, 'vmctr.h')):
        headers['vmctr.h'] = os.path.join(public_dir, 'vmctr.h')
    sub = os.path.join(public_dir, 'vmctr')
    for name in sorted(os.listdir(sub)) if os.path.isdir(sub) else []:
        if name.endswith('.h'):
            headers['vmctr/' + name] = os.path.join(sub, name)
    if 'vmctr/version.h' not in headers:
        for d in inc_dirs:
            p = os.path.join(d, 'vmctr', 'version.h')
            if os.path.isfile(p):
                headers['vmctr/version.h'] = p
                break
    tap.ok('vmctr.h' in headers, 'the umbrella header vmctr.h exists in ' + public_dir)
    tap.ok('vmctr/version.h' in headers,
           'the generated vmctr/version.h is found in an --include directory',
           'searched: ' + ' '.join(inc_dirs))

    # The umbrella header includes every per-object header.
    if 'vmctr.h' in headers:
        with open(headers['vmctr.h'], encoding='utf-8') as f:
            umbrella = set(re.findall(r'#\s*include\s+["<]([^">]+)[">]', f.read()))
        missing = sorted(h for h in headers if h != 'vmctr.h' and h not in umbrella)
        tap.ok(not missing, 'vmctr.h includes every vmctr/*.h header',
               'missing: ' + ', '.join(missing) if missing else '')

    # System headers that public headers include: the baseline for macro checks.
    system = set()
    for path in headers.values():
        with open(path, encoding='utf-8') as f:
            system |= set(re.findall(r'#\s*include\s+<([^>]+)>', f.read()))
    system = sorted(s for s in system if not s.startswith('vmctr'))

    tmp = tempfile.mkdtemp(prefix='vmctr-headertest-')
    try:
        def write(name, text):
            p = os.path.join(tmp, name)
            with open(p, 'w', encoding='utf-8') as f:
                f.write(text)
            return p

        base_src = ''.join('#include <%s>\n' % s for s in system) + 'int vmctr_headertest_anchor;\n'
        base_c = write('baseline.c', base_src)
        rc, out = run(cc + C_FLAGS + inc_flags + ['-dM', '-E', base_c], tmp)
        base_macros_c = macro_names(out) if rc == 0 else set()
        base_macros_cxx = set()
        if cxx:
            base_cxx = write('baseline.cpp', base_src)
            rc, out = run(cxx + CXX_FLAGS + inc_flags + ['-dM', '-E', base_cxx], tmp)
            base_macros_cxx = macro_names(out) if rc == 0 else set()

        for rel, path in sorted(headers.items()):
            stem = re.sub(r'\W', '_', rel)
            # Included twice: the second inclusion must be a no-op (the guard).
            src = ('#include <%s>\n#include <%s>\n'
                   '/* keeps the unit non-empty whatever the header holds */\n'
                   'int vmctr_headertest_anchor;\n') % (rel, rel)
            csrc = write(stem + '.c', src)
            rc, out = run(cc + C_FLAGS + inc_flags + ['-fsyntax-only', csrc], tmp)
            tap.ok(rc == 0, '%s compiles alone as C99 (-std=c99 -Wall -Wextra -pedantic -Werror)'
                   % rel, out if rc else '')

            # Names: declarations from the header's own lines, and new macros.
            bad = set()
            diag = ''
            rc1, pre = run(cc + C_FLAGS + inc_flags + ['-E', csrc], tmp)
            rc2, dump = run(cc + C_FLAGS + inc_flags + ['-dM', '-E', csrc], tmp)
            if rc1 == 0 and rc2 == 0:
                pre = pre.split('\n', 1)[1]
                decls, _ = declared_names(own_text(pre, [public_dir] + inc_dirs))
                macros = macro_names(dump.split('\n', 1)[1]) - base_macros_c
                bad = {n for n in decls | macros
                       if not n.startswith(PREFIXES) and n != 'vmctr_headertest_anchor'}
                if not decls:
                    bad.add('(nothing parsed: the check itself is broken)')
                diag = 'names without the vmctr_/VMCTR_ prefix: ' + ', '.join(sorted(bad))
            else:
                bad.add('(preprocessing failed)')
                diag = pre if rc1 else dump
            tap.ok(not bad, '%s declares and defines only vmctr_/VMCTR_ names' % rel,
                   diag if bad else '')

            if cxx:
                cxxsrc = write(stem + '.cpp', src)
                rc, out = run(cxx + CXX_FLAGS + inc_flags + ['-fsyntax-only', cxxsrc], tmp)
                tap.ok(rc == 0, '%s compiles alone as C++11 (-std=c++11 -Wall -Wextra -pedantic '
                       '-Werror)' % rel, out if rc else '')
                rc1, pre = run(cxx + CXX_FLAGS + inc_flags + ['-E', cxxsrc], tmp)
                rc2, dump = run(cxx + CXX_FLAGS + inc_flags + ['-dM', '-E', cxxsrc], tmp)
                if rc1 == 0 and rc2 == 0:
                    _, outside = declared_names(own_text(pre.split('\n', 1)[1],
                                                         [public_dir] + inc_dirs), cplusplus=True)
                    macros = macro_names(dump.split('\n', 1)[1]) - base_macros_cxx
                    badm = sorted(n for n in macros if not n.startswith(PREFIXES))
                    tap.ok(not outside and not badm,
                           '%s gives its functions C linkage in C++ and defines only VMCTR_ '
                           'macros' % rel,
                           ('functions outside extern "C": ' + ', '.join(sorted(set(outside))) + '\n'
                            if outside else '') +
                           ('macros without the prefix: ' + ', '.join(badm) if badm else ''))
                else:
                    tap.ok(False, '%s gives its functions C linkage in C++' % rel,
                           pre if rc1 else dump)
            else:
                tap.skip('%s compiles alone as C++11' % rel, cxx_missing)
                tap.skip('%s gives its functions C linkage in C++' % rel, cxx_missing)

            undocumented = undocumented_functions(path)
            tap.ok(not undocumented,
                   '%s gives every VMCTR_API function a /** doc comment */' % rel,
                   'undocumented: ' + ', '.join(undocumented))

            guard = include_guard(path)
            tap.ok(guard is not None and guard.startswith('VMCTR_') and guard.endswith('_H'),
                   '%s has an include guard named VMCTR_*_H around all of it' % rel,
                   'guard found: %r' % guard)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    return tap.finish()


if __name__ == '__main__':
    sys.exit(main())
