/* SPDX-License-Identifier: MIT */
/* Unit tests of the boot-config builder (lib/bootcfg). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#include "core/json.h"
#include "core/util.h"
#include "testutil.h"
#include "vmctr.h"

#define MIB (1024ull * 1024ull)

/* Assert that expr returns code and that the thread's message contains text. */
static char *get_str(const vmctr_bootcfg *cfg, const char *key) {
  char *v = NULL;
  assert_int_equal(vmctr_bootcfg_get(cfg, key, &v), 0);
  assert_non_null(v);
  return v;
}

static void assert_get(const vmctr_bootcfg *cfg, const char *key, const char *want) {
  char *v = get_str(cfg, key);
  assert_string_equal(v, want);
  vmctr_free(v);
}

/* ---- a scratch directory per test that needs files ---- */

static int tmpdir_setup(void **state) {
  char *dir = malloc(64);
  if (!dir || tu_tmpdir(dir, 64, "vmctr-test-bootcfg") < 0) {
    free(dir);
    return -1;
  }
  *state = dir;
  return 0;
}

static int tmpdir_teardown(void **state) {
  char *dir = *state;
  int r = tu_rm_rf(dir);
  free(dir);
  return r;
}

static char *path_in(const char *dir, const char *name) {
  char *p = NULL;
  assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
  return p;
}

static void write_bytes(const char *path, const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static size_t count_entries(const char *dir, const char *containing) {
  DIR *d = opendir(dir);
  struct dirent *e;
  size_t n = 0;
  assert_non_null(d);
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strstr(e->d_name, containing))
      n++;
  closedir(d);
  return n;
}

/* ---- construction and typed setters ---- */

static void test_new_has_documented_defaults(void **state) {
  vmctr_bootcfg *cfg = NULL;
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_non_null(cfg);
  assert_null(vmctr_bootcfg_kernel(cfg));
  assert_null(vmctr_bootcfg_initfs(cfg));
  assert_int_equal(vmctr_bootcfg_cmdline_count(cfg), 0);
  assert_int_equal(vmctr_bootcfg_cpus(cfg), VMCTR_BOOTCFG_DEFAULT_CPUS);
  assert_true(vmctr_bootcfg_memory(cfg) == VMCTR_BOOTCFG_DEFAULT_MEMORY);
  assert_int_equal(vmctr_bootcfg_nested_virtualization(cfg), 0);
  assert_int_equal(vmctr_bootcfg_rosetta(cfg), 0);
  assert_null(vmctr_bootcfg_modules(cfg));
  assert_int_equal(vmctr_bootcfg_firmware_tables(cfg), VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO);
  assert_int_equal(vmctr_bootcfg_firmware_tables_effective(cfg), 0);
  vmctr_bootcfg_free(cfg);
  vmctr_bootcfg_free(NULL);
}

static void test_null_arguments_give_einval(void **state) {
  vmctr_bootcfg *cfg = NULL, *out = (vmctr_bootcfg *)&out;
  char *s = (char *)&s, **v = (char **)&v;
  (void)state;
  assert_fails_with(vmctr_bootcfg_new(NULL), VMCTR_EINVAL, "out");
  assert_fails_with(vmctr_bootcfg_clone(&out, NULL), VMCTR_EINVAL, "cfg");
  assert_ptr_equal(out, (vmctr_bootcfg *)&out); /* untouched on failure */
  assert_fails_with(vmctr_bootcfg_set_kernel(NULL, "/k"), VMCTR_EINVAL, "kernel");
  assert_fails_with(vmctr_bootcfg_set_initfs(NULL, "/i"), VMCTR_EINVAL, "initfs");
  assert_fails_with(vmctr_bootcfg_set_cmdline(NULL, NULL, 0), VMCTR_EINVAL, "cmdline");
  assert_fails_with(vmctr_bootcfg_add_cmdline_arg(NULL, "quiet"), VMCTR_EINVAL, "cmdline");
  assert_fails_with(vmctr_bootcfg_cmdline_string(NULL, &s), VMCTR_EINVAL, "cfg");
  assert_fails_with(vmctr_bootcfg_set_cpus(NULL, 1), VMCTR_EINVAL, "cpus");
  assert_fails_with(vmctr_bootcfg_set_memory(NULL, 1), VMCTR_EINVAL, "memory");
  assert_fails_with(vmctr_bootcfg_set_nested_virtualization(NULL, 1), VMCTR_EINVAL, "nested");
  assert_fails_with(vmctr_bootcfg_set_rosetta(NULL, 1), VMCTR_EINVAL, "rosetta");
  assert_fails_with(vmctr_bootcfg_set_modules(NULL, "/m"), VMCTR_EINVAL, "modules");
  assert_fails_with(vmctr_bootcfg_set_firmware_tables(NULL, 1), VMCTR_EINVAL, "firmware_tables");
  assert_fails_with(vmctr_bootcfg_set(NULL, "cpus", "1"), VMCTR_EINVAL, "cfg");
  assert_fails_with(vmctr_bootcfg_get(NULL, "cpus", &s), VMCTR_EINVAL, "cfg");
  assert_fails_with(vmctr_bootcfg_keys(NULL, &v), VMCTR_EINVAL, "cfg");
  assert_fails_with(vmctr_bootcfg_validate(NULL, NULL), VMCTR_EINVAL, "cfg");
  assert_fails_with(vmctr_bootcfg_to_json(NULL, &s), VMCTR_EINVAL, "cfg");
  assert_fails_with(vmctr_bootcfg_from_json(NULL, "{}", 2), VMCTR_EINVAL, "out");
  assert_fails_with(vmctr_bootcfg_from_json(&out, NULL, 2), VMCTR_EINVAL, "json");
  assert_fails_with(vmctr_bootcfg_load(NULL, "/x"), VMCTR_EINVAL, "out");
  assert_fails_with(vmctr_bootcfg_load(&out, NULL), VMCTR_EINVAL, "path");
  assert_fails_with(vmctr_bootcfg_save(NULL, "/tmp/x"), VMCTR_EINVAL, "cfg");
  assert_ptr_equal(out, (vmctr_bootcfg *)&out);
  assert_ptr_equal(s, (char *)&s);
  assert_ptr_equal(v, (char **)&v);

  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_fails_with(vmctr_bootcfg_clone(NULL, cfg), VMCTR_EINVAL, "out");
  assert_fails_with(vmctr_bootcfg_set(cfg, NULL, "1"), VMCTR_EINVAL, "key");
  assert_fails_with(vmctr_bootcfg_get(cfg, NULL, &s), VMCTR_EINVAL, "key");
  assert_fails_with(vmctr_bootcfg_get(cfg, "cpus", NULL), VMCTR_EINVAL, "out");
  assert_fails_with(vmctr_bootcfg_keys(cfg, NULL), VMCTR_EINVAL, "out");
  assert_fails_with(vmctr_bootcfg_cmdline_string(cfg, NULL), VMCTR_EINVAL, "out");
  assert_fails_with(vmctr_bootcfg_to_json(cfg, NULL), VMCTR_EINVAL, "out_json");
  assert_fails_with(vmctr_bootcfg_save(cfg, NULL), VMCTR_EINVAL, "path");
  assert_fails_with(vmctr_bootcfg_save(cfg, ""), VMCTR_EINVAL, "path");
  vmctr_bootcfg_free(cfg);

  /* Getters of a NULL builder answer "nothing". */
  assert_null(vmctr_bootcfg_kernel(NULL));
  assert_null(vmctr_bootcfg_initfs(NULL));
  assert_int_equal(vmctr_bootcfg_cmdline_count(NULL), 0);
  assert_null(vmctr_bootcfg_cmdline_arg(NULL, 0));
  assert_int_equal(vmctr_bootcfg_cpus(NULL), 0);
  assert_true(vmctr_bootcfg_memory(NULL) == 0);
  assert_int_equal(vmctr_bootcfg_nested_virtualization(NULL), 0);
  assert_int_equal(vmctr_bootcfg_rosetta(NULL), 0);
  assert_null(vmctr_bootcfg_modules(NULL));
  /* The mode getters answer VMCTR_EINVAL, which no mode collides with. */
  assert_true(VMCTR_EINVAL != VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO);
  assert_fails_with(vmctr_bootcfg_firmware_tables(NULL), VMCTR_EINVAL, "firmware_tables");
  assert_fails_with(vmctr_bootcfg_firmware_tables_effective(NULL), VMCTR_EINVAL,
                    "firmware_tables");
}

static void test_kernel_and_initfs_paths(void **state) {
  vmctr_bootcfg *cfg;
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, "/boot/vmlinux"), 0);
  assert_int_equal(vmctr_bootcfg_set_initfs(cfg, "/boot/initfs.cpio"), 0);
  assert_string_equal(vmctr_bootcfg_kernel(cfg), "/boot/vmlinux");
  assert_string_equal(vmctr_bootcfg_initfs(cfg), "/boot/initfs.cpio");
  /* An empty path is refused and the old one stays. */
  assert_fails_with(vmctr_bootcfg_set_kernel(cfg, ""), VMCTR_EINVAL, "kernel");
  assert_fails_with(vmctr_bootcfg_set_initfs(cfg, ""), VMCTR_EINVAL, "initfs");
  assert_string_equal(vmctr_bootcfg_kernel(cfg), "/boot/vmlinux");
  assert_string_equal(vmctr_bootcfg_initfs(cfg), "/boot/initfs.cpio");
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, "/other"), 0);
  assert_string_equal(vmctr_bootcfg_kernel(cfg), "/other");
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, NULL), 0);
  assert_int_equal(vmctr_bootcfg_set_initfs(cfg, NULL), 0);
  assert_null(vmctr_bootcfg_kernel(cfg));
  assert_null(vmctr_bootcfg_initfs(cfg));
  vmctr_bootcfg_free(cfg);
}

static void test_cmdline_arguments(void **state) {
  vmctr_bootcfg *cfg;
  const char *args[] = {"console=hvc0", "init.args=\"a b\"", "quiet"};
  const char *bad[][2] = {{"", "empty"},
                          {"a\nb", "newline"},
                          {"console=hvc0 quiet", "blank outside double quotes"},
                          {"x=\"open", "unbalanced"}};
  char *s;
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_set_cmdline(cfg, args, 3), 0);
  assert_int_equal(vmctr_bootcfg_cmdline_count(cfg), 3);
  assert_string_equal(vmctr_bootcfg_cmdline_arg(cfg, 1), "init.args=\"a b\"");
  assert_null(vmctr_bootcfg_cmdline_arg(cfg, 3));
  assert_int_equal(vmctr_bootcfg_add_cmdline_arg(cfg, "rw"), 0);
  assert_int_equal(vmctr_bootcfg_cmdline_count(cfg), 4);
  assert_int_equal(vmctr_bootcfg_cmdline_string(cfg, &s), 0);
  assert_string_equal(s, "console=hvc0 init.args=\"a b\" quiet rw");
  vmctr_free(s);

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    const char *one[] = {"ok", bad[i][0]};
    assert_fails_with(vmctr_bootcfg_add_cmdline_arg(cfg, bad[i][0]), VMCTR_EINVAL, bad[i][1]);
    assert_fails_with(vmctr_bootcfg_set_cmdline(cfg, one, 2), VMCTR_EINVAL, bad[i][1]);
    assert_int_equal(vmctr_bootcfg_cmdline_count(cfg), 4); /* unchanged */
  }
  assert_fails_with(vmctr_bootcfg_add_cmdline_arg(cfg, NULL), VMCTR_EINVAL, "NULL");
  assert_fails_with(vmctr_bootcfg_set_cmdline(cfg, NULL, 2), VMCTR_EINVAL, "args");
  assert_int_equal(vmctr_bootcfg_cmdline_count(cfg), 4);

  assert_int_equal(vmctr_bootcfg_set_cmdline(cfg, NULL, 0), 0);
  assert_int_equal(vmctr_bootcfg_cmdline_count(cfg), 0);
  assert_int_equal(vmctr_bootcfg_cmdline_string(cfg, &s), 0);
  assert_string_equal(s, "");
  vmctr_free(s);
  vmctr_bootcfg_free(cfg);
}

static void test_cpus_memory_and_switches(void **state) {
  vmctr_bootcfg *cfg;
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_set_cpus(cfg, 8), 0);
  assert_int_equal(vmctr_bootcfg_cpus(cfg), 8);
  assert_fails_with(vmctr_bootcfg_set_cpus(cfg, 0), VMCTR_EINVAL, "cpus");
  assert_int_equal(vmctr_bootcfg_cpus(cfg), 8);
  /* Any memory is stored; validate() judges it. */
  assert_int_equal(vmctr_bootcfg_set_memory(cfg, 12345), 0);
  assert_true(vmctr_bootcfg_memory(cfg) == 12345);
  assert_int_equal(vmctr_bootcfg_set_memory(cfg, UINT64_MAX), 0);
  assert_true(vmctr_bootcfg_memory(cfg) == UINT64_MAX);
  assert_int_equal(vmctr_bootcfg_set_nested_virtualization(cfg, 1), 0);
  assert_int_equal(vmctr_bootcfg_nested_virtualization(cfg), 1);
  assert_fails_with(vmctr_bootcfg_set_nested_virtualization(cfg, 2), VMCTR_EINVAL,
                    "nested_virtualization");
  assert_fails_with(vmctr_bootcfg_set_nested_virtualization(cfg, -1), VMCTR_EINVAL,
                    "nested_virtualization");
  assert_int_equal(vmctr_bootcfg_nested_virtualization(cfg), 1);
  assert_int_equal(vmctr_bootcfg_set_rosetta(cfg, 1), 0);
  assert_int_equal(vmctr_bootcfg_rosetta(cfg), 1);
  assert_fails_with(vmctr_bootcfg_set_rosetta(cfg, 7), VMCTR_EINVAL, "rosetta");
  assert_int_equal(vmctr_bootcfg_rosetta(cfg), 1);
  assert_int_equal(vmctr_bootcfg_set_rosetta(cfg, 0), 0);
  assert_int_equal(vmctr_bootcfg_rosetta(cfg), 0);
  vmctr_bootcfg_free(cfg);
}

static void test_modules_and_firmware_tables(void **state) {
  static const int32_t bad[] = {2, -2, 3, INT32_MIN, INT32_MAX};
  vmctr_bootcfg *cfg;
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_set_modules(cfg, "/lib/vmctr/modules"), 0);
  assert_string_equal(vmctr_bootcfg_modules(cfg), "/lib/vmctr/modules");
  assert_fails_with(vmctr_bootcfg_set_modules(cfg, ""), VMCTR_EINVAL, "modules");
  assert_string_equal(vmctr_bootcfg_modules(cfg), "/lib/vmctr/modules"); /* unchanged */

  /* AUTO follows the modules. */
  assert_int_equal(vmctr_bootcfg_firmware_tables(cfg), VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO);
  assert_int_equal(vmctr_bootcfg_firmware_tables_effective(cfg), 1);
  assert_int_equal(vmctr_bootcfg_set_modules(cfg, NULL), 0);
  assert_null(vmctr_bootcfg_modules(cfg));
  assert_int_equal(vmctr_bootcfg_firmware_tables_effective(cfg), 0);

  /* An explicit choice wins either way. */
  assert_int_equal(vmctr_bootcfg_set_firmware_tables(cfg, VMCTR_BOOTCFG_FIRMWARE_TABLES_ON), 0);
  assert_int_equal(vmctr_bootcfg_firmware_tables(cfg), VMCTR_BOOTCFG_FIRMWARE_TABLES_ON);
  assert_int_equal(vmctr_bootcfg_firmware_tables_effective(cfg), 1);
  assert_int_equal(vmctr_bootcfg_set_modules(cfg, "/m"), 0);
  assert_int_equal(vmctr_bootcfg_set_firmware_tables(cfg, VMCTR_BOOTCFG_FIRMWARE_TABLES_OFF), 0);
  assert_int_equal(vmctr_bootcfg_firmware_tables(cfg), VMCTR_BOOTCFG_FIRMWARE_TABLES_OFF);
  assert_int_equal(vmctr_bootcfg_firmware_tables_effective(cfg), 0);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_fails_with(vmctr_bootcfg_set_firmware_tables(cfg, bad[i]), VMCTR_EINVAL,
                      "firmware_tables");
  assert_int_equal(vmctr_bootcfg_firmware_tables(cfg), VMCTR_BOOTCFG_FIRMWARE_TABLES_OFF);
  assert_int_equal(vmctr_bootcfg_set_firmware_tables(cfg, VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO), 0);
  assert_int_equal(vmctr_bootcfg_firmware_tables_effective(cfg), 1);
  vmctr_bootcfg_free(cfg);
}

/* ---- generic keys ---- */

static void test_generic_set_get_known_keys(void **state) {
  vmctr_bootcfg *cfg;
  char *v = (char *)&v;
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_fails_with(vmctr_bootcfg_get(cfg, "kernel", &v), VMCTR_ENOENT, "kernel");
  assert_fails_with(vmctr_bootcfg_get(cfg, "initfs", &v), VMCTR_ENOENT, "initfs");
  assert_fails_with(vmctr_bootcfg_get(cfg, "cmdline", &v), VMCTR_ENOENT, "cmdline");
  assert_fails_with(vmctr_bootcfg_get(cfg, "com.example.absent", &v), VMCTR_ENOENT,
                    "com.example.absent");
  assert_ptr_equal(v, (char *)&v);
  assert_get(cfg, "cpus", "1");
  assert_get(cfg, "memory", "536870912");
  assert_get(cfg, "nested_virtualization", "false");
  assert_get(cfg, "rosetta", "false");

  assert_int_equal(vmctr_bootcfg_set(cfg, "kernel", "/boot/vmlinux"), 0);
  assert_string_equal(vmctr_bootcfg_kernel(cfg), "/boot/vmlinux");
  assert_get(cfg, "kernel", "/boot/vmlinux");
  assert_int_equal(vmctr_bootcfg_set(cfg, "initfs", "/boot/initfs"), 0);
  assert_get(cfg, "initfs", "/boot/initfs");
  assert_fails_with(vmctr_bootcfg_set(cfg, "kernel", ""), VMCTR_EINVAL, "kernel");

  assert_int_equal(vmctr_bootcfg_set(cfg, "cpus", "6"), 0);
  assert_int_equal(vmctr_bootcfg_cpus(cfg), 6);
  assert_get(cfg, "cpus", "6");
  assert_int_equal(vmctr_bootcfg_set(cfg, "cpus", "4294967295"), 0);
  assert_int_equal(vmctr_bootcfg_cpus(cfg), UINT32_MAX);
  const char *bad_cpus[] = {"0", "", "-1", "+2", "2 ", "two", "4294967296", "99999999999999999999"};
  for (size_t i = 0; i < sizeof(bad_cpus) / sizeof(bad_cpus[0]); i++)
    assert_fails_with(vmctr_bootcfg_set(cfg, "cpus", bad_cpus[i]), VMCTR_EINVAL, "cpus");
  assert_int_equal(vmctr_bootcfg_cpus(cfg), UINT32_MAX);

  /* NULL restores each known key's default. */
  assert_int_equal(vmctr_bootcfg_set(cfg, "memory", "1G"), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "rosetta", "on"), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "nested_virtualization", "yes"), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "cmdline", "quiet"), 0);
  const char *known[] = {"kernel", "initfs", "cmdline", "cpus", "memory", "nested_virtualization",
                         "rosetta"};
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
    assert_int_equal(vmctr_bootcfg_set(cfg, known[i], NULL), 0);
  assert_null(vmctr_bootcfg_kernel(cfg));
  assert_null(vmctr_bootcfg_initfs(cfg));
  assert_int_equal(vmctr_bootcfg_cmdline_count(cfg), 0);
  assert_int_equal(vmctr_bootcfg_cpus(cfg), VMCTR_BOOTCFG_DEFAULT_CPUS);
  assert_true(vmctr_bootcfg_memory(cfg) == VMCTR_BOOTCFG_DEFAULT_MEMORY);
  assert_int_equal(vmctr_bootcfg_nested_virtualization(cfg), 0);
  assert_int_equal(vmctr_bootcfg_rosetta(cfg), 0);
  vmctr_bootcfg_free(cfg);
}

static bool has_key(const vmctr_bootcfg *cfg, const char *key) {
  char **keys = NULL;
  bool found = false;
  int n = vmctr_bootcfg_keys(cfg, &keys);
  assert_true(n >= 0);
  for (int i = 0; i < n; i++)
    found |= strcmp(keys[i], key) == 0;
  vmctr_strv_free(keys);
  return found;
}

static void test_generic_modules_and_firmware_tables(void **state) {
  static const struct {
    const char *in;
    int32_t mode;
  } modes[] = {{"on", 1},   {"OFF", 0}, {"true", 1}, {"false", 0}, {"yes", 1},
               {"no", 0},   {"1", 1},   {"0", 0},    {"auto", -1}, {"Auto", -1}};
  static const char *const bad[] = {"", "maybe", "2", "-1", "auto ", "onn"};
  vmctr_bootcfg *cfg;
  char *v = (char *)&v;
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_fails_with(vmctr_bootcfg_get(cfg, "modules", &v), VMCTR_ENOENT, "modules");
  assert_ptr_equal(v, (char *)&v);
  assert_false(has_key(cfg, "modules"));
  assert_int_equal(vmctr_bootcfg_set(cfg, "modules", "/srv/modules"), 0);
  assert_string_equal(vmctr_bootcfg_modules(cfg), "/srv/modules");
  assert_get(cfg, "modules", "/srv/modules");
  assert_true(has_key(cfg, "modules"));
  assert_fails_with(vmctr_bootcfg_set(cfg, "modules", ""), VMCTR_EINVAL, "modules");
  assert_int_equal(vmctr_bootcfg_set(cfg, "modules", NULL), 0);
  assert_null(vmctr_bootcfg_modules(cfg));

  assert_get(cfg, "firmware_tables", "auto");
  assert_true(has_key(cfg, "firmware_tables"));
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    assert_int_equal(vmctr_bootcfg_set(cfg, "firmware_tables", modes[i].in), 0);
    assert_int_equal(vmctr_bootcfg_firmware_tables(cfg), modes[i].mode);
    assert_get(cfg, "firmware_tables", modes[i].mode < 0 ? "auto" : modes[i].mode ? "on" : "off");
  }
  assert_int_equal(vmctr_bootcfg_set(cfg, "firmware_tables", "on"), 0);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_fails_with(vmctr_bootcfg_set(cfg, "firmware_tables", bad[i]), VMCTR_EINVAL,
                      "firmware_tables");
  assert_int_equal(vmctr_bootcfg_firmware_tables(cfg), VMCTR_BOOTCFG_FIRMWARE_TABLES_ON);
  assert_int_equal(vmctr_bootcfg_set(cfg, "firmware_tables", NULL), 0);
  assert_int_equal(vmctr_bootcfg_firmware_tables(cfg), VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO);

  /* "acpi" is the old name: it sets the typed setting, never a free key. */
  assert_int_equal(vmctr_bootcfg_set(cfg, "acpi", "off"), 0);
  assert_int_equal(vmctr_bootcfg_firmware_tables(cfg), VMCTR_BOOTCFG_FIRMWARE_TABLES_OFF);
  assert_get(cfg, "acpi", "off");
  assert_false(has_key(cfg, "acpi"));
  assert_fails_with(vmctr_bootcfg_set(cfg, "acpi", "sometimes"), VMCTR_EINVAL, "acpi");
  assert_int_equal(vmctr_bootcfg_set(cfg, "acpi", NULL), 0);
  assert_int_equal(vmctr_bootcfg_firmware_tables(cfg), VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO);
  vmctr_bootcfg_free(cfg);
}

static void test_generic_memory_suffixes(void **state) {
  static const struct {
    const char *text;
    uint64_t bytes;
  } good[] = {
    {"1073741824", 1073741824ull}, {"0", 0},           {"512M", 512 * MIB},
    {"512m", 512 * MIB},           {"512MiB", 512 * MIB}, {"512MB", 512 * MIB},
    {"2GiB", 2048 * MIB},          {"2G", 2048 * MIB},  {"64K", 65536},
    {"1T", 1024 * 1024 * MIB},     {"16777215T", 16777215ull << 40},
    {"18446744073709551615", UINT64_MAX},
  };
  static const char *const bad[] = {"12X", "", "M", "-1", "1.5G", "512 M", "512Mi", "512MiBs",
                                    "0x100", "99999999999T", "16777216T",
                                    "18446744073709551616"};
  vmctr_bootcfg *cfg;
  char want[32];
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    assert_int_equal(vmctr_bootcfg_set(cfg, "memory", good[i].text), 0);
    assert_true(vmctr_bootcfg_memory(cfg) == good[i].bytes);
    snprintf(want, sizeof(want), "%llu", (unsigned long long)good[i].bytes);
    assert_get(cfg, "memory", want); /* get answers in bytes */
  }
  assert_int_equal(vmctr_bootcfg_set(cfg, "memory", "1G"), 0);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_fails_with(vmctr_bootcfg_set(cfg, "memory", bad[i]), VMCTR_EINVAL, "memory");
    assert_true(vmctr_bootcfg_memory(cfg) == 1024 * MIB);
  }
  assert_fails_with(vmctr_bootcfg_set(cfg, "memory", "99999999999T"), VMCTR_EINVAL, "too large");
  vmctr_bootcfg_free(cfg);
}

static void test_generic_booleans(void **state) {
  static const char *const yes[] = {"true", "1", "yes", "on", "TRUE", "On"};
  static const char *const no[] = {"false", "0", "no", "off", "False", "OFF"};
  static const char *const bad[] = {"", "2", "y", "enabled", "true "};
  vmctr_bootcfg *cfg;
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
    assert_int_equal(vmctr_bootcfg_set(cfg, "nested_virtualization", yes[i]), 0);
    assert_int_equal(vmctr_bootcfg_set(cfg, "rosetta", yes[i]), 0);
    assert_int_equal(vmctr_bootcfg_nested_virtualization(cfg), 1);
    assert_int_equal(vmctr_bootcfg_rosetta(cfg), 1);
    assert_get(cfg, "rosetta", "true");
    assert_int_equal(vmctr_bootcfg_set(cfg, "nested_virtualization", no[i]), 0);
    assert_int_equal(vmctr_bootcfg_set(cfg, "rosetta", no[i]), 0);
    assert_int_equal(vmctr_bootcfg_nested_virtualization(cfg), 0);
    assert_int_equal(vmctr_bootcfg_rosetta(cfg), 0);
    assert_get(cfg, "nested_virtualization", "false");
  }
  assert_int_equal(vmctr_bootcfg_set(cfg, "rosetta", "true"), 0);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_fails_with(vmctr_bootcfg_set(cfg, "rosetta", bad[i]), VMCTR_EINVAL, "rosetta");
    assert_fails_with(vmctr_bootcfg_set(cfg, "nested_virtualization", bad[i]), VMCTR_EINVAL,
                      "nested_virtualization");
  }
  assert_int_equal(vmctr_bootcfg_rosetta(cfg), 1);
  vmctr_bootcfg_free(cfg);
}

static void test_generic_cmdline_quoting(void **state) {
  vmctr_bootcfg *cfg;
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(
      vmctr_bootcfg_set(cfg, "cmdline", "  console=hvc0\tinit.args=\"a  b\"   \"x y\" quiet "), 0);
  assert_int_equal(vmctr_bootcfg_cmdline_count(cfg), 4);
  assert_string_equal(vmctr_bootcfg_cmdline_arg(cfg, 0), "console=hvc0");
  assert_string_equal(vmctr_bootcfg_cmdline_arg(cfg, 1), "init.args=\"a  b\"");
  assert_string_equal(vmctr_bootcfg_cmdline_arg(cfg, 2), "\"x y\"");
  assert_string_equal(vmctr_bootcfg_cmdline_arg(cfg, 3), "quiet");
  /* get gives the canonical line, and setting it back changes nothing. */
  char *line = get_str(cfg, "cmdline");
  assert_string_equal(line, "console=hvc0 init.args=\"a  b\" \"x y\" quiet");
  assert_int_equal(vmctr_bootcfg_set(cfg, "cmdline", line), 0);
  assert_int_equal(vmctr_bootcfg_cmdline_count(cfg), 4);
  assert_get(cfg, "cmdline", line);
  vmctr_free(line);

  assert_fails_with(vmctr_bootcfg_set(cfg, "cmdline", "quiet x=\"open"), VMCTR_EINVAL,
                    "never closed");
  assert_fails_with(vmctr_bootcfg_set(cfg, "cmdline", "quiet\nrw"), VMCTR_EINVAL, "newline");
  assert_int_equal(vmctr_bootcfg_cmdline_count(cfg), 4);
  /* An empty line clears the arguments, and get then says unset. */
  assert_int_equal(vmctr_bootcfg_set(cfg, "cmdline", "   "), 0);
  assert_int_equal(vmctr_bootcfg_cmdline_count(cfg), 0);
  char *v = NULL;
  assert_fails_with(vmctr_bootcfg_get(cfg, "cmdline", &v), VMCTR_ENOENT, "cmdline");
  assert_null(v);
  vmctr_bootcfg_free(cfg);
}

static void test_free_keys(void **state) {
  vmctr_bootcfg *cfg;
  char key[258];
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "com.example.note", "hello"), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "com.example.empty", ""), 0);
  assert_get(cfg, "com.example.note", "hello");
  assert_get(cfg, "com.example.empty", "");
  assert_int_equal(vmctr_bootcfg_set(cfg, "com.example.note", "{\"not\": \"json\"}"), 0);
  assert_get(cfg, "com.example.note", "{\"not\": \"json\"}");
  assert_int_equal(vmctr_bootcfg_set(cfg, "com.example.note", NULL), 0);
  char *v = NULL;
  assert_fails_with(vmctr_bootcfg_get(cfg, "com.example.note", &v), VMCTR_ENOENT,
                    "com.example.note");
  /* Removing an absent key is not an error: the key is gone either way. */
  assert_int_equal(vmctr_bootcfg_set(cfg, "com.example.note", NULL), 0);

  memset(key, 'k', 256);
  key[256] = '\0';
  assert_int_equal(vmctr_bootcfg_set(cfg, key, "256 bytes is allowed"), 0);
  key[256] = 'k';
  key[257] = '\0';
  assert_fails_with(vmctr_bootcfg_set(cfg, key, "x"), VMCTR_EINVAL, "1 to 256 bytes");
  assert_fails_with(vmctr_bootcfg_set(cfg, "", "x"), VMCTR_EINVAL, "key \"\"");
  assert_fails_with(vmctr_bootcfg_set(cfg, "version", "2"), VMCTR_EINVAL, "reserved");
  assert_fails_with(vmctr_bootcfg_set(cfg, "version", NULL), VMCTR_EINVAL, "reserved");
  assert_fails_with(vmctr_bootcfg_set(cfg, "bad\xff", "x"), VMCTR_EINVAL, "UTF-8");
  assert_fails_with(vmctr_bootcfg_set(cfg, "over\xc0\xaflong", "x"), VMCTR_EINVAL, "UTF-8");
  assert_int_equal(vmctr_bootcfg_set(cfg, "caf\xc3\xa9", "ok"), 0);
  assert_get(cfg, "caf\xc3\xa9", "ok");
  vmctr_bootcfg_free(cfg);
}

static void test_keys_lists_known_then_free_in_order(void **state) {
  static const char *const want_default[] = {"cpus", "memory", "nested_virtualization",
                                             "rosetta", "firmware_tables"};
  static const char *const want[] = {"kernel", "cmdline", "cpus", "memory",
                                     "nested_virtualization", "rosetta", "modules",
                                     "firmware_tables", "z.last", "a.first", "m.middle"};
  vmctr_bootcfg *cfg;
  char **keys = NULL;
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_keys(cfg, &keys), 5);
  for (size_t i = 0; i < 5; i++)
    assert_string_equal(keys[i], want_default[i]);
  assert_null(keys[5]);
  vmctr_strv_free(keys);

  assert_int_equal(vmctr_bootcfg_set(cfg, "z.last", "1"), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "a.first", "2"), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "m.middle", "3"), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "z.last", "replaced keeps its place"), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "cmdline", "quiet"), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, "/k"), 0);
  assert_int_equal(vmctr_bootcfg_set_modules(cfg, "/m"), 0);
  assert_int_equal(vmctr_bootcfg_keys(cfg, &keys), 11);
  for (size_t i = 0; i < 11; i++)
    assert_string_equal(keys[i], want[i]);
  assert_null(keys[11]);
  vmctr_strv_free(keys);
  vmctr_bootcfg_free(cfg);
}

static void test_clone_is_deep(void **state) {
  vmctr_bootcfg *cfg, *copy = NULL;
  char *a, *b;
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, "/k"), 0);
  assert_int_equal(vmctr_bootcfg_set_initfs(cfg, "/i"), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "cmdline", "console=hvc0 quiet"), 0);
  assert_int_equal(vmctr_bootcfg_set_cpus(cfg, 3), 0);
  assert_int_equal(vmctr_bootcfg_set_memory(cfg, 768 * MIB), 0);
  assert_int_equal(vmctr_bootcfg_set_rosetta(cfg, 1), 0);
  assert_int_equal(vmctr_bootcfg_set_modules(cfg, "/mods"), 0);
  assert_int_equal(vmctr_bootcfg_set_firmware_tables(cfg, VMCTR_BOOTCFG_FIRMWARE_TABLES_OFF), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "x.note", "n"), 0);
  assert_int_equal(vmctr_bootcfg_clone(&copy, cfg), 0);
  assert_string_equal(vmctr_bootcfg_modules(copy), "/mods");
  assert_ptr_not_equal(vmctr_bootcfg_modules(copy), vmctr_bootcfg_modules(cfg));
  assert_int_equal(vmctr_bootcfg_firmware_tables(copy), VMCTR_BOOTCFG_FIRMWARE_TABLES_OFF);
  assert_int_equal(vmctr_bootcfg_to_json(cfg, &a), 0);
  assert_int_equal(vmctr_bootcfg_to_json(copy, &b), 0);
  assert_string_equal(a, b);
  vmctr_free(b);
  /* Changing the original leaves the copy alone. */
  assert_int_equal(vmctr_bootcfg_set(cfg, "x.note", "changed"), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, "/k2"), 0);
  assert_int_equal(vmctr_bootcfg_set_cmdline(cfg, NULL, 0), 0);
  assert_int_equal(vmctr_bootcfg_set_modules(cfg, NULL), 0);
  assert_int_equal(vmctr_bootcfg_set_firmware_tables(cfg, VMCTR_BOOTCFG_FIRMWARE_TABLES_ON), 0);
  assert_int_equal(vmctr_bootcfg_to_json(copy, &b), 0);
  assert_string_equal(a, b);
  assert_string_equal(vmctr_bootcfg_kernel(copy), "/k");
  vmctr_free(a);
  vmctr_free(b);
  vmctr_bootcfg_free(cfg);
  vmctr_bootcfg_free(copy);
}

/* ---- JSON ---- */

static void test_to_json_format(void **state) {
  vmctr_bootcfg *cfg;
  cJSON *doc = NULL;
  char *json;
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_to_json(cfg, &json), 0);
  assert_non_null(strchr(json, '\n')); /* pretty-printed */
  assert_int_equal(vmctr__json_parse(json, strlen(json), "test", &doc), 0);
  assert_int_equal(cJSON_GetObjectItemCaseSensitive(doc, "version")->valueint, 1);
  assert_null(cJSON_GetObjectItemCaseSensitive(doc, "kernel")); /* unset: omitted */
  assert_null(cJSON_GetObjectItemCaseSensitive(doc, "initfs"));
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "cmdline")), 0);
  assert_int_equal(cJSON_GetObjectItemCaseSensitive(doc, "cpus")->valueint, 1);
  assert_true(cJSON_GetObjectItemCaseSensitive(doc, "memory")->valuedouble == 536870912.0);
  assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(doc, "nested_virtualization")));
  assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(doc, "rosetta")));
  assert_null(cJSON_GetObjectItemCaseSensitive(doc, "modules")); /* unset: omitted */
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "firmware_tables")->valuestring,
                      "auto");
  assert_int_equal(cJSON_GetArraySize(doc), 7);
  cJSON_Delete(doc);
  vmctr_free(json);

  /* Memory that a JSON number cannot hold exactly is refused, not rounded. */
  assert_int_equal(vmctr_bootcfg_set_memory(cfg, 1ull << 53), 0);
  json = (char *)&json;
  assert_fails_with(vmctr_bootcfg_to_json(cfg, &json), VMCTR_EINVAL, "memory");
  assert_ptr_equal(json, (char *)&json);
  assert_int_equal(vmctr_bootcfg_set_memory(cfg, (1ull << 53) - 1), 0);
  assert_int_equal(vmctr_bootcfg_to_json(cfg, &json), 0);
  vmctr_bootcfg *back = NULL;
  assert_int_equal(vmctr_bootcfg_from_json(&back, json, strlen(json)), 0);
  assert_true(vmctr_bootcfg_memory(back) == (1ull << 53) - 1);
  vmctr_bootcfg_free(back);
  vmctr_free(json);
  vmctr_bootcfg_free(cfg);
}

static void test_json_round_trip_known_keys(void **state) {
  vmctr_bootcfg *cfg, *back = NULL;
  char *a, *b;
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, "/var/lib/vmctr/vmlinux \"quoted\""), 0);
  assert_int_equal(vmctr_bootcfg_set_initfs(cfg, "/var/lib/vmctr/initfs.cpio.gz"), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "cmdline", "console=hvc0 init.args=\"a b\""), 0);
  assert_int_equal(vmctr_bootcfg_set_cpus(cfg, 4), 0);
  assert_int_equal(vmctr_bootcfg_set_memory(cfg, 2048 * MIB), 0);
  assert_int_equal(vmctr_bootcfg_set_nested_virtualization(cfg, 1), 0);
  assert_int_equal(vmctr_bootcfg_set_rosetta(cfg, 1), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "com.example.note", "tab\there"), 0);
  assert_int_equal(vmctr_bootcfg_to_json(cfg, &a), 0);
  assert_int_equal(vmctr_bootcfg_from_json(&back, a, strlen(a)), 0);
  assert_string_equal(vmctr_bootcfg_kernel(back), "/var/lib/vmctr/vmlinux \"quoted\"");
  assert_string_equal(vmctr_bootcfg_initfs(back), "/var/lib/vmctr/initfs.cpio.gz");
  assert_int_equal(vmctr_bootcfg_cmdline_count(back), 2);
  assert_string_equal(vmctr_bootcfg_cmdline_arg(back, 1), "init.args=\"a b\"");
  assert_int_equal(vmctr_bootcfg_cpus(back), 4);
  assert_true(vmctr_bootcfg_memory(back) == 2048 * MIB);
  assert_int_equal(vmctr_bootcfg_nested_virtualization(back), 1);
  assert_int_equal(vmctr_bootcfg_rosetta(back), 1);
  assert_get(back, "com.example.note", "tab\there");
  assert_int_equal(vmctr_bootcfg_to_json(back, &b), 0);
  assert_string_equal(a, b);
  vmctr_free(a);
  vmctr_free(b);
  vmctr_bootcfg_free(back);
  vmctr_bootcfg_free(cfg);
}

static void test_json_modules_and_firmware_tables(void **state) {
  static const struct {
    const char *text;
    int32_t mode;
  } reads[] = {{"{\"firmware_tables\": true}", 1},    {"{\"firmware_tables\": false}", 0},
               {"{\"firmware_tables\": \"on\"}", 1},  {"{\"firmware_tables\": \"off\"}", 0},
               {"{\"firmware_tables\": \"auto\"}", -1}, {"{\"firmware_tables\": \"yes\"}", 1},
               {"{\"firmware_tables\": \"0\"}", 0},   {"{}", -1}};
  static const char *const refused[] = {
    "{\"firmware_tables\": 1}",      "{\"firmware_tables\": null}",
    "{\"firmware_tables\": \"x\"}",  "{\"firmware_tables\": [true]}",
    "{\"firmware_tables\": \"\"}",   "{\"modules\": \"\"}",
    "{\"modules\": 7}",              "{\"modules\": null}",
    "{\"modules\": [\"/m\"]}",
  };
  vmctr_bootcfg *cfg, *back = NULL;
  cJSON *doc = NULL;
  char *a, *b;
  (void)state;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_set_modules(cfg, "/var/lib/vmctr/modules"), 0);
  assert_int_equal(vmctr_bootcfg_set_firmware_tables(cfg, VMCTR_BOOTCFG_FIRMWARE_TABLES_ON), 0);
  assert_int_equal(vmctr_bootcfg_to_json(cfg, &a), 0);
  /* The written forms: a string path, and "auto"/"on"/"off". */
  assert_int_equal(vmctr__json_parse(a, strlen(a), "test", &doc), 0);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "modules")->valuestring,
                      "/var/lib/vmctr/modules");
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "firmware_tables")->valuestring,
                      "on");
  cJSON_Delete(doc);
  assert_int_equal(vmctr_bootcfg_from_json(&back, a, strlen(a)), 0);
  assert_string_equal(vmctr_bootcfg_modules(back), "/var/lib/vmctr/modules");
  assert_int_equal(vmctr_bootcfg_firmware_tables(back), VMCTR_BOOTCFG_FIRMWARE_TABLES_ON);
  assert_int_equal(vmctr_bootcfg_to_json(back, &b), 0);
  assert_string_equal(a, b);
  vmctr_free(a);
  vmctr_free(b);
  vmctr_bootcfg_free(back);
  vmctr_bootcfg_free(cfg);

  for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
    cfg = NULL;
    if (vmctr_bootcfg_from_json(&cfg, reads[i].text, strlen(reads[i].text)) < 0)
      fail_msg("%s: %s", reads[i].text, vmctr_error_last()->message);
    assert_int_equal(vmctr_bootcfg_firmware_tables(cfg), reads[i].mode);
    vmctr_bootcfg_free(cfg);
  }
  for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
    cfg = NULL;
    assert_fails_with(vmctr_bootcfg_from_json(&cfg, refused[i], strlen(refused[i])),
                      VMCTR_EPARSE, strstr(refused[i], "modules") ? "\"modules\"" :
                                                                    "\"firmware_tables\"");
    assert_null(cfg);
  }
}

/* Files written before these settings were typed used the free keys
 * "modules" (same name) and "acpi" (now "firmware_tables"). */
static void test_json_old_free_keys_load_as_settings(void **state) {
  static const char old[] =
      "{\"version\": 1, \"kernel\": \"/boot/vmlinuz\", \"modules\": \"/srv/mods\",\n"
      " \"acpi\": \"off\", \"qemu.args\": \"-device foo\"}";
  static const char both[] = "{\"acpi\": \"on\", \"firmware_tables\": \"on\"}";
  vmctr_bootcfg *cfg = NULL;
  cJSON *doc = NULL;
  char *json;
  (void)state;
  assert_int_equal(vmctr_bootcfg_from_json(&cfg, old, strlen(old)), 0);
  assert_string_equal(vmctr_bootcfg_modules(cfg), "/srv/mods");
  assert_int_equal(vmctr_bootcfg_firmware_tables(cfg), VMCTR_BOOTCFG_FIRMWARE_TABLES_OFF);
  assert_int_equal(vmctr_bootcfg_firmware_tables_effective(cfg), 0);
  assert_false(has_key(cfg, "acpi"));
  /* "qemu.args" is kept as a free key like any other. */
  assert_true(has_key(cfg, "qemu.args"));
  assert_get(cfg, "qemu.args", "-device foo");
  assert_int_equal(vmctr_bootcfg_to_json(cfg, &json), 0);
  assert_int_equal(vmctr__json_parse(json, strlen(json), "test", &doc), 0);
  assert_null(cJSON_GetObjectItemCaseSensitive(doc, "acpi")); /* saved under the new name */
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "firmware_tables")->valuestring,
                      "off");
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "qemu.args")->valuestring,
                      "-device foo");
  cJSON_Delete(doc);
  vmctr_free(json);
  vmctr_bootcfg_free(cfg);

  /* A file with only "modules" gets firmware tables by default, as before. */
  cfg = NULL;
  assert_int_equal(vmctr_bootcfg_from_json(&cfg, "{\"modules\": \"/m\"}", 17), 0);
  assert_int_equal(vmctr_bootcfg_firmware_tables_effective(cfg), 1);
  vmctr_bootcfg_free(cfg);

  cfg = NULL;
  assert_fails_with(vmctr_bootcfg_from_json(&cfg, both, strlen(both)), VMCTR_EPARSE,
                    "old name");
  assert_null(cfg);
  assert_fails_with(vmctr_bootcfg_from_json(&cfg, "{\"acpi\": \"maybe\"}", 17), VMCTR_EPARSE,
                    "\"acpi\"");
  assert_null(cfg);
}

static void test_json_unknown_values_survive_exactly(void **state) {
  static const char text[] =
      "{\"cpus\": 2, \"x.obj\": {\"a\": [1, 2.5, {\"b\": null}], \"c\": \"d\"},\n"
      " \"x.arr\": [true, false, \"s\", -3], \"x.num\": -42.25, \"x.big\": 1e300,\n"
      " \"x.t\": true, \"x.null\": null, \"x.str\": \"plain \\\"text\\\"\"}";
  static const char *const names[] = {"x.obj", "x.arr", "x.num", "x.big", "x.t", "x.null",
                                      "x.str"};
  vmctr_bootcfg *cfg = NULL, *back = NULL;
  cJSON *orig = NULL, *saved = NULL;
  char *json;
  (void)state;
  assert_int_equal(vmctr_bootcfg_from_json(&cfg, text, strlen(text)), 0);
  /* get gives compact JSON for non-strings and the string itself for strings. */
  assert_get(cfg, "x.obj", "{\"a\":[1,2.5,{\"b\":null}],\"c\":\"d\"}");
  assert_get(cfg, "x.arr", "[true,false,\"s\",-3]");
  assert_get(cfg, "x.num", "-42.25");
  assert_get(cfg, "x.null", "null");
  assert_get(cfg, "x.str", "plain \"text\"");

  assert_int_equal(vmctr_bootcfg_to_json(cfg, &json), 0);
  assert_int_equal(vmctr__json_parse(text, strlen(text), "orig", &orig), 0);
  assert_int_equal(vmctr__json_parse(json, strlen(json), "saved", &saved), 0);
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(orig, names[i]);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(saved, names[i]);
    assert_non_null(b);
    if (!cJSON_Compare(a, b, 1))
      fail_msg("value of %s changed in %s", names[i], json);
  }
  /* ...and in the original order, after the known keys. */
  assert_string_equal(cJSON_GetArrayItem(saved, 7)->string, "x.obj");
  assert_string_equal(cJSON_GetArrayItem(saved, 13)->string, "x.str");
  assert_int_equal(vmctr_bootcfg_from_json(&back, json, strlen(json)), 0);
  char *again;
  assert_int_equal(vmctr_bootcfg_to_json(back, &again), 0);
  assert_string_equal(json, again);
  vmctr_free(again);
  cJSON_Delete(orig);
  cJSON_Delete(saved);
  vmctr_free(json);
  vmctr_bootcfg_free(back);
  vmctr_bootcfg_free(cfg);
}

static void test_from_json_defaults_and_limits(void **state) {
  static const char text[] = "{\"kernel\": \"/k\"}";
  vmctr_bootcfg *cfg = NULL, *untouched = (vmctr_bootcfg *)&untouched;
  char *big;
  (void)state;
  /* No version means version 1; absent keys keep their defaults. */
  assert_int_equal(vmctr_bootcfg_from_json(&cfg, text, strlen(text)), 0);
  assert_string_equal(vmctr_bootcfg_kernel(cfg), "/k");
  assert_int_equal(vmctr_bootcfg_cpus(cfg), VMCTR_BOOTCFG_DEFAULT_CPUS);
  assert_true(vmctr_bootcfg_memory(cfg) == VMCTR_BOOTCFG_DEFAULT_MEMORY);
  vmctr_bootcfg_free(cfg);
  /* The text need not be NUL-terminated: only len bytes are read. */
  assert_int_equal(vmctr_bootcfg_from_json(&cfg, "{\"cpus\": 3}garbage", 11), 0);
  assert_int_equal(vmctr_bootcfg_cpus(cfg), 3);
  vmctr_bootcfg_free(cfg);

  big = malloc(VMCTR_BOOTCFG_MAX_JSON + 1);
  assert_non_null(big);
  memset(big, ' ', VMCTR_BOOTCFG_MAX_JSON + 1);
  big[0] = '{';
  big[VMCTR_BOOTCFG_MAX_JSON - 1] = '}';
  /* Exactly the limit is accepted, one byte more is not. */
  assert_int_equal(vmctr_bootcfg_from_json(&cfg, big, VMCTR_BOOTCFG_MAX_JSON), 0);
  vmctr_bootcfg_free(cfg);
  assert_fails_with(vmctr_bootcfg_from_json(&untouched, big, VMCTR_BOOTCFG_MAX_JSON + 1),
                    VMCTR_ETOOBIG, "bytes");
  assert_ptr_equal(untouched, (vmctr_bootcfg *)&untouched);
  free(big);
}

/* ---- the corpora ---- */

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json files of a corpus directory, sorted. */
static char **corpus_files(const char *dir, size_t *n) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char **v = NULL;
  size_t len;
  *n = 0;
  if (!d)
    fail_msg("cannot open corpus %s: %s", dir, strerror(errno));
  while ((e = readdir(d))) {
    len = strlen(e->d_name);
    if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
      continue;
    v = realloc(v, (*n + 1) * sizeof(*v));
    assert_non_null(v);
    v[(*n)++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(v, *n, sizeof(*v), cmp_names);
  return v;
}

static int code_by_name(const char *name) {
  static const struct {
    const char *name;
    int code;
  } codes[] = {{"EPARSE", VMCTR_EPARSE}, {"EUNSUPPORTED", VMCTR_EUNSUPPORTED},
               {"ETOOBIG", VMCTR_ETOOBIG}, {"EINVAL", VMCTR_EINVAL}};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
    if (strcmp(name, codes[i].name) == 0)
      return codes[i].code;
  fail_msg("unknown code %s in a .expect file", name);
  return 0;
}

static void check_expectation(const char *file, int r, const vmctr_bootcfg *cfg, int code,
                              const char *message) {
  if (r != code)
    fail_msg("%s: got %d (%s), want %d", file, r, vmctr_error_last()->message, code);
  assert_null(cfg); /* untouched */
  if (!strstr(vmctr_error_last()->message, message))
    fail_msg("%s: message \"%s\" lacks \"%s\"", file, vmctr_error_last()->message, message);
}

static void test_bad_corpus_is_refused_as_expected(void **state) {
  const char *dir = VMCTR_TEST_SRCDIR "/corpus/bootcfg-bad";
  size_t n;
  char **files = corpus_files(dir, &n);
  (void)state;
  assert_true(n >= 25);
  for (size_t i = 0; i < n; i++) {
    char *path = path_in(dir, files[i]), *expect_path = NULL, *text = NULL, *exp = NULL;
    char code_name[32], message[256];
    vmctr_bootcfg *cfg = NULL;
    size_t len = 0;
    assert_true(asprintf(&expect_path, "%.*s.expect", (int)(strlen(path) - 5), path) > 0);
    if (vmctr__read_file(expect_path, 4096, &exp, NULL) < 0)
      fail_msg("%s has no .expect sidecar", files[i]);
    if (sscanf(exp, "code %31s\nmessage %255[^\n]", code_name, message) != 2)
      fail_msg("%s: malformed sidecar", expect_path);
    int code = code_by_name(code_name);

    check_expectation(files[i], vmctr_bootcfg_load(&cfg, path), cfg, code, message);
    assert_non_null(strstr(vmctr_error_last()->message, path)); /* names the file */
    assert_int_equal(vmctr__read_file(path, VMCTR_BOOTCFG_MAX_JSON, &text, &len), 0);
    check_expectation(files[i], vmctr_bootcfg_from_json(&cfg, text, len), cfg, code, message);
    free(text);
    free(exp);
    free(expect_path);
    free(path);
    free(files[i]);
  }
  free(files);
}

static void test_good_corpus_loads_and_round_trips(void **state) {
  const char *dir = VMCTR_TEST_SRCDIR "/corpus/bootcfg-good";
  size_t n;
  char **files = corpus_files(dir, &n);
  (void)state;
  assert_true(n >= 3);
  for (size_t i = 0; i < n; i++) {
    char *path = path_in(dir, files[i]), *a = NULL, *b = NULL;
    vmctr_bootcfg *cfg = NULL, *back = NULL;
    if (vmctr_bootcfg_load(&cfg, path) < 0)
      fail_msg("%s: %s", files[i], vmctr_error_last()->message);
    assert_int_equal(vmctr_bootcfg_to_json(cfg, &a), 0);
    assert_int_equal(vmctr_bootcfg_from_json(&back, a, strlen(a)), 0);
    assert_int_equal(vmctr_bootcfg_to_json(back, &b), 0);
    assert_string_equal(a, b);
    if (strcmp(files[i], "unknown-keys.json") == 0) {
      assert_get(cfg, "com.example.object", "{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}");
      assert_get(cfg, "com.example.number", "-42");
      assert_get(cfg, "com.example.note", "hello \"world\"");
      assert_get(cfg, "caf\xc3\xa9", "unicode key");
    }
    if (strcmp(files[i], "old-free-keys.json") == 0) {
      assert_string_equal(vmctr_bootcfg_modules(cfg), "/srv/vmctr/modules");
      assert_int_equal(vmctr_bootcfg_firmware_tables(cfg), VMCTR_BOOTCFG_FIRMWARE_TABLES_OFF);
      assert_get(cfg, "qemu.args", "-device virtio-rng-pci");
    }
    vmctr_free(a);
    vmctr_free(b);
    vmctr_bootcfg_free(cfg);
    vmctr_bootcfg_free(back);
    free(path);
    free(files[i]);
  }
  free(files);
}

/* ---- files ---- */

static void test_save_load_round_trip(void **state) {
  const char *dir = *state;
  char *path = path_in(dir, "boot.json"), *a, *b;
  vmctr_bootcfg *cfg, *back = NULL;
  struct stat st;
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, "/boot/vmlinux"), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "cmdline", "console=hvc0 quiet"), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "memory", "1GiB"), 0);
  assert_int_equal(vmctr_bootcfg_set(cfg, "com.example.note", "kept"), 0);
  assert_int_equal(vmctr_bootcfg_save(cfg, path), 0);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0644); /* a new file */
  assert_int_equal(count_entries(dir, ".tmp"), 0);
  assert_int_equal(vmctr_bootcfg_load(&back, path), 0);
  assert_int_equal(vmctr_bootcfg_to_json(cfg, &a), 0);
  assert_int_equal(vmctr_bootcfg_to_json(back, &b), 0);
  assert_string_equal(a, b);
  vmctr_free(a);
  vmctr_free(b);
  vmctr_bootcfg_free(back);

  /* Saving again replaces the contents and keeps an existing file's mode. */
  assert_int_equal(chmod(path, 0600), 0);
  assert_int_equal(vmctr_bootcfg_set_cpus(cfg, 2), 0);
  assert_int_equal(vmctr_bootcfg_save(cfg, path), 0);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_int_equal(vmctr_bootcfg_load(&back, path), 0);
  assert_int_equal(vmctr_bootcfg_cpus(back), 2);
  assert_int_equal(count_entries(dir, ".tmp"), 0);
  vmctr_bootcfg_free(back);
  vmctr_bootcfg_free(cfg);
  free(path);
}

static void test_save_failures_leave_no_debris(void **state) {
  const char *dir = *state;
  char *target = path_in(dir, "is-a-dir"), *inner = path_in(dir, "is-a-dir/keep");
  char *orphan = path_in(dir, "no/such/dir/boot.json");
  vmctr_bootcfg *cfg;
  struct stat st;
  assert_int_equal(mkdir(target, 0755), 0);
  write_bytes(inner, "x", 1);
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  /* The target is a directory: refused, the directory and its file intact. */
  assert_fails_with(vmctr_bootcfg_save(cfg, target), VMCTR_EINVAL, target);
  assert_int_equal(stat(target, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(stat(inner, &st), 0);
  assert_int_equal(st.st_size, 1);
  assert_int_equal(count_entries(dir, ".tmp"), 0);
  assert_int_equal(count_entries(dir, ""), 1);
  assert_int_equal(count_entries(target, ""), 1);
  /* The parent directory does not exist. */
  assert_fails_with(vmctr_bootcfg_save(cfg, orphan), VMCTR_ENOENT, "boot.json");
  assert_int_equal(count_entries(dir, ""), 1);
  vmctr_bootcfg_free(cfg);
  free(target);
  free(inner);
  free(orphan);
}

static void test_load_failures(void **state) {
  const char *dir = *state;
  char *missing = path_in(dir, "missing.json"), *big = path_in(dir, "big.json");
  char *exact = path_in(dir, "exact.json");
  vmctr_bootcfg *cfg = NULL;
  char *data;
  assert_fails_with(vmctr_bootcfg_load(&cfg, missing), VMCTR_ENOENT, missing);
  assert_fails_with(vmctr_bootcfg_load(&cfg, dir), VMCTR_EINVAL, "directory");
  assert_fails_with(vmctr_bootcfg_load(&cfg, ""), VMCTR_EINVAL, "path");
  assert_null(cfg);

  /* Over 1 MiB is refused before parsing; exactly 1 MiB of valid JSON loads. */
  data = malloc(VMCTR_BOOTCFG_MAX_JSON + 1);
  assert_non_null(data);
  memset(data, ' ', VMCTR_BOOTCFG_MAX_JSON + 1);
  memcpy(data, "{\"cpus\": 2}", 11);
  write_bytes(exact, data, VMCTR_BOOTCFG_MAX_JSON);
  write_bytes(big, data, VMCTR_BOOTCFG_MAX_JSON + 1);
  free(data);
  assert_int_equal(vmctr_bootcfg_load(&cfg, exact), 0);
  assert_int_equal(vmctr_bootcfg_cpus(cfg), 2);
  vmctr_bootcfg_free(cfg);
  cfg = NULL;
  assert_fails_with(vmctr_bootcfg_load(&cfg, big), VMCTR_ETOOBIG, big);
  assert_null(cfg);
  free(missing);
  free(big);
  free(exact);
}

/* ---- validate ---- */

static vmctr_caps *probe(void) {
  vmctr_caps *caps = NULL;
  assert_int_equal(vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_QUICK), 0);
  assert_non_null(caps);
  return caps;
}

/* A builder that validates on any host that can run a VM at all. */
static vmctr_bootcfg *bootable(const char *dir) {
  vmctr_bootcfg *cfg;
  char *kernel = path_in(dir, "vmlinux"), *initfs = path_in(dir, "initfs.cpio");
  write_bytes(kernel, "kernel", 6);
  write_bytes(initfs, "cpio", 4);
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, kernel), 0);
  assert_int_equal(vmctr_bootcfg_set_initfs(cfg, initfs), 0);
  assert_int_equal(vmctr_bootcfg_set_memory(cfg, VMCTR_BOOTCFG_MIN_MEMORY), 0);
  free(kernel);
  free(initfs);
  return cfg;
}

static void test_validate_accepts_a_bootable_config(void **state) {
  vmctr_caps *caps = probe();
  vmctr_bootcfg *cfg = bootable(*state);
  if (vmctr_caps_max_memory(caps) < VMCTR_BOOTCFG_MIN_MEMORY || vmctr_caps_max_vcpus(caps) < 1) {
    vmctr_bootcfg_free(cfg);
    vmctr_caps_free(caps);
    skip(); /* this host cannot run the smallest VM */
  }
  if (vmctr_bootcfg_validate(cfg, caps) < 0)
    fail_msg("%s", vmctr_error_last()->message);
  assert_int_equal(vmctr_bootcfg_validate(cfg, NULL), 0); /* probes by itself */
  vmctr_bootcfg_free(cfg);
  vmctr_caps_free(caps);
}

static void test_validate_file_errors_name_the_key(void **state) {
  const char *dir = *state;
  char *missing = path_in(dir, "missing"), *link = path_in(dir, "dangling");
  char *subdir = path_in(dir, "subdir");
  vmctr_caps *caps = probe();
  vmctr_bootcfg *cfg = bootable(dir);
  char *kernel = strdup(vmctr_bootcfg_kernel(cfg));
  assert_int_equal(symlink(missing, link), 0);
  assert_int_equal(mkdir(subdir, 0755), 0);

  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, NULL), 0);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_ENOENT, "kernel: not set");
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, missing), 0);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_ENOENT, "kernel");
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, link), 0);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_ENOENT, "symbolic link");
  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, subdir), 0);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_EINVAL, "kernel");
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_EINVAL, "not a regular file");

  assert_int_equal(vmctr_bootcfg_set_kernel(cfg, kernel), 0);
  assert_int_equal(vmctr_bootcfg_set_initfs(cfg, missing), 0);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_ENOENT, "initfs");
  assert_int_equal(vmctr_bootcfg_set_initfs(cfg, link), 0);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_ENOENT, "initfs");
  assert_int_equal(vmctr_bootcfg_set_initfs(cfg, subdir), 0);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_EINVAL, "initfs");
  vmctr_bootcfg_free(cfg);
  vmctr_caps_free(caps);
  free(kernel);
  free(missing);
  free(link);
  free(subdir);
}

/* Unreadable files: root reads everything, so as root the check runs in a
 * child that drops to "nobody". */
static void test_validate_unreadable_kernel_is_eperm(void **state) {
  const char *dir = *state;
  vmctr_bootcfg *cfg = bootable(dir);
  int status;
  pid_t pid;
  assert_int_equal(chmod(vmctr_bootcfg_kernel(cfg), 0600), 0);
  if (geteuid() != 0) {
    assert_int_equal(chmod(vmctr_bootcfg_kernel(cfg), 0), 0);
    assert_fails_with(vmctr_bootcfg_validate(cfg, NULL), VMCTR_EPERM, "kernel");
    vmctr_bootcfg_free(cfg);
    return;
  }
  assert_int_equal(chmod(dir, 0755), 0); /* nobody may reach the file, not read it */
  fflush(NULL);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (setgid(65534) < 0 || setuid(65534) < 0)
      _exit(77);
    int r = vmctr_bootcfg_validate(cfg, NULL);
    _exit(r == VMCTR_EPERM && strstr(vmctr_error_last()->message, "kernel") ? 0 : 1);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  vmctr_bootcfg_free(cfg);
  assert_true(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77)
    skip();
  assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_validate_modules_dir(void **state) {
  const char *dir = *state;
  char *missing = path_in(dir, "missing"), *link = path_in(dir, "dangling");
  char *file = path_in(dir, "file"), *mods = path_in(dir, "mods");
  char *order = path_in(mods, "load-order");
  vmctr_caps *caps = probe();
  vmctr_bootcfg *cfg = bootable(dir);
  int r;
  write_bytes(file, "x", 1);
  assert_int_equal(mkdir(mods, 0755), 0);
  assert_int_equal(symlink(missing, link), 0);

  assert_int_equal(vmctr_bootcfg_set_modules(cfg, missing), 0);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_ENOENT, "modules");
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_ENOENT, "does not exist");
  assert_int_equal(vmctr_bootcfg_set_modules(cfg, link), 0);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_ENOENT, "symbolic link");
  assert_int_equal(vmctr_bootcfg_set_modules(cfg, file), 0);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_EINVAL, "not a directory");
  assert_int_equal(vmctr_bootcfg_set_modules(cfg, mods), 0);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_ENOENT, "no load-order file");
  assert_int_equal(mkdir(order, 0755), 0);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_EINVAL, "load-order");
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_EINVAL, "not a regular file");
  assert_int_equal(rmdir(order), 0);
  write_bytes(order, "virtio_mmio.ko\n", 15);
  /* Now only the host may object, and not about the modules. */
  r = vmctr_bootcfg_validate(cfg, caps);
  if (r < 0 && strstr(vmctr_error_last()->message, "modules"))
    fail_msg("%s", vmctr_error_last()->message);
  vmctr_bootcfg_free(cfg);
  vmctr_caps_free(caps);
  free(missing);
  free(link);
  free(file);
  free(order);
  free(mods);
}

static void test_validate_resource_limits(void **state) {
  vmctr_caps *caps = probe();
  vmctr_bootcfg *cfg = bootable(*state);
  uint32_t max_cpus = vmctr_caps_max_vcpus(caps);
  uint64_t max_mem = vmctr_caps_max_memory(caps);
  char want[64];

  assert_int_equal(vmctr_bootcfg_set_cpus(cfg, max_cpus + 1), 0);
  snprintf(want, sizeof(want), "at most %u", (unsigned)max_cpus);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_EINVAL, "cpus");
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_EINVAL, want);
  assert_int_equal(vmctr_bootcfg_set_cpus(cfg, 1), 0);

  assert_int_equal(vmctr_bootcfg_set_memory(cfg, 100 * MIB + 1), 0);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_EINVAL, "whole number of MiB");
  assert_int_equal(vmctr_bootcfg_set_memory(cfg, 63 * MIB), 0);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_EINVAL, "minimum of 64 MiB");
  assert_int_equal(vmctr_bootcfg_set_memory(cfg, 0), 0);
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_EINVAL, "memory");
  assert_int_equal(vmctr_bootcfg_set_memory(cfg, (max_mem / MIB + 1) * MIB), 0);
  snprintf(want, sizeof(want), "at most %llu MiB", (unsigned long long)(max_mem / MIB));
  assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_EINVAL, want);
  vmctr_bootcfg_free(cfg);
  vmctr_caps_free(caps);
}

static void test_validate_host_features(void **state) {
  vmctr_caps *caps = probe();
  vmctr_bootcfg *cfg = bootable(*state);
  const char *why = NULL;
  char expected[1024];

  assert_int_equal(vmctr_bootcfg_set_nested_virtualization(cfg, 1), 0);
  if (vmctr_caps_has(caps, VMCTR_CAP_NESTED_VIRT, NULL) == 1) {
    assert_int_equal(vmctr_bootcfg_validate(cfg, caps), 0);
  } else {
    /* The caps module's own error, unchanged. */
    assert_int_equal(vmctr_caps_require_nested_virtualization(caps), VMCTR_EUNSUPPORTED);
    snprintf(expected, sizeof(expected), "%s", vmctr_error_last()->message);
    vmctr_error_clear();
    assert_int_equal(vmctr_bootcfg_validate(cfg, caps), VMCTR_EUNSUPPORTED);
    assert_string_equal(vmctr_error_last()->message, expected);
  }
  assert_int_equal(vmctr_bootcfg_set_nested_virtualization(cfg, 0), 0);

  assert_int_equal(vmctr_bootcfg_set_rosetta(cfg, 1), 0);
  if (vmctr_caps_has(caps, VMCTR_CAP_ROSETTA, &why) == 1) {
    assert_int_equal(vmctr_bootcfg_validate(cfg, caps), 0);
  } else {
    assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_EUNSUPPORTED, "rosetta");
    assert_non_null(strstr(vmctr_error_last()->message, why));
  }
  vmctr_bootcfg_free(cfg);
  vmctr_caps_free(caps);
}

/* The guest architecture: typed setter, aliases, generic key, JSON, clone,
 * and validation against what the host can boot. */
static void test_architecture(void **state) {
  vmctr_bootcfg *cfg, *c2 = NULL;
  char *json = NULL;
  vmctr_caps *caps = probe();
  assert_int_equal(vmctr_bootcfg_new(&cfg), 0);
  assert_null(vmctr_bootcfg_architecture(cfg));
  assert_int_equal(vmctr_bootcfg_set(cfg, "architecture", NULL), 0);
  assert_null(vmctr_bootcfg_architecture(cfg));
  assert_int_equal(vmctr_bootcfg_set_architecture(cfg, "arm64"), 0);
  assert_string_equal(vmctr_bootcfg_architecture(cfg), "aarch64");
  assert_get(cfg, "architecture", "aarch64");
  assert_fails_with(vmctr_bootcfg_set_architecture(cfg, "mips"), VMCTR_EINVAL, "mips");
  assert_string_equal(vmctr_bootcfg_architecture(cfg), "aarch64"); /* unchanged */
  assert_fails_with(vmctr_bootcfg_set(cfg, "architecture", "sparc"), VMCTR_EINVAL, "x86_64");
  assert_int_equal(vmctr_bootcfg_to_json(cfg, &json), 0);
  assert_non_null(strstr(json, "\"architecture\""));
  assert_non_null(strstr(json, "\"aarch64\""));
  assert_int_equal(vmctr_bootcfg_from_json(&c2, json, strlen(json)), 0);
  assert_string_equal(vmctr_bootcfg_architecture(c2), "aarch64");
  vmctr_free(json);
  vmctr_bootcfg_free(c2);
  assert_int_equal(vmctr_bootcfg_clone(&c2, cfg), 0);
  assert_string_equal(vmctr_bootcfg_architecture(c2), "aarch64");
  vmctr_bootcfg_free(c2);
  static const char bad[] = "{\"version\": 1, \"architecture\": \"z80\"}";
  assert_fails_with(vmctr_bootcfg_from_json(&c2, bad, strlen(bad)), VMCTR_EPARSE, "architecture");
  assert_int_equal(vmctr_bootcfg_set(cfg, "architecture", "amd64"), 0);
  assert_string_equal(vmctr_bootcfg_architecture(cfg), "x86_64");
  assert_int_equal(vmctr_bootcfg_set(cfg, "architecture", NULL), 0); /* back to the host's */
  assert_null(vmctr_bootcfg_architecture(cfg));
  assert_int_equal(vmctr_bootcfg_to_json(cfg, &json), 0);
  assert_null(strstr(json, "architecture")); /* unset: not written */
  vmctr_free(json);
  vmctr_bootcfg_free(cfg);

  /* Validation follows the caps: an architecture the host cannot boot is refused. */
  cfg = bootable(*state);
  for (int i = 0; i < 2; i++) {
    const char *arch = i ? "aarch64" : "x86_64", *why = NULL;
    int32_t ok = vmctr_caps_guest_architecture_supported(caps, arch, &why);
    assert_non_null(why);
    assert_int_equal(vmctr_bootcfg_set_architecture(cfg, arch), 0);
    if (vmctr_caps_max_memory(caps) < VMCTR_BOOTCFG_MIN_MEMORY)
      continue;
    if (ok == 1) {
      assert_non_null(strstr(vmctr_caps_guest_architectures(caps), arch));
      if (vmctr_bootcfg_validate(cfg, caps) < 0)
        fail_msg("%s", vmctr_error_last()->message);
    } else {
      assert_int_equal(ok, 0);
      assert_null(strstr(vmctr_caps_guest_architectures(caps), arch));
      assert_fails_with(vmctr_bootcfg_validate(cfg, caps), VMCTR_EUNSUPPORTED, "architecture");
    }
  }
  assert_int_equal(vmctr_caps_guest_architecture_supported(caps, "mips", NULL), 0);
  assert_int_equal(vmctr_caps_guest_architecture_supported(NULL, "x86_64", NULL), VMCTR_EINVAL);
  vmctr_bootcfg_free(cfg);
  vmctr_caps_free(caps);
}

#define T(f) cmocka_unit_test(f)
#define TD(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
    T(test_new_has_documented_defaults),
    T(test_null_arguments_give_einval),
    T(test_kernel_and_initfs_paths),
    T(test_cmdline_arguments),
    T(test_cpus_memory_and_switches),
    T(test_modules_and_firmware_tables),
    T(test_generic_set_get_known_keys),
    T(test_generic_modules_and_firmware_tables),
    T(test_generic_memory_suffixes),
    T(test_generic_booleans),
    T(test_generic_cmdline_quoting),
    T(test_free_keys),
    T(test_keys_lists_known_then_free_in_order),
    T(test_clone_is_deep),
    T(test_to_json_format),
    T(test_json_round_trip_known_keys),
    T(test_json_modules_and_firmware_tables),
    T(test_json_old_free_keys_load_as_settings),
    T(test_json_unknown_values_survive_exactly),
    T(test_from_json_defaults_and_limits),
    T(test_bad_corpus_is_refused_as_expected),
    T(test_good_corpus_loads_and_round_trips),
    TD(test_save_load_round_trip),
    TD(test_save_failures_leave_no_debris),
    TD(test_load_failures),
    TD(test_validate_accepts_a_bootable_config),
    TD(test_validate_file_errors_name_the_key),
    TD(test_validate_unreadable_kernel_is_eperm),
    TD(test_validate_modules_dir),
    TD(test_validate_resource_limits),
    TD(test_validate_host_features),
    TD(test_architecture),
  };
  return cmocka_run_group_tests_name("bootcfg", tests, NULL, NULL);
}
