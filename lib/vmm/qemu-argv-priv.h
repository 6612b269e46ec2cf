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
  char *const *share_sockets;       /* one per spec share */
  unsigned long tsc_khz;
} vmctr__qemu_layout;

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

/* Append s escaped for QEMU's option syntax (',' doubled). */
void vmctr__qemu_escape_to(vmctr__strbuf *sb, const char *s);
/* The same as a new string (malloc'd; NULL and ENOMEM recorded on failure). */
char *vmctr__qemu_escape(const char *s);

#endif
