/* SPDX-License-Identifier: MIT */
/* Template VMs, the shared part (template.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "vmm/template.h"

#define KEY_VERSION "vmctr-template-2"
#define HELLO_MAX 4096u
#define BUILD_PREFIX ".build-"
#define DEAD_PREFIX ".dead-"
#define STATE_MAX (64u << 20) /* a state file is ~200 KB: devices and CPUs, no RAM */

const char *vmctr__template_unsuitable(const vmctr__vm_spec *spec) {
  if (spec->nshares)
    return "the VM has shared directories (their daemons map guest RAM, which a clone keeps "
           "private)";
  if (spec->nnics > 8)
    return "the VM has more than 8 NICs";
  if (spec->ndisks > 16)
    return "the VM has more than 16 disks";
  return NULL;
}

static void put(vmctr__sha256 *h, const void *p, size_t n) {
  uint64_t len = n; /* length-prefixed: no two field lists hash alike */
  vmctr__sha256_update(h, &len, sizeof(len));
  vmctr__sha256_update(h, p, n);
}

static void put_str(vmctr__sha256 *h, const char *s) {
  put(h, s ? s : "", s ? strlen(s) + 1 : 0);
}

static void put_u64(vmctr__sha256 *h, uint64_t v) {
  put(h, &v, sizeof(v));
}

static int put_file(vmctr__sha256 *h, const char *path) {
  struct stat st;
  put_str(h, path);
  if (!path)
    return 0;
  if (stat(path, &st) < 0)
    return vmctr__err_os(errno, "cannot stat %s", path);
  put_u64(h, (uint64_t)st.st_dev);
  put_u64(h, (uint64_t)st.st_ino);
  put_u64(h, (uint64_t)st.st_size);
  put_u64(h, (uint64_t)st.st_mtim.tv_sec);
  put_u64(h, (uint64_t)st.st_mtim.tv_nsec);
  put_u64(h, (uint64_t)st.st_ctim.tv_sec);
  put_u64(h, (uint64_t)st.st_ctim.tv_nsec);
  return 0;
}

int vmctr__template_key(const vmctr__vm_spec *spec, const char *backend_id, char out[65]) {
  vmctr__sha256 h;
  uint8_t d[32];
  int r;
  vmctr__sha256_init(&h);
  put_str(&h, KEY_VERSION);
  put_str(&h, backend_id);
  if ((r = put_file(&h, spec->kernel)) < 0 || (r = put_file(&h, spec->initfs)) < 0)
    return r;
  for (char *const *a = spec->kernel_args; a && *a; a++)
    put_str(&h, *a);
  put_str(&h, "--");
  put_u64(&h, spec->cpus);
  put_u64(&h, spec->memory);
  put_u64(&h, spec->nested_virtualization);
  put_u64(&h, spec->rosetta);
  put_u64(&h, (uint64_t)(int64_t)spec->accel);
  put_str(&h, spec->arch);
  put_u64(&h, spec->firmware_tables);
  put_u64(&h, spec->entropy);
  put_str(&h, spec->agent_name);
  put_u64(&h, spec->agent_port);
  /* The disks' devices and sizes, not their images: a clone brings its own. */
  put_u64(&h, spec->ndisks);
  for (size_t i = 0; i < spec->ndisks; i++) {
    put_u64(&h, spec->disks[i].read_only);
    put_str(&h, spec->disks[i].serial);
    /* A writable disk's placeholder has its size (qemu-argv.c). */
    put_u64(&h, spec->disks[i].read_only ? 0 : spec->disks[i].size);
  }
  put_u64(&h, spec->nshares);
  /* The NICs' kinds; the MAC is set after the restore. */
  put_u64(&h, spec->nnics);
  for (size_t i = 0; i < spec->nnics; i++) {
    put_u64(&h, spec->nics[i].kind);
    put_u64(&h, spec->nics[i].nat_impl);
  }
  for (char *const *a = spec->hypervisor_args; a && *a; a++)
    put_str(&h, *a);
  vmctr__sha256_final(&h, d);
  vmctr__sha256_hex(d, out);
  return 0;
}

char *vmctr__template_root(void) {
  char *cache = vmctr__user_dir(VMCTR__DIR_CACHE), *root = NULL;
  if (!cache)
    return NULL;
  if (asprintf(&root, "%s/templates", cache) < 0) {
    root = NULL;
    vmctr__err_nomem();
  } else if (mkdir(root, 0700) < 0 && errno != EEXIST) {
    vmctr__err_os(errno, "cannot create %s", root);
    free(root);
    root = NULL;
  }
  free(cache);
  return root;
}

static char *join(const char *a, const char *b) {
  char *p = NULL;
  if (asprintf(&p, "%s/%s", a, b) < 0) {
    vmctr__err_nomem();
    return NULL;
  }
  return p;
}

/* SHA-256 (hex) of the file open at fd, from its start; the offset is left at 0. */
static int hash_fd(int fd, char out[65]) {
  vmctr__sha256 h;
  uint8_t buf[65536], d[32];
  uint64_t total = 0;
  ssize_t n;
  vmctr__sha256_init(&h);
  while ((n = pread(fd, buf, sizeof(buf), (off_t)total)) > 0) {
    vmctr__sha256_update(&h, buf, (size_t)n);
    if ((total += (uint64_t)n) > STATE_MAX)
      return vmctr__err(VMCTR_EIO, 0, "a template state file larger than %u bytes", STATE_MAX);
  }
  if (n < 0)
    return vmctr__err_os(errno, "cannot read a template state file");
  vmctr__sha256_final(&h, d);
  vmctr__sha256_hex(d, out);
  return 0;
}

static void close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

void vmctr__template_close(vmctr__template *t) {
  close_fd(&t->ram_fd);
  close_fd(&t->state_fd);
  free(t->dir);
  free(t->ram);
  free(t->hello);
  *t = (vmctr__template)VMCTR__TEMPLATE_INIT;
}

int vmctr__template_open(const char *root, const char *key, vmctr__template *t) {
  struct stat a, b;
  char *state = NULL, *hello = NULL, *text = NULL, *sum = NULL, want[80] = "", got[65];
  size_t len = 0;
  int r;
  *t = (vmctr__template)VMCTR__TEMPLATE_INIT;
  if (!(t->dir = join(root, key)) || !(t->ram = join(t->dir, "ram")) ||
      !(state = join(t->dir, "state")) || !(hello = join(t->dir, "hello"))) {
    r = VMCTR_ENOMEM;
    goto fail;
  }
  if ((t->ram_fd = open(t->ram, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
    r = errno == ENOENT ? vmctr__err(VMCTR_ENOENT, 0, "no template %s", key)
                        : vmctr__err_os(errno, "cannot open %s", t->ram);
    goto fail;
  }
  /* Held shared while the clone lives; a remover holds it exclusively and
   * renames the directory away first, so check that it is still ours. */
  if (flock(t->ram_fd, LOCK_SH | LOCK_NB) < 0 || fstat(t->ram_fd, &a) < 0 ||
      stat(t->ram, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
    r = vmctr__err(VMCTR_ENOENT, 0, "template %s is being removed", key);
    goto fail;
  }
  /* Read-only, as published (an older library's were writable by every
   * clone's jail id: one of those is not trusted, and goes). */
  if (!S_ISREG(a.st_mode) || (a.st_mode & 07777) != 0400 || a.st_uid != geteuid()) {
    r = vmctr__err(VMCTR_EIO, 0, "template %s: its RAM file is not read-only and ours (mode %04o)",
                   key, (unsigned)(a.st_mode & 07777));
    goto fail;
  }
  if ((t->state_fd = open(state, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
    r = vmctr__err(VMCTR_EIO, errno, "template %s has no state file: %s", key, strerror(errno));
    goto fail;
  }
  /* A damaged state could load and make a broken guest: it must be the one saved. */
  if (!(sum = join(t->dir, "state.sha256")) || vmctr__read_line(sum, want, sizeof(want)) < 0 ||
      (r = hash_fd(t->state_fd, got)) < 0 || strcmp(want, got) != 0) {
    r = vmctr__err(VMCTR_EIO, 0, "template %s: its state file is damaged (not the one saved)", key);
    goto fail;
  }
  if ((r = vmctr__read_file(hello, HELLO_MAX, &text, &len)) < 0 || len == 0) {
    r = vmctr__err(VMCTR_EIO, 0, "template %s has no agent HELLO", key);
    goto fail;
  }
  t->hello = (uint8_t *)text;
  t->hello_len = len;
  text = NULL;
  /* Its last use, for the pruning of the least recently used. */
  (void)utimensat(AT_FDCWD, t->dir, NULL, 0);
  r = 0;
fail:
  if (r < 0)
    vmctr__template_close(t);
  free(state);
  free(hello);
  free(text);
  free(sum);
  return r;
}

/* Remove dir and the files in it (a template has no subdirectories). */
static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  if (d) {
    while ((e = readdir(d)))
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
        (void)unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
  }
  if (rmdir(dir) < 0 && errno != ENOENT)
    vmctr__log(VMCTR_LOG_WARN, "template", "cannot remove %s: %s", dir, strerror(errno));
}

static int lock_key(const char *root, const char *key, int how) {
  char *path = NULL;
  if (asprintf(&path, "%s/%s.lock", root, key) < 0)
    return vmctr__err_nomem();
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  int e = errno;
  free(path);
  if (fd < 0)
    return vmctr__err_os(e, "cannot open the template lock of %s", key);
  while (flock(fd, how) < 0) {
    if (errno == EINTR)
      continue;
    e = errno;
    close(fd);
    return e == EWOULDBLOCK ? VMCTR_EBUSY : vmctr__err_os(e, "cannot lock template %s", key);
  }
  return fd;
}

void vmctr__template_build_clear(vmctr__template_build *b) {
  close_fd(&b->state_fd);
  if (b->tmp)
    remove_dir(b->tmp);
  close_fd(&b->lock_fd);
  free(b->root);
  free(b->key);
  free(b->tmp);
  free(b->ram);
  *b = (vmctr__template_build)VMCTR__TEMPLATE_BUILD_INIT;
}

int vmctr__template_build_begin(const char *root, const char *key, uint64_t memory,
                                vmctr__template_build *b) {
  struct stat st;
  char *dir = NULL, *state = NULL;
  int r, fd;
  *b = (vmctr__template_build)VMCTR__TEMPLATE_BUILD_INIT;
  if (!(b->root = vmctr__strdup(root)) || !(b->key = vmctr__strdup(key)) || !(dir = join(root, key)))
    return vmctr__template_build_clear(b), VMCTR_ENOMEM;
  if ((r = lock_key(root, key, LOCK_EX)) < 0)
    goto out;
  b->lock_fd = r;
  if (lstat(dir, &st) == 0) { /* another builder was first */
    r = 1;
    goto out;
  }
  if (asprintf(&b->tmp, "%s/" BUILD_PREFIX "%s-%d", root, key, (int)getpid()) < 0) {
    b->tmp = NULL;
    r = vmctr__err_nomem();
    goto out;
  }
  remove_dir(b->tmp); /* a crashed build of a process with our pid */
  if (mkdir(b->tmp, 0700) < 0) {
    r = vmctr__err_os(errno, "cannot create %s", b->tmp);
    free(b->tmp);
    b->tmp = NULL;
    goto out;
  }
  if (!(b->ram = join(b->tmp, "ram")) || !(state = join(b->tmp, "state"))) {
    r = VMCTR_ENOMEM;
    goto out;
  }
  /* Ours alone: the builder's QEMU gets it (chown to its jail id) while it
   * runs; clones never open it themselves (qemu-template.c hands them a
   * read-only fd), and publishing makes it read-only. */
  if ((fd = open(b->ram, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
      ftruncate(fd, (off_t)memory) < 0) {
    r = vmctr__err_os(errno, "cannot create %s", b->ram);
    if (fd >= 0)
      close(fd);
    goto out;
  }
  close(fd);
  if ((b->state_fd = open(state, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
    r = vmctr__err_os(errno, "cannot create %s", state);
    goto out;
  }
  r = 0;
out:
  if (r != 0)
    vmctr__template_build_clear(b);
  free(dir);
  free(state);
  return r;
}

int vmctr__template_build_publish(vmctr__template_build *b, const uint8_t *hello, size_t len) {
  char *path = join(b->tmp, "hello"), *dir = join(b->root, b->key);
  char *state = join(b->tmp, "state"), *sum = join(b->tmp, "state.sha256"), hex[66];
  int r = 0, fd = -1;
  if (!path || !dir || !state || !sum)
    r = VMCTR_ENOMEM;
  else if (chmod(b->ram, 0400) < 0)
    r = vmctr__err_os(errno, "cannot make %s read-only", b->ram);
  else if (fsync(b->state_fd) < 0)
    r = vmctr__err_os(errno, "cannot sync the template's state");
  else if ((fd = open(state, O_RDONLY | O_CLOEXEC)) < 0)
    r = vmctr__err_os(errno, "cannot read %s", state);
  else if ((r = hash_fd(fd, hex)) == 0 && (strcat(hex, "\n"), 1) &&
           (r = vmctr__write_file_atomic(sum, hex, strlen(hex), 0600)) == 0 &&
           (r = vmctr__write_file_atomic(path, hello, len, 0600)) == 0 && rename(b->tmp, dir) < 0)
    r = vmctr__err_os(errno, "cannot publish template %s", b->key);
  if (r == 0) {
    free(b->tmp);
    b->tmp = NULL; /* published: nothing to remove */
    vmctr__log(VMCTR_LOG_INFO, "template", "published template %s", dir);
  }
  if (fd >= 0)
    close(fd);
  free(path);
  free(dir);
  free(state);
  free(sum);
  return r;
}

/* Remove template name (a key) under root unless a clone holds it. */
static bool remove_template(const char *root, const char *name) {
  char *dir = join(root, name), *ram = dir ? join(dir, "ram") : NULL, *dead = NULL;
  bool done = false;
  int fd = ram ? open(ram, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
  if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
      asprintf(&dead, "%s/" DEAD_PREFIX "%s-%d", root, name, (int)getpid()) >= 0 &&
      rename(dir, dead) == 0) {
    remove_dir(dead);
    done = true;
  }
  if (fd >= 0)
    close(fd);
  int lk = lock_key(root, name, LOCK_EX | LOCK_NB);
  if (done && lk >= 0) {
    char *lock = NULL;
    if (asprintf(&lock, "%s/%s.lock", root, name) >= 0)
      unlink(lock);
    free(lock);
  }
  if (lk >= 0)
    close(lk);
  vmctr_error_clear();
  free(dead);
  free(ram);
  free(dir);
  return done;
}

static bool is_key(const char *s) {
  size_t n = 0;
  for (; s[n]; n++)
    if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
      return false;
  return n == 64;
}

void vmctr__template_prune(const char *root, const char *keep_key) {
  struct entry {
    char name[65];
    int64_t used;
  } e[64];
  size_t n = 0;
  DIR *d = opendir(root);
  struct dirent *de;
  if (!d)
    return;
  while ((de = readdir(d))) {
    struct stat st;
    if (strncmp(de->d_name, BUILD_PREFIX, strlen(BUILD_PREFIX)) == 0 ||
        strncmp(de->d_name, DEAD_PREFIX, strlen(DEAD_PREFIX)) == 0) {
      /* A builder or remover that died: its key's lock is free again. */
      char key[65];
      const char *k = de->d_name + (de->d_name[1] == 'b' ? strlen(BUILD_PREFIX) : strlen(DEAD_PREFIX));
      snprintf(key, sizeof(key), "%.64s", k);
      int lk = is_key(key) ? lock_key(root, key, LOCK_EX | LOCK_NB) : -1;
      if (lk >= 0 || de->d_name[1] == 'd') {
        char *p = join(root, de->d_name);
        if (p && (de->d_name[1] == 'b' || fstatat(dirfd(d), de->d_name, &st, 0) == 0))
          remove_dir(p);
        free(p);
      }
      if (lk >= 0)
        close(lk);
      vmctr_error_clear();
      continue;
    }
    if (!is_key(de->d_name) || (keep_key && strcmp(de->d_name, keep_key) == 0) || n == 64 ||
        fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
      continue;
    memcpy(e[n].name, de->d_name, 65); /* is_key: 64 hex digits and the NUL */
    e[n].used = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    n++;
  }
  closedir(d);
  /* Oldest first, until at most MAX - 1 besides the one kept remain. */
  size_t keep = VMCTR__TEMPLATE_MAX - (keep_key ? 1 : 0);
  while (n > keep) {
    size_t old = 0;
    for (size_t i = 1; i < n; i++)
      if (e[i].used < e[old].used)
        old = i;
    if (remove_template(root, e[old].name))
      vmctr__log(VMCTR_LOG_INFO, "template", "removed the unused template %s", e[old].name);
    e[old] = e[--n];
  }
}

void vmctr__template_discard(const char *root, const char *key) {
  if (remove_template(root, key))
    vmctr__log(VMCTR_LOG_INFO, "template", "removed the bad template %s", key);
}
