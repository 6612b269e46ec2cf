/* SPDX-License-Identifier: MIT */
#include "caps/caps-priv.h"
#include "config.h"
#include "core/error.h"
#include "core/json.h"
#include "vmctr/version.h"

static const char *const cap_names[VMCTR__CAP_MAX + 1] = {
  [VMCTR_CAP_BACKEND_QEMU] = "backend.qemu",
  [VMCTR_CAP_BACKEND_VZ] = "backend.vz",
  [VMCTR_CAP_HW_VIRT] = "hardware_virtualization",
  [VMCTR_CAP_NESTED_VIRT] = "nested_virtualization",
  [VMCTR_CAP_VIRTIOFS] = "virtiofs",
  [VMCTR_CAP_TUN] = "tun",
  [VMCTR_CAP_TAP] = "tap",
  [VMCTR_CAP_ROSETTA] = "rosetta",
};

/* A NULL string becomes JSON null rather than a missing key, so the shape
 * of the document does not depend on the host. */
static bool add_str_or_null(cJSON *obj, const char *key, const char *v) {
  return v ? vmctr__json_add_string(obj, key, v) != NULL
           : cJSON_AddNullToObject(obj, key) != NULL;
}

static cJSON *build(const vmctr_caps *c) {
  cJSON *root = cJSON_CreateObject(), *o;
  bool ok = root != NULL;

  ok = ok && vmctr__json_add_string(root, "libvmctr", VMCTR_VERSION_STRING);
  ok = ok && vmctr__json_add_string(root, "os", c->os);
  ok = ok && vmctr__json_add_string(root, "arch", c->arch);
  ok = ok && vmctr__json_add_string(root, "backend", vmctr_backend_name(c->backend));
  ok = ok && (o = cJSON_AddObjectToObject(root, "accelerator")) != NULL;
  ok = ok && vmctr__json_add_string(o, "name", vmctr_accelerator_name(c->accel));
  ok = ok && vmctr__json_add_string(o, "reason", c->accel_reason);
  ok = ok && vmctr__json_add_string(root, "hypervisor", c->hypervisor);
  ok = ok && (o = cJSON_AddObjectToObject(root, "compiled_backends")) != NULL;
  ok = ok && vmctr__json_add_bool(o, "qemu", c->compiled_qemu);
  ok = ok && vmctr__json_add_bool(o, "vz", c->compiled_vz);
  ok = ok && (o = cJSON_AddObjectToObject(root, "capabilities")) != NULL;
  for (unsigned i = 1; ok && i <= VMCTR__CAP_MAX; i++) {
    cJSON *e = cJSON_AddObjectToObject(o, cap_names[i]);
    ok = e && vmctr__json_add_bool(e, "available", c->cap[i].present) &&
         vmctr__json_add_string(e, "reason", c->cap[i].reason);
  }
  ok = ok && (o = cJSON_AddObjectToObject(root, "host")) != NULL;
  ok = ok && vmctr__json_add_number(o, "cpus", c->host_cpus);
  ok = ok && vmctr__json_add_number(o, "memory", (double)c->host_memory);
  ok = ok && (o = cJSON_AddObjectToObject(root, "limits")) != NULL;
  ok = ok && vmctr__json_add_number(o, "max_vcpus", c->max_vcpus);
  ok = ok && vmctr__json_add_number(o, "max_memory", (double)c->max_memory);
  ok = ok && (o = cJSON_AddObjectToObject(root, "qemu")) != NULL;
  ok = ok && add_str_or_null(o, "path", c->qemu_path);
  ok = ok && add_str_or_null(o, "version", c->qemu_version);
  ok = ok && add_str_or_null(root, "virtiofsd", c->virtiofsd_path);
  ok = ok && (o = cJSON_AddObjectToObject(root, "guest_architectures")) != NULL;
  for (int i = 0; ok && i < VMCTR__GUEST_ARCHS; i++) {
    static const char *const names[VMCTR__GUEST_ARCHS] = {"x86_64", "aarch64"};
    cJSON *e = cJSON_AddObjectToObject(o, names[i]);
    ok = e && vmctr__json_add_bool(e, "available", c->guest_ok[i]) &&
         add_str_or_null(e, "qemu", c->guest_qemu[i]) &&
         add_str_or_null(e, "reason", c->guest_reason[i]);
  }
  ok = ok && vmctr__json_add_string(root, "kernel_dir", VMCTR_DEFAULT_KERNEL_DIR);
  if (!ok) {
    cJSON_Delete(root);
    vmctr__err_nomem();
    return NULL;
  }
  return root;
}

int vmctr_caps_to_json(const vmctr_caps *caps, char **out_json) {
  cJSON *root;
  char *s;
  if (!caps || !out_json)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_caps_to_json: %s is NULL", caps ? "out_json" : "caps");
  root = build(caps);
  if (!root)
    return VMCTR_ENOMEM;
  s = vmctr__json_print(root, true);
  cJSON_Delete(root);
  if (!s)
    return VMCTR_ENOMEM;
  *out_json = s;
  return 0;
}
