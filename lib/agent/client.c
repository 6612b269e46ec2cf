/* SPDX-License-Identifier: MIT */
/* Agent client: connection, handshake, the I/O thread, death (see client.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client-priv.h"
#include "core/error.h"
#include "core/fd.h"
#include "core/log.h"
#include "core/time.h"
#include "vmctr/version.h"

#define MIN_FRAME 1024u
#define READ_CHUNK 65536u

int agent__alloc(vmctr__agent **out, const vmctr__agent_limits *lim) {
  vmctr__agent *a = calloc(1, sizeof(*a));
  uint32_t frame = lim && lim->max_frame ? lim->max_frame : VMCTR_AGENT_DEFAULT_FRAME;
  uint32_t window = lim && lim->window ? lim->window : VMCTR_AGENT_DEFAULT_WINDOW;
  if (frame < MIN_FRAME || frame > VMCTR_AGENT_MAX_FRAME) {
    free(a);
    return vmctr__err(VMCTR_EINVAL, 0, "agent max_frame %u is outside %u..%u", frame, MIN_FRAME,
                      VMCTR_AGENT_MAX_FRAME);
  }
  if (!a)
    return vmctr__err_nomem();
  a->fd = -1;
  a->wake[0] = a->wake[1] = a->state[0] = a->state[1] = -1;
  a->host_frame = frame;
  a->host_window = window;
  a->peer_frame = VMCTR_AGENT_DEFAULT_FRAME;
  a->peer_window = VMCTR_AGENT_DEFAULT_WINDOW;
  a->next_req = 1;
  a->next_stream = 1;
  a->alive = true;
  pthread_mutex_init(&a->lock, NULL);
  vmctr__cond_init(&a->cond);
  a->in = malloc(VMCTR_AGENT_HDR_SIZE + (size_t)frame);
  if (!a->in || vmctr__pipe(a->wake) < 0 || vmctr__pipe(a->state) < 0) {
    int e = errno;
    bool nomem = !a->in; /* read before the free */
    vmctr__agent_free(a);
    return nomem ? vmctr__err_nomem() : vmctr__err_os(e, "cannot create the agent's wakeup pipes");
  }
  *out = a;
  return 0;
}

void agent__wake(vmctr__agent *a) {
  char c = 1;
  if (a->wake[1] >= 0 && write(a->wake[1], &c, 1) < 0) {
    /* A full pipe already wakes the thread. */
  }
}

void agent__die(vmctr__agent *a, int code, const char *fmt, ...) {
  va_list ap;
  char c = 1;
  if (!a->alive)
    return;
  a->alive = false;
  a->dead_code = code;
  va_start(ap, fmt);
  vsnprintf(a->dead_msg, sizeof(a->dead_msg), fmt, ap);
  va_end(ap);
  vmctr__log(code == VMCTR_EPROTO ? VMCTR_LOG_ERROR : VMCTR_LOG_INFO, AGENT_LOG,
             "connection closed: %s", a->dead_msg);
  if (a->fd >= 0)
    shutdown(a->fd, SHUT_RDWR);
  while (a->out_head) {
    agent_out *o = a->out_head;
    a->out_head = o->next;
    free(o);
  }
  a->out_tail = NULL;
  a->out_bytes = 0;
  agent__fail_pending(a);
  if (a->state[1] >= 0 && write(a->state[1], &c, 1) < 0) {
    /* cannot fail on a fresh pipe */
  }
  pthread_cond_broadcast(&a->cond);
  agent__wake(a);
}

int agent__dead_err(vmctr__agent *a) {
  return vmctr__err(a->dead_code, 0, "%s", a->dead_msg);
}

int agent__queue(vmctr__agent *a, uint16_t type, uint32_t stream, const void *p, size_t n) {
  vmctr__agent_hdr h = {.len = (uint32_t)n, .type = type, .flags = 0, .stream = stream};
  agent_out *o;
  if (!a->alive || a->detached)
    return 0;
  o = malloc(sizeof(*o) + VMCTR_AGENT_HDR_SIZE + n);
  if (!o)
    return -ENOMEM;
  vmctr__agent_hdr_encode(o->data, &h);
  if (n)
    memcpy(o->data + VMCTR_AGENT_HDR_SIZE, p, n);
  o->len = VMCTR_AGENT_HDR_SIZE + n;
  o->off = 0;
  o->next = NULL;
  if (a->out_tail)
    a->out_tail->next = o;
  else
    a->out_head = o;
  a->out_tail = o;
  a->out_bytes += o->len;
  return 0;
}

static ssize_t sock_send(int fd, const void *p, size_t n) {
#ifdef MSG_NOSIGNAL
  ssize_t r = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (r >= 0 || errno != ENOTSOCK)
    return r;
#endif
  return write(fd, p, n);
}

static void flush_out(vmctr__agent *a) {
  while (a->out_head) {
    agent_out *o = a->out_head;
    ssize_t n = sock_send(a->fd, o->data + o->off, o->len - o->off);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return;
      agent__die(a, VMCTR_EIO, "agent connection lost (send: %s)", strerror(errno));
      return;
    }
    o->off += (size_t)n;
    a->out_bytes -= (size_t)n;
    if (o->off < o->len)
      return;
    a->out_head = o->next;
    if (!a->out_head)
      a->out_tail = NULL;
    free(o);
  }
}

/* After death, keep running only while fd sinks still hold guest data. */
static bool draining(vmctr__agent *a) {
  for (agent_stream *s = a->streams; s; s = s->next)
    if (!s->released && s->sink_fd >= 0 && s->rlen > s->roff)
      return true;
  return false;
}

static void *io_main(void *arg) {
  vmctr__agent *a = arg;
  struct pollfd *pfd = NULL;
  uint32_t *ids = NULL;
  size_t cap = 0;
  uint8_t *buf = malloc(READ_CHUNK);

  pthread_mutex_lock(&a->lock);
  if (!buf)
    agent__die(a, VMCTR_ENOMEM, "out of memory in the agent I/O thread");
  while (!a->stop) {
    size_t n = 2, ns = 0;
    agent__pump(a);
    if (a->stop || (!a->alive && !draining(a)))
      break;
    for (agent_stream *s = a->streams; s; s = s->next)
      ns++;
    if (cap < 2 + 2 * ns) {
      size_t c = 2 + 2 * ns + 16;
      struct pollfd *p2 = realloc(pfd, c * sizeof(*pfd));
      uint32_t *i2 = p2 ? realloc(ids, c * sizeof(*ids)) : NULL;
      if (p2)
        pfd = p2;
      if (!i2) {
        agent__die(a, VMCTR_ENOMEM, "out of memory in the agent I/O thread");
        break;
      }
      ids = i2;
      cap = c;
    }
    pfd[0] = (struct pollfd){.fd = a->alive ? a->fd : -1,
                             .events = (short)(POLLIN | (a->out_head ? POLLOUT : 0))};
    pfd[1] = (struct pollfd){.fd = a->wake[0], .events = POLLIN};
    for (agent_stream *s = a->streams; s; s = s->next) {
      if (s->released)
        continue;
      if (s->sink_fd >= 0 && s->rlen > s->roff && !s->sink_ready) {
        ids[n] = s->id;
        pfd[n++] = (struct pollfd){.fd = s->sink_fd, .events = POLLOUT};
      }
      if (a->alive && s->src_fd >= 0 && !s->src_ready && !s->tx_eof_sent &&
          vmctr__agent_credit_avail(&s->tx) > 0 && a->out_bytes < AGENT_OUTQ_HIGH) {
        ids[n] = s->id;
        pfd[n++] = (struct pollfd){.fd = s->src_fd, .events = POLLIN};
      }
    }
    /* Wake up for the stall log only: nothing here depends on time. */
    int tmo = agent__check_stalls(a);
    pthread_mutex_unlock(&a->lock);
    int r = poll(pfd, n, tmo);
    pthread_mutex_lock(&a->lock);
    if (r < 0)
      continue; /* EINTR; anything else repeats harmlessly */
    if (pfd[1].revents) {
      char drain[64];
      while (read(a->wake[0], drain, sizeof(drain)) > 0) {
      }
    }
    for (size_t i = 2; i < n; i++) {
      agent_stream *s;
      if (!pfd[i].revents || !(s = agent__stream_find(a, ids[i])))
        continue;
      if (pfd[i].events == POLLOUT && s->sink_fd == pfd[i].fd)
        s->sink_ready = true;
      else if (pfd[i].events == POLLIN && s->src_fd == pfd[i].fd)
        s->src_ready = true;
    }
    if (!a->alive)
      continue;
    if (pfd[0].revents & POLLOUT)
      flush_out(a);
    if (a->alive && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t got = recv(a->fd, buf, READ_CHUNK, MSG_DONTWAIT);
      if (got > 0)
        agent__input(a, buf, (size_t)got);
      else if (got == 0)
        agent__die(a, VMCTR_EIO, "agent connection lost");
      else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        agent__die(a, VMCTR_EIO, "agent connection lost (%s)", strerror(errno));
    }
    if (a->alive && a->out_head)
      flush_out(a);
  }
  agent__pump(a); /* deliver death to callbacks that have not heard it */
  pthread_mutex_unlock(&a->lock);
  free(buf);
  free(pfd);
  free(ids);
  return NULL;
}

/* --- handshake (caller's thread, before the I/O thread exists) --- */

/* 0 once fd is ready, or VMCTR_E* (ETIMEDOUT at the deadline). */
static int wait_fd(int fd, short ev, int64_t deadline) {
  int r = vmctr__wait_fd(fd, ev, deadline);
  if (r == 0)
    return vmctr__err(VMCTR_ETIMEDOUT, 0,
                      "the guest agent sent no HELLO in time; check that vmctr-init runs "
                      "and its channel is connected");
  return r < 0 ? vmctr__err_prefix("the agent socket") : 0;
}

static int read_exact(int fd, uint8_t *p, size_t n, int64_t deadline) {
  while (n) {
    ssize_t r = recv(fd, p, n, MSG_DONTWAIT);
    if (r == 0)
      return vmctr__err(VMCTR_EIO, 0, "agent connection lost during the handshake");
    if (r < 0) {
      int e;
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        return vmctr__err_os(errno, "read from the agent socket");
      if ((e = wait_fd(fd, POLLIN, deadline)) < 0)
        return e;
      continue;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n, int64_t deadline) {
  while (n) {
    ssize_t r = sock_send(fd, p, n);
    if (r < 0) {
      int e;
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        return vmctr__err(VMCTR_EIO, errno, "agent connection lost during the handshake: %s",
                          strerror(errno));
      if ((e = wait_fd(fd, POLLOUT, deadline)) < 0)
        return e;
      continue;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int check_hello(vmctr__agent *a, const uint8_t *payload, size_t len) {
  vmctr__agent_msg m = {0};
  uint32_t magic = 0, version = 0, frame = 0, window = 0;
  int r = vmctr__agent_msg_parse(payload, len, &m);
  if (r < 0)
    return vmctr__err(VMCTR_EPROTO, 0, "the guest agent's HELLO is malformed");
  if (vmctr__agent_get_u32(&m, VMCTR_AT_MAGIC, &magic) < 0 || magic != VMCTR_AGENT_MAGIC) {
    r = vmctr__err(VMCTR_EPROTO, 0, "the peer is not a vmctr guest agent (bad HELLO magic)");
    goto out;
  }
  if (vmctr__agent_get_u32(&m, VMCTR_AT_VERSION, &version) < 0) {
    r = vmctr__err(VMCTR_EPROTO, 0, "the guest agent's HELLO has no version");
    goto out;
  }
  if (version != VMCTR_AGENT_VERSION) {
    r = vmctr__err(VMCTR_EUNSUPPORTED, 0,
                   "the guest agent speaks protocol version %u, this libvmctr speaks %u; "
                   "rebuild the initfs with this libvmctr's vmctr-init",
                   version, VMCTR_AGENT_VERSION);
    goto out;
  }
  if (vmctr__agent_get_u32(&m, VMCTR_AT_MAX_FRAME, &frame) < 0 || frame < MIN_FRAME ||
      vmctr__agent_get_u32(&m, VMCTR_AT_WINDOW, &window) < 0 || window == 0) {
    r = vmctr__err(VMCTR_EPROTO, 0,
                   "the guest agent's HELLO lacks a valid max_frame (>= %u) or window (> 0)",
                   MIN_FRAME);
    goto out;
  }
  a->peer_frame = frame < VMCTR_AGENT_MAX_FRAME ? frame : VMCTR_AGENT_MAX_FRAME;
  a->peer_window = window;
  {
    const uint8_t *raw;
    size_t n;
    /* Logged and shown to users: printable UTF-8 only, bounded. */
    if (vmctr__agent_get_bytes(&m, VMCTR_AT_AGENT_INFO, &raw, &n) == 0 &&
        !(a->info = agent__sanitize((const char *)raw, n, 128))) {
      r = vmctr__err_nomem();
      goto out;
    }
  }
  free(a->hello);
  if (!(a->hello = malloc(len ? len : 1))) {
    r = vmctr__err_nomem();
    goto out;
  }
  memcpy(a->hello, payload, len);
  a->hello_len = len;
  r = 0; /* agent info is optional and informative only */
out:
  vmctr__agent_msg_free(&m);
  return r;
}

static int handshake(vmctr__agent *a, int timeout_ms) {
  int64_t deadline = vmctr__deadline_ms(timeout_ms);
  uint8_t hdr[VMCTR_AGENT_HDR_SIZE], *frame = NULL;
  vmctr__agent_hdr h;
  vmctr__agent_buf b;
  size_t flen;
  int r;

  if ((r = read_exact(a->fd, hdr, sizeof(hdr), deadline)) < 0)
    return r;
  if (vmctr__agent_hdr_decode(hdr, a->host_frame, &h) < 0 || h.type != VMCTR_AF_HELLO)
    return vmctr__err(VMCTR_EPROTO, 0, "the guest agent did not start with a valid HELLO frame");
  if ((r = read_exact(a->fd, a->in, h.len, deadline)) < 0)
    return r;
  if ((r = check_hello(a, a->in, h.len)) < 0)
    return r;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_MAGIC, VMCTR_AGENT_MAGIC);
  vmctr__agent_put_u32(&b, VMCTR_AT_VERSION, VMCTR_AGENT_VERSION);
  vmctr__agent_put_u32(&b, VMCTR_AT_MAX_FRAME, a->host_frame);
  vmctr__agent_put_u32(&b, VMCTR_AT_WINDOW, a->host_window);
  vmctr__agent_put_str(&b, VMCTR_AT_AGENT_INFO, "libvmctr " VMCTR_VERSION_STRING);
  if (vmctr__agent_buf_finish(&b, a->peer_frame) < 0 ||
      vmctr__agent_frame(VMCTR_AF_HELLO, 0, 0, b.data, b.len, &frame, &flen) < 0) {
    vmctr__agent_buf_free(&b);
    return vmctr__err_nomem();
  }
  vmctr__agent_buf_free(&b);
  r = write_all(a->fd, frame, flen, deadline);
  free(frame);
  return r;
}

/* hello non-NULL: the handshake happened before (a restored VM); take the
 * guest's side of it from hello instead of the socket. */
static int connect_common(vmctr__agent **out, int fd, int timeout_ms,
                          const vmctr__agent_limits *lim, const uint8_t *hello, size_t hello_len) {
  vmctr__agent *a = NULL;
  sigset_t all, old;
  int r;

  if (!out || fd < 0) {
    if (fd >= 0)
      close(fd);
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_connect: NULL out or bad fd");
  }
  if ((r = agent__alloc(&a, lim)) < 0) {
    close(fd);
    return r;
  }
  a->fd = fd;
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
#ifdef SO_NOSIGPIPE
  {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
  }
#endif
  if ((r = hello ? check_hello(a, hello, hello_len) : handshake(a, timeout_ms)) < 0)
    goto fail;
  /* The I/O thread starts with every signal blocked: EPIPE instead of
   * SIGPIPE on stdio pipes, and no signal lands on a library thread. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  r = pthread_create(&a->thread, NULL, io_main, a);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r != 0) {
    r = vmctr__err_os(r, "cannot start the agent I/O thread");
    goto fail;
  }
  a->thread_started = true;
  vmctr__log(VMCTR_LOG_DEBUG, AGENT_LOG, "connected to %s (frame %u, window %u)",
             a->info ? a->info : "guest agent", a->peer_frame, a->peer_window);
  *out = a;
  return 0;
fail:
  vmctr__agent_free(a);
  return r;
}

int vmctr__agent_connect_limits(vmctr__agent **out, int fd, int timeout_ms,
                                const vmctr__agent_limits *lim) {
  return connect_common(out, fd, timeout_ms, lim, NULL, 0);
}

int vmctr__agent_resume(vmctr__agent **out, int fd, const uint8_t *hello, size_t len) {
  if (!hello || !len) {
    if (fd >= 0)
      close(fd);
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_resume: no HELLO");
  }
  return connect_common(out, fd, 0, NULL, hello, len);
}

void vmctr__agent_hello(vmctr__agent *a, const uint8_t **hello, size_t *len) {
  *hello = a->hello;
  *len = a->hello_len;
}

int vmctr__agent_connect(vmctr__agent **out, int fd, int timeout_ms) {
  return vmctr__agent_connect_limits(out, fd, timeout_ms, NULL);
}

void vmctr__agent_free(vmctr__agent *a) {
  if (!a)
    return;
  pthread_mutex_lock(&a->lock);
  a->stop = true;
  pthread_mutex_unlock(&a->lock);
  agent__wake(a);
  if (a->thread_started)
    pthread_join(a->thread, NULL);
  pthread_mutex_lock(&a->lock);
  if (a->alive) {
    a->alive = false;
    a->dead_code = VMCTR_ECANCELED;
    snprintf(a->dead_msg, sizeof(a->dead_msg), "the agent connection was closed");
  }
  while (a->out_head) {
    agent_out *o = a->out_head;
    a->out_head = o->next;
    free(o);
  }
  agent__streams_free(a);
  while (a->pending) {
    agent_pending *p = a->pending;
    a->pending = p->next;
    vmctr__agent_reply_free(p->reply);
    free(p);
  }
  pthread_mutex_unlock(&a->lock);
  if (a->fd >= 0)
    close(a->fd);
  vmctr__close_pipe(a->wake);
  vmctr__close_pipe(a->state);
  pthread_cond_destroy(&a->cond);
  pthread_mutex_destroy(&a->lock);
  free(a->in);
  free(a->info);
  free(a->hello);
  free(a);
}

bool vmctr__agent_alive(vmctr__agent *a) {
  bool r;
  pthread_mutex_lock(&a->lock);
  r = a->alive;
  pthread_mutex_unlock(&a->lock);
  return r;
}

int vmctr__agent_state_fd(vmctr__agent *a) {
  return a->state[0];
}

const char *vmctr__agent_info(vmctr__agent *a) {
  return a->info ? a->info : "";
}

int vmctr__agent_new_detached(vmctr__agent **out, const vmctr__agent_limits *host,
                              const vmctr__agent_limits *guest) {
  vmctr__agent *a;
  int r = agent__alloc(&a, host);
  if (r < 0)
    return r;
  a->detached = true;
  if (guest && guest->max_frame)
    a->peer_frame = guest->max_frame;
  if (guest && guest->window)
    a->peer_window = guest->window;
  *out = a;
  return 0;
}

int vmctr__agent_feed(vmctr__agent *a, const uint8_t *data, size_t len) {
  int r;
  pthread_mutex_lock(&a->lock);
  agent__input(a, data, len);
  agent__pump(a);
  r = a->alive ? 0 : a->dead_code;
  pthread_mutex_unlock(&a->lock);
  return r;
}
