/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "vmm/rundir.h"

char *vmctr__rundir_default_parent(void) {
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  char *p = NULL;
  int r;
  if (xdg && xdg[0] == '/')
    r = asprintf(&p, "%s/libvmctr", xdg);
  else if (geteuid() == 0)
    r = asprintf(&p, "/run/libvmctr");
  else
    r = asprintf(&p, "/tmp/libvmctr-%u", (unsigned)geteuid());
  if (r < 0) {
    vmctr__err_nomem();
    return NULL;
  }
  return p;
}

int vmctr__rundir_create(const char *parent, char **out) {
  struct stat st;
  char *dir = NULL;
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
  if (asprintf(&dir, "%s/vm-XXXXXX", parent) < 0)
    return vmctr__err_nomem();
  if (!mkdtemp(dir)) {
    int e = errno;
    free(dir);
    return vmctr__err_os(e, "cannot create a runtime directory in %s", parent);
  }
  *out = dir;
  return 0;
}

void vmctr__rundir_remove(const char *dir) {
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  DIR *d;
  struct dirent *e;
  if (dfd < 0)
    return;
  if (!(d = fdopendir(dfd))) {
    close(dfd);
    return;
  }
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      unlinkat(dirfd(d), e->d_name, 0);
  closedir(d);
  if (rmdir(dir) < 0)
    vmctr__log(VMCTR_LOG_WARN, "vmm", "cannot remove runtime directory %s: %s", dir,
               strerror(errno));
}
