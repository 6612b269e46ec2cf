/* SPDX-License-Identifier: MIT */
/* Private per-VM runtime directories. */
#ifndef VMCTR_VMM_RUNDIR_H
#define VMCTR_VMM_RUNDIR_H

/* The default parent: $XDG_RUNTIME_DIR/libvmctr, /run/libvmctr as root,
 * else /tmp/libvmctr-UID. malloc'd. */
char *vmctr__rundir_default_parent(void);

/* Make parent (one level, 0700) if missing, check that it is a directory we
 * own and nobody else may write, and make parent/vm-XXXXXX (0700) in it.
 *
 * The directory is flock()ed through *out_lock for as long as the VM lives,
 * so that a process that died without cleaning up (SIGKILL) is noticed:
 * each create first removes the sibling vm-* directories nobody holds. A
 * directory is locked before it gets its vm- name, so a new one is never
 * mistaken for a stale one. */
int vmctr__rundir_create(const char *parent, char **out, int *out_lock);

/* Remove the directory and the plain files in it (it holds no subdirs),
 * then drop the lock (lock_fd may be -1). */
void vmctr__rundir_remove(const char *dir, int lock_fd);

#endif
