/* SPDX-License-Identifier: MIT */
/* What a VM leaves on the host (its runtime directory, its id lock, its
 * cgroup) is removed even when the process that owns it is killed: a small
 * cleaner process, started on first use and detached from us (not our
 * child, its own session), holds the read end of a pipe whose write end
 * only we hold. When we die the pipe reads EOF, and the cleaner removes
 * whatever is still registered, once the VM's processes (killed by their
 * PDEATHSIG) let go of it. */
#ifndef VMCTR_CORE_JAIL_CLEANUP_H
#define VMCTR_CORE_JAIL_CLEANUP_H

#include <stdint.h>

#define VMCTR__CLEANUP_TREE 1u  /* a directory, its files and their subdirectories' files */
#define VMCTR__CLEANUP_RMDIR 2u /* an (empty) directory, e.g. a cgroup: retried while busy */
#define VMCTR__CLEANUP_FILE 3u

/* Register path (absolute, < 480 bytes) for removal at our death. Without
 * a cleaner (it could not start) the runtime directory sweep is the
 * fallback; this never fails the caller. */
void vmctr__cleanup_add(const char *path, uint32_t kind);
/* The owner removed it itself. */
void vmctr__cleanup_del(const char *path);

#endif
