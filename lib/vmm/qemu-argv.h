/* SPDX-License-Identifier: MIT */
/* QEMU command-line construction: a pure function, unit-tested. */
#ifndef VMCTR_VMM_QEMU_ARGV_H
#define VMCTR_VMM_QEMU_ARGV_H

#include "vmm/backend.h"

/* Build argv (NULL-terminated, malloc'd; free with vmctr__strv_free) for
 * spec, with the QMP and agent streams on the inherited fds qmp_fd and
 * agent_fd (connected socketpair ends: no socket file, no connect race).
 * VMCTR_EUNSUPPORTED for an architecture without a machine table entry. */
int vmctr__qemu_argv(const vmctr__vm_spec *spec, int qmp_fd, int agent_fd, char ***out);

/* Escape a value for QEMU's option syntax (',' doubled). malloc'd. */
char *vmctr__qemu_escape(const char *s);

#endif
