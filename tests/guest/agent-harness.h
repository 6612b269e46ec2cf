/* SPDX-License-Identifier: MIT */
/*
 * A tiny raw host for tests: runs the real vmctr-init --agent-fd over a
 * socketpair and speaks the protocol with lib/agent's codec, so every frame
 * the agent sends can be checked (credit included).
 */
#ifndef VMCTR_TEST_AGENT_HARNESS_H
#define VMCTR_TEST_AGENT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/codec.h"

#define H_MAX_STREAMS 256
#define H_MAX_RESPS 256

typedef struct h_stream {
  uint32_t id;
  uint8_t *data;
  size_t len, cap;
  bool eof;
  uint64_t granted, used; /* our credit to the guest */
  uint64_t guest_credit;  /* credit the guest granted us (stdin) */
} h_stream;

typedef struct h_resp {
  uint32_t id;
  uint8_t *payload;
  size_t len;
} h_resp;

typedef struct h_conn {
  int fd;
  pid_t pid;
  uint32_t next_id;
  uint32_t window;        /* what we granted per stream in our HELLO */
  uint32_t guest_window;
  uint32_t guest_max_frame;
  char guest_info[256];
  bool auto_credit;       /* return credit as soon as DATA arrives */
  h_stream streams[H_MAX_STREAMS];
  size_t nstreams;
  h_resp resps[H_MAX_RESPS];
  size_t nresps;
  int violations;         /* DATA beyond credit, unknown frames */
} h_conn;

/* Start vmctr-init (path from argv) and complete the handshake. 0 or -1. */
int h_open(h_conn *c, const char *init_path, uint32_t window);
/* Handshake as the host on a connected fd (taken over). 0 or -1. */
int h_handshake(h_conn *c, int fd, uint32_t window, int timeout_ms);
/* Close our end and reap vmctr-init; returns its exit status (waitpid form). */
int h_close(h_conn *c);

/* Read and file one frame (wait up to timeout_ms). 1 = got one, 0 = timeout, -1 = EOF. */
int h_pump(h_conn *c, int timeout_ms);
h_stream *h_stream_get(h_conn *c, uint32_t id);

/* Send a request (b is consumed) and return its id. */
uint32_t h_request(h_conn *c, vmctr__agent_buf *b);
/* Wait for the response; parse into m (payload owned by *keep, free it). */
int h_response(h_conn *c, uint32_t id, int timeout_ms, vmctr__agent_msg *m, uint8_t **keep);
/* Convenience: ERRNO of a response (or -1 on timeout). */
int32_t h_errno_of(const vmctr__agent_msg *m);

void h_send(h_conn *c, uint16_t type, uint32_t stream, const void *p, size_t n);
void h_credit(h_conn *c, uint32_t stream, uint32_t n);
/* Wait until the stream saw EOF. */
bool h_wait_eof(h_conn *c, uint32_t id, int timeout_ms);

#endif
