#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vmctr-network as a user runs it: create, ls, inspect, rm, and the errors
(exit 1 with the library's message, exit 2 for usage). TAP on stdout.

usage: test_vmctr_network.py PATH/TO/vmctr-network
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from tap import Tap  # noqa: E402


def main():
    exe = sys.argv[1]
    state = tempfile.mkdtemp(prefix='vmctr-network-test-')
    t = Tap()

    def run(args, env_state=None):
        env = dict(os.environ)
        env.pop('VMCTR_STATE_DIR', None)
        if env_state:
            env['VMCTR_STATE_DIR'] = env_state
            base = [exe]
        else:
            base = [exe, '--state-dir', state]
        return subprocess.run(base + args, env=env, capture_output=True, text=True, timeout=30)

    try:
        p = run(['create', 'web', '--mode', 'shared', '--subnet', '10.77.0.0/24',
                 '--dns', '1.1.1.1', '--dns', '9.9.9.9', '--mtu', '1400'])
        t.eq((p.returncode, p.stderr), (0, ''), 'create a shared network')
        p = run(['create', 'lab', '--mode', 'host-only'], env_state=state)
        t.eq((p.returncode, p.stderr), (0, ''), 'create through $VMCTR_STATE_DIR')
        p = run(['create', 'br0net', '--mode', 'bridged:eth0', '--gateway', '192.168.64.9'])
        t.eq((p.returncode, p.stderr), (0, ''), 'create a bridged network')

        p = run(['ls'])
        lines = [line.split() for line in p.stdout.splitlines()]
        t.eq(lines, [['br0net', 'bridged', '192.168.64.0/24', '192.168.64.9'],
                     ['lab', 'host-only', '192.168.64.0/24', '192.168.64.1'],
                     ['web', 'shared', '10.77.0.0/24', '10.77.0.1']], 'ls: sorted, one line each')

        p = run(['inspect', 'web'])
        try:
            got = json.loads(p.stdout)
        except ValueError:
            got = None
        t.eq(got, {'version': 1, 'name': 'web', 'mode': 'shared', 'subnet': '10.77.0.0/24',
                   'gateway': '10.77.0.1', 'mtu': 1400, 'dns': ['1.1.1.1', '9.9.9.9']},
             'inspect prints the JSON')

        p = run(['create', 'web', '--mode', 'shared'])
        t.ok(p.returncode == 1 and 'already exists' in p.stderr, 'a taken name: exit 1',
             p.stderr)
        p = run(['create', 'bad', '--mode', 'shared', '--subnet', '10.0.0.1/24'])
        t.ok(p.returncode == 1 and 'host bits' in p.stderr, 'a bad subnet: exit 1 and why',
             p.stderr)
        p = run(['create', 'x', '--mode', 'mesh'])
        t.ok(p.returncode == 2 and 'unknown mode' in p.stderr, 'an unknown mode: exit 2',
             p.stderr)
        p = run(['create', 'x'])
        t.ok(p.returncode == 2, 'create without --mode: exit 2', p.stderr)
        p = run(['inspect', 'nope'])
        t.ok(p.returncode == 1 and 'not found' in p.stderr, 'inspect of a missing network: exit 1',
             p.stderr)

        for name in ('web', 'lab', 'br0net'):
            p = run(['rm', name])
            t.eq((p.returncode, p.stderr), (0, ''), 'rm ' + name)
        p = run(['rm', 'web'])
        t.ok(p.returncode == 1 and 'not found' in p.stderr, 'rm twice: exit 1', p.stderr)
        p = run(['ls'])
        t.eq((p.returncode, p.stdout), (0, ''), 'ls after rm: empty')
        t.eq(sorted(os.listdir(os.path.join(state, 'networks'))), [],
             'rm leaves nothing in the store')
    finally:
        shutil.rmtree(state, ignore_errors=True)
    return t.finish()


if __name__ == '__main__':
    sys.exit(main())
