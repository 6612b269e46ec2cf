/* SPDX-License-Identifier: MIT */
/*
 * The host-side agent client (lib/agent/client.h) against the real
 * vmctr-init in --agent-fd mode: both halves of the protocol together.
 * argv[1]: the vmctr-init to run.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/client.h"
#include "vmctr/error.h"

static const char *init_path;
#define T 20000

typedef struct fixture {
  vmctr__agent *a;
  pid_t pid;
} fixture;

static int setup(void **state) {
  int sv[2];
  fixture *f = calloc(1, sizeof(*f));
  if (!f || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return -1;
  f->pid = fork();
  if (f->pid == 0) {
    dup2(sv[1], 3);
    execl(init_path, init_path, "--agent-fd", "3", (char *)NULL);
    _exit(127);
  }
  close(sv[1]);
  if (vmctr__agent_connect(&f->a, sv[0], T) < 0)
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  int st = 0;
  vmctr__agent_free(f->a);
  waitpid(f->pid, &st, 0);
  free(f);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* SPAWN sh -c script; returns the reply code, *pid on success. */
static int spawn_sh(vmctr__agent *a, const char *script, uint32_t in, uint32_t out,
                    uint32_t *pid) {
  vmctr__agent_buf b;
  vmctr__agent_reply *r = NULL;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_SPAWN);
  vmctr__agent_put_str(&b, VMCTR_AT_ARGV, script ? "sh" : "vmctr-missing-binary");
  if (script) {
    vmctr__agent_put_str(&b, VMCTR_AT_ARGV, "-c");
    vmctr__agent_put_str(&b, VMCTR_AT_ARGV, script);
  }
  vmctr__agent_put_u32(&b, VMCTR_AT_STDIN, in);
  vmctr__agent_put_u32(&b, VMCTR_AT_STDOUT, out);
  int rc = vmctr__agent_request(a, &b, T, &r);
  vmctr__agent_buf_free(&b);
  if (rc == 0)
    assert_int_equal(vmctr__agent_get_u32(vmctr__agent_reply_msg(r), VMCTR_AT_PID, pid), 0);
  vmctr__agent_reply_free(r);
  return rc;
}

static int32_t wait_exit(vmctr__agent *a, uint32_t pid) {
  vmctr__agent_buf b;
  vmctr__agent_reply *r = NULL;
  int32_t code = -1;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_WAIT);
  vmctr__agent_put_u32(&b, VMCTR_AT_PID, pid);
  assert_int_equal(vmctr__agent_request(a, &b, T, &r), 0);
  vmctr__agent_buf_free(&b);
  assert_int_equal(vmctr__agent_get_i32(vmctr__agent_reply_msg(r), VMCTR_AT_EXIT_CODE, &code), 0);
  vmctr__agent_reply_free(r);
  return code;
}

static void test_info_and_ping(void **state) {
  fixture *f = *state;
  assert_non_null(strstr(vmctr__agent_info(f->a), "vmctr-init"));
  vmctr__agent_buf b;
  vmctr__agent_reply *r = NULL;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_PING);
  assert_int_equal(vmctr__agent_request(f->a, &b, T, &r), 0);
  vmctr__agent_buf_free(&b);
  vmctr__agent_reply_free(r);
}

static void test_stdio_round_trip(void **state) {
  fixture *f = *state;
  uint32_t in, out, pid;
  int p[2];
  char buf[4096];
  assert_int_equal(vmctr__agent_stream_new(f->a, &in), 0);
  assert_int_equal(vmctr__agent_stream_new(f->a, &out), 0);
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  assert_int_equal(vmctr__agent_stream_recv_fd(f->a, out, p[1]), 0);
  assert_int_equal(spawn_sh(f->a, "tr a-z A-Z; exit 4", in, out, &pid), 0);
  /* More than one window each way, so credit has to flow both ways. */
  size_t total = 0;
  memset(buf, 'x', sizeof(buf));
  for (int i = 0; i < 200; i++, total += sizeof(buf))
    assert_int_equal(vmctr__agent_stream_write(f->a, in, buf, sizeof(buf)), 0);
  assert_int_equal(vmctr__agent_stream_close(f->a, in), 0);
  size_t got = 0;
  ssize_t n;
  while ((n = read(p[0], buf, sizeof(buf))) > 0) {
    for (ssize_t i = 0; i < n; i++)
      assert_int_equal(buf[i], 'X');
    got += (size_t)n;
  }
  close(p[0]);
  assert_int_equal(got, total);
  assert_int_equal(vmctr__agent_stream_wait(f->a, out, T), 0);
  assert_int_equal(wait_exit(f->a, pid), 4);
}

static void test_missing_binary(void **state) {
  fixture *f = *state;
  uint32_t pid;
  assert_int_equal(spawn_sh(f->a, NULL, 0, 0, &pid), VMCTR_ENOENT);
}

int main(int argc, char **argv) {
  if (argc < 2 || access(argv[1], X_OK) != 0) {
    printf("1..0 # SKIP vmctr-init not given\n");
    return 77;
  }
  init_path = argv[1];
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_info_and_ping, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stdio_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown(test_missing_binary, setup, teardown),
  };
  return cmocka_run_group_tests_name("guest-client", tests, NULL, NULL);
}
