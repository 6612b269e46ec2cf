# SPDX-License-Identifier: MIT
"""Shared pieces of the registry tests and benchmark: OCI layouts made here,
a test CA made with the openssl program, Debian's docker-registry on
loopback, and a network namespace of our own for all of it."""
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time


def in_own_netns(argv):
    """Re-run argv in a new network namespace with only lo, once. Returns
    False when that is impossible (then the caller skips)."""
    if os.environ.get('VMCTR_REGTEST_NETNS') == '1':
        return True
    if not shutil.which('unshare') or not shutil.which('ip'):
        return False
    env = dict(os.environ, VMCTR_REGTEST_NETNS='1')
    cmd = ['unshare', '-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh'] + argv
    try:
        rc = subprocess.call(cmd, env=env)
    except OSError:
        return False
    sys.exit(rc)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def make_layer(files, seed=0):
    """files: {path: bytes or ('link', target) or ('dir',)} -> (gz bytes, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode='w', format=tarfile.PAX_FORMAT) as t:
        for path in sorted(files):
            v = files[path]
            ti = tarfile.TarInfo(path)
            ti.mtime = 1700000000 + seed
            if isinstance(v, tuple) and v[0] == 'dir':
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif isinstance(v, tuple) and v[0] == 'link':
                ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, v[1], 0o777
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(v), 0o644
                t.addfile(ti, io.BytesIO(v))
    tar = raw.getvalue()
    gz = gzip.compress(tar, compresslevel=1, mtime=0)
    return gz, 'sha256:' + sha(tar)


def put_blob(layout, data):
    d = os.path.join(layout, 'blobs', 'sha256')
    os.makedirs(d, exist_ok=True)
    h = sha(data)
    with open(os.path.join(d, h), 'wb') as f:
        f.write(data)
    return {'digest': 'sha256:' + h, 'size': len(data)}


def image_manifest(layout, layers, arch):
    """Write config + layers + manifest blobs; returns the manifest descriptor."""
    descs, diffs = [], []
    for gz, diff in layers:
        d = put_blob(layout, gz)
        d['mediaType'] = 'application/vnd.oci.image.layer.v1.tar+gzip'
        descs.append(d)
        diffs.append(diff)
    cfg = json.dumps({'architecture': arch, 'os': 'linux',
                      'config': {'Cmd': ['/bin/sh'], 'Env': ['PATH=/bin']},
                      'rootfs': {'type': 'layers', 'diff_ids': diffs}}).encode()
    c = put_blob(layout, cfg)
    c['mediaType'] = 'application/vnd.oci.image.config.v1+json'
    man = json.dumps({'schemaVersion': 2,
                      'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                      'config': c, 'layers': descs}).encode()
    m = put_blob(layout, man)
    m['mediaType'] = 'application/vnd.oci.image.manifest.v1+json'
    return m, man


def write_layout(layout, manifests, ref='latest'):
    """manifests: [(descriptor, platform or None)]. An index of them all (nested
    as one image index when there are several), tagged ref."""
    os.makedirs(layout, exist_ok=True)
    with open(os.path.join(layout, 'oci-layout'), 'w') as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    if len(manifests) == 1:
        top = dict(manifests[0][0])
    else:
        ents = []
        for d, plat in manifests:
            e = dict(d)
            e['platform'] = plat
            ents.append(e)
        ix = json.dumps({'schemaVersion': 2,
                         'mediaType': 'application/vnd.oci.image.index.v1+json',
                         'manifests': ents}).encode()
        top = put_blob(layout, ix)
        top['mediaType'] = 'application/vnd.oci.image.index.v1+json'
    top['annotations'] = {'org.opencontainers.image.ref.name': ref}
    with open(os.path.join(layout, 'index.json'), 'w') as f:
        json.dump({'schemaVersion': 2, 'manifests': [top]}, f)


def make_ca(d):
    """A CA and a server certificate for 127.0.0.1, made with openssl(1)."""
    os.makedirs(d, exist_ok=True)

    def ossl(*a):
        subprocess.run(['openssl'] + list(a), cwd=d, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt',
         '-days', '2', '-subj', '/CN=vmctr test CA')
    ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr',
         '-subj', '/CN=127.0.0.1')
    with open(os.path.join(d, 'ext.cnf'), 'w') as f:
        f.write('subjectAltName=IP:127.0.0.1\n')
    ossl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key',
         '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf')
    return os.path.join(d, 'ca.crt')


def wait_port(port, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(('127.0.0.1', port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start_registry(work, port, tls_dir=None, htpasswd=None):
    """docker-registry (distribution 2.8) on 127.0.0.1:port; returns the process."""
    data = os.path.join(work, 'registry-%d' % port)
    os.makedirs(data, exist_ok=True)
    cfg = ['version: 0.1', 'log:', '  level: info', '  accesslog:', '    disabled: false',
           'storage:', '  filesystem:', '    rootdirectory: ' + data, 'http:',
           '  addr: 127.0.0.1:%d' % port]
    if tls_dir:
        cfg += ['  tls:', '    certificate: ' + os.path.join(tls_dir, 'server.crt'),
                '    key: ' + os.path.join(tls_dir, 'server.key')]
    if htpasswd:
        cfg += ['auth:', '  htpasswd:', '    realm: test', '    path: ' + htpasswd]
    path = os.path.join(work, 'registry-%d.yml' % port)
    with open(path, 'w') as f:
        f.write('\n'.join(cfg) + '\n')
    log = open(os.path.join(work, 'registry-%d.log' % port), 'w')
    p = subprocess.Popen(['docker-registry', 'serve', path], stdout=log, stderr=log)
    if not wait_port(port):
        p.kill()
        p.wait()
        raise RuntimeError('docker-registry did not listen on %d' % port)
    return p


def tree(root):
    """A canonical listing: path, type, mode, size and content hash or link target."""
    out = []
    for dp, dns, fns in os.walk(root):
        for n in sorted(dns + fns):
            p = os.path.join(dp, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out.append((rel, 'l', os.readlink(p)))
            elif os.path.isdir(p):
                out.append((rel, 'd', oct(st.st_mode & 0o7777)))
            else:
                with open(p, 'rb') as f:
                    out.append((rel, 'f', oct(st.st_mode & 0o7777), st.st_size,
                                sha(f.read())))
    return sorted(out)


def store_files(store):
    """Every file and directory of a store but its lock files (flocks are not content)."""
    out = set()
    for dp, dns, fns in os.walk(store):
        rel = os.path.relpath(dp, store)
        if rel == 'locks' or rel.startswith('locks/'):
            continue
        for n in dns + fns:
            out.add(os.path.join(rel, n))
    return out
