/* SPDX-License-Identifier: MIT */
/* Agent client: stdio streams and their credit-based flow control. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client-priv.h"
#include "core/error.h"
#include "core/log.h"
#include "core/time.h"

#define SRC_CHUNK 65536u

agent_stream *agent__stream_find(vmctr__agent *a, uint32_t id) {
  for (agent_stream *s = a->streams; s; s = s->next)
    if (s->id == id)
      return s;
  return NULL;
}

static void close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

static void stream_free(agent_stream *s) {
  close_fd(&s->sink_fd);
  close_fd(&s->src_fd);
  free(s->rbuf);
  free(s->wbuf);
  free(s);
}

void agent__streams_free(vmctr__agent *a) {
  while (a->streams) {
    agent_stream *s = a->streams;
    a->streams = s->next;
    stream_free(s);
  }
}

static void progress(agent_stream *s) {
  s->progress_ms = vmctr__now_ms();
  s->stall_logged = false;
}

/* --- frames from the guest --- */

int agent__on_data(vmctr__agent *a, agent_stream *s, const uint8_t *p, size_t n) {
  if (s->rx_eof) {
    agent__die(a, VMCTR_EPROTO, "guest agent sent DATA on stream %u after EOF", s->id);
    return -1;
  }
  if (n > vmctr__agent_credit_avail(&s->rx)) {
    agent__die(a, VMCTR_EPROTO, "guest agent sent %zu bytes on stream %u beyond its credit of %llu",
               n, s->id, (unsigned long long)vmctr__agent_credit_avail(&s->rx));
    return -1;
  }
  s->rx.used += n;
  progress(s);
  if (s->released || n == 0)
    return 0;
  /* Buffered bytes never exceed the window: credit is returned only for
   * bytes that left the buffer. */
  if (s->rcap - s->rlen < n) {
    if (s->roff) {
      memmove(s->rbuf, s->rbuf + s->roff, s->rlen - s->roff);
      s->rlen -= s->roff;
      s->roff = 0;
    }
    if (s->rcap - s->rlen < n) {
      size_t cap = s->rlen + n;
      uint8_t *nb;
      if (cap < 2 * s->rcap)
        cap = 2 * s->rcap;
      if (cap > a->host_window && s->rlen + n <= a->host_window)
        cap = a->host_window;
      if (!(nb = realloc(s->rbuf, cap))) {
        agent__die(a, VMCTR_ENOMEM, "out of memory buffering stream %u", s->id);
        return -1;
      }
      s->rbuf = nb;
      s->rcap = cap;
    }
  }
  memcpy(s->rbuf + s->rlen, p, n);
  s->rlen += n;
  return 0;
}

int agent__on_eof(vmctr__agent *a, agent_stream *s) {
  if (s->rx_eof) {
    agent__die(a, VMCTR_EPROTO, "guest agent sent a second EOF on stream %u", s->id);
    return -1;
  }
  s->rx_eof = true;
  progress(s);
  return 0;
}

int agent__on_credit(vmctr__agent *a, agent_stream *s, uint32_t bytes) {
  if (vmctr__agent_credit_avail(&s->tx) + bytes > UINT32_MAX) {
    agent__die(a, VMCTR_EPROTO, "guest agent granted more than 4 GiB of credit on stream %u",
               s->id);
    return -1;
  }
  s->tx.granted += bytes;
  progress(s);
  return 0;
}

/* --- the pump (I/O thread, or vmctr__agent_feed) --- */

static void consumed(agent_stream *s, size_t n) {
  s->roff += n;
  s->owed += n;
  if (n)
    progress(s);
  if (s->roff == s->rlen)
    s->roff = s->rlen = 0;
}

/* Call the stream's callback with the lock dropped. Streams are unlinked
 * only by the pump, which skips one whose callback runs, so s stays valid. */
static void call_cb(vmctr__agent *a, agent_stream *s, const uint8_t *p, size_t n, int status) {
  vmctr__agent_data_cb cb = s->cb;
  void *ud = s->ud;
  s->cb_busy = true;
  pthread_mutex_unlock(&a->lock);
  cb(ud, s->id, p, n, status);
  pthread_mutex_lock(&a->lock);
  s->cb_busy = false;
}

static void pump_rx(vmctr__agent *a, agent_stream *s) {
  if (s->rlen > s->roff) {
    size_t n = s->rlen - s->roff;
    if (s->cb) {
      call_cb(a, s, s->rbuf + s->roff, n, 0);
      consumed(s, n);
    } else if (s->sink_fd >= 0 && s->sink_ready) {
      ssize_t w;
      if (!s->sink_nonblock && n > PIPE_BUF)
        n = PIPE_BUF; /* a blocking pipe takes PIPE_BUF after POLLOUT without blocking */
      w = write(s->sink_fd, s->rbuf + s->roff, n);
      s->sink_ready = false;
      if (w > 0) {
        consumed(s, (size_t)w);
      } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        /* The consumer went away: drop its output, keep the guest flowing. */
        vmctr__log(VMCTR_LOG_DEBUG, AGENT_LOG, "stream %u: consumer gone (%s), discarding",
                   s->id, strerror(errno));
        close_fd(&s->sink_fd);
        s->sink_gone = true;
        consumed(s, s->rlen - s->roff);
      }
    } else if (s->sink_gone) {
      consumed(s, n);
    }
  }
  if (!s->rx_done && s->rlen == s->roff && (s->rx_eof || !a->alive)) {
    close_fd(&s->sink_fd);
    if (s->cb)
      call_cb(a, s, NULL, 0, s->rx_eof ? 1 : a->dead_code);
    s->rx_done = true; /* only now: waiters may rely on the callback's effects */
    pthread_cond_broadcast(&a->cond);
  } else if (!a->alive && !s->rx_done && (s->sink_fd < 0 && !s->cb)) {
    s->rx_done = true; /* nobody will ever take these bytes */
    pthread_cond_broadcast(&a->cond);
  }
  if (a->alive && s->owed && (s->rlen == s->roff || s->owed >= a->host_window / 2)) {
    uint8_t c[4];
    uint32_t n = s->owed > UINT32_MAX ? UINT32_MAX : (uint32_t)s->owed;
    vmctr__agent_put_le32(c, n);
    if (agent__queue(a, VMCTR_AF_CREDIT, s->id, c, 4) < 0) {
      agent__die(a, VMCTR_ENOMEM, "out of memory queueing credit");
      return;
    }
    s->rx.granted += n;
    s->owed -= n;
  }
}

static void send_eof(vmctr__agent *a, agent_stream *s) {
  if (agent__queue(a, VMCTR_AF_EOF, s->id, NULL, 0) < 0)
    agent__die(a, VMCTR_ENOMEM, "out of memory queueing EOF");
  s->tx_eof_sent = true;
  close_fd(&s->src_fd);
}

static void pump_tx(vmctr__agent *a, agent_stream *s) {
  size_t room = vmctr__agent_credit_avail(&s->tx);
  if (!a->alive || s->tx_eof_sent || s->released)
    return;
  if (room > a->peer_frame)
    room = a->peer_frame;
  if (s->src_mem) {
    while (s->wlen > s->woff && vmctr__agent_credit_avail(&s->tx) && a->out_bytes < AGENT_OUTQ_HIGH) {
      size_t n = s->wlen - s->woff;
      room = vmctr__agent_credit_avail(&s->tx);
      if (room > a->peer_frame)
        room = a->peer_frame;
      n = n < room ? n : room;
      if (agent__queue(a, VMCTR_AF_DATA, s->id, s->wbuf + s->woff, n) < 0) {
        agent__die(a, VMCTR_ENOMEM, "out of memory queueing stdin");
        return;
      }
      s->tx.used += n;
      s->woff += n;
      progress(s);
      pthread_cond_broadcast(&a->cond); /* room for a blocked writer */
    }
    if (s->woff == s->wlen)
      s->woff = s->wlen = 0;
    if (s->tx_close && s->wlen == 0)
      send_eof(a, s);
  } else if (s->src_fd >= 0 && s->src_ready && room && a->out_bytes < AGENT_OUTQ_HIGH) {
    uint8_t buf[SRC_CHUNK];
    ssize_t n = read(s->src_fd, buf, room < sizeof(buf) ? room : sizeof(buf));
    s->src_ready = false;
    if (n > 0) {
      if (agent__queue(a, VMCTR_AF_DATA, s->id, buf, (size_t)n) < 0) {
        agent__die(a, VMCTR_ENOMEM, "out of memory queueing stdin");
        return;
      }
      s->tx.used += (size_t)n;
      progress(s);
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      send_eof(a, s);
    }
  }
}

void agent__pump(vmctr__agent *a) {
  agent_stream **pp = &a->streams;
  while (*pp) {
    agent_stream *s = *pp;
    if (s->released && !s->cb_busy) {
      *pp = s->next;
      stream_free(s);
      continue;
    }
    pump_rx(a, s);
    pump_tx(a, s);
    if (!a->alive) {
      close_fd(&s->src_fd);
    }
    pp = &s->next;
  }
  if (a->detached) /* nobody sends: pretend the frames went out */
    a->out_bytes = 0;
}

/* --- caller API --- */

static int lookup(vmctr__agent *a, uint32_t id, agent_stream **out) {
  agent_stream *s = a ? agent__stream_find(a, id) : NULL;
  if (!s || s->released)
    return vmctr__err(VMCTR_ENOENT, 0, "agent stream %u does not exist", id);
  *out = s;
  return 0;
}

int vmctr__agent_stream_new(vmctr__agent *a, uint32_t *id) {
  agent_stream *s;
  if (!a || !id)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_stream_new: NULL argument");
  if (!(s = calloc(1, sizeof(*s))))
    return vmctr__err_nomem();
  s->sink_fd = s->src_fd = -1;
  pthread_mutex_lock(&a->lock);
  if (a->next_stream == 0) {
    pthread_mutex_unlock(&a->lock);
    free(s);
    return vmctr__err(VMCTR_EBUSY, 0, "agent stream ids exhausted on this connection");
  }
  s->id = a->next_stream++;
  s->rx.granted = a->host_window;
  s->rx_done = !a->alive;
  s->tx.granted = a->peer_window;
  s->progress_ms = vmctr__now_ms();
  s->next = a->streams;
  a->streams = s;
  *id = s->id;
  pthread_mutex_unlock(&a->lock);
  return 0;
}

static int attach(vmctr__agent *a, uint32_t id, int fd, bool sink, vmctr__agent_data_cb cb,
                  void *ud) {
  agent_stream *s;
  int r;
  pthread_mutex_lock(&a->lock);
  if ((r = lookup(a, id, &s)) < 0)
    goto out;
  if (sink ? (s->sink_fd >= 0 || s->cb || s->rx_done) : (s->src_fd >= 0 || s->src_mem)) {
    r = vmctr__err(VMCTR_EBUSY, 0, "agent stream %u already has a %s", id,
                   sink ? "consumer" : "source");
    goto out;
  }
  if (fd >= 0)
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (sink && cb) {
    s->cb = cb;
    s->ud = ud;
  } else if (sink) {
    s->sink_fd = fd;
    s->sink_nonblock = (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
    fd = -1;
  } else if (fd >= 0) {
    s->src_fd = fd;
    fd = -1;
  } else {
    s->src_mem = true;
  }
  agent__wake(a);
out:
  pthread_mutex_unlock(&a->lock);
  if (fd >= 0)
    close(fd);
  return r;
}

int vmctr__agent_stream_recv_fd(vmctr__agent *a, uint32_t id, int fd) {
  if (!a || fd < 0) {
    if (fd >= 0)
      close(fd);
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_stream_recv_fd: bad argument");
  }
  return attach(a, id, fd, true, NULL, NULL);
}

int vmctr__agent_stream_recv_cb(vmctr__agent *a, uint32_t id, vmctr__agent_data_cb cb, void *ud) {
  if (!a || !cb)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_stream_recv_cb: NULL argument");
  return attach(a, id, -1, true, cb, ud);
}

int vmctr__agent_stream_send_fd(vmctr__agent *a, uint32_t id, int fd) {
  if (!a || fd < 0) {
    if (fd >= 0)
      close(fd);
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_stream_send_fd: bad argument");
  }
  return attach(a, id, fd, false, NULL, NULL);
}

/* Copy what fits below AGENT_WBUF_MAX into wbuf; the count taken. */
static size_t wbuf_append(agent_stream *s, const uint8_t *data, size_t len) {
  size_t room, cap;
  if (s->woff) { /* keep the live bytes at the front: memory stays bounded */
    memmove(s->wbuf, s->wbuf + s->woff, s->wlen - s->woff);
    s->wlen -= s->woff;
    s->woff = 0;
  }
  room = AGENT_WBUF_MAX - s->wlen;
  if (len > room)
    len = room;
  if (len == 0)
    return 0;
  if (s->wcap - s->wlen < len) {
    uint8_t *nb;
    cap = s->wcap ? s->wcap : 16384;
    while (cap < s->wlen + len)
      cap *= 2;
    if (cap > AGENT_WBUF_MAX)
      cap = AGENT_WBUF_MAX;
    if (!(nb = realloc(s->wbuf, cap)))
      return 0;
    s->wbuf = nb;
    s->wcap = cap;
  }
  memcpy(s->wbuf + s->wlen, data, len);
  s->wlen += len;
  progress(s);
  return len;
}

struct room_arg {
  uint32_t id;
};

static bool has_room(vmctr__agent *a, void *arg) {
  agent_stream *s = agent__stream_find(a, ((struct room_arg *)arg)->id);
  return !a->alive || !s || s->released || s->tx_close || s->wlen - s->woff < AGENT_WBUF_MAX;
}

int vmctr__agent_stream_write_some(vmctr__agent *a, uint32_t id, const void *data, size_t len,
                                   int timeout_ms) {
  agent_stream *s;
  struct room_arg arg = {id};
  int64_t deadline = vmctr__deadline_ms(timeout_ms);
  size_t took = 0;
  int r;
  if (!a || (!data && len))
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_stream_write: bad argument");
  pthread_mutex_lock(&a->lock);
  for (;;) {
    if ((r = lookup(a, id, &s)) < 0)
      goto out;
    if (s->src_fd >= 0 || s->tx_close) {
      r = vmctr__err(VMCTR_ESTATE, 0, "agent stream %u is %s", id,
                     s->tx_close ? "closed for writing" : "fed from an fd");
      goto out;
    }
    if (!a->alive) {
      r = agent__dead_err(a);
      goto out;
    }
    s->src_mem = true;
    if (len == 0)
      break;
    took = wbuf_append(s, data, len);
    if (took) {
      agent__wake(a);
      break;
    }
    if (s->wlen < AGENT_WBUF_MAX) {
      r = vmctr__err_nomem();
      goto out;
    }
    /* Full: the guest withholds credit. Detached, nothing would ever drain it. */
    if (a->detached || timeout_ms == 0 ||
        agent__wait(a, vmctr__remaining_ms(deadline), has_room, &arg) < 0) {
      char st[768];
      agent__stream_state(a, s, st, sizeof(st));
      r = vmctr__err(VMCTR_EAGAIN, 0,
                     "agent stream %u: %u bytes already wait for the guest to take them; "
                     "try again later (%s)",
                     id, AGENT_WBUF_MAX, st);
      goto out;
    }
  }
  r = (int)(took > INT32_MAX ? INT32_MAX : took);
out:
  pthread_mutex_unlock(&a->lock);
  return r;
}

int vmctr__agent_stream_write(vmctr__agent *a, uint32_t id, const void *data, size_t len) {
  const uint8_t *p = data;
  do {
    size_t n = len > INT32_MAX ? INT32_MAX : len;
    int r = vmctr__agent_stream_write_some(a, id, p, n, -1);
    if (r < 0)
      return r;
    p += r;
    len -= (size_t)r;
  } while (len);
  return 0;
}

int vmctr__agent_stream_close(vmctr__agent *a, uint32_t id) {
  agent_stream *s;
  int r;
  if (!a)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_stream_close: NULL agent");
  pthread_mutex_lock(&a->lock);
  if ((r = lookup(a, id, &s)) == 0 && s->src_fd < 0) {
    s->src_mem = true;
    s->tx_close = true;
    agent__wake(a);
  } else if (r == 0) {
    r = vmctr__err(VMCTR_ESTATE, 0, "agent stream %u is fed from an fd", id);
  }
  pthread_mutex_unlock(&a->lock);
  return r;
}

static bool rx_done(vmctr__agent *a, void *arg) {
  agent_stream *s = agent__stream_find(a, *(uint32_t *)arg);
  return !s || s->released || s->rx_done;
}

int vmctr__agent_stream_wait(vmctr__agent *a, uint32_t id, int timeout_ms) {
  agent_stream *s;
  int64_t deadline = vmctr__deadline_ms(timeout_ms);
  int r;
  if (!a)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_stream_wait: NULL agent");
  pthread_mutex_lock(&a->lock);
  if ((r = lookup(a, id, &s)) < 0)
    goto out;
  while (agent__wait(a, vmctr__remaining_ms(deadline), rx_done, &id) < 0) {
    char st[768];
    /* After the guest's EOF only the sink's pace is left: a slow reader
     * that keeps taking bytes is given the time it needs. */
    s = agent__stream_find(a, id);
    if (s && s->rx_eof && vmctr__now_ms() - s->progress_ms < timeout_ms) {
      deadline = s->progress_ms + timeout_ms;
      continue;
    }
    agent__stream_state(a, s, st, sizeof(st));
    r = vmctr__err(VMCTR_ETIMEDOUT, 0, "no EOF on agent stream %u in time (%s)", id, st);
    goto out;
  }
  /* Done without the guest's EOF means the connection died. (After death the
   * I/O thread still drains buffered bytes into fd sinks first.) */
  s = agent__stream_find(a, id);
  if (s && !s->released && !s->rx_eof)
    r = agent__dead_err(a);
out:
  pthread_mutex_unlock(&a->lock);
  return r;
}

void vmctr__agent_stream_release(vmctr__agent *a, uint32_t id) {
  agent_stream *s;
  if (!a)
    return;
  pthread_mutex_lock(&a->lock);
  if ((s = agent__stream_find(a, id))) {
    s->released = true;
    agent__wake(a);
  }
  pthread_mutex_unlock(&a->lock);
}

size_t vmctr__agent_stream_buffered(vmctr__agent *a, uint32_t id) {
  agent_stream *s;
  size_t n = 0;
  pthread_mutex_lock(&a->lock);
  if ((s = agent__stream_find(a, id)))
    n = s->rlen - s->roff;
  pthread_mutex_unlock(&a->lock);
  return n;
}

/* --- diagnostics --- */

void agent__stream_state(vmctr__agent *a, agent_stream *s, char *buf, size_t size) {
  size_t nout = 0;
  agent_pending *p;
  size_t npend = 0;
  if (!s) {
    snprintf(buf, size, "stream released");
    return;
  }
  for (agent_out *o = a->out_head; o; o = o->next)
    nout++;
  for (p = a->pending; p; p = p->next)
    npend += !p->done;
  snprintf(buf, size,
           "stream %u, no progress for %lld ms; guest->host: %zu bytes buffered, credit granted "
           "%llu used %llu (guest may send %llu), %llu owed back, eof %d, delivered %d, sink %s; "
           "host->guest: %zu bytes waiting, credit granted %llu used %llu, source %s, eof %s; "
           "connection: %zu frames (%zu bytes) queued for the guest, %zu of a frame read, "
           "%zu requests pending%s",
           s->id, (long long)(vmctr__now_ms() - s->progress_ms), s->rlen - s->roff,
           (unsigned long long)s->rx.granted, (unsigned long long)s->rx.used,
           (unsigned long long)vmctr__agent_credit_avail(&s->rx), (unsigned long long)s->owed,
           s->rx_eof, s->rx_done,
           s->cb ? (s->cb_busy ? "callback (running)" : "callback")
           : s->sink_fd >= 0 ? (s->sink_ready ? "fd (writable)" : "fd (polled)")
           : s->sink_gone ? "gone" : "none",
           s->wlen - s->woff, (unsigned long long)s->tx.granted, (unsigned long long)s->tx.used,
           s->src_fd >= 0 ? "fd" : s->src_mem ? "memory" : "none",
           s->tx_eof_sent ? "sent" : s->tx_close ? "queued" : "no", nout, a->out_bytes, a->in_len,
           npend, a->alive ? "" : ", dead");
}

/* Bytes or credit are stuck, as opposed to a quiet process. */
static bool stuck(agent_stream *s) {
  return s->rlen > s->roff || s->owed || (!s->rx_eof && vmctr__agent_credit_avail(&s->rx) == 0) ||
         s->wlen > s->woff || (s->src_fd >= 0 && vmctr__agent_credit_avail(&s->tx) == 0) ||
         (s->rx_eof && !s->rx_done);
}

int agent__check_stalls(vmctr__agent *a) {
  int64_t now = vmctr__now_ms(), next = -1;
  for (agent_stream *s = a->streams; s; s = s->next) {
    bool tx_open = !s->tx_eof_sent && (s->src_fd >= 0 || s->wlen > s->woff);
    int64_t due;
    if (s->released || s->stall_logged || (s->rx_done && !tx_open))
      continue;
    due = s->progress_ms + AGENT_STALL_MS;
    if (now >= due) {
      char st[768];
      agent__stream_state(a, s, st, sizeof(st));
      vmctr__log(stuck(s) ? VMCTR_LOG_INFO : VMCTR_LOG_DEBUG, AGENT_LOG, "stalled: %s", st);
      s->stall_logged = true;
      continue;
    }
    if (next < 0 || due < next)
      next = due;
  }
  return next < 0 ? -1 : (int)(next - now);
}
