/* SPDX-License-Identifier: MIT */
/*
 * The typed agent operations (lib/agent/ops.h) against the real vmctr-init in
 * --agent-fd mode, checking their effects. As root, the agent runs in private
 * mount and UTS namespaces, so MOUNT, SET_HOSTNAME and sysctl writes stay
 * there; SET_TIME runs in an agent without CAP_SYS_TIME, so the host's clock
 * is never touched. argv[1]: the vmctr-init to run.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/ops.h"
#include "testutil.h"
#include "vmctr/error.h"

#define T 20000
#define CAP_SYS_TIME_NR 25

static const char *init_path;
static bool is_root;

enum { AG_PRIVATE_NS = 1 << 0, AG_NO_SYS_TIME = 1 << 1 };

typedef struct agent {
  vmctr__agent *a;
  pid_t pid;
} agent;

static void agent_open(agent *g, int flags) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  g->pid = fork();
  assert_true(g->pid >= 0);
  if (g->pid == 0) {
    if ((flags & AG_PRIVATE_NS) && (unshare(CLONE_NEWNS | CLONE_NEWUTS) < 0 ||
                                    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0))
      _exit(126);
    if ((flags & AG_NO_SYS_TIME) && prctl(PR_CAPBSET_DROP, CAP_SYS_TIME_NR, 0, 0, 0) < 0)
      _exit(126);
    dup2(sv[1], 3);
    execl(init_path, init_path, "--agent-fd", "3", (char *)NULL);
    _exit(127);
  }
  close(sv[1]);
  assert_int_equal(vmctr__agent_connect(&g->a, sv[0], T), 0);
}

/* Free the connection; vmctr-init must leave cleanly. */
static void agent_close(agent *g) {
  int st = -1;
  vmctr__agent_free(g->a);
  g->a = NULL;
  assert_int_equal(waitpid(g->pid, &st, 0), g->pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void expect_guest_error(int r, int code) {
  assert_int_equal(r, code);
  assert_non_null(strstr(vmctr_error_last()->message, "guest: "));
}

static void expect_guest_failure(int r) {
  assert_true(r < 0);
  assert_non_null(strstr(vmctr_error_last()->message, "guest: "));
}

/* A stdout/stderr stream into a pipe; returns the read end. */
static int out_stream(vmctr__agent *a, uint32_t *id) {
  int p[2];
  assert_int_equal(vmctr__agent_stream_new(a, id), 0);
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  assert_int_equal(vmctr__agent_stream_recv_fd(a, *id, p[1]), 0);
  return p[0];
}

/* Read fd until EOF (closed) or until `until` shows up; NUL-terminated. */
static size_t read_until(int fd, char *buf, size_t size, size_t len, const char *until) {
  while (len + 1 < size && !(until && memmem(buf, len, until, strlen(until)))) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, T), 1);
    ssize_t n = read(fd, buf + len, size - 1 - len);
    assert_true(n >= 0);
    if (n == 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  return len;
}

/* Exit code, or -signal. */
static int wait_pid(vmctr__agent *a, uint32_t pid) {
  uint32_t id;
  int32_t code, sig;
  assert_int_equal(vmctr__agent_wait_begin(a, pid, &id), 0);
  assert_int_equal(vmctr__agent_wait_end(a, id, T, &code, &sig), 0);
  assert_true((code >= 0) != (sig >= 0));
  return code >= 0 ? code : -sig;
}

/* sh -c script as root with its stdout in out; returns the exit code. */
static int run_sh(vmctr__agent *a, const char *script, char *out, size_t size) {
  uint32_t so, pid;
  int fd = out_stream(a, &so);
  char *argv[] = {"sh", "-c", (char *)script, NULL};
  vmctr__agent_spawn_args s = {.argv = argv, .stdout_stream = so, .stderr_stream = so};
  assert_int_equal(vmctr__agent_spawn(a, &s, T, &pid), 0);
  read_until(fd, out, size, 0, NULL);
  close(fd);
  return wait_pid(a, pid);
}

static void test_mkdir_write_file(void **state) {
  (void)state;
  agent g;
  char dir[64], path[128], file[160], buf[64] = {0};
  struct stat st, st2;
  assert_int_equal(tu_tmpdir(dir, sizeof(dir), "vmctr-ops"), 0);
  agent_open(&g, 0);
  assert_int_equal(vmctr__agent_ping(g.a, T), 0);

  snprintf(path, sizeof(path), "%s/a/b/c", dir);
  assert_int_equal(vmctr__agent_mkdir(g.a, path, 0750, T), 0);
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0750);
  assert_int_equal(vmctr__agent_mkdir(g.a, path, 0750, T), 0); /* mkdir -p: exists is fine */

  snprintf(file, sizeof(file), "%s/f", path);
  assert_int_equal(vmctr__agent_write_file(g.a, file, "first!!", 7, 0640, 0, T), 0);
  assert_int_equal(stat(file, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0640);
  assert_int_equal(vmctr__agent_write_file(g.a, file, "second", 6, 0604, 0, T), 0);
  assert_int_equal(stat(file, &st2), 0);
  assert_int_equal(st2.st_mode & 07777, 0604);
  assert_int_not_equal(st.st_ino, st2.st_ino); /* replaced, not rewritten */
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(read(fd, buf, sizeof(buf)), 6);
  close(fd);
  assert_string_equal(buf, "second");

  /* In place: the same inode and mode, the content truncated and rewritten. */
  assert_int_equal(vmctr__agent_write_file(g.a, file, "in", 2, 0777, VMCTR__AGENT_WRITE_IN_PLACE, T), 0);
  assert_int_equal(stat(file, &st), 0);
  assert_int_equal(st.st_ino, st2.st_ino);
  assert_int_equal(st.st_mode & 07777, 0604);
  memset(buf, 0, sizeof(buf));
  fd = open(file, O_RDONLY | O_CLOEXEC);
  assert_int_equal(read(fd, buf, sizeof(buf)), 2);
  close(fd);
  assert_string_equal(buf, "in");

  /* The guest's errors come back with its message. */
  snprintf(file, sizeof(file), "%s/missing/f", dir);
  expect_guest_error(vmctr__agent_write_file(g.a, file, "x", 1, 0644, 0, T), VMCTR_ENOENT);
  assert_non_null(strstr(vmctr_error_last()->message, file));
  snprintf(file, sizeof(file), "%s/nothere", dir);
  expect_guest_error(vmctr__agent_write_file(g.a, file, "x", 1, 0644, VMCTR__AGENT_WRITE_IN_PLACE, T),
                     VMCTR_ENOENT);
  assert_int_equal(access(file, F_OK), -1);
  snprintf(file, sizeof(file), "%s/a/b/c/f/sub", dir);
  expect_guest_failure(vmctr__agent_mkdir(g.a, file, 0755, T)); /* under a file */
  assert_int_equal(vmctr__agent_mkdir(g.a, "relative", 0755, T), VMCTR_EINVAL);
  agent_close(&g);
  assert_int_equal(tu_rm_rf(dir), 0);
}

static void test_mount(void **state) {
  (void)state;
  if (!is_root)
    skip();
  agent g;
  char dir[64], target[128], file[160], buf[4096];
  assert_int_equal(tu_tmpdir(dir, sizeof(dir), "vmctr-ops"), 0);
  agent_open(&g, AG_PRIVATE_NS);
  snprintf(target, sizeof(target), "%s/mnt/deep", dir);
  vmctr__agent_mount_args m = {.source = "vmctr-ops", .target = target, .fstype = "tmpfs",
                               .flags = MS_NOSUID | MS_NODEV, .data = "size=1m,mode=0711",
                               .mkdir = true};
  assert_int_equal(vmctr__agent_mount(g.a, &m, T), 0);

  /* Mounted in the agent's namespace, with the options, and not in ours. */
  char mounts[64];
  snprintf(mounts, sizeof(mounts), "/proc/%d/mounts", (int)g.pid);
  FILE *f = fopen(mounts, "re");
  assert_non_null(f);
  bool found = false;
  while (fgets(buf, sizeof(buf), f)) {
    char src[256], tgt[256], type[64], opts[512];
    if (sscanf(buf, "%255s %255s %63s %511s", src, tgt, type, opts) == 4 &&
        strcmp(tgt, target) == 0) {
      found = true;
      assert_string_equal(src, "vmctr-ops");
      assert_string_equal(type, "tmpfs");
      assert_non_null(strstr(opts, "nosuid"));
      assert_non_null(strstr(opts, "nodev"));
      assert_non_null(strstr(opts, "size=1024k"));
      assert_non_null(strstr(opts, "mode=711"));
    }
  }
  fclose(f);
  assert_true(found);
  f = fopen("/proc/self/mounts", "re");
  assert_non_null(f);
  while (fgets(buf, sizeof(buf), f))
    assert_null(strstr(buf, target));
  fclose(f);

  /* A file written there lives on the tmpfs, seen through the agent's root. */
  snprintf(file, sizeof(file), "%s/hello", target);
  assert_int_equal(vmctr__agent_write_file(g.a, file, "tmpfs!", 6, 0600, 0, T), 0);
  assert_int_equal(access(file, F_OK), -1);
  snprintf(buf, sizeof(buf), "/proc/%d/root%s", (int)g.pid, file);
  int fd = open(buf, O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  char content[16] = {0};
  assert_int_equal(read(fd, content, sizeof(content)), 6);
  close(fd);
  assert_string_equal(content, "tmpfs!");

  /* mkdir=false on a missing target, and an unknown file system, fail in the guest. */
  snprintf(target, sizeof(target), "%s/none", dir);
  m = (vmctr__agent_mount_args){.source = "x", .target = target, .fstype = "tmpfs"};
  expect_guest_error(vmctr__agent_mount(g.a, &m, T), VMCTR_ENOENT);
  m = (vmctr__agent_mount_args){.source = "x", .target = dir, .fstype = "vmctr-no-such-fs"};
  assert_true(vmctr__agent_mount(g.a, &m, T) < 0);
  assert_non_null(strstr(vmctr_error_last()->message, "guest: mount x (vmctr-no-such-fs)"));
  agent_close(&g); /* the namespace, and the mount, go with the agent */
  assert_int_equal(tu_rm_rf(dir), 0);
}

static void test_hostname(void **state) {
  (void)state;
  if (!is_root)
    skip();
  agent g;
  char before[128] = {0}, after[128] = {0}, out[256];
  assert_int_equal(gethostname(before, sizeof(before) - 1), 0);
  agent_open(&g, AG_PRIVATE_NS);
  assert_int_equal(vmctr__agent_set_hostname(g.a, "vmctr-ops-test", T), 0);
  assert_int_equal(run_sh(g.a, "cat /proc/sys/kernel/hostname", out, sizeof(out)), 0);
  assert_string_equal(out, "vmctr-ops-test\n");
  /* A sysctl is written in place. */
  assert_int_equal(vmctr__agent_write_file(g.a, "/proc/sys/kernel/hostname", "vmctr-sysctl", 12, 0644,
                                           VMCTR__AGENT_WRITE_IN_PLACE, T), 0);
  assert_int_equal(run_sh(g.a, "hostname", out, sizeof(out)), 0);
  assert_string_equal(out, "vmctr-sysctl\n");
  assert_int_equal(vmctr__agent_set_hostname(g.a, "", T), VMCTR_EINVAL);
  agent_close(&g);
  assert_int_equal(gethostname(after, sizeof(after) - 1), 0);
  assert_string_equal(before, after);
}

static void test_set_time(void **state) {
  (void)state;
  if (!is_root)
    skip();
  agent g;
  struct timespec ts;
  agent_open(&g, AG_NO_SYS_TIME);
  clock_gettime(CLOCK_REALTIME, &ts);
  /* The guest read TIME_NS (else EINVAL) and called clock_settime, which said no. */
  expect_guest_error(vmctr__agent_set_time(g.a, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, T),
                     VMCTR_EPERM);
  assert_int_equal(vmctr__agent_ping(g.a, T), 0);
  agent_close(&g);
}

static void test_spawn_identity(void **state) {
  (void)state;
  if (!is_root)
    skip();
  agent g;
  uint32_t so, se, pid;
  char out[1024], err[256];
  agent_open(&g, 0);
  int fo = out_stream(g.a, &so), fe = out_stream(g.a, &se);
  char *argv[] = {"sh", "-c",
                  "echo $FOO; pwd; grep -E '^(Uid|Gid|Groups|NoNewPrivs):' /proc/self/status; "
                  "ulimit -Sn; ulimit -Hn; echo oops >&2; exit 3", NULL};
  char *env[] = {"FOO=bar baz", "PATH=/usr/bin:/bin", NULL};
  uint32_t gids[] = {65534, 100};
  vmctr__agent_rlimit rl[] = {{7 /* RLIMIT_NOFILE */, 100, 200}};
  vmctr__agent_spawn_args s = {.argv = argv, .env = env, .cwd = "/tmp", .uid = 65534, .gid = 65534,
                               .gids = gids, .ngids = 2, .stdout_stream = so, .stderr_stream = se,
                               .rlimits = rl, .nrlimits = 1, .no_new_privs = true};
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &pid), 0);
  assert_int_not_equal(pid, 0);
  read_until(fo, out, sizeof(out), 0, NULL);
  read_until(fe, err, sizeof(err), 0, NULL);
  close(fo);
  close(fe);
  assert_int_equal(wait_pid(g.a, pid), 3);
  assert_string_equal(err, "oops\n");
  assert_non_null(strstr(out, "bar baz\n/tmp\n"));
  assert_non_null(strstr(out, "Uid:\t65534\t65534\t65534\t65534\n"));
  assert_non_null(strstr(out, "Gid:\t65534\t65534\t65534\t65534\n"));
  assert_non_null(strstr(out, "Groups:\t100 65534"));
  assert_non_null(strstr(out, "NoNewPrivs:\t1\n"));
  assert_non_null(strstr(out, "\n100\n200\n"));

  /* A missing program is the guest's ENOENT. */
  char *missing[] = {"vmctr-no-such-program", NULL};
  s = (vmctr__agent_spawn_args){.argv = missing};
  expect_guest_error(vmctr__agent_spawn(g.a, &s, T, &pid), VMCTR_ENOENT);
  agent_close(&g);
}

static void test_signal_wait(void **state) {
  (void)state;
  agent g;
  uint32_t pid, id, id2;
  int32_t code, sig;
  char *argv[] = {"sleep", "100", NULL};
  vmctr__agent_spawn_args s = {.argv = argv};
  agent_open(&g, 0);
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &pid), 0);
  assert_int_equal(vmctr__agent_wait_begin(g.a, pid, &id), 0);
  assert_int_equal(vmctr__agent_wait_end(g.a, id, 100, &code, &sig), VMCTR_ETIMEDOUT);
  assert_int_equal(vmctr__agent_signal(g.a, pid, 0, T), VMCTR_EINVAL);
  assert_int_equal(vmctr__agent_signal(g.a, pid, 65, T), VMCTR_EINVAL);
  assert_int_equal(kill((pid_t)pid, 0), 0); /* agent-fd mode: a host pid */
  assert_int_equal(vmctr__agent_signal(g.a, pid, SIGTERM, T), 0);
  assert_int_equal(vmctr__agent_wait_end(g.a, id, T, &code, &sig), 0);
  assert_int_equal(code, -1);
  assert_int_equal(sig, SIGTERM);
  assert_true(vmctr__agent_signal(g.a, pid, SIGTERM, T) < 0); /* gone */

  /* A cancelled WAIT is forgotten; another one still gets the answer. */
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &pid), 0);
  assert_int_equal(vmctr__agent_wait_begin(g.a, pid, &id), 0);
  vmctr__agent_wait_cancel(g.a, id);
  assert_int_equal(vmctr__agent_wait_begin(g.a, pid, &id2), 0);
  assert_int_equal(vmctr__agent_signal(g.a, pid, SIGKILL, T), 0);
  assert_int_equal(vmctr__agent_wait_end(g.a, id2, T, &code, &sig), 0);
  assert_int_equal(sig, SIGKILL);
  assert_int_equal(vmctr__agent_wait_end(g.a, id, T, &code, &sig), VMCTR_ENOENT);

  /* Exit codes. */
  char *sh[] = {"sh", "-c", "exit 42", NULL};
  s = (vmctr__agent_spawn_args){.argv = sh};
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &pid), 0);
  assert_int_equal(wait_pid(g.a, pid), 42);
  assert_int_equal(vmctr__agent_ping(g.a, T), 0);
  agent_close(&g);
}

static void test_stdin_close(void **state) {
  (void)state;
  agent g;
  uint32_t in, so, pid;
  char out[256];
  agent_open(&g, 0);
  assert_int_equal(vmctr__agent_stream_new(g.a, &in), 0);
  int fo = out_stream(g.a, &so);
  char *argv[] = {"sh", "-c", "read x; echo got $x; cat; echo done", NULL};
  vmctr__agent_spawn_args s = {.argv = argv, .stdin_stream = in, .stdout_stream = so};
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &pid), 0);
  assert_int_equal(vmctr__agent_stream_write(g.a, in, "line\n", 5), 0);
  size_t n = read_until(fo, out, sizeof(out), 0, "got line\n");
  assert_string_equal(out, "got line\n");
  assert_int_equal(vmctr__agent_close_stdin(g.a, pid, T), 0); /* cat sees EOF */
  read_until(fo, out, sizeof(out), n, NULL);
  close(fo);
  assert_string_equal(out, "got line\ndone\n");
  assert_int_equal(wait_pid(g.a, pid), 0);
  agent_close(&g);
}

static void test_pty_resize(void **state) {
  (void)state;
  agent g;
  uint32_t in, so, pid;
  char out[512];
  agent_open(&g, 0);
  assert_int_equal(vmctr__agent_stream_new(g.a, &in), 0);
  int fo = out_stream(g.a, &so);
  char *argv[] = {"sh", "-c", "stty size; read x; stty size; test -t 0 && echo tty", NULL};
  vmctr__agent_spawn_args s = {.argv = argv, .stdin_stream = in, .stdout_stream = so, .pty = true,
                               .rows = 24, .cols = 80};
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &pid), 0);
  size_t n = read_until(fo, out, sizeof(out), 0, "24 80");
  assert_int_equal(vmctr__agent_resize(g.a, pid, 50, 132, T), 0);
  assert_int_equal(vmctr__agent_resize(g.a, pid, 0, 132, T), VMCTR_EINVAL);
  assert_int_equal(vmctr__agent_stream_write(g.a, in, "\n", 1), 0);
  read_until(fo, out, sizeof(out), n, NULL);
  close(fo);
  assert_non_null(strstr(out, "50 132"));
  assert_non_null(strstr(out, "tty"));
  assert_int_equal(wait_pid(g.a, pid), 0);

  /* Without a pty, the guest refuses. */
  char *sl[] = {"sleep", "100", NULL};
  s = (vmctr__agent_spawn_args){.argv = sl};
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &pid), 0);
  expect_guest_failure(vmctr__agent_resize(g.a, pid, 10, 10, T));
  assert_int_equal(vmctr__agent_signal(g.a, pid, SIGKILL, T), 0);
  assert_int_equal(wait_pid(g.a, pid), -SIGKILL);
  agent_close(&g);
}

/* A new container (root + namespaces + hostname), then a process joining it. */
/* A file share's MOUNT (VMCTR_AT_SHARE_FILE): a bind of a directory stands
 * in for the virtiofs share. The entry lands on a file inside the root (an
 * existing one replaced, a missing one made with its parents), nothing of
 * the share's other entries is reachable there, and no staging mount or
 * directory is left. A directory target and a missing entry fail. */
static void test_file_share_mount(void **state) {
  (void)state;
  if (!is_root)
    skip();
  agent g;
  char dir[64], share[96], root[96], cmd[400], p[256], buf[4096];
  assert_int_equal(tu_tmpdir(dir, sizeof(dir), "vmctr-ops-fs"), 0);
  snprintf(share, sizeof(share), "%s/share", dir);
  snprintf(root, sizeof(root), "%s/root", dir);
  snprintf(cmd, sizeof(cmd),
           "mkdir -p %s %s/etc %s/adir && printf shared > %s/file && printf no > %s/other && "
           "printf image > %s/etc/hosts",
           share, root, root, share, share, root);
  assert_int_equal(system(cmd), 0);
  agent_open(&g, AG_PRIVATE_NS);
  vmctr__agent_mount_args m = {.source = share, .target = "/etc/hosts", .flags = MS_BIND,
                               .mkdir = true, .root = root, .file = "file"};
  assert_int_equal(vmctr__agent_mount(g.a, &m, T), 0);
  m.target = "/new/deep/f";
  assert_int_equal(vmctr__agent_mount(g.a, &m, T), 0);
  static const char *const targets[] = {"/etc/hosts", "/new/deep/f"};
  for (size_t i = 0; i < 2; i++) {
    snprintf(p, sizeof(p), "/proc/%d/root%s%s", (int)g.pid, root, targets[i]);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    char content[16] = {0};
    assert_int_equal(read(fd, content, sizeof(content)), 6);
    close(fd);
    assert_string_equal(content, "shared");
  }
  /* Our namespace still sees the image's file. */
  snprintf(p, sizeof(p), "%s/etc/hosts", root);
  FILE *f = fopen(p, "re");
  assert_non_null(f);
  assert_non_null(fgets(buf, sizeof(buf), f));
  fclose(f);
  assert_string_equal(buf, "image");
  /* The agent's mounts: the two binds, no staging mount. */
  snprintf(p, sizeof(p), "/proc/%d/mountinfo", (int)g.pid);
  f = fopen(p, "re");
  assert_non_null(f);
  int binds = 0;
  while (fgets(buf, sizeof(buf), f)) {
    assert_null(strstr(buf, "vmctr-stage"));
    binds += strstr(buf, "/etc/hosts ") || strstr(buf, "/new/deep/f ");
  }
  fclose(f);
  assert_int_equal(binds, 2);
  /* No staging directory is left in /run. */
  snprintf(cmd, sizeof(cmd), "ls -d /proc/%d/root/run/vmctr-stage-* 2>/dev/null | wc -l",
           (int)g.pid);
  f = popen(cmd, "r");
  assert_non_null(f);
  assert_non_null(fgets(buf, sizeof(buf), f));
  pclose(f);
  assert_string_equal(buf, "0\n");

  /* A directory there, or no such entry in the share: refused. */
  m.target = "/adir";
  expect_guest_error(vmctr__agent_mount(g.a, &m, T), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "a file share needs a file"));
  m.target = "/etc/x";
  m.file = "missing";
  expect_guest_failure(vmctr__agent_mount(g.a, &m, T));
  assert_non_null(strstr(vmctr_error_last()->message, "has no regular file \"missing\""));
  /* Not one component: refused before sending. */
  m.file = "../x";
  assert_int_equal(vmctr__agent_mount(g.a, &m, T), VMCTR_EINVAL);
  agent_close(&g);
  assert_int_equal(tu_rm_rf(dir), 0);
}

static void test_container(void **state) {
  (void)state;
  if (!is_root || access("/bin/busybox", X_OK) != 0)
    skip(); /* needs root (namespaces, mounts) and busybox-static */
  char root[64], cmd[600], out[1024], out2[256];
  assert_int_equal(tu_tmpdir(root, sizeof(root), "vmctr-ops-root"), 0);
  snprintf(cmd, sizeof(cmd),
           "mkdir -p %s/bin %s/etc && cp /bin/busybox %s/bin/busybox && "
           "for x in sh hostname cat sleep echo; do ln -s busybox %s/bin/$x; done",
           root, root, root, root);
  assert_int_equal(system(cmd), 0);
  agent g;
  uint32_t so, so2, pid, jpid;
  agent_open(&g, 0);
  int fo = out_stream(g.a, &so);
  char *argv[] = {"sh", "-c", "hostname; echo pid $$; echo ready; exec sleep 100", NULL};
  char *env[] = {"PATH=/bin", NULL};
  vmctr__agent_spawn_args s = {
    .argv = argv, .env = env, .stdout_stream = so, .root = root,
    .namespaces = VMCTR__AGENT_NS_MOUNT | VMCTR__AGENT_NS_UTS | VMCTR__AGENT_NS_IPC |
                  VMCTR__AGENT_NS_PID,
    .hostname = "vmctr-ctr"};
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &pid), 0);
  read_until(fo, out, sizeof(out), 0, "ready\n");
  assert_string_equal(out, "vmctr-ctr\npid 1\nready\n");

  int fo2 = out_stream(g.a, &so2);
  char *argv2[] = {"sh", "-c", "hostname; test -x /bin/busybox && echo in-root", NULL};
  s = (vmctr__agent_spawn_args){.argv = argv2, .env = env, .stdout_stream = so2, .join_pid = pid};
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &jpid), 0);
  read_until(fo2, out2, sizeof(out2), 0, NULL);
  close(fo2);
  assert_int_equal(wait_pid(g.a, jpid), 0);
  assert_string_equal(out2, "vmctr-ctr\nin-root\n");

  assert_int_equal(vmctr__agent_signal(g.a, pid, SIGKILL, T), 0);
  assert_int_equal(wait_pid(g.a, pid), -SIGKILL);
  close(fo);
  agent_close(&g);
  assert_int_equal(tu_rm_rf(root), 0);
}

#if defined(__x86_64__)
/* A caller's seccomp program (SECCOMP_FILTER): mkdir and mkdirat get ENOSYS,
 * the rest is allowed, in a new container (installed while privileged) and
 * in a process joining it with no_new_privs (installed last); programs the
 * guest or the kernel refuse fail the SPAWN. */
static void test_container_filter(void **state) {
  (void)state;
  if (!is_root || access("/bin/busybox", X_OK) != 0)
    skip();
  char root[64], cmd[600], out[1024], out2[512];
  assert_int_equal(tu_tmpdir(root, sizeof(root), "vmctr-ops-filter"), 0);
  snprintf(cmd, sizeof(cmd),
           "mkdir -p %s/bin %s/etc %s/proc %s/tmp && cp /bin/busybox %s/bin/busybox && "
           "for x in sh cat sleep echo mkdir grep; do ln -s busybox %s/bin/$x; done",
           root, root, root, root, root, root);
  assert_int_equal(system(cmd), 0);
  struct sock_filter prog[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdir, 1, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdirat, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  agent g;
  uint32_t so, so2, pid, jpid;
  agent_open(&g, 0);
  int fo = out_stream(g.a, &so);
  char *argv[] = {"sh", "-c", "mkdir /tmp/a 2>&1; echo mkdir=$?; echo ready; exec sleep 100", NULL};
  char *env[] = {"PATH=/bin", NULL};
  vmctr__agent_spawn_args s = {
    .argv = argv, .env = env, .stdout_stream = so, .root = root,
    .namespaces = VMCTR__AGENT_NS_MOUNT | VMCTR__AGENT_NS_PID,
    .has_security = true, .caps = VMCTR_AGENT_CAPS_DEFAULT, .seccomp = VMCTR_ASECCOMP_DEFAULT,
    .seccomp_filter = prog, .seccomp_filter_len = sizeof(prog)};
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &pid), 0);
  read_until(fo, out, sizeof(out), 0, "ready\n");
  assert_non_null(strstr(out, "Function not implemented"));
  assert_non_null(strstr(out, "mkdir=1\n"));

  int fo2 = out_stream(g.a, &so2);
  char *argv2[] = {"sh", "-c", "mkdir /tmp/b 2>&1; echo mkdir=$?; "
                   "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status", NULL};
  s = (vmctr__agent_spawn_args){.argv = argv2, .env = env, .stdout_stream = so2, .join_pid = pid,
                                .no_new_privs = true, .has_security = true,
                                .caps = VMCTR_AGENT_CAPS_DEFAULT, .seccomp = VMCTR_ASECCOMP_DEFAULT,
                                .seccomp_filter = prog, .seccomp_filter_len = sizeof(prog)};
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &jpid), 0);
  read_until(fo2, out2, sizeof(out2), 0, NULL);
  close(fo2);
  assert_int_equal(wait_pid(g.a, jpid), 0);
  assert_non_null(strstr(out2, "Function not implemented"));
  assert_non_null(strstr(out2, "mkdir=1\n"));
  assert_non_null(strstr(out2, "NoNewPrivs:\t1\n"));
  assert_non_null(strstr(out2, "Seccomp:\t2\n"));

  /* A jump past the end: the guest's own check. */
  struct sock_filter bad[] = {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 0),
                              BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  s.seccomp_filter = bad;
  s.seccomp_filter_len = sizeof(bad);
  expect_guest_error(vmctr__agent_spawn(g.a, &s, T, &jpid), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "jump"));
  /* An opcode the kernel refuses: the SPAWN fails at installing it. */
  struct sock_filter bad2[] = {{0xffff, 0, 0, 0}, BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  s.seccomp_filter = bad2;
  s.seccomp_filter_len = sizeof(bad2);
  expect_guest_error(vmctr__agent_spawn(g.a, &s, T, &jpid), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "seccomp"));
  /* Host-side checks: a partial instruction, no container. */
  s.seccomp_filter_len = 12;
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &jpid), VMCTR_EINVAL);
  s = (vmctr__agent_spawn_args){.argv = argv2, .seccomp_filter = prog,
                                .seccomp_filter_len = sizeof(prog)};
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &jpid), VMCTR_EINVAL);

  assert_int_equal(vmctr__agent_signal(g.a, pid, SIGKILL, T), 0);
  assert_int_equal(wait_pid(g.a, pid), -SIGKILL);
  close(fo);
  agent_close(&g);
  assert_int_equal(tu_rm_rf(root), 0);
}
#endif
/* A new container's own masked and read-only paths (SPAWN PATHS): they
 * replace the defaults; a masked file reads empty, a masked directory is
 * empty and read-only, a read-only path refuses writes, missing paths are
 * skipped, and the default /proc/sys stays writable-mounted (not covered). */
static void test_container_paths(void **state) {
  (void)state;
  if (!is_root || access("/bin/busybox", X_OK) != 0)
    skip();
  char root[64], cmd[700], out[1024];
  assert_int_equal(tu_tmpdir(root, sizeof(root), "vmctr-ops-paths"), 0);
  snprintf(cmd, sizeof(cmd),
           "mkdir -p %s/bin %s/etc %s/home/u %s/var/tmp && cp /bin/busybox %s/bin/busybox && "
           "for x in sh cat wc ls touch echo grep; do ln -s busybox %s/bin/$x; done && "
           "echo root:x:0: > %s/etc/group",
           root, root, root, root, root, root, root);
  assert_int_equal(system(cmd), 0);
  agent g;
  uint32_t so, pid;
  agent_open(&g, 0);
  int fo = out_stream(g.a, &so);
  char *argv[] = {"sh", "-c",
                  "wc -c < /etc/group; ls -A /home | wc -l; touch /home/x 2>&1; "
                  "echo x > /var/tmp/x 2>&1; echo x > /tmp-ok && echo writable; "
                  "grep -c ' /proc/sys ' /proc/self/mountinfo", NULL};
  char *env[] = {"PATH=/bin", NULL};
  char *masked[] = {"/etc/group", "/home", "/no/such", NULL}, *ro[] = {"/var", "/missing", NULL};
  vmctr__agent_spawn_args s = {
    .argv = argv, .env = env, .stdout_stream = so, .stderr_stream = so, .root = root,
    .namespaces = VMCTR__AGENT_NS_MOUNT | VMCTR__AGENT_NS_PID, .paths = VMCTR_APATHS_ALL,
    .masked = masked, .nmasked = 3, .readonly = ro, .nreadonly = 2};
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &pid), 0);
  read_until(fo, out, sizeof(out), 0, NULL);
  close(fo);
  assert_int_equal(wait_pid(g.a, pid), 1); /* grep -c found nothing */
  assert_non_null(strstr(out, "0\n0\n"));
  assert_non_null(strstr(out, "touch: /home/x: Read-only file system"));
  assert_non_null(strstr(out, "/var/tmp/x: Read-only file system"));
  assert_non_null(strstr(out, "writable\n0\n"));
  /* The host's files are untouched. */
  snprintf(cmd, sizeof(cmd), "%s/etc/group", root);
  struct stat st;
  assert_int_equal(stat(cmd, &st), 0);
  assert_true(st.st_size > 0);
  agent_close(&g);
  assert_int_equal(tu_rm_rf(root), 0);
}

static void test_too_big(void **state) {
  (void)state;
  agent g;
  uint32_t pid = 0;
  agent_open(&g, 0);
  /* vmctr-init takes 1 MiB frames: 20 x 60000 bytes of environment do not fit. */
  char *big = malloc(60001);
  assert_non_null(big);
  memset(big, 'x', 60000);
  memcpy(big, "BIG=", 4);
  big[60000] = '\0';
  char *env[21], *argv[] = {"true", NULL};
  for (int i = 0; i < 20; i++)
    env[i] = big;
  env[20] = NULL;
  vmctr__agent_spawn_args s = {.argv = argv, .env = env};
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &pid), VMCTR_ETOOBIG);
  assert_non_null(strstr(vmctr_error_last()->message,
                         "arguments plus environment must fit in 1048576 bytes"));
  /* Fifteen of them do, and the process sees them. */
  env[15] = NULL;
  assert_int_equal(vmctr__agent_spawn(g.a, &s, T, &pid), 0);
  assert_int_equal(wait_pid(g.a, pid), 0);
  free(big);
  agent_close(&g);
}

static bool died(vmctr__agent *a) {
  struct pollfd pfd = {.fd = vmctr__agent_state_fd(a), .events = POLLIN};
  return poll(&pfd, 1, T) == 1 && !vmctr__agent_alive(a);
}

static void test_poweroff(void **state) {
  (void)state;
  agent g;
  agent_open(&g, 0);
  /* A serial the guest has no disk of is ignored. */
  const char *eph[] = {"vmctr-mnt9"};
  assert_int_equal(vmctr__agent_poweroff(g.a, eph, 1, T), 0);
  /* Outside a VM the agent just leaves, and the connection ends. */
  assert_true(died(g.a));
  assert_int_equal(vmctr__agent_ping(g.a, T), VMCTR_EIO);
  agent_close(&g);
}

int main(int argc, char **argv) {
  if (argc < 2 || access(argv[1], X_OK) != 0) {
    printf("1..0 # SKIP vmctr-init not given\n");
    return 77;
  }
  init_path = argv[1];
  is_root = geteuid() == 0;
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_mkdir_write_file),
    cmocka_unit_test(test_mount),
    cmocka_unit_test(test_hostname),
    cmocka_unit_test(test_set_time),
    cmocka_unit_test(test_spawn_identity),
    cmocka_unit_test(test_signal_wait),
    cmocka_unit_test(test_stdin_close),
    cmocka_unit_test(test_pty_resize),
    cmocka_unit_test(test_container),
#if defined(__x86_64__)
    cmocka_unit_test(test_container_filter),
#endif
    cmocka_unit_test(test_file_share_mount),
      cmocka_unit_test(test_container),
      cmocka_unit_test(test_container_paths),
    cmocka_unit_test(test_too_big),
    cmocka_unit_test(test_poweroff),
  };
  return cmocka_run_group_tests_name("guest-ops", tests, NULL, NULL);
}
