/* SPDX-License-Identifier: MIT */
/* SHA-256 through OpenSSL's libcrypto (EVP): its assembly (SHA-NI, AVX2)
 * hashes about nine times faster than portable C, and libcurl brings the
 * library anyway. The digest algorithm is fetched once per process. */
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#include "core/sha256.h"

static const EVP_MD *md;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void) {
  /* EVP_sha256() needs no provider lookup per context, unlike EVP_MD_fetch(). */
  md = EVP_sha256();
}

void vmctr__sha256_init(vmctr__sha256 *c) {
  pthread_once(&md_once, md_fetch);
  c->ctx = EVP_MD_CTX_new();
  c->failed = !c->ctx || !md || EVP_DigestInit_ex(c->ctx, md, NULL) != 1;
}

void vmctr__sha256_update(vmctr__sha256 *c, const void *data, size_t n) {
  if (!c->failed && n && EVP_DigestUpdate(c->ctx, data, n) != 1)
    c->failed = 1;
}

void vmctr__sha256_final(vmctr__sha256 *c, uint8_t out[32]) {
  unsigned int len = 0;
  /* A failed context yields all zeros: no blob has that digest, so a
   * verification fails closed instead of passing. */
  if (c->failed || EVP_DigestFinal_ex(c->ctx, out, &len) != 1 || len != 32)
    memset(out, 0, 32);
  vmctr__sha256_clear(c);
}

void vmctr__sha256_clear(vmctr__sha256 *c) {
  EVP_MD_CTX_free(c->ctx); /* NULL is fine */
  c->ctx = NULL;
  c->failed = 1;
}

void vmctr__sha256_hex(const uint8_t d[32], char out[65]) {
  static const char hx[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = hx[d[i] >> 4];
    out[2 * i + 1] = hx[d[i] & 15];
  }
  out[64] = '\0';
}
