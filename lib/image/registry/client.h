/* SPDX-License-Identifier: MIT */
/* The registry client's internals: one client per (registry, repository),
 * its HTTP requests over libcurl, authentication and credentials. Only the
 * files of lib/image/registry include curl. */
#ifndef VMCTR_IMAGE_REGISTRY_CLIENT_H
#define VMCTR_IMAGE_REGISTRY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/registry/ref.h"
#include "vmctr/registry.h"

#define REG_DEFAULT_CONNECTIONS 4u
#define REG_MAX_CONNECTIONS 32u
#define REG_DEFAULT_STALL_MS 30000u
#define REG_DEFAULT_RETRIES 4u
#define REG_MAX_REDIRECTS 5L
#define REG_ERROR_BODY_MAX 4096u

typedef struct reg_client {
  vmctr__ref ref;
  char name[VMCTR__REF_MAX * 2]; /* the normalized reference, for messages */
  char **bases;                  /* base URLs to try: mirrors, then the registry */
  size_t n_bases, base;          /* base: the one that answered */
  vmctr_registry_options o;
  char *user, *secret;           /* credentials; never in a message */
  char *token;                   /* the bearer token of the last challenge */
  char *basic;                   /* the registry asked for Basic */
  char scope[VMCTR__REF_MAX + 64];
} reg_client;

/* A response held in memory. */
typedef struct reg_resp {
  long status;
  char *body;
  size_t len, max;
  char content_type[128];
  char digest[80];               /* Docker-Content-Digest, if any */
  char location[2048];           /* Location, if any */
  char *www_auth;                /* WWW-Authenticate, if any */
  uint64_t content_length;       /* UINT64_MAX: none */
} reg_resp;

void reg_resp_clear(reg_resp *r);

/* A client for ref (normalized), scope "pull" or "pull,push". */
int reg_client_new(reg_client **out, const char *ref, const vmctr_registry_options *opts,
                   const char *actions);
void reg_client_free(reg_client *c);

/* One request to base + "/v2/" + repository path + tail ("manifests/1.0"),
 * authenticating on a 401 and retrying on 429/5xx. body (may be NULL) is
 * sent for PUT/POST. max bounds the response body kept. */
int reg_request(reg_client *c, const char *method, const char *tail, const char *accept,
                const char *ctype, const void *body, size_t body_len, size_t max,
                reg_resp *resp);
/* The same to an absolute URL (an upload Location). */
int reg_request_url(reg_client *c, const char *method, const char *url, const char *accept,
                    const char *ctype, const void *body, size_t body_len, size_t max,
                    reg_resp *resp);

/* Blobs streamed into a blob directory, several at once, each verified. */
struct vmctr__oci_desc;
struct vmctr__oci_prog;
int reg_fetch_blobs(reg_client *c, const struct vmctr__oci_desc *const *want, size_t n,
                    int blob_dirfd, struct vmctr__oci_prog *pr);

/* Fill c->user / c->secret from the Docker configuration (auths, credHelpers,
 * credsStore); nothing when none applies. */
int reg_creds_load(reg_client *c);

/* Internal to the files of the client: */
struct curl_slist;
void *reg_easy(reg_client *c, const char *url, struct curl_slist **hdrs);
int reg_curl_error(reg_client *c, int code, const char *what, const char *errbuf);
int reg_authenticate(reg_client *c, const char *challenge);
/* The value of key in a challenge's parameters (key="value", key=token, ...). */
bool reg_challenge_param(const char *params, const char *key, char *out, size_t cap);
uint64_t reg_backoff_ms(uint32_t attempt);
/* A curl result worth retrying (a broken or stalled transfer). */
bool reg_transient(int curl_code);
int reg_status_error(reg_client *c, const reg_resp *r, const char *what);

#endif
