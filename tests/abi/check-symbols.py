#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compare what libvmctr.so exports with lib/libvmctr.map (TAP output).

usage: check-symbols.py LIBVMCTR_SO LIBVMCTR_MAP

Checks, with binutils (nm, readelf):
  - the version script is well formed: LIBVMCTR_x.y nodes, every symbol
    named (no wildcards in global:), none listed twice, local: * present;
  - the exported symbols are exactly the ones the map lists (extra and missing
    ones are named);
  - every export is prefixed vmctr_;
  - every export is a function (nm type T): no data symbols cross the ABI;
  - every export carries the version of the map node that lists it;
  - the SONAME is libvmctr.so.<major>, and the file is that name plus a suffix;
  - if a released ABI baseline (tests/abi/libvmctr-*.abi, written by abidw)
    exists, abidiff finds no incompatible change against the newest one.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from tap import Tap  # noqa: E402  (tests/tap.py)


def tool(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        raise RuntimeError('%s failed (%d): %s' % (' '.join(cmd), p.returncode, p.stderr))
    return p.stdout


def parse_map(path):
    """Return (nodes, problems): nodes is a list of (name, [globals], [locals])."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'#[^\n]*', ' ', text)
    nodes, problems = [], []
    pos = 0
    node_re = re.compile(r'\s*([A-Za-z_][\w.]*)\s*\{(.*?)\}\s*([A-Za-z_][\w.]*)?\s*;', re.S)
    while True:
        rest = text[pos:]
        if not rest.strip():
            break
        m = node_re.match(text, pos)
        if not m:
            problems.append('cannot parse the map from: %r' % rest.strip()[:60])
            break
        name, body = m.group(1), m.group(2)
        globs, locs, scope = [], [], None
        for item in re.split(r';', body):
            item = item.strip()
            if not item:
                continue
            sm = re.match(r'(global|local)\s*:\s*(.*)$', item, re.S)
            if sm:
                scope = sm.group(1)
                item = sm.group(2).strip()
                if not item:
                    continue
            if scope is None:
                scope = 'global'
            (globs if scope == 'global' else locs).append(item)
        nodes.append((name, globs, locs))
        pos = m.end()
    return nodes, problems


def main():
    if len(sys.argv) != 3:
        sys.stderr.write('usage: %s LIBVMCTR_SO LIBVMCTR_MAP\n' % sys.argv[0])
        return 2
    so, mapfile = sys.argv[1], sys.argv[2]
    tap = Tap()

    nodes, problems = parse_map(mapfile)
    bad_nodes = [n for n, _, _ in nodes if not re.match(r'LIBVMCTR_\d+\.\d+$', n)]
    mapped = {}  # symbol -> node
    dups, wild = [], []
    for name, globs, _ in nodes:
        for s in globs:
            if re.search(r'[*?\[]', s):
                wild.append(s)
            if s in mapped:
                dups.append(s)
            mapped[s] = name
    has_local_star = any('*' in locs for _, _, locs in nodes)
    diag = '\n'.join(problems +
                     ['node not named LIBVMCTR_<major>.<minor>: ' + n for n in bad_nodes] +
                     ['listed twice: ' + s for s in dups] +
                     ['wildcard in global: ' + s for s in wild] +
                     ([] if has_local_star else ['no "local: *;" hides everything else']) +
                     ([] if nodes else ['no version node']))
    tap.ok(not diag, 'the version script %s is well formed (%d nodes, %d symbols)'
           % (os.path.basename(mapfile), len(nodes), len(mapped)), diag)

    # Exports: defined dynamic symbols, minus the version-node marker symbols.
    try:
        nm_out = tool(['nm', '-D', '--defined-only', so])
        dyn_out = tool(['readelf', '--dyn-syms', '-W', so])
        dyn_hdr = tool(['readelf', '-d', '-W', so])
    except (RuntimeError, OSError) as e:
        tap.ok(False, 'binutils can read ' + so, str(e))
        return tap.finish()

    node_names = {n for n, _, _ in nodes}
    nm_types = {}
    for line in nm_out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        typ, name = parts[-2], parts[-1].split('@')[0]
        if typ == 'A' and (name in node_names or name.startswith('LIBVMCTR_')):
            continue  # the symbol that marks a version node
        nm_types[name] = typ

    versions = {}
    for line in dyn_out.splitlines():
        f = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(f) < 8 or not f[0].rstrip(':').isdigit():
            continue
        typ, bind, ndx, full = f[3], f[4], f[6], f[7]
        if ndx == 'UND' or bind == 'LOCAL':
            continue
        name, _, ver = full.partition('@')
        if typ == 'OBJECT' and ndx == 'ABS' and name in node_names:
            continue
        versions[name] = ver.lstrip('@')

    exports = set(nm_types)
    extra = sorted(exports - set(mapped))
    missing = sorted(set(mapped) - exports)
    tap.ok(not extra and not missing,
           'the .so exports exactly the %d symbols of the map (it exports %d)'
           % (len(mapped), len(exports)),
           '\n'.join(['exported but not in the map: ' + s for s in extra] +
                     ['in the map but not exported: ' + s for s in missing]))

    unprefixed = sorted(s for s in exports if not s.startswith('vmctr_'))
    tap.ok(not unprefixed, 'every export starts with vmctr_',
           'unprefixed: ' + ', '.join(unprefixed))

    not_func = sorted('%s (nm type %s)' % (s, t) for s, t in nm_types.items() if t != 'T')
    tap.ok(not not_func and exports, 'every export is a function in .text (no data symbols)',
           '\n'.join(not_func) or 'no exports at all')

    unversioned = []
    for s in sorted(exports):
        v = versions.get(s, '')
        want = mapped.get(s)
        if not v.startswith('LIBVMCTR_'):
            unversioned.append('%s has version %r' % (s, v or 'none'))
        elif want and v != want:
            unversioned.append('%s has version %s but the map lists it in %s' % (s, v, want))
    tap.ok(not unversioned, 'every export is versioned with its LIBVMCTR_ node',
           '\n'.join(unversioned))

    m = re.search(r'\(SONAME\)\s+Library soname: \[([^\]]+)\]', dyn_hdr)
    soname = m.group(1) if m else None
    base = os.path.basename(so)
    good = bool(soname and re.match(r'libvmctr\.so\.\d+$', soname) and
                (base == soname or base.startswith(soname + '.')))
    tap.ok(good, 'the SONAME is libvmctr.so.<major> (%s) and matches the file %s'
           % (soname, base), 'SONAME: %r' % soname)

    # An ABI baseline from the last release, once there is one.
    here = os.path.dirname(os.path.abspath(__file__))
    baselines = sorted(glob.glob(os.path.join(here, 'libvmctr-*.abi')),
                       key=lambda p: [int(x) for x in re.findall(r'\d+', os.path.basename(p))])
    if not baselines:
        tap.skip('abidiff against the last release', 'no released ABI baseline '
                 '(tests/abi/libvmctr-<version>.abi, made with abidw) yet')
    elif not shutil.which('abidiff'):
        tap.skip('abidiff against ' + os.path.basename(baselines[-1]),
                 'abidiff not found (Debian package abigail-tools)')
    else:
        p = subprocess.run(['abidiff', '--no-added-syms', baselines[-1], so],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        # abidiff's status is a bit mask: 1 error, 2 usage, 4 change, 8 incompatible change.
        tap.ok(p.returncode & (1 | 2 | 8) == 0,
               'no incompatible ABI change against ' + os.path.basename(baselines[-1]),
               p.stdout)

    return tap.finish()


if __name__ == '__main__':
    sys.exit(main())
