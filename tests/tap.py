# SPDX-License-Identifier: MIT
"""The TAP writer that the Python tests share (meson reads it with protocol: 'tap').

Results stream as they happen, with the plan at the end, which TAP allows, so
a test that dies half-way shows how far it got."""
import sys


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=''):
        """Report one result; diag is printed as '# ' lines when it failed."""
        self.n += 1
        print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, desc))
        if not cond:
            self.failed += 1
            for line in str(diag).rstrip().splitlines():
                print('# ' + line)
        sys.stdout.flush()
        return bool(cond)

    def eq(self, got, want, desc):
        return self.ok(got == want, desc, 'got:  %r\nwant: %r' % (got, want))

    def skip(self, desc, reason):
        self.n += 1
        print('ok %d - %s # SKIP %s' % (self.n, desc, reason))
        sys.stdout.flush()

    def finish(self):
        """Print the plan; return the process exit status."""
        print('1..%d' % self.n)
        return 1 if self.failed else 0
