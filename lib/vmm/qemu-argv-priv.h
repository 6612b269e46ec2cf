/* SPDX-License-Identifier: MIT */
/* The qemu backend's command lines (QEMU's and virtiofsd's): pure
 * functions of the VM spec, unit-tested. */
#ifndef VMCTR_VMM_QEMU_ARGV_H
#define VMCTR_VMM_QEMU_ARGV_H

#include <stdbool.h>

#include "core/util.h"
#include "vmm/backend-priv.h"

/* What the backend adds to the spec: its binary, the inherited fds, the
 * socket each share's virtiofsd listens on, and the host's TSC rate (kHz, 0:
 * unknown) that a TCG guest is told instead of calibrating. */
typedef struct vmctr__qemu_layout {
  const char *binary;
  int qmp_fd, agent_fd;             /* connected socketpair ends QEMU inherits */
  /* fds QEMU inherits (all >= 3; 0 means "not passed, open the path") */
  int console_fd;                   /* the guest console's stream; 0: spec->console_log */
  int share_fd0;                    /* share i's connected socket is fd share_fd0 + i; 0: path */
  char *const *share_sockets;       /* one per spec share (when share_fd0 < 0) */
  int disk_fd0;                     /* disk i's fds (-add-fd set i + 1): disk_fd0 + 2i (read-only),
                                     * + 2i + 1 (read-write disks); 0: open by path */
  const uint32_t *nic_how;          /* per spec NIC: VMCTR__QEMU_NIC_* (qemu-net-priv.h) */
  int nic_fd0;                      /* NIC i's fd (tap, passt socket) is nic_fd0 + i */
  const char *kernel, *initfs;      /* the paths QEMU opens; NULL: the spec's */
  bool sandbox;                     /* -sandbox with every deny group */
  /* Templates (qemu-template.c): guest RAM in this file (NULL: a memfd),
   * mapped shared or private; placeholder disks instead of the spec's
   * images (a template's builder); -incoming defer (a clone). */
  const char *mem_path;
  bool mem_share, placeholder_disks, incoming;
  unsigned long tsc_khz;
} vmctr__qemu_layout;

/* The TCG translation cache per VM (-accel tcg,tb-size=, MiB); see doc/security.md. */
#define VMCTR__QEMU_TB_MIB 128

/* Build QEMU's argv (NULL-terminated, malloc'd; free with
 * vmctr__strv_free). VMCTR_EUNSUPPORTED for an architecture without a
 * machine table entry. */
int vmctr__qemu_argv(const vmctr__vm_spec *spec, const vmctr__qemu_layout *l, char ***out);

/* The kernel command line QEMU passes: the machine's own arguments
 * (console device, reboot method, timer hints under TCG), then the spec's. */
char *vmctr__qemu_cmdline(const vmctr__vm_spec *spec, unsigned long tsc_khz);

/* The argv of the virtiofsd serving share s on socket. unprivileged: the
 * daemon cannot create namespaces (not root). */
int vmctr__qemu_virtiofsd_argv(const vmctr__vm_share *s, const char *binary, const char *socket,
                               bool unprivileged, char ***out);
/* The same with source (the daemon's view of the share) and its fd limit. */
int vmctr__qemu_virtiofsd_argv2(const vmctr__vm_share *s, const char *binary, const char *socket,
                                const char *source, bool unprivileged, unsigned nofile, char ***out);

/* Append s escaped for QEMU's option syntax (',' doubled). */
void vmctr__qemu_escape_to(vmctr__strbuf *sb, const char *s);
/* The same as a new string (malloc'd; NULL and ENOMEM recorded on failure). */
char *vmctr__qemu_escape(const char *s);

#endif
