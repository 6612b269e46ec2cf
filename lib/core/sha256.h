/* SPDX-License-Identifier: MIT */
/* SHA-256 (FIPS 180-4): image digests, blob verification. Streaming; no allocation. */
#ifndef VMCTR_CORE_SHA256_H
#define VMCTR_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct vmctr__sha256 { uint32_t h[8]; uint64_t len; uint8_t buf[64]; size_t n; } vmctr__sha256;
void vmctr__sha256_init(vmctr__sha256 *c);
void vmctr__sha256_update(vmctr__sha256 *c, const void *data, size_t n);
void vmctr__sha256_final(vmctr__sha256 *c, uint8_t out[32]);
/* Lowercase hex, NUL-terminated. */
void vmctr__sha256_hex(const uint8_t d[32], char out[65]);

#endif
