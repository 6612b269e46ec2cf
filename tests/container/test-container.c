/* SPDX-License-Identifier: MIT */
/* Integration: real containers in real VMs (QEMU + the tailored kernel +
 * vmctr-init), through the public API only. Needs VMCTR_TEST_KERNEL (a
 * kernel) and VMCTR_GUEST_INIT (vmctr-init); exits 77 without them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vmctr.h>

#include "testutil.h"
#include "vmtest.h"

static struct vmtest F; /* tests/common/vmtest.h: a store with the busybox image */
static int disk_seq;

/* ---- fixtures ---- */

struct ct {
  vmctr_container *c;
  struct vmtest_rootfs root; /* its disk, or a share (disk "") */
  struct vmtest_out out;
};

/* A container from the busybox image running argv (NULL: the image's Cmd). */
static void ct_new(struct ct *t, const char *id, const char *const *argv, size_t argc,
                   void (*tweak)(vmctr_process_config *, vmctr_container_config *)) {
  memset(t, 0, sizeof(*t));
  vmtest_out_init(&t->out);
  char name[96];
  snprintf(name, sizeof(name), "%s-%d", id, ++disk_seq);
  assert_int_equal(vmtest_rootfs(&F, NULL, name, &t->root), 0);
  vmctr_bootcfg *b;
  assert_int_equal(vmctr_bootcfg_new(&b), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(b, F.kernel), 0);
  vmctr_process_config *p;
  vmctr_container_config *cfg;
  assert_int_equal(vmctr_process_config_new(&p), 0);
  if (argv)
    assert_int_equal(vmctr_process_config_set_args(p, argv, argc), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK,
                                                  VMCTR_STDIO_CALLBACK), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, &t->out, NULL), 0);
  assert_int_equal(vmctr_container_config_new(&cfg), 0);
  assert_int_equal(vmctr_container_config_set_image(cfg, F.image), 0);
  if (tweak)
    tweak(p, cfg);
  assert_int_equal(vmctr_container_config_set_process(cfg, p), 0);
  int r = vmctr_container_new(&t->c, id, t->root.mount, b, cfg);
  if (r < 0)
    fprintf(stderr, "# create: %s\n", vmctr_error_last()->message);
  assert_int_equal(r, 0);
  vmctr_process_config_free(p);
  vmctr_container_config_free(cfg);
  vmctr_bootcfg_free(b);
}

static void ct_free(struct ct *t) {
  vmctr_container_free(t->c);
  vmtest_rootfs_free(&t->root);
}

static void ct_run(struct ct *t, int32_t *code, int32_t *sig) {
  assert_int_equal(vmctr_container_start(t->c), 0);
  int r = vmctr_process_wait(vmctr_container_init_process(t->c), 60000, code, sig);
  if (r < 0)
    fprintf(stderr, "# wait: %s\n", vmctr_error_last()->message);
  assert_int_equal(r, 0);
}

static int setup(void **state) {
  (void)state;
  return vmtest_setup(&F, "vmctr-test-ct");
}

static int teardown(void **state) {
  (void)state;
  return vmtest_teardown(&F);
}

/* ---- tests ---- */

static void test_exit_code_and_streams(void **state) {
  (void)state;
  static const char *const argv[] = {"sh", "-c", "echo to-out; echo to-err >&2; exit 42"};
  struct ct t;
  ct_new(&t, "exitcode", argv, 3, NULL);
  assert_int_equal(vmctr_container_state(t.c), VMCTR_CONTAINER_CREATED);
  int32_t code, sig;
  ct_run(&t, &code, &sig);
  assert_int_equal(code, 42);
  assert_int_equal(sig, -1);
  assert_string_equal(t.out.buf, "to-out\n");
  assert_string_equal(t.out.err, "to-err\n");
  assert_int_equal(vmctr_container_state(t.c), VMCTR_CONTAINER_EXITED);
  /* exec after the init process exited: a clear error. */
  vmctr_process_config *p;
  vmctr_process *proc = NULL;
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, (const char *[]){"true"}, 1), 0);
  assert_int_equal(vmctr_container_exec(t.c, p, &proc), VMCTR_ESTATE);
  assert_non_null(strstr(vmctr_error_last()->message, "not running"));
  vmctr_process_config_free(p);
  assert_int_equal(vmctr_container_stop(t.c, 1000), 0);
  assert_int_equal(vmctr_container_state(t.c), VMCTR_CONTAINER_STOPPED);
  assert_int_equal(vmctr_container_stop(t.c, 1000), 0); /* twice is fine */
  ct_free(&t);
}

static void env_tweak(vmctr_process_config *p, vmctr_container_config *c) {
  assert_int_equal(vmctr_process_config_set_env(p, "GREETING", "hello"), 0);
  assert_int_equal(vmctr_process_config_set_cwd(p, "/tmp"), 0);
  assert_int_equal(vmctr_process_config_set_user(p, "nobody"), 0);
  assert_int_equal(vmctr_container_config_set_hostname(c, "box1"), 0);
  assert_int_equal(vmctr_container_config_add_host(c, "db.internal", "10.1.2.3"), 0);
}

static void test_env_cwd_user_hostname(void **state) {
  (void)state;
  static const char *const argv[] = {
      "sh", "-c", "echo $GREETING; pwd; id -u; id -g; hostname; grep db.internal /etc/hosts; echo $PATH"};
  struct ct t;
  ct_new(&t, "envtest", argv, 3, env_tweak);
  int32_t code, sig;
  ct_run(&t, &code, &sig);
  assert_int_equal(code, 0);
  assert_string_equal(t.out.buf,
                      "hello\n/tmp\n65534\n65534\nbox1\n10.1.2.3\tdb.internal\n"
                      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
  ct_free(&t);
}

static void limits_tweak(vmctr_process_config *p, vmctr_container_config *c) {
  assert_int_equal(vmctr_process_config_set_rlimit(p, 7 /* RLIMIT_NOFILE */, 321, 654), 0);
  assert_int_equal(vmctr_process_config_set_no_new_privileges(p, 1), 0);
  assert_int_equal(vmctr_container_config_set_sysctl(c, "net.ipv4.ip_forward", "1"), 0);
  assert_int_equal(vmctr_container_config_add_dns_server(c, "10.0.2.3"), 0);
  assert_int_equal(vmctr_container_config_add_dns_search(c, "example.test"), 0);
  assert_int_equal(vmctr_container_config_set_limits(c, 96ull << 20, 500), 0);
}

/* rlimits, no_new_privs, sysctls, DNS and the cgroup limits reach the guest. */
static void test_limits_and_settings(void **state) {
  (void)state;
  static const char *const argv[] = {
      "sh", "-c",
      "ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status | tr -d '\\t '; "
      "cat /proc/sys/net/ipv4/ip_forward; cat /etc/resolv.conf; "
      "cat /proc/self/cgroup /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max"};
  struct ct t;
  ct_new(&t, "limits", argv, 3, limits_tweak);
  int32_t code, sig;
  ct_run(&t, &code, &sig);
  if (code != 0)
    fprintf(stderr, "# stdout: %s\n# stderr: %s\n", t.out.buf, t.out.err);
  assert_int_equal(code, 0);
  assert_string_equal(t.out.buf, "321\n654\nNoNewPrivs:1\n1\nnameserver 10.0.2.3\nsearch example.test\n"
                                 "0::/\n100663296\n50000 100000\n");
  ct_free(&t);
}

static void test_image_defaults(void **state) {
  (void)state;
  /* No args: the image's Cmd (sh) runs with stdin from /dev/null and exits 0. */
  struct ct t;
  ct_new(&t, "defaults", NULL, 0, NULL);
  int32_t code, sig;
  ct_run(&t, &code, &sig);
  assert_int_equal(code, 0);
  ct_free(&t);
}

static void test_signal(void **state) {
  (void)state;
  static const char *const argv[] = {"sleep", "600"};
  struct ct t;
  ct_new(&t, "signal", argv, 2, NULL);
  assert_int_equal(vmctr_container_start(t.c), 0);
  int32_t code, sig;
  assert_int_equal(vmctr_process_wait(vmctr_container_init_process(t.c), 300, &code, &sig), VMCTR_ETIMEDOUT);
  assert_int_equal(vmctr_container_state(t.c), VMCTR_CONTAINER_RUNNING);
  assert_int_equal(vmctr_process_kill(vmctr_container_init_process(t.c), 9), 0);
  assert_int_equal(vmctr_process_wait(vmctr_container_init_process(t.c), 30000, &code, &sig), 0);
  assert_int_equal(sig, 9);
  assert_int_equal(code, -1);
  ct_free(&t);
}

static int stdin_fd = -1;
static void stdin_tweak(vmctr_process_config *p, vmctr_container_config *c) {
  (void)c;
  assert_int_equal(vmctr_process_config_set_stdio(p, stdin_fd, VMCTR_STDIO_CALLBACK, VMCTR_STDIO_CALLBACK), 0);
}

static void test_stdin_pipe(void **state) {
  (void)state;
  static const char *const argv[] = {"tr", "a-z", "A-Z"};
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(write(fds[1], "shout\n", 6), 6);
  close(fds[1]);
  stdin_fd = fds[0];
  struct ct t;
  ct_new(&t, "stdinpipe", argv, 3, stdin_tweak);
  assert_int_equal(vmctr_container_start(t.c), 0);
  close(fds[0]); /* duplicated at start: the library holds its own copy */
  int32_t code, sig;
  assert_int_equal(vmctr_process_wait(vmctr_container_init_process(t.c), 60000, &code, &sig), 0);
  assert_int_equal(code, 0);
  assert_string_equal(t.out.buf, "SHOUT\n");
  ct_free(&t);
}

static void tty_tweak(vmctr_process_config *p, vmctr_container_config *c) {
  (void)c;
  assert_int_equal(vmctr_process_config_set_terminal(p, 1, 33, 101), 0);
}

static void test_terminal(void **state) {
  (void)state;
  static const char *const argv[] = {"sh", "-c", "test -t 0 && test -t 1 && stty size; echo err >&2"};
  struct ct t;
  ct_new(&t, "tty", argv, 3, tty_tweak);
  int32_t code, sig;
  ct_run(&t, &code, &sig);
  assert_int_equal(code, 0);
  /* One pty: stderr arrives on stdout, with the pty's CRLF. */
  assert_string_equal(t.out.buf, "33 101\r\nerr\r\n");
  assert_string_equal(t.out.err, "");
  ct_free(&t);
}

static void test_exec(void **state) {
  (void)state;
  static const char *const argv[] = {"sleep", "600"};
  struct ct t;
  ct_new(&t, "exec", argv, 2, NULL);
  assert_int_equal(vmctr_container_start(t.c), 0);
  struct vmtest_out o;
  vmtest_out_init(&o);
  vmctr_process_config *p;
  assert_int_equal(vmctr_process_config_new(&p), 0);
  static const char *const eargv[] = {"sh", "-c", "read x; echo got $x; hostname; exit 7"};
  assert_int_equal(vmctr_process_config_set_args(p, eargv, 3), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_WRITE, VMCTR_STDIO_CALLBACK, VMCTR_STDIO_NULL), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, &o, NULL), 0);
  vmctr_process *proc;
  assert_int_equal(vmctr_container_exec(t.c, p, &proc), 0);
  assert_true(vmctr_process_pid(proc) > 0);
  assert_int_equal(vmctr_process_write_stdin(proc, "line\n", 5), 5);
  assert_int_equal(vmctr_process_close_stdin(proc), 0);
  int32_t code, sig;
  assert_int_equal(vmctr_process_wait(proc, 30000, &code, &sig), 0);
  assert_int_equal(code, 7);
  assert_string_equal(o.buf, "got line\nexec\n");
  assert_int_equal(vmctr_process_kill(proc, 9), VMCTR_ESTATE);
  vmctr_process_free(proc);
  /* A missing program: a clear error from exec, not exit 127. */
  static const char *const missing[] = {"/no/such/program"};
  assert_int_equal(vmctr_process_config_set_args(p, missing, 1), 0);
  assert_int_equal(vmctr_container_exec(t.c, p, &proc), VMCTR_ENOENT);
  vmctr_process_config_free(p);
  assert_int_equal(vmctr_container_state(t.c), VMCTR_CONTAINER_RUNNING);
  ct_free(&t);
}

static void test_stop_ignoring_sigterm(void **state) {
  (void)state;
  static const char *const argv[] = {"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"};
  struct ct t;
  ct_new(&t, "stubborn", argv, 3, NULL);
  assert_int_equal(vmctr_container_start(t.c), 0);
  for (int i = 0; i < 300 && !strstr(t.out.buf, "ready"); i++)
    usleep(100000);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  assert_int_equal(vmctr_container_stop(t.c, 500), 0);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  assert_true(s >= 0.5); /* the grace period was given */
  int32_t code, sig;
  /* The shell ignored SIGTERM and was killed. */
  assert_int_equal(vmctr_process_wait(vmctr_container_init_process(t.c), 0, &code, &sig), 0);
  assert_int_equal(sig, 9);
  assert_int_equal(vmctr_container_state(t.c), VMCTR_CONTAINER_STOPPED);
  ct_free(&t);
}

static void test_qemu_killed(void **state) {
  (void)state;
  static const char *const argv[] = {"sleep", "600"};
  struct ct t;
  ct_new(&t, "killed", argv, 2, NULL);
  assert_int_equal(vmctr_container_start(t.c), 0);
  pid_t q = vmtest_child_pid("qemu-system");
  assert_true(q > 0);
  assert_int_equal(kill(q, SIGKILL), 0);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  int32_t code, sig;
  int r = vmctr_process_wait(vmctr_container_init_process(t.c), 10000, &code, &sig);
  clock_gettime(CLOCK_MONOTONIC, &b);
  assert_int_equal(r, VMCTR_EIO);
  double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  assert_true(s < 5.0); /* promptly, not at a timeout */
  assert_int_equal(vmctr_container_state(t.c), VMCTR_CONTAINER_FAILED);
  ct_free(&t);
  assert_int_equal(vmtest_child_pid("qemu-system"), 0);
}

struct par {
  int idx;
  int code;
};

static void *par_run(void *arg) {
  struct par *p = arg;
  char id[32], script[64];
  snprintf(id, sizeof(id), "par%d", p->idx);
  snprintf(script, sizeof(script), "sleep 1; exit %d", 10 + p->idx);
  const char *argv[] = {"sh", "-c", script};
  struct ct t;
  ct_new(&t, id, argv, 3, NULL);
  int32_t code, sig;
  ct_run(&t, &code, &sig);
  p->code = code;
  ct_free(&t);
  return NULL;
}

static void test_three_at_once(void **state) {
  (void)state;
  pthread_t th[3];
  struct par p[3];
  for (int i = 0; i < 3; i++) {
    p[i] = (struct par){i, -1};
    assert_int_equal(pthread_create(&th[i], NULL, par_run, &p[i]), 0);
  }
  for (int i = 0; i < 3; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(p[i].code, 10 + i);
  }
}

/* The directory form: a copy of the image's rootfs shared over virtiofs as
 * the container's root. */
static void test_share_rootfs(void **state) {
  (void)state;
  char dir[600], cmd[1400];
  snprintf(dir, sizeof(dir), "%s/share-root", F.dir);
  snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", vmctr_image_rootfs(F.image), dir);
  assert_int_equal(system(cmd), 0);
  struct ct t;
  memset(&t, 0, sizeof(t));
  vmtest_out_init(&t.out);
  assert_int_equal(vmctr_mount_new_share(&t.root.mount, dir, NULL), 0);
  vmctr_bootcfg *b;
  assert_int_equal(vmctr_bootcfg_new(&b), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(b, F.kernel), 0);
  vmctr_process_config *p;
  vmctr_container_config *cfg;
  assert_int_equal(vmctr_process_config_new(&p), 0);
  static const char *const argv[] = {"sh", "-c", "echo from-guest > /root/made; awk '$2 == \"/\" { t = $3 } END { print t }' /proc/mounts"};
  assert_int_equal(vmctr_process_config_set_args(p, argv, 3), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK, VMCTR_STDIO_CALLBACK), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, &t.out, NULL), 0);
  assert_int_equal(vmctr_container_config_new(&cfg), 0);
  assert_int_equal(vmctr_container_config_set_image(cfg, F.image), 0);
  assert_int_equal(vmctr_container_config_set_process(cfg, p), 0);
  int r = vmctr_container_new(&t.c, "shareroot", t.root.mount, b, cfg);
  if (r < 0)
    fprintf(stderr, "# create: %s\n", vmctr_error_last()->message);
  assert_int_equal(r, 0);
  int32_t code, sig;
  ct_run(&t, &code, &sig);
  assert_int_equal(code, 0);
  assert_string_equal(t.out.buf, "virtiofs\n");
  vmctr_container_free(t.c);
  snprintf(cmd, sizeof(cmd), "grep -qx from-guest '%s/root/made'", dir);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(tu_rm_rf(dir), 0);
  vmctr_mount_free(t.root.mount);
  vmctr_process_config_free(p);
  vmctr_container_config_free(cfg);
  vmctr_bootcfg_free(b);
}

static void virt_tweak(vmctr_process_config *p, vmctr_container_config *c) { (void)p, (void)c; }

static void test_nested_virtualization_refused(void **state) {
  (void)state;
  vmctr_caps *caps;
  assert_int_equal(vmctr_caps_probe(&caps, 0), 0);
  int nested = vmctr_caps_require_nested_virtualization(caps);
  vmctr_caps_free(caps);
  if (nested == 0)
    skip(); /* this host has it */
  char disk[512];
  snprintf(disk, sizeof(disk), "%s/virt.ext4", F.dir);
  vmctr_mount *m;
  assert_int_equal(vmctr_mount_new_block(&m, "/dev/null", NULL), 0);
  vmctr_bootcfg *b;
  assert_int_equal(vmctr_bootcfg_new(&b), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(b, F.kernel), 0);
  assert_int_equal(vmctr_bootcfg_set_nested_virtualization(b, 1), 0);
  vmctr_container_config *cfg;
  assert_int_equal(vmctr_container_config_new(&cfg), 0);
  virt_tweak(NULL, cfg);
  vmctr_container *c = NULL;
  int r = vmctr_container_new(&c, "virt", m, b, cfg);
  assert_int_equal(r, VMCTR_EUNSUPPORTED);
  assert_non_null(strstr(vmctr_error_last()->message, "nested virtualization"));
  assert_null(c);
  assert_int_equal(vmtest_child_pid("qemu-system"), 0); /* nothing booted */
  vmctr_container_config_free(cfg);
  vmctr_bootcfg_free(b);
  vmctr_mount_free(m);
}

int main(void) {
  if (!getenv("VMCTR_TEST_KERNEL") || access(getenv("VMCTR_TEST_KERNEL"), R_OK) != 0) {
    printf("1..0 # SKIP no guest kernel (VMCTR_TEST_KERNEL): run kernel/build-kernel.sh\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nested_virtualization_refused),
      cmocka_unit_test(test_exit_code_and_streams),
      cmocka_unit_test(test_env_cwd_user_hostname),
      cmocka_unit_test(test_image_defaults),
      cmocka_unit_test(test_limits_and_settings),
      cmocka_unit_test(test_signal),
      cmocka_unit_test(test_stdin_pipe),
      cmocka_unit_test(test_terminal),
      cmocka_unit_test(test_exec),
      cmocka_unit_test(test_stop_ignoring_sigterm),
      cmocka_unit_test(test_qemu_killed),
      cmocka_unit_test(test_three_at_once),
      cmocka_unit_test(test_share_rootfs),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
