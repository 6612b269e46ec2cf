/* SPDX-License-Identifier: MIT */
/* Integration, slow: an aarch64 container on this host, emulated by
 * qemu-system-aarch64 (-M virt -cpu max, TCG). The image is made by the
 * library's image writer from Debian's arm64 static busybox; the boot config
 * asks for an aarch64 guest and boots the arm64 kernel Image; the library
 * builds the initfs around the cross-built aarch64 vmctr-init. Through the
 * public container API, then through vmctr-run --arch aarch64 (argv[1]),
 * the guest says `uname -m` is aarch64.
 *
 * Needs $VMCTR_TEST_ARM64_KERNEL (kernel/build-kernel.sh --arch aarch64),
 * $VMCTR_GUEST_INIT_AARCH64 (cross/aarch64-linux-gnu.ini) and
 * $VMCTR_ARM64_BUSYBOX (kernel/fetch-arm64-busybox.sh); skips (TAP plan
 * 1..0, exit 0) when one of them is missing. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vmctr.h>

#include "testutil.h"
#include "vmtest.h"

static struct vmtest F; /* its store holds the arm64 image */
static const char *kernel, *busybox, *vmctr_run;

/* Copy src to dst with mode. 0 or -1. */
static int copy_file(const char *src, const char *dst, mode_t mode) {
  char buf[65536];
  int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, r = -1;
  ssize_t n;
  if (in < 0 || (out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0)
    goto done;
  while ((n = read(in, buf, sizeof(buf))) > 0)
    if (write(out, buf, (size_t)n) != n)
      goto done;
  r = n == 0 && fchmod(out, mode) == 0 ? 0 : -1;
done:
  if (in >= 0)
    close(in);
  if (out >= 0 && close(out) < 0)
    r = -1;
  return r;
}

/* The arm64 busybox tree: bin/busybox, links for the applets the tests run
 * (an arm64 busybox cannot list them on this host), root in /etc/passwd. */
static int make_tree(const char *root) {
  static const char *const dirs[] = {"bin", "etc", "tmp", "proc", "sys", "dev", "run", "root"};
  static const char *const applets[] = {"sh", "uname", "cat", "echo"};
  char p[4200];
  for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
    snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
    if (mkdir(p, 0755) < 0)
      return -1;
  }
  snprintf(p, sizeof(p), "%s/bin/busybox", root);
  if (copy_file(busybox, p, 0755) < 0)
    return -1;
  for (size_t i = 0; i < sizeof(applets) / sizeof(*applets); i++) {
    snprintf(p, sizeof(p), "%s/bin/%s", root, applets[i]);
    if (symlink("busybox", p) < 0)
      return -1;
  }
  snprintf(p, sizeof(p), "%s/etc/passwd", root);
  FILE *f = fopen(p, "we");
  if (!f)
    return -1;
  fputs("root:x:0:0:root:/root:/bin/sh\n", f);
  return fclose(f) == 0 ? 0 : -1;
}

static void log_to_stderr(int32_t level, const char *domain, const char *message, void *ud) {
  (void)ud;
  fprintf(stderr, "# libvmctr %d [%s] %s\n", level, domain, message);
}

static int setup(void **state) {
  (void)state;
  char root[200];
  memset(&F, 0, sizeof(F));
  /* $VMCTR_DEBUG=1 (2: debug detail): the library's log on stderr. */
  const char *d = getenv("VMCTR_DEBUG");
  if (d && *d && strcmp(d, "0") != 0)
    vmctr_log_set_handler(strcmp(d, "1") == 0 ? VMCTR_LOG_INFO : VMCTR_LOG_DEBUG, log_to_stderr,
                          NULL, NULL);
  F.kernel = kernel;
  if (tu_tmpdir(F.dir, sizeof(F.dir), "vmctr-test-arm64") < 0)
    return -1;
  snprintf(F.run_dir, sizeof(F.run_dir), "%s/run", F.dir);
  snprintf(F.layout, sizeof(F.layout), "%s/busybox-arm64", F.dir);
  snprintf(root, sizeof(root), "%s/rootfs", F.dir);
  if (mkdir(F.run_dir, 0700) < 0 || setenv("XDG_RUNTIME_DIR", F.run_dir, 1) < 0 ||
      mkdir(root, 0755) < 0 || make_tree(root) < 0) {
    fprintf(stderr, "# setup: cannot assemble the tree in %s: %s\n", root, strerror(errno));
    return -1;
  }
  /* The library's image writer, for linux/arm64. */
  static const char *const cmd[] = {"sh", NULL};
  static const char *const env[] = {"PATH=/bin", NULL};
  vmctr_image_build_options bo = VMCTR_IMAGE_BUILD_OPTIONS_INIT;
  bo.cmd = cmd;
  bo.env = env;
  bo.architecture = "arm64";
  if (vmctr_image_build_from_dir(root, F.layout, &bo) < 0 ||
      vmctr_image_store_open(&F.store, F.dir, 0) < 0) {
    fprintf(stderr, "# setup: %s\n", vmctr_error_last()->message);
    return -1;
  }
  tu_rm_rf(root);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  return vmtest_teardown(&F);
}

/* The host can boot aarch64 guests, and says how. */
static void test_caps(void **state) {
  (void)state;
  vmctr_caps *caps;
  const char *why = NULL;
  assert_int_equal(vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_QUICK), 0);
  assert_int_equal(vmctr_caps_guest_architecture_supported(caps, "aarch64", &why), 1);
  assert_non_null(why);
  assert_non_null(strstr(why, "qemu-system-aarch64"));
  assert_int_equal(vmctr_caps_guest_architecture_supported(caps, "arm64", NULL), 1);
  assert_int_equal(vmctr_caps_guest_architecture_supported(caps, "mips", &why), 0);
  assert_non_null(strstr(vmctr_caps_guest_architectures(caps), "aarch64"));
  vmctr_caps_free(caps);
}

/* Platform selection: the layout holds only linux/arm64, so the host's
 * default (amd64 here) finds nothing, and asking for arm64 finds it. */
static void test_platform(void **state) {
  (void)state;
  vmctr_image *img = NULL;
  vmctr_image_import_options io = VMCTR_IMAGE_IMPORT_OPTIONS_INIT;
#if defined(__x86_64__)
  assert_int_equal(vmctr_image_store_import(F.store, F.layout, NULL, &img), VMCTR_ENOENT);
  assert_non_null(strstr(vmctr_error_last()->message, "linux/arm64"));
#endif
  io.architecture = "arm64";
  int r = vmctr_image_store_import(F.store, F.layout, &io, &F.image);
  if (r < 0)
    fprintf(stderr, "# import: %s\n", vmctr_error_last()->message);
  assert_int_equal(r, 0);
  assert_string_equal(vmctr_image_architecture(F.image), "arm64");
}

static vmctr_bootcfg *arm64_bootcfg(void) {
  vmctr_bootcfg *b;
  assert_int_equal(vmctr_bootcfg_new(&b), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(b, kernel), 0);
  assert_int_equal(vmctr_bootcfg_set_architecture(b, "aarch64"), 0);
  assert_string_equal(vmctr_bootcfg_architecture(b), "aarch64");
  return b;
}

/* The container API, as for any container: uname -m in the guest. */
static void test_container_uname(void **state) {
  (void)state;
  static const char *const argv[] = {"uname", "-m"};
  struct vmtest_rootfs root;
  struct vmtest_out out;
  vmctr_container *c = NULL;
  vmctr_process_config *p;
  vmctr_container_config *cfg;
  int32_t code = -1, sig = -1;

  assert_non_null(F.image); /* test_platform imported it */
  vmtest_out_init(&out);
  assert_int_equal(vmtest_rootfs(&F, F.image, "uname", &root), 0);
  vmctr_bootcfg *b = arm64_bootcfg();
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, argv, 2), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK,
                                                  VMCTR_STDIO_CALLBACK), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, &out, NULL), 0);
  assert_int_equal(vmctr_container_config_new(&cfg), 0);
  assert_int_equal(vmctr_container_config_set_image(cfg, F.image), 0);
  assert_int_equal(vmctr_container_config_set_process(cfg, p), 0);
  int r = vmctr_container_new(&c, "arm64-uname", root.mount, b, cfg);
  if (r == 0 && (r = vmctr_container_start(c)) == 0)
    r = vmctr_process_wait(vmctr_container_init_process(c), 600000, &code, &sig);
  if (r < 0)
    fprintf(stderr, "# container: %s\n", vmctr_error_last()->message);
  assert_int_equal(r, 0);
  assert_int_equal(code, 0);
  assert_string_equal(out.buf, "aarch64\n");
  assert_int_equal(vmctr_container_stop(c, 5000), 0);
  vmctr_container_free(c);
  vmctr_process_config_free(p);
  vmctr_container_config_free(cfg);
  vmctr_bootcfg_free(b);
  vmtest_rootfs_free(&root);
}

/* vmctr-run --arch aarch64 -- uname -m, on the same layout. */
static void test_vmctr_run(void **state) {
  (void)state;
  char store[200], out[256] = "";
  int fds[2];
  pid_t pid;
  if (!vmctr_run || access(vmctr_run, X_OK) != 0)
    skip();
  snprintf(store, sizeof(store), "%s/run-store", F.dir);
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 1);
    execl(vmctr_run, "vmctr-run", "--arch", "aarch64", "--image", F.layout, "--kernel", kernel,
          "--store", store, "--network", "none", "--rm", "-q", "--", "uname", "-m", (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  size_t n = 0;
  ssize_t k;
  while (n < sizeof(out) - 1 && (k = read(fds[0], out + n, sizeof(out) - 1 - n)) > 0)
    n += (size_t)k;
  out[n] = '\0';
  close(fds[0]);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  assert_string_equal(out, "aarch64\n");
}

int main(int argc, char **argv) {
  const char *init = getenv("VMCTR_GUEST_INIT_AARCH64");
  kernel = getenv("VMCTR_TEST_ARM64_KERNEL");
  busybox = getenv("VMCTR_ARM64_BUSYBOX");
  /* The plan says SKIP with exit 0: meson counts exit 77 under TAP as an error. */
  if (!kernel || access(kernel, R_OK) != 0) {
    printf("1..0 # SKIP no arm64 kernel at %s: run kernel/build-kernel.sh --arch aarch64\n",
           kernel ? kernel : "(VMCTR_TEST_ARM64_KERNEL unset)");
    return 0;
  }
  if (!init || access(init, X_OK) != 0) {
    printf("1..0 # SKIP no aarch64 vmctr-init%s%s: build it with cross/aarch64-linux-gnu.ini and "
           "configure with -Dguest_init_aarch64\n", init ? " at " : "", init ? init : "");
    return 0;
  }
  if (!busybox || access(busybox, R_OK) != 0) {
    printf("1..0 # SKIP no arm64 busybox at %s: run kernel/fetch-arm64-busybox.sh\n",
           busybox ? busybox : "(VMCTR_ARM64_BUSYBOX unset)");
    return 0;
  }
  vmctr_run = argc > 1 ? argv[1] : NULL;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_caps),
    cmocka_unit_test(test_platform),
    cmocka_unit_test(test_container_uname),
    cmocka_unit_test(test_vmctr_run),
  };
  return cmocka_run_group_tests_name("arm64", tests, setup, teardown);
}
