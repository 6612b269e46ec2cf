/* SPDX-License-Identifier: MIT */
/* Container and process configuration: builders, docker run's override
 * rules, the environment merge, user resolution in a rootfs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/container-priv.h"
#include "core/strv.h"
#include "core/util.h"
#include "testutil.h"
#include "vmctr/error.h"

int vmctr__container_config_set_defaults(vmctr_container_config *c, const char *const *entrypoint,
                                         const char *const *cmd, const char *const *env,
                                         const char *workdir, const char *user, const char *rootfs);

static char *argv_str(char **v) {
  static char buf[1024];
  buf[0] = '\0';
  for (size_t i = 0; v && v[i]; i++) {
    if (i)
      strcat(buf, " ");
    strcat(buf, v[i]);
  }
  return buf;
}

static const char *env_get(char **env, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
      return env[i] + n + 1;
  return NULL;
}

static vmctr_container_config *image_cfg(const char *rootfs) {
  static const char *ep[] = {"/bin/entry", "--flag", NULL};
  static const char *cmd[] = {"serve", "--port", "80", NULL};
  static const char *env[] = {"PATH=/img/bin", "A=image", "B=image", NULL};
  vmctr_container_config *c;
  assert_int_equal(vmctr_container_config_new(&c), 0);
  assert_int_equal(vmctr__container_config_set_defaults(c, ep, cmd, env, "/srv", NULL, rootfs), 0);
  return c;
}

static void test_image_defaults(void **state) {
  (void)state;
  vmctr_container_config *c = image_cfg(NULL);
  struct vmctr__procspec s;
  assert_int_equal(vmctr__procspec_build(NULL, c, false, &s), 0);
  assert_string_equal(argv_str(s.argv), "/bin/entry --flag serve --port 80");
  assert_string_equal(s.cwd, "/srv");
  assert_string_equal(env_get(s.env, "PATH"), "/img/bin");
  assert_int_equal(s.uid, 0);
  vmctr__procspec_clear(&s);
  vmctr_container_config_free(c);
}

static void test_args_replace_cmd(void **state) {
  (void)state;
  vmctr_container_config *c = image_cfg(NULL);
  vmctr_process_config *p;
  assert_int_equal(vmctr_process_config_new(&p), 0);
  const char *args[] = {"sh", "-c", "true"};
  assert_int_equal(vmctr_process_config_set_args(p, args, 3), 0);
  struct vmctr__procspec s;
  assert_int_equal(vmctr__procspec_build(p, c, false, &s), 0);
  assert_string_equal(argv_str(s.argv), "/bin/entry --flag sh -c true");
  vmctr__procspec_clear(&s);

  /* An explicit entrypoint replaces the image's and drops its Cmd. */
  const char *ep[] = {"/bin/other"};
  assert_int_equal(vmctr_process_config_set_args(p, NULL, 0), 0);
  assert_int_equal(vmctr_process_config_set_entrypoint(p, ep, 1), 0);
  assert_int_equal(vmctr__procspec_build(p, c, false, &s), 0);
  assert_string_equal(argv_str(s.argv), "/bin/other");
  vmctr__procspec_clear(&s);

  /* Both explicit. */
  assert_int_equal(vmctr_process_config_set_args(p, args, 3), 0);
  assert_int_equal(vmctr__procspec_build(p, c, false, &s), 0);
  assert_string_equal(argv_str(s.argv), "/bin/other sh -c true");
  vmctr__procspec_clear(&s);

  /* An empty entrypoint means none: the args alone. */
  assert_int_equal(vmctr_process_config_set_entrypoint(p, ep, 0), 0);
  assert_int_equal(vmctr__procspec_build(p, c, false, &s), 0);
  assert_string_equal(argv_str(s.argv), "sh -c true");
  vmctr__procspec_clear(&s);

  /* Empty entrypoint and no args: nothing to run. */
  assert_int_equal(vmctr_process_config_set_args(p, NULL, 0), 0);
  assert_int_equal(vmctr__procspec_build(p, c, false, &s), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "nothing to run"));
  vmctr_process_config_free(p);
  vmctr_container_config_free(c);
}

static void test_env_merge(void **state) {
  (void)state;
  vmctr_container_config *c = image_cfg(NULL);
  vmctr_process_config *p;
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_env(p, "A", "explicit"), 0);
  assert_int_equal(vmctr_process_config_set_env(p, "B", NULL), 0);
  assert_int_equal(vmctr_process_config_set_env(p, "C", "new"), 0);
  assert_int_equal(vmctr_process_config_set_env(p, "C", "newer"), 0);
  assert_int_equal(vmctr_process_config_set_env(p, "BAD=", "x"), VMCTR_EINVAL);
  assert_int_equal(vmctr_process_config_set_env(p, "", "x"), VMCTR_EINVAL);
  struct vmctr__procspec s;
  assert_int_equal(vmctr__procspec_build(p, c, false, &s), 0);
  assert_string_equal(env_get(s.env, "A"), "explicit");
  assert_null(env_get(s.env, "B"));
  assert_string_equal(env_get(s.env, "C"), "newer");
  assert_string_equal(env_get(s.env, "PATH"), "/img/bin");
  size_t n = vmctr__strv_len(s.env);
  assert_int_equal(n, 3);
  vmctr__procspec_clear(&s);

  /* Without an image: a default PATH. */
  assert_int_equal(vmctr_process_config_set_args(p, (const char *[]){"true"}, 1), 0);
  assert_int_equal(vmctr__procspec_build(p, NULL, false, &s), 0);
  assert_non_null(env_get(s.env, "PATH"));
  assert_string_equal(s.cwd, "/");
  vmctr__procspec_clear(&s);
  vmctr_process_config_free(p);
  vmctr_container_config_free(c);
}

static void test_exec_ignores_image_cmd(void **state) {
  (void)state;
  vmctr_container_config *c = image_cfg(NULL);
  struct vmctr__procspec s;
  assert_int_equal(vmctr__procspec_build(NULL, c, true, &s), VMCTR_EINVAL);
  vmctr_process_config *p;
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, (const char *[]){"ls", "/"}, 2), 0);
  assert_int_equal(vmctr__procspec_build(p, c, true, &s), 0);
  assert_string_equal(argv_str(s.argv), "ls /");
  vmctr__procspec_clear(&s);
  vmctr_process_config_free(p);
  vmctr_container_config_free(c);
}

static char *make_rootfs(void) {
  char d[64];
  assert_int_equal(tu_tmpdir(d, sizeof(d), "vmctr-test-rootfs"), 0);
  char path[256];
  snprintf(path, sizeof(path), "%s/etc", d);
  assert_int_equal(mkdir(path, 0755), 0);
  snprintf(path, sizeof(path), "%s/etc/passwd", d);
  FILE *f = fopen(path, "w");
  fputs("root:x:0:0:root:/root:/bin/sh\nbogus line\nweird:x:abc:1::/:/bin/sh\n"
        "app:x:1000:1001:App:/home/app:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n", f);
  fclose(f);
  snprintf(path, sizeof(path), "%s/etc/group", d);
  f = fopen(path, "w");
  fputs("root:x:0:\nappgrp:x:1001:\nwheel:x:10:root,app\naudio:x:29:app\nstaff:x:50:other\n", f);
  fclose(f);
  return strdup(d);
}

static void rm_rootfs(char *d) {
  assert_int_equal(tu_rm_rf(d), 0);
  free(d);
}

static void test_resolve_user(void **state) {
  (void)state;
  char *root = make_rootfs();
  uint32_t uid, gid, *gids;
  size_t n;
  assert_int_equal(vmctr__resolve_user(root, "app", &uid, &gid, &gids, &n), 0);
  assert_int_equal(uid, 1000);
  assert_int_equal(gid, 1001);
  assert_int_equal(n, 2);
  assert_int_equal(gids[0], 10);
  assert_int_equal(gids[1], 29);
  free(gids);
  assert_int_equal(vmctr__resolve_user(root, "app:audio", &uid, &gid, &gids, &n), 0);
  assert_int_equal(gid, 29);
  free(gids);
  assert_int_equal(vmctr__resolve_user(root, "1000", &uid, &gid, &gids, &n), 0);
  assert_int_equal(uid, 1000);
  assert_int_equal(gid, 1001); /* from passwd */
  free(gids);
  assert_int_equal(vmctr__resolve_user(root, "4242:7", &uid, &gid, &gids, &n), 0);
  assert_int_equal(uid, 4242);
  assert_int_equal(gid, 7);
  free(gids);
  assert_int_equal(vmctr__resolve_user(root, "ghost", &uid, &gid, &gids, &n), VMCTR_ENOENT);
  assert_non_null(strstr(vmctr_error_last()->message, "ghost"));
  assert_int_equal(vmctr__resolve_user(root, "weird", &uid, &gid, &gids, &n), VMCTR_ENOENT);
  assert_int_equal(vmctr__resolve_user(root, "app:nogroup", &uid, &gid, &gids, &n), VMCTR_ENOENT);
  assert_int_equal(vmctr__resolve_user(NULL, "app", &uid, &gid, &gids, &n), VMCTR_EINVAL);
  assert_int_equal(vmctr__resolve_user(NULL, "5:6", &uid, &gid, &gids, &n), 0);
  free(gids);
  rm_rootfs(root);
}

/* /etc in the rootfs is a symlink to the host's /etc: the lookup stays inside. */
static void test_resolve_user_symlink_escape(void **state) {
  (void)state;
  char d[64];
  assert_int_equal(tu_tmpdir(d, sizeof(d), "vmctr-test-rootfs"), 0);
  char path[256];
  snprintf(path, sizeof(path), "%s/etc", d);
  assert_int_equal(symlink("/etc", path), 0);
  uint32_t uid, gid, *gids;
  size_t n;
  /* "root" exists in the host's /etc/passwd; resolved inside the root the
   * link points at d/etc itself (a loop-free dangling path), so: not found. */
  int r = vmctr__resolve_user(d, "root", &uid, &gid, &gids, &n);
  assert_true(r == VMCTR_ENOENT || r < 0);
  assert_int_equal(tu_rm_rf(d), 0);
}

static void test_container_id(void **state) {
  (void)state;
  assert_int_equal(vmctr__container_check_id("web-1.a_b"), 0);
  assert_int_equal(vmctr__container_check_id("a"), 0);
  assert_int_equal(vmctr__container_check_id(""), VMCTR_EINVAL);
  assert_int_equal(vmctr__container_check_id("-x"), VMCTR_EINVAL);
  assert_int_equal(vmctr__container_check_id("a/b"), VMCTR_EINVAL);
  assert_int_equal(vmctr__container_check_id(NULL), VMCTR_EINVAL);
  char big[66];
  memset(big, 'a', 65);
  big[65] = '\0';
  assert_int_equal(vmctr__container_check_id(big), VMCTR_EINVAL);
  big[64] = '\0';
  assert_int_equal(vmctr__container_check_id(big), 0);
}

static int destroyed;
static void on_destroy(void *ud) { destroyed += *(int *)ud; }
static void out_fn(uint32_t s, const void *d, size_t n, void *ud) { (void)s, (void)d, (void)n, (void)ud; }

static void test_process_config_builder(void **state) {
  (void)state;
  vmctr_process_config *p, *q;
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_cwd(p, "relative"), VMCTR_EINVAL);
  assert_int_equal(vmctr_process_config_set_cwd(p, "/work"), 0);
  assert_int_equal(vmctr_process_config_set_user(p, ""), VMCTR_EINVAL);
  assert_int_equal(vmctr_process_config_set_rlimit(p, 7, 10, 5), VMCTR_EINVAL);
  assert_int_equal(vmctr_process_config_set_rlimit(p, 7, 1024, 4096), 0);
  assert_int_equal(vmctr_process_config_set_rlimit(p, 7, 2048, 4096), 0);
  assert_int_equal(p->nrlimits, 1);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_CALLBACK, 1, 2), VMCTR_EINVAL);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_WRITE, VMCTR_STDIO_CALLBACK, 2), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, 0, VMCTR_STDIO_WRITE, 2), VMCTR_EINVAL);
  assert_int_equal(vmctr_process_config_set_terminal(p, 1, 0, 0), 0);
  assert_int_equal(p->rows, 24);
  int one = 1;
  assert_int_equal(vmctr_process_config_set_output_callback(p, out_fn, &one, on_destroy), 0);
  assert_int_equal(vmctr_process_config_set_env(p, "K", "V"), 0);
  assert_int_equal(vmctr_process_config_clone(&q, p), 0);
  assert_string_equal(q->cwd, "/work");
  assert_int_equal(q->nenv, 1);
  vmctr_process_config_free(p);
  assert_int_equal(destroyed, 0); /* the clone still holds the callback */
  vmctr_process_config_free(q);
  assert_int_equal(destroyed, 1);
  vmctr_process_config_free(NULL);
}

static void test_container_config_builder(void **state) {
  (void)state;
  vmctr_container_config *c;
  assert_int_equal(vmctr_container_config_new(&c), 0);
  assert_int_equal(vmctr_container_config_set_hostname(c, "web.local"), 0);
  assert_int_equal(vmctr_container_config_set_hostname(c, "bad host"), VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_set_hostname(c, "-x"), VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_set_sysctl(c, "net.ipv4.ip_forward", "1"), 0);
  assert_int_equal(vmctr_container_config_set_sysctl(c, "../../etc/x", "1"), VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_set_sysctl(c, "net.ipv4.ip_forward", NULL), 0);
  assert_int_equal(c->nsysctls, 0);
  assert_int_equal(vmctr_container_config_add_dns_server(c, "10.0.2.3"), 0);
  assert_int_equal(vmctr_container_config_add_dns_server(c, "fd00::1"), 0);
  assert_int_equal(vmctr_container_config_add_dns_server(c, "not-an-ip"), VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_add_dns_search(c, "example.com"), 0);
  assert_int_equal(vmctr_container_config_add_host(c, "db", "10.0.0.5"), 0);
  assert_int_equal(vmctr_container_config_add_host(c, "db", "nope"), VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_set_limits(c, 1024, 0), VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_set_limits(c, 256u << 20, 500), 0);
  assert_int_equal(vmctr_container_config_set_boot_log(c, ""), VMCTR_EINVAL);
  vmctr_container_config_free(c);
}

/* Masked and read-only paths: validated, copied, replaced whole; never set
 * means the defaults, n 0 means none; and what the init SPAWN carries. */
static void test_masked_readonly_paths(void **state) {
  vmctr_container_config *c = NULL;
  (void)state;
  assert_int_equal(vmctr_container_config_new(&c), 0);
  assert_false(c->has_masked);
  assert_false(c->has_readonly);
  const char *good[] = {"/proc/kcore", "/etc/secret", "/sys/firmware"};
  char buf[16] = "/tmp/x";
  const char *mine[] = {buf};
  assert_int_equal(vmctr_container_config_set_masked_paths(c, good, 3), 0);
  assert_true(c->has_masked);
  assert_int_equal(vmctr__strv_len(c->masked_paths), 3);
  assert_string_equal(c->masked_paths[1], "/etc/secret");
  assert_int_equal(vmctr_container_config_set_readonly_paths(c, mine, 1), 0);
  buf[1] = 'X'; /* copied */
  assert_string_equal(c->readonly_paths[0], "/tmp/x");

  /* Bad input leaves the list as it was. */
  const char *relative[] = {"/ok", "proc/kcore"};
  assert_fails_with(vmctr_container_config_set_masked_paths(c, relative, 2), VMCTR_EINVAL,
                    "\"proc/kcore\" is relative");
  const char *dots[] = {"/proc/../etc"};
  assert_fails_with(vmctr_container_config_set_masked_paths(c, dots, 1), VMCTR_EINVAL,
                    "is not normalized");
  const char *slash[] = {"/proc/"}, *dbl[] = {"/proc//kcore"}, *root[] = {"/"}, *nul[] = {NULL};
  assert_fails_with(vmctr_container_config_set_masked_paths(c, slash, 1), VMCTR_EINVAL,
                    "is not normalized");
  assert_fails_with(vmctr_container_config_set_readonly_paths(c, dbl, 1), VMCTR_EINVAL,
                    "is not normalized");
  assert_fails_with(vmctr_container_config_set_readonly_paths(c, root, 1), VMCTR_EINVAL,
                    "is the root");
  assert_fails_with(vmctr_container_config_set_readonly_paths(c, nul, 1), VMCTR_EINVAL,
                    "paths[0] is NULL");
  const char *ctl[] = {"/a\nb"};
  assert_fails_with(vmctr_container_config_set_readonly_paths(c, ctl, 1), VMCTR_EINVAL,
                    "control character");
  assert_fails_with(vmctr_container_config_set_readonly_paths(c, NULL, 2), VMCTR_EINVAL,
                    "paths is NULL");
  assert_fails_with(vmctr_container_config_set_readonly_paths(NULL, good, 1), VMCTR_EINVAL,
                    "cfg is NULL");
  char *longp = malloc(VMCTR_CONTAINER_PATH_MAX + 2);
  assert_non_null(longp);
  memset(longp, 'a', VMCTR_CONTAINER_PATH_MAX + 1);
  longp[0] = '/';
  longp[VMCTR_CONTAINER_PATH_MAX + 1] = 0;
  const char *lp[] = {longp};
  assert_fails_with(vmctr_container_config_set_masked_paths(c, lp, 1), VMCTR_EINVAL,
                    "the limit is 4095");
  longp[VMCTR_CONTAINER_PATH_MAX] = 0;
  const char **many = calloc(VMCTR_CONTAINER_PATHS_MAX + 1, sizeof(*many));
  assert_non_null(many);
  for (size_t i = 0; i <= VMCTR_CONTAINER_PATHS_MAX; i++)
    many[i] = "/proc/kcore";
  assert_fails_with(vmctr_container_config_set_masked_paths(c, many, VMCTR_CONTAINER_PATHS_MAX + 1),
                    VMCTR_ETOOBIG, "the limit is 256");
  assert_int_equal(vmctr__strv_len(c->masked_paths), 3);
  assert_string_equal(c->readonly_paths[0], "/tmp/x");
  /* The largest list of the longest paths is accepted (the guest frame limits the SPAWN). */
  assert_int_equal(vmctr_container_config_set_readonly_paths(c, lp, 1), 0);
  assert_int_equal(vmctr_container_config_set_readonly_paths(c, many, VMCTR_CONTAINER_PATHS_MAX), 0);
  free(many);
  free(longp);

  /* n 0: none (paths may be NULL), and it counts as set. */
  assert_int_equal(vmctr_container_config_set_masked_paths(c, NULL, 0), 0);
  assert_true(c->has_masked);
  assert_int_equal(vmctr__strv_len(c->masked_paths), 0);

  /* The container's copy keeps both lists and their flags. */
  vmctr_container_config *d = NULL;
  assert_int_equal(vmctr_container_config_new(&d), 0);
  assert_int_equal(vmctr__container_config_copy_paths(d, c), 0);
  assert_true(d->has_masked && d->has_readonly);
  assert_int_equal(vmctr__strv_len(d->masked_paths), 0);
  assert_int_equal(vmctr__strv_len(d->readonly_paths), VMCTR_CONTAINER_PATHS_MAX);
  vmctr_container_config_free(d);
  vmctr_container_config_free(c);
}

static void test_capability_names(void **state) {
  (void)state;
  assert_int_equal(vmctr__cap_from_name("CAP_CHOWN"), 0);
  assert_int_equal(vmctr__cap_from_name("net_admin"), 12);
  assert_int_equal(vmctr__cap_from_name("cap_sys_admin"), 21);
  assert_int_equal(vmctr__cap_from_name("CHECKPOINT_RESTORE"), 40);
  assert_int_equal(vmctr__cap_from_name("ALL"), -2);
  assert_int_equal(vmctr__cap_from_name("CAP_ALL"), -2);
  assert_int_equal(vmctr__cap_from_name("CAP_"), -1);
  assert_int_equal(vmctr__cap_from_name("NET_ADMINX"), -1);
  assert_int_equal(vmctr__cap_from_name(""), -1);

  vmctr_process_config *p;
  vmctr__agent_spawn_args s = {0};
  assert_int_equal(vmctr_process_config_new(&p), 0);
  vmctr__process_security(p, false, true, &s);
  assert_true(s.has_security);
  assert_int_equal(s.caps, 0xa00425fbull); /* the OCI default less MKNOD */
  assert_int_equal(s.seccomp, VMCTR_ASECCOMP_DEFAULT);
  assert_int_equal(s.relax, 0);
  assert_int_equal(vmctr_process_config_add_capability(p, "MKNOD"), 0);
  assert_int_equal(vmctr_process_config_drop_capability(p, "CAP_NET_RAW"), 0);
  vmctr__process_security(p, false, true, &s);
  assert_int_equal(s.caps, 0xa80405fbull);
  assert_int_equal(vmctr_process_config_drop_capability(p, "all"), 0);
  assert_int_equal(vmctr_process_config_add_capability(p, "NET_BIND_SERVICE"), 0);
  assert_int_equal(vmctr_process_config_set_seccomp(p, VMCTR_SECCOMP_UNCONFINED), 0);
  vmctr__process_security(p, false, false, &s);
  assert_int_equal(s.caps, 1ull << 10);
  assert_int_equal(s.seccomp, VMCTR_ASECCOMP_UNCONFINED);
  assert_int_equal(vmctr_process_config_add_capability(p, "BOGUS"), VMCTR_EINVAL);
  assert_int_equal(vmctr_process_config_add_capability(p, NULL), VMCTR_EINVAL);
  assert_int_equal(vmctr_process_config_set_seccomp(p, 2), VMCTR_EINVAL);
  /* A clone keeps the set. */
  vmctr_process_config *q;
  assert_int_equal(vmctr_process_config_clone(&q, p), 0);
  vmctr__process_security(q, false, false, &s);
  assert_int_equal(s.caps, 1ull << 10);
  vmctr_process_config_free(q);
  /* Privileged: everything, and the container relaxed when it is the init's. */
  assert_int_equal(vmctr_process_config_set_privileged(p, 1), 0);
  vmctr__process_security(p, false, false, &s);
  assert_int_equal(s.caps, VMCTR_AGENT_CAPS_ALL);
  assert_int_equal(s.seccomp, VMCTR_ASECCOMP_UNCONFINED);
  assert_int_equal(s.relax, 0);
  vmctr__process_security(NULL, true, true, &s);
  assert_int_equal(s.relax, VMCTR_ARELAX_ALL);
  assert_int_equal(s.caps, VMCTR_AGENT_CAPS_ALL);
  vmctr_process_config_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_capability_names),
      cmocka_unit_test(test_masked_readonly_paths),
      cmocka_unit_test(test_image_defaults),
      cmocka_unit_test(test_args_replace_cmd),
      cmocka_unit_test(test_env_merge),
      cmocka_unit_test(test_exec_ignores_image_cmd),
      cmocka_unit_test(test_resolve_user),
      cmocka_unit_test(test_resolve_user_symlink_escape),
      cmocka_unit_test(test_container_id),
      cmocka_unit_test(test_process_config_builder),
      cmocka_unit_test(test_container_config_builder),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
