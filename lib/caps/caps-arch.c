/* SPDX-License-Identifier: MIT */
/* Guest architectures: which ones this host's backend can boot, and with
 * which binary. The host's own architecture runs on the host qemu (with
 * KVM when there is one); the other one only under TCG, through its own
 * qemu-system-<arch>. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps/caps-priv.h"
#include "core/error.h"
#include "core/util.h"

static const struct {
  const char *name, *alias, *qemu, *debian;
} guests[VMCTR__GUEST_ARCHS] = {
  {"x86_64", "amd64", "qemu-system-x86_64", "qemu-system-x86"},
  {"aarch64", "arm64", "qemu-system-aarch64", "qemu-system-arm"},
};

int vmctr__caps_guest_index(const char *arch) {
  for (int i = 0; arch && i < VMCTR__GUEST_ARCHS; i++)
    if (strcmp(arch, guests[i].name) == 0 || strcmp(arch, guests[i].alias) == 0)
      return i;
  return -1;
}

const char *vmctr__caps_guest_name(const char *arch) {
  int i = vmctr__caps_guest_index(arch);
  return i < 0 ? NULL : guests[i].name;
}

const char *vmctr__caps_host_arch(void) {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "unknown";
#endif
}

int vmctr__caps_probe_guests_qemu(struct vmctr_caps *c) {
  int host = vmctr__caps_guest_index(vmctr__caps_host_arch());
  for (int i = 0; i < VMCTR__GUEST_ARCHS; i++) {
    if (!c->compiled_qemu) {
      TRY(vmctr__caps_setstr(&c->guest_reason[i], "the qemu backend is not built in"));
    } else if (i == host) {
      if (c->qemu_path && !(c->guest_qemu[i] = vmctr__strdup(c->qemu_path)))
        return VMCTR_ENOMEM;
      TRY(vmctr__caps_setstr(&c->guest_reason[i], "%s: %s",
                             c->qemu_path ? "the host's architecture" : "not bootable",
                             c->cap[VMCTR_CAP_BACKEND_QEMU].reason
                                 ? c->cap[VMCTR_CAP_BACKEND_QEMU].reason : "no qemu"));
    } else if ((c->guest_qemu[i] = vmctr__find_executable(guests[i].qemu))) {
      TRY(vmctr__caps_setstr(&c->guest_reason[i], "%s, emulated (TCG only)", c->guest_qemu[i]));
    } else {
      TRY(vmctr__caps_setstr(&c->guest_reason[i],
                             "%s not found (install %s on Debian)", guests[i].qemu,
                             guests[i].debian));
    }
    c->guest_ok[i] = c->guest_qemu[i] != NULL;
  }
  vmctr__caps_guest_list(c);
  return 0;
}

void vmctr__caps_guest_list(struct vmctr_caps *c) {
  c->guest_archs[0] = '\0';
  for (int i = 0; i < VMCTR__GUEST_ARCHS; i++) {
    size_t n = strlen(c->guest_archs);
    if (c->guest_ok[i])
      snprintf(c->guest_archs + n, sizeof(c->guest_archs) - n, "%s%s", n ? " " : "",
               guests[i].name);
  }
}

void vmctr__caps_free_guests(struct vmctr_caps *c) {
  for (int i = 0; i < VMCTR__GUEST_ARCHS; i++) {
    free(c->guest_qemu[i]);
    free(c->guest_reason[i]);
  }
}

const char *vmctr__caps_qemu_for(const vmctr_caps *caps, const char *arch) {
  int i = vmctr__caps_guest_index(arch);
  return caps && i >= 0 ? caps->guest_qemu[i] : NULL;
}

const char *vmctr_caps_guest_architectures(const vmctr_caps *caps) {
  return caps ? caps->guest_archs : "";
}

int32_t vmctr_caps_guest_architecture_supported(const vmctr_caps *caps, const char *arch,
                                                const char **why) {
  int i = vmctr__caps_guest_index(arch);
  if (why)
    *why = NULL;
  if (!caps)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_caps_guest_architecture_supported: caps is NULL");
  if (i < 0) {
    if (why)
      *why = "unknown architecture (x86_64 or aarch64)";
    return 0;
  }
  if (why)
    *why = caps->guest_reason[i] ? caps->guest_reason[i] : "not probed on this platform";
  return caps->guest_ok[i] ? 1 : 0;
}
