/* SPDX-License-Identifier: MIT */
/* SHA-256: image digests, blob verification. Streaming, backed by OpenSSL's
 * libcrypto. A context that is started must be finished with
 * vmctr__sha256_final() or dropped with vmctr__sha256_clear(). */
#ifndef VMCTR_CORE_SHA256_H
#define VMCTR_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* ctx is OpenSSL's EVP_MD_CTX, kept opaque so that only sha256.c includes OpenSSL. */
typedef struct vmctr__sha256 { void *ctx; int failed; } vmctr__sha256;
void vmctr__sha256_init(vmctr__sha256 *c);
void vmctr__sha256_update(vmctr__sha256 *c, const void *data, size_t n);
/* Writes the digest and releases the context. If the library failed (out of
 * memory), the digest is all zeros, which matches no content: checks fail closed. */
void vmctr__sha256_final(vmctr__sha256 *c, uint8_t out[32]);
/* Release a context without a digest (idempotent after final or clear). */
void vmctr__sha256_clear(vmctr__sha256 *c);
/* Lowercase hex, NUL-terminated. */
void vmctr__sha256_hex(const uint8_t d[32], char out[65]);

#endif
