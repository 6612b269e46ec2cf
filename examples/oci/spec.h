/* SPDX-License-Identifier: MIT */
/* vmctr-oci: config.json (OCI runtime spec 1.x) mapped onto libvmctr's
 * objects. Everything the mapping cannot honour is refused with a message
 * naming the field; nothing is silently dropped (doc/oci-runtime.md lists what is
 * accepted and how each field is honoured). */
#ifndef VMCTR_OCI_SPEC_H
#define VMCTR_OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <vmctr.h>

/* Annotations under this prefix choose VM settings (doc/oci-runtime.md). */
#define OCI_ANNOTATION_PREFIX "org.libvmctr."

typedef struct oci_spec {
  cJSON *json;          /* config.json, parsed */
  char *bundle;         /* absolute */
  char *rootfs;         /* absolute */
  bool terminal;        /* process.terminal */
  vmctr_bootcfg *boot;
  vmctr_container_config *cfg; /* without the init process: */
  vmctr_process_config *init;  /* the init process; its stdio is the monitor's to set */
  vmctr_mount *root;
  const char *netns_path;      /* linux.namespaces network path (in json), or NULL */
  bool new_netns;              /* a network namespace without a path */
  void *seccomp_prog;          /* linux.seccomp compiled for the guest, or NULL */
  size_t seccomp_len;
  bool has_oom_score_adj;
  int oom_score_adj;
} oci_spec;

/* Read BUNDLE/config.json and build everything. 0, or -1 with err. */
int oci_spec_load(const char *bundle, oci_spec *s, char *err, size_t errlen);
void oci_spec_free(oci_spec *s);

/* A process object (config.json's "process", or exec's --process file) as a
 * process config. *terminal receives process.terminal. 0, or -1 with err. */
int oci_process_from_json(const cJSON *proc, vmctr_process_config **out,
                          bool *terminal, char *err, size_t errlen);

/* Give p the container's seccomp filter (linux.seccomp applies to the init
 * and to every exec'd process). 0, or -1 with err. */
int oci_apply_seccomp(const oci_spec *s, vmctr_process_config *p, char *err, size_t errlen);

/* The guest's architecture ("x86_64", "aarch64"): the boot config's, else the host's. */
const char *oci_guest_arch(const vmctr_bootcfg *boot);


#endif
