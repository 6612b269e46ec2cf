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

#include <archive.h>
#include <archive_entry.h>

#include "oci-testutil.h"
#include "testutil.h"
#include "vmctr.h"

typedef struct fx {
  char root[64], layout[128], blobs[128];
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof(*f));
  if (tu_tmpdir(f->root, sizeof(f->root), "vmctr-oci") < 0)
    return -1;
  snprintf(f->layout, sizeof(f->layout), "%s/layout", f->root);
  snprintf(f->blobs, sizeof(f->blobs), "%s/blobs", f->root);
  mkdir(f->layout, 0755);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  if (!getenv("KEEP")) tu_rm_rf(f->root);
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

/* The matcher alone: one rule for index entries and configs of every source. */
static void platform_rules(void **state) {
  (void)state;
  assert_true(vmctr__oci_platform_match("arm64", "linux", "arm64", NULL));
  assert_true(vmctr__oci_platform_match("arm64", "linux", "arm64", ""));
  assert_true(vmctr__oci_platform_match("arm64", "linux", "arm64", "v8"));
  assert_false(vmctr__oci_platform_match("arm64", "linux", "arm64", "v8.2"));
  assert_false(vmctr__oci_platform_match("arm64", "linux", "arm64", "v9"));
  assert_false(vmctr__oci_platform_match("arm64", "linux", "arm", "v8"));
  assert_false(vmctr__oci_platform_match("arm64", "windows", "arm64", NULL));
  assert_false(vmctr__oci_platform_match("arm64", NULL, "arm64", NULL));
  assert_true(vmctr__oci_platform_match("amd64", "linux", "amd64", NULL));
  assert_true(vmctr__oci_platform_match("amd64", "linux", "amd64", "v1"));
  assert_false(vmctr__oci_platform_match("amd64", "linux", "amd64", "v5"));
  assert_false(vmctr__oci_platform_match("amd64", "linux", "amd64", "v8"));
  assert_false(vmctr__oci_platform_match("amd64", "linux", "amd64", "v22"));
  assert_false(vmctr__oci_platform_match("amd64", "linux", "arm64", NULL));
  /* v2..v4 on this host follow its CPU; for the other architecture the names suffice. */
#if defined(__x86_64__) && !defined(__clang__) && __GNUC__ >= 12
  __builtin_cpu_init();
  assert_int_equal(vmctr__oci_platform_match("amd64", "linux", "amd64", "v3"),
                   __builtin_cpu_supports("x86-64-v3") != 0);
#endif
  if (strcmp(vmctr__oci_host_arch(), "amd64") != 0)
    assert_true(vmctr__oci_platform_match("amd64", "linux", "amd64", "v4"));
}

static void layout_variants(void **state) {
  fx *f = *state;
  spec s = {0};
  char a[1024], b[1024], c[1024], all[4096];
  vmctr__oci_image *img = NULL;
  /* arm64/v9 first: skipped; the variant-less arm64 entry is taken. */
  make_manifest(f->layout, "arm64", "v9", &s, a, sizeof(a));
  make_manifest(f->layout, "arm64", NULL, &s, b, sizeof(b));
  make_manifest(f->layout, "amd64", "v1", &s, c, sizeof(c));
  snprintf(all, sizeof(all), "%s,%s,%s", a, b, c);
  write_index(f->layout, all);
  assert_int_equal(vmctr__oci_fetch(f->layout, f->blobs, "arm64", NULL, NULL, &img), 0);
  assert_string_equal(img->architecture, "arm64");
  assert_null(img->variant);
  vmctr__oci_image_free(img);
  assert_int_equal(vmctr__oci_fetch(f->layout, f->blobs, "amd64", NULL, NULL, &img), 0);
  assert_string_equal(img->variant, "v1");
  vmctr__oci_image_free(img);
  img = NULL;
  /* Only variants we cannot run: refused, every platform named. */
  make_manifest(f->layout, "amd64", "v5", &s, c, sizeof(c));
  snprintf(all, sizeof(all), "%s,%s", a, c);
  write_index(f->layout, all);
  assert_fails_with(vmctr__oci_fetch(f->layout, f->blobs, "arm64", NULL, NULL, &img),
                    VMCTR_ENOENT, "platforms present: linux/arm64/v9, linux/amd64/v5");
  assert_null(img);
}

/* A docker-archive at path: one image per (arch, variant), in order. */
typedef struct dimg {
  const char *arch, *variant;
} dimg;

static void tar_add(struct archive *a, const char *name, const void *data, size_t n) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, (la_int64_t)n);
  assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
  assert_int_equal(archive_write_data(a, data, n), (la_ssize_t)n);
  archive_entry_free(e);
}

static void make_docker_archive(const char *path, const dimg *imgs, size_t n) {
  struct archive *a = archive_write_new();
  char man[4096], cfg[1024], name[64], layer[64], diff[72];
  size_t ml = 0;
  assert_non_null(a);
  assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
  ml += (size_t)snprintf(man + ml, sizeof(man) - ml, "[");
  for (size_t i = 0; i < n; i++) {
    int ln = snprintf(layer, sizeof(layer), "layer %zu for %s", i, imgs[i].arch);
    vmctr__oci_digest_of(layer, (size_t)ln, diff); /* uncompressed: diff_id = digest */
    snprintf(name, sizeof(name), "l%zu/layer.tar", i);
    tar_add(a, name, layer, (size_t)ln);
    int cn = snprintf(cfg, sizeof(cfg),
                      "{\"architecture\":\"%s\",%s%s%s\"os\":\"linux\",\"rootfs\":{\"type\":"
                      "\"layers\",\"diff_ids\":[\"%s\"]}}", imgs[i].arch,
                      imgs[i].variant ? "\"variant\":\"" : "",
                      imgs[i].variant ? imgs[i].variant : "", imgs[i].variant ? "\"," : "", diff);
    snprintf(name, sizeof(name), "c%zu.json", i);
    tar_add(a, name, cfg, (size_t)cn);
    ml += (size_t)snprintf(man + ml, sizeof(man) - ml,
                           "%s{\"Config\":\"c%zu.json\",\"RepoTags\":[],\"Layers\":"
                           "[\"l%zu/layer.tar\"]}", i ? "," : "", i, i);
  }
  ml += (size_t)snprintf(man + ml, sizeof(man) - ml, "]");
  tar_add(a, "manifest.json", man, ml);
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

static void docker_variants(void **state) {
  fx *f = *state;
  char path[160];
  vmctr__oci_image *img = NULL;
  snprintf(path, sizeof(path), "%s/image.tar", f->root);
  /* Before the shared matcher, docker-archives took arm64/v9 as arm64. */
  const dimg two[] = {{"arm64", "v9"}, {"arm64", "v8"}};
  make_docker_archive(path, two, 2);
  assert_int_equal(vmctr__oci_fetch(path, f->blobs, "arm64", NULL, NULL, &img), 0);
  assert_string_equal(img->variant, "v8");
  assert_int_equal(img->n_layers, 1);
  assert_string_equal(img->layers[0].media_type, MT_OCI_LAYER);
  vmctr__oci_image_free(img);
  img = NULL;
  assert_fails_with(vmctr__oci_fetch(path, f->blobs, "amd64", NULL, NULL, &img), VMCTR_ENOENT,
                    "platforms present: linux/arm64/v9, linux/arm64/v8");
  assert_null(img);
  const dimg amd[] = {{"amd64", "v1"}};
  unlink(path);
  make_docker_archive(path, amd, 1);
  assert_int_equal(vmctr__oci_fetch(path, f->blobs, "amd64", NULL, NULL, &img), 0);
  assert_string_equal(img->architecture, "amd64");
  assert_string_equal(img->variant, "v1");
  vmctr__oci_image_free(img);
  assert_int_equal(tu_tmp_count(f->blobs), 0);
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
    cmocka_unit_test(platform_rules),
    cmocka_unit_test_setup_teardown(layout_variants, setup, teardown),
    cmocka_unit_test_setup_teardown(docker_variants, setup, teardown),
    cmocka_unit_test_setup_teardown(bad_blobs, setup, teardown),
    cmocka_unit_test_setup_teardown(bad_index, setup, teardown),
    cmocka_unit_test_setup_teardown(writer_roundtrip, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
