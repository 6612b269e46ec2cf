/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/jail-cleanup.h"
#include "core/log.h"
#include "core/util.h"
#include "vmm/rundir-priv.h"

char *vmctr__rundir_default_parent(void) {
  return vmctr__user_dir(VMCTR__DIR_RUNTIME);
}

/* Remove the plain files of the directory open as dfd (consumed), then it. */
static int remove_dir(int parent_fd, const char *name, int dfd) {
  DIR *d = fdopendir(dfd);
  struct dirent *e;
  if (!d) {
    close(dfd);
    return -errno;
  }
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
        unlinkat(dirfd(d), e->d_name, 0) < 0 && errno == EISDIR)
      unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR); /* the (empty) jail directory */
  closedir(d);
  return unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* Remove what VMs of dead processes left behind. */
static void sweep(const char *parent) {
  int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  DIR *d;
  struct dirent *e;
  if (pfd < 0)
    return;
  if (!(d = fdopendir(pfd))) {
    close(pfd);
    return;
  }
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "vm-", 3) != 0)
      continue;
    int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
      continue;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
      close(fd); /* a live VM */
      continue;
    }
    vmctr__log(VMCTR_LOG_INFO, "vmm", "removing %s/%s, left by a process that died", parent,
               e->d_name);
    remove_dir(dirfd(d), e->d_name, fd);
  }
  closedir(d);
}

int vmctr__rundir_create(const char *parent, char **out, int *out_lock) {
  struct stat st;
  char *tmp = NULL, *dir = NULL;
  int fd = -1, r;
  if (mkdir(parent, 0700) < 0 && errno != EEXIST)
    return vmctr__err_os(errno, "cannot create the runtime directory parent %s", parent);
  /* In a shared place like /tmp, a directory someone else planted would let
   * them reach our sockets and logs. */
  if (lstat(parent, &st) < 0)
    return vmctr__err_os(errno, "%s", parent);
  if (!S_ISDIR(st.st_mode))
    return vmctr__err(VMCTR_EINVAL, 0, "runtime directory parent %s is not a directory", parent);
  if (st.st_uid != geteuid() || (st.st_mode & 022))
    return vmctr__err(VMCTR_EPERM, 0,
                      "runtime directory parent %s must be owned by uid %u and not writable "
                      "by others; choose another with vmctr_vmm_set_runtime_parent()",
                      parent, (unsigned)geteuid());
  sweep(parent);
  if (asprintf(&tmp, "%s/.new-XXXXXX", parent) < 0) {
    tmp = NULL;
    r = vmctr__err_nomem();
    goto fail;
  }
  if (!mkdtemp(tmp)) {
    r = vmctr__err_os(errno, "cannot create a runtime directory in %s", parent);
    free(tmp);
    return r;
  }
  if ((fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
      flock(fd, LOCK_EX) < 0) {
    r = vmctr__err_os(errno, "cannot lock %s", tmp);
    goto fail;
  }
  if (asprintf(&dir, "%s/vm-%s", parent, strrchr(tmp, '-') + 1) < 0) {
    dir = NULL;
    r = vmctr__err_nomem();
    goto fail;
  }
  if (rename(tmp, dir) < 0) {
    r = vmctr__err_os(errno, "cannot rename %s to %s", tmp, dir);
    goto fail;
  }
  free(tmp);
  vmctr__cleanup_add(dir, VMCTR__CLEANUP_TREE);
  *out = dir;
  *out_lock = fd;
  return 0;
fail:
  if (tmp)
    rmdir(tmp);
  if (fd >= 0)
    close(fd);
  free(tmp);
  free(dir);
  return r;
}

void vmctr__rundir_remove(const char *dir, int lock_fd) {
  vmctr__cleanup_del(dir);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW), r;
  if (dfd >= 0 && (r = remove_dir(AT_FDCWD, dir, dfd)) < 0)
    vmctr__log(VMCTR_LOG_WARN, "vmm", "cannot remove runtime directory %s: %s", dir,
               strerror(-r));
  if (lock_fd >= 0)
    close(lock_fd);
}
