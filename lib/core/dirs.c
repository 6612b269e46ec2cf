/* SPDX-License-Identifier: MIT */
/* Where the library keeps things per user: XDG first, then the system's
 * places for root, then per-user fallbacks (never /tmp for the cache). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/error.h"
#include "core/util.h"

char *vmctr__user_dir(int kind) {
  const char *env = kind == VMCTR__DIR_CACHE ? getenv("VMCTR_CACHE_DIR") : NULL;
  const char *xdg = getenv(kind == VMCTR__DIR_CACHE ? "XDG_CACHE_HOME" : "XDG_RUNTIME_DIR");
  const char *home = getenv("HOME");
  unsigned uid = (unsigned)geteuid();
  char *p = NULL;
  int r;
  if (env && *env)
    r = asprintf(&p, "%s", env);
  else if (xdg && xdg[0] == '/')
    r = asprintf(&p, "%s/libvmctr", xdg);
  else if (uid == 0)
    r = asprintf(&p, kind == VMCTR__DIR_CACHE ? "/var/cache/libvmctr" : "/run/libvmctr");
  else if (kind == VMCTR__DIR_CACHE && home && home[0] == '/')
    r = asprintf(&p, "%s/.cache/libvmctr", home);
  else if (kind == VMCTR__DIR_CACHE) {
    /* Never a guessable name in /tmp: another local user could create it
     * first and plant what the cache serves (the guest's PID 1). */
    const char *run = getenv("XDG_RUNTIME_DIR");
    if (!run || run[0] != '/') {
      vmctr__err(VMCTR_ENOENT, 0, "no cache directory for uid %u: set VMCTR_CACHE_DIR, "
                 "XDG_CACHE_HOME, HOME or XDG_RUNTIME_DIR", uid);
      return NULL;
    }
    r = asprintf(&p, "%s/libvmctr/cache", run);
  } else
    r = asprintf(&p, "/tmp/libvmctr-%u", uid);
  if (r < 0) {
    vmctr__err_nomem();
    return NULL;
  }
  return p;
}
