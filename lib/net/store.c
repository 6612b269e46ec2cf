/* SPDX-License-Identifier: MIT */
/* The network store: <state>/networks/<name>.json (the definition),
 * <name>.leases (its address leases, JSON) and <name>.lock (the flock that
 * guards both). The three suffixes differ in their last part, so no name
 * can collide with another network's file. Directories are 0700 and files
 * 0600; files are replaced atomically and read as untrusted: regular files
 * only, no symlink followed, bounded in size. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/util.h"
#include "net/net-priv.h"
#include "net/store.h"

char *vmctr__net_state_default(const char *dir) {
  const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
  char *p = NULL;
  if (dir)
    return vmctr__strdup(dir);
  if (xdg && xdg[0] == '/') {
    if (asprintf(&p, "%s/libvmctr", xdg) < 0)
      p = NULL;
  } else if (geteuid() == 0) {
    p = vmctr__strdup("/var/lib/libvmctr");
  } else if (home && home[0] == '/') {
    if (asprintf(&p, "%s/.local/state/libvmctr", home) < 0)
      p = NULL;
  } else {
    vmctr__err(VMCTR_ENOENT, 0, "no state directory for uid %u: pass one, or set "
               "XDG_STATE_HOME or HOME", (unsigned)geteuid());
    return NULL;
  }
  if (!p)
    vmctr__err_nomem();
  return p;
}

static int net_path(char *buf, size_t size, const char *real, const char *name, const char *ext) {
  int n = name ? snprintf(buf, size, "%s/networks/%s.%s", real, name, ext)
               : snprintf(buf, size, "%s/networks", real);
  if (n < 0 || (size_t)n >= size)
    return vmctr__err(VMCTR_EINVAL, ENAMETOOLONG, "state directory %s: path too long", real);
  return 0;
}

int vmctr__net_read(const char *real, const char *name, const char *ext, size_t max, char **out,
                    size_t *len) {
  char path[PATH_MAX];
  int r = net_path(path, sizeof(path), real, name, ext);
  /* Untrusted even so: a regular file, no link, bounded, never a blocking open. */
  return r < 0 ? r : vmctr__read_file_nofollow(path, max, out, len);
}

int vmctr__net_write(const char *real, const char *name, const char *ext, const char *data,
                     size_t len) {
  char path[PATH_MAX];
  int r;
  if ((r = net_path(path, sizeof(path), real, name, ext)) < 0)
    return r;
  return vmctr__write_file_atomic(path, data, len, 0600);
}

/* mkdir -p with 0700 for what it creates. */
static int mkdirs(const char *dir) {
  char p[PATH_MAX];
  size_t len = strlen(dir);
  if (len == 0 || len >= sizeof(p))
    return vmctr__err(VMCTR_EINVAL, 0, "state directory \"%.64s\": empty or too long", dir);
  memcpy(p, dir, len + 1);
  for (char *s = p + 1;; s++) {
    if (*s == '/' || *s == '\0') {
      char c = *s;
      *s = '\0';
      if (mkdir(p, 0700) < 0 && errno != EEXIST)
        return vmctr__err_os(errno, "cannot create the state directory %s", p);
      *s = c;
      if (!c)
        break;
    }
  }
  return 0;
}

/* The real path of the state directory; create it (and networks/) if asked. */
static int state_real(const char *state_dir, bool create, char **out) {
  char *dir = vmctr__net_state_default(state_dir), *real = NULL, sub[PATH_MAX];
  int r;
  if (!dir)
    return vmctr_error_last()->code;
  if (!*dir) {
    r = vmctr__err(VMCTR_EINVAL, 0, "the state directory is an empty string");
    goto out;
  }
  if (create && (r = mkdirs(dir)) < 0)
    goto out;
  if (!(real = realpath(dir, NULL))) {
    r = vmctr__err_os(errno, "state directory %s", dir);
    goto out;
  }
  if (create) {
    if ((r = net_path(sub, sizeof(sub), real, NULL, NULL)) < 0)
      goto out;
    if (mkdir(sub, 0700) < 0 && errno != EEXIST) {
      r = vmctr__err_os(errno, "cannot create %s", sub);
      goto out;
    }
  }
  *out = real;
  real = NULL;
  r = 0;
out:
  free(real);
  free(dir);
  return r;
}

int vmctr__net_lock_path(const char *real, const char *name, bool must_exist, int *out) {
  char lock[PATH_MAX], def[PATH_MAX];
  struct stat fst, pst;
  int r, fd;
  if ((r = net_path(lock, sizeof(lock), real, name, "lock")) < 0 ||
      (r = net_path(def, sizeof(def), real, name, "json")) < 0)
    return r;
  for (;;) {
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0600);
    if (fd < 0) {
      if (must_exist && errno == ENOENT)
        return vmctr__err(VMCTR_ENOENT, ENOENT, "network %s not found in %s", name, real);
      return vmctr__err_os(errno, "cannot open the lock file %s", lock);
    }
    while ((r = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
      ;
    if (r < 0 || fstat(fd, &fst) < 0 || !S_ISREG(fst.st_mode)) {
      r = vmctr__err(VMCTR_EIO, errno, "cannot lock %s (is it a regular file?)", lock);
      close(fd);
      return r;
    }
    /* A remover unlinks the lock file while holding it: whoever waited on
     * that inode must start over on the current one. */
    if (fst.st_nlink > 0 && lstat(lock, &pst) == 0 && pst.st_ino == fst.st_ino &&
        pst.st_dev == fst.st_dev)
      break;
    close(fd);
  }
  if (must_exist && lstat(def, &pst) < 0) {
    int e = errno;
    if (e == ENOENT)
      unlink(lock); /* we made it (or a remover's leftover): not a network */
    close(fd);
    return e == ENOENT ? vmctr__err(VMCTR_ENOENT, e, "network %s not found in %s", name, real)
                       : vmctr__err_os(e, "%s", def);
  }
  *out = fd;
  return 0;
}

int vmctr__net_lock(const vmctr_network *n, int *fd) {
  if (!n || !fd)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__net_lock: %s is NULL", n ? "fd" : "network");
  if (!n->state_dir)
    return vmctr__err(VMCTR_EINVAL, 0, "network %s is not from a store (vmctr_network_open)",
                      n->name);
  return vmctr__net_lock_path(n->state_dir, n->name, true, fd);
}

void vmctr__net_unlock(int fd) {
  if (fd >= 0)
    close(fd); /* closing the only fd of the open file releases the flock */
}

int vmctr_network_create(const char *state_dir, const vmctr_network *n) {
  char *real = NULL, def[PATH_MAX], *json = NULL;
  struct stat st;
  int r, fd = -1;
  if (!n)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_network_create: network is NULL");
  if ((r = vmctr__network_check_complete(n)) < 0 || (r = vmctr_network_to_json(n, &json)) < 0)
    return r;
  if ((r = state_real(state_dir, true, &real)) < 0 ||
      (r = net_path(def, sizeof(def), real, n->name, "json")) < 0 ||
      (r = vmctr__net_lock_path(real, n->name, false, &fd)) < 0)
    goto out;
  if (lstat(def, &st) == 0) {
    r = vmctr__err(VMCTR_EEXIST, EEXIST, "network %s already exists in %s", n->name, real);
    goto out;
  }
  if ((r = vmctr__net_write(real, n->name, "json", json, strlen(json))) < 0) {
    char lock[PATH_MAX];
    if (net_path(lock, sizeof(lock), real, n->name, "lock") == 0)
      unlink(lock); /* held: a waiter sees it unlinked and finds no network */
    vmctr__err_prefix("cannot store the network");
  }
out:
  vmctr__net_unlock(fd);
  free(json);
  free(real);
  return r;
}

int vmctr_network_open(vmctr_network **out, const char *state_dir, const char *name) {
  char *real = NULL, *text = NULL, what[PATH_MAX + 32];
  vmctr_network *n = NULL;
  size_t len;
  int r;
  if (!out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_network_open: out is NULL");
  if ((r = vmctr__network_check_name(name, "network name")) < 0)
    return r;
  if ((r = state_real(state_dir, false, &real)) < 0) {
    if (r == VMCTR_ENOENT)
      r = vmctr__err(VMCTR_ENOENT, ENOENT, "network %s not found: no state directory %s", name,
                     state_dir ? state_dir : "(the default)");
    goto out;
  }
  if ((r = vmctr__net_read(real, name, "json", VMCTR_NETWORK_MAX_JSON, &text, &len)) < 0) {
    if (r == VMCTR_ENOENT)
      r = vmctr__err(VMCTR_ENOENT, ENOENT, "network %s not found in %s", name, real);
    goto out;
  }
  snprintf(what, sizeof(what), "network definition %s/networks/%s.json", real, name);
  if ((r = vmctr__network_from_text(&n, text, len, what)) < 0)
    goto out;
  if (strcmp(n->name, name) != 0) {
    r = vmctr__err(VMCTR_EPARSE, 0, "%s names network \"%s\"", what, n->name);
    goto out;
  }
  n->state_dir = real;
  real = NULL;
  *out = n;
  n = NULL;
out:
  vmctr_network_free(n);
  free(text);
  free(real);
  return r;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int vmctr_network_list(const char *state_dir, char ***names) {
  vmctr__strv b = VMCTR__STRV_INIT;
  char *real = NULL, sub[PATH_MAX];
  DIR *d = NULL;
  struct dirent *de;
  char **v;
  int r, fd;
  if (!names)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_network_list: names is NULL");
  r = state_real(state_dir, false, &real);
  if (r == VMCTR_ENOENT)
    return vmctr__strv_finish(&b, names);
  if (r < 0 || (r = net_path(sub, sizeof(sub), real, NULL, NULL)) < 0)
    goto out;
  fd = open(sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    r = vmctr__strv_finish(&b, names);
    goto out;
  }
  if (fd < 0 || !(d = fdopendir(fd))) {
    r = vmctr__err_os(errno, "cannot list %s", sub);
    if (fd >= 0)
      close(fd);
    goto out;
  }
  while ((errno = 0, de = readdir(d))) {
    size_t len = strlen(de->d_name);
    struct stat st;
    char name[VMCTR_NETWORK_NAME_MAX + 1];
    if (len <= 5 || len - 5 > VMCTR_NETWORK_NAME_MAX || strcmp(de->d_name + len - 5, ".json"))
      continue;
    memcpy(name, de->d_name, len - 5);
    name[len - 5] = '\0';
    if (!vmctr__network_name_ok(name) ||
        fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
      continue;
    vmctr__strv_add(&b, name);
  }
  if (errno) {
    r = vmctr__err_os(errno, "cannot list %s", sub);
    vmctr__strv_clear(&b);
    goto out;
  }
  if ((r = vmctr__strv_finish(&b, &v)) < 0)
    goto out;
  qsort(v, vmctr__strv_len(v), sizeof(*v), cmp_str);
  *names = v;
out:
  if (d)
    closedir(d);
  free(real);
  return r;
}

int vmctr_network_remove(const char *state_dir, const char *name) {
  char *real = NULL, path[PATH_MAX];
  char **owners = NULL;
  int r, fd = -1;
  if ((r = vmctr__network_check_name(name, "network name")) < 0)
    return r;
  if ((r = state_real(state_dir, false, &real)) < 0) {
    if (r == VMCTR_ENOENT)
      r = vmctr__err(VMCTR_ENOENT, ENOENT, "network %s not found: no state directory %s", name,
                     state_dir ? state_dir : "(the default)");
    goto out;
  }
  if ((r = vmctr__net_lock_path(real, name, true, &fd)) < 0 ||
      (r = vmctr__net_leases_owners(real, name, &owners)) < 0)
    goto out;
  if (owners[0]) {
    vmctr__strbuf sb = {0};
    size_t i;
    for (i = 0; owners[i] && i < 8; i++)
      vmctr__sb_printf(&sb, "%s%s", i ? ", " : "", owners[i]);
    if (owners[i])
      vmctr__sb_printf(&sb, " and %zu more", vmctr__strv_len(owners) - i);
    r = vmctr__err(VMCTR_EBUSY, 0, "network %s is in use by %s: stop or remove %s first", name,
                   sb.buf && !sb.failed ? sb.buf : "containers",
                   owners[1] ? "those containers" : "that container");
    vmctr__sb_free(&sb);
    goto out;
  }
  /* The definition first: once it is gone the network is gone, whatever
   * else a crash leaves (a stale lock or leases file is harmless). */
  if ((r = net_path(path, sizeof(path), real, name, "json")) < 0)
    goto out;
  if (unlink(path) < 0) {
    r = vmctr__err_os(errno, "cannot remove %s", path);
    goto out;
  }
  if (net_path(path, sizeof(path), real, name, "leases") == 0)
    unlink(path);
  if (net_path(path, sizeof(path), real, name, "lock") == 0)
    unlink(path);
  r = 0;
out:
  vmctr__net_unlock(fd);
  vmctr__strv_free(owners);
  free(real);
  return r;
}
