/* SPDX-License-Identifier: MIT */
/* The agent codec (see codec.h). libc only: the guest links it statically. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

#define FIELD_HDR 6u /* u16 tag, u32 len */

/* Byte-wise little-endian access: independent of host order and alignment. */
static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p) {
  return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

void vmctr__agent_hdr_encode(uint8_t out[VMCTR_AGENT_HDR_SIZE], const vmctr__agent_hdr *h) {
  put32(out, h->len);
  put16(out + 4, h->type);
  put16(out + 6, h->flags);
  put32(out + 8, h->stream);
}

int vmctr__agent_hdr_decode(const uint8_t in[VMCTR_AGENT_HDR_SIZE], uint32_t max_payload,
                            vmctr__agent_hdr *out) {
  vmctr__agent_hdr h;
  h.len = get32(in);
  h.type = get16(in + 4);
  h.flags = get16(in + 6);
  h.stream = get32(in + 8);
  if (h.type < VMCTR_AF_HELLO || h.type > VMCTR_AF_CREDIT)
    return -EPROTO;
  if (h.len > max_payload || h.len > VMCTR_AGENT_MAX_FRAME)
    return -E2BIG;
  if (h.type == VMCTR_AF_CREDIT && h.len != 4)
    return -EINVAL;
  if (h.type != VMCTR_AF_HELLO && h.stream == 0)
    return -EPROTO;
  *out = h;
  return 0;
}

void vmctr__agent_buf_init(vmctr__agent_buf *b) {
  memset(b, 0, sizeof(*b));
}

void vmctr__agent_buf_free(vmctr__agent_buf *b) {
  free(b->data);
  memset(b, 0, sizeof(*b));
}

/* Room for n more bytes, or NULL (and `failed` latched). */
static uint8_t *reserve(vmctr__agent_buf *b, size_t n) {
  if (b->failed)
    return NULL;
  /* Past the hard frame bound the message can never be sent: stop growing
   * and let buf_finish report -E2BIG. */
  if (n > VMCTR_AGENT_MAX_FRAME + 1u - b->len || b->len > VMCTR_AGENT_MAX_FRAME) {
    b->len = (size_t)VMCTR_AGENT_MAX_FRAME + 1u;
    return NULL;
  }
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    uint8_t *p;
    while (cap < b->len + n)
      cap *= 2;
    p = realloc(b->data, cap);
    if (!p) {
      b->failed = true;
      return NULL;
    }
    b->data = p;
    b->cap = cap;
  }
  uint8_t *at = b->data + b->len;
  b->len += n;
  return at;
}

static uint8_t *put_field(vmctr__agent_buf *b, uint16_t tag, size_t len) {
  uint8_t *p;
  if (len > UINT32_MAX) {
    b->len = (size_t)VMCTR_AGENT_MAX_FRAME + 1u;
    return NULL;
  }
  p = reserve(b, FIELD_HDR + len);
  if (!p)
    return NULL;
  put16(p, tag);
  put32(p + 2, (uint32_t)len);
  return p + FIELD_HDR;
}

void vmctr__agent_put_u32(vmctr__agent_buf *b, uint16_t tag, uint32_t v) {
  uint8_t *p = put_field(b, tag, 4);
  if (p)
    put32(p, v);
}

void vmctr__agent_put_i32(vmctr__agent_buf *b, uint16_t tag, int32_t v) {
  vmctr__agent_put_u32(b, tag, (uint32_t)v);
}

void vmctr__agent_put_u64(vmctr__agent_buf *b, uint16_t tag, uint64_t v) {
  uint8_t *p = put_field(b, tag, 8);
  if (p)
    put64(p, v);
}

void vmctr__agent_put_bytes(vmctr__agent_buf *b, uint16_t tag, const void *p, size_t n) {
  uint8_t *d = put_field(b, tag, n);
  if (d && n)
    memcpy(d, p, n);
}

void vmctr__agent_put_str(vmctr__agent_buf *b, uint16_t tag, const char *s) {
  vmctr__agent_put_bytes(b, tag, s ? s : "", s ? strlen(s) : 0);
}

void vmctr__agent_put_strv(vmctr__agent_buf *b, uint16_t tag, char *const *v) {
  for (size_t i = 0; v && v[i]; i++)
    vmctr__agent_put_str(b, tag, v[i]);
}

int vmctr__agent_buf_finish(const vmctr__agent_buf *b, uint32_t max_payload) {
  if (b->failed)
    return -ENOMEM;
  if (b->len > max_payload || b->len > VMCTR_AGENT_MAX_FRAME)
    return -E2BIG;
  return 0;
}

int vmctr__agent_frame(uint16_t type, uint16_t flags, uint32_t stream, const void *payload,
                       size_t len, uint8_t **out, size_t *out_len) {
  vmctr__agent_hdr h = {.len = (uint32_t)len, .type = type, .flags = flags, .stream = stream};
  uint8_t *f;
  if (len > VMCTR_AGENT_MAX_FRAME)
    return -E2BIG;
  f = malloc(VMCTR_AGENT_HDR_SIZE + len);
  if (!f)
    return -ENOMEM;
  vmctr__agent_hdr_encode(f, &h);
  if (len)
    memcpy(f + VMCTR_AGENT_HDR_SIZE, payload, len);
  *out = f;
  *out_len = VMCTR_AGENT_HDR_SIZE + len;
  return 0;
}

int vmctr__agent_msg_parse(const uint8_t *payload, size_t len, vmctr__agent_msg *out) {
  size_t n = 0, off = 0;
  vmctr__agent_field *f;

  if (len > VMCTR_AGENT_MAX_FRAME)
    return -E2BIG;
  /* First pass: count and check that every field lies inside the payload. */
  while (off < len) {
    uint32_t flen;
    if (len - off < FIELD_HDR)
      return -EINVAL;
    flen = get32(payload + off + 2);
    if (flen > len - off - FIELD_HDR)
      return -EINVAL;
    if (++n > VMCTR_AGENT_MAX_FIELDS)
      return -E2BIG;
    off += FIELD_HDR + flen;
  }
  f = n ? calloc(n, sizeof(*f)) : NULL;
  if (n && !f)
    return -ENOMEM;
  off = 0;
  for (size_t i = 0; i < n; i++) {
    f[i].tag = get16(payload + off);
    f[i].len = get32(payload + off + 2);
    f[i].val = payload + off + FIELD_HDR;
    off += FIELD_HDR + f[i].len;
  }
  out->fields = f;
  out->n = n;
  return 0;
}

void vmctr__agent_msg_free(vmctr__agent_msg *m) {
  if (!m)
    return;
  free(m->fields);
  m->fields = NULL;
  m->n = 0;
}

static const vmctr__agent_field *find(const vmctr__agent_msg *m, uint16_t tag) {
  for (size_t i = 0; i < m->n; i++)
    if (m->fields[i].tag == tag)
      return &m->fields[i];
  return NULL;
}

static int get_fixed(const vmctr__agent_msg *m, uint16_t tag, uint32_t size, const uint8_t **p) {
  const vmctr__agent_field *f = find(m, tag);
  if (!f)
    return -ENOENT;
  if (f->len != size)
    return -EINVAL;
  *p = f->val;
  return 0;
}

int vmctr__agent_get_u32(const vmctr__agent_msg *m, uint16_t tag, uint32_t *out) {
  const uint8_t *p;
  int r = get_fixed(m, tag, 4, &p);
  if (r == 0)
    *out = get32(p);
  return r;
}

int vmctr__agent_get_i32(const vmctr__agent_msg *m, uint16_t tag, int32_t *out) {
  uint32_t v;
  int r = vmctr__agent_get_u32(m, tag, &v);
  if (r == 0)
    *out = (int32_t)v;
  return r;
}

int vmctr__agent_get_u64(const vmctr__agent_msg *m, uint16_t tag, uint64_t *out) {
  const uint8_t *p;
  int r = get_fixed(m, tag, 8, &p);
  if (r == 0)
    *out = get64(p);
  return r;
}

int vmctr__agent_get_bytes(const vmctr__agent_msg *m, uint16_t tag, const uint8_t **p, size_t *n) {
  const vmctr__agent_field *f = find(m, tag);
  if (!f)
    return -ENOENT;
  *p = f->val;
  *n = f->len;
  return 0;
}

static int check_str(const vmctr__agent_field *f) {
  if (f->len > VMCTR_AGENT_MAX_STRING)
    return -EINVAL;
  if (f->len && memchr(f->val, '\0', f->len))
    return -EINVAL;
  return 0;
}

static char *dup_str(const vmctr__agent_field *f) {
  char *s = malloc((size_t)f->len + 1);
  if (!s)
    return NULL;
  if (f->len)
    memcpy(s, f->val, f->len);
  s[f->len] = '\0';
  return s;
}

int vmctr__agent_get_str(const vmctr__agent_msg *m, uint16_t tag, char **out) {
  const vmctr__agent_field *f = find(m, tag);
  char *s;
  int r;
  if (!f)
    return -ENOENT;
  if ((r = check_str(f)) < 0)
    return r;
  if (!(s = dup_str(f)))
    return -ENOMEM;
  *out = s;
  return 0;
}

size_t vmctr__agent_count(const vmctr__agent_msg *m, uint16_t tag) {
  size_t n = 0;
  for (size_t i = 0; i < m->n; i++)
    n += m->fields[i].tag == tag;
  return n;
}

void vmctr__agent_strv_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

int vmctr__agent_get_strv(const vmctr__agent_msg *m, uint16_t tag, char ***out) {
  size_t n = vmctr__agent_count(m, tag), k = 0;
  char **v;
  if (n > VMCTR_AGENT_MAX_LIST)
    return -E2BIG;
  for (size_t i = 0; i < m->n; i++)
    if (m->fields[i].tag == tag && check_str(&m->fields[i]) < 0)
      return -EINVAL;
  v = calloc(n + 1, sizeof(*v));
  if (!v)
    return -ENOMEM;
  for (size_t i = 0; i < m->n && k < n; i++) {
    if (m->fields[i].tag != tag)
      continue;
    if (!(v[k++] = dup_str(&m->fields[i]))) {
      vmctr__agent_strv_free(v);
      return -ENOMEM;
    }
  }
  *out = v;
  return 0;
}

int vmctr__agent_get_u32v(const vmctr__agent_msg *m, uint16_t tag, uint32_t **out, size_t *n) {
  size_t cnt = vmctr__agent_count(m, tag), k = 0;
  uint32_t *v = NULL;
  if (cnt > VMCTR_AGENT_MAX_LIST)
    return -E2BIG;
  for (size_t i = 0; i < m->n; i++)
    if (m->fields[i].tag == tag && m->fields[i].len != 4)
      return -EINVAL;
  if (cnt && !(v = calloc(cnt, sizeof(*v))))
    return -ENOMEM;
  for (size_t i = 0; i < m->n && k < cnt; i++)
    if (m->fields[i].tag == tag)
      v[k++] = get32(m->fields[i].val);
  *out = v;
  *n = cnt;
  return 0;
}

uint32_t vmctr__agent_le32(const uint8_t p[4]) {
  return get32(p);
}

void vmctr__agent_put_le32(uint8_t p[4], uint32_t v) {
  put32(p, v);
}

bool vmctr__agent_path_ok(const char *p) {
  size_t len = p ? strlen(p) : 0;
  if (len < 2 || len > VMCTR_AGENT_PATH_MAX || p[0] != '/' || p[len - 1] == '/')
    return false;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
      return false;
  for (const char *c = p + 1;;) {
    const char *end = strchr(c, '/');
    size_t n = end ? (size_t)(end - c) : strlen(c);
    if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
      return false;
    if (!end)
      return true;
    c = end + 1;
  }
}
