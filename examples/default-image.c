/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "default-image.h"

static int copy_file(const char *from, const char *to, mode_t mode) {
  int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
  if (in < 0)
    return -1;
  out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  char buf[65536];
  ssize_t n;
  while (out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
    if (write(out, buf, (size_t)n) != n)
      goto done;
  rc = out >= 0 && n == 0 ? 0 : -1;
done:
  close(in);
  if (out >= 0 && close(out) < 0)
    rc = -1;
  return rc;
}

static int write_text(const char *dir, const char *rel, const char *text) {
  char p[4096];
  snprintf(p, sizeof(p), "%s/%s", dir, rel);
  FILE *f = fopen(p, "we");
  if (!f)
    return -1;
  fputs(text, f);
  return fclose(f);
}

/* The applet names, from `busybox --list`. */
static char *applets(const char *busybox) {
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0)
    return NULL;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pfd[1], 1);
    execl(busybox, "busybox", "--list", (char *)NULL);
    _exit(127);
  }
  close(pfd[1]);
  size_t cap = 65536, len = 0;
  char *out = malloc(cap);
  ssize_t n;
  while (out && (n = read(pfd[0], out + len, cap - len - 1)) > 0)
    if ((len += (size_t)n) + 1 >= cap)
      break;
  close(pfd[0]);
  int st;
  waitpid(pid, &st, 0);
  if (!out || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    free(out);
    return NULL;
  }
  out[len] = '\0';
  return out;
}

static int make_rootfs(const char *root, const char *busybox) {
  static const char *dirs[] = {"bin", "etc", "tmp", "root", "proc", "sys", "dev", "run",
                               "var", "var/tmp", "home", "mnt", "usr", "usr/bin", "sbin"};
  for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
    if (mkdir(p, 0755) < 0)
      return -1;
  }
  char p[4096], q[4096];
  snprintf(p, sizeof(p), "%s/tmp", root);
  chmod(p, 01777);
  snprintf(p, sizeof(p), "%s/var/tmp", root);
  chmod(p, 01777);
  snprintf(p, sizeof(p), "%s/root", root);
  chmod(p, 0700);
  snprintf(p, sizeof(p), "%s/bin/busybox", root);
  if (copy_file(busybox, p, 0755) < 0)
    return -1;
  char *list = applets(busybox);
  if (!list)
    return -1;
  for (char *save, *a = strtok_r(list, "\n", &save); a; a = strtok_r(NULL, "\n", &save)) {
    if (strcmp(a, "busybox") == 0 || strchr(a, '/'))
      continue;
    snprintf(q, sizeof(q), "%s/bin/%s", root, a);
    if (symlink("busybox", q) < 0 && errno != EEXIST) {
      free(list);
      return -1;
    }
  }
  free(list);
  if (write_text(root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                                     "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n") < 0 ||
      write_text(root, "etc/group", "root:x:0:\nnogroup:x:65534:\n") < 0 ||
      write_text(root, "etc/hostname", "vmctr\n") < 0)
    return -1;
  return 0;
}

int example_default_image(const char *store_dir, char **layout_out, struct example_progress *prog) {
  char *dir = NULL, *layout = NULL, *tmproot = NULL;
  int r = -1;
  if (asprintf(&dir, "%s/default-image", store_dir) < 0 ||
      asprintf(&layout, "%s/busybox", dir) < 0)
    goto out;
  struct stat st;
  char index[4096];
  snprintf(index, sizeof(index), "%s/index.json", layout);
  if (stat(index, &st) == 0) { /* the writer publishes whole layouts only */
    *layout_out = layout;
    layout = NULL;
    r = 0;
    goto out;
  }
  mkdir(store_dir, 0700);
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    goto out;
  if (asprintf(&tmproot, "%s/rootfs-XXXXXX", dir) < 0 || !mkdtemp(tmproot))
    goto out;
  const char *busybox = getenv("VMCTR_BUSYBOX");
  if (!busybox || !*busybox)
    busybox = "/bin/busybox";
  if (make_rootfs(tmproot, busybox) < 0) {
    fprintf(stderr, "vmctr-run: cannot assemble the default image from %s: %s "
                    "(install busybox-static)\n", busybox, strerror(errno));
    r = -1;
    goto out;
  }
  static const char *cmd[] = {"sh", NULL};
  static const char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
  vmctr_image_build_options bo = VMCTR_IMAGE_BUILD_OPTIONS_INIT;
  bo.cmd = cmd;
  bo.env = env;
  bo.progress = example_progress_fn;
  bo.userdata = prog;
  prog->what = "building default image";
  r = vmctr_image_build_from_dir(tmproot, layout, &bo);
  example_progress_end(prog);
  if (r < 0 && vmctr_error_last()->code == VMCTR_EEXIST && stat(index, &st) == 0)
    r = 0; /* another vmctr-run built it meanwhile */
  if (r == 0) {
    *layout_out = layout;
    layout = NULL;
  }
out:
  if (tmproot) {
    char *argv[] = {"rm", "-rf", "--one-file-system", tmproot, NULL};
    pid_t pid = fork();
    if (pid == 0) {
      execvp("rm", argv);
      _exit(127);
    }
    if (pid > 0)
      waitpid(pid, NULL, 0);
  }
  free(tmproot);
  free(layout);
  free(dir);
  return r < 0 ? (r == -1 ? VMCTR_EIO : r) : 0;
}
