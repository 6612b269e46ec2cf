/* SPDX-License-Identifier: MIT */
/* Unit: the shared part of templates (lib/vmm/template.c): what the key
 * covers and what it leaves out, build and publish under a fresh name, one
 * builder per key, a held template never removed, disk use bounded, and a
 * damaged state refused. Real files in a temporary directory, no VM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "vmm/template.h"

static char dir[64], root[96], kernel[96];

static void write_text(const char *path, const char *text) {
  char tmp[200];
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(rename(tmp, path), 0); /* a new inode, as an upgrade makes */
}

static vmctr__vm_disk disks[2];
static vmctr__netdev nics[1];
static char *args[] = {"panic=-1", "quiet", NULL};

static vmctr__vm_spec spec(void) {
  disks[0] = (vmctr__vm_disk){.path = "/images/a.ext4", .serial = "vmctr0"};
  disks[1] = (vmctr__vm_disk){.path = "/images/b.ext4", .read_only = true, .serial = "vmctr1"};
  nics[0] = (vmctr__netdev){.kind = VMCTR__NETDEV_NAT, .mac = {2, 0, 0, 0, 0, 1}};
  return (vmctr__vm_spec){
    .kernel = kernel, .kernel_args = args, .cpus = 1, .memory = 64u << 20,
    .accel = VMCTR_ACCEL_TCG, .arch = "x86_64", .entropy = true, .agent_name = "vmctr.agent",
    .disks = disks, .ndisks = 2, .nics = nics, .nnics = 1,
  };
}

static void key_of(const vmctr__vm_spec *s, char out[65]) {
  assert_int_equal(vmctr__template_key(s, "qemu 7.2", out), 0);
}

static void test_key(void **state) {
  (void)state;
  char k0[65], k[65];
  vmctr__vm_spec s = spec();
  key_of(&s, k0);
  assert_int_equal(strlen(k0), 64);
  key_of(&s, k);
  assert_string_equal(k, k0);
  /* What the clone brings itself is not in it: images, MACs. */
  disks[0].path = "/images/other.ext4";
  nics[0].mac[5] = 9;
  key_of(&s, k);
  assert_string_equal(k, k0);
  /* What shapes the restored VM is. */
  s = spec();
  s.cpus = 2;
  key_of(&s, k);
  assert_string_not_equal(k, k0);
  s = spec();
  s.memory = 128u << 20;
  key_of(&s, k);
  assert_string_not_equal(k, k0);
  s = spec();
  disks[1].read_only = false;
  key_of(&s, k);
  assert_string_not_equal(k, k0);
  s = spec();
  s.ndisks = 1;
  key_of(&s, k);
  assert_string_not_equal(k, k0);
  s = spec();
  s.nnics = 0;
  key_of(&s, k);
  assert_string_not_equal(k, k0);
  s = spec();
  s.accel = VMCTR_ACCEL_KVM;
  key_of(&s, k);
  assert_string_not_equal(k, k0);
  s = spec();
  assert_int_equal(vmctr__template_key(&s, "qemu 8.0", k), 0);
  assert_string_not_equal(k, k0);
  /* A new kernel file at the same path. */
  s = spec();
  write_text(kernel, "kernel v1");
  key_of(&s, k);
  assert_string_not_equal(k, k0);
  /* Shares never fit a template. */
  s = spec();
  assert_null(vmctr__template_unsuitable(&s));
  s.nshares = 1;
  assert_non_null(vmctr__template_unsuitable(&s));
}

static int count_templates(void) {
  DIR *d = opendir(root);
  struct dirent *e;
  int n = 0;
  assert_non_null(d);
  while ((e = readdir(d)))
    if (strlen(e->d_name) == 64)
      n++;
  closedir(d);
  return n;
}

static int count_entries(const char *prefix) {
  DIR *d = opendir(root);
  struct dirent *e;
  int n = 0;
  assert_non_null(d);
  while ((e = readdir(d)))
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
      n++;
  closedir(d);
  return n;
}

/* Build and publish template key with a state of text. */
static void make(const char *key, const char *text) {
  vmctr__template_build b;
  assert_int_equal(vmctr__template_build_begin(root, key, 1u << 20, &b), 0);
  assert_int_equal(write(b.state_fd, text, strlen(text)), (ssize_t)strlen(text));
  assert_int_equal(vmctr__template_build_publish(&b, (const uint8_t *)"HELLO", 5), 0);
  vmctr__template_build_clear(&b);
}

static void fake_key(int i, char out[65]) {
  for (int k = 0; k < 64; k++)
    out[k] = "0123456789abcdef"[(i + k) % 16];
  out[64] = 0;
  out[0] = "0123456789abcdef"[i % 16];
}

static void test_build_publish_open(void **state) {
  (void)state;
  char key[65];
  vmctr__template t;
  fake_key(1, key);
  assert_int_equal(vmctr__template_open(root, key, &t), VMCTR_ENOENT);
  make(key, "state bytes");
  assert_int_equal(count_entries(".build-"), 0); /* the fresh name is gone: renamed */
  assert_int_equal(vmctr__template_open(root, key, &t), 0);
  assert_int_equal(t.hello_len, 5);
  assert_memory_equal(t.hello, "HELLO", 5);
  struct stat st;
  assert_int_equal(fstat(t.ram_fd, &st), 0);
  assert_int_equal(st.st_size, 1u << 20);
  vmctr__template_close(&t);
  /* A second builder of the same key finds it published: nothing to do. */
  vmctr__template_build b;
  assert_int_equal(vmctr__template_build_begin(root, key, 1u << 20, &b), 1);
  /* A damaged state is refused. */
  char path[300];
  snprintf(path, sizeof(path), "%s/%s/state", root, key);
  write_text(path, "state bytez");
  assert_int_equal(vmctr__template_open(root, key, &t), VMCTR_EIO);
  assert_non_null(strstr(vmctr_error_last()->message, "damaged"));
  vmctr__template_discard(root, key);
  assert_int_equal(vmctr__template_open(root, key, &t), VMCTR_ENOENT);
}

/* A builder holds the key's lock until it publishes: a second one waits
 * and then finds the template (here: a child process is the first). */
static void test_one_builder_per_key(void **state) {
  (void)state;
  char key[65];
  int go[2];
  fake_key(2, key);
  assert_int_equal(pipe(go), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    vmctr__template_build b;
    if (vmctr__template_build_begin(root, key, 1u << 20, &b) != 0)
      _exit(1);
    (void)!write(go[1], "x", 1);
    struct timespec ts = {0, 300000000};
    nanosleep(&ts, NULL); /* building */
    (void)!write(b.state_fd, "s", 1);
    _exit(vmctr__template_build_publish(&b, (const uint8_t *)"H", 1) == 0 ? 0 : 2);
  }
  char c;
  assert_int_equal(read(go[0], &c, 1), 1);
  vmctr__template_build b;
  assert_int_equal(vmctr__template_build_begin(root, key, 1u << 20, &b), 1);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  vmctr__template t;
  assert_int_equal(vmctr__template_open(root, key, &t), 0);
  vmctr__template_close(&t);
  close(go[0]);
  close(go[1]);
}

static void test_prune_bounds_and_spares_held(void **state) {
  (void)state;
  char keys[8][65], path[300];
  vmctr__template held;
  for (int i = 0; i < 8; i++) {
    fake_key(8 + i, keys[i]);
    make(keys[i], "s");
    /* Ages: 0 the oldest. */
    snprintf(path, sizeof(path), "%s/%s", root, keys[i]);
    struct timespec times[2] = {{1000 + i, 0}, {1000 + i, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
  }
  int before = count_templates();
  assert_int_equal(vmctr__template_open(root, keys[0], &held), 0); /* a clone runs on it */
  struct timespec old[2] = {{1000, 0}, {1000, 0}};
  snprintf(path, sizeof(path), "%s/%s", root, keys[0]);
  assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
  /* A dead builder's leftovers. */
  snprintf(path, sizeof(path), "%s/.build-%s-99999", root, keys[7]);
  assert_int_equal(mkdir(path, 0700), 0);
  vmctr__template_prune(root, keys[1]);
  assert_int_equal(count_entries(".build-"), 0);
  int after = count_templates();
  assert_true(before >= 8);
  /* At most the bound, plus the held one that could not go. */
  assert_int_equal(after, VMCTR__TEMPLATE_MAX + 1);
  vmctr__template t;
  assert_int_equal(vmctr__template_open(root, keys[1], &t), 0); /* kept: asked for */
  vmctr__template_close(&t);
  assert_int_equal(vmctr__template_open(root, keys[7], &t), 0); /* the newest */
  vmctr__template_close(&t);
  assert_int_equal(vmctr__template_open(root, keys[2], &t), VMCTR_ENOENT); /* old, unheld */
  vmctr__template_close(&held);
  vmctr__template_prune(root, NULL); /* now it may go */
  assert_int_equal(count_templates(), VMCTR__TEMPLATE_MAX);
  assert_int_equal(vmctr__template_open(root, keys[0], &t), VMCTR_ENOENT);
}

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/vmctr-tmpl-unit-XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  snprintf(root, sizeof(root), "%s/templates", dir);
  snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
  if (mkdir(root, 0700) < 0)
    return -1;
  write_text(kernel, "kernel v0");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_key),
    cmocka_unit_test(test_build_publish_open),
    cmocka_unit_test(test_one_builder_per_key),
    cmocka_unit_test(test_prune_bounds_and_spares_held),
  };
  return cmocka_run_group_tests_name("template-unit", tests, setup, teardown);
}
