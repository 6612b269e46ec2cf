#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vmctr-image pull and push against real servers on 127.0.0.1, inside a
network namespace this test makes: Debian's docker-registry with a CA made
here (TLS), with htpasswd Basic auth, behind a bearer-token server written
here, a multi-platform index, and a hostile server (wrong digest, short
body, a 2 GiB length, a redirect loop, a scheme change, a stall, a cut that
must be resumed with Range).

usage: test_registry.py VMCTR_IMAGE"""
import base64
import http.server
import json
import os
import shutil
import socketserver
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import Tap  # noqa: E402
import regtest as rt  # noqa: E402

T = Tap()
V = os.path.abspath(sys.argv[1])
HOST_ARCH = {'x86_64': 'amd64', 'aarch64': 'arm64'}.get(os.uname().machine, 'amd64')
OTHER_ARCH = 'arm64' if HOST_ARCH == 'amd64' else 'amd64'


def vi(store, *args, stdin=None, env=None):
    p = subprocess.run([V, '--store', store] + list(args), input=stdin, capture_output=True,
                       text=True, env=env, timeout=300)
    return p.returncode, p.stdout, p.stderr


def show(store, name):
    rc, out, err = vi(store, 'show', name)
    info = {}
    for line in out.splitlines():
        k, _, v = line.partition(': ')
        info[k] = v
    return rc, info


def skopeo(*args):
    p = subprocess.run(['skopeo'] + list(args), capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout + p.stderr


class Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(handler, port):
    s = Server(('127.0.0.1', port), handler)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    return s


# ---- the bearer-token server: a token service, and a front of the registry that wants it ----

TOKEN_LOG = []


def token_handler(upstream, granted):
    class H(Quiet):
        def do_GET(self):
            self.handle_any('GET')

        def do_HEAD(self):
            self.handle_any('HEAD')

        def handle_any(self, method):
            if self.path.startswith('/token'):
                q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                scope = q.get('scope', [''])[0]
                TOKEN_LOG.append(scope)
                if scope not in granted:
                    return self.reply(403, b'{"errors":[{"code":"DENIED"}]}')
                return self.reply(200, json.dumps({'token': 'tok:' + scope}).encode())
            auth = self.headers.get('Authorization', '')
            repo = self.path.split('/')[2:4]
            want = 'Bearer tok:repository:%s:pull' % '/'.join(repo)
            if self.path != '/v2/' and auth != want:
                h = ('Bearer realm="http://127.0.0.1:%d/token",service="test",'
                     'scope="repository:%s:pull"' % (self.server.server_port, '/'.join(repo)))
                return self.reply(401, b'{}', {'WWW-Authenticate': h})
            req = urllib.request.Request(upstream + self.path, method=method,
                                         headers={'Accept': self.headers.get('Accept', '*/*')})
            try:
                with urllib.request.urlopen(req) as r:
                    body = r.read()
                    hd = {k: v for k, v in r.headers.items()
                          if k.lower() in ('content-type', 'docker-content-digest')}
                    self.reply(r.status, body, hd, method)
            except urllib.error.HTTPError as e:
                self.reply(e.code, e.read(), {}, method)

        def reply(self, code, body, headers=None, method='GET'):
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            if method != 'HEAD':
                self.wfile.write(body)
    return H


# ---- the hostile server ----

RANGES = []


def hostile_handler(docs):
    """docs: {path: (bytes, content_type)}; cases in the blob path."""
    class H(Quiet):
        def do_GET(self):
            p = self.path
            if p == '/v2/':
                return self.reply(200, b'{}')
            case = p.split('/')[3] if p.count('/') > 3 else ''
            if p in docs:
                body, ct = docs[p]
                if '/blobs/' in p and '/manifests/' not in p and case in HOSTILE_LAYER_CASES \
                        and body is docs.get('__layer__', (None,))[0]:
                    return self.hostile(case, body)
                return self.reply(200, body, ct)
            return self.reply(404, b'{"errors":[{"code":"NOT_FOUND"}]}')

        def hostile(self, case, body):
            if case == 'wrong':
                bad = bytearray(body)
                bad[len(bad) // 2] ^= 0xff
                return self.reply(200, bytes(bad))
            if case == 'short':
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body[:len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            if case == 'huge':
                self.send_response(200)
                self.send_header('Content-Length', str(2 << 30))
                self.end_headers()
                self.wfile.write(body[:100])
                self.close_connection = True
                return
            if case == 'loop':
                self.send_response(302)
                self.send_header('Location', self.path)
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
            if case == 'scheme':
                self.send_response(302)
                self.send_header('Location', 'https://127.0.0.1:%d%s' %
                                 (self.server.server_port, self.path))
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
            if case == 'stall':
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body[:10])
                self.wfile.flush()
                time.sleep(8)
                self.close_connection = True
                return
            if case == 'cut':
                rng = self.headers.get('Range')
                RANGES.append((rng, len(body)))
                if not rng:
                    self.send_response(200)
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    half = len(body) // 2
                    self.wfile.write(body[:half])
                    self.wfile.flush()
                    RANGES.append(('sent', half))
                    self.close_connection = True
                    return
                start = int(rng.split('=')[1].rstrip('-'))
                self.send_response(206)
                self.send_header('Content-Range', 'bytes %d-%d/%d' % (start, len(body) - 1,
                                                                      len(body)))
                self.send_header('Content-Length', str(len(body) - start))
                self.end_headers()
                self.wfile.write(body[start:])
                RANGES.append(('sent', len(body) - start))
                return

        def reply(self, code, body, ct='application/octet-stream'):
            self.send_response(code)
            self.send_header('Content-Type', ct)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    return H


HOSTILE_LAYER_CASES = ('wrong', 'short', 'huge', 'loop', 'scheme', 'stall', 'cut')


def main():
    if os.geteuid() != 0 and not shutil.which('unshare'):
        print('1..0 # SKIP needs a network namespace (unshare)')
        return 77
    missing = [p for p in ('docker-registry', 'skopeo', 'openssl', 'htpasswd')
               if not shutil.which(p)]
    if missing:
        print('1..0 # SKIP missing: ' + ', '.join(missing))
        return 77
    if not rt.in_own_netns([sys.executable] + sys.argv):
        print('1..0 # SKIP cannot make a network namespace')
        return 77
    work = tempfile.mkdtemp(prefix='vmctr-test-registry-')
    procs = []
    try:
        run(work, procs)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)
    return T.finish()


def vmctr_run(work, certs, ca):
    """vmctr-run IMAGE_REF pulls on first use; --pull never does not."""
    exe = os.path.join(os.path.dirname(V), 'vmctr-run')
    kernel = os.environ.get('VMCTR_TEST_KERNEL', '')
    busybox = shutil.which('busybox')
    if not os.path.exists(exe) or not kernel or not busybox:
        T.skip('vmctr-run pulls on first use', 'needs vmctr-run, VMCTR_TEST_KERNEL and busybox')
        return
    root = os.path.join(work, 'bbroot')
    os.makedirs(os.path.join(root, 'bin'))
    shutil.copy(busybox, os.path.join(root, 'bin', 'busybox'))
    os.symlink('busybox', os.path.join(root, 'bin', 'sh'))
    bb = os.path.join(work, 'bb-layout')
    subprocess.run([V, 'build', root, bb], check=True, capture_output=True)
    rc, out = skopeo('copy', '--dest-cert-dir', certs, 'oci:%s:latest' % bb,
                     'docker://127.0.0.1:5443/t/bb:1')
    st = os.path.join(work, 'st-run')
    env = dict(os.environ, VMCTR_KERNEL=kernel)
    base = [exe, '--store', st, '--rm', '-q', '--registry-ca', ca]
    p = subprocess.run(base + ['--pull', 'never', '--image', '127.0.0.1:5443/t/bb:1', '--',
                               '/bin/sh', '-c', 'echo hi'], env=env, capture_output=True,
                       text=True, timeout=300)
    T.ok(p.returncode != 0 and os.path.isdir(st) is not None, '--pull never: a missing image '
         'is not pulled', p.stderr)
    p = subprocess.run(base + ['--image', '127.0.0.1:5443/t/bb:1', '--', '/bin/sh', '-c',
                               'echo pulled-and-ran'], env=env, capture_output=True, text=True,
                       timeout=300)
    T.ok(p.returncode == 0 and 'pulled-and-ran' in p.stdout,
         'vmctr-run IMAGE_REF pulls on first use and runs it', p.stderr)
    rc, out, _ = vi(st, 'names')
    T.ok('127.0.0.1:5443/t/bb:1' in out, 'the pulled image is named in the store', out)


def run(work, procs):
    ca = rt.make_ca(os.path.join(work, 'ca'))
    certs = os.path.join(work, 'certs')  # skopeo's --cert-dir
    os.makedirs(certs)
    shutil.copy(ca, os.path.join(certs, 'ca.crt'))
    # A three-layer image, as a local layout.
    layout = os.path.join(work, 'layout')
    layers = [rt.make_layer({'etc': ('dir',), 'etc/motd': b'hello\n', 'bin': ('dir',),
                             'bin/tool': os.urandom(300000)}, 1),
              rt.make_layer({'etc/motd': b'again\n', 'lib': ('dir',),
                             'lib/link': ('link', '../etc/motd')}, 2),
              rt.make_layer({'data': os.urandom(200000)}, 3)]
    m, _ = rt.image_manifest(layout, layers, HOST_ARCH)
    rt.write_layout(layout, [(m, None)])
    local = os.path.join(work, 'st-local')
    rc, out, err = vi(local, 'import', layout, '--name', 'local:1')
    T.eq(rc, 0, 'the image imports as a local layout')
    _, linfo = show(local, 'local:1')

    # ---- TLS, with the test's CA ----
    procs.append(rt.start_registry(work, 5443, tls_dir=os.path.join(work, 'ca')))
    rc, out = skopeo('copy', '--dest-cert-dir', certs, 'oci:%s:latest' % layout,
                     'docker://127.0.0.1:5443/t/img:1')
    T.eq(rc, 0, 'skopeo copies the image into the registry (TLS)')
    st = os.path.join(work, 'st-tls')
    before = rt.store_files(st) if os.path.isdir(st) else set()
    rc, out, err = vi(st, 'pull', '127.0.0.1:5443/t/img:1')
    T.ok(rc != 0 and 'TLS' in err and 'ca_file' in err,
         'without the CA, the pull fails on the certificate (nothing silently insecure)', err)
    rc, out, err = vi(st, 'pull', '127.0.0.1:5443/t/img:1', '--ca-file', ca)
    T.eq(rc, 0, 'with the CA file, the pull succeeds')
    if rc:
        print('# ' + err.strip())
    _, pinfo = show(st, '127.0.0.1:5443/t/img:1')
    T.eq(pinfo.get('digest'), linfo.get('digest'), 'the pulled image has the local config digest')
    T.ok(pinfo.get('rootfs') and rt.tree(pinfo['rootfs']) == rt.tree(linfo['rootfs']),
         'the unpacked tree equals the one imported from the local layout')
    rc, out, _ = vi(st, 'names')
    T.ok(out.startswith('127.0.0.1:5443/t/img:1\t'), 'the reference is the image\'s name', out)
    rc, out, err = vi(st, 'pull', '127.0.0.1:5443/t/img:1', '--ca-file', ca)
    T.eq(rc, 0, 'a second pull reuses what the store has')

    vmctr_run(work, certs, ca)

    # ---- push with the library; skopeo reads it back ----
    rc, out, err = vi(st, 'push', '127.0.0.1:5443/t/img:1', '127.0.0.1:5443/t/pushed:2',
                      '--ca-file', ca)
    T.eq(rc, 0, 'vmctr-image push to another repository (blobs mounted or sent)')
    if rc:
        print('# ' + err.strip())
    rc, out = skopeo('inspect', '--cert-dir', certs, 'docker://127.0.0.1:5443/t/pushed:2')
    want = [d['digest'] for d in json.load(open(os.path.join(
        layout, 'blobs', 'sha256', m['digest'][7:])))['layers']]
    T.ok(rc == 0 and json.loads(out)['Layers'] == want, 'skopeo inspect sees the pushed layers',
         out)
    back = os.path.join(work, 'back')
    rc, out = skopeo('copy', '--src-cert-dir', certs, 'docker://127.0.0.1:5443/t/pushed:2',
                     'oci:%s:x' % back)
    T.ok(rc == 0 and all(os.path.exists(os.path.join(back, 'blobs', 'sha256', d[7:]))
                         for d in want), 'skopeo copies the pushed image back out', out)
    rlog = open(os.path.join(work, 'registry-5443.log')).read()
    T.ok('mount=' in rlog, 'the push mounted blobs from the repository the store pulled from')

    # ---- htpasswd Basic auth ----
    hp = os.path.join(work, 'htpasswd')
    subprocess.run(['htpasswd', '-Bbc', hp, 'alice', 's3cret-pw'], check=True,
                   capture_output=True)
    procs.append(rt.start_registry(work, 5444, tls_dir=os.path.join(work, 'ca'), htpasswd=hp))
    rc, out = skopeo('copy', '--dest-cert-dir', certs, '--dest-creds', 'alice:s3cret-pw',
                     'oci:%s:latest' % layout, 'docker://127.0.0.1:5444/t/img:1')
    T.eq(rc, 0, 'skopeo copies into the Basic-auth registry')
    st = os.path.join(work, 'st-basic')
    nocfg = os.path.join(work, 'none.json')
    rc, out, err = vi(st, 'pull', '127.0.0.1:5444/t/img:1', '--ca-file', ca,
                      '--docker-config', nocfg)
    T.ok(rc != 0 and 'user name and password' in err, 'anonymous: the registry wants credentials',
         err)
    rc, out, err = vi(st, 'pull', '127.0.0.1:5444/t/img:1', '--ca-file', ca, '--user', 'alice',
                      stdin='wrong-pw-123\n')
    T.ok(rc != 0 and 'refused' in err and 'wrong-pw-123' not in err,
         'a wrong password is refused, and it is not in the message', err)
    cfg = os.path.join(work, 'config.json')
    with open(cfg, 'w') as f:
        json.dump({'auths': {'127.0.0.1:5444': {
            'auth': base64.b64encode(b'alice:s3cret-pw').decode()}}}, f)
    rc, out, err = vi(st, 'pull', '127.0.0.1:5444/t/img:1', '--ca-file', ca,
                      '--docker-config', cfg)
    T.ok(rc == 0 and 's3cret' not in err, 'credentials from config.json auths', err)
    vi(st, 'rm', '127.0.0.1:5444/t/img:1')
    bindir = os.path.join(work, 'bin')
    os.makedirs(bindir)
    helper = os.path.join(bindir, 'docker-credential-vmtest')
    with open(helper, 'w') as f:
        f.write('#!/bin/sh\n[ "$1" = get ] || exit 1\nread s\n'
                '[ "$s" = 127.0.0.1:5444 ] || { echo "credentials not found"; exit 1; }\n'
                'echo \'{"ServerURL":"127.0.0.1:5444","Username":"alice",'
                '"Secret":"s3cret-pw"}\'\n')
    os.chmod(helper, 0o755)
    with open(cfg, 'w') as f:
        json.dump({'credHelpers': {'127.0.0.1:5444': 'vmtest'}}, f)
    env = dict(os.environ, PATH=bindir + ':' + os.environ['PATH'])
    rc, out, err = vi(st, 'pull', '127.0.0.1:5444/t/img:1', '--ca-file', ca,
                      '--docker-config', cfg, env=env)
    T.ok(rc == 0, 'credentials from a credHelpers helper (docker-credential-vmtest get)', err)

    # ---- bearer tokens ----
    procs.append(rt.start_registry(work, 5000))
    rc, out = skopeo('copy', '--dest-tls-verify=false', 'oci:%s:latest' % layout,
                     'docker://127.0.0.1:5000/t/img:1')
    rc2, _ = skopeo('copy', '--dest-tls-verify=false', 'oci:%s:latest' % layout,
                    'docker://127.0.0.1:5000/t/other:1')
    T.ok(rc == 0 and rc2 == 0, 'skopeo copies into the plain registry')
    serve(token_handler('http://127.0.0.1:5000', {'repository:t/img:pull'}), 5445)
    st = os.path.join(work, 'st-bearer')
    rc, out, err = vi(st, 'pull', '127.0.0.1:5445/t/img:1', '--insecure', '--docker-config',
                      nocfg)
    T.ok(rc == 0 and 'repository:t/img:pull' in TOKEN_LOG,
         'bearer flow: a token for scope repository:t/img:pull, then the pull', err)
    rc, out, err = vi(st, 'pull', '127.0.0.1:5445/t/other:1', '--insecure', '--docker-config',
                      nocfg)
    T.ok(rc != 0 and 'token service refused' in err and 'tok:' not in err,
         'a scope the token service refuses fails clearly (no token in the message)', err)

    # ---- multi-platform ----
    multi = os.path.join(work, 'multi')
    ma, _ = rt.image_manifest(multi, [rt.make_layer({'arch': HOST_ARCH.encode()}, 4)], HOST_ARCH)
    mb, _ = rt.image_manifest(multi, [rt.make_layer({'arch': OTHER_ARCH.encode()}, 5)],
                              OTHER_ARCH)
    rt.write_layout(multi, [(ma, {'os': 'linux', 'architecture': HOST_ARCH}),
                            (mb, {'os': 'linux', 'architecture': OTHER_ARCH})])
    rc, out = skopeo('copy', '--all', '--dest-tls-verify=false', 'oci:%s:latest' % multi,
                     'docker://127.0.0.1:5000/t/multi:1')
    T.eq(rc, 0, 'skopeo copies a two-platform index')
    st = os.path.join(work, 'st-multi')
    rc, out, err = vi(st, 'pull', '127.0.0.1:5000/t/multi:1', '--insecure')
    _, info = show(st, '127.0.0.1:5000/t/multi:1')
    T.ok(rc == 0 and info.get('architecture') == HOST_ARCH, 'the host\'s platform by default',
         err + str(info))
    st2 = os.path.join(work, 'st-multi2')
    rc, out, err = vi(st2, 'pull', '127.0.0.1:5000/t/multi:1', '--insecure', '--platform',
                      'linux/' + OTHER_ARCH)
    _, info = show(st2, '127.0.0.1:5000/t/multi:1')
    T.ok(rc == 0 and info.get('architecture') == OTHER_ARCH, '--platform overrides', err)
    rc, out, err = vi(st2, 'pull', '127.0.0.1:5000/t/img:1', '--insecure', '--platform',
                      'linux/' + OTHER_ARCH)
    T.ok(rc != 0 and OTHER_ARCH in err, 'a platform the image lacks is a clear error', err)

    # ---- plain http needs the opt-in ----
    rc, out, err = vi(st, 'pull', '127.0.0.1:5000/t/img:1')
    T.ok(rc != 0, 'an http registry without --insecure is not reached over http', err)

    # ---- a hostile registry ----
    layer_gz, diff = rt.make_layer({'f': os.urandom(400000)}, 6)
    docs = {}
    hdir = os.path.join(work, 'hostile')
    hm, man = rt.image_manifest(hdir, [(layer_gz, diff)], HOST_ARCH)
    cfgd = json.loads(man)['config']['digest']
    cfgb = open(os.path.join(hdir, 'blobs', 'sha256', cfgd[7:]), 'rb').read()
    for case in HOSTILE_LAYER_CASES:
        base = '/v2/h/%s/' % case
        docs[base + 'manifests/latest'] = (man, 'application/vnd.oci.image.manifest.v1+json')
        docs[base + 'blobs/' + cfgd] = (cfgb, 'application/octet-stream')
        docs[base + 'blobs/sha256:' + rt.sha(layer_gz)] = (layer_gz, 'application/octet-stream')
    docs['__layer__'] = (layer_gz, '')
    serve(hostile_handler(docs), 5446)
    st = os.path.join(work, 'st-hostile')
    vi(st, 'list')
    ldig = 'sha256:' + rt.sha(layer_gz)
    expect = {'wrong': 'not the declared', 'short': 'truncated', 'huge': 'announces',
              'loop': 'redirects', 'scheme': 'another scheme', 'stall': 'stalled'}
    for case, text in expect.items():
        before = rt.store_files(st)
        ref = '127.0.0.1:5446/h/%s:latest' % case
        rc, out, err = vi(st, 'pull', ref, '--insecure', '--retries', '1', '--stall-timeout',
                          '1')
        T.ok(rc != 0 and text in err and ref in err and ldig in err,
             '%s: a clear error naming the reference and the blob' % case, err)
        T.eq(rt.store_files(st) - before, set(), '%s: the store is unchanged' % case)
    # ---- a cut, resumed ----
    ref = '127.0.0.1:5446/h/cut:latest'
    rc, out, err = vi(st, 'pull', ref, '--insecure')
    T.ok(rc == 0, 'a blob cut half way: the pull completes', err)
    reqs = [r for r in RANGES if r[0] != 'sent']
    sent = [r[1] for r in RANGES if r[0] == 'sent']
    T.ok(len(reqs) == 2 and reqs[0][0] is None and
         reqs[1][0] == 'bytes=%d-' % sent[0] and sum(sent) == len(layer_gz),
         'the second request asks for the rest only (Range), no byte fetched twice',
         str(RANGES))


if __name__ == '__main__':
    sys.exit(main())
