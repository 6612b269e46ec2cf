/* SPDX-License-Identifier: MIT */
/* Shared state of the agent client files (client.c: connection and I/O
 * thread; client-frame.c: the frame dispatcher; client-req.c: requests;
 * client-stream.c: stdio streams). One mutex guards everything below. */
#ifndef VMCTR_AGENT_CLIENT_PRIV_H
#define VMCTR_AGENT_CLIENT_PRIV_H

#include <pthread.h>

#include "client.h"

#define AGENT_LOG "agent"
/* Stop reading stdin sources while this much is queued for the socket. */
#define AGENT_OUTQ_HIGH (1u << 20)
/* At most this much caller data waits in a stream's write buffer
 * (vmctr__agent_stream_write blocks, _write_some takes less). */
#define AGENT_WBUF_MAX (1u << 20)
/* A stream without progress for this long is logged once with its credit
 * state (INFO when bytes or credit are stuck, else DEBUG). */
#define AGENT_STALL_MS 5000

typedef struct agent_out {
  struct agent_out *next;
  size_t len, off;
  uint8_t data[];
} agent_out;

typedef struct agent_stream {
  struct agent_stream *next;
  uint32_t id;
  bool released;
  /* guest -> host: rbuf[roff, rlen) waits for the sink; at most host window. */
  vmctr__agent_credit rx;
  uint8_t *rbuf;
  size_t rcap, roff, rlen;
  uint64_t owed;        /* bytes consumed and not yet credited back */
  bool rx_eof;          /* guest sent EOF */
  bool rx_done;         /* EOF (or death) delivered to the sink */
  int sink_fd;
  bool sink_ready;      /* poll said POLLOUT */
  bool sink_nonblock;
  bool sink_gone;       /* the fd consumer went away: discard, keep crediting */
  vmctr__agent_data_cb cb;
  void *ud;
  bool cb_busy;         /* the I/O thread is inside cb (lock dropped) */
  /* host -> guest: from src_fd or from wbuf[woff, wlen). */
  vmctr__agent_credit tx;
  int src_fd;
  bool src_ready;       /* poll said POLLIN */
  bool src_mem;
  uint8_t *wbuf;
  size_t wcap, woff, wlen;
  bool tx_close;        /* send EOF once wbuf drained */
  bool tx_eof_sent;
  /* Diagnostics: the last time bytes, credit or EOF moved either way. */
  int64_t progress_ms;
  bool stall_logged;
} agent_stream;

typedef struct agent_pending {
  struct agent_pending *next;
  uint32_t id;
  bool done, abandoned;
  int err;              /* VMCTR_E* when done without a usable reply */
  vmctr__agent_reply *reply;
} agent_pending;

struct vmctr__agent_reply {
  uint8_t *payload;
  vmctr__agent_msg msg;
};

struct vmctr__agent {
  pthread_mutex_t lock;
  pthread_cond_t cond;   /* broadcast on every reply, stream EOF, death */
  int fd;                /* the socket; -1 when detached */
  int wake[2];           /* pipe: wake the I/O thread */
  int state[2];          /* pipe: readable once dead */
  pthread_t thread;
  bool thread_started, stop, detached;
  bool alive;
  int dead_code;
  char dead_msg[256];
  uint32_t host_frame, host_window;  /* what we accept / grant */
  uint32_t peer_frame, peer_window;  /* what the guest accepts / grants */
  char *info;
  uint8_t *hello;         /* the guest's HELLO payload (templates resume from it) */
  size_t hello_len;
  /* Input reassembly: one frame at a time, at most HDR + host_frame bytes. */
  uint8_t *in;
  size_t in_len;
  vmctr__agent_hdr in_hdr;
  agent_out *out_head, *out_tail;
  size_t out_bytes;
  agent_pending *pending;
  uint32_t next_req;
  agent_stream *streams;
  uint32_t next_stream;  /* ids below this were allocated at some point */
};

/* client.c */
int agent__alloc(vmctr__agent **out, const vmctr__agent_limits *lim);
void agent__wake(vmctr__agent *a);
/* Mark the connection dead (first reason wins), fail pending requests,
 * notify waiters and the state fd. Lock held. */
void agent__die(vmctr__agent *a, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Queue a frame for the socket (dropped when detached). Lock held.
 * Returns 0 or -ENOMEM. */
int agent__queue(vmctr__agent *a, uint16_t type, uint32_t stream, const void *p, size_t n);
/* Record the connection's error as this thread's error detail. */
int agent__dead_err(vmctr__agent *a);

/* Bounded, printable, valid UTF-8 copy of guest text (see client-frame.c);
 * NULL when out of memory. */
#define AGENT_TEXT_MAX 512u
char *agent__sanitize(const char *in, size_t n, size_t max);

/* client-frame.c: process bytes from the guest. Lock held; may drop it
 * around stream callbacks. */
void agent__input(vmctr__agent *a, const uint8_t *data, size_t len);

/* client-req.c */
void agent__fail_pending(vmctr__agent *a);
/* Wait on a->cond until pred(a, arg) or timeout_ms (<0: forever): 0 or
 * VMCTR_ETIMEDOUT (no detail recorded). Lock held. */
int agent__wait(vmctr__agent *a, int timeout_ms, bool (*pred)(vmctr__agent *, void *), void *arg);
int agent__on_response(vmctr__agent *a, uint32_t id, const uint8_t *payload, size_t len);

/* client-stream.c */
agent_stream *agent__stream_find(vmctr__agent *a, uint32_t id);
int agent__on_data(vmctr__agent *a, agent_stream *s, const uint8_t *p, size_t n);
int agent__on_eof(vmctr__agent *a, agent_stream *s);
int agent__on_credit(vmctr__agent *a, agent_stream *s, uint32_t bytes);
/* Move data between streams and their fds/callbacks, queue DATA/EOF/CREDIT. */
void agent__pump(vmctr__agent *a);
void agent__streams_free(vmctr__agent *a);
/* Log streams that made no progress for AGENT_STALL_MS (once per stall);
 * returns the ms until the next check is due, or -1 for none. Lock held. */
int agent__check_stalls(vmctr__agent *a);
/* One line of a stream's credit state, for logs and timeout errors. */
void agent__stream_state(vmctr__agent *a, agent_stream *s, char *buf, size_t size);

#endif
