/* SPDX-License-Identifier: MIT */
/* vmctr-oci: an OCI linux.seccomp profile compiled, with libseccomp, into a
 * classic BPF program for the guest's architecture, which the library
 * installs in the guest (vmctr_process_config_set_seccomp_filter()). */
#ifndef VMCTR_OCI_SECCOMP_H
#define VMCTR_OCI_SECCOMP_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Compile `seccomp` (the config.json linux.seccomp object) for guest
 * architecture arch ("x86_64" or "aarch64"). *prog receives a malloc'd
 * struct sock_filter array of *len bytes. Unknown syscall names are
 * skipped, as runc does; an unknown action, operator, flag or a malformed
 * object is refused. 0, or -1 with a message in err. */
int oci_seccomp_compile(const cJSON *seccomp, const char *arch, void **prog, size_t *len,
                        char *err, size_t errlen);

#endif
