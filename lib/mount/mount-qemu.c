/* SPDX-License-Identifier: MIT */
/* Mounts translated for the guest agent (the mount(2) request) and for the
 * QEMU backend (arguments for a microvm, and the virtiofsd argv). Pure: the
 * VM manager spawns, waits for sockets and cleans up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "config.h"
#include "core/error.h"
#include "core/util.h"
#include "mount/mount-internal.h"

void vmctr__mount_serial(uint32_t index, char buf[24]) {
  snprintf(buf, 24, "vmctr-mnt%u", index);
}

void vmctr__mount_auto_tag(uint32_t index, char buf[24]) {
  snprintf(buf, 24, "vmctr-fs%u", index);
}

/* ---- the guest request ---- */

static const struct {
  const char *name;
  uint64_t flag;
  bool set; /* false: the option clears the flag */
} flag_options[] = {
  {"nosuid", VMCTR__MS_NOSUID, true},         {"suid", VMCTR__MS_NOSUID, false},
  {"nodev", VMCTR__MS_NODEV, true},           {"dev", VMCTR__MS_NODEV, false},
  {"noexec", VMCTR__MS_NOEXEC, true},         {"exec", VMCTR__MS_NOEXEC, false},
  {"sync", VMCTR__MS_SYNCHRONOUS, true},      {"async", VMCTR__MS_SYNCHRONOUS, false},
  {"dirsync", VMCTR__MS_DIRSYNC, true},       {"noatime", VMCTR__MS_NOATIME, true},
  {"atime", VMCTR__MS_NOATIME, false},        {"nodiratime", VMCTR__MS_NODIRATIME, true},
  {"diratime", VMCTR__MS_NODIRATIME, false},  {"relatime", VMCTR__MS_RELATIME, true},
  {"norelatime", VMCTR__MS_RELATIME, false},  {"strictatime", VMCTR__MS_STRICTATIME, true},
  {"nostrictatime", VMCTR__MS_STRICTATIME, false}, {"lazytime", VMCTR__MS_LAZYTIME, true},
  {"nolazytime", VMCTR__MS_LAZYTIME, false},  {"defaults", 0, true},
};

/* Split the extra options into flags and filesystem data (appended to sb). */
static void split_options(const char *options, uint64_t *flags, vmctr__strbuf *data) {
  for (const char *e = options; e && *e;) {
    const char *end = strchr(e, ',');
    size_t n = end ? (size_t)(end - e) : strlen(e), i;
    for (i = 0; i < VMCTR_ARRAY_SIZE(flag_options); i++)
      if (strlen(flag_options[i].name) == n && strncmp(e, flag_options[i].name, n) == 0)
        break;
    if (i < VMCTR_ARRAY_SIZE(flag_options)) {
      if (flag_options[i].set)
        *flags |= flag_options[i].flag;
      else
        *flags &= ~flag_options[i].flag;
    } else {
      if (data->len)
        vmctr__sb_puts(data, ",");
      vmctr__sb_append(data, e, n);
    }
    e = end ? end + 1 : NULL;
  }
}

void vmctr__mount_request_clear(vmctr__mount_request *req) {
  free(req->source);
  free(req->target);
  free(req->fstype);
  free(req->data);
  memset(req, 0, sizeof(*req));
}

int vmctr__mount_guest_request(const vmctr_mount *m, uint32_t index, vmctr__mount_request *out) {
  vmctr__mount_request req = {0};
  vmctr__strbuf data = {0};
  char name[24];
  const char *source;
  bool want_data;

  if (!m || !out)
    return vmctr__err(VMCTR_EINVAL, 0, "mount request: NULL argument");
  if (index > VMCTR__MOUNT_INDEX_MAX)
    return vmctr__err(VMCTR_EINVAL, 0, "mount request: index %u is past the limit of %u mounts",
                      index, VMCTR__MOUNT_INDEX_MAX + 1);
  switch (m->kind) {
  case VMCTR_MOUNT_BLOCK:
    vmctr__mount_serial(index, name);
    vmctr__sb_printf(&data, "vmctr-blk:%s", name);
    req.source = vmctr__sb_steal(&data);
    break;
  case VMCTR_MOUNT_SHARE:
    if (!m->tag)
      vmctr__mount_auto_tag(index, name);
    req.source = vmctr__strdup(m->tag ? m->tag : name);
    break;
  case VMCTR_MOUNT_TMPFS:
    req.source = vmctr__strdup("tmpfs");
    /* Size and mode first: they are the tmpfs's own settings. */
    if (m->tmpfs_size)
      vmctr__sb_printf(&data, "size=%llu,", (unsigned long long)m->tmpfs_size);
    vmctr__sb_printf(&data, "mode=%04o", m->tmpfs_mode);
    break;
  default:
    source = m->source ? m->source : "none";
    req.source = vmctr__strdup(source);
    break;
  }
  if (m->read_only)
    req.flags |= VMCTR__MS_RDONLY;
  split_options(m->options, &req.flags, &data);
  req.target = vmctr__strdup(m->destination);
  req.fstype = vmctr__strdup(vmctr_mount_type(m));
  want_data = data.len || data.failed;
  if (want_data)
    req.data = vmctr__sb_steal(&data);
  vmctr__sb_free(&data);
  if (!req.source || !req.target || !req.fstype || (want_data && !req.data)) {
    vmctr__mount_request_clear(&req);
    return vmctr__err_nomem();
  }
  *out = req;
  return 0;
}

/* ---- QEMU ---- */

/* QEMU's key=value syntax ends a value at ',', and ",," stands for one comma. */
static void qemu_escape(vmctr__strbuf *sb, const char *s) {
  for (; *s; s++) {
    if (*s == ',')
      vmctr__sb_puts(sb, ",,");
    else
      vmctr__sb_append(sb, s, 1);
  }
}

/* virtiofsd parses -o with libfuse's option parser: a backslash escapes the
 * next character (and \ooo is octal), so escape ',' and '\'. */
static void fuse_escape(vmctr__strbuf *sb, const char *s) {
  for (; *s; s++) {
    if (*s == ',' || *s == '\\')
      vmctr__sb_puts(sb, "\\");
    vmctr__sb_append(sb, s, 1);
  }
}

typedef struct argv_builder {
  char **v;
  size_t n;
  bool failed;
} argv_builder;

/* Take the buffer's text as the next argument. */
static void argv_take(argv_builder *a, vmctr__strbuf *sb) {
  char *s = vmctr__sb_steal(sb);
  char **nv;
  memset(sb, 0, sizeof(*sb));
  if (!s || a->failed || !(nv = realloc(a->v, (a->n + 2) * sizeof(*nv)))) {
    free(s);
    a->failed = true;
    return;
  }
  a->v = nv;
  a->v[a->n++] = s;
  a->v[a->n] = NULL;
}

static void argv_add(argv_builder *a, const char *s) {
  vmctr__strbuf sb = {0};
  vmctr__sb_puts(&sb, s);
  argv_take(a, &sb);
}

static void block_args(const vmctr_mount *m, uint32_t index, argv_builder *a) {
  struct stat st;
  vmctr__strbuf sb = {0};
  char node[24];
  /* cached (and auto: QEMU's own default) → host page cache; uncached → O_DIRECT. */
  const char *direct = m->caching == VMCTR_MOUNT_CACHING_UNCACHED ? "on" : "off";
  /* sync none → guest flushes are dropped; full and fsync both flush, since
   * fdatasync() on Linux already reaches the medium (no F_FULLFSYNC split). */
  const char *no_flush = m->sync == VMCTR_MOUNT_SYNC_NONE ? "on" : "off";
  const char *ro = m->read_only ? "on" : "off";
  /* The file driver refuses block devices; host_device is its twin for them. */
  const char *driver = stat(m->source, &st) == 0 && S_ISBLK(st.st_mode) ? "host_device" : "file";

  vmctr__mount_serial(index, node);
  /* Both nodes carry the cache options: with -blockdev nothing is inherited,
   * and a flush stops at the first node with no-flush set. */
  argv_add(a, "-blockdev");
  vmctr__sb_printf(&sb, "driver=%s,node-name=%s-file,filename=", driver, node);
  qemu_escape(&sb, m->source);
  vmctr__sb_printf(&sb, ",read-only=%s,cache.direct=%s,cache.no-flush=%s", ro, direct, no_flush);
  argv_take(a, &sb);
  argv_add(a, "-blockdev");
  /* The image is the filesystem itself (ext4), so the format layer is raw. */
  vmctr__sb_printf(&sb, "driver=raw,node-name=%s,file=%s-file,read-only=%s,cache.direct=%s,"
                   "cache.no-flush=%s", node, node, ro, direct, no_flush);
  argv_take(a, &sb);
  argv_add(a, "-device");
  /* virtio-mmio (microvm); the serial is how the guest finds this disk. */
  vmctr__sb_printf(&sb, "virtio-blk-device,id=%s-dev,drive=%s,serial=%s", node, node, node);
  argv_take(a, &sb);
}

static void share_args(const vmctr_mount *m, uint32_t index, const char *sock,
                       argv_builder *a) {
  vmctr__strbuf sb = {0};
  char id[24], tag[24];
  vmctr__mount_auto_tag(index, id);
  vmctr__mount_auto_tag(index, tag);
  argv_add(a, "-chardev");
  vmctr__sb_printf(&sb, "socket,id=%s,path=", id);
  qemu_escape(&sb, sock);
  argv_take(a, &sb);
  argv_add(a, "-device");
  vmctr__sb_printf(&sb, "vhost-user-fs-device,id=%s-dev,chardev=%s,tag=%s", id, id,
                   m->tag ? m->tag : tag);
  argv_take(a, &sb);
}

/* The C virtiofsd of QEMU 7.2. Each option is set explicitly, so the
 * behaviour does not move with the daemon's defaults. */
static void virtiofsd_argv(const vmctr_mount *m, const char *bin, const char *sock,
                           uint32_t flags, argv_builder *a) {
  static const char *const cache[] = {NULL, "auto", "always", "none"};
  bool unpriv = flags & VMCTR__MOUNT_QEMU_UNPRIVILEGED;
  vmctr__strbuf sb = {0};

  argv_add(a, bin);
  /* It runs in the foreground by default: the VM manager supervises it. */
  vmctr__sb_puts(&sb, "--socket-path=");
  vmctr__sb_puts(&sb, sock);
  argv_take(a, &sb);
  argv_add(a, "-o");
  vmctr__sb_puts(&sb, "source=");
  fuse_escape(&sb, m->source);
  argv_take(a, &sb);
  argv_add(a, "-o");
  vmctr__sb_printf(&sb, "cache=%s", cache[m->share_cache]);
  argv_take(a, &sb);
  /* namespace: pivot_root into the share in new mount/pid/net namespaces,
   * which needs CAP_SYS_ADMIN; chroot is the documented fallback when the
   * caller cannot create namespaces (inside a container). */
  argv_add(a, "-o");
  argv_add(a, unpriv ? "sandbox=chroot" : "sandbox=namespace");
  /* No xattrs: the daemon runs as root, and a guest that can set
   * security.capability or ACLs on host files could raise privileges on the
   * host. A share is for data; images carry their xattrs on block disks. */
  argv_add(a, "-o");
  argv_add(a, "no_xattr");
  /* Host mount points inside the share get their own st_dev in the guest,
   * so inode numbers from two host filesystems never collide. */
  argv_add(a, "-o");
  argv_add(a, "announce_submounts");
  /* Warnings and errors only: its stderr goes to the library's log. */
  argv_add(a, "-o");
  argv_add(a, "log_level=warn");
  /* Requests are served on the virtqueue thread: lowest latency for the
   * small, mostly serial I/O of a container, and no thread pool per VM. */
  argv_add(a, "--thread-pool-size=0");
  /* Raising RLIMIT_NOFILE to its default 1,000,000 fails without CAP_SYS_RESOURCE. */
  if (unpriv)
    argv_add(a, "--rlimit-nofile=0");
}

/* The build's configured daemon, else the usual places. Callers that probed
 * the host pass vmctr_caps_virtiofsd_path() instead and skip this search. */
static char *find_virtiofsd(void) {
  static const char *const candidates[] = {
    "/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd", "/usr/lib/virtiofsd", "virtiofsd",
  };
  char *found;
  if (VMCTR_DEFAULT_VIRTIOFSD[0])
    return vmctr__find_executable(VMCTR_DEFAULT_VIRTIOFSD);
  for (size_t i = 0; i < VMCTR_ARRAY_SIZE(candidates); i++)
    if ((found = vmctr__find_executable(candidates[i])))
      return found;
  return NULL;
}

void vmctr__mount_qemu_clear(vmctr__mount_qemu *q) {
  vmctr__strv_free(q->args);
  vmctr__strv_free(q->virtiofsd_argv);
  free(q->socket_path);
  vmctr__mount_request_clear(&q->request);
  memset(q, 0, sizeof(*q));
}

int vmctr__mount_qemu_translate(const vmctr_mount *m, uint32_t index, const char *runtime_dir,
                      const char *virtiofsd, uint32_t flags, vmctr__mount_qemu *out) {
  vmctr__mount_qemu q = {0};
  argv_builder args = {0}, daemon = {0};
  struct sockaddr_un sun;
  char *bin = NULL;
  int r;

  if (!m || !runtime_dir || !out)
    return vmctr__err(VMCTR_EINVAL, 0, "mount (qemu): NULL argument");
  if (flags & ~VMCTR__MOUNT_QEMU_UNPRIVILEGED)
    return vmctr__err(VMCTR_EINVAL, 0, "mount (qemu): unknown flags 0x%x", flags);
  if ((m->kind == VMCTR_MOUNT_BLOCK || m->kind == VMCTR_MOUNT_SHARE) &&
      (!m->source || (m->kind == VMCTR_MOUNT_SHARE && !vmctr__mount_share_cache_name(m->share_cache))))
    return vmctr__err(VMCTR_EINVAL, 0, "mount at %s: not valid; call vmctr_mount_validate()",
                      m->destination);
  if ((r = vmctr__mount_guest_request(m, index, &q.request)) < 0)
    return r;
  if (m->kind == VMCTR_MOUNT_BLOCK) {
    block_args(m, index, &args);
  } else if (m->kind == VMCTR_MOUNT_SHARE) {
    if (asprintf(&q.socket_path, "%s/vfsd-%u.sock", runtime_dir, index) < 0) {
      q.socket_path = NULL;
      r = vmctr__err_nomem();
      goto fail;
    }
    if (strlen(q.socket_path) >= sizeof(sun.sun_path)) {
      r = vmctr__err(VMCTR_EINVAL, 0,
                     "mount at %s: socket path %s is longer than a unix socket allows (%zu "
                     "bytes); use a shorter runtime directory",
                     m->destination, q.socket_path, sizeof(sun.sun_path) - 1);
      goto fail;
    }
    if (!virtiofsd && !(virtiofsd = bin = find_virtiofsd())) {
      r = vmctr__err(VMCTR_EUNSUPPORTED, 0,
                     "mount at %s: no virtiofsd found for the share (install "
                     "qemu-system-common or virtiofsd, or configure -Dvirtiofsd_binary)",
                     m->destination);
      goto fail;
    }
    share_args(m, index, q.socket_path, &args);
    virtiofsd_argv(m, virtiofsd, q.socket_path, flags, &daemon);
    q.needs_shared_memory = true;
  }
  if (args.failed || daemon.failed) {
    r = vmctr__err_nomem();
    goto fail;
  }
  /* Guest-only kinds still get an empty, non-NULL argument list. */
  if (!args.v && !(args.v = calloc(1, sizeof(char *)))) {
    r = vmctr__err_nomem();
    goto fail;
  }
  q.args = args.v;
  q.virtiofsd_argv = daemon.v;
  free(bin);
  *out = q;
  return 0;
fail:
  free(bin);
  vmctr__strv_free(args.v);
  vmctr__strv_free(daemon.v);
  vmctr__mount_qemu_clear(&q);
  return r;
}
