/* SPDX-License-Identifier: MIT */
/* Unit tests of the qemu backend's mounts: the QEMU arguments of the spec's
 * disks and shares (lib/vmm/qemu-argv.c), the virtiofsd argv, and the
 * supervised daemons (lib/vmm/qemu-mounts.c), ending with the real
 * virtiofsd started, spoken to, killed and cleaned up. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "caps/caps-priv.h"
#include "core/strv.h"
#include "testutil.h"
#include "vmctr.h"
#include "vmm/jail-priv.h"
#include "vmm/qemu-argv-priv.h"
#include "vmm/qemu-mounts-priv.h"

/* The daemon DESIGN.md names on Debian. */
#define VFSD "/usr/lib/qemu/virtiofsd"

static vmctr__vm_spec base_spec(void) {
  vmctr__vm_spec s = {
    .kernel = "/k/bzImage", .cpus = 1, .memory = 128ull << 20, .accel = VMCTR_ACCEL_TCG,
    .arch = "x86_64", .runtime_dir = "/run/x", .console_log = "/run/x/console.log",
    .agent_name = "vmctr.agent", .agent_port = 1024,
  };
  return s;
}

static const vmctr__qemu_layout base_layout = {.binary = "/usr/bin/qemu", .qmp_fd = 3, .agent_fd = 4};

static size_t count(char *const *v) {
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

static void assert_argv(char **got, const char *const *want) {
  size_t i;
  assert_non_null(got);
  for (i = 0; want[i]; i++) {
    if (!got[i])
      fail_msg("argument %zu missing, want \"%s\"", i, want[i]);
    if (strcmp(got[i], want[i]) != 0)
      fail_msg("argument %zu: got \"%s\", want \"%s\"", i, got[i], want[i]);
  }
  if (got[i])
    fail_msg("extra argument %zu: \"%s\"", i, got[i]);
}

/* The spec's devices are the last arguments (no hypervisor_args): exactly want. */
static void assert_tail(char **got, const char *const *want) {
  size_t n = count(got), w = count((char *const *)want);
  assert_true(n > w);
  assert_argv(got + (n - w), want);
}

/* QEMU's argv for spec with its devices and nothing after them. */
static char **qemu_argv(const vmctr__vm_spec *s, char **sockets) {
  vmctr__qemu_layout l = base_layout;
  char **argv = NULL;
  l.share_sockets = sockets;
  assert_int_equal(vmctr__qemu_argv(s, &l, &argv), 0);
  return argv;
}

/* ---- disks ---- */

/* One case per caching × sync × read-only. */
static void test_disk_modes(void **state) {
  static const uint32_t cachings[] = {VMCTR_MOUNT_CACHING_AUTO, VMCTR_MOUNT_CACHING_CACHED,
                                      VMCTR_MOUNT_CACHING_UNCACHED};
  static const uint32_t syncs[] = {VMCTR_MOUNT_SYNC_FULL, VMCTR_MOUNT_SYNC_FSYNC,
                                   VMCTR_MOUNT_SYNC_NONE};
  (void)state;
  for (size_t c = 0; c < 3; c++)
    for (size_t y = 0; y < 3; y++)
      for (int ro = 0; ro <= 1; ro++) {
        vmctr__vm_spec s = base_spec();
        vmctr__vm_disk d = {.path = "/img/a,b.ext4", .read_only = ro, .caching = cachings[c],
                            .sync = syncs[y], .serial = "vmctr-mnt3"};
        /* Only uncached bypasses the host page cache; only sync none drops flushes. */
        const char *direct = cachings[c] == VMCTR_MOUNT_CACHING_UNCACHED ? "on" : "off";
        const char *no_flush = syncs[y] == VMCTR_MOUNT_SYNC_NONE ? "on" : "off";
        const char *ros = ro ? "on" : "off";
        char file_node[256], fmt_node[256];
        s.disks = &d;
        s.ndisks = 1;
        char **argv = qemu_argv(&s, NULL);
        snprintf(file_node, sizeof(file_node),
                 "driver=file,node-name=vmctr-mnt3-file,filename=/img/a,,b.ext4,read-only=%s,"
                 "cache.direct=%s,cache.no-flush=%s", ros, direct, no_flush);
        snprintf(fmt_node, sizeof(fmt_node),
                 "driver=raw,node-name=vmctr-mnt3,file=vmctr-mnt3-file,read-only=%s,"
                 "cache.direct=%s,cache.no-flush=%s", ros, direct, no_flush);
        const char *want[] = {"-blockdev", file_node, "-blockdev", fmt_node, "-device",
                              "virtio-blk-device,id=vmctr-mnt3-dev,drive=vmctr-mnt3,"
                              "serial=vmctr-mnt3",
                              NULL};
        assert_tail(argv, want);
        vmctr__strv_free(argv);
      }
}

/* A host block device gets the host_device driver. Only the node's type
 * matters, so a node made here (root) or /dev/loop0 serves. */
static void test_disk_block_device(void **state) {
  char dir[64];
  char node[96], want[256];
  struct stat st;
  bool made;
  (void)state;
  assert_int_equal(tu_tmpdir(dir, sizeof(dir), "vmctr-test-blkdev"), 0);
  snprintf(node, sizeof(node), "%s/b,lk", dir);
  made = mknod(node, S_IFBLK | 0600, makedev(7, 0)) == 0;
  if (!made)
    snprintf(node, sizeof(node), "/dev/loop0");
  if (stat(node, &st) < 0 || !S_ISBLK(st.st_mode)) {
    assert_int_equal(rmdir(dir), 0);
    printf("# no block device node to test with (not root, no /dev/loop0)\n");
    skip();
  }
  vmctr__vm_spec s = base_spec();
  vmctr__vm_disk disks[2] = {
    {.path = node, .caching = VMCTR_MOUNT_CACHING_CACHED, .sync = VMCTR_MOUNT_SYNC_FSYNC,
     .serial = "vmctr-mnt0"},
    /* Beside it, a path that does not exist stays a file. */
    {.path = "/nonexistent/disk.img", .read_only = true, .caching = VMCTR_MOUNT_CACHING_CACHED,
     .sync = VMCTR_MOUNT_SYNC_FSYNC, .serial = "vmctr-mnt1"},
  };
  s.disks = disks;
  s.ndisks = 2;
  char **argv = qemu_argv(&s, NULL);
  char *escaped = vmctr__qemu_escape(node);
  assert_non_null(escaped);
  snprintf(want, sizeof(want),
           "driver=host_device,node-name=vmctr-mnt0-file,filename=%s,read-only=off,"
           "cache.direct=off,cache.no-flush=off", escaped);
  const char *tail[] = {
    "-blockdev", want, "-blockdev",
    "driver=raw,node-name=vmctr-mnt0,file=vmctr-mnt0-file,read-only=off,cache.direct=off,"
    "cache.no-flush=off",
    "-device", "virtio-blk-device,id=vmctr-mnt0-dev,drive=vmctr-mnt0,serial=vmctr-mnt0",
    "-blockdev",
    "driver=file,node-name=vmctr-mnt1-file,filename=/nonexistent/disk.img,read-only=on,"
    "cache.direct=off,cache.no-flush=off",
    "-blockdev",
    "driver=raw,node-name=vmctr-mnt1,file=vmctr-mnt1-file,read-only=on,cache.direct=off,"
    "cache.no-flush=off",
    "-device", "virtio-blk-device,id=vmctr-mnt1-dev,drive=vmctr-mnt1,serial=vmctr-mnt1", NULL};
  assert_tail(argv, tail);
  free(escaped);
  vmctr__strv_free(argv);
  if (made)
    assert_int_equal(unlink(node), 0);
  assert_int_equal(rmdir(dir), 0);
}

/* ---- shares ---- */

static void test_share_args(void **state) {
  vmctr__vm_spec s = base_spec();
  vmctr__vm_share shares[2] = {
    {.host_path = "/srv/a,b", .tag = "data,1", .cache = VMCTR_MOUNT_SHARE_CACHE_AUTO},
    {.host_path = "/srv", .tag = "vmctr-fs4", .read_only = true,
     .cache = VMCTR_MOUNT_SHARE_CACHE_NEVER},
  };
  vmctr__vm_disk d = {.path = "/i.ext4", .caching = VMCTR_MOUNT_CACHING_CACHED,
                      .sync = VMCTR_MOUNT_SYNC_FSYNC, .serial = "vmctr-mnt0"};
  char *socks[] = {"/run/v,m/vfsd-0.sock", "/run/v,m/vfsd-1.sock", NULL};
  (void)state;
  s.shares = shares;
  s.nshares = 2;
  s.disks = &d;
  s.ndisks = 1;
  char **argv = qemu_argv(&s, socks);
  /* Disks first, then one socket chardev and one device per share, with
   * the commas of the socket path and the tag doubled. */
  const char *want[] = {
    "-blockdev",
    "driver=file,node-name=vmctr-mnt0-file,filename=/i.ext4,read-only=off,cache.direct=off,"
    "cache.no-flush=off",
    "-blockdev",
    "driver=raw,node-name=vmctr-mnt0,file=vmctr-mnt0-file,read-only=off,cache.direct=off,"
    "cache.no-flush=off",
    "-device", "virtio-blk-device,id=vmctr-mnt0-dev,drive=vmctr-mnt0,serial=vmctr-mnt0",
    "-chardev", "socket,id=vfs0,path=/run/v,,m/vfsd-0.sock",
    "-device", "vhost-user-fs-device,id=vfs0-dev,chardev=vfs0,tag=data,,1",
    "-chardev", "socket,id=vfs1,path=/run/v,,m/vfsd-1.sock",
    "-device", "vhost-user-fs-device,id=vfs1-dev,chardev=vfs1,tag=vmctr-fs4",
    NULL};
  assert_tail(argv, want);
  /* vhost-user needs guest RAM the daemon can map: the memfd backend is shared. */
  bool shared_mem = false;
  for (size_t i = 0; argv[i]; i++)
    shared_mem |= strcmp(argv[i], "memory-backend-memfd,id=mem,size=128M,share=on") == 0;
  assert_true(shared_mem);
  vmctr__strv_free(argv);
}

static void test_escape(void **state) {
  char *e;
  (void)state;
  e = vmctr__qemu_escape(",a,,b,");
  assert_string_equal(e, ",,a,,,,b,,");
  free(e);
  e = vmctr__qemu_escape("");
  assert_string_equal(e, "");
  free(e);
  /* Only commas are special to QEMU's option parser. */
  e = vmctr__qemu_escape("a\\b=c d");
  assert_string_equal(e, "a\\b=c d");
  free(e);
}

/* ---- the virtiofsd argv ---- */

static void test_virtiofsd_argv(void **state) {
  static const struct {
    uint32_t cache;
    const char *opt;
  } cases[] = {
    {VMCTR_MOUNT_SHARE_CACHE_AUTO, "cache=auto"},
    {VMCTR_MOUNT_SHARE_CACHE_ALWAYS, "cache=always"},
    {VMCTR_MOUNT_SHARE_CACHE_NEVER, "cache=none"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    /* libfuse's -o parser takes '\' as an escape and ',' as a separator. */
    vmctr__vm_share sh = {.host_path = "/srv/a,b\\c", .tag = "t", .cache = cases[i].cache};
    char **argv = NULL;
    assert_int_equal(vmctr__qemu_virtiofsd_argv(&sh, "/opt/virtiofsd", "/run/v,m/vfsd-2.sock",
                                                false, &argv), 0);
    /* The socket path is a plain argument: no escaping. */
    const char *priv[] = {"/opt/virtiofsd", "--socket-path=/run/v,m/vfsd-2.sock", "-o",
                          "source=/srv/a\\,b\\\\c", "-o", cases[i].opt, "-o", "sandbox=namespace",
                          "-o", "no_xattr", "-o", "announce_submounts", "-o", "log_level=warn",
                          "--thread-pool-size=0", "-o", "modcaps=-mknod", "--rlimit-nofile=0",
                          NULL};
    assert_argv(argv, priv);
    vmctr__strv_free(argv);

    /* Jailed: the source as the daemon sees it, and a bounded fd table. */
    argv = NULL;
    assert_int_equal(vmctr__qemu_virtiofsd_argv2(&sh, "/opt/virtiofsd", "/r/vfsd-1.sock",
                                                 "/view,1", false, 65536, &argv), 0);
    const char *jailed[] = {"/opt/virtiofsd", "--socket-path=/r/vfsd-1.sock", "-o",
                            "source=/view\\,1", "-o", cases[i].opt, "-o", "sandbox=namespace",
                            "-o", "no_xattr", "-o", "announce_submounts", "-o", "log_level=warn",
                            "--thread-pool-size=0", "-o", "modcaps=-mknod",
                            "--rlimit-nofile=65536", NULL};
    assert_argv(argv, jailed);
    vmctr__strv_free(argv);

    argv = NULL;
    assert_int_equal(vmctr__qemu_virtiofsd_argv(&sh, "/opt/virtiofsd", "/r/vfsd-0.sock", true,
                                                &argv), 0);
    /* Without namespaces: chroot, and no attempt to raise RLIMIT_NOFILE. */
    const char *unpriv[] = {"/opt/virtiofsd", "--socket-path=/r/vfsd-0.sock", "-o",
                            "source=/srv/a\\,b\\\\c", "-o", cases[i].opt, "-o", "sandbox=chroot",
                            "-o", "no_xattr", "-o", "announce_submounts", "-o", "log_level=warn",
                            "--thread-pool-size=0", "--rlimit-nofile=0", NULL};
    assert_argv(argv, unpriv);
    vmctr__strv_free(argv);
  }
}

static void test_virtiofsd_bad_cache(void **state) {
  static const uint32_t bad[] = {0, VMCTR_MOUNT_SHARE_CACHE_NEVER + 1, UINT32_MAX};
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    vmctr__vm_share sh = {.host_path = "/srv", .tag = "www", .cache = bad[i]};
    char *sentinel[] = {"untouched", NULL};
    char **argv = sentinel;
    assert_int_equal(vmctr__qemu_virtiofsd_argv(&sh, "/opt/virtiofsd", "/r/s.sock", false, &argv),
                     VMCTR_EINVAL);
    assert_ptr_equal(argv, sentinel);
    assert_non_null(strstr(vmctr_error_last()->message, "share www: unknown cache mode"));
  }
}

/* ---- qemu-mounts: planning ---- */

/* Caps whose virtiofsd is binary (which may not exist), from the internal probe. */
static vmctr_caps *caps_with(const char *binary) {
  struct vmctr__caps_params p = {.qemu = "/nonexistent/qemu-system", .virtiofsd = binary};
  vmctr_caps *caps = NULL;
  assert_int_equal(vmctr__caps_probe_with(&caps, VMCTR_CAPS_PROBE_QUICK, &p), 0);
  assert_non_null(caps);
  return caps;
}

static void assert_cleared(const vmctr__qemu_mounts *qm) {
  assert_null(qm->daemon_argv);
  assert_null(qm->sockets);
  assert_null(qm->daemons);
  assert_int_equal(qm->n, 0);
}

/* A runtime directory of len bytes under /r. */
static void long_dir(char *buf, size_t len) {
  memset(buf, 'x', len);
  memcpy(buf, "/r/", 3);
  buf[len] = '\0';
}

static void test_prepare(void **state) {
  vmctr_caps *caps = caps_with("/bin/true");
  vmctr__vm_spec s = base_spec();
  vmctr__vm_share shares[2] = {
    {.host_path = "/srv/a", .tag = "a", .cache = VMCTR_MOUNT_SHARE_CACHE_ALWAYS},
    {.host_path = "/srv/b", .tag = "b", .cache = VMCTR_MOUNT_SHARE_CACHE_NEVER},
  };
  vmctr__qemu_mounts qm;
  const char *which = "unset";
  (void)state;
  s.caps = caps;
  s.runtime_dir = "/run/vm";
  s.shares = shares;
  s.nshares = 2;
  assert_int_equal(vmctr__qemu_mounts_prepare(&qm, &s), 0);
  assert_int_equal(qm.n, 2);
  assert_string_equal(qm.sockets[0], "/run/vm/vfsd-0.sock");
  assert_string_equal(qm.sockets[1], "/run/vm/vfsd-1.sock");
  assert_null(qm.sockets[2]);
  for (size_t i = 0; i < 2; i++) {
    char sock[64];
    char **want = NULL;
    snprintf(sock, sizeof(sock), "--socket-path=%s", qm.sockets[i]);
    /* The argv of the caps' daemon, unprivileged exactly when not root. */
    assert_int_equal(vmctr__qemu_virtiofsd_argv(&shares[i], "/bin/true", qm.sockets[i],
                                                geteuid() != 0, &want), 0);
    assert_string_equal(qm.daemon_argv[i][0], "/bin/true");
    assert_string_equal(qm.daemon_argv[i][1], sock);
    assert_argv(qm.daemon_argv[i], (const char *const *)want);
    vmctr__strv_free(want);
    /* Nothing runs yet. */
    assert_int_equal(qm.daemons[i].pid, 0);
  }
  assert_int_equal(vmctr__qemu_mounts_poll(&qm, &which), 0);
  assert_string_equal(which, "unset");
  vmctr__qemu_mounts_clear(&qm);
  assert_cleared(&qm);

  /* No shares: nothing to plan, even without a virtiofsd. */
  s.nshares = 0;
  s.caps = NULL;
  memset(&qm, 0xa5, sizeof(qm));
  assert_int_equal(vmctr__qemu_mounts_prepare(&qm, &s), 0);
  assert_cleared(&qm);
  vmctr__qemu_mounts_clear(&qm);
  vmctr_caps_unref(caps);
}

static void test_prepare_socket_too_long(void **state) {
  vmctr_caps *caps = caps_with("/bin/true");
  vmctr__vm_spec s = base_spec();
  vmctr__vm_share sh = {.host_path = "/srv", .tag = "t", .cache = VMCTR_MOUNT_SHARE_CACHE_AUTO};
  struct sockaddr_un sun;
  /* "/vfsd-0.sock" is 12 bytes; sun_path holds its NUL too. */
  const size_t fits = sizeof(sun.sun_path) - 1 - strlen("/vfsd-0.sock");
  char dir[256];
  vmctr__qemu_mounts qm;
  (void)state;
  s.caps = caps;
  s.shares = &sh;
  s.nshares = 1;

  long_dir(dir, fits);
  s.runtime_dir = dir;
  assert_int_equal(vmctr__qemu_mounts_prepare(&qm, &s), 0);
  assert_int_equal(strlen(qm.sockets[0]), sizeof(sun.sun_path) - 1);
  vmctr__qemu_mounts_clear(&qm);

  long_dir(dir, fits + 1);
  memset(&qm, 0xa5, sizeof(qm));
  assert_int_equal(vmctr__qemu_mounts_prepare(&qm, &s), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "longer than a unix socket allows"));
  assert_non_null(strstr(vmctr_error_last()->message, "use a shorter runtime directory"));
  assert_cleared(&qm); /* ASan's leak check proves nothing else stays allocated */

  /* A failure at the second share releases the first one's plan too. */
  vmctr__vm_share two[2] = {sh, {.host_path = "/srv2", .tag = "u", .cache = 0}};
  s.shares = two;
  s.nshares = 2;
  s.runtime_dir = "/run/vm";
  memset(&qm, 0xa5, sizeof(qm));
  assert_int_equal(vmctr__qemu_mounts_prepare(&qm, &s), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "share u: unknown cache mode 0"));
  assert_cleared(&qm);
  vmctr_caps_unref(caps);
}

static void test_prepare_no_virtiofsd(void **state) {
  vmctr_caps *caps = caps_with("/nonexistent/virtiofsd");
  vmctr__vm_spec s = base_spec();
  vmctr__vm_share sh = {.host_path = "/srv/www", .tag = "t", .cache = VMCTR_MOUNT_SHARE_CACHE_AUTO};
  vmctr__qemu_mounts qm;
  (void)state;
  assert_null(vmctr_caps_virtiofsd_path(caps));
  s.caps = caps;
  s.shares = &sh;
  s.nshares = 1;
  memset(&qm, 0xa5, sizeof(qm));
  assert_int_equal(vmctr__qemu_mounts_prepare(&qm, &s), VMCTR_EUNSUPPORTED);
  /* The message names the share and says what to install. */
  assert_non_null(strstr(vmctr_error_last()->message, "no virtiofsd found"));
  assert_non_null(strstr(vmctr_error_last()->message, "/srv/www"));
  assert_non_null(strstr(vmctr_error_last()->message, "install"));
  assert_cleared(&qm);
  vmctr_caps_unref(caps);
}

/* A file share: its daemon serves a private directory of the runtime dir,
 * bound read-only, whose one entry the file is bound over (read-only for a
 * read-only share); without a jail of its own namespaces it is refused,
 * never widened to the file's directory. clear removes the directory. */
static void test_prepare_file_share(void **state) {
  vmctr_caps *caps = caps_with("/bin/true");
  vmctr__vm_spec s = base_spec();
  char rundir[] = "/tmp/vmctr-test-fshare-XXXXXX", priv[96], file[96];
  vmctr__vm_share sh[2] = {
    {.host_path = "/srv/www", .tag = "d", .cache = VMCTR_MOUNT_SHARE_CACHE_AUTO},
    {.host_path = "/etc/hosts", .tag = "f", .cache = VMCTR_MOUNT_SHARE_CACHE_AUTO,
     .read_only = true, .file = true},
  };
  vmctr__vm_jail vj;
  vmctr__qemu_mounts qm;
  struct stat st;
  (void)state;
  assert_non_null(mkdtemp(rundir));
  s.caps = caps;
  s.runtime_dir = rundir;
  s.shares = sh;
  s.nshares = 2;

  /* Unjailed, or jailed without namespaces: refused, nothing planned. */
  memset(&qm, 0xa5, sizeof(qm));
  assert_fails_with(vmctr__qemu_mounts_prepare(&qm, &s), VMCTR_EUNSUPPORTED,
                    "file share /etc/hosts needs virtiofsd in a mount namespace of its own");
  assert_cleared(&qm);
  memset(&vj, 0, sizeof(vj));
  vj.cgroup_procs_fd = vj.uid_lock_fd = -1;
  vj.qemu = (vmctr__jail)VMCTR__JAIL_INIT;
  memset(&qm, 0xa5, sizeof(qm));
  assert_fails_with(vmctr__qemu_mounts_prepare_jailed(&qm, &s, &vj), VMCTR_EUNSUPPORTED,
                    "share a directory that holds only the file instead");
  assert_cleared(&qm);

  vj.qemu.namespaces = true;
  assert_int_equal(vmctr__qemu_mounts_prepare_jailed(&qm, &s, &vj), 0);
  snprintf(priv, sizeof(priv), "%s/fshare-1", rundir);
  snprintf(file, sizeof(file), "%s/fshare-1/file", rundir);
  /* The directory share: its source bound onto itself. */
  assert_int_equal(qm.jails[0].nbinds, 1);
  assert_string_equal(qm.sources[0], "/srv/www");
  assert_null(qm.privates[0]);
  /* The file share: the private directory read-only, the file over its entry. */
  assert_string_equal(qm.sources[1], priv);
  assert_string_equal(qm.privates[1], file);
  assert_int_equal(qm.jails[1].nbinds, 2);
  assert_true(qm.jails[1].namespaces);
  const vmctr__jail_bind *b = qm.jails[1].binds;
  assert_string_equal(b[0].src, priv);
  assert_string_equal(b[0].dst, priv);
  assert_int_equal(b[0].flags, VMCTR__JAIL_BIND_DIR | VMCTR__JAIL_BIND_RO);
  assert_string_equal(b[1].src, "/etc/hosts");
  assert_string_equal(b[1].dst, file);
  assert_int_equal(b[1].flags, VMCTR__JAIL_BIND_RO);
  assert_int_equal(stat(file, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_size, 0); /* a placeholder, never a copy */
  /* The daemon serves the private directory. */
  bool serves = false;
  for (size_t i = 0; qm.daemon_argv[1][i]; i++)
    serves = serves || strstr(qm.daemon_argv[1][i], priv) != NULL;
  assert_true(serves);
  vmctr__qemu_mounts_clear(&qm);
  assert_int_equal(lstat(priv, &st), -1);
  assert_int_equal(errno, ENOENT);

  /* A read-write file share binds the file read-write. */
  sh[1].read_only = false;
  assert_int_equal(vmctr__qemu_mounts_prepare_jailed(&qm, &s, &vj), 0);
  assert_int_equal(qm.jails[1].binds[1].flags, 0);
  vmctr__qemu_mounts_clear(&qm);
  /* A source gone since validation: a clear error, nothing left. */
  sh[1].host_path = "/nonexistent/hosts";
  memset(&qm, 0xa5, sizeof(qm));
  assert_fails_with(vmctr__qemu_mounts_prepare_jailed(&qm, &s, &vj), VMCTR_ENOENT,
                    "file share /nonexistent/hosts: the source is gone");
  assert_cleared(&qm);
  assert_int_equal(lstat(priv, &st), -1);
  assert_int_equal(rmdir(rundir), 0);
  vmctr_caps_unref(caps);
}

/* ---- qemu-mounts: supervision ---- */

static bool is_socket(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static bool gone(const char *path) {
  struct stat st;
  return lstat(path, &st) < 0 && errno == ENOENT;
}

/* No child of this process is left, running or zombie. */
static void assert_no_children(void) {
  errno = 0;
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
}

/* A daemon that exits before creating its socket fails start. */
static void test_start_daemon_fails(void **state) {
  char dir[64];
  vmctr_caps *caps = caps_with("/bin/false");
  vmctr__vm_spec s = base_spec();
  vmctr__vm_share sh = {.host_path = "/srv", .tag = "t", .cache = VMCTR_MOUNT_SHARE_CACHE_AUTO};
  vmctr__qemu_mounts qm;
  const char *which = NULL;
  (void)state;
  assert_int_equal(tu_tmpdir(dir, sizeof(dir), "vmctr-test-qm"), 0);
  s.caps = caps;
  s.runtime_dir = dir;
  s.shares = &sh;
  s.nshares = 1;
  assert_int_equal(vmctr__qemu_mounts_prepare(&qm, &s), 0);
  assert_int_equal(vmctr__qemu_mounts_start(&qm, 5000), VMCTR_EIO);
  assert_non_null(strstr(vmctr_error_last()->message, "virtiofsd[0] exited with status 1"));
  assert_int_equal(vmctr__qemu_mounts_poll(&qm, &which), 1);
  assert_string_equal(which, "virtiofsd[0]");
  vmctr__qemu_mounts_clear(&qm);
  assert_cleared(&qm);
  assert_no_children();
  assert_int_equal(rmdir(dir), 0);
  vmctr_caps_unref(caps);
}

/* vhost-user's first question (GET_FEATURES = 1) and its answer: proof that
 * the daemon serves its socket, not just that it bound it. Returns the
 * connection. */
static int assert_vhost_user_serves(const char *path) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  uint32_t hdr[3] = {1, 1, 0}; /* request, flags (version 1), payload size */
  unsigned char reply[12 + 8];
  uint32_t rhdr[3];
  uint64_t features;
  size_t got = 0;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  assert_true(strlen(path) < sizeof(sun.sun_path));
  memcpy(sun.sun_path, path, strlen(path) + 1);
  assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
  assert_int_equal(send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL), (ssize_t)sizeof(hdr));
  while (got < sizeof(reply)) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    ssize_t n = recv(fd, reply + got, sizeof(reply) - got, 0);
    assert_true(n > 0);
    got += (size_t)n;
  }
  memcpy(rhdr, reply, sizeof(rhdr));
  memcpy(&features, reply + 12, sizeof(features));
  assert_int_equal(rhdr[0], 1);
  assert_int_equal(rhdr[1], 1u | 4u); /* version 1, reply */
  assert_int_equal(rhdr[2], 8);
  assert_true(features & (1ull << 32)); /* VIRTIO_F_VERSION_1 */
  assert_true(features & (1ull << 30)); /* VHOST_USER_F_PROTOCOL_FEATURES */
  return fd;
}

static void test_real_virtiofsd(void **state) {
  char dir[64];
  char share[128], rt[128], sockets[2][160];
  vmctr__qemu_mounts qm;
  const char *which = NULL;
  int32_t pids[2];
  (void)state;
  if (access(VFSD, X_OK) < 0) {
    printf("# %s is not installed\n", VFSD);
    skip();
  }
  vmctr_caps *caps = caps_with(VFSD);
  assert_string_equal(vmctr_caps_virtiofsd_path(caps), VFSD);
  assert_int_equal(tu_tmpdir(dir, sizeof(dir), "vmctr-test-vfsd"), 0);
  /* A comma and a backslash in the shared path prove the -o escaping: the
   * daemon exits at once when its source does not exist. */
  snprintf(share, sizeof(share), "%s/sh,a\\re", dir);
  snprintf(rt, sizeof(rt), "%s/rt", dir);
  assert_int_equal(mkdir(share, 0755), 0);
  assert_int_equal(mkdir(rt, 0700), 0);

  vmctr__vm_spec s = base_spec();
  vmctr__vm_share shares[2] = {
    {.host_path = share, .tag = "a", .cache = VMCTR_MOUNT_SHARE_CACHE_AUTO},
    {.host_path = share, .tag = "b", .read_only = true, .cache = VMCTR_MOUNT_SHARE_CACHE_NEVER},
  };
  s.caps = caps;
  s.runtime_dir = rt;
  s.shares = shares;
  s.nshares = 2;
  assert_int_equal(vmctr__qemu_mounts_prepare(&qm, &s), 0);
  for (size_t i = 0; i < 2; i++)
    snprintf(sockets[i], sizeof(sockets[i]), "%s", qm.sockets[i]);
  assert_int_equal(vmctr__qemu_mounts_start(&qm, 10000), 0);
  for (size_t i = 0; i < 2; i++) {
    assert_true(is_socket(sockets[i]));
    pids[i] = qm.daemons[i].pid;
    assert_true(pids[i] > 0);
    assert_int_equal(kill(pids[i], 0), 0);
  }
  assert_int_equal(vmctr__qemu_mounts_poll(&qm, &which), 0);
  assert_null(which);

  /* The first daemon answers; the connection stays open, since it ends
   * when its one client leaves. */
  int conn = assert_vhost_user_serves(sockets[0]);
  assert_int_equal(vmctr__qemu_mounts_poll(&qm, &which), 0);

  /* The second one dies: poll names it. */
  assert_int_equal(kill(pids[1], SIGKILL), 0);
  int r = 0;
  for (int i = 0; i < 500 && (r = vmctr__qemu_mounts_poll(&qm, &which)) == 0; i++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  assert_int_equal(r, 1);
  assert_string_equal(which, "virtiofsd[1]");
  assert_int_equal(qm.daemons[1].status, 128 + SIGKILL);
  assert_int_equal(kill(pids[0], 0), 0);
  close(conn);

  /* clear kills the survivor, reaps both and removes both sockets (the
   * daemons leave them behind). */
  vmctr__qemu_mounts_clear(&qm);
  assert_cleared(&qm);
  for (size_t i = 0; i < 2; i++) {
    assert_true(gone(sockets[i]));
    assert_int_equal(kill(pids[i], 0), -1);
    assert_int_equal(errno, ESRCH);
  }
  assert_no_children();

  /* The same daemon, handed the source unescaped (cut at the comma), exits
   * through start: the successful start above is not vacuous. */
  s.nshares = 1;
  assert_int_equal(vmctr__qemu_mounts_prepare(&qm, &s), 0);
  assert_string_equal(qm.daemon_argv[0][2], "-o");
  free(qm.daemon_argv[0][3]);
  assert_true(asprintf(&qm.daemon_argv[0][3], "source=%s", share) > 0);
  assert_int_equal(vmctr__qemu_mounts_start(&qm, 10000), VMCTR_EIO);
  assert_non_null(strstr(vmctr_error_last()->message, "before creating"));
  vmctr__qemu_mounts_clear(&qm);
  assert_true(gone(sockets[0]));
  assert_no_children();

  assert_int_equal(rmdir(share), 0);
  assert_int_equal(rmdir(rt), 0);
  assert_int_equal(rmdir(dir), 0);
  vmctr_caps_unref(caps);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_disk_modes),
    cmocka_unit_test(test_disk_block_device),
    cmocka_unit_test(test_share_args),
    cmocka_unit_test(test_escape),
    cmocka_unit_test(test_virtiofsd_argv),
    cmocka_unit_test(test_virtiofsd_bad_cache),
    cmocka_unit_test(test_prepare),
    cmocka_unit_test(test_prepare_socket_too_long),
    cmocka_unit_test(test_prepare_no_virtiofsd),
    cmocka_unit_test(test_prepare_file_share),
    cmocka_unit_test(test_start_daemon_fails),
    cmocka_unit_test(test_real_virtiofsd),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
