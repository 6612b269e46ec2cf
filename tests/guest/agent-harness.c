/* SPDX-License-Identifier: MIT */
/* The raw test host (see agent-harness.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent-harness.h"

static int read_full(int fd, void *p, size_t n, int timeout_ms) {
  size_t got = 0;
  while (got < n) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r = poll(&pfd, 1, got ? 10000 : timeout_ms);
    if (r == 0)
      return got ? -1 : 0;
    ssize_t k = read(fd, (uint8_t *)p + got, n - got);
    if (k == 0)
      return -1;
    if (k < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    got += (size_t)k;
  }
  return 1;
}

static void write_full(int fd, const void *p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return;
    p = (const uint8_t *)p + k;
    n -= (size_t)k;
  }
}

void h_send(h_conn *c, uint16_t type, uint32_t stream, const void *p, size_t n) {
  uint8_t *f;
  size_t fl;
  if (vmctr__agent_frame(type, 0, stream, p, n, &f, &fl) == 0) {
    write_full(c->fd, f, fl);
    free(f);
  }
}

void h_credit(h_conn *c, uint32_t stream, uint32_t n) {
  uint8_t p[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
  h_stream *s = h_stream_get(c, stream);
  if (s)
    s->granted += n;
  h_send(c, VMCTR_AF_CREDIT, stream, p, 4);
}

h_stream *h_stream_get(h_conn *c, uint32_t id) {
  for (size_t i = 0; i < c->nstreams; i++)
    if (c->streams[i].id == id)
      return &c->streams[i];
  if (c->nstreams == H_MAX_STREAMS)
    return NULL;
  h_stream *s = &c->streams[c->nstreams++];
  memset(s, 0, sizeof(*s));
  s->id = id;
  s->granted = c->window;
  s->guest_credit = c->guest_window;
  return s;
}

int h_open(h_conn *c, const char *init_path, uint32_t window) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(sv[1], 3);
    char *argv[] = {(char *)init_path, "--agent-fd", "3", NULL};
    execv(init_path, argv);
    _exit(127);
  }
  close(sv[1]);
  int r = h_handshake(c, sv[0], window, 10000);
  c->pid = pid;
  return r;
}

int h_handshake(h_conn *c, int fd, uint32_t window, int timeout_ms) {
  memset(c, 0, sizeof(*c));
  c->window = window;
  c->auto_credit = true;
  c->next_id = 1;
  c->fd = fd;
  signal(SIGPIPE, SIG_IGN);
  uint8_t hdr[VMCTR_AGENT_HDR_SIZE];
  vmctr__agent_hdr h;
  if (read_full(c->fd, hdr, sizeof(hdr), timeout_ms) != 1 ||
      vmctr__agent_hdr_decode(hdr, VMCTR_AGENT_MAX_FRAME, &h) < 0 || h.type != VMCTR_AF_HELLO)
    return -1;
  uint8_t *p = malloc(h.len + 1);
  vmctr__agent_msg m;
  uint32_t magic = 0, ver = 0;
  char *info = NULL;
  if (!p || read_full(c->fd, p, h.len, 10000) != 1 || vmctr__agent_msg_parse(p, h.len, &m) < 0) {
    free(p);
    return -1;
  }
  vmctr__agent_get_u32(&m, VMCTR_AT_MAGIC, &magic);
  vmctr__agent_get_u32(&m, VMCTR_AT_VERSION, &ver);
  vmctr__agent_get_u32(&m, VMCTR_AT_MAX_FRAME, &c->guest_max_frame);
  vmctr__agent_get_u32(&m, VMCTR_AT_WINDOW, &c->guest_window);
  if (vmctr__agent_get_str(&m, VMCTR_AT_AGENT_INFO, &info) == 0)
    snprintf(c->guest_info, sizeof(c->guest_info), "%s", info);
  free(info);
  vmctr__agent_msg_free(&m);
  free(p);
  if (magic != VMCTR_AGENT_MAGIC || ver != VMCTR_AGENT_VERSION)
    return -1;
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_MAGIC, VMCTR_AGENT_MAGIC);
  vmctr__agent_put_u32(&b, VMCTR_AT_VERSION, VMCTR_AGENT_VERSION);
  vmctr__agent_put_u32(&b, VMCTR_AT_MAX_FRAME, VMCTR_AGENT_DEFAULT_FRAME);
  vmctr__agent_put_u32(&b, VMCTR_AT_WINDOW, window);
  h_send(c, VMCTR_AF_HELLO, 0, b.data, b.len);
  vmctr__agent_buf_free(&b);
  return 0;
}

int h_close(h_conn *c) {
  int st = -1;
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  if (c->pid > 0 && waitpid(c->pid, &st, 0) < 0)
    st = -1;
  for (size_t i = 0; i < c->nstreams; i++)
    free(c->streams[i].data);
  for (size_t i = 0; i < c->nresps; i++)
    free(c->resps[i].payload);
  c->nstreams = c->nresps = 0;
  return st;
}

int h_pump(h_conn *c, int timeout_ms) {
  uint8_t hdr[VMCTR_AGENT_HDR_SIZE];
  vmctr__agent_hdr h;
  int r = read_full(c->fd, hdr, sizeof(hdr), timeout_ms);
  if (r <= 0)
    return r;
  if (vmctr__agent_hdr_decode(hdr, VMCTR_AGENT_DEFAULT_FRAME, &h) < 0) {
    c->violations++;
    return -1;
  }
  uint8_t *p = malloc(h.len ? h.len : 1);
  if (!p || (h.len && read_full(c->fd, p, h.len, 10000) != 1)) {
    free(p);
    return -1;
  }
  h_stream *s = NULL;
  switch (h.type) {
  case VMCTR_AF_RESPONSE:
    if (c->nresps < H_MAX_RESPS) {
      c->resps[c->nresps++] = (h_resp){.id = h.stream, .payload = p, .len = h.len};
      return 1;
    }
    c->violations++;
    break;
  case VMCTR_AF_DATA:
    s = h_stream_get(c, h.stream);
    if (!s || s->eof || s->used + h.len > s->granted) {
      c->violations++;
      break;
    }
    s->used += h.len;
    if (s->len + h.len > s->cap) {
      s->cap = (s->len + h.len) * 2;
      s->data = realloc(s->data, s->cap);
    }
    memcpy(s->data + s->len, p, h.len);
    s->len += h.len;
    if (c->auto_credit && h.len)
      h_credit(c, h.stream, h.len);
    break;
  case VMCTR_AF_EOF:
    s = h_stream_get(c, h.stream);
    if (s)
      s->eof = true;
    break;
  case VMCTR_AF_CREDIT:
    s = h_stream_get(c, h.stream);
    if (s)
      s->guest_credit += (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                         (uint32_t)p[3] << 24;
    break;
  default:
    c->violations++;
  }
  free(p);
  return 1;
}

uint32_t h_request(h_conn *c, vmctr__agent_buf *b) {
  uint32_t id = c->next_id++;
  h_send(c, VMCTR_AF_REQUEST, id, b->data, b->len);
  vmctr__agent_buf_free(b);
  return id;
}

int h_response(h_conn *c, uint32_t id, int timeout_ms, vmctr__agent_msg *m, uint8_t **keep) {
  for (;;) {
    for (size_t i = 0; i < c->nresps; i++) {
      if (c->resps[i].id != id)
        continue;
      h_resp r = c->resps[i];
      c->resps[i] = c->resps[--c->nresps];
      *keep = r.payload;
      return vmctr__agent_msg_parse(r.payload, r.len, m);
    }
    if (h_pump(c, timeout_ms) <= 0)
      return -1;
  }
}

int32_t h_errno_of(const vmctr__agent_msg *m) {
  int32_t e = -1;
  vmctr__agent_get_i32(m, VMCTR_AT_ERRNO, &e);
  return e;
}

bool h_wait_eof(h_conn *c, uint32_t id, int timeout_ms) {
  for (;;) {
    h_stream *s = h_stream_get(c, id);
    if (s && s->eof)
      return true;
    if (h_pump(c, timeout_ms) <= 0)
      return false;
  }
}
