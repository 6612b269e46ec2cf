/* SPDX-License-Identifier: MIT */
/*
 * vmctr-init internals: the guest's PID 1 and agent. A static executable that
 * depends on libc and lib/agent's codec only (no libvmctr core: that needs
 * cJSON and logs through the host's callback). See doc/guest.md.
 */
#ifndef VMCTR_GUEST_H
#define VMCTR_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/codec.h"

#define GUEST_AGENT_INFO "vmctr-init 0.1.0"
#define GUEST_VSOCK_PORT 1024u
/* Stop reading requests while this much output waits for the host. */
#define GUEST_WBUF_HIGH (8u << 20)

/* One direction of one stdio stream. `in` streams carry host bytes to a child
 * (stdin), `out` streams carry a child's output to the host. */
typedef struct guest_stream {
  uint32_t id;            /* host's stream id; 0 = unused */
  int fd;                 /* -1 once closed */
  bool is_in;
  bool pty;               /* fd is (a dup of) a pty master */
  /* out: credit the host granted; `empty` = the last read found nothing. */
  vmctr__agent_credit credit;
  bool empty;
  /* in: bytes received but not yet written, credit we granted. */
  uint8_t *pend;
  size_t pend_len, pend_off;
  uint64_t granted, received;
  bool eof_pending;       /* host sent EOF: close once pend is written */
} guest_stream;

/* A spawned process, kept until it exited, was waited for and its streams
 * closed. */
typedef struct guest_proc {
  struct guest_proc *next;
  pid_t pid;
  bool exited, waited;
  bool dead;              /* retired: freed by guest_procs_sweep */
  int status;             /* waitpid status */
  guest_stream in, out, err;
  int pty_master;         /* for RESIZE; -1 without a pty */
  uint32_t *waits;        /* request ids of pending WAITs */
  size_t nwaits;
} guest_proc;

typedef struct guest_agent {
  int fd;
  bool pid1;
  bool hello_done;
  bool quit;              /* leave the loop (debug mode: connection closed) */
  bool poweroff;          /* POWEROFF answered: flush, then power off */
  uint32_t max_frame;     /* what we accept */
  uint32_t send_frame;    /* min(ours, host's) */
  uint32_t host_window;   /* initial credit the host grants per stream */
  uint32_t window;        /* initial credit we grant per stream */
  uint8_t *rbuf;
  size_t rlen, rcap;
  uint8_t *wbuf;
  size_t wlen, woff, wcap;
  int sigfd;
  guest_proc *procs;
} guest_agent;

/* Logging: PID 1 writes to /dev/console (the host's boot log), debug mode to stderr. */
void guest_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the reason and power off (PID 1) or exit (debug mode). Never returns. */
void guest_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
extern bool guest_is_pid1;

/* init.c */
void guest_power_off(void) __attribute__((noreturn));
/* At power off, leave the file systems of dev (/dev/vdX, an ephemeral disk)
 * as they are: neither written back nor unmounted. */
void guest_power_off_leave(const char *dev);
/* After a read-write ext4 mount of the block device dev at mountpoint: grow
 * the filesystem online to the device's size, if the device is larger (a
 * root disk made bigger than its image). Returns 0 or -errno (rootfs.c). */
int guest_grow_ext4(const char *mountpoint, const char *dev);

/* PID 1 at boot: make a tmpfs the root instead of the initramfs (rootfs.c). */
void guest_leave_initramfs(void);

/* channel.c: open the agent channel (virtio-serial port or vsock). */
int guest_channel_open(void);

/* agent-loop.c */
int guest_agent_run(guest_agent *a);
/* Queue a frame; failures to allocate are fatal (PID 1 cannot do better). */
void guest_send(guest_agent *a, uint16_t type, uint32_t stream, const void *p, size_t n);
void guest_send_response(guest_agent *a, uint32_t id, vmctr__agent_buf *b);
/* Respond with just an errno (0 = success) and an optional message. */
void guest_respond(guest_agent *a, uint32_t id, int err, const char *msg);
void guest_send_credit(guest_agent *a, uint32_t stream, uint32_t n);

/* stream.c */
void guest_stream_init(guest_stream *s, bool is_in);
void guest_stream_close(guest_stream *s);
/* Read a child's output into DATA frames within credit; EOF on end. */
void guest_stream_pump_out(guest_agent *a, guest_stream *s);
/* Write pending host bytes to the child, granting credit back. */
void guest_stream_pump_in(guest_agent *a, guest_stream *s);
int guest_stream_data(guest_agent *a, guest_stream *s, const uint8_t *p, size_t n);
void guest_stream_eof(guest_agent *a, guest_stream *s);
guest_stream *guest_stream_find(guest_agent *a, uint32_t id, bool is_in);

/* proc.c */
void guest_op_spawn(guest_agent *a, uint32_t id, const vmctr__agent_msg *m);
void guest_op_signal(guest_agent *a, uint32_t id, const vmctr__agent_msg *m);
void guest_op_wait(guest_agent *a, uint32_t id, const vmctr__agent_msg *m);
void guest_op_close_stdin(guest_agent *a, uint32_t id, const vmctr__agent_msg *m);
void guest_op_resize(guest_agent *a, uint32_t id, const vmctr__agent_msg *m);
void guest_reap(guest_agent *a);
/* Answer pending WAITs once exited and output drained; free when done. */
void guest_proc_settle(guest_agent *a, guest_proc *p);
void guest_kill_all(guest_agent *a);
void guest_procs_sweep(guest_agent *a);

/* spawn.c: the child side of SPAWN (runs between fork and exec). */
struct sock_filter;
typedef struct guest_spawn {
  char **argv, **env;
  char *cwd, *root, *hostname, *cgroup, *cpu_max;
  uint32_t uid, gid;
  bool has_uid, has_gid;
  uint32_t *gids;
  size_t ngids;
  uint32_t ns;            /* CLONE_NEW* for a new container */
  uint32_t join_pid;
  uint64_t memory_max;
  bool has_memory_max;
  uint64_t pids_max;      /* 0: unset */
  const uint8_t *const *rlimits;
  size_t nrlimits;
  bool no_new_privs;
  /* Confinement (container processes): doc/security-guest.md. */
  bool confine;           /* apply caps and seccomp (ROOT or JOIN_PID) */
  uint64_t caps;
  uint32_t seccomp;       /* VMCTR_ASECCOMP_* */
  struct sock_filter *filter; /* SECCOMP_FILTER, decoded; replaces the profile */
  size_t nfilter;             /* 1..VMCTR_AGENT_MAX_FILTER when filter is set */
  uint32_t relax;         /* VMCTR_ARELAX_* */
  /* Masked and read-only paths (VMCTR_AT_PATHS): a VMCTR_APATHS_* bit says
   * its list (NULL-terminated, perhaps empty) replaces the defaults. */
  uint32_t paths;
  char **masked, **readonly;
  int stdio[3];           /* fds for 0, 1, 2 in the child */
  bool pty;
  int errfd;              /* CLOEXEC pipe: {stage, errno} on failure */
  int join_root;          /* /proc/PID/root of JOIN_PID, or -1 */
  int join_ns[6];         /* /proc/PID/ns/... of JOIN_PID, or -1 */
} guest_spawn;

/* proc.c: SPAWN's fields decoded and checked into sp (zeroed, fds -1),
 * NULL or why not; guest_spawn_free frees what it allocated. */
const char *guest_spawn_parse(const vmctr__agent_msg *m, guest_spawn *sp);
void guest_spawn_free(guest_spawn *sp);

/* Never returns: execs, or reports on errfd and _exits. */
void guest_spawn_child(const guest_spawn *sp) __attribute__((noreturn));
/* Where the child failed, for the SPAWN response's message. */
const char *guest_spawn_stage(int stage);

/* container.c */
int guest_container_setup(const guest_spawn *sp, int *stage);
int guest_cgroup_join(const char *cgroup, const guest_spawn *sp, int *stage);

/* caps.c: before the id switch, drop the bounding set and clear the
 * inheritable and ambient sets; after it, permitted = effective = caps. */
int guest_caps_bound(uint64_t caps);
int guest_caps_set(uint64_t caps);

/* seccomp.c: the default profile as BPF, for a process holding caps. */
struct sock_filter;
int guest_seccomp_build(uint64_t caps, struct sock_filter *out, size_t cap, size_t *n);
/* Decode a SECCOMP_FILTER field (len bytes of little-endian 8-byte
 * instructions) into a malloc'd array: NULL with why set when len is 0,
 * not a whole number of instructions, above VMCTR_AGENT_MAX_FILTER, or a
 * jump leaves the program or it does not end in a return (pure). */
struct sock_filter *guest_seccomp_decode(const uint8_t *p, size_t len, size_t *n, const char **why);
/* Install a caller's program for the calling thread; 0 or -errno. */
int guest_seccomp_install_filter(const struct sock_filter *f, size_t n);
/* Install profile (VMCTR_ASECCOMP_*) for the calling thread; 0 or -errno. */
int guest_seccomp_install(uint32_t profile, uint64_t caps);

/* Open PATH (absolute, inside root_fd) with openat2(RESOLVE_IN_ROOT), creating
 * missing directories (mode 0755) when mkdir_p; an O_PATH directory fd when
 * dir, else the parent directory's fd with *leaf set to the last component.
 * -errno on failure. */
int guest_open_in_root(int root_fd, const char *path, bool mkdir_p, bool dir, const char **leaf);
/* An O_PATH fd of the non-directory PATH inside root_fd, following links
 * only inside the root; when missing, an empty file (mode 0644) is made
 * there (its parents too when mkdir_p) and *created is set. -errno. */
int guest_open_file_in_root(int root_fd, const char *path, bool mkdir_p, bool *created);
/* An O_PATH fd of PATH inside root_fd (a file or a directory), following
 * links only inside the root. -errno. */
int guest_resolve_in_root(int root_fd, const char *path);

/* ops.c */
void guest_op_mount(guest_agent *a, uint32_t id, const vmctr__agent_msg *m);
void guest_op_mkdir(guest_agent *a, uint32_t id, const vmctr__agent_msg *m);
void guest_op_write_file(guest_agent *a, uint32_t id, const vmctr__agent_msg *m);
void guest_op_set_hostname(guest_agent *a, uint32_t id, const vmctr__agent_msg *m);
void guest_op_set_time(guest_agent *a, uint32_t id, const vmctr__agent_msg *m);
int guest_mkdir_p(const char *path, mode_t mode);
/* Write a small string to a file (sysfs, cgroupfs); 0 or -errno. */
int guest_write_str(const char *path, const char *s);

/* The VM's virtio disks: device name (vdX) and serial. */
#define GUEST_MAX_DISKS 16
typedef struct guest_disk {
  char name[32];
  char serial[24];
} guest_disk;
/* Make, and end at once, a process in a container's new namespaces: what
 * the kernel sets up the first time (the slab caches of a nested pid
 * namespace, mqueue's internal mount) is then there. For a template's
 * PING: its clones start containers without that first time. */
void guest_warm_spawn(void);
/* Read them from /sys/block (again): 0 or -errno. */
int guest_disks_scan(void);
/* The disks as last read (read first if never): *n of them. */
const guest_disk *guest_disks(size_t *n);

/* net.c: lo up when it is down (both modes; a failure is logged), and
 * CONFIG_IFACE. */
void guest_net_lo_up(void);
/* A CONFIG_IFACE request, decoded and checked (every bound of proto.h). */
typedef struct guest_iface {
  const uint8_t *mac;     /* 6 bytes, borrowed from the message */
  uint32_t mtu, addr, prefix, gateway;
  uint32_t routes[VMCTR_AGENT_MAX_ROUTES][3]; /* dst, prefix, via */
  size_t nroutes;
} guest_iface;
/* NULL when m is a valid request, else what is wrong (it may point into
 * msg, which holds the detail). */
const char *guest_net_parse_iface(const vmctr__agent_msg *m, guest_iface *q, char *msg,
                                  size_t size);
void guest_op_config_iface(guest_agent *a, uint32_t id, const vmctr__agent_msg *m);

/* restore.c: RESTORED, decoded and checked apart for the fuzzer. */
typedef struct guest_restore {
  uint64_t time_ns;
  const uint8_t *entropy; /* borrowed from the message */
  size_t nentropy;
  const uint8_t *macs[VMCTR_AGENT_MAX_NICS]; /* 6 bytes each, borrowed */
  size_t nmacs;
  struct {
    uint64_t size;                             /* bytes */
    char serial[VMCTR_AGENT_SERIAL_MAX + 1];   /* printable ASCII */
  } disks[VMCTR_AGENT_MAX_DISKS];
  size_t ndisks;
} guest_restore;
/* NULL when m is a valid request, else what is wrong. */
const char *guest_restore_parse(const vmctr__agent_msg *m, guest_restore *q);
void guest_op_restored(guest_agent *a, uint32_t id, const vmctr__agent_msg *m);

#endif
