/* SPDX-License-Identifier: MIT */
/* A program built against the installed libvmctr with pkg-config only.
 * tests/abi/pkgconfig-consumer.sh compiles and runs it. The first line it
 * prints is the run-time version, which the script compares with the .pc
 * Version; problems go to stderr and make the exit status non-zero. */
#include <stdio.h>
#include <string.h>

#include <vmctr.h>

static int failures;

static void check(int cond, const char *what) {
  if (!cond) {
    fprintf(stderr, "consumer: FAILED: %s (last error: %s)\n", what, vmctr_error_last()->message);
    failures++;
  }
}

int main(void) {
  vmctr_caps *caps = NULL;
  vmctr_bootcfg *cfg = NULL;
  char *json = NULL;
  int rc;

  printf("%s\n", vmctr_version_string());

  /* The headers and the library must agree. */
  check(strcmp(vmctr_version_string(), VMCTR_VERSION_STRING) == 0,
        "vmctr_version_string() equals VMCTR_VERSION_STRING");
  check(vmctr_version() == (uint32_t)VMCTR_VERSION_HEX, "vmctr_version() equals VMCTR_VERSION_HEX");
  check(strlen(vmctr_strerror(VMCTR_ENOENT)) > 0, "vmctr_strerror(VMCTR_ENOENT) is not empty");
  check(vmctr_error_last() != NULL, "vmctr_error_last() is never NULL");

  rc = vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_QUICK);
  check(rc == 0 && caps != NULL, "vmctr_caps_probe(QUICK) succeeds");
  if (caps) {
    check(vmctr_caps_host_cpus(caps) > 0, "the probe counts at least one host CPU");
    check(strcmp(vmctr_accelerator_name(vmctr_caps_accelerator(caps, NULL)), "unknown") != 0,
          "the accelerator has a known name");
  }

  rc = vmctr_bootcfg_new(&cfg);
  check(rc == 0 && cfg != NULL, "vmctr_bootcfg_new succeeds");
  if (cfg) {
    check(vmctr_bootcfg_set(cfg, "cpus", "2") == 0, "set cpus=2");
    check(vmctr_bootcfg_set(cfg, "memory", "256M") == 0, "set memory=256M");
    check(vmctr_bootcfg_set(cfg, "cmdline", "console=hvc0 quiet") == 0, "set cmdline");
    check(vmctr_bootcfg_cpus(cfg) == 2, "cpus reads back as 2");
    check(vmctr_bootcfg_memory(cfg) == 256ull * 1024 * 1024, "memory reads back as 256 MiB");
    check(vmctr_bootcfg_set(cfg, "cpus", "zero") == VMCTR_EINVAL, "a bad cpus value is refused");
    rc = vmctr_bootcfg_to_json(cfg, &json);
    check(rc == 0 && json != NULL && strstr(json, "\"cpus\"") != NULL,
          "vmctr_bootcfg_to_json names cpus");
  }

  vmctr_free(json);
  vmctr_bootcfg_free(cfg);
  vmctr_caps_free(caps);
  return failures ? 1 : 0;
}
