/* SPDX-License-Identifier: MIT */
/* Unit tests of the agent client (lib/agent/client*.c) against a peer on a
 * socketpair that the test drives with the same codec, frame by frame. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/client.h"
#include "testutil.h"
#include "vmctr.h"

/* --- the test's peer: a scripted guest --- */

static void peer_send(int fd, uint16_t type, uint32_t stream, const void *p, size_t n) {
  uint8_t *f = NULL;
  size_t len = 0, off = 0;
  assert_int_equal(vmctr__agent_frame(type, 0, stream, p, n, &f, &len), 0);
  while (off < len) {
    ssize_t w = write(fd, f + off, len - off);
    assert_true(w > 0);
    off += (size_t)w;
  }
  free(f);
}

static void peer_send_raw(int fd, const void *p, size_t n) {
  assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static int read_full(int fd, uint8_t *p, size_t n, int timeout_ms) {
  while (n) {
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    ssize_t r;
    if (poll(&pf, 1, timeout_ms) <= 0)
      return -ETIMEDOUT;
    r = read(fd, p, n);
    if (r <= 0)
      return -EIO;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* One frame from the host; payload malloc'd (NUL-terminated for convenience). */
static int peer_recv(int fd, vmctr__agent_hdr *h, uint8_t **payload, int timeout_ms) {
  uint8_t hdr[VMCTR_AGENT_HDR_SIZE];
  int r = read_full(fd, hdr, sizeof(hdr), timeout_ms);
  if (r < 0)
    return r;
  assert_int_equal(vmctr__agent_hdr_decode(hdr, VMCTR_AGENT_MAX_FRAME, h), 0);
  *payload = malloc(h->len + 1);
  assert_non_null(*payload);
  (*payload)[h->len] = 0;
  return read_full(fd, *payload, h->len, timeout_ms);
}

static void peer_hello(int fd, uint32_t magic, uint32_t version, uint32_t frame, uint32_t window) {
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_MAGIC, magic);
  vmctr__agent_put_u32(&b, VMCTR_AT_VERSION, version);
  vmctr__agent_put_u32(&b, VMCTR_AT_MAX_FRAME, frame);
  vmctr__agent_put_u32(&b, VMCTR_AT_WINDOW, window);
  vmctr__agent_put_str(&b, VMCTR_AT_AGENT_INFO, "test-peer 1");
  peer_send(fd, VMCTR_AF_HELLO, 0, b.data, b.len);
  vmctr__agent_buf_free(&b);
}

/* Respond to request id with ERRNO 0 and one extra u32 field. */
static void peer_reply(int fd, uint32_t id, int32_t err, const char *msg, uint16_t tag, uint32_t v) {
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_i32(&b, VMCTR_AT_ERRNO, err);
  if (msg)
    vmctr__agent_put_str(&b, VMCTR_AT_MESSAGE, msg);
  if (tag)
    vmctr__agent_put_u32(&b, tag, v);
  peer_send(fd, VMCTR_AF_RESPONSE, id, b.data, b.len);
  vmctr__agent_buf_free(&b);
}

typedef struct conn {
  vmctr__agent *a;
  int peer;
} conn;

/* A connected client; the peer has consumed the host's HELLO. */
static void connect_pair(conn *c, uint32_t host_window, uint32_t peer_window) {
  int sv[2];
  vmctr__agent_limits lim = {.max_frame = 0, .window = host_window};
  vmctr__agent_hdr h;
  vmctr__agent_msg m = {0};
  uint8_t *p;
  uint32_t v = 0;

  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  peer_hello(sv[1], VMCTR_AGENT_MAGIC, VMCTR_AGENT_VERSION, VMCTR_AGENT_DEFAULT_FRAME, peer_window);
  assert_int_equal(vmctr__agent_connect_limits(&c->a, sv[0], 2000, &lim), 0);
  c->peer = sv[1];
  assert_int_equal(peer_recv(c->peer, &h, &p, 2000), 0);
  assert_int_equal(h.type, VMCTR_AF_HELLO);
  assert_int_equal(vmctr__agent_msg_parse(p, h.len, &m), 0);
  assert_int_equal(vmctr__agent_get_u32(&m, VMCTR_AT_MAGIC, &v), 0);
  assert_int_equal(v, VMCTR_AGENT_MAGIC);
  assert_int_equal(vmctr__agent_get_u32(&m, VMCTR_AT_WINDOW, &v), 0);
  assert_int_equal(v, host_window ? host_window : VMCTR_AGENT_DEFAULT_WINDOW);
  vmctr__agent_msg_free(&m);
  free(p);
}

static void disconnect(conn *c) {
  vmctr__agent_free(c->a);
  close(c->peer);
}

static void ping(vmctr__agent_buf *b, uint32_t tag_value) {
  vmctr__agent_buf_init(b);
  vmctr__agent_put_u32(b, VMCTR_AT_OP, VMCTR_AOP_PING);
  vmctr__agent_put_u32(b, VMCTR_AT_PID, tag_value);
}

/* --- handshake --- */

static void test_handshake(void **state) {
  (void)state;
  conn c;
  connect_pair(&c, 0, 0x10000);
  assert_true(vmctr__agent_alive(c.a));
  assert_string_equal(vmctr__agent_info(c.a), "test-peer 1");
  struct pollfd pf = {.fd = vmctr__agent_state_fd(c.a), .events = POLLIN};
  assert_int_equal(poll(&pf, 1, 0), 0);
  disconnect(&c);
}

static int connect_after(void (*script)(int fd), int timeout_ms) {
  int sv[2], r;
  vmctr__agent *a = NULL;
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  script(sv[1]);
  r = vmctr__agent_connect(&a, sv[0], timeout_ms);
  assert_null(a);
  close(sv[1]);
  return r;
}

static void s_version2(int fd) { peer_hello(fd, VMCTR_AGENT_MAGIC, 2, 65536, 65536); }
static void s_badmagic(int fd) { peer_hello(fd, 0x12345678, 1, 65536, 65536); }
static void s_tinyframe(int fd) { peer_hello(fd, VMCTR_AGENT_MAGIC, 1, 16, 65536); }
static void s_close(int fd) { shutdown(fd, SHUT_WR); }
static void s_silent(int fd) { (void)fd; }
static void s_request(int fd) { peer_send(fd, VMCTR_AF_REQUEST, 1, NULL, 0); }

static void test_handshake_failures(void **state) {
  (void)state;
  assert_fails_with(connect_after(s_version2, 2000), VMCTR_EUNSUPPORTED, "version 2");
  assert_fails_with(connect_after(s_badmagic, 2000), VMCTR_EPROTO, "magic");
  assert_fails_with(connect_after(s_tinyframe, 2000), VMCTR_EPROTO, "max_frame");
  assert_fails_with(connect_after(s_close, 2000), VMCTR_EIO, "lost");
  assert_fails_with(connect_after(s_silent, 100), VMCTR_ETIMEDOUT, "HELLO");
  assert_fails_with(connect_after(s_request, 2000), VMCTR_EPROTO, "HELLO");
}

/* --- requests --- */

#define NTHREADS 8

typedef struct req_arg {
  vmctr__agent *a;
  uint32_t me;
  int rc;
  uint32_t got;
} req_arg;

static void *req_thread(void *p) {
  req_arg *r = p;
  vmctr__agent_buf b;
  vmctr__agent_reply *reply = NULL;
  ping(&b, r->me);
  r->rc = vmctr__agent_request(r->a, &b, 5000, &reply);
  if (r->rc == 0) {
    if (vmctr__agent_get_u32(vmctr__agent_reply_msg(reply), VMCTR_AT_PID, &r->got) < 0)
      r->rc = -100;
    vmctr__agent_reply_free(reply);
  }
  vmctr__agent_buf_free(&b);
  return NULL;
}

static void test_concurrent_requests_out_of_order(void **state) {
  (void)state;
  conn c;
  pthread_t t[NTHREADS];
  req_arg args[NTHREADS];
  uint32_t ids[NTHREADS], vals[NTHREADS];

  connect_pair(&c, 0, 0x10000);
  for (int i = 0; i < NTHREADS; i++) {
    args[i] = (req_arg){.a = c.a, .me = 1000 + (uint32_t)i};
    assert_int_equal(pthread_create(&t[i], NULL, req_thread, &args[i]), 0);
  }
  for (int i = 0; i < NTHREADS; i++) {
    vmctr__agent_hdr h;
    vmctr__agent_msg m = {0};
    uint8_t *p;
    assert_int_equal(peer_recv(c.peer, &h, &p, 5000), 0);
    assert_int_equal(h.type, VMCTR_AF_REQUEST);
    assert_int_equal(vmctr__agent_msg_parse(p, h.len, &m), 0);
    assert_int_equal(vmctr__agent_get_u32(&m, VMCTR_AT_PID, &vals[i]), 0);
    ids[i] = h.stream;
    vmctr__agent_msg_free(&m);
    free(p);
  }
  for (int i = NTHREADS - 1; i >= 0; i--) /* answer in reverse order */
    peer_reply(c.peer, ids[i], 0, NULL, VMCTR_AT_PID, vals[i]);
  for (int i = 0; i < NTHREADS; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(args[i].rc, 0);
    assert_int_equal(args[i].got, args[i].me);
  }
  disconnect(&c);
}

static uint32_t peer_take_request(conn *c) {
  vmctr__agent_hdr h;
  uint8_t *p;
  assert_int_equal(peer_recv(c->peer, &h, &p, 2000), 0);
  assert_int_equal(h.type, VMCTR_AF_REQUEST);
  free(p);
  return h.stream;
}

static void test_errno_reply_and_begin_end(void **state) {
  (void)state;
  conn c;
  vmctr__agent_buf b;
  vmctr__agent_reply *reply = NULL;
  uint32_t id = 0, gid, v = 0;

  connect_pair(&c, 0, 0x10000);
  ping(&b, 1);
  assert_int_equal(vmctr__agent_request_begin(c.a, &b, &id), 0);
  gid = peer_take_request(&c);
  assert_int_equal(gid, id);
  peer_reply(c.peer, id, 2, "no such file: /x", 0, 0);
  assert_fails_with(vmctr__agent_request_end(c.a, id, 2000, &reply), VMCTR_ENOENT,
                    "guest: no such file: /x");
  assert_null(reply);
  assert_fails_with(vmctr__agent_request_end(c.a, id, 0, &reply), VMCTR_ENOENT, "not pending");

  /* A long request: _end times out and can be called again. */
  assert_int_equal(vmctr__agent_request_begin(c.a, &b, &id), 0);
  peer_take_request(&c);
  assert_fails_with(vmctr__agent_request_end(c.a, id, 50, &reply), VMCTR_ETIMEDOUT, "in time");
  peer_reply(c.peer, id, 0, NULL, VMCTR_AT_EXIT_CODE, 7);
  assert_int_equal(vmctr__agent_request_end(c.a, id, 2000, &reply), 0);
  assert_int_equal(vmctr__agent_get_u32(vmctr__agent_reply_msg(reply), VMCTR_AT_EXIT_CODE, &v), 0);
  assert_int_equal(v, 7);
  vmctr__agent_reply_free(reply);

  /* Cancelled: its late response is dropped, the connection stays up. */
  assert_int_equal(vmctr__agent_request_begin(c.a, &b, &id), 0);
  peer_take_request(&c);
  vmctr__agent_request_cancel(c.a, id);
  peer_reply(c.peer, id, 0, NULL, 0, 0);
  assert_int_equal(vmctr__agent_request_begin(c.a, &b, &id), 0);
  peer_take_request(&c);
  peer_reply(c.peer, id, 0, NULL, 0, 0);
  assert_int_equal(vmctr__agent_request_end(c.a, id, 2000, &reply), 0);
  vmctr__agent_reply_free(reply);
  assert_true(vmctr__agent_alive(c.a));
  vmctr__agent_buf_free(&b);
  disconnect(&c);
}

static void test_free_with_pending_requests(void **state) {
  (void)state;
  conn c;
  vmctr__agent_buf b;
  uint32_t id, s;
  connect_pair(&c, 0, 0x10000);
  ping(&b, 1);
  for (int i = 0; i < 3; i++)
    assert_int_equal(vmctr__agent_request_begin(c.a, &b, &id), 0);
  assert_int_equal(vmctr__agent_stream_new(c.a, &s), 0);
  assert_int_equal(vmctr__agent_stream_write(c.a, s, "abc", 3), 0);
  vmctr__agent_buf_free(&b);
  disconnect(&c); /* ASan checks that nothing leaks */
}

#include "test-agent-hostile.inc"
#include "test-agent-stdio.inc"
#include "test-agent-text.inc"

/* --- the seed corpus means what its names say --- */

/* Replays a corpus file as tests/agent/fuzz-agent.c does: 0 if the
 * connection survived, else its code. */
static int replay(const uint8_t *data, size_t size) {
  vmctr__agent *a = NULL;
  vmctr__agent_limits host = {.max_frame = 4096, .window = 8192};
  vmctr__agent_limits guest = {.max_frame = 4096, .window = 4096};
  vmctr__agent_buf req;
  uint32_t ids[4], s1, s2, s3;
  size_t chunk = data[0] ? data[0] : size;
  int r = 0;

  assert_int_equal(vmctr__agent_new_detached(&a, &host, &guest), 0);
  vmctr__agent_buf_init(&req);
  vmctr__agent_put_u32(&req, VMCTR_AT_OP, VMCTR_AOP_PING);
  for (int i = 0; i < 4; i++)
    assert_int_equal(vmctr__agent_request_begin(a, &req, &ids[i]), 0);
  vmctr__agent_request_cancel(a, ids[3]);
  vmctr__agent_buf_free(&req);
  assert_int_equal(vmctr__agent_stream_new(a, &s1), 0);
  assert_int_equal(vmctr__agent_stream_new(a, &s2), 0);
  assert_int_equal(vmctr__agent_stream_new(a, &s3), 0);
  assert_int_equal(s1 * 100 + s2 * 10 + s3, 123);
  cb_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
  assert_int_equal(vmctr__agent_stream_recv_cb(a, s1, log_cb, &log), 0);
  data++, size--;
  for (size_t off = 0; off < size && r == 0; off += chunk)
    r = vmctr__agent_feed(a, data + off, size - off < chunk ? size - off : chunk);
  vmctr__agent_free(a);
  return r;
}

static void check_corpus(const char *dir, bool good) {
  char path[4096];
  DIR *d;
  struct dirent *e;
  int n = 0;

  snprintf(path, sizeof(path), "%s/corpus/%s", VMCTR_TEST_SRCDIR, dir);
  assert_non_null(d = opendir(path));
  while ((e = readdir(d))) {
    uint8_t buf[65536];
    FILE *f;
    size_t len;
    int r;
    if (e->d_name[0] == '.' || !strncmp(e->d_name, "fields-", 7))
      continue; /* bare field lists are for the codec half */
    snprintf(path, sizeof(path), "%s/corpus/%s/%s", VMCTR_TEST_SRCDIR, dir, e->d_name);
    assert_non_null(f = fopen(path, "rb"));
    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_true(len > 0);
    r = replay(buf, len);
    /* Truncated frames and a NUL in an error message do not kill it. */
    bool survives = good || !strncmp(e->d_name, "truncated-", 10) ||
                    !strcmp(e->d_name, "message-with-nul");
    if ((r == 0) != survives)
      fail_msg("%s/%s: connection %s", dir, e->d_name, r == 0 ? "survived" : "died");
    if (r != 0)
      assert_int_equal(r, VMCTR_EPROTO);
    n++;
  }
  closedir(d);
  assert_true(n > 10);
}

static void test_corpus_semantics(void **state) {
  (void)state;
  check_corpus("agent-good", true);
  check_corpus("agent-bad", false);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_handshake),
    cmocka_unit_test(test_handshake_failures),
    cmocka_unit_test(test_concurrent_requests_out_of_order),
    cmocka_unit_test(test_errno_reply_and_begin_end),
    cmocka_unit_test(test_free_with_pending_requests),
    cmocka_unit_test(test_hostile_frames),
    cmocka_unit_test(test_connection_lost),
    cmocka_unit_test(test_stdin_from_memory_and_fd),
    cmocka_unit_test(test_stdout_flow_control_slow_consumer),
    cmocka_unit_test(test_stdout_callback),
    cmocka_unit_test(test_corpus_semantics),
    cmocka_unit_test(test_guest_text_sanitized),
    cmocka_unit_test(test_agent_info_sanitized),
    cmocka_unit_test(test_stdin_memory_bounded),
  };
  return cmocka_run_group_tests_name("agent", tests, NULL, NULL);
}
