/* SPDX-License-Identifier: MIT */
/* libFuzzer target: bytes from a hostile guest. The input is (1) parsed as a
 * control payload with every getter run on every tag it holds, and (2) fed,
 * in chunks whose size the first byte picks, to the host client's frame
 * dispatcher on a connection with pending requests and streams of every
 * kind. Nothing may crash, leak, hang or grow beyond the negotiated bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/client.h"
#include "vmctr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void getters(const vmctr__agent_msg *m) {
  for (size_t i = 0; i < m->n && i < 64; i++) {
    uint16_t tag = m->fields[i].tag;
    uint32_t u, *uv = NULL;
    int32_t s32;
    uint64_t q;
    const uint8_t *p;
    char *s = NULL, **v = NULL;
    size_t n;
    (void)vmctr__agent_get_u32(m, tag, &u);
    (void)vmctr__agent_get_i32(m, tag, &s32);
    (void)vmctr__agent_get_u64(m, tag, &q);
    (void)vmctr__agent_get_bytes(m, tag, &p, &n);
    (void)vmctr__agent_count(m, tag);
    if (vmctr__agent_get_str(m, tag, &s) == 0) {
      size_t first = 0;
      while (m->fields[first].tag != tag)
        first++;
      if (strlen(s) != m->fields[first].len)
        abort(); /* a NUL slipped through */
      free(s);
    }
    if (vmctr__agent_get_strv(m, tag, &v) == 0)
      vmctr__agent_strv_free(v);
    if (vmctr__agent_get_u32v(m, tag, &uv, &n) == 0)
      free(uv);
  }
}

static void sink(void *ud, uint32_t stream, const uint8_t *data, size_t len, int status) {
  size_t *total = ud;
  (void)stream;
  (void)status;
  if (len)
    *total += data[0] + data[len - 1] - data[0] + 1; /* touch both ends */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vmctr__agent_msg m = {0};
  vmctr__agent *a = NULL;
  vmctr__agent_limits host = {.max_frame = 4096, .window = 8192};
  vmctr__agent_limits guest = {.max_frame = 4096, .window = 4096};
  vmctr__agent_buf req;
  uint32_t ids[4] = {0}, s_cb, s_held, s_mem;
  size_t total = 0, chunk;

  if (vmctr__agent_msg_parse(data, size, &m) == 0) {
    getters(&m);
    vmctr__agent_msg_free(&m);
  }
  if (size == 0 || vmctr__agent_new_detached(&a, &host, &guest) < 0)
    return 0;
  chunk = data[0] ? data[0] : size;
  data++, size--;

  vmctr__agent_buf_init(&req);
  vmctr__agent_put_u32(&req, VMCTR_AT_OP, VMCTR_AOP_PING);
  for (int i = 0; i < 4; i++)
    (void)vmctr__agent_request_begin(a, &req, &ids[i]); /* ids 1..4 */
  vmctr__agent_request_cancel(a, ids[3]);
  vmctr__agent_buf_free(&req);
  (void)vmctr__agent_stream_new(a, &s_cb);   /* 1: callback consumer */
  (void)vmctr__agent_stream_new(a, &s_held); /* 2: no consumer, bytes held */
  (void)vmctr__agent_stream_new(a, &s_mem);  /* 3: stdin from memory */
  (void)vmctr__agent_stream_recv_cb(a, s_cb, sink, &total);
  (void)vmctr__agent_stream_write(a, s_mem, "input", 5);
  (void)vmctr__agent_stream_close(a, s_mem);

  for (size_t off = 0; off < size; off += chunk) {
    size_t n = size - off < chunk ? size - off : chunk;
    if (vmctr__agent_feed(a, data + off, n) < 0)
      break;
    if (vmctr__agent_stream_buffered(a, s_held) > host.window)
      abort(); /* credit must bound what the host holds */
  }
  for (int i = 0; i < 3; i++) {
    vmctr__agent_reply *r = NULL;
    if (vmctr__agent_request_end(a, ids[i], 0, &r) == 0) {
      getters(vmctr__agent_reply_msg(r));
      vmctr__agent_reply_free(r);
    }
  }
  vmctr__agent_free(a);
  return 0;
}
