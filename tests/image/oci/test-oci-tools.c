/* SPDX-License-Identifier: MIT */
/* Interop with the real tools: umoci builds a busybox image, skopeo turns it
 * into oci-archive and docker-archive, and all three read back consistently;
 * our writer's layout is read by skopeo and unpacked by umoci. Truncated
 * archives fail cleanly. Skips when umoci/skopeo/busybox are missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/json.h"
#include "oci-testutil.h"
#include "vmctr.h"

static char root[64];

/* fmt is one of the literals below, with %s for the work dir. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void sh(const char *fmt, const char *arg) {
  char cmd[2048];
  snprintf(cmd, sizeof(cmd), fmt, arg, arg, arg, arg, arg, arg);
  if (system(cmd) != 0)
    fail_msg("command failed: %s", cmd);
}

static char *diff_ids(const vmctr__oci_image *img) {
  cJSON *c = cJSON_Parse(img->config_json);
  char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "rootfs"),
                                                       "diff_ids"));
  cJSON_Delete(c);
  return s;
}

static void umoci_skopeo_formats(void **state) {
  (void)state;
  vmctr__oci_image *a = NULL, *b = NULL, *c = NULL;
  char src[200], blobs[200];
  sh("set -e; cd %s; mkdir -p rootfs/bin; cp /bin/busybox rootfs/bin/;"
     " for t in sh ls cat echo; do ln -s busybox rootfs/bin/$t; done;"
     " umoci init --layout L; umoci new --image L:t; umoci unpack --image L:t B >/dev/null;"
     " cp -a rootfs/. B/rootfs/; umoci repack --image L:t B;"
     " umoci config --image L:t --config.entrypoint /bin/sh;"
     " skopeo copy -q oci:L:t oci-archive:A.tar; skopeo copy -q oci:L:t docker-archive:D.tar:x/t:v",
     root);
  snprintf(blobs, sizeof(blobs), "%s/store", root);
  snprintf(src, sizeof(src), "%s/L:t", root);
  assert_int_equal(vmctr__oci_fetch(src, blobs, "amd64", NULL, NULL, &a), 0);
  snprintf(src, sizeof(src), "%s/A.tar", root);
  assert_int_equal(vmctr__oci_fetch(src, blobs, "amd64", NULL, NULL, &b), 0);
  snprintf(src, sizeof(src), "%s/D.tar", root);
  assert_int_equal(vmctr__oci_fetch(src, blobs, "amd64", NULL, NULL, &c), 0);
  assert_int_equal(a->n_layers, b->n_layers);
  assert_int_equal(a->n_layers, c->n_layers);
  assert_string_equal(a->manifest_digest, b->manifest_digest);
  for (size_t i = 0; i < a->n_layers; i++)
    assert_string_equal(a->layers[i].digest, b->layers[i].digest);
  char *da = diff_ids(a), *dc = diff_ids(c);
  assert_string_equal(da, dc);  /* same layer contents, whatever the compression */
  free(da);
  free(dc);
  assert_string_equal(c->entrypoint[0], "/bin/sh");
  vmctr__oci_image_free(a);
  vmctr__oci_image_free(b);
  vmctr__oci_image_free(c);
  assert_int_equal(tu_tmp_count(blobs), 0);
}

static void truncated_archives(void **state) {
  (void)state;
  const char *names[] = {"A.tar", "D.tar"};
  char src[200], blobs[200];
  snprintf(blobs, sizeof(blobs), "%s/store2", root);
  for (int i = 0; i < 2; i++) {
    vmctr__oci_image *img = NULL;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "cd %s && head -c $(($(stat -c %%s %s) - 9000)) %s > T%s", root,
             names[i], names[i], names[i]);
    assert_int_equal(system(cmd), 0);
    snprintf(src, sizeof(src), "%s/T%s", root, names[i]);
    int r = vmctr__oci_fetch(src, blobs, "amd64", NULL, NULL, &img);
    assert_true(r < 0);
    assert_null(img);
    if (!strstr(vmctr_error_last()->message, "truncated") &&
        !strstr(vmctr_error_last()->message, "missing"))
      fail_msg("%s: unclear error \"%s\"", names[i], vmctr_error_last()->message);
    assert_int_equal(tu_tmp_count(blobs), 0);
  }
}

static void writer_readable_by_tools(void **state) {
  (void)state;
  char rootfs[200], out[200];
  const char *ep[] = {"/bin/sh", NULL};
  vmctr__oci_build_params p = {.entrypoint = ep};
  snprintf(rootfs, sizeof(rootfs), "%s/rootfs", root);
  snprintf(out, sizeof(out), "%s/ours", root);
  assert_int_equal(vmctr__oci_write_layout(rootfs, out, &p), 0);
  sh("set -e; cd %s; skopeo inspect oci:ours:latest | grep -q '\"Architecture\": \"amd64\"';"
     " umoci unpack --image ours:latest U >/dev/null; test -x U/rootfs/bin/busybox;"
     " test \"$(readlink U/rootfs/bin/sh)\" = busybox;"
     " cmp U/rootfs/bin/busybox /bin/busybox", root);
}

int main(void) {
  if (system("command -v umoci >/dev/null && command -v skopeo >/dev/null && test -x /bin/busybox") != 0) {
    printf("1..0 # SKIP umoci, skopeo or /bin/busybox missing\n");
    return 0;
  }
  if (tu_tmpdir(root, sizeof(root), "vmctr-ocit") < 0)
    return 1;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(umoci_skopeo_formats),
    cmocka_unit_test(truncated_archives),
    cmocka_unit_test(writer_readable_by_tools),
  };
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  tu_rm_rf(root);
  return r;
}
