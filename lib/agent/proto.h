/* SPDX-License-Identifier: MIT */
/*
 * The agent protocol: constants shared by the host (lib/agent/client.c) and
 * the guest (vmctr-init). Pure C, no libvmctr dependencies: the guest links
 * the codec statically. See doc/protocol.md for the prose version.
 *
 * Wire format. One reliable byte stream carries frames:
 *
 *   u32 length   payload bytes that follow the 12-byte header
 *   u16 type     VMCTR_AF_*
 *   u16 flags    VMCTR_AFF_*
 *   u32 stream   request id (REQUEST/RESPONSE) or stdio stream id (DATA/EOF/CREDIT)
 *
 * All integers are little-endian. Control payloads (HELLO, REQUEST, RESPONSE)
 * are a sequence of fields { u16 tag, u32 len, len bytes }. A tag may repeat
 * (argv, env, gids, mount options): repeats form a list in order. Integers are
 * fixed size by tag (u32: 4 bytes, i32: 4, u64: 8); strings carry no NUL.
 * DATA payloads are raw bytes.
 *
 * Sequence: the guest sends HELLO first (it knows when the port is open); the
 * host answers HELLO. Each side uses min(its max_frame, peer's max_frame).
 * Then the host sends REQUESTs, each with a host-chosen nonzero request id in
 * `stream`; the guest answers each with exactly one RESPONSE carrying the same
 * id (WAIT answers when the process exits, so responses may come out of order).
 *
 * Stdio: a SPAWN names host-chosen nonzero stream ids for stdin, stdout and
 * stderr (0 = not connected, /dev/null). DATA on a stream id moves bytes; EOF
 * closes the sender's direction. Flow control is per stream and per direction:
 * the sender may have at most `window` unacknowledged bytes in flight (initial
 * window from the receiver's HELLO); the receiver returns CREDIT {u32 bytes}
 * frames as its consumer takes the data. DATA beyond credit is a protocol error.
 */
#ifndef VMCTR_AGENT_PROTO_H
#define VMCTR_AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define VMCTR_AGENT_MAGIC 0x564d4354u      /* "VMCT", first field of HELLO */
#define VMCTR_AGENT_VERSION 1u
#define VMCTR_AGENT_HDR_SIZE 12u
#define VMCTR_AGENT_MAX_FRAME (1u << 20)    /* hard upper bound on any payload */
#define VMCTR_AGENT_DEFAULT_FRAME (64u << 10)
#define VMCTR_AGENT_DEFAULT_WINDOW (256u << 10)
#define VMCTR_AGENT_MAX_FIELDS 8192u        /* per control message */
#define VMCTR_AGENT_MAX_LIST 4096u          /* entries of one repeated tag */
#define VMCTR_AGENT_MAX_STRING 65536u       /* bytes in one string field */
#define VMCTR_AGENT_MAX_FILE (512u << 10)   /* WRITE_FILE content per request */

/* Frame types. */
enum {
  VMCTR_AF_HELLO = 1,
  VMCTR_AF_REQUEST = 2,
  VMCTR_AF_RESPONSE = 3,
  VMCTR_AF_DATA = 4,
  VMCTR_AF_EOF = 5,
  VMCTR_AF_CREDIT = 6,   /* payload: u32 bytes granted (not a field list) */
};

/* Operations (REQUEST field VMCTR_AT_OP). */
enum {
  VMCTR_AOP_SPAWN = 1,        /* -> PID (u32) */
  VMCTR_AOP_SIGNAL = 2,       /* PROC, SIGNO */
  VMCTR_AOP_WAIT = 3,         /* PROC -> EXIT_CODE or TERM_SIGNAL; answered at exit */
  VMCTR_AOP_CLOSE_STDIN = 4,  /* PROC (same effect as EOF on its stdin stream) */
  VMCTR_AOP_RESIZE = 5,       /* PROC, ROWS, COLS (pty only) */
  VMCTR_AOP_MOUNT = 6,        /* SOURCE, TARGET, FSTYPE, FLAGS, DATA, MKDIR */
  VMCTR_AOP_MKDIR = 7,        /* PATH, MODE: mkdir -p */
  VMCTR_AOP_WRITE_FILE = 8,   /* PATH, MODE, CONTENT (replaces atomically) */
  VMCTR_AOP_SET_HOSTNAME = 9, /* NAME */
  VMCTR_AOP_SET_TIME = 10,    /* TIME_NS: CLOCK_REALTIME in ns since the epoch */
  VMCTR_AOP_POWEROFF = 11,    /* answered, then the guest syncs and powers off */
  VMCTR_AOP_PING = 12,        /* answered at once; liveness and latency */
  VMCTR_AOP_CONFIG_IFACE = 13,/* MAC, MTU, ADDR4, PREFIX, GATEWAY4, ROUTE4*: one interface */
  VMCTR_AOP_RESTORED = 14,    /* TIME_NS, ENTROPY, DISK*, MAC*: a VM restored from a template */
};

/* Field tags. Type in brackets; [*] repeats. */
enum {
  /* HELLO */
  VMCTR_AT_MAGIC = 1,         /* u32 VMCTR_AGENT_MAGIC */
  VMCTR_AT_VERSION = 2,       /* u32 */
  VMCTR_AT_MAX_FRAME = 3,     /* u32 largest payload this side accepts */
  VMCTR_AT_WINDOW = 4,        /* u32 initial credit per stream this side grants */
  VMCTR_AT_AGENT_INFO = 5,    /* str free text, e.g. "vmctr-init 0.1.0 linux 6.1.x" */

  /* REQUEST common */
  VMCTR_AT_OP = 10,           /* u32 VMCTR_AOP_* */

  /* RESPONSE common */
  VMCTR_AT_ERRNO = 20,        /* i32, 0 = success; Linux errno values */
  VMCTR_AT_MESSAGE = 21,      /* str, human-readable detail on failure */

  /* SPAWN */
  VMCTR_AT_ARGV = 30,         /* str [*], at least one */
  VMCTR_AT_ENV = 31,          /* str [*] "K=V" */
  VMCTR_AT_CWD = 32,          /* str absolute */
  VMCTR_AT_UID = 33,          /* u32 */
  VMCTR_AT_GID = 34,          /* u32 */
  VMCTR_AT_GIDS = 35,         /* u32 [*] supplementary groups */
  VMCTR_AT_STDIN = 36,        /* u32 stream id, 0 = /dev/null */
  VMCTR_AT_STDOUT = 37,       /* u32 stream id */
  VMCTR_AT_STDERR = 38,       /* u32 stream id */
  VMCTR_AT_PTY = 39,          /* u32 1 = stdin/stdout/stderr on one pty; output on STDOUT */
  VMCTR_AT_ROWS = 40,         /* u32 */
  VMCTR_AT_COLS = 41,         /* u32 */
  VMCTR_AT_ROOT = 42,         /* str: pivot_root into this dir (container rootfs) */
  VMCTR_AT_NAMESPACES = 43,   /* u32 CLONE_NEW* flags for a new container (with ROOT) */
  VMCTR_AT_JOIN_PID = 44,     /* u32 PID whose namespaces and root to enter (exec) */
  VMCTR_AT_HOSTNAME = 45,     /* str, in a new UTS namespace */
  VMCTR_AT_CGROUP = 46,       /* str cgroup path under /sys/fs/cgroup to join/create */
  VMCTR_AT_MEMORY_MAX = 47,   /* u64 bytes, cgroup memory.max */
  VMCTR_AT_CPU_MAX = 48,      /* str cgroup cpu.max, e.g. "200000 100000" */
  VMCTR_AT_RLIMIT = 49,       /* bytes [*]: u32 resource, u64 soft, u64 hard (20 bytes) */
  VMCTR_AT_NO_NEW_PRIVS = 50, /* u32 1 = prctl(PR_SET_NO_NEW_PRIVS) */
  VMCTR_AT_PID = 51,          /* u32 response: guest pid; request: process to act on */
  /* Confinement of a container's process (ROOT or JOIN_PID). Absent: the
   * defaults (VMCTR_AGENT_CAPS_DEFAULT, SECCOMP_DEFAULT, no RELAX); a plain
   * guest process (neither ROOT nor JOIN_PID) is left as vmctr-init is. */
  VMCTR_AT_CAPS = 52,         /* u64 capability bits: bounding = permitted = effective */
  VMCTR_AT_SECCOMP = 53,      /* u32 VMCTR_ASECCOMP_* profile */
  VMCTR_AT_RELAX = 54,        /* u32 VMCTR_ARELAX_* (new container only) */
  /* bytes: the caller's classic BPF program, 8 bytes an instruction (u16
   * code, u8 jt, u8 jf, u32 k, little-endian), 1..VMCTR_AGENT_MAX_FILTER
   * instructions; installed instead of SECCOMP's profile (ROOT or JOIN_PID). */
  VMCTR_AT_SECCOMP_FILTER = 55,
  VMCTR_AT_PIDS_MAX = 56,     /* u64 cgroup pids.max (with CGROUP), nonzero */
  /* Masked and read-only paths of a new container (ROOT). Absent: the
   * guest's defaults (none with RELAX PATHS). A VMCTR_APATHS_* bit says
   * that the list of that tag (perhaps empty) replaces the defaults. */
  VMCTR_AT_PATHS = 57,        /* u32 VMCTR_APATHS_* */
  VMCTR_AT_MASKED = 58,       /* str [*] absolute, normalized: /dev/null or an empty tmpfs over it */
  VMCTR_AT_READONLY = 59,     /* str [*] absolute, normalized: bound read-only */

  /* SIGNAL / WAIT / RESIZE */
  VMCTR_AT_SIGNO = 60,        /* u32 */
  VMCTR_AT_EXIT_CODE = 61,    /* i32 response of WAIT: exit status 0..255 */
  VMCTR_AT_TERM_SIGNAL = 62,  /* u32 response of WAIT: terminating signal */

  /* MOUNT / MKDIR / WRITE_FILE / SET_HOSTNAME / SET_TIME */
  VMCTR_AT_SOURCE = 70,       /* str; "vmctr-blk:SERIAL" names the virtio-blk disk with that serial */
  VMCTR_AT_TARGET = 71,       /* str absolute */
  VMCTR_AT_FSTYPE = 72,       /* str */
  VMCTR_AT_MOUNT_FLAGS = 73,  /* u64 MS_* flags */
  VMCTR_AT_MOUNT_DATA = 74,   /* str options passed to mount(2) */
  VMCTR_AT_PATH = 75,         /* str absolute */
  VMCTR_AT_MODE = 76,         /* u32 */
  VMCTR_AT_CONTENT = 77,      /* bytes */
  VMCTR_AT_NAME = 78,         /* str */
  VMCTR_AT_TIME_NS = 79,      /* u64 */
  VMCTR_AT_MKDIR = 80,        /* u32 1 = mkdir -p TARGET first */
  VMCTR_AT_IN_PLACE = 81,     /* u32 1 = WRITE_FILE writes the existing file in place (procfs, sysfs) */
  /* MOUNT of a file share: SOURCE is the share's tag; the guest mounts it at
   * a private staging place, binds its entry SHARE_FILE (one path component)
   * onto TARGET (a file, created empty if missing; never a directory), then
   * detaches the staging mount. */
  VMCTR_AT_SHARE_FILE = 86,   /* str */

  /* CONFIG_IFACE. IPv4 addresses are u32 numbers (10.0.2.15 is 0x0a00020f),
   * little-endian on the wire like every integer. */
  VMCTR_AT_ENTROPY = 82,      /* bytes VMCTR_AGENT_ENTROPY_MIN..MAX: host randomness to mix in */
  VMCTR_AT_DISK = 83,         /* bytes [*]: u64 size in bytes, then the disk's serial (1..20) */
  /* POWEROFF: a disk whose content is thrown away (an ephemeral mount): the
   * guest leaves its file systems as they are, neither written back nor
   * unmounted. */
  VMCTR_AT_EPHEMERAL = 84,    /* str [*]: the disk's serial (1..20) */

  VMCTR_AT_MAC = 90,          /* bytes, exactly 6: the interface to configure */
  VMCTR_AT_MTU = 91,          /* u32 68..65535; absent or 0: left as it is */
  VMCTR_AT_ADDR4 = 92,        /* u32 address; absent or 0: link up only */
  VMCTR_AT_PREFIX = 93,       /* u32 1..32, with a nonzero ADDR4 only */
  VMCTR_AT_GATEWAY4 = 94,     /* u32 the default route's gateway; absent or 0: none */
  VMCTR_AT_ROUTE4 = 95,       /* bytes [*]: u32 dst, u32 prefix, u32 via (0: on-link), 12 bytes */
};

/* CONFIG_IFACE bounds (the guest checks them all before changing anything). */
#define VMCTR_AGENT_ENTROPY_MIN 32u  /* RESTORED: bytes of ENTROPY */
#define VMCTR_AGENT_ENTROPY_MAX 512u
#define VMCTR_AGENT_MAX_NICS 8u      /* RESTORED: MAC fields */
#define VMCTR_AGENT_MAX_DISKS 16u    /* RESTORED: DISK fields */
#define VMCTR_AGENT_SERIAL_MAX 20u
#define VMCTR_AGENT_MAX_ROUTES 64u   /* ROUTE4 fields per request (VMCTR__NET_MAX_ROUTES) */
#define VMCTR_AGENT_ROUTE4_SIZE 12u
#define VMCTR_AGENT_MTU_MIN 68u
#define VMCTR_AGENT_MTU_MAX 65535u

/* PATHS flags, and the bounds of the lists (the guest checks them too). */
#define VMCTR_APATHS_MASKED (1u << 0)
#define VMCTR_APATHS_READONLY (1u << 1)
#define VMCTR_APATHS_ALL (VMCTR_APATHS_MASKED | VMCTR_APATHS_READONLY)
#define VMCTR_AGENT_MAX_PATHS 256u     /* entries of MASKED, and of READONLY */
#define VMCTR_AGENT_PATH_MAX 4095u     /* bytes in one of them */

/* SECCOMP profiles. The guest builds the filter itself from the profile and
 * CAPS (rules that a capability unlocks): no BPF crosses the wire. */
#define VMCTR_ASECCOMP_UNCONFINED 0u
#define VMCTR_ASECCOMP_DEFAULT 1u
/* SECCOMP_FILTER: at most this many instructions (Linux's BPF_MAXINSNS). */
#define VMCTR_AGENT_MAX_FILTER 4096u
#define VMCTR_AGENT_FILTER_INSN 8u

/* RELAX flags: what a privileged container leaves out. */
#define VMCTR_ARELAX_PATHS (1u << 0)   /* no masked or read-only /proc and /sys paths */
#define VMCTR_ARELAX_CGROUP (1u << 1)  /* cgroup2 mounted read-write */
#define VMCTR_ARELAX_ALL (VMCTR_ARELAX_PATHS | VMCTR_ARELAX_CGROUP)

/* The OCI/Docker default capabilities less CAP_MKNOD (doc/security-guest.md):
 * CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE
 * NET_RAW SYS_CHROOT AUDIT_WRITE SETFCAP. */
#define VMCTR_AGENT_CAPS_DEFAULT 0xa00425fbull
#define VMCTR_AGENT_CAP_LAST 40u           /* CAP_CHECKPOINT_RESTORE */
#define VMCTR_AGENT_CAPS_ALL ((1ull << (VMCTR_AGENT_CAP_LAST + 1)) - 1)

#endif /* VMCTR_AGENT_PROTO_H */
