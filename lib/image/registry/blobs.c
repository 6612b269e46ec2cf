/* SPDX-License-Identifier: MIT */
/* Blob downloads: up to max_connections at once (curl multi), each streamed
 * into the blob directory's writer, which hashes while it writes and
 * publishes by rename only when digest and size match. A broken transfer
 * resumes where it stopped with a Range request; 429 and 5xx are retried
 * with backoff; a declared length larger than the descriptor's is refused
 * before a byte is written. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/log.h"
#include "image/oci/oci-priv.h"
#include "image/registry/client.h"

typedef struct xfer {
  reg_client *c;
  const vmctr__oci_desc *d;
  vmctr__oci_blobw w;
  bool begun, fresh, active, done;
  CURL *e;
  struct curl_slist *h;
  uint32_t attempt;
  uint64_t not_before, asked_from;
  long status;
  int err; /* a recorded error from a callback (message saved in msg) */
  char msg[1024], what[600];
  char errbuf[CURL_ERROR_SIZE];
  uint64_t content_length;
  vmctr__oci_prog *pr;
  int dirfd;
} xfer;

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int x_fail(xfer *x, int code) {
  x->err = code;
  snprintf(x->msg, sizeof(x->msg), "%s", vmctr_error_last()->message);
  return code;
}

static size_t x_header(char *h, size_t size, size_t nitems, void *ud) {
  xfer *x = ud;
  size_t n = size * nitems;
  if (n >= 5 && strncmp(h, "HTTP/", 5) == 0) {
    x->fresh = true;
    x->content_length = UINT64_MAX;
  } else if (n > 15 && strncasecmp(h, "content-length:", 15) == 0) {
    char *end;
    unsigned long long v = strtoull(h + 15, &end, 10);
    if (end != h + 15)
      x->content_length = v;
  }
  return n;
}

/* The first bytes of a response: decide what they are. */
static int x_start(xfer *x) {
  long st = 0;
  curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &st);
  x->status = st;
  x->fresh = false;
  if (st != 200 && st != 206)
    return 0; /* an error body: dropped, the status decides at the end */
  if (st == 200 && x->w.n > 0) {
    /* No range support: start over. */
    vmctr__oci_blob_abort(&x->w);
    x->begun = false;
  }
  if (st == 206 && x->asked_from != x->w.n)
    return vmctr__err(VMCTR_EPROTO, 0, "%s: a partial answer to a request that asked for none",
                      x->what);
  if (!x->begun) {
    int r = vmctr__oci_blob_begin(&x->w, x->dirfd, x->d->size, x->what, x->pr);
    if (r < 0)
      return r;
    x->begun = true;
  }
  if (x->content_length != UINT64_MAX && x->content_length > x->d->size - x->w.n)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: the registry announces %llu bytes, but the "
                      "descriptor declares %llu in all", x->what,
                      (unsigned long long)(x->content_length + x->w.n),
                      (unsigned long long)x->d->size);
  return 0;
}

static size_t x_body(char *p, size_t size, size_t nmemb, void *ud) {
  xfer *x = ud;
  size_t n = size * nmemb;
  int r;
  if (x->fresh && (r = x_start(x)) < 0) {
    x_fail(x, r);
    return 0;
  }
  if (x->status != 200 && x->status != 206)
    return n;
  x->pr->p.item = x->d->digest;
  if ((r = vmctr__oci_blob_write(&x->w, p, n)) < 0) {
    x_fail(x, r);
    return 0;
  }
  return n;
}

static int x_launch(xfer *x, CURLM *m, int dirfd) {
  char *url, range[64];
  reg_client *c = x->c;
  const char *base = c->bases[c->base];
  if (!x->begun) {
    int r = vmctr__oci_blob_begin(&x->w, dirfd, x->d->size, x->what, x->pr);
    if (r < 0)
      return r;
    x->begun = true;
  }
  if (!(url = malloc(strlen(base) + strlen(c->ref.path) + 96)))
    return vmctr__err_nomem();
  sprintf(url, "%s/v2/%s/blobs/%s", base, c->ref.path, x->d->digest);
  curl_slist_free_all(x->h);
  x->h = NULL;
  if (x->e)
    curl_easy_cleanup(x->e);
  x->e = reg_easy(c, url, &x->h);
  free(url);
  if (!x->e)
    return vmctr__err_nomem();
  x->asked_from = x->w.n;
  if (x->w.n > 0) {
    snprintf(range, sizeof(range), "%llu-", (unsigned long long)x->w.n);
    curl_easy_setopt(x->e, CURLOPT_RANGE, range);
    vmctr__log(VMCTR_LOG_INFO, "registry", "%s: resuming at byte %llu", x->what,
               (unsigned long long)x->w.n);
  }
  x->errbuf[0] = '\0';
  x->status = 0;
  x->fresh = true;
  x->content_length = UINT64_MAX;
  curl_easy_setopt(x->e, CURLOPT_HEADERFUNCTION, x_header);
  curl_easy_setopt(x->e, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, x_body);
  curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(x->e, CURLOPT_ERRORBUFFER, x->errbuf);
  curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
  if (curl_multi_add_handle(m, x->e) != CURLM_OK)
    return vmctr__err(VMCTR_EIO, 0, "%s: cannot start the transfer", x->what);
  x->active = true;
  return 0;
}

/* A finished transfer: 0 done, 1 to be retried, negative on failure. */
static int x_finish(xfer *x, CURLcode rc) {
  reg_client *c = x->c;
  long st = 0;
  char hex[65];
  curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &st);
  x->active = false;
  if (x->err) {
    vmctr__err(x->err, 0, "%s", x->msg);
    return x->err;
  }
  if (rc == CURLE_OK && (st == 200 || st == 206)) {
    int r = vmctr__oci_blob_commit(&x->w, x->d->digest + 7, hex);
    x->begun = false;
    x->done = true;
    return r < 0 ? vmctr__err_prefix(c->name) : 0;
  }
  if (rc == CURLE_OK && st == 401 && x->attempt < c->o.retries) {
    /* The token expired (or the registry wants one only now). */
    reg_resp resp = {0};
    char *url = malloc(strlen(c->bases[c->base]) + strlen(c->ref.path) + 96);
    int r;
    if (!url)
      return vmctr__err_nomem();
    sprintf(url, "%s/v2/%s/blobs/%s", c->bases[c->base], c->ref.path, x->d->digest);
    r = reg_request_url(c, "HEAD", url, NULL, NULL, NULL, 0, 0, &resp);
    free(url);
    reg_resp_clear(&resp);
    if (r < 0)
      return r;
    x->attempt++;
    return 1;
  }
  bool retry = (rc != CURLE_OK && reg_transient(rc)) ||
               (rc == CURLE_OK && (st == 429 || st >= 500));
  if (retry && x->attempt < c->o.retries) {
    x->attempt++;
    x->not_before = now_ms() + reg_backoff_ms(x->attempt);
    vmctr__log(VMCTR_LOG_INFO, "registry", "%s: %s after %llu bytes; retry %u of %u", x->what,
               rc != CURLE_OK ? curl_easy_strerror(rc) : "an HTTP error",
               (unsigned long long)x->w.n, x->attempt, c->o.retries);
    return 1;
  }
  if (rc != CURLE_OK)
    return reg_curl_error(c, rc, x->what + strlen(c->name) + 2, x->errbuf);
  reg_resp r = {.status = st};
  return reg_status_error(c, &r, x->what + strlen(c->name) + 2);
}

int reg_fetch_blobs(reg_client *c, const vmctr__oci_desc *const *want, size_t n, int dirfd,
                    vmctr__oci_prog *pr) {
  CURLM *m = curl_multi_init();
  xfer *xs = calloc(n ? n : 1, sizeof(*xs));
  size_t done = 0, active = 0;
  int r = 0;
  if (!m || !xs) {
    r = vmctr__err_nomem();
    goto out;
  }
  curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->o.max_connections);
  for (size_t i = 0; i < n; i++) {
    xs[i].c = c;
    xs[i].d = want[i];
    xs[i].pr = pr;
    xs[i].w.fd = -1;
    xs[i].dirfd = dirfd;
    snprintf(xs[i].what, sizeof(xs[i].what), "%s: blob %s", c->name, want[i]->digest);
  }
  while (done < n) {
    uint64_t t = now_ms();
    /* Start what may start. */
    for (size_t i = 0; i < n && active < c->o.max_connections; i++) {
      xfer *x = &xs[i];
      if (x->done || x->active || x->not_before > t)
        continue;
      if ((r = x_launch(x, m, dirfd)) < 0)
        goto out;
      active++;
    }
    int running = 0, numfds;
    if (curl_multi_perform(m, &running) != CURLM_OK) {
      r = vmctr__err(VMCTR_EIO, 0, "%s: the transfer engine failed", c->name);
      goto out;
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
      xfer *x = NULL;
      if (msg->msg != CURLMSG_DONE)
        continue;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
      CURLcode rc = msg->data.result;
      curl_multi_remove_handle(m, x->e);
      active--;
      r = x_finish(x, rc);
      if (r < 0)
        goto out;
      if (r == 0) {
        done++;
        pr->p.item_index = (uint32_t)done;
      }
      r = 0;
    }
    if (done < n && curl_multi_poll(m, NULL, 0, 100, &numfds) != CURLM_OK) {
      r = vmctr__err(VMCTR_EIO, 0, "%s: the transfer engine failed", c->name);
      goto out;
    }
  }
out:
  for (size_t i = 0; xs && i < n; i++) {
    if (xs[i].e) {
      if (xs[i].active)
        curl_multi_remove_handle(m, xs[i].e);
      curl_easy_cleanup(xs[i].e);
    }
    curl_slist_free_all(xs[i].h);
    if (xs[i].begun)
      vmctr__oci_blob_abort(&xs[i].w);
  }
  free(xs);
  if (m)
    curl_multi_cleanup(m);
  return r;
}
