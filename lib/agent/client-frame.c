/* SPDX-License-Identifier: MIT */
/* The host's frame dispatcher: every byte here comes from the guest and is
 * hostile. Frames are reassembled one at a time into a buffer of at most
 * HDR + host max_frame bytes; any violation kills the connection. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client-priv.h"
#include "core/error.h"

/* Guest text for host logs and errors: valid UTF-8 of at most max bytes
 * (cut at a character boundary, "..." appended), each invalid byte replaced
 * by U+FFFD, every C0 and C1 control (ESC, so no terminal escape; NUL; tab,
 * newline) and DEL by '?', and the bidirectional overrides U+202A..202E and
 * U+2066..2069 too, so a message cannot reorder what a terminal shows. */
char *agent__sanitize(const char *in, size_t n, size_t max) {
  static const char ell[] = "...";
  char *out;
  size_t o = 0, i = 0;
  if (max < 8)
    max = 8;
  if (!(out = malloc(max + 1)))
    return NULL;
  while (i < n) {
    const unsigned char *p = (const unsigned char *)in + i;
    unsigned char c = p[0];
    uint32_t cp;
    size_t len = 0, k;
    char rep[4];
    size_t rlen;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      cp = 0xfffd;
    }
    for (k = 1; len && k < len; k++) {
      if (i + k >= n || (p[k] & 0xc0) != 0x80) {
        len = 0;
        break;
      }
      cp = cp << 6 | (p[k] & 0x3f);
    }
    /* Overlong forms, surrogates and beyond U+10FFFF are invalid too. */
    if (len == 0 || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      len = 1;
      memcpy(rep, "\xef\xbf\xbd", 3);
      rlen = 3;
    } else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
               (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) {
      rep[0] = '?';
      rlen = 1;
    } else {
      memcpy(rep, p, len);
      rlen = len;
    }
    if ((o + rlen > max - (sizeof(ell) - 1) && i + len < n) || o + rlen > max) {
      memcpy(out + o, ell, sizeof(ell) - 1);
      o += sizeof(ell) - 1;
      break;
    }
    memcpy(out + o, rep, rlen);
    o += rlen;
    i += len;
  }
  out[o] = '\0';
  return out;
}

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
