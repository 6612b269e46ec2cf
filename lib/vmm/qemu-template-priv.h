/* SPDX-License-Identifier: MIT */
/* The qemu backend's side of templates (doc/vmm.md, "Templates"): guest RAM
 * in a file, the state saved with x-ignore-shared (RAM is not in the stream)
 * and restored into a QEMU started with -incoming defer. QEMU 7.2 has no
 * file: migration and cannot set the capability on its command line, so the
 * state goes through an inherited fd and the capability over QMP. */
#ifndef VMCTR_VMM_QEMU_TEMPLATE_H
#define VMCTR_VMM_QEMU_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmm/jail-priv.h"
#include "vmm/qmp-priv.h"

/* The RAM file as QEMU sees it. */
typedef struct vmctr__qemu_tmpl_ram {
  char *host;       /* the file on the host */
  const char *path; /* the mem-path QEMU opens (in its jail, or host) */
  bool chowned;     /* handed to the jail id for a build: hand back at release */
  uid_t uid;
  gid_t gid;
  int fd;           /* a clone's: the file read-only, handed over at QEMU's open */
} vmctr__qemu_tmpl_ram;
#define VMCTR__QEMU_TMPL_RAM_INIT {NULL, NULL, false, 0, 0, -1}

/* Make ram reachable for the jailed QEMU.
 * A builder (writable): bound into its root, owned by its id while it runs.
 * A clone: not in its jail at all, and never writable by it. QEMU 7.2 opens
 * mem-path O_RDWR whatever the mapping (its readonly=on maps guest RAM
 * read-only), so the jail stops that open (notify_rdwr_open) and
 * vmctr__qemu_tmpl_ram_serve answers it with our read-only fd, which QEMU
 * maps MAP_PRIVATE: copy-on-write, and the file stays as it was. */
int vmctr__qemu_tmpl_ram_jail(vmctr__qemu_tmpl_ram *t, vmctr__vm_jail *j, const char *ram,
                              bool writable);
struct vmctr__child;
/* A clone's QEMU, just spawned: answer its O_RDWR opens (other files go on
 * as asked) until it opens mem-path, which gets t->fd; then close the
 * listener (later exact-O_RDWR opens fail with ENOSYS: QEMU 7.2 makes none).
 * Fails if QEMU exits first, or after timeout_ms. */
int vmctr__qemu_tmpl_ram_serve(vmctr__qemu_tmpl_ram *t, struct vmctr__child *c, int timeout_ms);
/* A builder is done with the file: it is ours again. */
int vmctr__qemu_tmpl_ram_release(vmctr__qemu_tmpl_ram *t);
void vmctr__qemu_tmpl_ram_clear(vmctr__qemu_tmpl_ram *t);

/* A clone's QEMU (started with -incoming defer): x-ignore-shared on and
 * migrate-incoming from fd (its number in QEMU) in one write, then wait
 * until the VM runs. */
int vmctr__qemu_tmpl_incoming(vmctr__qmp *q, int fd, int timeout_ms);
/* A builder's QEMU: x-ignore-shared on, migrate to fd (ours, passed over QMP), wait until done. */
int vmctr__qemu_tmpl_save(vmctr__qmp *q, int fd, int timeout_ms);

/* A clone's disk: its node (the serial) and whether it needs a resize (a
 * writable disk whose size the template's placeholder did not have). */
typedef struct vmctr__qemu_tmpl_disk {
  char node[24];
  bool resize;
} vmctr__qemu_tmpl_disk;
/* The spec's disks; *out malloc'd. */
int vmctr__qemu_tmpl_disks(const vmctr__vm_spec *spec, vmctr__qemu_tmpl_disk **out);
/* After the restore: resize every disk marked so to its own virtual size
 * (as QEMU's format layer reports it), which notifies the guest of it. A
 * writable disk of known size needs none: its placeholder had that size (it
 * is in the template's key). A read-only one cannot be resized: the guest
 * probes it again. */
int vmctr__qemu_tmpl_resize(vmctr__qmp *q, const vmctr__qemu_tmpl_disk *d, size_t n, int timeout_ms);

/* The backend's part of a template key (backend-priv.h template_id). */
int vmctr__qemu_tmpl_id(const vmctr__vm_spec *spec, unsigned long tsc_khz, char **out);

#endif
