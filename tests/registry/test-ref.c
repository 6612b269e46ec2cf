/* SPDX-License-Identifier: MIT */
/* Image references: Docker's and containerd's normalization (default
 * registry, library/ prefix, default tag, ports, digests) and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "image/registry/ref.h"
#include "testutil.h"
#include "vmctr.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void normalized(void **state) {
  static const struct { const char *in, *domain, *path, *tag, *digest, *norm; } c[] = {
    {"busybox", "docker.io", "library/busybox", "latest", "", "docker.io/library/busybox:latest"},
    {"busybox:1.36", "docker.io", "library/busybox", "1.36", "", NULL},
    {"library/busybox:1.36", "docker.io", "library/busybox", "1.36", "", NULL},
    {"docker.io/busybox", "docker.io", "library/busybox", "latest", "", NULL},
    {"index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", "", NULL},
    {"user/app", "docker.io", "user/app", "latest", "", "docker.io/user/app:latest"},
    {"localhost/app", "localhost", "app", "latest", "", "localhost/app:latest"},
    {"localhost:5000/ns/app:v2", "localhost:5000", "ns/app", "v2", "", NULL},
    {"127.0.0.1:5000/a/b/c", "127.0.0.1:5000", "a/b/c", "latest", "", NULL},
    {"quay.io/coreos/etcd", "quay.io", "coreos/etcd", "latest", "", NULL},
    {"Registry.Example/app", "Registry.Example", "app", "latest", "", NULL},
    {"[::1]:5000/app", "[::1]:5000", "app", "latest", "", NULL},
    {"host:5000/ns/name@sha256:" D64, "host:5000", "ns/name", "", "sha256:" D64,
     "host:5000/ns/name@sha256:" D64},
    {"busybox:1.36@sha256:" D64, "docker.io", "library/busybox", "1.36", "sha256:" D64,
     "docker.io/library/busybox:1.36@sha256:" D64},
    {"ns/a.b-c__d/e---f", "docker.io", "ns/a.b-c__d/e---f", "latest", "", NULL},
    {"app:_Tag.1-x", "docker.io", "library/app", "_Tag.1-x", "", NULL},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(c) / sizeof(*c); i++) {
    vmctr__ref r;
    char out[600];
    if (vmctr__ref_parse(c[i].in, &r) != 0)
      fail_msg("%s: %s", c[i].in, vmctr_error_last()->message);
    assert_string_equal(r.domain, c[i].domain);
    assert_string_equal(r.path, c[i].path);
    assert_string_equal(r.tag, c[i].tag);
    assert_string_equal(r.digest, c[i].digest);
    assert_true(vmctr__ref_format(&r, out, sizeof(out)));
    if (c[i].norm)
      assert_string_equal(out, c[i].norm);
    /* The normalized form is a fixed point. */
    vmctr__ref again;
    char out2[600];
    assert_int_equal(vmctr__ref_parse(out, &again), 0);
    assert_true(vmctr__ref_format(&again, out2, sizeof(out2)));
    assert_string_equal(out, out2);
  }
}

static void api_host(void **state) {
  vmctr__ref r;
  (void)state;
  assert_int_equal(vmctr__ref_parse("busybox", &r), 0);
  assert_string_equal(vmctr__ref_api_host(&r), "registry-1.docker.io");
  assert_int_equal(vmctr__ref_parse("127.0.0.1:5000/x", &r), 0);
  assert_string_equal(vmctr__ref_api_host(&r), "127.0.0.1:5000");
}

static void refused(void **state) {
  static const struct { const char *in, *why; } c[] = {
    {"", "empty"},
    {"BusyBox", "lowercase"},
    {"docker.io/Library/busybox", "lowercase"},
    {"busybox:", "tag"},
    {"busybox:-x", "tag"},
    {"busybox:" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "tag"},
    {"busybox@sha256:abc", "64 hex"},
    {"busybox@sha512:" D64, "sha256"},
    {"busybox@sha256:" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "lowercase hex"},
    {"a//b", "component"},
    {"a/b/", "ends with"},
    {"-a/b", "component"},
    {"a_/b", "component"},
    {"a..b/c", "host[:port]"}, /* a "." makes the first component a host */
    {"ns/a..b", "component"},
    {"host:port/app", "host[:port]"},
    {"host:123456/app", "host[:port]"},
    {"-bad.host/app", "host[:port]"},
    {"host.com/", "empty"},
    {"busybox@", "digest"},
    {"a b", "component"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(c) / sizeof(*c); i++) {
    vmctr__ref r;
    int rc = vmctr__ref_parse(c[i].in, &r);
    if (rc != VMCTR_EINVAL)
      fail_msg("\"%s\" parsed (rc %d)", c[i].in, rc);
    if (!strstr(vmctr_error_last()->message, c[i].why))
      fail_msg("\"%s\": message \"%s\" lacks \"%s\"", c[i].in, vmctr_error_last()->message,
               c[i].why);
  }
  /* Names longer than 255 characters. */
  char big[400];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  for (size_t i = 20; i < sizeof(big) - 1; i += 20)
    big[i] = '/';
  vmctr__ref r;
  assert_int_equal(vmctr__ref_parse(big, &r), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "255"));
}

static void public_normalize(void **state) {
  char *out = NULL;
  (void)state;
  assert_ok(vmctr_image_ref_normalize("busybox:1.36", &out));
  assert_string_equal(out, "docker.io/library/busybox:1.36");
  vmctr_free(out);
  out = NULL;
  assert_fails_with(vmctr_image_ref_normalize("UP", &out), VMCTR_EINVAL, "lowercase");
  assert_null(out);
  assert_int_equal(vmctr_image_ref_normalize(NULL, &out), VMCTR_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(normalized),
    cmocka_unit_test(api_host),
    cmocka_unit_test(refused),
    cmocka_unit_test(public_normalize),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
