/* SPDX-License-Identifier: MIT */
/* container-bench: one running container, measured from the host side.
 *
 *   container-bench STORE_DIR N
 *
 * Starts a container from the default busybox image (imported into
 * STORE_DIR beforehand, or on first use), whose init process sleeps; execs
 * `true` N times and prints each latency; prints this process's RSS while the
 * container runs (QEMU is a separate process and is not counted); stops.
 * Output lines: "exec S", "rss_kib K", "create S". Public API only. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vmctr.h>

#include "example-util.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "re");
  char line[256];
  long v = -1;
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
      break;
  if (f)
    fclose(f);
  return v;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: container-bench STORE_DIR N\n");
    return 2;
  }
  example_log_from_env();
  int n = atoi(argv[2]);
  char name[64];
  snprintf(name, sizeof(name), "bench-%d", (int)getpid());
  struct example_setup st;
  if (example_setup_rootfs(&st, argv[1], NULL, name, true) != 0)
    return 1;
  vmctr_bootcfg *boot;
  vmctr_process_config *init, *tp;
  vmctr_container_config *cfg;
  vmctr_container *c = NULL;
  static const char *const sleep_argv[] = {"sleep", "3600"};
  static const char *const true_argv[] = {"true"};
  const char *kernel = example_default_kernel();
  if (vmctr_bootcfg_new(&boot) < 0 || (kernel && vmctr_bootcfg_set_kernel(boot, kernel) < 0) ||
      vmctr_process_config_new(&init) < 0 || vmctr_process_config_set_args(init, sleep_argv, 2) < 0 ||
      vmctr_process_config_new(&tp) < 0 || vmctr_process_config_set_args(tp, true_argv, 1) < 0 ||
      vmctr_container_config_new(&cfg) < 0 || vmctr_container_config_set_process(cfg, init) < 0 ||
      vmctr_container_config_set_image(cfg, st.image) < 0) {
    example_fail("container-bench", "configuration");
    return 1;
  }
  double t0 = now();
  if (vmctr_container_new(&c, name, st.rootfs, boot, cfg) < 0 || vmctr_container_start(c) < 0) {
    example_fail("container-bench", "create");
    return 1;
  }
  printf("create %.4f\n", now() - t0);
  int rc = 0;
  for (int i = 0; i < n; i++) {
    vmctr_process *p;
    int32_t code = -1;
    double a = now();
    if (vmctr_container_exec(c, tp, &p) < 0 || vmctr_process_wait(p, 30000, &code, NULL) < 0) {
      example_fail("container-bench", "exec");
      rc = 1;
      break;
    }
    printf("exec %.4f\n", now() - a);
    vmctr_process_free(p);
    rc |= code != 0;
  }
  printf("rss_kib %ld\n", rss_kib());
  vmctr_process_kill(vmctr_container_init_process(c), 9);
  vmctr_container_stop(c, 1000);
  vmctr_container_free(c);
  vmctr_container_config_free(cfg);
  vmctr_process_config_free(tp);
  vmctr_process_config_free(init);
  vmctr_bootcfg_free(boot);
  example_setup_free(&st, true);
  return rc;
}
