/* SPDX-License-Identifier: MIT */
/* One measured VM life through the library, for bench/boot.py:
 *   bench-vmm-boot KERNEL CMDLINE|"" [MODULES_DIR]
 * (the initfs is built around $VMCTR_GUEST_INIT, with MODULES_DIR's modules
 * for a stock kernel) * boots (TCG), waits for the agent, runs `true` through the agent
 * (SPAWN + WAIT), powers off, and prints the phases in seconds:
 *   boot=S run=S stop=S total=S */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "agent/client.h"
#include "vmctr.h"
#include "vmm/vmm.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int request(vmctr__agent *a, vmctr__agent_buf *b, vmctr__agent_reply **rep) {
  int r = vmctr__agent_request(a, b, 30000, rep);
  vmctr__agent_buf_free(b);
  return r;
}

/* The initfs holds only vmctr-init, so the guest gets a `true` first: a
 * 129-byte static x86_64 ELF that calls exit(0). */
static const unsigned char true_elf[] = {
  0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x3e, 0x00, 0x01, 0x00, 0x00, 0x00,
  0x78, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x38, 0x00, 0x01, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x81, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0xb8, 0x3c, 0x00, 0x00, 0x00, 0x31, 0xff, 0x0f, 0x05,
};

static int put_true(vmctr__agent *a) {
  vmctr__agent_buf b;
  vmctr__agent_reply *rep = NULL;
  int r;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_WRITE_FILE);
  vmctr__agent_put_str(&b, VMCTR_AT_PATH, "/tmp/true");
  vmctr__agent_put_u32(&b, VMCTR_AT_MODE, 0755);
  vmctr__agent_put_bytes(&b, VMCTR_AT_CONTENT, true_elf, sizeof(true_elf));
  r = request(a, &b, &rep);
  vmctr__agent_reply_free(rep);
  return r;
}

static int run_true(vmctr__agent *a) {
  vmctr__agent_buf b;
  vmctr__agent_reply *rep = NULL;
  char *argv[] = {"/tmp/true", NULL};
  uint32_t pid;
  int32_t code = -1;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_SPAWN);
  vmctr__agent_put_strv(&b, VMCTR_AT_ARGV, argv);
  if (request(a, &b, &rep) < 0 || vmctr__agent_get_u32(vmctr__agent_reply_msg(rep), VMCTR_AT_PID, &pid) < 0)
    return -1;
  vmctr__agent_reply_free(rep);
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_WAIT);
  vmctr__agent_put_u32(&b, VMCTR_AT_PID, pid);
  if (request(a, &b, &rep) < 0)
    return -1;
  vmctr__agent_get_i32(vmctr__agent_reply_msg(rep), VMCTR_AT_EXIT_CODE, &code);
  vmctr__agent_reply_free(rep);
  return code;
}

int main(int argc, char **argv) {
  vmctr_bootcfg *cfg;
  vmctr_vmm *vm;
  int32_t st = -1;
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s KERNEL CMDLINE|\"\" [MODULES_DIR]\n", argv[0]);
    return 2;
  }
  vmctr_bootcfg_new(&cfg);
  vmctr_bootcfg_set_kernel(cfg, argv[1]);
  if (argv[2][0])
    vmctr_bootcfg_set(cfg, "cmdline", argv[2]);
  if (argc == 4) /* a stock kernel: its modules go into the initfs the library builds */
    vmctr_bootcfg_set_modules(cfg, argv[3]);
  if (vmctr_vmm_new(&vm, cfg) < 0)
    return 1;
  vmctr_vmm_set_accelerator(vm, VMCTR_ACCEL_TCG);
  double t0 = now();
  if (vmctr_vmm_start(vm) < 0) {
    fprintf(stderr, "start: %s\n", vmctr_error_last()->message);
    vmctr_vmm_free(vm);
    return 1;
  }
  double t1 = now();
#if defined(__x86_64__)
  if (put_true(vmctr__vmm_agent(vm)) < 0)
    fprintf(stderr, "writing /tmp/true: %s\n", vmctr_error_last()->message);
#endif
  double t1b = now();
  int code = run_true(vmctr__vmm_agent(vm));
  double t2 = now();
  if (code != 0)
    fprintf(stderr, "`true` in the guest: %d (%s)\n", code, vmctr_error_last()->message);
  vmctr_vmm_stop(vm, 10000);
  double t3 = now();
  vmctr_vmm_exit_status(vm, &st);
  vmctr_vmm_free(vm);
  vmctr_bootcfg_free(cfg);
  /* The write of `true` is setup, not part of the life measured. */
  printf("boot=%.3f run=%.3f stop=%.3f total=%.3f exit=%d\n", t1 - t0, t2 - t1b, t3 - t2,
         (t1 - t0) + (t2 - t1b) + (t3 - t2), st);
  return code == 0 && st == 0 ? 0 : 1;
}
