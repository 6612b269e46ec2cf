/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "busybox-image.h"
#include "testutil.h"
#include "vmtest.h"

static void log_to_stderr(int32_t level, const char *domain, const char *message, void *userdata) {
  (void)userdata;
  fprintf(stderr, "# libvmctr %d [%s] %s\n", level, domain, message);
}

int vmtest_setup(struct vmtest *t, const char *prefix) {
  memset(t, 0, sizeof(*t));
  t->kernel = getenv("VMCTR_TEST_KERNEL");
  /* $VMCTR_DEBUG=1 (2: debug detail): the library's log on stderr. */
  const char *d = getenv("VMCTR_DEBUG");
  if (d && *d && strcmp(d, "0") != 0)
    vmctr_log_set_handler(strcmp(d, "1") == 0 ? VMCTR_LOG_INFO : VMCTR_LOG_DEBUG, log_to_stderr,
                          NULL, NULL);
  if (tu_tmpdir(t->dir, sizeof(t->dir), prefix) < 0)
    return -1;
  snprintf(t->run_dir, sizeof(t->run_dir), "%s/run", t->dir);
  snprintf(t->layout, sizeof(t->layout), "%s/busybox", t->dir);
  if (mkdir(t->run_dir, 0700) < 0 || setenv("XDG_RUNTIME_DIR", t->run_dir, 1) < 0)
    return -1;
  if (tu_busybox_image(t->dir, t->layout) < 0)
    return -1;
  if (vmctr_image_store_open(&t->store, t->dir, 0) < 0 ||
      vmctr_image_store_import(t->store, t->layout, NULL, &t->image) < 0) {
    fprintf(stderr, "# setup: %s\n", vmctr_error_last()->message);
    return -1;
  }
  return 0;
}

int vmtest_rootfs(const struct vmtest *t, vmctr_image *image, const char *name,
                  struct vmtest_rootfs *out) {
  memset(out, 0, sizeof(*out));
  char dir[sizeof(t->dir) + 16];
  snprintf(dir, sizeof(dir), "%s/containers", t->dir);
  mkdir(dir, 0700);
  snprintf(out->disk, sizeof(out->disk), "%s/%s.ext4", dir, name);
  vmctr_image_writable_options wo = VMCTR_IMAGE_WRITABLE_OPTIONS_INIT;
  if (vmctr_image_create_writable(image ? image : t->image, out->disk, &wo, NULL) < 0) {
    fprintf(stderr, "# rootfs %s: %s\n", name, vmctr_error_last()->message);
    out->disk[0] = '\0'; /* not ours to remove */
    return -1;
  }
  if (vmctr_mount_new_block(&out->mount, out->disk, NULL) < 0) {
    fprintf(stderr, "# rootfs %s: %s\n", name, vmctr_error_last()->message);
    vmtest_rootfs_free(out);
    return -1;
  }
  return 0;
}

void vmtest_rootfs_free(struct vmtest_rootfs *r) {
  vmctr_mount_free(r->mount);
  r->mount = NULL;
  if (r->disk[0])
    unlink(r->disk);
  r->disk[0] = '\0';
}

int vmtest_teardown(struct vmtest *t) {
  vmctr_image_free(t->image);
  vmctr_image_store_free(t->store);
  t->image = NULL;
  t->store = NULL;
  return tu_rm_rf(t->dir);
}

void vmtest_out_init(struct vmtest_out *o) {
  memset(o, 0, sizeof(*o));
  pthread_mutex_init(&o->lock, NULL);
}

void vmtest_collect(uint32_t stream, const void *data, size_t len, void *userdata) {
  struct vmtest_out *o = userdata;
  pthread_mutex_lock(&o->lock);
  char *dst = stream == VMCTR_STREAM_STDERR ? o->err : o->buf;
  size_t *n = &o->len[stream == VMCTR_STREAM_STDERR ? 2 : 1];
  if (len && *n + len < sizeof(o->buf) - 1) { /* len 0 (end of file): data may be NULL */
    memcpy(dst + *n, data, len);
    *n += len;
    dst[*n] = '\0';
  }
  pthread_mutex_unlock(&o->lock);
}

static int scan(const char *comm, const char *needle, char *arg, size_t argsz, bool loud,
                pid_t *first) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  int found = 0;
  while (d && (e = readdir(d))) {
    char path[300], buf[8192];
    snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f)
      continue;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')'), *lp = strchr(buf, '(');
    int ppid, match = !needle;
    if (!rp || !lp || strncmp(lp + 1, comm, strlen(comm)) != 0 ||
        sscanf(rp + 2, "%*c %d", &ppid) != 1 || ppid != getpid())
      continue;
    if (loud)
      fprintf(stderr, "# leftover child %s: %s\n", e->d_name, buf);
    snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
    if (needle && (f = fopen(path, "r"))) {
      n = fread(buf, 1, sizeof(buf) - 1, f);
      fclose(f);
      buf[n] = '\0';
      for (size_t i = 0; i < n && !match; i += strlen(buf + i) + 1)
        if (strstr(buf + i, needle) && (match = 1) && arg)
          snprintf(arg, argsz, "%s", buf + i);
    }
    if (match && first && !*first)
      *first = atoi(e->d_name);
    found += match;
  }
  if (d)
    closedir(d);
  return found;
}

int vmtest_children(const char *comm, const char *needle, char *arg, size_t argsz, bool loud) {
  return scan(comm, needle, arg, argsz, loud, NULL);
}

pid_t vmtest_child_pid(const char *comm) {
  pid_t pid = 0;
  scan(comm, NULL, NULL, 0, false, &pid);
  return pid;
}

int vmtest_entries(const char *dir, bool loud) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  while (d && (e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char sub[1024];
    snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
    if (loud)
      fprintf(stderr, "# leftover: %s\n", sub);
    /* Real directories only: never follow a link (/proc/self/fd is all links). */
    n += 1 + (e->d_type == DT_DIR ? vmtest_entries(sub, loud) : 0);
  }
  if (d)
    closedir(d);
  return n;
}

int vmtest_runtime_entries(const struct vmtest *t, bool loud) {
  char parent[sizeof(t->run_dir) + 16];
  snprintf(parent, sizeof(parent), "%s/libvmctr", t->run_dir);
  return vmtest_entries(parent, loud);
}
