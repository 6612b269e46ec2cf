/* SPDX-License-Identifier: MIT */
/* The host's frame dispatcher: every byte here comes from the guest and is
 * hostile. Frames are reassembled one at a time into a buffer of at most
 * HDR + host max_frame bytes; any violation kills the connection. */
#include <errno.h>
#include <string.h>

#include "client-priv.h"
#include "core/error.h"

static const char *type_name(uint16_t t) {
  switch (t) {
  case VMCTR_AF_HELLO: return "HELLO";
  case VMCTR_AF_REQUEST: return "REQUEST";
  case VMCTR_AF_RESPONSE: return "RESPONSE";
  case VMCTR_AF_DATA: return "DATA";
  case VMCTR_AF_EOF: return "EOF";
  case VMCTR_AF_CREDIT: return "CREDIT";
  default: return "unknown";
  }
}

static void dispatch(vmctr__agent *a, const vmctr__agent_hdr *h, const uint8_t *p) {
  agent_stream *s;

  switch (h->type) {
  case VMCTR_AF_RESPONSE:
    agent__on_response(a, h->stream, p, h->len);
    return;
  case VMCTR_AF_DATA:
  case VMCTR_AF_EOF:
  case VMCTR_AF_CREDIT:
    break;
  default:
    agent__die(a, VMCTR_EPROTO, "guest agent sent an unexpected %s frame", type_name(h->type));
    return;
  }
  s = agent__stream_find(a, h->stream);
  if (!s) {
    /* Ids handed out earlier belong to released streams: late frames for
     * them are dropped (they cost no memory). Others were never valid. */
    if (h->stream >= a->next_stream)
      agent__die(a, VMCTR_EPROTO, "guest agent sent %s for unknown stream %u",
                 type_name(h->type), h->stream);
    return;
  }
  if (h->type == VMCTR_AF_DATA)
    agent__on_data(a, s, p, h->len);
  else if (h->type == VMCTR_AF_EOF)
    agent__on_eof(a, s);
  else
    agent__on_credit(a, s, vmctr__agent_le32(p));
}

void agent__input(vmctr__agent *a, const uint8_t *data, size_t len) {
  while (len && a->alive) {
    size_t take, need;
    if (a->in_len < VMCTR_AGENT_HDR_SIZE) {
      int r;
      take = VMCTR_AGENT_HDR_SIZE - a->in_len;
      take = take < len ? take : len;
      memcpy(a->in + a->in_len, data, take);
      a->in_len += take;
      data += take;
      len -= take;
      if (a->in_len < VMCTR_AGENT_HDR_SIZE)
        return;
      r = vmctr__agent_hdr_decode(a->in, a->host_frame, &a->in_hdr);
      if (r < 0) {
        agent__die(a, VMCTR_EPROTO, "guest agent sent a bad frame header (%s)",
                   r == -E2BIG ? "payload larger than the negotiated max_frame"
                   : r == -EINVAL ? "CREDIT payload is not 4 bytes"
                                  : "unknown type or stream 0");
        return;
      }
    }
    need = VMCTR_AGENT_HDR_SIZE + a->in_hdr.len;
    take = need - a->in_len < len ? need - a->in_len : len;
    memcpy(a->in + a->in_len, data, take);
    a->in_len += take;
    data += take;
    len -= take;
    if (a->in_len < need)
      return;
    a->in_len = 0;
    dispatch(a, &a->in_hdr, a->in + VMCTR_AGENT_HDR_SIZE);
  }
}
