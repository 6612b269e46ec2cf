/* SPDX-License-Identifier: MIT */
/* The registry client's pure parts: WWW-Authenticate parameters, options
 * checks, and credentials from a Docker configuration (auths in each key
 * spelling, base64 auth, credHelpers and credsStore run as programs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/registry/client.h"
#include "testutil.h"
#include "vmctr.h"

typedef struct fixture {
  char dir[TU_DIR_SIZE]; /* first: tu_fixture_new */
  char cfg[160];
} fixture;

static int setup(void **state) {
  fixture *f = tu_fixture_new(sizeof(*f), "vmctr-test-regclient");
  if (!f)
    return -1;
  snprintf(f->cfg, sizeof(f->cfg), "%s/config.json", f->dir);
  *state = f;
  return 0;
}

static void challenge(void **state) {
  char v[128];
  const char *p = "realm=\"https://auth.example/token\",service=\"registry.example\","
                  "scope=\"repository:a/b:pull\", error=insufficient_scope, q=\"x\\\"y\"";
  (void)state;
  assert_true(reg_challenge_param(p, "realm", v, sizeof(v)));
  assert_string_equal(v, "https://auth.example/token");
  assert_true(reg_challenge_param(p, "SERVICE", v, sizeof(v)));
  assert_string_equal(v, "registry.example");
  assert_true(reg_challenge_param(p, "scope", v, sizeof(v)));
  assert_string_equal(v, "repository:a/b:pull");
  assert_true(reg_challenge_param(p, "error", v, sizeof(v)));
  assert_string_equal(v, "insufficient_scope");
  assert_true(reg_challenge_param(p, "q", v, sizeof(v)));
  assert_string_equal(v, "x\"y");
  assert_false(reg_challenge_param(p, "missing", v, sizeof(v)));
  assert_false(reg_challenge_param("realm", "realm", v, sizeof(v)));
  /* Truncated to the buffer, never past it. */
  char small[8];
  assert_true(reg_challenge_param(p, "realm", small, sizeof(small)));
  assert_string_equal(small, "https:/");
}

static void write_cfg(const fixture *f, const char *json) {
  FILE *fp = fopen(f->cfg, "w");
  assert_non_null(fp);
  fputs(json, fp);
  fclose(fp);
}

/* A client for ref reading f's config; NULL (and the code in *rc) on failure. */
static reg_client *client(const fixture *f, const char *ref, int *rc) {
  vmctr_registry_options o = VMCTR_REGISTRY_OPTIONS_INIT;
  reg_client *c = NULL;
  o.docker_config = f->cfg;
  *rc = reg_client_new(&c, ref, &o, "pull");
  return c;
}

static void auths(void **state) {
  fixture *f = *state;
  static const struct { const char *key, *ref; } c[] = {
    {"https://index.docker.io/v1/", "busybox"},
    {"docker.io", "library/busybox"},
    {"registry.example:5000", "registry.example:5000/a/b"},
    {"https://registry.example:5000", "registry.example:5000/a/b"},
    {"https://registry.example:5000/v2/", "registry.example:5000/a/b"},
  };
  char json[512];
  int rc;
  for (size_t i = 0; i < sizeof(c) / sizeof(*c); i++) {
    /* base64("alice:pw:with:colons") */
    snprintf(json, sizeof(json), "{\"auths\":{\"other.example\":{\"auth\":\"Ym9iOng=\"},"
             "\"%s\":{\"auth\":\"YWxpY2U6cHc6d2l0aDpjb2xvbnM=\"}}}", c[i].key);
    write_cfg(f, json);
    reg_client *cl = client(f, c[i].ref, &rc);
    assert_int_equal(rc, 0);
    if (!cl->user)
      fail_msg("no credentials found under %s for %s", c[i].key, c[i].ref);
    assert_string_equal(cl->user, "alice");
    assert_string_equal(cl->secret, "pw:with:colons");
    reg_client_free(cl);
  }
  write_cfg(f, "{\"auths\":{\"r.example\":{\"username\":\"u\",\"password\":\"p\"}}}");
  reg_client *cl = client(f, "r.example/x", &rc);
  assert_int_equal(rc, 0);
  assert_string_equal(cl->user, "u");
  reg_client_free(cl);
  /* Another registry's entry is not used. */
  cl = client(f, "q.example/x", &rc);
  assert_int_equal(rc, 0);
  assert_null(cl->user);
  reg_client_free(cl);
  /* A bad auth entry is an error that does not show it. */
  write_cfg(f, "{\"auths\":{\"r.example\":{\"auth\":\"!!not base64 secret!!\"}}}");
  assert_null(client(f, "r.example/x", &rc));
  assert_int_equal(rc, VMCTR_EPARSE);
  assert_null(strstr(vmctr_error_last()->message, "secret"));
  /* No file: anonymous. */
  unlink(f->cfg);
  cl = client(f, "r.example/x", &rc);
  assert_int_equal(rc, 0);
  assert_null(cl->user);
  reg_client_free(cl);
}

static void helpers(void **state) {
  fixture *f = *state;
  char path[300], bin[200], *old = getenv("PATH") ? strdup(getenv("PATH")) : strdup("/bin");
  FILE *fp;
  int rc;
  snprintf(bin, sizeof(bin), "%s/bin", f->dir);
  assert_int_equal(mkdir(bin, 0755), 0);
  snprintf(path, sizeof(path), "%s/docker-credential-t", bin);
  fp = fopen(path, "w");
  assert_non_null(fp);
  fputs("#!/bin/sh\n[ \"$1\" = get ] || exit 3\nread s\n"
        "case \"$s\" in\n"
        "  good.example) echo '{\"Username\":\"hu\",\"Secret\":\"hs\"}' ;;\n"
        "  https://index.docker.io/v1/) echo '{\"Username\":\"hub\",\"Secret\":\"x\"}' ;;\n"
        "  junk.example) echo 'not json' ;;\n"
        "  *) echo 'credentials not found in native keychain'; exit 1 ;;\n"
        "esac\n", fp);
  fclose(fp);
  chmod(path, 0755);
  snprintf(path, sizeof(path), "%s:%s", bin, old);
  setenv("PATH", path, 1);
  write_cfg(f, "{\"credHelpers\":{\"good.example\":\"t\",\"junk.example\":\"t\","
               "\"none.example\":\"t\",\"gone.example\":\"absent\"},"
               "\"auths\":{\"good.example\":{\"auth\":\"YTpi\"}}}");
  reg_client *c = client(f, "good.example/x", &rc);
  assert_int_equal(rc, 0);
  assert_string_equal(c->user, "hu"); /* the helper wins over auths, as in Docker */
  assert_string_equal(c->secret, "hs");
  reg_client_free(c);
  c = client(f, "none.example/x", &rc);
  assert_int_equal(rc, 0);
  assert_null(c->user); /* "not found": anonymous */
  reg_client_free(c);
  assert_null(client(f, "junk.example/x", &rc));
  assert_int_equal(rc, VMCTR_EPARSE);
  assert_null(client(f, "gone.example/x", &rc));
  assert_int_equal(rc, VMCTR_ENOENT);
  assert_non_null(strstr(vmctr_error_last()->message, "docker-credential-absent"));
  /* credsStore serves every registry without a credHelpers entry. */
  write_cfg(f, "{\"credsStore\":\"t\"}");
  c = client(f, "busybox", &rc);
  assert_int_equal(rc, 0);
  assert_string_equal(c->user, "hub");
  reg_client_free(c);
  setenv("PATH", old, 1);
  free(old);
}

static void options(void **state) {
  vmctr_registry_options o;
  reg_client *c = NULL;
  const char *m[] = {"http://mirror.example", NULL};
  (void)state;
  assert_int_equal(vmctr_registry_options_init(&o, VMCTR_REGISTRY_OPTIONS_VERSION), 0);
  assert_int_equal(vmctr_registry_options_init(&o, 99), VMCTR_EINVAL);
  o.flags = VMCTR_REGISTRY_NO_DOCKER_CONFIG;
  o.mirrors = m;
  assert_fails_with(reg_client_new(&c, "busybox", &o, "pull"), VMCTR_EINVAL, "INSECURE_HTTP");
  o.flags |= VMCTR_REGISTRY_INSECURE_HTTP;
  assert_int_equal(reg_client_new(&c, "busybox", &o, "pull"), 0);
  assert_int_equal(c->n_bases, 2);
  assert_string_equal(c->bases[0], "http://mirror.example");
  assert_string_equal(c->bases[1], "http://registry-1.docker.io");
  assert_string_equal(c->scope, "repository:library/busybox:pull");
  reg_client_free(c);
  o.flags = 1u << 30;
  assert_fails_with(reg_client_new(&c, "busybox", &o, "pull"), VMCTR_EINVAL, "flags");
  o.flags = 0;
  o.max_connections = 1000;
  assert_fails_with(reg_client_new(&c, "busybox", &o, "pull"), VMCTR_EINVAL, "max_connections");
  assert_fails_with(vmctr_image_pull(NULL, "busybox", NULL, NULL), VMCTR_EINVAL, "store");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(challenge),
    cmocka_unit_test_setup_teardown(auths, setup, tu_fixture_teardown),
    cmocka_unit_test_setup_teardown(helpers, setup, tu_fixture_teardown),
    cmocka_unit_test(options),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
