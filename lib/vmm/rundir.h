/* SPDX-License-Identifier: MIT */
/* Private per-VM runtime directories. */
#ifndef VMCTR_VMM_RUNDIR_H
#define VMCTR_VMM_RUNDIR_H

/* The default parent: $XDG_RUNTIME_DIR/libvmctr, /run/libvmctr as root,
 * else /tmp/libvmctr-UID. malloc'd. */
char *vmctr__rundir_default_parent(void);

/* Make parent (one level, 0700) if missing, check that it is a directory we
 * own and nobody else may write, and make parent/vm-XXXXXX (0700) in it. */
int vmctr__rundir_create(const char *parent, char **out);

/* Remove the directory and the plain files in it (it holds no subdirs). */
void vmctr__rundir_remove(const char *dir);

#endif
