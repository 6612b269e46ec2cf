#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of the agent fuzz target (tests/agent/fuzz-agent.c).

Each file is what a guest could send after the handshake: byte 0 picks the
chunk size the target feeds the client with (0 = all at once), the rest is
frames. The target's connection has requests 1..3 pending (4 cancelled) and
streams 1 (callback), 2 (no consumer), 3 (stdin from memory); host max_frame
4096, window 8192. Some files are bare field lists for the codec half
(no leading byte).

test-agent.c checks that every good file keeps the connection alive and
every bad frame file kills it.

Run: python3 tests/agent/make-corpus.py  (rewrites tests/corpus/agent-{good,bad})
It also writes tests/corpus/guest-spawn-{good,bad}, the SPAWN payloads of
tests/guest/fuzz-guest-spawn.c.
"""
import os
import struct
import sys

HELLO, REQUEST, RESPONSE, DATA, EOF, CREDIT = 1, 2, 3, 4, 5, 6
T_MAGIC, T_VERSION, T_MAX_FRAME, T_WINDOW, T_INFO = 1, 2, 3, 4, 5
T_OP, T_ERRNO, T_MESSAGE = 10, 20, 21
T_ARGV, T_ENV, T_CWD, T_GIDS, T_PID = 30, 31, 32, 35, 51
T_EXIT_CODE, T_TERM_SIGNAL = 61, 62
T_ROOT, T_JOIN_PID, T_CAPS, T_SECCOMP, T_RELAX, T_PATH, T_CONTENT = 42, 44, 52, 53, 54, 75, 77
OP_CONFIG_IFACE = 13
T_MAC, T_MTU, T_ADDR4, T_PREFIX, T_GATEWAY4, T_ROUTE4 = 90, 91, 92, 93, 94, 95


def frame(ftype, stream, payload=b"", flags=0, length=None):
    n = len(payload) if length is None else length
    return struct.pack("<IHHI", n, ftype, flags, stream) + payload


def field(tag, value):
    return struct.pack("<HI", tag, len(value)) + value


def u32(tag, v):
    return field(tag, struct.pack("<I", v))


def i32(tag, v):
    return field(tag, struct.pack("<i", v))


def s(tag, text):
    return field(tag, text if isinstance(text, bytes) else text.encode())


def resp(rid, *fields):
    return frame(RESPONSE, rid, b"".join(fields))


def credit(stream, n):
    return frame(CREDIT, stream, struct.pack("<I", n))


def ip4(text):
    a, b, c, d = (int(x) for x in text.split("."))
    return a << 24 | b << 16 | c << 8 | d


def route4(dst, prefix, via="0.0.0.0", size=12):
    return field(T_ROUTE4, struct.pack("<III", ip4(dst), prefix, ip4(via))[:size])


MAC = field(T_MAC, bytes.fromhex("02564d000001"))


def iface(*fields):
    return u32(T_OP, OP_CONFIG_IFACE) + b"".join(fields)


OP_RESTORED, T_TIME_NS, T_ENTROPY, T_DISK = 14, 79, 82, 83
TIME = field(T_TIME_NS, struct.pack("<Q", 1796176000123456789))
ENTROPY = field(T_ENTROPY, bytes(range(64)))


def DISK(serial, size):
    return field(T_DISK, struct.pack("<Q", size) + serial.encode())


def restored(*fields):
    return u32(T_OP, OP_RESTORED) + TIME + ENTROPY + b"".join(fields)


def pattern(n):
    return bytes((i * 7) % 251 for i in range(n))


GOOD = {
    "response-ok": resp(1, i32(T_ERRNO, 0), u32(T_PID, 42)),
    "response-errno": resp(2, i32(T_ERRNO, 2), s(T_MESSAGE, "no such file: /bin/x")),
    "response-no-errno": resp(1, u32(T_PID, 7)),
    "responses-out-of-order": resp(3, i32(T_ERRNO, 0), i32(T_EXIT_CODE, 0))
    + resp(1, i32(T_ERRNO, 0)) + resp(2, i32(T_ERRNO, 0), u32(T_TERM_SIGNAL, 9)),
    "response-cancelled-then-real": resp(4, i32(T_ERRNO, 0)) + resp(1, i32(T_ERRNO, 0)),
    "response-lists": resp(1, i32(T_ERRNO, 0), s(T_ARGV, "sh"), s(T_ARGV, "-c"),
                           s(T_ENV, "A=1"), u32(T_GIDS, 1), u32(T_GIDS, 2), s(T_CWD, "")),
    "data-callback-eof": frame(DATA, 1, b"hello ") + frame(DATA, 1, b"world\n") + frame(EOF, 1),
    "data-empty": frame(DATA, 1) + frame(DATA, 2),
    "data-held-full-window": frame(DATA, 2, pattern(4096)) + frame(DATA, 2, pattern(4096)),
    # Fed 255 bytes at a time: credit comes back between chunks.
    "data-callback-large-chunked": b"".join(frame(DATA, 1, pattern(4096)) for _ in range(6)),
    "credit": credit(3, 4096) + credit(3, 1),
    "eof-on-stdin-stream": frame(EOF, 3),
    "mixed": frame(DATA, 1, b"out") + resp(2, i32(T_ERRNO, 0)) + credit(3, 100)
    + frame(DATA, 2, b"err") + frame(EOF, 1) + resp(1, i32(T_ERRNO, 0)),
    "data-one-byte": frame(DATA, 1, b"x"),
    # Bare field lists: a SPAWN's confinement fields and a WRITE_FILE inside a root.
    "fields-spawn-security": u32(T_OP, 1) + s(T_ARGV, "sh") + s(T_ROOT, "/run/vmctr/rootfs")
    + field(T_CAPS, struct.pack("<Q", 0xA00425FB)) + u32(T_SECCOMP, 1) + u32(T_RELAX, 3),
    "fields-exec-unconfined": u32(T_OP, 1) + s(T_ARGV, "sh") + u32(T_JOIN_PID, 7)
    + field(T_CAPS, struct.pack("<Q", (1 << 41) - 1)) + u32(T_SECCOMP, 0),
    "fields-write-file-in-root": u32(T_OP, 8) + s(T_ROOT, "/run/vmctr/rootfs")
    + s(T_PATH, "/etc/hosts") + field(T_CONTENT, b"127.0.0.1 localhost\n"),
    # CONFIG_IFACE (the guest's decoder: tests/guest/fuzz-guest-net.c; the
    # fields-iface-* files are checked to mean their names by test-guest-net-parse.c).
    "fields-iface-full": iface(MAC, u32(T_MTU, 1400), u32(T_ADDR4, ip4("10.0.2.15")),
                               u32(T_PREFIX, 24), u32(T_GATEWAY4, ip4("10.0.2.2")),
                               route4("192.168.50.0", 24, "10.0.2.3"), route4("172.16.0.0", 16)),
    "fields-iface-link-only": iface(MAC),
    "fields-iface-routes-64": iface(MAC, u32(T_ADDR4, ip4("10.0.2.15")), u32(T_PREFIX, 24),
                                    *[route4("192.168.%d.0" % i, 24, "10.0.2.1")
                                      for i in range(64)]),
}
# RESTORED (the guest's decoder: tests/guest/fuzz-guest-restore.c; the
# fields-restored-* files are checked to mean their names by test-guest-restore-parse.c).
GOOD.update({
    "fields-restored-full": restored(DISK("vmctr0", 80 << 20), DISK("vmctr1", 1 << 20),
                                     field(T_MAC, bytes([2, 0x11, 0x22, 0x33, 0x44, 0x55]))),
    "fields-restored-minimal": restored(),
})
# The same frames fed one byte and seven bytes at a time.
GOOD["mixed-bytewise"] = GOOD["mixed"]
GOOD["mixed-chunk7"] = GOOD["mixed"]
CHUNK = {"mixed-bytewise": 1, "mixed-chunk7": 7, "data-callback-large-chunked": 255}

BAD_RESTORED = {
    "fields-restored-no-time": u32(T_OP, OP_RESTORED) + ENTROPY,
    "fields-restored-entropy-short": u32(T_OP, OP_RESTORED) + TIME + field(T_ENTROPY, b"x" * 31),
    "fields-restored-entropy-long": u32(T_OP, OP_RESTORED) + TIME + field(T_ENTROPY, b"x" * 513),
    "fields-restored-mac-multicast": restored(field(T_MAC, bytes([1, 2, 3, 4, 5, 6]))),
    "fields-restored-disk-no-serial": restored(field(T_DISK, struct.pack("<Q", 5))),
    "fields-restored-disk-serial-space": restored(DISK("a b", 5)),
    "fields-restored-disks-17": restored(*[DISK("d%d" % i, i) for i in range(17)]),
    "fields-restored-macs-9": restored(*[field(T_MAC, bytes([2, 0, 0, 0, 0, i])) for i in range(9)]),
}
BAD = {
    "truncated-header": frame(DATA, 1, b"abc")[:7],
    "truncated-payload": frame(DATA, 1, b"abcdef")[:15],
    "oversize-length": frame(DATA, 1, b"", length=4097),
    "huge-length": frame(RESPONSE, 1, b"", length=0xFFFFFFFF),
    "unknown-type-0": frame(0, 1),
    "unknown-type-7": frame(7, 1),
    "unknown-type-ffff": frame(0xFFFF, 1),
    "stream-zero": frame(DATA, 0, b"x"),
    "unknown-stream": frame(DATA, 9, b"x"),
    "response-unknown-id": resp(99, i32(T_ERRNO, 0)),
    "response-twice": resp(1, i32(T_ERRNO, 0)) + resp(1, i32(T_ERRNO, 0)),
    "field-len-beyond-payload": frame(RESPONSE, 1, struct.pack("<HI", T_ERRNO, 100) + b"\0" * 4),
    "field-header-truncated": frame(RESPONSE, 1, b"\x14\x00\x04"),
    "errno-wrong-size": resp(1, field(T_ERRNO, b"\0" * 8)),
    "message-with-nul": resp(2, i32(T_ERRNO, 5), s(T_MESSAGE, b"bad\0message")),
    "data-beyond-credit": frame(DATA, 2, pattern(4096)) + frame(DATA, 2, pattern(4096))
    + frame(DATA, 2, b"!"),
    # All at once: 24 KiB on a stream whose window is 8 KiB.
    "data-callback-beyond-window": b"".join(frame(DATA, 1, pattern(4096)) for _ in range(3)),
    "data-after-eof": frame(EOF, 1) + frame(DATA, 1, b"x"),
    "eof-twice": frame(EOF, 2) + frame(EOF, 2),
    "credit-short": frame(CREDIT, 3, b"\1\0\0"),
    "credit-overflow": credit(3, 0xFFFFFFFF),
    "hello-again": frame(HELLO, 0, u32(T_MAGIC, 0x564D4354) + u32(T_VERSION, 1)),
    "request-from-guest": frame(REQUEST, 5, u32(T_OP, 12)),
    # Bare field lists for the codec half of the target.
    "fields-too-many": b"\0" * (6 * 8193),
    "fields-list-too-long": b"".join(s(T_ENV, "A=1") for _ in range(4097)),
    "fields-string-too-long": s(T_MESSAGE, b"x" * 65537),
    "fields-caps-short": u32(T_OP, 1) + field(T_CAPS, b"\xfb\x25\x04\xa0"),
    "fields-seccomp-long": u32(T_OP, 1) + field(T_SECCOMP, b"\1\0\0\0\0"),
    "fields-len-overflow": struct.pack("<HI", 1, 0xFFFFFFFA) + b"\0" * 8,
    "fields-iface-no-mac": iface(u32(T_MTU, 1400)),
    "fields-iface-mac-short": iface(field(T_MAC, bytes.fromhex("02564d0000"))),
    "fields-iface-mac-multicast": iface(field(T_MAC, bytes.fromhex("03564d000001"))),
    "fields-iface-mtu-small": iface(MAC, u32(T_MTU, 67)),
    "fields-iface-mtu-wrong-size": iface(MAC, field(T_MTU, b"\x78\x05")),
    "fields-iface-prefix-33": iface(MAC, u32(T_ADDR4, ip4("10.0.2.15")), u32(T_PREFIX, 33)),
    "fields-iface-prefix-without-addr": iface(MAC, u32(T_PREFIX, 24)),
    "fields-iface-addr-without-prefix": iface(MAC, u32(T_ADDR4, ip4("10.0.2.15"))),
    "fields-iface-addr-multicast": iface(MAC, u32(T_ADDR4, ip4("224.0.0.1")), u32(T_PREFIX, 4)),
    "fields-iface-gateway-loopback": iface(MAC, u32(T_GATEWAY4, ip4("127.0.0.1"))),
    "fields-iface-routes-65": iface(MAC, *[route4("192.168.%d.0" % i, 24) for i in range(65)]),
    "fields-iface-route-short": iface(MAC, route4("192.168.1.0", 24, size=11)),
    "fields-iface-route-host-bits": iface(MAC, route4("192.168.1.1", 24)),
    "fields-iface-route-prefix-33": iface(MAC, route4("192.168.1.0", 33)),
}

# The guest's SPAWN decoder (tests/guest/fuzz-guest-spawn.c): bare REQUEST
# payloads. Good ones are accepted by guest_spawn_parse, bad ones refused;
# between them they use every field it reads.
T_UID, T_GID, T_PTY, T_NAMESPACES, T_HOSTNAME = 33, 34, 39, 43, 45
T_CGROUP, T_MEMORY_MAX, T_CPU_MAX, T_RLIMIT, T_NO_NEW_PRIVS = 46, 47, 48, 49, 50
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x20000, 0x4000000, 0x8000000
CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP = 0x20000000, 0x40000000, 0x2000000
T_PATHS, T_MASKED, T_READONLY = 57, 58, 59
CONTAINER_NS = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC


def u64(tag, v):
    return field(tag, struct.pack("<Q", v))


def rlimit(resource, soft, hard):
    return field(T_RLIMIT, struct.pack("<IQQ", resource, soft, hard))


T_SECCOMP_FILTER, T_PIDS_MAX = 55, 56


def bpf(*insns):
    """A SECCOMP_FILTER field: (code, jt, jf, k) instructions, little-endian."""
    return field(T_SECCOMP_FILTER, b"".join(struct.pack("<HBBI", *i) for i in insns))


LD_ARCH, JEQ_K, RET_K = (0x20, 0, 0, 4), 0x15, 0x06
# arch == x86_64 ? allow : kill
FILTER = bpf(LD_ARCH, (JEQ_K, 0, 1, 0xC000003E), (RET_K, 0, 0, 0x7FFF0000), (RET_K, 0, 0, 0))

SPAWN = u32(T_OP, 1) + s(T_ARGV, "/bin/sh") + s(T_ARGV, "-c") + s(T_ARGV, "echo hi")
ROOT = s(T_ROOT, "/run/vmctr/rootfs")
SPAWN_GOOD = {
    "plain": u32(T_OP, 1) + s(T_ARGV, "true"),
    "plain-everything": SPAWN + s(T_ENV, "PATH=/bin") + s(T_ENV, "HOME=/root") + s(T_CWD, "/tmp")
    + u32(T_UID, 1000) + u32(T_GID, 1000) + u32(T_GIDS, 10) + u32(T_GIDS, 20) + u32(T_PTY, 1)
    + s(T_CGROUP, "vmctr/helper") + u64(T_MEMORY_MAX, 64 << 20) + s(T_CPU_MAX, "50000 100000")
    + rlimit(7, 1024, 4096) + rlimit(6, 100, 200) + u32(T_NO_NEW_PRIVS, 1),
    "container-defaults": SPAWN + ROOT,
    "container-all": SPAWN + ROOT + u32(T_NAMESPACES, CONTAINER_NS | CLONE_NEWNET | CLONE_NEWCGROUP)
    + s(T_HOSTNAME, "web-1") + s(T_CGROUP, "vmctr/c1") + u64(T_CAPS, 0xA00425FB)
    + u32(T_SECCOMP, 1) + u32(T_RELAX, 0) + s(T_CWD, "/") + u32(T_UID, 0) + u32(T_GID, 0),
    "container-privileged": SPAWN + ROOT + u32(T_NAMESPACES, CONTAINER_NS)
    + u64(T_CAPS, (1 << 41) - 1) + u32(T_SECCOMP, 0) + u32(T_RELAX, 3),
    "container-caps-none": SPAWN + ROOT + u64(T_CAPS, 0) + u32(T_SECCOMP, 1),
    "container-caps-all-seccomp": SPAWN + ROOT + u64(T_CAPS, (1 << 41) - 1) + u32(T_SECCOMP, 1),
    "container-sys-admin": SPAWN + ROOT + u64(T_CAPS, 0xA00425FB | 1 << 21) + u32(T_SECCOMP, 1),
    "exec-join": SPAWN + u32(T_JOIN_PID, 7) + u64(T_CAPS, 0xA00425FB) + u32(T_SECCOMP, 1)
    + s(T_CWD, "/work") + u32(T_UID, 65534) + u32(T_GID, 65534),
    "exec-join-unconfined": SPAWN + u32(T_JOIN_PID, 7) + u32(T_SECCOMP, 0),
    "exec-join-defaults": SPAWN + u32(T_JOIN_PID, 1),
    "container-filter": SPAWN + ROOT + u64(T_CAPS, 0xA00425FB) + u32(T_SECCOMP, 1) + FILTER,
    "exec-join-filter-nnp": SPAWN + u32(T_JOIN_PID, 7) + u32(T_NO_NEW_PRIVS, 1)
    + bpf((RET_K, 0, 0, 0x7FFF0000)),
    "container-filter-max": SPAWN + ROOT + bpf(*([(0x20, 0, 0, 0)] * 4095 + [(RET_K, 0, 0, 0x7FFF0000)])),
    "container-pids-max": SPAWN + ROOT + s(T_CGROUP, "vmctr/c1") + u64(T_PIDS_MAX, 20),
    "container-paths": SPAWN + ROOT + u32(T_PATHS, 3) + s(T_MASKED, "/proc/kcore")
    + s(T_MASKED, "/etc/secret") + s(T_READONLY, "/proc/sys"),
    "container-paths-none": SPAWN + ROOT + u32(T_PATHS, 3),
    "container-paths-masked-only": SPAWN + ROOT + u32(T_PATHS, 1) + s(T_MASKED, "/sys/firmware"),
}
SPAWN_BAD = {
    "no-argv": u32(T_OP, 1) + s(T_ENV, "A=1"),
    "argv-nul": u32(T_OP, 1) + s(T_ARGV, b"sh\0x"),
    "env-nul": SPAWN + s(T_ENV, b"A=\0"),
    "cwd-relative": SPAWN + s(T_CWD, "tmp"),
    "root-relative": SPAWN + s(T_ROOT, "run/vmctr/rootfs"),
    "root-with-join": SPAWN + ROOT + u32(T_JOIN_PID, 7),
    "namespaces-without-root": SPAWN + u32(T_NAMESPACES, CLONE_NEWPID),
    "namespaces-user": SPAWN + ROOT + u32(T_NAMESPACES, CONTAINER_NS | 0x10000000),
    "hostname-without-uts": SPAWN + ROOT + u32(T_NAMESPACES, CLONE_NEWNS | CLONE_NEWPID)
    + s(T_HOSTNAME, "x"),
    "hostname-plain": SPAWN + s(T_HOSTNAME, "x"),
    "gids-short": SPAWN + field(T_GIDS, b"\1\0"),
    "rlimit-short": SPAWN + field(T_RLIMIT, b"\0" * 19),
    "rlimit-long": SPAWN + rlimit(7, 1, 2) + field(T_RLIMIT, b"\0" * 21),
    "caps-short": SPAWN + ROOT + field(T_CAPS, b"\xfb\x25\x04\xa0"),
    "caps-plain": SPAWN + u64(T_CAPS, 0xA00425FB),
    "seccomp-plain": SPAWN + u32(T_SECCOMP, 0),
    "seccomp-unknown": SPAWN + ROOT + u32(T_SECCOMP, 2),
    "seccomp-long": SPAWN + ROOT + field(T_SECCOMP, b"\1\0\0\0\0"),
    "relax-unknown": SPAWN + ROOT + u32(T_RELAX, 4),
    "relax-exec": SPAWN + u32(T_JOIN_PID, 7) + u32(T_RELAX, 1),
    "relax-short": SPAWN + ROOT + field(T_RELAX, b"\1"),
    "cgroup-nul": SPAWN + s(T_CGROUP, b"a\0b"),
    "filter-plain": SPAWN + FILTER,
    "filter-empty": SPAWN + ROOT + field(T_SECCOMP_FILTER, b""),
    "filter-odd": SPAWN + ROOT + field(T_SECCOMP_FILTER, b"\6\0\0\0\0\0\0"),
    "filter-too-long": SPAWN + ROOT + bpf(*([(RET_K, 0, 0, 0)] * 4097)),
    "filter-jump-out": SPAWN + ROOT + bpf(LD_ARCH, (JEQ_K, 0, 2, 0xC000003E), (RET_K, 0, 0, 0)),
    "filter-ja-out": SPAWN + ROOT + bpf((0x05, 0, 0, 1), (RET_K, 0, 0, 0)),
    "filter-no-ret": SPAWN + ROOT + bpf((RET_K, 0, 0, 0), LD_ARCH),
    "filter-twice": SPAWN + ROOT + FILTER + FILTER,
    "pids-max-zero": SPAWN + ROOT + s(T_CGROUP, "vmctr/c1") + u64(T_PIDS_MAX, 0),
    "pids-max-no-cgroup": SPAWN + ROOT + u64(T_PIDS_MAX, 20),
    "pids-max-short": SPAWN + ROOT + s(T_CGROUP, "vmctr/c1") + field(T_PIDS_MAX, b"\24\0\0\0"),
    "paths-exec": SPAWN + u32(T_JOIN_PID, 7) + u32(T_PATHS, 1),
    "paths-unknown": SPAWN + ROOT + u32(T_PATHS, 4),
    "paths-short": SPAWN + ROOT + field(T_PATHS, b"\1"),
    "masked-without-flag": SPAWN + ROOT + u32(T_PATHS, 2) + s(T_MASKED, "/proc/kcore"),
    "readonly-without-paths": SPAWN + ROOT + s(T_READONLY, "/proc/sys"),
    "masked-relative": SPAWN + ROOT + u32(T_PATHS, 1) + s(T_MASKED, "proc/kcore"),
    "masked-dotdot": SPAWN + ROOT + u32(T_PATHS, 1) + s(T_MASKED, "/proc/../etc"),
    "readonly-root": SPAWN + ROOT + u32(T_PATHS, 2) + s(T_READONLY, "/"),
    "readonly-trailing": SPAWN + ROOT + u32(T_PATHS, 2) + s(T_READONLY, "/proc/"),
    "masked-257": SPAWN + ROOT + u32(T_PATHS, 1) + b"".join(s(T_MASKED, "/m%d" % i) for i in range(257)),
}


def write_fields(dirname, files):
    os.makedirs(dirname, exist_ok=True)
    for old in os.listdir(dirname):
        os.unlink(os.path.join(dirname, old))
    for name, data in files.items():
        with open(os.path.join(dirname, name), "wb") as f:
            f.write(data)


def write(dirname, files):
    os.makedirs(dirname, exist_ok=True)
    for old in os.listdir(dirname):
        os.unlink(os.path.join(dirname, old))
    for name, data in files.items():
        lead = b"" if name.startswith("fields-") else bytes([CHUNK.get(name, 0)])
        with open(os.path.join(dirname, name), "wb") as f:
            f.write(lead + data)


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")
    write(os.path.join(root, "agent-good"), GOOD)
    write(os.path.join(root, "agent-bad"), dict(BAD, **BAD_RESTORED))
    write_fields(os.path.join(root, "guest-spawn-good"), SPAWN_GOOD)
    write_fields(os.path.join(root, "guest-spawn-bad"), SPAWN_BAD)
    return 0


if __name__ == "__main__":
    sys.exit(main())
