/* SPDX-License-Identifier: MIT */
/* vmctr-boot: boot a VM from a boot config, wait for its guest agent, and
 * power it off (or keep it until it ends with --wait).
 *
 *   vmctr-boot [--tcg] [--log FILE] [--wait] BOOTCFG.json
 *
 * With no initfs in the config, vmctr-init comes from $VMCTR_GUEST_INIT. */
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <vmctr.h>

static int fail(const char *what) {
  fprintf(stderr, "vmctr-boot: %s: %s\n", what, vmctr_error_last()->message);
  return 1;
}

int main(int argc, char **argv) {
  const char *log = NULL, *path = NULL;
  int tcg = 0, wait = 0, rc = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--tcg") == 0)
      tcg = 1;
    else if (strcmp(argv[i], "--wait") == 0)
      wait = 1;
    else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
      log = argv[++i];
    else if (argv[i][0] != '-' && !path)
      path = argv[i];
    else {
      fprintf(stderr, "usage: vmctr-boot [--tcg] [--log FILE] [--wait] BOOTCFG.json\n");
      return 2;
    }
  }
  if (!path) {
    fprintf(stderr, "usage: vmctr-boot [--tcg] [--log FILE] [--wait] BOOTCFG.json\n");
    return 2;
  }

  vmctr_bootcfg *cfg = NULL;
  vmctr_vmm *vm = NULL;
  if (vmctr_bootcfg_load(&cfg, path) < 0)
    return fail(path);
  if (vmctr_vmm_new(&vm, cfg) < 0) {
    vmctr_bootcfg_free(cfg);
    return fail("new");
  }
  vmctr_bootcfg_free(cfg); /* the VM manager keeps its own copy */
  if ((tcg && vmctr_vmm_set_accelerator(vm, VMCTR_ACCEL_TCG) < 0) ||
      (log && vmctr_vmm_set_boot_log(vm, log) < 0) || vmctr_vmm_start(vm) < 0) {
    rc = fail("start");
    goto out;
  }
  printf("running: pid %d, %s, runtime dir %s, boot log %s\n", (int)vmctr_vmm_pid(vm),
         vmctr_accelerator_name(vmctr_vmm_accelerator(vm)), vmctr_vmm_runtime_dir(vm),
         vmctr_vmm_boot_log(vm));
  if (wait) {
    /* An event loop would watch this fd next to its others. */
    struct pollfd p = {.fd = vmctr_vmm_event_fd(vm), .events = POLLIN};
    while (vmctr_vmm_dispatch(vm) == VMCTR_VMM_STATE_RUNNING)
      poll(&p, 1, -1);
  } else if (vmctr_vmm_stop(vm, 5000) < 0) {
    rc = fail("stop");
    goto out;
  }
  int32_t status = -1;
  vmctr_vmm_exit_status(vm, &status);
  printf("%s, exit status %d\n",
         vmctr_vmm_state(vm) == VMCTR_VMM_STATE_STOPPED ? "stopped" : "failed", (int)status);
out:
  vmctr_vmm_free(vm);
  return rc;
}
