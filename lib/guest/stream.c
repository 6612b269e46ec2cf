/* SPDX-License-Identifier: MIT */
/*
 * Stdio streams and their flow control. Output is read from a child only
 * while the host has granted credit, so a fast writer blocks on its pipe and
 * nothing piles up here. Input is accepted only within the credit we granted
 * and credit goes back as the child takes the bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "guest/guest-priv.h"

#define READ_CHUNK (64u << 10)

void guest_stream_init(guest_stream *s, bool is_in) {
  memset(s, 0, sizeof(*s));
  s->fd = -1;
  s->is_in = is_in;
}

void guest_stream_close(guest_stream *s) {
  if (s->fd >= 0)
    close(s->fd);
  s->fd = -1;
  free(s->pend);
  s->pend = NULL;
  s->pend_len = s->pend_off = 0;
}

guest_stream *guest_stream_find(guest_agent *a, uint32_t id, bool is_in) {
  for (guest_proc *p = a->procs; p; p = p->next) {
    if (p->dead)
      continue;
    if (is_in && p->in.id == id && p->in.fd >= 0)
      return &p->in;
    if (!is_in && p->out.id == id && p->out.fd >= 0)
      return &p->out;
    if (!is_in && p->err.id == id && p->err.fd >= 0)
      return &p->err;
  }
  return NULL;
}

/* Whether the pipe or pty holds bytes not read yet (true when unknown). */
static bool has_unread(int fd) {
  int n = 0;
  return ioctl(fd, FIONREAD, &n) < 0 || n > 0;
}

/* `empty` must be true only when the fd held nothing when we last looked:
 * guest_proc_settle answers WAIT on it. A read that ends for want of credit
 * says nothing about what is left, so look with FIONREAD then; otherwise an
 * EAGAIN from an earlier round would claim the output is through while the
 * child's last bytes still sit in the pipe. */
void guest_stream_pump_out(guest_agent *a, guest_stream *s) {
  static uint8_t buf[READ_CHUNK];
  while (s->fd >= 0) {
    uint64_t n = vmctr__agent_credit_avail(&s->credit);
    if (n == 0 || a->wlen - a->woff > GUEST_WBUF_HIGH) {
      s->empty = !has_unread(s->fd);
      return;
    }
    if (n > a->send_frame)
      n = a->send_frame;
    if (n > sizeof(buf))
      n = sizeof(buf);
    ssize_t r = read(s->fd, buf, (size_t)n);
    if (r > 0) {
      guest_send(a, VMCTR_AF_DATA, s->id, buf, (size_t)r);
      s->credit.used += (uint64_t)r;
      s->empty = false;
      continue;
    }
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && errno == EAGAIN) {
      s->empty = true;
      return;
    }
    /* 0 = every writer closed; EIO = a pty whose slaves are all closed. */
    guest_send(a, VMCTR_AF_EOF, s->id, NULL, 0);
    guest_stream_close(s);
  }
}

static void finish_in(guest_stream *s) {
  if (s->pty) {
    /* Closing our dup of the master would not end the child's input; the
     * terminal's EOF character does (at the start of a line). */
    struct termios t;
    char c = tcgetattr(s->fd, &t) == 0 ? (char)t.c_cc[VEOF] : 4;
    (void)!write(s->fd, &c, 1);
  }
  guest_stream_close(s);
}

void guest_stream_pump_in(guest_agent *a, guest_stream *s) {
  size_t done = 0;
  while (s->fd >= 0 && s->pend_off < s->pend_len) {
    ssize_t r = write(s->fd, s->pend + s->pend_off, s->pend_len - s->pend_off);
    if (r > 0) {
      s->pend_off += (size_t)r;
      done += (size_t)r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && errno == EAGAIN) {
      break;
    } else {
      /* The reader is gone (EPIPE): drop the rest, but keep the host's
       * accounting straight. */
      done += s->pend_len - s->pend_off;
      guest_stream_close(s);
    }
  }
  if (s->pend_off == s->pend_len) {
    s->pend_off = s->pend_len = 0;
    if (s->eof_pending && s->fd >= 0)
      finish_in(s);
  }
  if (done) {
    s->granted += done;
    guest_send_credit(a, s->id, (uint32_t)done);
  }
}

int guest_stream_data(guest_agent *a, guest_stream *s, const uint8_t *p, size_t n) {
  if (s->received + n > s->granted) {
    guest_log("stream %u: the host sent %zu bytes beyond its credit", s->id,
              (size_t)(s->received + n - s->granted));
    return -EPROTO;
  }
  s->received += n;
  if (s->eof_pending || n == 0)
    return 0;
  /* Compact, then append: bounded by the window we granted. */
  if (s->pend_off) {
    memmove(s->pend, s->pend + s->pend_off, s->pend_len - s->pend_off);
    s->pend_len -= s->pend_off;
    s->pend_off = 0;
  }
  uint8_t *q = realloc(s->pend, s->pend_len + n);
  if (!q)
    guest_fatal("out of memory buffering stdin");
  s->pend = q;
  memcpy(s->pend + s->pend_len, p, n);
  s->pend_len += n;
  guest_stream_pump_in(a, s);
  return 0;
}

void guest_stream_eof(guest_agent *a, guest_stream *s) {
  s->eof_pending = true;
  guest_stream_pump_in(a, s);
}
