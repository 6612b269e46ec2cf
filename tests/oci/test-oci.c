/* SPDX-License-Identifier: MIT */
/* lib/image/oci on hand-built layouts: platform choice, and every kind of
 * broken or hostile image gives a clear error and leaves no temp file. The
 * writer's output is read back. Real-tool interop is in test-oci-tools.c. */
#include <errno.h>
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

#include "oci-testutil.h"
#include "vmctr.h"

#define assert_fails_with(expr, want_code, want_text)                                         \
  do {                                                                                        \
    int r_ = (expr);                                                                          \
    assert_int_equal(r_, (want_code));                                                        \
    if (!strstr(vmctr_error_last()->message, (want_text)))                                    \
      fail_msg("message \"%s\" lacks \"%s\"", vmctr_error_last()->message, (want_text));     \
  } while (0)

typedef struct fx {
  char root[64], layout[128], blobs[128];
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof(*f));
  snprintf(f->root, sizeof(f->root), "/tmp/vmctr-oci-XXXXXX");
  if (!mkdtemp(f->root))
    return -1;
  snprintf(f->layout, sizeof(f->layout), "%s/layout", f->root);
  snprintf(f->blobs, sizeof(f->blobs), "%s/blobs", f->root);
  mkdir(f->layout, 0755);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  if (!getenv("KEEP")) tu_rmrf(f->root);
  free(f);
  return 0;
}

typedef struct spec {
  const char *layer_mt;     /* default tar+gzip */
  long long size_delta;     /* added to the layer's declared size */
  unsigned long long declared;  /* nonzero: the layer's declared size */
  bool corrupt_layer, drop_layer;
} spec;

/* One image manifest for arch (variant may be NULL); returns its descriptor JSON. */
static void make_manifest(const char *dir, const char *arch, const char *variant, const spec *s,
                          char *entry, size_t cap) {
  char layer[72], cfgd[72], mand[72], cfg[1024], man[2048], p[4200];
  char data[64];
  int n = snprintf(data, sizeof(data), "layer bytes for %s", arch);
  tu_blob(dir, data, (size_t)n, layer);
  unsigned long long lsize = s->declared ? s->declared : (unsigned long long)(n + s->size_delta);
  if (s->corrupt_layer || s->drop_layer) {
    snprintf(p, sizeof(p), "%s/blobs/sha256/%s", dir, layer + 7);
    if (s->drop_layer)
      unlink(p);
    else
      tu_write(p, "LAYER bytes for xxxxx", (size_t)n);
  }
  int cn = snprintf(cfg, sizeof(cfg),
                    "{\"architecture\":\"%s\",%s%s%s\"os\":\"linux\",\"config\":{\"Entrypoint\":"
                    "[\"/bin/sh\"],\"Env\":[\"A=1\"],\"WorkingDir\":\"/w\"},\"rootfs\":{\"type\":"
                    "\"layers\",\"diff_ids\":[\"sha256:%064d\"]}}",
                    arch, variant ? "\"variant\":\"" : "", variant ? variant : "",
                    variant ? "\"," : "", 0);
  tu_blob(dir, cfg, (size_t)cn, cfgd);
  int mn = snprintf(man, sizeof(man),
                    "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\",\"config\":{"
                    "\"mediaType\":\"" MT_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%d},"
                    "\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%llu}]}",
                    cfgd, cn, s->layer_mt ? s->layer_mt : MT_OCI_LAYER_GZ, layer, lsize);
  tu_blob(dir, man, (size_t)mn, mand);
  snprintf(entry, cap,
           "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"%s\",\"size\":%d,"
           "\"platform\":{\"architecture\":\"%s\",\"os\":\"linux\"%s%s%s}}",
           mand, mn, arch, variant ? ",\"variant\":\"" : "", variant ? variant : "",
           variant ? "\"" : "");
}

static void write_index(const char *dir, const char *entries) {
  char p[4200], ix[8192];
  snprintf(p, sizeof(p), "%s/oci-layout", dir);
  tu_write(p, "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
  int n = snprintf(ix, sizeof(ix),
                   "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":[%s]}",
                   entries);
  snprintf(p, sizeof(p), "%s/index.json", dir);
  tu_write(p, ix, (size_t)n);
}

static void one_image(fx *f, const spec *s) {
  char e[1024];
  make_manifest(f->layout, "amd64", NULL, s, e, sizeof(e));
  write_index(f->layout, e);
}

static void good_layout(void **state) {
  fx *f = *state;
  spec s = {0};
  vmctr__oci_image *img = NULL;
  one_image(f, &s);
  assert_int_equal(vmctr__oci_fetch(f->layout, f->blobs, "amd64", NULL, NULL, &img), 0);
  assert_string_equal(img->architecture, "amd64");
  assert_int_equal(img->n_layers, 1);
  assert_string_equal(img->layers[0].media_type, MT_OCI_LAYER_GZ);
  assert_string_equal(img->entrypoint[0], "/bin/sh");
  assert_null(img->cmd);
  assert_string_equal(img->workdir, "/w");
  char p[300];
  snprintf(p, sizeof(p), "%s/sha256/%s", f->blobs, img->layers[0].digest + 7);
  assert_int_equal(access(p, R_OK), 0);
  snprintf(p, sizeof(p), "%s/sha256/%s", f->blobs, img->manifest_digest + 7);
  assert_int_equal(access(p, R_OK), 0);
  vmctr__oci_image_free(img);
  /* Again: blobs already there are verified and reused. */
  assert_int_equal(vmctr__oci_fetch(f->layout, f->blobs, "amd64", NULL, NULL, &img), 0);
  vmctr__oci_image_free(img);
  assert_int_equal(tu_tmp_count(f->blobs), 0);
}

static void multi_platform(void **state) {
  fx *f = *state;
  spec s = {0};
  char a[1024], b[1024], c[1024], all[4096];
  vmctr__oci_image *img = NULL;
  make_manifest(f->layout, "amd64", NULL, &s, a, sizeof(a));
  make_manifest(f->layout, "arm64", "v8", &s, b, sizeof(b));
  snprintf(all, sizeof(all), "%s,%s", a, b);
  write_index(f->layout, all);
  assert_int_equal(vmctr__oci_fetch(f->layout, f->blobs, "arm64", NULL, NULL, &img), 0);
  assert_string_equal(img->architecture, "arm64");
  vmctr__oci_image_free(img);
  assert_int_equal(vmctr__oci_fetch(f->layout, f->blobs, "amd64", NULL, NULL, &img), 0);
  assert_string_equal(img->architecture, "amd64");
  vmctr__oci_image_free(img);
  img = NULL;
  /* Only arm64 + arm/v7: amd64 is refused with the list. */
  make_manifest(f->layout, "arm", "v7", &s, c, sizeof(c));
  snprintf(all, sizeof(all), "%s,%s", b, c);
  write_index(f->layout, all);
  assert_fails_with(vmctr__oci_fetch(f->layout, f->blobs, "amd64", NULL, NULL, &img),
                    VMCTR_ENOENT, "platforms present: linux/arm64/v8, linux/arm/v7");
  assert_null(img);
}

static void expect_bad(fx *f, const spec *s, int code, const char *text) {
  vmctr__oci_image *img = NULL;
  one_image(f, s);
  assert_fails_with(vmctr__oci_fetch(f->layout, f->blobs, "amd64", NULL, NULL, &img), code,
                    text);
  assert_null(img);
  assert_int_equal(tu_tmp_count(f->blobs), 0);
}

static void bad_blobs(void **state) {
  fx *f = *state;
  spec wrong = {.corrupt_layer = true}, missing = {.drop_layer = true},
       size = {.size_delta = 3}, huge = {.declared = 2ull << 30},
       foreign = {.layer_mt = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"},
       unknown = {.layer_mt = "application/x-thing"};
  expect_bad(f, &wrong, VMCTR_EPARSE, "not the declared");
  expect_bad(f, &missing, VMCTR_ENOENT, "is missing");
  expect_bad(f, &size, VMCTR_EPARSE, "but its descriptor declares");
  expect_bad(f, &huge, VMCTR_EPARSE, "declares 2147483648");
  expect_bad(f, &foreign, VMCTR_EUNSUPPORTED, "non-distributable");
  expect_bad(f, &unknown, VMCTR_EUNSUPPORTED, "unknown layer media type");
}

static void bad_index(void **state) {
  fx *f = *state;
  vmctr__oci_image *img = NULL;
  char p[300];
  static const struct { const char *text, *msg; } cases[] = {
    {"{\"schemaVersion\":2,\"manifests\":[", "unexpected end"},
    {"{\"schemaVersion\":2,\"schemaVersion\":2,\"manifests\":[]}", "more than once"},
    {"{\"schemaVersion\":1,\"manifests\":[]}", "schemaVersion 1"},
    {"{\"schemaVersion\":2,\"mediaType\":\"text/plain\",\"manifests\":[]}", "is not an image index"},
    {"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":"
     "\"sha256:ABC\",\"size\":1}]}", "64 lowercase hex"},
    {"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":"
     "\"sha512:abc\",\"size\":1}]}", "other than sha256"},
    {"{\"schemaVersion\":2,\"manifests\":[]}", "no image manifest"},
  };
  write_index(f->layout, "");
  snprintf(p, sizeof(p), "%s/index.json", f->layout);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    tu_write(p, cases[i].text, strlen(cases[i].text));
    int r = vmctr__oci_fetch(f->layout, f->blobs, "amd64", NULL, NULL, &img);
    assert_true(r < 0);
    if (!strstr(vmctr_error_last()->message, cases[i].msg))
      fail_msg("case %zu: \"%s\" lacks \"%s\"", i, vmctr_error_last()->message, cases[i].msg);
  }
  assert_int_equal(tu_tmp_count(f->blobs), 0);
}

static int cancel_cb(const vmctr_progress *p, void *ud) {
  (void)p;
  (*(int *)ud)++;
  return *(int *)ud > 1;
}

static void writer_roundtrip(void **state) {
  fx *f = *state;
  char rootfs[128], out[128], p[300];
  vmctr__oci_image *img = NULL;
  snprintf(rootfs, sizeof(rootfs), "%s/rootfs", f->root);
  snprintf(out, sizeof(out), "%s/built", f->root);
  mkdir(rootfs, 0755);
  snprintf(p, sizeof(p), "%s/bin", rootfs);
  mkdir(p, 0755);
  snprintf(p, sizeof(p), "%s/bin/hello", rootfs);
  tu_write(p, "#!/bin/sh\necho hi\n", 18);
  snprintf(p, sizeof(p), "%s/bin/sh", rootfs);
  assert_int_equal(symlink("hello", p), 0);
  char q[300];
  snprintf(q, sizeof(q), "%s/bin/hello", rootfs);
  snprintf(p, sizeof(p), "%s/bin/hello2", rootfs);
  assert_int_equal(link(q, p), 0);
  const char *ep[] = {"/bin/sh", NULL};
  vmctr__oci_build_params bp = {.entrypoint = ep, .workdir = "/", .architecture = "arm64",
                                .ref_name = "v1"};
  assert_int_equal(vmctr__oci_write_layout(rootfs, out, &bp), 0);
  /* Exists now: refused. */
  assert_fails_with(vmctr__oci_write_layout(rootfs, out, &bp), VMCTR_EEXIST, "already exists");
  char src[200];
  snprintf(src, sizeof(src), "%s:v1", out);
  assert_int_equal(vmctr__oci_fetch(src, f->blobs, "arm64", NULL, NULL, &img), 0);
  assert_string_equal(img->architecture, "arm64");
  assert_string_equal(img->entrypoint[0], "/bin/sh");
  assert_string_equal(img->env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  assert_string_equal(img->layers[0].media_type, MT_OCI_LAYER_GZ);
  char first[72];
  memcpy(first, img->layers[0].digest, 72);
  vmctr__oci_image_free(img);
  img = NULL;
  snprintf(src, sizeof(src), "%s:nope", out);
  assert_fails_with(vmctr__oci_fetch(src, f->blobs, "arm64", NULL, NULL, &img), VMCTR_ENOENT,
                    "no image named \"nope\"");
  /* Same tree again gives the same layer (sorted, no timestamps in gzip). */
  char out2[140];
  snprintf(out2, sizeof(out2), "%s2", out);
  assert_int_equal(vmctr__oci_write_layout(rootfs, out2, &bp), 0);
  assert_int_equal(vmctr__oci_fetch(out2, f->blobs, "arm64", NULL, NULL, &img), 0);
  assert_string_equal(first, img->layers[0].digest);
  vmctr__oci_image_free(img);
  /* A cancelled build leaves nothing. */
  int calls = 0;
  char out3[140];
  snprintf(out3, sizeof(out3), "%s3", out);
  bp.progress = cancel_cb;
  bp.userdata = &calls;
  assert_int_equal(vmctr__oci_write_layout(rootfs, out3, &bp), VMCTR_ECANCELED);
  assert_int_equal(access(out3, F_OK), -1);
  DIR *d = opendir(f->root);
  struct dirent *e;
  while ((e = readdir(d)))
    assert_null(strstr(e->d_name, ".tmp-"));
  closedir(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(good_layout, setup, teardown),
    cmocka_unit_test_setup_teardown(multi_platform, setup, teardown),
    cmocka_unit_test_setup_teardown(bad_blobs, setup, teardown),
    cmocka_unit_test_setup_teardown(bad_index, setup, teardown),
    cmocka_unit_test_setup_teardown(writer_roundtrip, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
