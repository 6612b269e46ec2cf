/* SPDX-License-Identifier: MIT */
/* Template VMs, the shared part (doc/vmm.md, "Templates"): where templates
 * live, their key, building one under a fresh name and publishing it
 * atomically, using one while clones run, and removing old ones. Nothing here
 * knows a hypervisor: the backend saves and restores (backend-priv.h).
 *
 * A template is a directory <cache>/templates/<key>/ with
 *   ram    guest RAM, the builder's, never written again once published
 *   state  the saved devices and CPUs
 *   hello  the guest agent's HELLO from the build (clones resume after it)
 * A clone holds a shared flock on ram while it runs; removal takes it
 * exclusively, so a template in use is never removed. */
#ifndef VMCTR_VMM_TEMPLATE_H
#define VMCTR_VMM_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/sha256.h"
#include "vmm/backend-priv.h"

/* At most this many templates stay in the cache; the least recently used
 * beyond it go (when no clone holds them). */
#define VMCTR__TEMPLATE_MAX 4u

/* Why a VM cannot come from a template, or NULL when it can: shares need
 * guest RAM every virtiofsd can map, which a private clone mapping is not. */
const char *vmctr__template_unsuitable(const vmctr__vm_spec *spec);

/* The key of spec: SHA-256 (hex) over everything that shapes the restored
 * VM: the backend's own part (backend_id: its binary, version and machine
 * arguments), the kernel's and initfs's identity (device, inode, size, mtime
 * and ctime: a changed file has a new one), cpus, memory, accelerator,
 * architecture, kernel arguments, the disks (count, read-only, serial), the
 * NICs (count, kind) and the hypervisor arguments. */
int vmctr__template_key(const vmctr__vm_spec *spec, const char *backend_id, char out[65]);

/* The templates' directory, <cache>/templates (created); malloc'd. */
char *vmctr__template_root(void);

typedef struct vmctr__template {
  char *dir, *ram;
  int ram_fd;    /* open, LOCK_SH while the clone lives */
  int state_fd;  /* the state file, read by the backend */
  uint8_t *hello;
  size_t hello_len;
} vmctr__template;
#define VMCTR__TEMPLATE_INIT {NULL, NULL, -1, -1, NULL, 0}

/* Open the published template key under root and hold it.
 * VMCTR_ENOENT when there is none (or it went away meanwhile); VMCTR_EIO
 * for one whose files are missing or malformed. */
int vmctr__template_open(const char *root, const char *key, vmctr__template *t);
void vmctr__template_close(vmctr__template *t);

typedef struct vmctr__template_build {
  char *root, *key, *tmp, *ram;
  int lock_fd;   /* <root>/<key>.lock, LOCK_EX: one builder per key */
  int state_fd;  /* <tmp>/state, written by the backend's save */
} vmctr__template_build;
#define VMCTR__TEMPLATE_BUILD_INIT {NULL, NULL, NULL, NULL, -1, -1}

/* Become the builder of key: wait for the key's lock (another builder's
 * template then is there: 1, nothing to do), else make the fresh directory
 * with a ram file of memory bytes (sparse): 0. */
int vmctr__template_build_begin(const char *root, const char *key, uint64_t memory,
                                vmctr__template_build *b);
/* Write hello, then rename the fresh directory to its key: published. */
int vmctr__template_build_publish(vmctr__template_build *b, const uint8_t *hello, size_t len);
/* Remove what an unpublished build left and release the lock. */
void vmctr__template_build_clear(vmctr__template_build *b);

/* Keep at most VMCTR__TEMPLATE_MAX templates under root (never keep_key,
 * never one a clone holds); unfinished builds of dead builders go too. */
void vmctr__template_prune(const char *root, const char *keep_key);

/* Remove template key (a restore from it failed) unless a clone holds it. */
void vmctr__template_discard(const char *root, const char *key);

#endif
