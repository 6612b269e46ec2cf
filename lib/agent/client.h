/* SPDX-License-Identifier: MIT */
/*
 * The host side of one agent connection (internal API; see doc/protocol.md).
 *
 * Threads. vmctr__agent_connect does the handshake on the caller's thread and
 * then starts one I/O thread per connection, which polls the socket, a wakeup
 * pipe and the attached stdio fds. Every other function may be called from
 * any thread, concurrently, until vmctr__agent_free (which must not race with
 * them). The I/O thread runs with every signal blocked, so a write to a closed
 * pipe gives EPIPE, not SIGPIPE; nothing process-wide is touched.
 *
 * Memory is bounded whatever the guest does: a frame is at most the host's
 * max_frame, guest DATA beyond the credit granted is a protocol violation, and
 * credit is returned only once bytes reached their consumer (an fd write or a
 * callback's return). A slow consumer therefore throttles the guest.
 *
 * The guest is hostile: a malformed frame, DATA without credit or after EOF,
 * a frame for a stream id never allocated, a RESPONSE to an id never sent or
 * already answered, or an oversize frame closes the connection with a logged
 * reason, and every pending and later request fails with VMCTR_EPROTO. Losing
 * the connection fails them with VMCTR_EIO "agent connection lost".
 *
 * Functions return 0 or a negative VMCTR_E* code with detail recorded
 * (vmctr__err), except where noted.
 *
 * A stream that makes no progress for AGENT_STALL_MS (5 s) is logged once
 * per stall with its credit state: bytes buffered and credit granted, used
 * and owed in each direction, frames queued (INFO when bytes or credit are
 * stuck, DEBUG when the process is merely quiet).
 */
#ifndef VMCTR_AGENT_CLIENT_H
#define VMCTR_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

typedef struct vmctr__agent vmctr__agent;
typedef struct vmctr__agent_reply vmctr__agent_reply;

/* What the host announces in its HELLO. Zero fields take the defaults
 * (VMCTR_AGENT_DEFAULT_FRAME, VMCTR_AGENT_DEFAULT_WINDOW). */
typedef struct vmctr__agent_limits {
  uint32_t max_frame; /* largest payload the host accepts, 1024..VMCTR_AGENT_MAX_FRAME */
  uint32_t window;    /* initial credit per stream the host grants the guest */
} vmctr__agent_limits;

/* Take ownership of fd (a connected stream socket; closed on every path),
 * wait up to timeout_ms (<0: forever) for the guest's HELLO, check magic and
 * version, answer HELLO and start the I/O thread. VMCTR_ETIMEDOUT when no
 * HELLO came, VMCTR_EUNSUPPORTED for another protocol version, VMCTR_EPROTO
 * for a bad HELLO, VMCTR_EIO when the peer closed. */
int vmctr__agent_connect(vmctr__agent **out, int fd, int timeout_ms);
int vmctr__agent_connect_limits(vmctr__agent **out, int fd, int timeout_ms,
                                const vmctr__agent_limits *lim);
/* The connection of a VM restored from a template: the guest did its
 * handshake before the template was saved and waits for requests. Take fd,
 * check hello (the guest's HELLO payload recorded then, with the default
 * limits on both sides) as connect does, and start the I/O thread; nothing
 * is read or written. */
int vmctr__agent_resume(vmctr__agent **out, int fd, const uint8_t *hello, size_t len);
/* The guest's HELLO payload of this connection (borrowed; lives as long as a). */
void vmctr__agent_hello(vmctr__agent *a, const uint8_t **hello, size_t *len);

/* Stop the I/O thread, close the socket and every attached fd, and free all
 * pending requests. No other call on `a` may be running. NULL is a no-op. */
void vmctr__agent_free(vmctr__agent *a);

/* true until the connection died (protocol violation, loss, free). */
bool vmctr__agent_alive(vmctr__agent *a);
/* An fd that becomes readable (and stays so) once the connection died; for
 * poll loops above. Owned by `a`; never read it. */
int vmctr__agent_state_fd(vmctr__agent *a);
/* The guest's HELLO agent-info string ("" when it sent none); lives as long as a. */
const char *vmctr__agent_info(vmctr__agent *a);

/* Requests. `req` is a field list (VMCTR_AT_OP first by convention); the
 * reply is matched by id. _begin queues it and returns its nonzero id.
 * _end waits up to timeout_ms (<0: forever): VMCTR_ETIMEDOUT leaves it
 * pending so _end may be called again; any other return consumes the id.
 * A RESPONSE with a nonzero ERRNO gives the code mapped from that (Linux)
 * errno and the message "guest: <MESSAGE>". _cancel forgets a pending
 * request (the guest is not told; its eventual RESPONSE is dropped). */
int vmctr__agent_request_begin(vmctr__agent *a, const vmctr__agent_buf *req, uint32_t *id);
int vmctr__agent_request_end(vmctr__agent *a, uint32_t id, int timeout_ms, vmctr__agent_reply **out);
void vmctr__agent_request_cancel(vmctr__agent *a, uint32_t id);
/* _begin + _end; on timeout the request is cancelled. */
int vmctr__agent_request(vmctr__agent *a, const vmctr__agent_buf *req, int timeout_ms,
                         vmctr__agent_reply **out);

/* The reply's fields (read with the codec getters); borrowed from reply. */
const vmctr__agent_msg *vmctr__agent_reply_msg(const vmctr__agent_reply *r);
void vmctr__agent_reply_free(vmctr__agent_reply *r);

/* Streams. An id names one stream; each direction has its own credit. Ids
 * are never reused within a connection. Attach the sinks and sources before
 * sending the request that names the stream; DATA that arrives earlier is
 * held (bounded by the window) until a sink is attached. */
int vmctr__agent_stream_new(vmctr__agent *a, uint32_t *id);

/* Guest -> host into fd (ownership taken: closed at guest EOF, release or
 * free). Nonblocking fds are best; a blocking pipe or socket is written at
 * most PIPE_BUF bytes per poll wakeup so the I/O thread does not stall. */
int vmctr__agent_stream_recv_fd(vmctr__agent *a, uint32_t id, int fd);

/* Guest -> host into a callback, called on the I/O thread without any agent
 * lock held (it may call vmctr__agent_* except _free): status 0 with data,
 * then exactly once status 1 at guest EOF or a negative VMCTR_E* when the
 * connection died (data NULL, len 0). Credit returns when it returns, so a
 * slow callback throttles the guest and stalls this connection's I/O. */
typedef void (*vmctr__agent_data_cb)(void *userdata, uint32_t stream, const uint8_t *data,
                                    size_t len, int status);
int vmctr__agent_stream_recv_cb(vmctr__agent *a, uint32_t id, vmctr__agent_data_cb cb,
                                void *userdata);

/* Host -> guest from fd (ownership taken): read while the guest grants
 * credit; EOF is sent at the fd's EOF (or read error). */
int vmctr__agent_stream_send_fd(vmctr__agent *a, uint32_t id, int fd);
/* Host -> guest from memory: the bytes are copied and sent within credit;
 * _close sends EOF after them. Not with send_fd on the same stream. At most
 * AGENT_WBUF_MAX (1 MiB) waits on the host per stream, whatever the guest
 * does: _write blocks until every byte is taken (0; it never blocks on a
 * detached connection, returning VMCTR_EAGAIN instead). _write_some copies
 * what fits and returns that count (> 0 unless len is 0); when nothing fits
 * it waits up to timeout_ms (0: not at all, <0: forever) for room, then
 * gives VMCTR_EAGAIN with the stream's credit state in the message. */
int vmctr__agent_stream_write(vmctr__agent *a, uint32_t id, const void *data, size_t len);
int vmctr__agent_stream_write_some(vmctr__agent *a, uint32_t id, const void *data, size_t len,
                                   int timeout_ms);
int vmctr__agent_stream_close(vmctr__agent *a, uint32_t id);

/* Wait until the guest's EOF on the stream arrived and every byte reached
 * the sink: 0, VMCTR_ETIMEDOUT (its message holds the stream's credit state),
 * or the connection's error. Once the EOF is in, timeout_ms counts from the
 * last progress, so a slow consumer that keeps reading is not cut off. */
int vmctr__agent_stream_wait(vmctr__agent *a, uint32_t id, int timeout_ms);
/* Host is done with the stream: close its fds, drop buffered data; later
 * guest frames for it are discarded. */
void vmctr__agent_stream_release(vmctr__agent *a, uint32_t id);

/* Bytes of guest data buffered on the host for the stream (for tests). */
size_t vmctr__agent_stream_buffered(vmctr__agent *a, uint32_t id);

/* For the fuzzer and tests: a connection with no socket and no thread, as if
 * the handshake with the given guest limits had happened. Frames the host
 * would send are dropped. vmctr__agent_feed processes guest bytes as the I/O
 * thread would: 0, or the VMCTR_E* code once the connection died. */
int vmctr__agent_new_detached(vmctr__agent **out, const vmctr__agent_limits *host,
                              const vmctr__agent_limits *guest);
int vmctr__agent_feed(vmctr__agent *a, const uint8_t *data, size_t len);

#endif /* VMCTR_AGENT_CLIENT_H */
