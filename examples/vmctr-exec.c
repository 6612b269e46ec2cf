/* SPDX-License-Identifier: MIT */
/* vmctr-exec: keep a container running and exec processes into it, showing
 * the vmctr_process API: output to a callback, stdin written from memory,
 * exit codes, and a process killed by a signal. See doc/examples/vmctr-exec.md. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmctr.h>

#include "example-util.h"

static void usage(FILE *f) {
  fputs("Usage: vmctr-exec [--image PATH] [--kernel PATH] [--store DIR] [-q] [-- CMD ARGS...]\n"
        "Start a container whose init process sleeps, exec processes into it, stop it.\n"
        "With CMD, exec that command (its output is printed) instead of the demonstration.\n\n"
        "  --image PATH    OCI layout, oci-archive or docker-archive (default: busybox)\n"
        "  --kernel PATH   guest kernel (default: $VMCTR_KERNEL, then the built-in search)\n"
        "  --store DIR     image store (see vmctr-run --help)\n"
        "  -q, --quiet     no progress output\n"
        "  -h, --help      this help\n",
        f);
}

/* Output callback: prefix each chunk with the stream's name. Runs on the
 * container's I/O thread. */
static void print_output(uint32_t stream, const void *data, size_t len, void *userdata) {
  const char *label = userdata;
  if (len == 0)
    return;
  fprintf(stream == VMCTR_STREAM_STDERR ? stderr : stdout, "[%s %s] %.*s", label,
          stream == VMCTR_STREAM_STDERR ? "err" : "out", (int)len, (const char *)data);
  if (((const char *)data)[len - 1] != '\n')
    fputc('\n', stream == VMCTR_STREAM_STDERR ? stderr : stdout);
}

/* Exec argv, optionally feeding `input` to its stdin, and report how it ended. */
static int exec_one(vmctr_container *c, const char *const *argv, size_t argc, const char *input,
                    int32_t kill_after_ms) {
  vmctr_process_config *pc;
  vmctr_process *p = NULL;
  int32_t code = -1, sig = -1;
  int rc = -1;
  if (vmctr_process_config_new(&pc) < 0)
    return -1;
  if (vmctr_process_config_set_args(pc, argv, argc) < 0 ||
      vmctr_process_config_set_stdio(pc, input ? VMCTR_STDIO_WRITE : VMCTR_STDIO_NULL,
                                     VMCTR_STDIO_CALLBACK, VMCTR_STDIO_CALLBACK) < 0 ||
      vmctr_process_config_set_output_callback(pc, print_output, (void *)argv[0], NULL) < 0)
    goto out;
  if (vmctr_container_exec(c, pc, &p) < 0) {
    example_fail("vmctr-exec", argv[0]);
    goto out;
  }
  if (input) {
    vmctr_process_write_stdin(p, input, strlen(input));
    vmctr_process_close_stdin(p);
  }
  if (kill_after_ms >= 0 && vmctr_process_wait(p, kill_after_ms, &code, &sig) == VMCTR_ETIMEDOUT)
    vmctr_process_kill(p, 15);
  if (vmctr_process_wait(p, -1, &code, &sig) < 0) {
    example_fail("vmctr-exec", "wait");
    goto out;
  }
  printf("-> %s (pid %u) %s %d\n", argv[0], vmctr_process_pid(p), sig > 0 ? "killed by signal" : "exited with",
         sig > 0 ? sig : code);
  rc = sig > 0 ? 128 + sig : code;
out:
  vmctr_process_free(p);
  vmctr_process_config_free(pc);
  return rc;
}

int main(int argc, char **argv) {
  example_log_from_env();
  static const struct option lo[] = {{"image", required_argument, 0, 'I'},
                                     {"kernel", required_argument, 0, 'k'},
                                     {"store", required_argument, 0, 's'},
                                     {"quiet", no_argument, 0, 'q'},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};
  const char *image = NULL, *kernel = example_default_kernel(), *store = NULL;
  bool quiet = false;
  int c;
  while ((c = getopt_long(argc, argv, "+qh", lo, NULL)) != -1) {
    switch (c) {
    case 'I': image = optarg; break;
    case 'k': kernel = optarg; break;
    case 's': store = optarg; break;
    case 'q': quiet = true; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }

  char name[64];
  snprintf(name, sizeof(name), "vmctr-exec-%d", (int)getpid());
  struct example_setup st;
  if (example_setup_rootfs(&st, store, image, name, quiet) != 0)
    return 1;

  int rc = 1;
  vmctr_bootcfg *boot = NULL;
  vmctr_process_config *initp = NULL;
  vmctr_container_config *cfg = NULL;
  vmctr_container *ct = NULL;
  static const char *const init_argv[] = {"sleep", "3600"};
  if (vmctr_bootcfg_new(&boot) < 0 || (kernel && vmctr_bootcfg_set_kernel(boot, kernel) < 0) ||
      vmctr_process_config_new(&initp) < 0 || vmctr_process_config_set_args(initp, init_argv, 2) < 0 ||
      vmctr_container_config_new(&cfg) < 0 || vmctr_container_config_set_process(cfg, initp) < 0 ||
      vmctr_container_config_set_image(cfg, st.image) < 0 ||
      vmctr_container_config_set_hostname(cfg, "exec-demo") < 0) {
    example_fail("vmctr-exec", "configuration");
    goto out;
  }
  if (vmctr_container_new(&ct, name, st.rootfs, boot, cfg) < 0) {
    example_fail("vmctr-exec", "create");
    goto out;
  }
  if (vmctr_container_start(ct) < 0) {
    example_fail("vmctr-exec", "start");
    goto out;
  }

  if (optind < argc) {
    rc = exec_one(ct, (const char *const *)argv + optind, (size_t)(argc - optind), NULL, -1);
  } else {
    static const char *const hn[] = {"hostname"};
    static const char *const ps[] = {"ps", "-o", "pid,comm"};
    static const char *const tr[] = {"tr", "a-z", "A-Z"};
    static const char *const fail[] = {"sh", "-c", "echo failing >&2; exit 3"};
    static const char *const sleeper[] = {"sleep", "60"};
    rc = 0;
    rc |= exec_one(ct, hn, 1, NULL, -1) != 0;
    rc |= exec_one(ct, ps, 3, NULL, -1) != 0;
    rc |= exec_one(ct, tr, 3, "stdin written from memory\n", -1) != 0;
    rc |= exec_one(ct, fail, 3, NULL, -1) != 3;
    rc |= exec_one(ct, sleeper, 2, NULL, 200) != 128 + 15;
  }
  vmctr_container_stop(ct, 1000);
out:
  vmctr_container_free(ct);
  vmctr_container_config_free(cfg);
  vmctr_process_config_free(initp);
  vmctr_bootcfg_free(boot);
  example_setup_free(&st, true);
  return rc;
}
