/* SPDX-License-Identifier: MIT */
/*
 * Integration test of vmctr-init's agent: the real binary in --agent-fd mode
 * over a socketpair, driven frame by frame with lib/agent's codec.
 * argv[1]: the vmctr-init to run.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent-harness.h"
#include "testutil.h"

static const char *init_path;
#define T 20000 /* ms per wait */

static int setup(void **state) {
  h_conn *c = calloc(1, sizeof(*c));
  if (!c || h_open(c, init_path, VMCTR_AGENT_DEFAULT_WINDOW) < 0) {
    free(c);
    return -1;
  }
  *state = c;
  return 0;
}

static int teardown(void **state) {
  h_conn *c = *state;
  int st = h_close(c);
  int violations = c->violations;
  free(c);
  /* The agent leaves cleanly when the host closes, and never broke credit. */
  return (WIFEXITED(st) && WEXITSTATUS(st) == 0 && violations == 0) ? 0 : -1;
}

static void put_argv(vmctr__agent_buf *b, const char *first, va_list ap) {
  for (const char *s = first; s; s = va_arg(ap, const char *))
    vmctr__agent_put_str(b, VMCTR_AT_ARGV, s);
}

/* SPAWN argv with stdout/stderr streams (0 = none); returns pid, or -errno. */
static int64_t spawn(h_conn *c, uint32_t in, uint32_t out, uint32_t err, const char *first, ...) {
  vmctr__agent_buf b;
  vmctr__agent_msg m;
  uint8_t *keep;
  va_list ap;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_SPAWN);
  va_start(ap, first);
  put_argv(&b, first, ap);
  va_end(ap);
  vmctr__agent_put_u32(&b, VMCTR_AT_STDIN, in);
  vmctr__agent_put_u32(&b, VMCTR_AT_STDOUT, out);
  vmctr__agent_put_u32(&b, VMCTR_AT_STDERR, err);
  uint32_t id = h_request(c, &b);
  assert_int_equal(h_response(c, id, T, &m, &keep), 0);
  int32_t e = h_errno_of(&m);
  uint32_t pid = 0;
  if (e == 0)
    assert_int_equal(vmctr__agent_get_u32(&m, VMCTR_AT_PID, &pid), 0);
  vmctr__agent_msg_free(&m);
  free(keep);
  return e ? -(int64_t)e : (int64_t)pid;
}

static uint32_t simple_req(h_conn *c, uint32_t op, uint32_t pid, uint16_t tag, uint32_t v) {
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, op);
  vmctr__agent_put_u32(&b, VMCTR_AT_PID, pid);
  if (tag)
    vmctr__agent_put_u32(&b, tag, v);
  return h_request(c, &b);
}

/* WAIT: exit code >= 0, or -signal. */
static int wait_proc(h_conn *c, uint32_t pid) {
  vmctr__agent_msg m;
  uint8_t *keep;
  int32_t code = 0;
  uint32_t sig = 0;
  uint32_t id = simple_req(c, VMCTR_AOP_WAIT, pid, 0, 0);
  assert_int_equal(h_response(c, id, T, &m, &keep), 0);
  assert_int_equal(h_errno_of(&m), 0);
  int r;
  if (vmctr__agent_get_u32(&m, VMCTR_AT_TERM_SIGNAL, &sig) == 0) {
    r = -(int)sig;
  } else {
    assert_int_equal(vmctr__agent_get_i32(&m, VMCTR_AT_EXIT_CODE, &code), 0);
    r = code;
  }
  vmctr__agent_msg_free(&m);
  free(keep);
  return r;
}

static int32_t req_errno(h_conn *c, uint32_t id) {
  vmctr__agent_msg m;
  uint8_t *keep;
  assert_int_equal(h_response(c, id, T, &m, &keep), 0);
  int32_t e = h_errno_of(&m);
  vmctr__agent_msg_free(&m);
  free(keep);
  return e;
}

static void assert_stream(h_conn *c, uint32_t id, const char *want) {
  assert_true(h_wait_eof(c, id, T));
  h_stream *s = h_stream_get(c, id);
  assert_int_equal(s->len, strlen(want));
  assert_memory_equal(s->data, want, s->len);
}

static void test_handshake_ping(void **state) {
  h_conn *c = *state;
  assert_non_null(strstr(c->guest_info, "vmctr-init"));
  assert_true(c->guest_max_frame >= VMCTR_AGENT_MAX_FILE);
  assert_int_equal(c->guest_window, VMCTR_AGENT_DEFAULT_WINDOW);
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_PING);
  assert_int_equal(req_errno(c, h_request(c, &b)), 0);
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, 999);
  assert_int_equal(req_errno(c, h_request(c, &b)), ENOSYS);
}

static void test_echo(void **state) {
  h_conn *c = *state;
  int64_t pid = spawn(c, 0, 1, 2, "echo", "hello", NULL);
  assert_true(pid > 0);
  assert_int_equal(wait_proc(c, (uint32_t)pid), 0);
  assert_stream(c, 1, "hello\n");
  assert_stream(c, 2, "");
  /* Waited once: the status is gone. */
  assert_int_equal(req_errno(c, simple_req(c, VMCTR_AOP_WAIT, (uint32_t)pid, 0, 0)), ESRCH);
}

static void test_stdout_stderr_exit(void **state) {
  h_conn *c = *state;
  int64_t pid = spawn(c, 0, 1, 2, "sh", "-c", "echo out; echo err >&2; exit 3", NULL);
  assert_true(pid > 0);
  assert_int_equal(wait_proc(c, (uint32_t)pid), 3);
  assert_stream(c, 1, "out\n");
  assert_stream(c, 2, "err\n");
  /* Same id for both: merged into one stream. */
  pid = spawn(c, 0, 5, 5, "sh", "-c", "echo a; echo b >&2", NULL);
  assert_true(pid > 0);
  assert_int_equal(wait_proc(c, (uint32_t)pid), 0);
  assert_stream(c, 5, "a\nb\n");
}

static void test_signal(void **state) {
  h_conn *c = *state;
  int64_t pid = spawn(c, 0, 0, 0, "sleep", "100", NULL);
  assert_true(pid > 0);
  uint32_t w = simple_req(c, VMCTR_AOP_WAIT, (uint32_t)pid, 0, 0);
  assert_int_equal(req_errno(c, simple_req(c, VMCTR_AOP_SIGNAL, (uint32_t)pid, VMCTR_AT_SIGNO,
                                           SIGTERM)), 0);
  vmctr__agent_msg m;
  uint8_t *keep;
  uint32_t sig = 0;
  assert_int_equal(h_response(c, w, T, &m, &keep), 0);
  assert_int_equal(vmctr__agent_get_u32(&m, VMCTR_AT_TERM_SIGNAL, &sig), 0);
  assert_int_equal(sig, SIGTERM);
  vmctr__agent_msg_free(&m);
  free(keep);
  assert_int_equal(req_errno(c, simple_req(c, VMCTR_AOP_SIGNAL, (uint32_t)pid, VMCTR_AT_SIGNO,
                                           SIGTERM)), ESRCH);
}

static void test_stdin_cat(void **state) {
  h_conn *c = *state;
  int64_t pid = spawn(c, 7, 8, 0, "cat", NULL);
  assert_true(pid > 0);
  h_send(c, VMCTR_AF_DATA, 7, "round ", 6);
  h_send(c, VMCTR_AF_DATA, 7, "trip\n", 5);
  h_send(c, VMCTR_AF_EOF, 7, NULL, 0);
  assert_stream(c, 8, "round trip\n");
  assert_int_equal(wait_proc(c, (uint32_t)pid), 0);
  /* The agent returned the stdin credit as cat took the bytes. */
  assert_int_equal(h_stream_get(c, 7)->guest_credit, c->guest_window + 11);

  /* CLOSE_STDIN does what EOF does. */
  pid = spawn(c, 9, 10, 0, "cat", NULL);
  h_send(c, VMCTR_AF_DATA, 9, "x", 1);
  assert_int_equal(req_errno(c, simple_req(c, VMCTR_AOP_CLOSE_STDIN, (uint32_t)pid, 0, 0)), 0);
  assert_stream(c, 10, "x");
  assert_int_equal(wait_proc(c, (uint32_t)pid), 0);
}

static void test_pty(void **state) {
  h_conn *c = *state;
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_SPAWN);
  vmctr__agent_put_str(&b, VMCTR_AT_ARGV, "sh");
  vmctr__agent_put_str(&b, VMCTR_AT_ARGV, "-c");
  vmctr__agent_put_str(&b, VMCTR_AT_ARGV,
                       "test -t 0 && test -t 1 && echo tty; stty size; read x; stty size");
  vmctr__agent_put_u32(&b, VMCTR_AT_PTY, 1);
  vmctr__agent_put_u32(&b, VMCTR_AT_ROWS, 24);
  vmctr__agent_put_u32(&b, VMCTR_AT_COLS, 80);
  vmctr__agent_put_u32(&b, VMCTR_AT_STDIN, 11);
  vmctr__agent_put_u32(&b, VMCTR_AT_STDOUT, 12);
  vmctr__agent_msg m;
  uint8_t *keep;
  assert_int_equal(h_response(c, h_request(c, &b), T, &m, &keep), 0);
  assert_int_equal(h_errno_of(&m), 0);
  uint32_t pid;
  assert_int_equal(vmctr__agent_get_u32(&m, VMCTR_AT_PID, &pid), 0);
  vmctr__agent_msg_free(&m);
  free(keep);
  /* Wait for the first size, then resize and let the shell go on. */
  h_stream *s = h_stream_get(c, 12);
  while (!memmem(s->data ? s->data : (uint8_t *)"", s->len, "24 80", 5))
    assert_int_equal(h_pump(c, T), 1);
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_RESIZE);
  vmctr__agent_put_u32(&b, VMCTR_AT_PID, pid);
  vmctr__agent_put_u32(&b, VMCTR_AT_ROWS, 50);
  vmctr__agent_put_u32(&b, VMCTR_AT_COLS, 132);
  assert_int_equal(req_errno(c, h_request(c, &b)), 0);
  h_send(c, VMCTR_AF_DATA, 11, "go\n", 3);
  assert_int_equal(wait_proc(c, pid), 0);
  assert_true(h_wait_eof(c, 12, T));
  s = h_stream_get(c, 12);
  assert_non_null(memmem(s->data, s->len, "tty\r\n24 80\r\n", 12));
  assert_non_null(memmem(s->data, s->len, "50 132", 6));
}

static void test_missing_binary(void **state) {
  h_conn *c = *state;
  assert_int_equal(spawn(c, 0, 1, 0, "/nonexistent/vmctr-test", NULL), -ENOENT);
  assert_int_equal(spawn(c, 0, 1, 0, "vmctr-no-such-command", NULL), -ENOENT);
  assert_int_equal(spawn(c, 0, 1, 0, "/etc", NULL), -EACCES);
  /* The stream ids are free again. */
  int64_t pid = spawn(c, 0, 1, 0, "true", NULL);
  assert_true(pid > 0);
  assert_int_equal(wait_proc(c, (uint32_t)pid), 0);
}

static void test_many(void **state) {
  h_conn *c = *state;
  enum { N = 60 };
  int64_t pids[N];
  char script[64];
  for (int i = 0; i < N; i++) {
    snprintf(script, sizeof(script), "sleep 0.2; echo %d", i);
    pids[i] = spawn(c, 0, 100 + (uint32_t)i, 0, "sh", "-c", script, NULL);
    assert_true(pids[i] > 0);
  }
  for (int i = N - 1; i >= 0; i--)
    assert_int_equal(wait_proc(c, (uint32_t)pids[i]), 0);
  for (int i = 0; i < N; i++) {
    snprintf(script, sizeof(script), "%d\n", i);
    assert_stream(c, 100 + (uint32_t)i, script);
  }
}

static void test_flow_control(void **state) {
  h_conn *c = *state;
  const size_t total = 10u << 20;
  c->auto_credit = false;
  int64_t pid = spawn(c, 0, 20, 0, "head", "-c", "10485760", "/dev/zero", NULL);
  assert_true(pid > 0);
  h_stream *s = h_stream_get(c, 20);
  size_t rounds = 0;
  while (!s->eof) {
    /* Drain what the window allowed; the agent must then stop. */
    while (s->used < s->granted && !s->eof)
      assert_int_equal(h_pump(c, T), 1);
    if (s->eof)
      break;
    assert_int_equal(h_pump(c, 50), 0); /* nothing beyond credit */
    assert_int_equal(s->used, s->granted);
    rounds++;
    free(s->data); /* keep memory small */
    s->data = NULL;
    s->cap = 0;
    s->len = 0;
    h_credit(c, 20, VMCTR_AGENT_DEFAULT_WINDOW);
    if (rounds == 3) {
      /* The child is blocked on its pipe, not done. */
      struct timespec d = {0, 100000000};
      nanosleep(&d, NULL);
      assert_int_equal(kill((pid_t)pid, 0), 0);
    }
  }
  assert_int_equal(s->used, total);
  assert_true(rounds >= total / VMCTR_AGENT_DEFAULT_WINDOW - 1);
  c->auto_credit = true;
  assert_int_equal(wait_proc(c, (uint32_t)pid), 0);
}

static void test_mkdir_write_file(void **state) {
  h_conn *c = *state;
  char dir[64], path[256], file[300];
  assert_int_equal(tu_tmpdir(dir, sizeof(dir), "vmctr-guest-test"), 0);
  snprintf(path, sizeof(path), "%s/a/b/c", dir);
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_MKDIR);
  vmctr__agent_put_str(&b, VMCTR_AT_PATH, path);
  vmctr__agent_put_u32(&b, VMCTR_AT_MODE, 0750);
  assert_int_equal(req_errno(c, h_request(c, &b)), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISDIR(st.st_mode));

  snprintf(file, sizeof(file), "%s/f", path);
  for (int round = 0; round < 2; round++) {
    vmctr__agent_buf_init(&b);
    vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_WRITE_FILE);
    vmctr__agent_put_str(&b, VMCTR_AT_PATH, file);
    vmctr__agent_put_u32(&b, VMCTR_AT_MODE, 0600);
    vmctr__agent_put_bytes(&b, VMCTR_AT_CONTENT, round ? "second" : "first!!", round ? 6 : 7);
    assert_int_equal(req_errno(c, h_request(c, &b)), 0);
  }
  char buf[32] = {0};
  int fd = open(file, O_RDONLY);
  assert_true(fd >= 0);
  assert_int_equal(read(fd, buf, sizeof(buf)), 6);
  close(fd);
  assert_string_equal(buf, "second");
  assert_int_equal(stat(file, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);

  /* Relative paths and missing parents are refused, nothing left behind. */
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_WRITE_FILE);
  vmctr__agent_put_str(&b, VMCTR_AT_PATH, "relative");
  assert_int_equal(req_errno(c, h_request(c, &b)), EINVAL);
  snprintf(file, sizeof(file), "%s/missing/f", dir);
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_WRITE_FILE);
  vmctr__agent_put_str(&b, VMCTR_AT_PATH, file);
  assert_int_equal(req_errno(c, h_request(c, &b)), ENOENT);

  assert_int_equal(tu_rm_rf(dir), 0);
}

/* WRITE_FILE with ROOT: PATH is resolved inside ROOT. A planted absolute
 * link (etc -> /) stays inside (the file lands in ROOT/hosts, not in the
 * host's /hosts), and a missing /etc is created (images FROM scratch). */
static void test_write_file_in_root(void **state) {
  h_conn *c = *state;
  char dir[64], p[300], buf[32] = {0};
  vmctr__agent_buf b;
  assert_int_equal(tu_tmpdir(dir, sizeof(dir), "vmctr-guest-inroot"), 0);
  for (int round = 0; round < 2; round++) {
    if (round == 1) {
      snprintf(p, sizeof(p), "%s/etc", dir);
      assert_int_equal(symlink("/", p), 0);
    }
    vmctr__agent_buf_init(&b);
    vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_WRITE_FILE);
    vmctr__agent_put_str(&b, VMCTR_AT_ROOT, dir);
    vmctr__agent_put_str(&b, VMCTR_AT_PATH, round ? "/etc/vmctr-escape-test" : "/etc/hosts");
    vmctr__agent_put_bytes(&b, VMCTR_AT_CONTENT, "inside", 6);
    assert_int_equal(req_errno(c, h_request(c, &b)), 0);
    if (round == 0)
      assert_int_equal(tu_rm_rf((snprintf(p, sizeof(p), "%s/etc", dir), p)), 0);
  }
  assert_int_equal(access("/vmctr-escape-test", F_OK), -1);
  snprintf(p, sizeof(p), "%s/vmctr-escape-test", dir);
  int fd = open(p, O_RDONLY);
  assert_true(fd >= 0);
  assert_int_equal(read(fd, buf, sizeof(buf)), 6);
  close(fd);
  assert_string_equal(buf, "inside");
  /* ROOT with IN_PLACE is refused. */
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_WRITE_FILE);
  vmctr__agent_put_str(&b, VMCTR_AT_ROOT, dir);
  vmctr__agent_put_str(&b, VMCTR_AT_PATH, "/x");
  vmctr__agent_put_u32(&b, VMCTR_AT_IN_PLACE, 1);
  assert_int_equal(req_errno(c, h_request(c, &b)), EINVAL);
  assert_int_equal(tu_rm_rf(dir), 0);
}

/* A tiny rootfs: busybox-static and a few links. */
static int make_rootfs(char *dir, size_t size) {
  char cmd[600];
  if (tu_tmpdir(dir, size, "vmctr-guest-root") < 0)
    return -1;
  snprintf(cmd, sizeof(cmd),
           "mkdir -p %s/bin %s/etc && cp /bin/busybox %s/bin/busybox && "
           "for x in sh hostname cat sleep ls echo; do ln -s busybox %s/bin/$x; done",
           dir, dir, dir, dir);
  return system(cmd) == 0 ? 0 : -1;
}

static void test_container(void **state) {
  h_conn *c = *state;
  char root[64];
  if (geteuid() != 0 || access("/bin/busybox", X_OK) != 0)
    skip(); /* needs root (namespaces, mounts) and busybox-static */
  assert_int_equal(make_rootfs(root, sizeof(root)), 0);

  /* A long-running container to join later. */
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_SPAWN);
  vmctr__agent_put_str(&b, VMCTR_AT_ARGV, "sh");
  vmctr__agent_put_str(&b, VMCTR_AT_ARGV, "-c");
  vmctr__agent_put_str(&b, VMCTR_AT_ARGV,
                       "hostname; echo pid $$; ls /dev; test -c /dev/null && echo null-ok; "
                       "echo ready; exec sleep 100");
  vmctr__agent_put_str(&b, VMCTR_AT_ENV, "PATH=/bin");
  vmctr__agent_put_str(&b, VMCTR_AT_ROOT, root);
  vmctr__agent_put_str(&b, VMCTR_AT_HOSTNAME, "vmctr-ctr");
  vmctr__agent_put_u32(&b, VMCTR_AT_STDOUT, 30);
  vmctr__agent_put_u32(&b, VMCTR_AT_STDERR, 31);
  vmctr__agent_msg m;
  uint8_t *keep;
  assert_int_equal(h_response(c, h_request(c, &b), T, &m, &keep), 0);
  if (h_errno_of(&m) != 0) {
    char *msg = NULL;
    vmctr__agent_get_str(&m, VMCTR_AT_MESSAGE, &msg);
    print_error("container spawn: %s\n", msg ? msg : "?");
    free(msg);
    fail();
  }
  uint32_t pid;
  assert_int_equal(vmctr__agent_get_u32(&m, VMCTR_AT_PID, &pid), 0);
  vmctr__agent_msg_free(&m);
  free(keep);
  h_stream *s = h_stream_get(c, 30);
  while (!s->data || !memmem(s->data, s->len, "ready", 5))
    assert_int_equal(h_pump(c, T), 1);
  assert_non_null(memmem(s->data, s->len, "vmctr-ctr\npid 1\n", 16));
  assert_non_null(memmem(s->data, s->len, "null-ok", 7));
  assert_non_null(memmem(s->data, s->len, "urandom", 7));

  /* JOIN_PID: exec inside it; same hostname, same root, its pid namespace. */
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_SPAWN);
  vmctr__agent_put_str(&b, VMCTR_AT_ARGV, "sh");
  vmctr__agent_put_str(&b, VMCTR_AT_ARGV, "-c");
  vmctr__agent_put_str(&b, VMCTR_AT_ARGV, "hostname; test -x /bin/busybox && echo in-root; "
                                          "cat /proc/1/cmdline | tr '\\0' ' '; echo");
  vmctr__agent_put_str(&b, VMCTR_AT_ENV, "PATH=/bin");
  vmctr__agent_put_u32(&b, VMCTR_AT_JOIN_PID, pid);
  vmctr__agent_put_u32(&b, VMCTR_AT_STDOUT, 32);
  assert_int_equal(h_response(c, h_request(c, &b), T, &m, &keep), 0);
  assert_int_equal(h_errno_of(&m), 0);
  uint32_t jpid;
  assert_int_equal(vmctr__agent_get_u32(&m, VMCTR_AT_PID, &jpid), 0);
  vmctr__agent_msg_free(&m);
  free(keep);
  assert_int_equal(wait_proc(c, jpid), 0);
  assert_true(h_wait_eof(c, 32, T));
  s = h_stream_get(c, 32);
  assert_true(s->len > 0);
  assert_non_null(memmem(s->data, s->len, "vmctr-ctr\nin-root\n", 18));
  assert_non_null(memmem(s->data, s->len, "sleep 100", 9));

  /* Container init ignores SIGTERM without a handler; SIGKILL ends it. */
  assert_int_equal(req_errno(c, simple_req(c, VMCTR_AOP_SIGNAL, pid, VMCTR_AT_SIGNO, SIGKILL)), 0);
  assert_int_equal(wait_proc(c, pid), -SIGKILL);
  /* A missing binary in the container is still ENOENT. */
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_SPAWN);
  vmctr__agent_put_str(&b, VMCTR_AT_ARGV, "/bin/nothing-here");
  vmctr__agent_put_str(&b, VMCTR_AT_ROOT, root);
  assert_int_equal(req_errno(c, h_request(c, &b)), ENOENT);
  assert_int_equal(tu_rm_rf(root), 0);
}

static void test_close_kills_children(void **state) {
  h_conn c;
  assert_int_equal(h_open(&c, init_path, VMCTR_AGENT_DEFAULT_WINDOW), 0);
  int64_t pid = spawn(&c, 0, 0, 0, "sleep", "100", NULL);
  assert_true(pid > 0);
  int st = h_close(&c);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  /* Killed and reaped by the agent: the pid is gone. */
  assert_int_equal(kill((pid_t)pid, 0), -1);
  assert_int_equal(errno, ESRCH);
}

int main(int argc, char **argv) {
  if (argc < 2 || access(argv[1], X_OK) != 0) {
    printf("1..0 # SKIP vmctr-init not given or not executable\n");
    return 0;
  }
  init_path = argv[1];
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_handshake_ping, setup, teardown),
    cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stdout_stderr_exit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_signal, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stdin_cat, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pty, setup, teardown),
    cmocka_unit_test_setup_teardown(test_missing_binary, setup, teardown),
    cmocka_unit_test_setup_teardown(test_many, setup, teardown),
    cmocka_unit_test_setup_teardown(test_flow_control, setup, teardown),
    cmocka_unit_test_setup_teardown(test_mkdir_write_file, setup, teardown),
    cmocka_unit_test_setup_teardown(test_write_file_in_root, setup, teardown),
    cmocka_unit_test_setup_teardown(test_container, setup, teardown),
    cmocka_unit_test(test_close_kills_children),
  };
  return cmocka_run_group_tests_name("guest-agent", tests, NULL, NULL);
}
