/* SPDX-License-Identifier: MIT */
/* Unit tests of the initfs builder (lib/initfs): archive contents read back with
 * libarchive, the content-addressed cache, concurrent builders, and bad inputs. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "initfs/initfs.h"
#include "testutil.h"
#include "vmctr.h"

typedef struct fixture {
  char dir[TU_DIR_SIZE]; /* first: tu_fixture_new */
  char init[128], mods[128], cache[128];
} fixture;

static void write_file(const char *path, const void *data, size_t len, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  assert_int_equal(fchmod(fd, mode), 0);
  assert_int_equal(close(fd), 0);
}

static void write_str(const char *dir, const char *name, const char *s) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  write_file(path, s, strlen(s), 0644);
}

static int setup(void **state) {
  fixture *f = tu_fixture_new(sizeof(*f), "vmctr-test-initfs");
  if (!f)
    return -1;
  snprintf(f->init, sizeof(f->init), "%s/vmctr-init", f->dir);
  snprintf(f->mods, sizeof(f->mods), "%s/modules", f->dir);
  snprintf(f->cache, sizeof(f->cache), "%s/cache/initfs", f->dir);
  write_file(f->init, "#!/bin/sh\nexec reboot -f\n", 25, 0755);
  if (mkdir(f->mods, 0755) < 0)
    return -1;
  write_str(f->mods, "virtio_mmio.ko", "MMIO-MODULE");
  write_str(f->mods, "virtio_blk.ko", "BLK-MODULE");
  write_str(f->mods, "unlisted.ko", "NOT IN LOAD ORDER");
  write_str(f->mods, "load-order", "virtio_mmio.ko\n\n# comment\n  virtio_blk.ko \n");
  *state = f;
  return 0;
}

/* Number of leftover temp files in the cache directory. */
static int count_temps(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  int n = 0;
  if (!d)
    return 0;
  while ((de = readdir(d)))
    if (strncmp(de->d_name, ".new-", 5) == 0)
      n++;
  closedir(d);
  return n;
}

static char *tl_slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0;
  assert_non_null(fp);
  buf = malloc(1 << 24);
  assert_non_null(buf);
  n = fread(buf, 1, 1 << 24, fp);
  fclose(fp);
  if (len)
    *len = n;
  return buf;
}

static int count_files(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  int n = 0;
  if (!d)
    return 0;
  while ((de = readdir(d))) {
    size_t len = strlen(de->d_name);
    if (de->d_name[0] != '.' && len > 8 && strcmp(de->d_name + len - 8, ".cpio.gz") == 0)
      n++;
  }
  closedir(d);
  return n;
}

typedef struct listed {
  char name[128];
  unsigned mode, maj, min;
  char data[64];
  size_t len;
} listed;

/* Read the archive back; returns the number of entries put in out. */
static size_t list_archive(const char *path, listed *out, size_t max) {
  struct archive *a = archive_read_new();
  struct archive_entry *e;
  size_t n = 0;

  assert_non_null(a);
  archive_read_support_filter_all(a);
  archive_read_support_format_all(a);
  assert_int_equal(archive_read_open_filename(a, path, 4096), ARCHIVE_OK);
  assert_string_equal(archive_filter_name(a, 0), "gzip");
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    assert_true(n < max);
    listed *l = &out[n++];
    memset(l, 0, sizeof(*l));
    snprintf(l->name, sizeof(l->name), "%s", archive_entry_pathname(e));
    l->mode = archive_entry_mode(e);
    l->maj = archive_entry_rdevmajor(e);
    l->min = archive_entry_rdevminor(e);
    la_ssize_t got = archive_read_data(a, l->data, sizeof(l->data) - 1);
    if (got > 0)
      l->len = (size_t)got;
  }
  assert_int_equal(archive_format(a), ARCHIVE_FORMAT_CPIO_SVR4_NOCRC);
  assert_int_equal(archive_read_free(a), ARCHIVE_OK);
  return n;
}

static const listed *find(const listed *l, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(l[i].name, name) == 0)
      return &l[i];
  return NULL;
}

static char *get_ok(const char *init, const char *mods, const char *cache) {
  vmctr__initfs_params p = {.init_path = init, .modules_dir = mods, .cache_dir = cache};
  char *path = NULL;
  int r = vmctr__initfs_get(&p, &path);
  if (r < 0)
    fail_msg("vmctr__initfs_get: %d %s", r, vmctr_error_last()->message);
  assert_non_null(path);
  return path;
}

static void test_contents(void **state) {
  fixture *f = *state;
  listed l[32];
  char *path = get_ok(f->init, f->mods, f->cache);
  const char *base = strrchr(path, '/') + 1;
  const listed *e;
  size_t n;

  assert_memory_equal(path, f->cache, strlen(f->cache));
  assert_int_equal(strlen(base), strlen("initfs-.cpio.gz") + 64);
  assert_int_equal(strncmp(base, "initfs-", 7), 0);
  assert_string_equal(base + 7 + 64, ".cpio.gz");

  n = list_archive(path, l, 32);
  static const char *const dirs[] = {"dev", "proc", "sys", "run", "tmp", "mnt", "lib/modules/vmctr"};
  for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
    e = find(l, n, dirs[i]);
    if (!e)
      fail_msg("no directory %s", dirs[i]);
    assert_true(S_ISDIR(e->mode));
  }
  assert_int_equal(find(l, n, "tmp")->mode & 07777, 01777);
  e = find(l, n, "init");
  assert_non_null(e);
  assert_int_equal(e->mode, S_IFREG | 0755);
  assert_int_equal(e->len, 25);
  assert_memory_equal(e->data, "#!/bin/sh\nexec reboot -f\n", 25);
  e = find(l, n, "dev/console");
  assert_non_null(e);
  assert_true(S_ISCHR(e->mode));
  assert_int_equal(e->maj, 5);
  assert_int_equal(e->min, 1);
  e = find(l, n, "dev/null");
  assert_non_null(e);
  assert_true(S_ISCHR(e->mode));
  assert_int_equal(e->maj, 1);
  assert_int_equal(e->min, 3);
  e = find(l, n, "lib/modules/vmctr/virtio_blk.ko");
  assert_non_null(e);
  assert_int_equal(e->mode, S_IFREG | 0644);
  assert_string_equal(e->data, "BLK-MODULE");
  assert_string_equal(find(l, n, "lib/modules/vmctr/virtio_mmio.ko")->data, "MMIO-MODULE");
  /* Normalized, in the given order; unlisted modules stay out. */
  assert_string_equal(find(l, n, "lib/modules/vmctr/load-order")->data,
                      "virtio_mmio.ko\nvirtio_blk.ko\n");
  assert_null(find(l, n, "lib/modules/vmctr/unlisted.ko"));
  assert_int_equal(count_temps(f->cache), 0);
  free(path);
}

static void test_no_modules(void **state) {
  fixture *f = *state;
  listed l[32];
  char *path = get_ok(f->init, NULL, f->cache);
  size_t n = list_archive(path, l, 32);
  assert_non_null(find(l, n, "init"));
  assert_non_null(find(l, n, "lib/modules/vmctr"));
  assert_null(find(l, n, "lib/modules/vmctr/load-order"));
  assert_int_equal(n, 12);
  free(path);
}

static void test_cache_hit(void **state) {
  fixture *f = *state;
  struct stat a, b;
  char *p1 = get_ok(f->init, f->mods, f->cache);
  assert_int_equal(stat(p1, &a), 0);
  usleep(20000);
  char *p2 = get_ok(f->init, f->mods, f->cache);
  assert_string_equal(p1, p2);
  assert_int_equal(stat(p2, &b), 0);
  assert_int_equal(a.st_ino, b.st_ino);
  assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
  assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
  assert_int_equal(count_files(f->cache), 1);
  free(p1);
  free(p2);
}

static void test_hash_follows_content(void **state) {
  fixture *f = *state;
  char *p1 = get_ok(f->init, f->mods, f->cache);
  char *p0 = get_ok(f->init, NULL, f->cache);
  write_file(f->init, "#!/bin/sh\nexec reboot -f # v2\n", 30, 0755);
  char *p2 = get_ok(f->init, f->mods, f->cache);
  write_str(f->mods, "virtio_blk.ko", "BLK-MODULE v2");
  char *p3 = get_ok(f->init, f->mods, f->cache);
  write_str(f->mods, "load-order", "virtio_blk.ko\nvirtio_mmio.ko\n");
  char *p4 = get_ok(f->init, f->mods, f->cache);
  /* Whitespace and comments in load-order do not matter; only names and order do. */
  write_str(f->mods, "load-order", "# x\nvirtio_blk.ko\r\n\nvirtio_mmio.ko");
  char *p5 = get_ok(f->init, f->mods, f->cache);
  assert_string_not_equal(p1, p0);
  assert_string_not_equal(p1, p2);
  assert_string_not_equal(p2, p3);
  assert_string_not_equal(p3, p4);
  assert_string_equal(p4, p5);
  assert_int_equal(count_files(f->cache), 5);
  free(p0), free(p1), free(p2), free(p3), free(p4), free(p5);
}

/* Several processes build the same archive at once: all succeed, one whole file remains. */
static void test_concurrent(void **state) {
  fixture *f = *state;
  enum { N = 6 };
  size_t big = 3u << 20;
  char *data = malloc(big);
  pid_t pids[N];
  listed l[32];

  assert_non_null(data);
  for (size_t i = 0; i < big; i++)
    data[i] = (char)(i * 2654435761u >> 13);
  write_file(f->init, data, big, 0755);
  free(data);
  for (int i = 0; i < N; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0) {
      vmctr__initfs_params p = {.init_path = f->init, .modules_dir = f->mods, .cache_dir = f->cache};
      char *path = NULL;
      _exit(vmctr__initfs_get(&p, &path) == 0 && access(path, R_OK) == 0 ? 0 : 1);
    }
  }
  for (int i = 0; i < N; i++) {
    int st;
    assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
  }
  assert_int_equal(count_files(f->cache), 1);
  assert_int_equal(count_temps(f->cache), 0);
  char *path = get_ok(f->init, f->mods, f->cache);
  size_t n = list_archive(path, l, 32);
  assert_int_equal(n, 15);
  free(path);
}

/* A minimal 64-bit little-endian ELF header: type (2 exec, 3 dyn) and machine. */
static void write_elf(const char *path, unsigned type, unsigned machine) {
  unsigned char h[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
  h[16] = (unsigned char)type;
  h[18] = (unsigned char)machine;
  h[19] = (unsigned char)(machine >> 8);
  write_file(path, h, sizeof(h), 0755);
}

/* With an architecture, /init must be an ELF executable for it: a clear
 * error for another machine or a non-ELF file, and nothing is written. */
static void test_arch_check(void **state) {
  fixture *f = *state;
  char x86[160], arm[160], pie[160], *path = NULL;
  snprintf(x86, sizeof(x86), "%s/init-x86_64", f->dir);
  snprintf(arm, sizeof(arm), "%s/init-aarch64", f->dir);
  snprintf(pie, sizeof(pie), "%s/init-pie", f->dir);
  write_elf(x86, 2, 62);
  write_elf(arm, 2, 183);
  write_elf(pie, 3, 183);
  vmctr__initfs_params p = {.init_path = arm, .arch = "aarch64", .cache_dir = f->cache};
  assert_int_equal(vmctr__initfs_get(&p, &path), 0);
  free(path);
  p.init_path = pie; /* static-pie is ET_DYN */
  assert_int_equal(vmctr__initfs_get(&p, &path), 0);
  free(path);
  assert_int_equal(count_files(f->cache), 2);
  p.init_path = x86;
  assert_fails_with(vmctr__initfs_get(&p, &path), VMCTR_EINVAL, "ELF executable for x86_64");
  assert_non_null(strstr(vmctr_error_last()->message, "aarch64 guest"));
  p.arch = "x86_64";
  assert_int_equal(vmctr__initfs_get(&p, &path), 0);
  free(path);
  p.init_path = f->init; /* a shell script */
  assert_fails_with(vmctr__initfs_get(&p, &path), VMCTR_EINVAL, "not a 64-bit ELF executable");
  assert_int_equal(count_files(f->cache), 3);
  assert_int_equal(count_temps(f->cache), 0);

  assert_null(vmctr__initfs_elf_arch("\177ELF", 4));
  assert_null(vmctr__initfs_elf_arch(NULL, 0));
}

/* Which vmctr-init a guest architecture gets: its own variable first. */
static void test_init_for(void **state) {
  (void)state;
  char *p = NULL;
#if defined(__x86_64__)
  const char *host = "x86_64", *other = "aarch64", *other_var = "VMCTR_GUEST_INIT_AARCH64";
#else
  const char *host = "aarch64", *other = "x86_64", *other_var = "VMCTR_GUEST_INIT_X86_64";
#endif
  unsetenv("VMCTR_GUEST_INIT_AARCH64");
  unsetenv("VMCTR_GUEST_INIT_X86_64");
  setenv("VMCTR_GUEST_INIT", "/opt/host-init", 1);
  assert_int_equal(vmctr__initfs_init_for(host, &p), 0);
  assert_string_equal(p, "/opt/host-init");
  free(p);
  /* Another architecture never takes the host's init. */
  assert_int_equal(vmctr__initfs_init_for(other, &p), 0);
  assert_non_null(strstr(p, "/vmctr-init-"));
  assert_non_null(strstr(p, other));
  free(p);
  setenv(other_var, "/opt/other-init", 1);
  assert_int_equal(vmctr__initfs_init_for(other, &p), 0);
  assert_string_equal(p, "/opt/other-init");
  free(p);
  assert_fails_with(vmctr__initfs_init_for("mips", &p), VMCTR_EINVAL, "x86_64 or aarch64");
  assert_null(p);
  unsetenv(other_var);
  unsetenv("VMCTR_GUEST_INIT");
}

static void test_bad_inputs(void **state) {
  fixture *f = *state;
  vmctr__initfs_params p = {.init_path = f->init, .modules_dir = f->mods, .cache_dir = f->cache};
  char *path = NULL, buf[256];

  assert_fails_with(vmctr__initfs_get(NULL, &path), VMCTR_EINVAL, "required");
  assert_fails_with(vmctr__initfs_get(&p, NULL), VMCTR_EINVAL, "required");
  p.cache_dir = NULL;
  assert_fails_with(vmctr__initfs_get(&p, &path), VMCTR_EINVAL, "cache directory");
  p.cache_dir = f->cache;
  p.init_path = NULL;
  assert_fails_with(vmctr__initfs_get(&p, &path), VMCTR_EINVAL, "no init");

  snprintf(buf, sizeof(buf), "%s/nope", f->dir);
  p.init_path = buf;
  assert_fails_with(vmctr__initfs_get(&p, &path), VMCTR_ENOENT, buf);
  p.init_path = f->dir;
  assert_fails_with(vmctr__initfs_get(&p, &path), VMCTR_EINVAL, "not a regular file");
  snprintf(buf, sizeof(buf), "%s/modules/load-order", f->dir);
  p.init_path = buf;
  assert_fails_with(vmctr__initfs_get(&p, &path), VMCTR_EINVAL, "not executable");
  p.init_path = f->init;

  static const struct {
    const char *order, *text;
    int code;
  } bad[] = {
      {"../virtio_blk.ko\n", "not a plain module file name", VMCTR_EINVAL},
      {"/etc/passwd\n", "not a plain module file name", VMCTR_EINVAL},
      {"sub/x.ko\n", "not a plain module file name", VMCTR_EINVAL},
      {".hidden.ko\n", "not a plain module file name", VMCTR_EINVAL},
      {"virtio_blk\n", "not a plain module file name", VMCTR_EINVAL},
      {"virtio_blk.ko\nvirtio_blk.ko\n", "listed twice", VMCTR_EINVAL},
      {"absent.ko\n", "absent.ko", VMCTR_ENOENT},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    write_str(f->mods, "load-order", bad[i].order);
    assert_fails_with(vmctr__initfs_get(&p, &path), bad[i].code, bad[i].text);
  }
  /* A line number points at the culprit. */
  write_str(f->mods, "load-order", "virtio_blk.ko\nbad name.ko\n");
  assert_fails_with(vmctr__initfs_get(&p, &path), VMCTR_EINVAL, "load-order:2:");

  /* Bounded: too many names. */
  {
    char *many = malloc(300 * 16);
    size_t off = 0;
    assert_non_null(many);
    for (int i = 0; i < 300; i++)
      off += (size_t)sprintf(many + off, "m%03d.ko\n", i);
    for (int i = 0; i < 300; i++) {
      char name[16];
      snprintf(name, sizeof(name), "m%03d.ko", i);
      write_str(f->mods, name, "x");
    }
    write_str(f->mods, "load-order", many);
    free(many);
    assert_fails_with(vmctr__initfs_get(&p, &path), VMCTR_ETOOBIG, "more than 256 modules");
  }

  snprintf(buf, sizeof(buf), "%s/modules/load-order", f->dir);
  unlink(buf);
  assert_fails_with(vmctr__initfs_get(&p, &path), VMCTR_ENOENT, "load-order");
  snprintf(buf, sizeof(buf), "%s/no-such-dir", f->dir);
  p.modules_dir = buf;
  assert_fails_with(vmctr__initfs_get(&p, &path), VMCTR_ENOENT, buf);

  /* The cache directory is a file. */
  p.modules_dir = NULL;
  p.cache_dir = f->init;
  assert_fails_with(vmctr__initfs_get(&p, &path), VMCTR_EINVAL, "not a directory");
  assert_null(path);
  assert_int_equal(count_files(f->cache), 0);
  assert_int_equal(count_temps(f->cache), 0);
}

/* The cache directory is made 0700; one of ours left 0755 by an older
 * release is tightened; group/world-writable or another user's is refused,
 * and nothing is written into it. */
static void test_cache_dir_perms(void **state) {
  fixture *f = *state;
  vmctr__initfs_params p = {.init_path = f->init, .modules_dir = NULL, .cache_dir = f->cache};
  char *path = NULL;
  struct stat st;
  free(get_ok(f->init, NULL, f->cache));
  assert_int_equal(stat(f->cache, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0700);
  chmod(f->cache, 0755);
  free(get_ok(f->init, NULL, f->cache));
  assert_int_equal(stat(f->cache, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0700);

  tu_rm_rf(f->cache);
  assert_int_equal(mkdir(f->cache, 0777), 0);
  assert_int_equal(chmod(f->cache, 0777), 0);
  assert_fails_with(vmctr__initfs_get(&p, &path), VMCTR_EPERM, "group- or world-writable");
  assert_null(path);
  assert_int_equal(tu_count_entries(f->cache), 0);
  assert_int_equal(chmod(f->cache, 0700), 0);

  if (geteuid() == 0) {
    assert_int_equal(chown(f->cache, 4242, 4242), 0);
    assert_fails_with(vmctr__initfs_get(&p, &path), VMCTR_EPERM, "owned by another user");
    assert_null(path);
    assert_int_equal(tu_count_entries(f->cache), 0);
    assert_int_equal(chown(f->cache, 0, 0), 0);
  }
  /* A symlink in the cache's place (pointing at a dir someone else controls). */
  char link[256];
  snprintf(link, sizeof(link), "%s/linked", f->dir);
  assert_int_equal(symlink(f->cache, link), 0);
  p.cache_dir = link;
  assert_fails_with(vmctr__initfs_get(&p, &path), VMCTR_EPERM, "symlink");
}

/* Same name, other content: the entry is rebuilt, not used. */
static void test_tampered_entry(void **state) {
  fixture *f = *state;
  struct stat a, b;
  char *p1 = get_ok(f->init, f->mods, f->cache), *good = tl_slurp(p1, NULL);
  size_t glen = 0;
  free(tl_slurp(p1, &glen));
  assert_int_equal(stat(p1, &a), 0);
  /* Planted content under the right name (as if written by another hand). */
  write_file(p1, "#!/bin/sh\necho evil\n", 20, 0644);
  char *p2 = get_ok(f->init, f->mods, f->cache);
  assert_string_equal(p1, p2);
  size_t nlen = 0;
  char *now = tl_slurp(p2, &nlen);
  assert_int_equal(nlen, glen);
  assert_memory_equal(now, good, glen);
  /* A FIFO under the name: replaced without blocking. */
  unlink(p1);
  assert_int_equal(mkfifo(p1, 0644), 0);
  char *p3 = get_ok(f->init, f->mods, f->cache);
  assert_int_equal(stat(p3, &b), 0);
  assert_true(S_ISREG(b.st_mode));
  /* The recorded hash removed: rebuilt too (an entry is never trusted on its name). */
  char sum[300];
  snprintf(sum, sizeof(sum), "%.*s.sha256", (int)(strlen(p1) - strlen(".cpio.gz")), p1);
  assert_int_equal(unlink(sum), 0);
  free(get_ok(f->init, f->mods, f->cache));
  assert_int_equal(access(sum, F_OK), 0);
  assert_int_equal(count_files(f->cache), 1);
  assert_int_equal(count_temps(f->cache), 0);
  free(good), free(now), free(p1), free(p2), free(p3);
}

/* Temp files of dead builders are swept; a live builder's (locked) stays. */
static void test_debris_sweep(void **state) {
  fixture *f = *state;
  char dead[256], live[256];
  int pipefd[2];
  free(get_ok(f->init, NULL, f->cache));
  snprintf(dead, sizeof(dead), "%s/.new-1-dead", f->cache);
  snprintf(live, sizeof(live), "%s/.new-2-live", f->cache);
  write_file(dead, "torn", 4, 0600);
  write_file(live, "busy", 4, 0600);
  assert_int_equal(pipe(pipefd), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(live, O_RDONLY);
    char c;
    if (fd < 0 || flock(fd, LOCK_EX) < 0)
      _exit(1);
    if (write(pipefd[1], "x", 1) != 1)
      _exit(1);
    (void)c;
    pause(); /* holds the lock until killed */
    _exit(0);
  }
  char c;
  assert_int_equal(read(pipefd[0], &c, 1), 1);
  free(get_ok(f->init, NULL, f->cache));
  assert_int_equal(access(dead, F_OK), -1);
  assert_int_equal(access(live, F_OK), 0);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  close(pipefd[0]);
  close(pipefd[1]);
  free(get_ok(f->init, NULL, f->cache));
  assert_int_equal(access(live, F_OK), -1);
  assert_int_equal(count_temps(f->cache), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_contents, setup, tu_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_no_modules, setup, tu_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_cache_hit, setup, tu_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_cache_dir_perms, setup, tu_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_tampered_entry, setup, tu_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_debris_sweep, setup, tu_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_hash_follows_content, setup, tu_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_concurrent, setup, tu_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_bad_inputs, setup, tu_fixture_teardown),
      cmocka_unit_test_setup_teardown(test_arch_check, setup, tu_fixture_teardown),
      cmocka_unit_test(test_init_for),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
