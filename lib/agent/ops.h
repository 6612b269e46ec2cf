/* SPDX-License-Identifier: MIT */
/*
 * Typed agent operations (internal API): one function per request of
 * doc/protocol.md, the host-side counterpart of vmctr-init's lib/guest/ops.c
 * and proc.c. Each builds the request's field list, sends it on `a` and reads
 * the reply, so that callers never touch the wire encoding.
 *
 * Every function returns 0 or a negative VMCTR_E* code with detail recorded
 * (vmctr__err). Bad arguments are VMCTR_EINVAL and nothing is sent. A request
 * that does not fit the guest's frame limit, or a string or list above the
 * protocol's limits, is VMCTR_ETOOBIG with a message naming what is too
 * large. A failure the guest reports carries the client's "guest: MESSAGE"
 * detail (callers add their own context with vmctr__err_prefix). timeout_ms
 * < 0 waits forever; on VMCTR_ETIMEDOUT the request is abandoned (the guest
 * may still carry it out). Callable from any thread, as client.h is.
 */
#ifndef VMCTR_AGENT_OPS_H
#define VMCTR_AGENT_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/client.h"
#include "net/net.h"

/* Linux clone flags for a new container's namespaces, spelled out (the host need not be Linux). */
#define VMCTR__AGENT_NS_MOUNT 0x00020000u
#define VMCTR__AGENT_NS_CGROUP 0x02000000u
#define VMCTR__AGENT_NS_UTS 0x04000000u
#define VMCTR__AGENT_NS_IPC 0x08000000u
#define VMCTR__AGENT_NS_PID 0x20000000u
#define VMCTR__AGENT_NS_NET 0x40000000u

/* MOUNT: mount(2) in the guest. source "vmctr-blk:SERIAL" names the virtio-blk
 * disk with that serial; fstype and data may be NULL (not sent); target is
 * absolute; mkdir: create target (mkdir -p) first. */
typedef struct vmctr__agent_mount_args {
  const char *source, *target, *fstype;
  uint64_t flags; /* Linux MS_* */
  const char *data;
  bool mkdir;
  const char *root; /* non-NULL: target is a path inside this root, resolved in it (no link escapes) */
  /* non-NULL: a file share (VMCTR_AT_SHARE_FILE): the entry of the share
   * that the guest binds onto target, a file. One path component. */
  const char *file;
} vmctr__agent_mount_args;

/* One setrlimit in the new process: a Linux RLIMIT_* number. */
typedef struct vmctr__agent_rlimit {
  uint32_t resource;
  uint64_t soft, hard;
} vmctr__agent_rlimit;

typedef struct vmctr__agent_spawn_args {
  char *const *argv;            /* NULL-terminated, at least one */
  char *const *env;             /* NULL-terminated "K=V", may be NULL (the guest's default PATH) */
  const char *cwd;              /* absolute; may be NULL ("/") */
  uint32_t uid, gid;
  const uint32_t *gids; size_t ngids;
  uint32_t stdin_stream, stdout_stream, stderr_stream; /* 0 = /dev/null */
  bool pty; uint32_t rows, cols; /* pty: one terminal on stdout_stream; rows/cols 0 = unset */
  const vmctr__agent_rlimit *rlimits; size_t nrlimits;
  bool no_new_privs;
  /* Placement: a new container when root is set, or join_pid's namespaces and root when nonzero. */
  const char *root; uint32_t namespaces; const char *hostname;
  const char *cgroup; uint64_t memory_max; const char *cpu_max; /* 0/NULL: unset */
  uint64_t pids_max;            /* cgroup pids.max, with cgroup; 0: unset */
  uint32_t join_pid;
  /* Confinement of a container's process (root or join_pid): sent when set.
   * caps: Linux capability bits (VMCTR_AGENT_CAPS_*); seccomp: VMCTR_ASECCOMP_*;
   * relax: VMCTR_ARELAX_* (a new container only). */
  bool has_security;
  uint64_t caps;
  uint32_t seccomp, relax;
  /* A classic BPF program (struct sock_filter array, native layout) of
   * seccomp_filter_len bytes, installed instead of the seccomp profile;
   * NULL/0: none. A multiple of 8 bytes, at most VMCTR_AGENT_MAX_FILTER
   * instructions; needs has_security. */
  const void *seccomp_filter;
  size_t seccomp_filter_len;
  /* A new container's masked and read-only paths: paths holds VMCTR_APATHS_*
   * bits, each saying that its list (perhaps empty) replaces the guest's
   * defaults. Absolute, normalized, bounded by VMCTR_AGENT_MAX_PATHS and
   * VMCTR_AGENT_PATH_MAX. */
  uint32_t paths;
  char *const *masked; size_t nmasked;
  char *const *readonly; size_t nreadonly;
} vmctr__agent_spawn_args;

/* write_file flags. IN_PLACE: open and truncate the existing file instead of
 * replacing it (procfs, sysfs); mode is then ignored. */
#define VMCTR__AGENT_WRITE_IN_PLACE (1u << 0)

int vmctr__agent_mount(vmctr__agent *a, const vmctr__agent_mount_args *m, int timeout_ms);
/* mkdir -p; mode 0..07777. */
int vmctr__agent_mkdir(vmctr__agent *a, const char *path, uint32_t mode, int timeout_ms);
/* Replace path atomically (temp file, fsync, rename) with len bytes, at most
 * VMCTR_AGENT_MAX_FILE; mode 0..07777. */
int vmctr__agent_write_file(vmctr__agent *a, const char *path, const void *data, size_t len,
                            uint32_t mode, uint32_t flags, int timeout_ms);
/* write_file for path inside root (both absolute): the guest resolves it in root with
 * RESOLVE_IN_ROOT and creates missing parent directories there. */
int vmctr__agent_write_file_in(vmctr__agent *a, const char *root, const char *path, const void *data,
                               size_t len, uint32_t mode, int timeout_ms);
/* CLOCK_REALTIME in ns since the epoch. */
int vmctr__agent_set_time(vmctr__agent *a, uint64_t realtime_ns, int timeout_ms);
/* RESTORED, the first request to a VM restored from a template: the guest
 * sets its clock, mixes entropy (VMCTR_AGENT_ENTROPY_MIN..MAX bytes of the
 * host's randomness) into its RNG and forces a reseed, waits until each
 * disk shows its size (probing it again when it does not) and drops its
 * cached blocks, and gives NIC i the MAC macs[i]. */
typedef struct vmctr__agent_disk_size {
  const char *serial; /* 1..VMCTR_AGENT_SERIAL_MAX printable bytes */
  uint64_t size;      /* bytes; 0: not resized (read-only), probe it again */
} vmctr__agent_disk_size;
typedef struct vmctr__agent_restored_args {
  uint64_t realtime_ns;
  const uint8_t *entropy;
  size_t nentropy;
  const vmctr__agent_disk_size *disks;
  size_t ndisks;               /* at most VMCTR_AGENT_MAX_DISKS */
  const uint8_t (*macs)[6];
  size_t nmacs;                /* at most VMCTR_AGENT_MAX_NICS */
} vmctr__agent_restored_args;
int vmctr__agent_restored(vmctr__agent *a, const vmctr__agent_restored_args *x, int timeout_ms);
/* 1 to 64 bytes. */
int vmctr__agent_set_hostname(vmctr__agent *a, const char *name, int timeout_ms);
/* Answered, then the guest syncs and powers off (the connection ends);
 * the disks of the n serials in ephemeral are left as they are. */
int vmctr__agent_poweroff(vmctr__agent *a, const char *const *ephemeral, size_t n,
                          int timeout_ms);
int vmctr__agent_ping(vmctr__agent *a, int timeout_ms);
/* CONFIG_IFACE: the guest finds the link with ifc->mac, sets its MTU (0:
 * left), brings it up, adds addr/prefix (addr 0: none, prefix then 0), the
 * routes (at most VMCTR__NET_MAX_ROUTES) and the default route via gateway
 * (0: none). Addresses and routes it already has are fine, so a repeat is
 * harmless. An unknown MAC is VMCTR_ENOENT (the guest's ENODEV). */
int vmctr__agent_config_iface(vmctr__agent *a, const vmctr__net_guest_if *ifc, int timeout_ms);

/* Start a process; *pid (nonzero, the guest's pid) only on success. Attach
 * the stdout/stderr sinks before, and stdin sources after this call (stdin
 * DATA must not overtake the SPAWN). */
int vmctr__agent_spawn(vmctr__agent *a, const vmctr__agent_spawn_args *s, int timeout_ms,
                       uint32_t *pid);
/* signo 1..64. */
int vmctr__agent_signal(vmctr__agent *a, uint32_t pid, uint32_t signo, int timeout_ms);
/* A pty process's terminal size; rows and cols 1..65535. */
int vmctr__agent_resize(vmctr__agent *a, uint32_t pid, uint32_t rows, uint32_t cols, int timeout_ms);
/* The same as EOF on the process's stdin stream. */
int vmctr__agent_close_stdin(vmctr__agent *a, uint32_t pid, int timeout_ms);

/* WAIT is answered when the process exits: begin returns a request id, end waits for it
 * (VMCTR_ETIMEDOUT leaves it pending, as vmctr__agent_request_end does). On success exactly
 * one of *exit_code (0..255) and *term_signal is >= 0, the other -1; a reply with neither or
 * out-of-range values is VMCTR_EPROTO. cancel forgets it. */
int vmctr__agent_wait_begin(vmctr__agent *a, uint32_t pid, uint32_t *req_id);
int vmctr__agent_wait_end(vmctr__agent *a, uint32_t req_id, int timeout_ms, int32_t *exit_code,
                          int32_t *term_signal);
void vmctr__agent_wait_cancel(vmctr__agent *a, uint32_t req_id);

#endif /* VMCTR_AGENT_OPS_H */
