/* SPDX-License-Identifier: MIT */
/*
 * The agent codec: frame headers and field lists (see proto.h). Shared by
 * the host library and the static guest init, so it depends on libc only,
 * records no libvmctr error detail and never logs. Functions return 0 or a
 * negative errno value (-EINVAL malformed, -E2BIG too large, -ENOMEM, -ENOENT
 * field absent, -EPROTO protocol violation).
 *
 * Decoding never trusts a length: every field must lie inside its payload,
 * every integer field has exactly its size, strings hold no NUL byte and are
 * at most VMCTR_AGENT_MAX_STRING bytes, lists at most VMCTR_AGENT_MAX_LIST.
 */
#ifndef VMCTR_AGENT_CODEC_H
#define VMCTR_AGENT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

typedef struct vmctr__agent_hdr {
  uint32_t len;
  uint16_t type;
  uint16_t flags;
  uint32_t stream;
} vmctr__agent_hdr;

void vmctr__agent_hdr_encode(uint8_t out[VMCTR_AGENT_HDR_SIZE], const vmctr__agent_hdr *h);
/* Decode and check: known type, len <= max_payload, CREDIT payload is 4 bytes,
 * REQUEST/RESPONSE/DATA/EOF/CREDIT carry a nonzero stream. */
int vmctr__agent_hdr_decode(const uint8_t in[VMCTR_AGENT_HDR_SIZE], uint32_t max_payload,
                            vmctr__agent_hdr *out);

/* Builder for a control payload. Allocation failure latches `failed`; check
 * once at the end (vmctr__agent_buf_finish). */
typedef struct vmctr__agent_buf {
  uint8_t *data;
  size_t len, cap;
  bool failed;
} vmctr__agent_buf;

void vmctr__agent_buf_init(vmctr__agent_buf *b);
void vmctr__agent_buf_free(vmctr__agent_buf *b);
void vmctr__agent_put_u32(vmctr__agent_buf *b, uint16_t tag, uint32_t v);
void vmctr__agent_put_i32(vmctr__agent_buf *b, uint16_t tag, int32_t v);
void vmctr__agent_put_u64(vmctr__agent_buf *b, uint16_t tag, uint64_t v);
void vmctr__agent_put_str(vmctr__agent_buf *b, uint16_t tag, const char *s);
void vmctr__agent_put_bytes(vmctr__agent_buf *b, uint16_t tag, const void *p, size_t n);
void vmctr__agent_put_strv(vmctr__agent_buf *b, uint16_t tag, char *const *v);
/* Prepend nothing; just report: 0, -ENOMEM if any put failed, -E2BIG if the
 * payload exceeds max_payload. */
int vmctr__agent_buf_finish(const vmctr__agent_buf *b, uint32_t max_payload);
/* Encode header + payload into one contiguous frame (malloc'd) for a write. */
int vmctr__agent_frame(uint16_t type, uint16_t flags, uint32_t stream, const void *payload,
                       size_t len, uint8_t **out, size_t *out_len);

/* A parsed control payload: fields point into the caller's payload buffer,
 * which must outlive the message. */
typedef struct vmctr__agent_field {
  uint16_t tag;
  uint32_t len;
  const uint8_t *val;
} vmctr__agent_field;

typedef struct vmctr__agent_msg {
  vmctr__agent_field *fields;
  size_t n;
} vmctr__agent_msg;

int vmctr__agent_msg_parse(const uint8_t *payload, size_t len, vmctr__agent_msg *out);
void vmctr__agent_msg_free(vmctr__agent_msg *m);

/* Getters take the first field with the tag. -ENOENT if absent, -EINVAL if the
 * field has the wrong size or (strings) holds a NUL or is too long. */
int vmctr__agent_get_u32(const vmctr__agent_msg *m, uint16_t tag, uint32_t *out);
int vmctr__agent_get_i32(const vmctr__agent_msg *m, uint16_t tag, int32_t *out);
int vmctr__agent_get_u64(const vmctr__agent_msg *m, uint16_t tag, uint64_t *out);
/* Borrowed bytes. */
int vmctr__agent_get_bytes(const vmctr__agent_msg *m, uint16_t tag, const uint8_t **p, size_t *n);
/* A malloc'd NUL-terminated copy. */
int vmctr__agent_get_str(const vmctr__agent_msg *m, uint16_t tag, char **out);
/* All fields with the tag as a malloc'd NULL-terminated vector of malloc'd
 * strings (an empty vector when absent); free with vmctr__agent_strv_free. */
int vmctr__agent_get_strv(const vmctr__agent_msg *m, uint16_t tag, char ***out);
void vmctr__agent_strv_free(char **v);
/* All u32 fields with the tag; *out malloc'd (NULL when none). */
int vmctr__agent_get_u32v(const vmctr__agent_msg *m, uint16_t tag, uint32_t **out, size_t *n);
size_t vmctr__agent_count(const vmctr__agent_msg *m, uint16_t tag);

/* A masked or read-only path of SPAWN (VMCTR_AT_MASKED, VMCTR_AT_READONLY):
 * absolute, not "/", at most VMCTR_AGENT_PATH_MAX bytes, no control
 * characters, no empty, "." or ".." component, no trailing '/'. */
bool vmctr__agent_path_ok(const char *p);

/* Little-endian u32 access, e.g. for the CREDIT payload. (Added.) */
uint32_t vmctr__agent_le32(const uint8_t p[4]);
void vmctr__agent_put_le32(uint8_t p[4], uint32_t v);

/* Credit accounting for one stream direction. */
typedef struct vmctr__agent_credit {
  uint64_t granted;  /* total bytes the receiver allowed */
  uint64_t used;     /* total bytes sent */
} vmctr__agent_credit;

static inline uint64_t vmctr__agent_credit_avail(const vmctr__agent_credit *c) {
  return c->granted - c->used;
}

#endif /* VMCTR_AGENT_CODEC_H */
