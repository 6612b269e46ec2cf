/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmctr.h>

#include "busybox-image.h"
#include "testutil.h"

/* The tree, in creation order. Mount points stay empty: the guest mounts them. */
static const struct {
  const char *path;
  mode_t mode;
} tree_dirs[] = {
    {"bin", 0755},  {"sbin", 0755}, {"usr", 0755}, {"usr/bin", 0755}, {"etc", 0755},
    {"root", 0700}, {"home", 0755}, {"tmp", 01777}, {"var", 0755},    {"var/tmp", 01777},
    {"proc", 0555}, {"sys", 0555},  {"dev", 0755}, {"run", 0755},     {"mnt", 0755},
};

/* root and nobody: the tests run as both. */
static const struct {
  const char *path, *text;
} tree_files[] = {
    {"etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                   "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
    {"etc/group", "root:x:0:\nnogroup:x:65534:\n"},
};

const char *tu_busybox_path(void) {
  const char *b = getenv("VMCTR_BUSYBOX");
  return b && *b ? b : "/bin/busybox";
}

static int put(const char *root, const char *rel, const char *text, size_t len, mode_t mode) {
  char p[4096];
  snprintf(p, sizeof(p), "%s/%s", root, rel);
  int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    return -1;
  for (size_t off = 0; off < len;) {
    ssize_t n = write(fd, text + off, len - off);
    if (n <= 0) {
      close(fd);
      return -1;
    }
    off += (size_t)n;
  }
  return fchmod(fd, mode) < 0 ? (close(fd), -1) : close(fd);
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rbe");
  char *buf = NULL;
  size_t cap = 0;
  FILE *m = f ? open_memstream(&buf, &cap) : NULL;
  char chunk[65536];
  size_t n;
  while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    fwrite(chunk, 1, n, m);
  int bad = !m || ferror(f);
  if (m)
    fclose(m);
  if (f)
    fclose(f);
  if (bad) {
    free(buf);
    return NULL;
  }
  *len = cap;
  return buf;
}

/* bin/busybox plus, with links, a relative link bin/APPLET -> busybox for
 * each applet it lists. */
static int add_busybox(const char *root, const char *busybox, bool links_too) {
  size_t len;
  char *bin = slurp(busybox, &len);
  if (!bin)
    return -1;
  int r = put(root, "bin/busybox", bin, len, 0755);
  free(bin);
  if (r < 0 || !links_too)
    return r;
  char cmd[4200], line[256];
  snprintf(cmd, sizeof(cmd), "'%s' --list", busybox);
  FILE *list = popen(cmd, "r");
  if (!list)
    return -1;
  int links = 0;
  while (r == 0 && fgets(line, sizeof(line), list)) {
    line[strcspn(line, "\n")] = '\0';
    if (!*line || strchr(line, '/') || strcmp(line, "busybox") == 0)
      continue;
    char link[4400];
    snprintf(link, sizeof(link), "%s/bin/%s", root, line);
    if (symlink("busybox", link) < 0 && errno != EEXIST)
      r = -1;
    links++;
  }
  if (pclose(list) != 0 || links == 0)
    r = -1;
  return r;
}

static int plant_links(const char *root, const char *const *links) {
  for (size_t i = 0; links && links[i] && links[i + 1]; i += 2) {
    char p[4200];
    snprintf(p, sizeof(p), "%s/%s", root, links[i]);
    if (symlink(links[i + 1], p) < 0)
      return -1;
  }
  return 0;
}

int tu_busybox_image(const char *work_dir, const char *layout_dir) {
  return tu_busybox_image_opts(work_dir, layout_dir, NULL);
}

int tu_busybox_image_opts(const char *work_dir, const char *layout_dir,
                          const struct tu_image_options *opts) {
  static const struct tu_image_options defaults = {0};
  static const char *const cmd[] = {"sh", NULL};
  static const char *const scratch_cmd[] = {"/bin/busybox", "sh", NULL};
  static const char *const env[] = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
  const char *busybox = tu_busybox_path();
  char root[4096];
  int n = snprintf(root, sizeof(root), "%s/busybox-rootfs-XXXXXX", work_dir);
  if (n < 0 || (size_t)n >= sizeof(root) || !mkdtemp(root)) {
    fprintf(stderr, "# busybox image: cannot make a scratch directory in %s: %s\n", work_dir,
            strerror(errno));
    return VMCTR_EIO;
  }
  if (!opts)
    opts = &defaults;
  int r = 0;
  /* Scratch: bin alone (the first entry). */
  size_t ndirs = opts->scratch ? 1 : sizeof(tree_dirs) / sizeof(*tree_dirs);
  for (size_t i = 0; r == 0 && i < ndirs; i++) {
    char p[4200];
    snprintf(p, sizeof(p), "%s/%s", root, tree_dirs[i].path);
    r = mkdir(p, 0755) < 0 || chmod(p, tree_dirs[i].mode) < 0 ? -1 : 0;
  }
  for (size_t i = 0; r == 0 && !opts->scratch && i < sizeof(tree_files) / sizeof(*tree_files); i++)
    r = put(root, tree_files[i].path, tree_files[i].text, strlen(tree_files[i].text), 0644);
  for (size_t i = 0; r == 0 && opts->dirs && opts->dirs[i]; i++) {
    char p[4200];
    snprintf(p, sizeof(p), "%s/%s", root, opts->dirs[i]);
    r = mkdir(p, 0755);
  }
  if (r == 0)
    r = plant_links(root, opts->links);
  if (r == 0 && add_busybox(root, busybox, !opts->scratch) < 0) {
    fprintf(stderr, "# busybox image: cannot use %s (%s): install busybox-static\n", busybox,
            strerror(errno));
    r = VMCTR_EIO;
  } else if (r < 0) {
    fprintf(stderr, "# busybox image: cannot assemble the tree in %s: %s\n", root, strerror(errno));
    r = VMCTR_EIO;
  } else {
    vmctr_image_build_options bo = VMCTR_IMAGE_BUILD_OPTIONS_INIT;
    bo.cmd = opts->scratch ? scratch_cmd : cmd;
    bo.env = env;
    r = vmctr_image_build_from_dir(root, layout_dir, &bo);
    if (r < 0)
      fprintf(stderr, "# busybox image: %s\n", vmctr_error_last()->message);
  }
  tu_rm_rf(root);
  return r;
}
