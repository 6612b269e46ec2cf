/* SPDX-License-Identifier: MIT */
/*
 * The agent's single poll loop: the channel, a signalfd for SIGCHLD, and the
 * stdio fds of children. Nothing in it blocks on one process; output is read
 * only within the host's credit, so memory stays bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "guest/guest-priv.h"

/* Log what a process waits for after this long without any event. */
#define STALL_MS 10000

static void wbuf_reserve(guest_agent *a, size_t n) {
  if (a->woff && a->woff == a->wlen)
    a->woff = a->wlen = 0;
  if (a->woff > a->wcap / 2) {
    memmove(a->wbuf, a->wbuf + a->woff, a->wlen - a->woff);
    a->wlen -= a->woff;
    a->woff = 0;
  }
  if (a->wlen + n <= a->wcap)
    return;
  size_t cap = a->wcap ? a->wcap : 65536;
  while (cap < a->wlen + n)
    cap *= 2;
  uint8_t *p = realloc(a->wbuf, cap);
  if (!p)
    guest_fatal("out of memory queueing %zu bytes for the host", n);
  a->wbuf = p;
  a->wcap = cap;
}

void guest_send(guest_agent *a, uint16_t type, uint32_t stream, const void *p, size_t n) {
  vmctr__agent_hdr h = {.len = (uint32_t)n, .type = type, .flags = 0, .stream = stream};
  wbuf_reserve(a, VMCTR_AGENT_HDR_SIZE + n);
  vmctr__agent_hdr_encode(a->wbuf + a->wlen, &h);
  if (n)
    memcpy(a->wbuf + a->wlen + VMCTR_AGENT_HDR_SIZE, p, n);
  a->wlen += VMCTR_AGENT_HDR_SIZE + n;
}

void guest_send_response(guest_agent *a, uint32_t id, vmctr__agent_buf *b) {
  int r = vmctr__agent_buf_finish(b, a->send_frame);
  if (r < 0) {
    vmctr__agent_buf_free(b);
    vmctr__agent_buf_init(b);
    vmctr__agent_put_i32(b, VMCTR_AT_ERRNO, -r);
    vmctr__agent_put_str(b, VMCTR_AT_MESSAGE, "response does not fit in a frame");
    if (vmctr__agent_buf_finish(b, a->send_frame) < 0)
      guest_fatal("cannot encode a response");
  }
  guest_send(a, VMCTR_AF_RESPONSE, id, b->data, b->len);
  vmctr__agent_buf_free(b);
}

void guest_respond(guest_agent *a, uint32_t id, int err, const char *msg) {
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_i32(&b, VMCTR_AT_ERRNO, err);
  if (err && msg)
    vmctr__agent_put_str(&b, VMCTR_AT_MESSAGE, msg);
  guest_send_response(a, id, &b);
}

void guest_send_credit(guest_agent *a, uint32_t stream, uint32_t n) {
  uint8_t p[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
  guest_send(a, VMCTR_AF_CREDIT, stream, p, 4);
}

static void send_hello(guest_agent *a) {
  struct utsname u;
  char info[256];
  vmctr__agent_buf b;
  if (uname(&u) < 0)
    strcpy(u.release, "?");
  snprintf(info, sizeof(info), "%s linux %s%s", GUEST_AGENT_INFO, u.release,
           a->pid1 ? "" : " (debug mode)");
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_MAGIC, VMCTR_AGENT_MAGIC);
  vmctr__agent_put_u32(&b, VMCTR_AT_VERSION, VMCTR_AGENT_VERSION);
  vmctr__agent_put_u32(&b, VMCTR_AT_MAX_FRAME, a->max_frame);
  vmctr__agent_put_u32(&b, VMCTR_AT_WINDOW, a->window);
  vmctr__agent_put_str(&b, VMCTR_AT_AGENT_INFO, info);
  if (vmctr__agent_buf_finish(&b, VMCTR_AGENT_DEFAULT_FRAME) < 0)
    guest_fatal("cannot encode HELLO");
  guest_send(a, VMCTR_AF_HELLO, 0, b.data, b.len);
  vmctr__agent_buf_free(&b);
}

static int handle_hello(guest_agent *a, const uint8_t *p, size_t n) {
  vmctr__agent_msg m;
  uint32_t magic = 0, version = 0, frame = 0, window = 0;
  if (a->hello_done || vmctr__agent_msg_parse(p, n, &m) < 0)
    return -EPROTO;
  int r = vmctr__agent_get_u32(&m, VMCTR_AT_MAGIC, &magic);
  if (r == 0)
    r = vmctr__agent_get_u32(&m, VMCTR_AT_VERSION, &version);
  if (r == 0)
    r = vmctr__agent_get_u32(&m, VMCTR_AT_MAX_FRAME, &frame);
  if (r == 0)
    r = vmctr__agent_get_u32(&m, VMCTR_AT_WINDOW, &window);
  vmctr__agent_msg_free(&m);
  if (r < 0 || magic != VMCTR_AGENT_MAGIC) {
    guest_log("the host's HELLO is malformed");
    return -EPROTO;
  }
  if (version != VMCTR_AGENT_VERSION) {
    guest_log("the host speaks protocol version %u, this agent %u", version, VMCTR_AGENT_VERSION);
    return -EPROTONOSUPPORT;
  }
  if (frame < 1024) {
    guest_log("the host's max_frame %u is below 1024", frame);
    return -EPROTO;
  }
  a->send_frame = frame < a->max_frame ? frame : a->max_frame;
  a->host_window = window;
  a->hello_done = true;
  return 0;
}

typedef void (*op_fn)(guest_agent *, uint32_t, const vmctr__agent_msg *);

/* A template's builder pings before it saves: the disk map taken now, and
 * what a first container's namespaces leave set up, are in every clone's
 * memory. */
static void op_ping(guest_agent *a, uint32_t id, const vmctr__agent_msg *m) {
  (void)guest_disks(&(size_t){0});
  if (a->pid1)
    guest_warm_spawn();
  guest_respond(a, id, 0, NULL);
}

/* EPHEMERAL: serials of disks whose content the host throws away. A serial
 * the guest has no disk of is ignored: nothing of it is mounted. */
static void op_poweroff(guest_agent *a, uint32_t id, const vmctr__agent_msg *m) {
  size_t n = 0;
  const guest_disk *d = NULL;
  for (size_t i = 0; i < m->n; i++) {
    const vmctr__agent_field *f = &m->fields[i];
    if (f->tag != VMCTR_AT_EPHEMERAL)
      continue;
    if (!d)
      d = guest_disks(&n);
    for (size_t k = 0; k < n; k++)
      if (f->len == strlen(d[k].serial) && memcmp(f->val, d[k].serial, f->len) == 0) {
        char dev[48];
        snprintf(dev, sizeof(dev), "/dev/%s", d[k].name);
        guest_power_off_leave(dev);
      }
  }
  guest_respond(a, id, 0, NULL);
  a->poweroff = true;
}

static const op_fn ops[] = {
  [VMCTR_AOP_SPAWN] = guest_op_spawn,
  [VMCTR_AOP_SIGNAL] = guest_op_signal,
  [VMCTR_AOP_WAIT] = guest_op_wait,
  [VMCTR_AOP_CLOSE_STDIN] = guest_op_close_stdin,
  [VMCTR_AOP_RESIZE] = guest_op_resize,
  [VMCTR_AOP_MOUNT] = guest_op_mount,
  [VMCTR_AOP_MKDIR] = guest_op_mkdir,
  [VMCTR_AOP_WRITE_FILE] = guest_op_write_file,
  [VMCTR_AOP_SET_HOSTNAME] = guest_op_set_hostname,
  [VMCTR_AOP_SET_TIME] = guest_op_set_time,
  [VMCTR_AOP_POWEROFF] = op_poweroff,
  [VMCTR_AOP_PING] = op_ping,
  [VMCTR_AOP_CONFIG_IFACE] = guest_op_config_iface,
  [VMCTR_AOP_RESTORED] = guest_op_restored,
};

static void handle_request(guest_agent *a, uint32_t id, const uint8_t *p, size_t n) {
  vmctr__agent_msg m;
  uint32_t op;
  char msg[64];
  if (vmctr__agent_msg_parse(p, n, &m) < 0) {
    guest_respond(a, id, EINVAL, "malformed request");
    return;
  }
  if (vmctr__agent_get_u32(&m, VMCTR_AT_OP, &op) < 0) {
    guest_respond(a, id, EINVAL, "request without OP");
  } else if (op >= sizeof(ops) / sizeof(ops[0]) || !ops[op]) {
    snprintf(msg, sizeof(msg), "unknown operation %u", op);
    guest_respond(a, id, ENOSYS, msg);
  } else if (a->poweroff) {
    guest_respond(a, id, ESHUTDOWN, "the guest is powering off");
  } else {
    ops[op](a, id, &m);
  }
  vmctr__agent_msg_free(&m);
}

static int handle_frame(guest_agent *a, const vmctr__agent_hdr *h, const uint8_t *p) {
  guest_stream *s;
  if (h->type == VMCTR_AF_HELLO)
    return handle_hello(a, p, h->len);
  if (!a->hello_done) {
    guest_log("frame type %u before the host's HELLO", h->type);
    return -EPROTO;
  }
  switch (h->type) {
  case VMCTR_AF_REQUEST:
    handle_request(a, h->stream, p, h->len);
    return 0;
  case VMCTR_AF_DATA:
    /* Data for a stream already closed (the child exited or closed its
     * stdin) is dropped, and its credit handed back: the host bounds what
     * it buffers, so a writer there would otherwise block for good. */
    s = guest_stream_find(a, h->stream, true);
    if (s)
      return guest_stream_data(a, s, p, h->len);
    if (h->len)
      guest_send_credit(a, h->stream, h->len);
    return 0;
  case VMCTR_AF_EOF:
    s = guest_stream_find(a, h->stream, true);
    if (s)
      guest_stream_eof(a, s);
    return 0;
  case VMCTR_AF_CREDIT:
    s = guest_stream_find(a, h->stream, false);
    if (s) {
      s->credit.granted += (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24;
      guest_stream_pump_out(a, s);
    }
    return 0;
  default:
    guest_log("unexpected frame type %u from the host", h->type);
    return -EPROTO;
  }
}

/* Read what is there and handle every complete frame. 0, or -ECONNRESET when
 * the host went away, or another negative errno on a protocol error. */
static int read_frames(guest_agent *a) {
  ssize_t r = read(a->fd, a->rbuf + a->rlen, a->rcap - a->rlen);
  if (r == 0)
    return -ECONNRESET;
  if (r < 0)
    return errno == EAGAIN || errno == EINTR ? 0 : -errno;
  a->rlen += (size_t)r;
  size_t off = 0;
  while (a->rlen - off >= VMCTR_AGENT_HDR_SIZE) {
    vmctr__agent_hdr h;
    int e = vmctr__agent_hdr_decode(a->rbuf + off, a->max_frame, &h);
    if (e < 0) {
      guest_log("bad frame header from the host: %s", strerror(-e));
      return e;
    }
    if (a->rlen - off < VMCTR_AGENT_HDR_SIZE + h.len)
      break;
    e = handle_frame(a, &h, a->rbuf + off + VMCTR_AGENT_HDR_SIZE);
    if (e < 0)
      return e;
    off += VMCTR_AGENT_HDR_SIZE + h.len;
  }
  memmove(a->rbuf, a->rbuf + off, a->rlen - off);
  a->rlen -= off;
  return 0;
}

static int flush(guest_agent *a) {
  while (a->woff < a->wlen) {
    ssize_t r = write(a->fd, a->wbuf + a->woff, a->wlen - a->woff);
    if (r < 0)
      return errno == EAGAIN || errno == EINTR ? 0 : -errno;
    a->woff += (size_t)r;
  }
  return 0;
}

/* HELLO goes out blocking: on a virtio port the write waits until the host
 * side is connected, where a read would only report EOF. */
static int flush_blocking(guest_agent *a) {
  while (a->woff < a->wlen) {
    ssize_t r = write(a->fd, a->wbuf + a->woff, a->wlen - a->woff);
    if (r < 0 && errno == EAGAIN) {
      struct pollfd pfd = {.fd = a->fd, .events = POLLOUT};
      poll(&pfd, 1, 100);
      continue;
    }
    if (r < 0 && errno != EINTR)
      return -errno;
    if (r > 0)
      a->woff += (size_t)r;
  }
  return 0;
}

struct slot {
  guest_stream *s;
};

/* The hang of "vmctr-run -- dd ... | wc -c" (one run in ~36): a child that
 * exits while its last output still sits in its pipe, waiting for host
 * credit, is not "drained", so the SIGCHLD round cannot answer its WAIT.
 * guest_proc_settle used to run only on SIGCHLD and on WAIT, so once the
 * credit came and the rest went out (EOF included), nothing asked again:
 * the host waited for WAIT forever with every queue empty and the guest
 * idle. Every round now settles exited processes that still owe a WAIT,
 * after their streams were pumped, so the answer follows the last byte. */
static void settle_exited(guest_agent *a) {
  for (guest_proc *p = a->procs; p; p = p->next)
    if (p->exited && !p->dead && p->nwaits)
      guest_proc_settle(a, p);
}

/* Nothing happened for STALL_MS while a process exists: say on the console
 * what a WAIT or a stream is waiting for, when that is not just a quiet
 * process (an exited one owes a WAIT, or output waits for host credit). */
static void log_stalls(guest_agent *a) {
  for (guest_proc *p = a->procs; p; p = p->next) {
    guest_stream *ss[2] = {&p->out, &p->err};
    bool starved = false;
    for (int i = 0; i < 2; i++)
      starved |= ss[i]->fd >= 0 && vmctr__agent_credit_avail(&ss[i]->credit) == 0;
    if (p->dead || !((p->exited && p->nwaits) || starved))
      continue;
    guest_log("stall: pid %d exited %d waits %zu; stdout %u fd %d credit %llu/%llu empty %d; "
              "stderr %u fd %d credit %llu/%llu empty %d; stdin %u pending %zu; "
              "%zu bytes queued for the host",
              (int)p->pid, p->exited, p->nwaits, p->out.id, p->out.fd,
              (unsigned long long)p->out.credit.used, (unsigned long long)p->out.credit.granted,
              p->out.empty, p->err.id, p->err.fd, (unsigned long long)p->err.credit.used,
              (unsigned long long)p->err.credit.granted, p->err.empty, p->in.id,
              p->in.pend_len - p->in.pend_off, a->wlen - a->woff);
  }
}

int guest_agent_run(guest_agent *a) {
  struct pollfd *pfds = NULL;
  struct slot *slots = NULL;
  size_t cap = 0;
  int r = 0;

  a->max_frame = VMCTR_AGENT_MAX_FRAME; /* WRITE_FILE needs room for 512 KiB */
  a->window = VMCTR_AGENT_DEFAULT_WINDOW;
  a->send_frame = VMCTR_AGENT_DEFAULT_FRAME;
  a->rcap = VMCTR_AGENT_HDR_SIZE + a->max_frame;
  a->rbuf = malloc(a->rcap);
  if (!a->rbuf)
    guest_fatal("out of memory");
  send_hello(a);
  r = flush_blocking(a);
  if (r < 0)
    goto out;
  fcntl(a->fd, F_SETFL, fcntl(a->fd, F_GETFL) | O_NONBLOCK);

  while (!a->quit) {
    size_t n = 0, nprocs = 0;
    if (a->poweroff && a->woff == a->wlen)
      break;
    for (guest_proc *p = a->procs; p; p = p->next)
      nprocs++;
    if (cap < 2 + 3 * nprocs) {
      cap = 2 + 3 * nprocs + 16;
      free(pfds);
      free(slots);
      pfds = calloc(cap, sizeof(*pfds));
      slots = calloc(cap, sizeof(*slots));
      if (!pfds || !slots)
        guest_fatal("out of memory");
    }
    bool backlog = a->wlen - a->woff > GUEST_WBUF_HIGH;
    pfds[n++] = (struct pollfd){.fd = a->fd,
                                .events = (short)((backlog || a->poweroff ? 0 : POLLIN) |
                                                  (a->woff < a->wlen ? POLLOUT : 0))};
    pfds[n++] = (struct pollfd){.fd = a->sigfd, .events = POLLIN};
    for (guest_proc *p = a->procs; p; p = p->next) {
      guest_stream *ss[3] = {&p->in, &p->out, &p->err};
      for (int i = 0; i < 3; i++) {
        guest_stream *s = ss[i];
        if (s->fd < 0)
          continue;
        if (s->is_in ? s->pend_off < s->pend_len
                     : !backlog && vmctr__agent_credit_avail(&s->credit) > 0) {
          slots[n].s = s;
          pfds[n++] = (struct pollfd){.fd = s->fd, .events = s->is_in ? POLLOUT : POLLIN};
        }
      }
    }
    int pr = poll(pfds, n, a->procs ? STALL_MS : -1);
    if (pr < 0) {
      if (errno == EINTR)
        continue;
      guest_fatal("poll: %s", strerror(errno));
    }
    if (pr == 0) {
      log_stalls(a);
      continue;
    }
    /* Streams first: handling frames or exits may retire processes (their
     * memory is swept at the top of the next round). */
    for (size_t i = 2; i < n; i++) {
      if (!pfds[i].revents)
        continue;
      if (slots[i].s->is_in)
        guest_stream_pump_in(a, slots[i].s);
      else
        guest_stream_pump_out(a, slots[i].s);
    }
    if (pfds[1].revents)
      guest_reap(a);
    if (pfds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      r = read_frames(a);
      if (r < 0)
        break;
    }
    settle_exited(a);
    r = flush(a);
    if (r < 0)
      break;
    guest_procs_sweep(a);
  }
  if (a->poweroff) {
    fcntl(a->fd, F_SETFL, fcntl(a->fd, F_GETFL) & ~O_NONBLOCK);
    flush_blocking(a);
  }
out:
  free(pfds);
  free(slots);
  free(a->rbuf);
  free(a->wbuf);
  a->rbuf = a->wbuf = NULL;
  if (r == -ECONNRESET || r == -EPIPE)
    r = 0;
  else if (r < 0 && a->pid1)
    guest_fatal("agent channel: %s", strerror(-r));
  return r;
}
