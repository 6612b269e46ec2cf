/* SPDX-License-Identifier: MIT */
/* Unit tests of mounts as text (lib/mount): the JSON form, untrusted JSON,
 * and the command-line spec. */
#include <fcntl.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"
#include "vmctr.h"

/* ---- JSON ---- */

static void roundtrip(const vmctr_mount *m, const char *want) {
  char *text = NULL, *again = NULL;
  vmctr_mount *back = NULL;
  assert_int_equal(vmctr_mount_to_json(m, &text), 0);
  if (want)
    assert_string_equal(text, want);
  assert_int_equal(vmctr_mount_from_json(&back, text, strlen(text)), 0);
  assert_int_equal(vmctr_mount_to_json(back, &again), 0);
  assert_string_equal(text, again);
  vmctr_free(text);
  vmctr_free(again);
  vmctr_mount_free(back);
}

static void test_json_roundtrip(void **state) {
  vmctr_mount *m = NULL;
  (void)state;
  assert_int_equal(vmctr_mount_new_block(&m, "/img/a,b.ext4", "/data"), 0);
  roundtrip(m, "{\"kind\":\"block\",\"source\":\"/img/a,b.ext4\",\"destination\":\"/data\","
               "\"read_only\":false,\"format\":\"ext4\",\"caching\":\"cached\",\"sync\":\"fsync\"}");
  assert_int_equal(vmctr_mount_set_caching(m, VMCTR_MOUNT_CACHING_UNCACHED), 0);
  assert_int_equal(vmctr_mount_set_sync(m, VMCTR_MOUNT_SYNC_FULL), 0);
  assert_int_equal(vmctr_mount_set_read_only(m, 1), 0);
  assert_int_equal(vmctr_mount_set_options(m, "noexec"), 0);
  roundtrip(m, "{\"kind\":\"block\",\"source\":\"/img/a,b.ext4\",\"destination\":\"/data\","
               "\"read_only\":true,\"options\":\"noexec\",\"format\":\"ext4\","
               "\"caching\":\"uncached\",\"sync\":\"full\"}");
  /* Ephemeral: written only when set. */
  assert_int_equal(vmctr_mount_set_read_only(m, 0), 0);
  assert_int_equal(vmctr_mount_set_ephemeral(m, 1), 0);
  roundtrip(m, "{\"kind\":\"block\",\"source\":\"/img/a,b.ext4\",\"destination\":\"/data\","
               "\"read_only\":false,\"options\":\"noexec\",\"format\":\"ext4\","
               "\"caching\":\"uncached\",\"sync\":\"full\",\"ephemeral\":true}");
  vmctr_mount_free(m);

  assert_int_equal(vmctr_mount_new_share(&m, "/srv/www", "/www"), 0);
  roundtrip(m, "{\"kind\":\"share\",\"source\":\"/srv/www\",\"destination\":\"/www\","
               "\"read_only\":false,\"cache\":\"auto\"}");
  assert_int_equal(vmctr_mount_set_tag(m, "www"), 0);
  assert_int_equal(vmctr_mount_set_share_cache(m, VMCTR_MOUNT_SHARE_CACHE_ALWAYS), 0);
  roundtrip(m, "{\"kind\":\"share\",\"source\":\"/srv/www\",\"destination\":\"/www\","
               "\"read_only\":false,\"tag\":\"www\",\"cache\":\"always\"}");
  vmctr_mount_free(m);

  assert_int_equal(vmctr_mount_new_tmpfs(&m, "/tmp"), 0);
  assert_int_equal(vmctr_mount_set_tmpfs_size(m, 1048576), 0);
  roundtrip(m, "{\"kind\":\"tmpfs\",\"destination\":\"/tmp\",\"read_only\":false,"
               "\"size\":1048576,\"mode\":\"1777\"}");
  assert_int_equal(vmctr_mount_set_tmpfs_mode(m, 0700), 0);
  roundtrip(m, "{\"kind\":\"tmpfs\",\"destination\":\"/tmp\",\"read_only\":false,"
               "\"size\":1048576,\"mode\":\"0700\"}");
  vmctr_mount_free(m);

  assert_int_equal(vmctr_mount_new_any(&m, "proc", "proc", "/proc"), 0);
  assert_int_equal(vmctr_mount_set_options(m, "nosuid,hidepid=2"), 0);
  roundtrip(m, "{\"kind\":\"any\",\"source\":\"proc\",\"destination\":\"/proc\","
               "\"read_only\":false,\"options\":\"nosuid,hidepid=2\",\"type\":\"proc\"}");
  vmctr_mount_free(m);
}

/* A file share is a share whose source is a regular file: the JSON is a
 * share's, and validation of the loaded mount finds the file. */
static void test_json_file_share(void **state) {
  char dir[] = "/tmp/vmctr-test-fsjson-XXXXXX", file[64], text[256];
  vmctr_mount *m = NULL, *back = NULL;
  char *json = NULL;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(file, sizeof(file), "%s/resolv.conf", dir);
  FILE *fp = fopen(file, "w");
  assert_non_null(fp);
  fclose(fp);
  assert_int_equal(vmctr_mount_new_share(&m, file, "/etc/resolv.conf"), 0);
  assert_int_equal(vmctr_mount_set_read_only(m, 1), 0);
  assert_int_equal(vmctr_mount_validate(m), 0);
  snprintf(text, sizeof(text),
           "{\"kind\":\"share\",\"source\":\"%s\",\"destination\":\"/etc/resolv.conf\","
           "\"read_only\":true,\"cache\":\"auto\"}", file);
  roundtrip(m, text);
  assert_int_equal(vmctr_mount_to_json(m, &json), 0);
  assert_int_equal(vmctr_mount_from_json(&back, json, strlen(json)), 0);
  assert_int_equal(vmctr_mount_validate(back), 0);
  assert_string_equal(vmctr_mount_source(back), file);
  vmctr_free(json);
  vmctr_mount_free(back);
  vmctr_mount_free(m);
  unlink(file);
  rmdir(dir);
}

static void test_json_minimal(void **state) {
  vmctr_mount *m = NULL;
  const char *t = "{\"kind\":\"block\",\"source\":\"/x.img\",\"destination\":\"/d\"}";
  const char *any = "{\"kind\":\"any\",\"type\":\"sysfs\",\"destination\":\"/sys\"}";
  (void)state;
  assert_int_equal(vmctr_mount_from_json(&m, t, strlen(t)), 0);
  assert_int_equal(vmctr_mount_caching(m), VMCTR_MOUNT_DEFAULT_CACHING);
  assert_int_equal(vmctr_mount_sync(m), VMCTR_MOUNT_DEFAULT_SYNC);
  assert_int_equal(vmctr_mount_read_only(m), 0);
  vmctr_mount_free(m);
  assert_int_equal(vmctr_mount_from_json(&m, any, strlen(any)), 0);
  assert_string_equal(vmctr_mount_source(m), "none");
  assert_string_equal(vmctr_mount_type(m), "sysfs");
  vmctr_mount_free(m);
}

static void test_json_malformed(void **state) {
  static const struct {
    const char *text;
    int code;
    const char *msg;
  } cases[] = {
    {"", VMCTR_EPARSE, "empty input"},
    {"{", VMCTR_EPARSE, "mount JSON"},
    {"[]", VMCTR_EPARSE, "expected a JSON object, got an array"},
    {"{\"destination\":\"/d\"}", VMCTR_EPARSE, "key \"kind\" is missing"},
    {"{\"kind\":\"nfs\",\"destination\":\"/d\"}", VMCTR_EPARSE,
     "key \"kind\": unknown value \"nfs\""},
    {"{\"kind\":3,\"destination\":\"/d\"}", VMCTR_EPARSE, "key \"kind\": expected a string"},
    {"{\"kind\":\"tmpfs\"}", VMCTR_EPARSE, "key \"destination\" is missing"},
    {"{\"kind\":\"tmpfs\",\"destination\":\"d\"}", VMCTR_EPARSE, "is relative"},
    {"{\"kind\":\"tmpfs\",\"destination\":\"/a/../b\"}", VMCTR_EPARSE, "\"..\" component"},
    {"{\"kind\":\"tmpfs\",\"destination\":\"/t\",\"readonly\":true}", VMCTR_EPARSE,
     "unknown key \"readonly\"; check its spelling"},
    {"{\"kind\":\"tmpfs\",\"destination\":\"/t\",\"source\":\"/x\"}", VMCTR_EPARSE,
     "key \"source\" does not apply to a tmpfs mount"},
    {"{\"kind\":\"share\",\"source\":\"/s\",\"destination\":\"/t\",\"ephemeral\":true}",
     VMCTR_EPARSE, "key \"ephemeral\" does not apply to a share mount"},
    {"{\"kind\":\"block\",\"source\":\"/s\",\"destination\":\"/t\",\"ephemeral\":1}",
     VMCTR_EPARSE, "key \"ephemeral\""},
    {"{\"kind\":\"share\",\"source\":\"/s\",\"destination\":\"/t\",\"caching\":\"cached\"}",
     VMCTR_EPARSE, "key \"caching\" does not apply to a share mount"},
    {"{\"kind\":\"block\",\"destination\":\"/t\"}", VMCTR_EPARSE,
     "key \"source\" is missing; a block mount needs one"},
    {"{\"kind\":\"block\",\"source\":\"/s\",\"destination\":\"/t\",\"caching\":\"writeback\"}",
     VMCTR_EPARSE, "key \"caching\": unknown value \"writeback\"; use \"auto\", \"cached\""},
    {"{\"kind\":\"block\",\"source\":\"/s\",\"destination\":\"/t\",\"sync\":\"always\"}",
     VMCTR_EPARSE, "key \"sync\": unknown value"},
    {"{\"kind\":\"block\",\"source\":\"/s\",\"destination\":\"/t\",\"format\":\"xfs\"}",
     VMCTR_EPARSE, "key \"format\": unknown value \"xfs\""},
    {"{\"kind\":\"block\",\"source\":\"/s\",\"destination\":\"/t\",\"read_only\":1}",
     VMCTR_EPARSE, "key \"read_only\": expected true or false"},
    {"{\"kind\":\"block\",\"source\":\"\",\"destination\":\"/t\"}", VMCTR_EPARSE,
     "key \"source\" is empty"},
    {"{\"kind\":\"share\",\"source\":\"/s\",\"destination\":\"/t\",\"cache\":\"none\"}",
     VMCTR_EPARSE, "key \"cache\": unknown value \"none\""},
    {"{\"kind\":\"share\",\"source\":\"/s\",\"destination\":\"/t\","
     "\"tag\":\"0123456789012345678901234567890123456\"}",
     VMCTR_EPARSE, "a virtiofs tag has 1 to 36 bytes"},
    {"{\"kind\":\"tmpfs\",\"destination\":\"/t\",\"mode\":\"999\"}", VMCTR_EPARSE,
     "\"999\" is not an octal mode"},
    {"{\"kind\":\"tmpfs\",\"destination\":\"/t\",\"mode\":493}", VMCTR_EPARSE,
     "key \"mode\": expected a string"},
    {"{\"kind\":\"tmpfs\",\"destination\":\"/t\",\"size\":-1}", VMCTR_EPARSE,
     "key \"size\": expected an integer"},
    {"{\"kind\":\"tmpfs\",\"destination\":\"/t\",\"options\":\"a,,b\"}", VMCTR_EPARSE,
     "empty element"},
    {"{\"kind\":\"any\",\"destination\":\"/t\"}", VMCTR_EPARSE, "key \"type\" is missing"},
    {"{\"kind\":\"any\",\"type\":\"a b\",\"destination\":\"/t\"}", VMCTR_EPARSE,
     "may hold only letters"},
    {"{\"kind\":\"tmpfs\",\"destination\":\"/t\",\"destination\":\"/u\"}", VMCTR_EPARSE,
     "key \"destination\" appears more than once"},
    {"{\"kind\":\"tmpfs\",\"destination\":\"/t\"} x", VMCTR_EPARSE, "mount JSON"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    vmctr_mount *m = (vmctr_mount *)0x1;
    int r = vmctr_mount_from_json(&m, cases[i].text, strlen(cases[i].text));
    if (r != cases[i].code || !strstr(vmctr_error_last()->message, cases[i].msg))
      fail_msg("case %zu (%s): got %d \"%s\", want %d \"%s\"", i, cases[i].text, r,
               vmctr_error_last()->message, cases[i].code, cases[i].msg);
    assert_ptr_equal(m, (vmctr_mount *)0x1);
  }
  {
    vmctr_mount *m = NULL;
    const char nul[] = "{\"kind\":\"tmpfs\",\0\"destination\":\"/t\"}";
    assert_fails_with(vmctr_mount_from_json(&m, nul, sizeof(nul) - 1), VMCTR_EPARSE, "NUL");
    assert_fails_with(vmctr_mount_from_json(&m, "{}", VMCTR_MOUNT_MAX_JSON + 1), VMCTR_ETOOBIG,
                      "more than the");
    assert_fails_with(vmctr_mount_from_json(NULL, "{}", 2), VMCTR_EINVAL, "out is NULL");
    assert_fails_with(vmctr_mount_to_json(NULL, NULL), VMCTR_EINVAL, "m is NULL");
  }
}

/* ---- the spec syntax ---- */

static void test_parse(void **state) {
  vmctr_mount *m = NULL;
  (void)state;
  assert_int_equal(
      vmctr_mount_parse(&m, "type=block,source=/img/db.ext4,target=/var/lib/db,caching=uncached,"
                            "sync=full,format=ext4,option=noatime,option=nodev"),
      0);
  assert_int_equal(vmctr_mount_kind(m), VMCTR_MOUNT_BLOCK);
  assert_string_equal(vmctr_mount_source(m), "/img/db.ext4");
  assert_string_equal(vmctr_mount_destination(m), "/var/lib/db");
  assert_int_equal(vmctr_mount_caching(m), VMCTR_MOUNT_CACHING_UNCACHED);
  assert_int_equal(vmctr_mount_sync(m), VMCTR_MOUNT_SYNC_FULL);
  assert_string_equal(vmctr_mount_options(m), "noatime,nodev");
  assert_int_equal(vmctr_mount_read_only(m), 0);
  vmctr_mount_free(m);

  assert_int_equal(vmctr_mount_parse(&m, "type=bind,src=/srv/www,dst=/www,readonly,cache=never,"
                                         "tag=www"),
                   0);
  assert_int_equal(vmctr_mount_kind(m), VMCTR_MOUNT_SHARE);
  assert_int_equal(vmctr_mount_read_only(m), 1);
  assert_int_equal(vmctr_mount_share_cache(m), VMCTR_MOUNT_SHARE_CACHE_NEVER);
  assert_string_equal(vmctr_mount_tag(m), "www");
  vmctr_mount_free(m);

  assert_int_equal(vmctr_mount_parse(&m, "type=block,source=/i,target=/d,ephemeral"), 0);
  assert_int_equal(vmctr_mount_ephemeral(m), 1);
  vmctr_mount_free(m);
  assert_int_equal(vmctr_mount_parse(&m, "type=block,source=/i,target=/d,ephemeral=false"), 0);
  assert_int_equal(vmctr_mount_ephemeral(m), 0);
  vmctr_mount_free(m);

  assert_int_equal(vmctr_mount_parse(&m, "type=share,source=/s,destination=/d,ro=false"), 0);
  assert_int_equal(vmctr_mount_read_only(m), 0);
  assert_int_equal(vmctr_mount_caching(m), 0);
  vmctr_mount_free(m);

  assert_int_equal(vmctr_mount_parse(&m, "type=tmpfs,target=/tmp,size=64m,mode=700"), 0);
  assert_int_equal(vmctr_mount_tmpfs_size(m), 64ull << 20);
  assert_int_equal(vmctr_mount_tmpfs_mode(m), 0700);
  vmctr_mount_free(m);
  assert_int_equal(vmctr_mount_parse(&m, "type=tmpfs,target=/t,size=4096"), 0);
  assert_int_equal(vmctr_mount_tmpfs_size(m), 4096);
  vmctr_mount_free(m);
  assert_int_equal(vmctr_mount_parse(&m, "type=tmpfs,target=/t,size=2G"), 0);
  assert_int_equal(vmctr_mount_tmpfs_size(m), 2ull << 30);
  vmctr_mount_free(m);

  assert_int_equal(vmctr_mount_parse(&m, "type=any,fstype=proc,source=proc,target=/proc,"
                                         "option=nosuid"),
                   0);
  assert_int_equal(vmctr_mount_kind(m), VMCTR_MOUNT_ANY);
  assert_string_equal(vmctr_mount_type(m), "proc");
  assert_string_equal(vmctr_mount_options(m), "nosuid");
  vmctr_mount_free(m);
}

static void test_parse_errors(void **state) {
  static const struct {
    const char *spec;
    const char *msg;
  } cases[] = {
    {"", "give 1 to"},
    {"source=/a,target=/b", "type= is missing"},
    {"type=share,source=/a", "target= is missing"},
    {"type=nfs,source=/a,target=/b", "unknown type"},
    {"type=share,source=/a,target=/b,,ro", "an element is empty"},
    {"type=share,source=/a,target=/b,src=/c", "key \"source\" is given twice"},
    {"type=share,source=/a,target=/b,dst=/c", "key \"target\" is given twice"},
    {"type=share,source=/a,target=/b,ro,readonly", "key \"readonly\" is given twice"},
    {"type=share,source=/a,target=/b,colour=red", "unknown key \"colour\""},
    {"type=share,source=/a,target=/b,readonly=yes", "readonly=yes: give true or false"},
    {"type=share,source=/a,target=/b,cache", "cache: this key needs a value"},
    {"type=share,source=/a,target=/b,cache=none", "cache: use auto, always or never"},
    {"type=share,source=/a,target=/b,caching=cached", "applies to block mounts only"},
    {"type=share,target=/b", "host path is NULL"},
    {"type=share,source=/a,target=b", "is relative"},
    {"type=share,source=/a,target=/b,tag=vmctr1", "reserved"},
    {"type=block,source=/a,target=/b,caching=writeback", "caching: use auto, cached or uncached"},
    {"type=block,source=/a,target=/b,sync=always", "sync: use full, fsync or none"},
    {"type=block,source=/a,target=/b,format=xfs", "format: use ext4"},
    {"type=block,source=/a,target=/b,option=ro", "is not an extra option"},
    {"type=tmpfs,source=/a,target=/b", "a tmpfs has no source"},
    {"type=tmpfs,target=/b,size=12x", "size=12x: give bytes"},
    {"type=tmpfs,target=/b,size=-1", "size=-1: give bytes"},
    {"type=tmpfs,target=/b,size=99999999999999999999", "give bytes"},
    {"type=tmpfs,target=/b,size=20000000000g", "give bytes"},
    {"type=tmpfs,target=/b,mode=800", "give an octal mode"},
    {"type=tmpfs,target=/b,fstype=ext4", "fstype= applies to type=any only"},
    {"type=any,target=/b", "filesystem type is NULL"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    vmctr_mount *m = (vmctr_mount *)0x1;
    int r = vmctr_mount_parse(&m, cases[i].spec);
    if (r != VMCTR_EINVAL || !strstr(vmctr_error_last()->message, cases[i].msg))
      fail_msg("case %zu (%s): got %d \"%s\", want \"%s\"", i, cases[i].spec, r,
               vmctr_error_last()->message, cases[i].msg);
    assert_ptr_equal(m, (vmctr_mount *)0x1);
  }
  /* A setter's refusal says which spec it came from. */
  {
    vmctr_mount *m = NULL;
    assert_fails_with(vmctr_mount_parse(&m, "type=share,source=/a,target=/b,tag=a b"),
                      VMCTR_EINVAL, "mount spec \"type=share,source=/a,target=/b,tag=a b\": ");
    assert_fails_with(vmctr_mount_parse(NULL, "x"), VMCTR_EINVAL, "out is NULL");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_json_roundtrip),
    cmocka_unit_test(test_json_file_share),
    cmocka_unit_test(test_json_minimal),
    cmocka_unit_test(test_json_malformed),
    cmocka_unit_test(test_parse),
    cmocka_unit_test(test_parse_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
