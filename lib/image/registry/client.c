/* SPDX-License-Identifier: MIT */
/* The registry client: requests over libcurl with the project's limits
 * (redirects counted and kept to one scheme, a stall timeout, bounded
 * bodies, TLS verified against the system store plus an optional CA file),
 * retries with backoff, mirrors, and the Basic and bearer-token flows. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "image/registry/client.h"
#include "vmctr/version.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

void reg_resp_clear(reg_resp *r) {
  free(r->body);
  free(r->www_auth);
  memset(r, 0, sizeof(*r));
}

static char *dupf(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 1;
  char *s = malloc(n);
  if (s)
    snprintf(s, n, "%s%s", a, b);
  return s;
}

int reg_client_new(reg_client **out, const char *ref, const vmctr_registry_options *opts,
                   const char *actions) {
  static const vmctr_registry_options def = VMCTR_REGISTRY_OPTIONS_INIT;
  reg_client *c;
  size_t nm = 0;
  int r;
  if (opts && opts->version != VMCTR_REGISTRY_OPTIONS_VERSION)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_registry_options: unknown version %u (this "
                      "library knows %u)", opts->version, VMCTR_REGISTRY_OPTIONS_VERSION);
  if (opts && (opts->flags & ~(VMCTR_REGISTRY_INSECURE_HTTP | VMCTR_REGISTRY_NO_DOCKER_CONFIG |
                               VMCTR_REGISTRY_NO_SYNC)))
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_registry_options: unknown flags 0x%x", opts->flags);
  if (opts && opts->max_connections > REG_MAX_CONNECTIONS)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_registry_options.max_connections: at most %u",
                      REG_MAX_CONNECTIONS);
  pthread_once(&curl_once, curl_init);
  if (curl_init_rc != CURLE_OK)
    return vmctr__err(VMCTR_EIO, 0, "libcurl failed to initialize: %s",
                      curl_easy_strerror(curl_init_rc));
  if (!(c = calloc(1, sizeof(*c))))
    return vmctr__err_nomem();
  c->o = opts ? *opts : def;
  if (!c->o.max_connections)
    c->o.max_connections = REG_DEFAULT_CONNECTIONS;
  if (!c->o.stall_timeout_ms)
    c->o.stall_timeout_ms = REG_DEFAULT_STALL_MS;
  if (!c->o.retries)
    c->o.retries = REG_DEFAULT_RETRIES;
  if ((r = vmctr__ref_parse(ref, &c->ref)) < 0)
    goto fail;
  vmctr__ref_format(&c->ref, c->name, sizeof(c->name));
  snprintf(c->scope, sizeof(c->scope), "repository:%s:%s", c->ref.path, actions);
  for (const char *const *m = c->o.mirrors; m && *m; m++)
    nm++;
  if (!(c->bases = calloc(nm + 1, sizeof(char *))))
    goto nomem;
  for (size_t i = 0; i < nm; i++) {
    const char *m = c->o.mirrors[i];
    size_t len = strlen(m);
    bool http = strncmp(m, "http://", 7) == 0;
    if (!http && strncmp(m, "https://", 8) != 0) {
      r = vmctr__err(VMCTR_EINVAL, 0, "mirror \"%s\": give an https:// URL", m);
      goto fail;
    }
    if (http && !(c->o.flags & VMCTR_REGISTRY_INSECURE_HTTP)) {
      r = vmctr__err(VMCTR_EINVAL, 0, "mirror \"%s\" is plain http: set "
                     "VMCTR_REGISTRY_INSECURE_HTTP to allow it", m);
      goto fail;
    }
    if (!(c->bases[c->n_bases] = vmctr__strdup(m)))
      goto nomem;
    while (len && c->bases[c->n_bases][len - 1] == '/')
      c->bases[c->n_bases][--len] = '\0';
    c->n_bases++;
  }
  if (!(c->bases[c->n_bases] = dupf(c->o.flags & VMCTR_REGISTRY_INSECURE_HTTP ? "http://"
                                                                             : "https://",
                                    vmctr__ref_api_host(&c->ref))))
    goto nomem;
  c->n_bases++;
  if (c->o.username) {
    if (!(c->user = vmctr__strdup(c->o.username)) ||
        !(c->secret = vmctr__strdup(c->o.password ? c->o.password : "")))
      goto nomem;
  } else if (!(c->o.flags & VMCTR_REGISTRY_NO_DOCKER_CONFIG) && (r = reg_creds_load(c)) < 0) {
    goto fail;
  }
  /* The options' strings are the caller's: only the copies above are kept. */
  c->o.username = c->o.password = NULL;
  c->o.mirrors = NULL;
  *out = c;
  return 0;
nomem:
  r = vmctr__err_nomem();
fail:
  reg_client_free(c);
  return r;
}

static void wipe_free(char *s) {
  if (s) {
    volatile char *p = s;
    while (*p)
      *p++ = 0;
    free(s);
  }
}

void reg_client_free(reg_client *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->n_bases; i++)
    free(c->bases[i]);
  free(c->bases);
  wipe_free(c->user);
  wipe_free(c->secret);
  wipe_free(c->token);
  free(c->basic);
  free(c);
}

uint64_t reg_backoff_ms(uint32_t attempt) {
  uint64_t ms = 200ull << (attempt > 6 ? 6 : attempt);
  struct timespec ts;
  /* Jitter, so that clients retrying at once spread out; from the clock, not
   * rand(), whose state is the application's. */
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ms + (uint64_t)ts.tv_nsec % 100;
}

static void sleep_ms(uint64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

/* ---- headers and bodies ---- */

static void copy_value(char *dst, size_t cap, const char *v, size_t n) {
  while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
    n--;
  while (n && *v == ' ') {
    v++;
    n--;
  }
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, v, n);
  dst[n] = '\0';
}

static bool header_is(const char *h, size_t n, const char *name, const char **val, size_t *vn) {
  size_t k = strlen(name);
  if (n <= k || strncasecmp(h, name, k) != 0 || h[k] != ':')
    return false;
  *val = h + k + 1;
  *vn = n - k - 1;
  return true;
}

static size_t on_header(char *h, size_t size, size_t nitems, void *ud) {
  reg_resp *r = ud;
  size_t n = size * nitems, vn;
  const char *v;
  if (n >= 5 && strncmp(h, "HTTP/", 5) == 0) { /* a new response (after a redirect or 100) */
    r->content_type[0] = r->digest[0] = r->location[0] = '\0';
    r->content_length = UINT64_MAX;
    free(r->www_auth);
    r->www_auth = NULL;
    r->len = 0;
  } else if (header_is(h, n, "content-type", &v, &vn)) {
    copy_value(r->content_type, sizeof(r->content_type), v, vn);
    char *semi = strchr(r->content_type, ';');
    if (semi)
      *semi = '\0';
  } else if (header_is(h, n, "docker-content-digest", &v, &vn)) {
    copy_value(r->digest, sizeof(r->digest), v, vn);
  } else if (header_is(h, n, "location", &v, &vn)) {
    copy_value(r->location, sizeof(r->location), v, vn);
  } else if (header_is(h, n, "content-length", &v, &vn)) {
    char tmp[32], *end;
    copy_value(tmp, sizeof(tmp), v, vn);
    unsigned long long x = strtoull(tmp, &end, 10);
    r->content_length = (*tmp && !*end) ? x : UINT64_MAX;
  } else if (header_is(h, n, "www-authenticate", &v, &vn) && !r->www_auth && vn < 4096) {
    if ((r->www_auth = malloc(vn + 1)))
      copy_value(r->www_auth, vn + 1, v, vn);
  }
  return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
  reg_resp *r = ud;
  size_t n = size * nmemb;
  if (r->len + n > r->max) {
    r->len = r->max + 1; /* marks "too big"; the transfer stops */
    return 0;
  }
  char *nb = realloc(r->body, r->len + n + 1);
  if (!nb)
    return 0;
  r->body = nb;
  memcpy(r->body + r->len, p, n);
  r->len += n;
  r->body[r->len] = '\0';
  return n;
}

/* ---- one easy handle ---- */

void *reg_easy(reg_client *c, const char *url, struct curl_slist **hdrs) {
  CURL *e = curl_easy_init();
  bool https = strncmp(url, "https://", 8) == 0;
  char agent[64];
  if (!e)
    return NULL;
  snprintf(agent, sizeof(agent), "libvmctr/%s", VMCTR_VERSION_STRING);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, agent);
  /* http:// only when the caller opted in; a redirect never changes the scheme. */
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR,
                   (c->o.flags & VMCTR_REGISTRY_INSECURE_HTTP) ? "http,https" : "https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, REG_MAX_REDIRECTS);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)((c->o.stall_timeout_ms + 999) / 1000));
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (c->o.ca_file)
    curl_easy_setopt(e, CURLOPT_CAINFO, c->o.ca_file);
  /* Authorization set here is never sent on to another host by a redirect
   * (libcurl drops it), so a blob store elsewhere never sees the token. */
  if (c->token) {
    char *h = dupf("Authorization: Bearer ", c->token);
    struct curl_slist *nl = h ? curl_slist_append(*hdrs, h) : NULL;
    wipe_free(h);
    if (nl)
      *hdrs = nl;
  } else if (c->basic && c->user) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERNAME, c->user);
    curl_easy_setopt(e, CURLOPT_PASSWORD, c->secret);
  }
  if (*hdrs)
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, *hdrs);
  return e;
}

bool reg_transient(int code) {
  CURLcode rc = (CURLcode)code;
  return rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
         rc == CURLE_GOT_NOTHING || rc == CURLE_OPERATION_TIMEDOUT;
}

int reg_curl_error(reg_client *c, int code, const char *what, const char *errbuf) {
  CURLcode rc = (CURLcode)code;
  const char *detail = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT:
    return vmctr__err(VMCTR_ETIMEDOUT, 0, "%s: %s: the registry sent nothing for %u s (stalled): "
                      "%s", c->name, what, (c->o.stall_timeout_ms + 999) / 1000, detail);
  case CURLE_TOO_MANY_REDIRECTS:
    return vmctr__err(VMCTR_EIO, 0, "%s: %s: more than %ld redirects (a loop?)", c->name, what,
                      REG_MAX_REDIRECTS);
  case CURLE_UNSUPPORTED_PROTOCOL:
    return vmctr__err(VMCTR_EIO, 0, "%s: %s: a redirect to another scheme (or plain http "
                      "without VMCTR_REGISTRY_INSECURE_HTTP) was refused: %s", c->name, what,
                      detail);
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
    return vmctr__err(VMCTR_EIO, 0, "%s: %s: TLS failed: %s (if the registry has its own CA, "
                      "give it as ca_file)", c->name, what, detail);
  case CURLE_PARTIAL_FILE:
    return vmctr__err(VMCTR_EPARSE, 0, "%s: %s: the body ended early (truncated): %s", c->name,
                      what, detail);
  default:
    return vmctr__err(VMCTR_EIO, 0, "%s: %s: %s", c->name, what, detail);
  }
}

int reg_status_error(reg_client *c, const reg_resp *r, const char *what) {
  int code = r->status == 404 ? VMCTR_ENOENT
             : (r->status == 401 || r->status == 403) ? VMCTR_EPERM
             : VMCTR_EIO;
  const char *hint = r->status == 401 || r->status == 403
                         ? " (authentication refused: check the credentials)"
                         : r->status == 404 ? " (not found)" : "";
  return vmctr__err(code, 0, "%s: %s: the registry answered HTTP %ld%s", c->name, what,
                    r->status, hint);
}

/* ---- authentication ---- */

/* The value of key in a challenge's parameters (key="value", ...). */
bool reg_challenge_param(const char *params, const char *key, char *out, size_t cap) {
  size_t k = strlen(key);
  const char *p = params;
  while (*p) {
    while (*p == ' ' || *p == ',')
      p++;
    const char *eq = strchr(p, '=');
    if (!eq)
      return false;
    bool match = (size_t)(eq - p) == k && strncasecmp(p, key, k) == 0;
    const char *v = eq + 1, *end;
    size_t n = 0;
    if (*v == '"') {
      v++;
      for (end = v; *end && *end != '"'; end++)
        if (*end == '\\' && end[1])
          end++;
      if (match) {
        for (const char *q = v; q < end && n + 1 < cap; q++) {
          if (*q == '\\' && q + 1 < end)
            q++;
          out[n++] = *q;
        }
        out[n] = '\0';
        return true;
      }
      p = *end ? end + 1 : end;
    } else {
      end = v + strcspn(v, ",");
      if (match) {
        copy_value(out, cap, v, (size_t)(end - v));
        return true;
      }
      p = end;
    }
  }
  return false;
}

static int fetch_token(reg_client *c, const char *params) {
  char realm[1024], service[256] = "", scope[sizeof(c->scope)], *url = NULL;
  struct curl_slist *h = NULL;
  reg_resp resp = {.max = 64 * 1024, .content_length = UINT64_MAX};
  char errbuf[CURL_ERROR_SIZE] = "";
  cJSON *j = NULL;
  CURL *e = NULL;
  CURLcode rc;
  int r;
  if (!reg_challenge_param(params, "realm", realm, sizeof(realm)))
    return vmctr__err(VMCTR_EPROTO, 0, "%s: the registry's Bearer challenge has no realm",
                      c->name);
  bool https = strncmp(realm, "https://", 8) == 0;
  if (!https && !(strncmp(realm, "http://", 7) == 0 && (c->o.flags & VMCTR_REGISTRY_INSECURE_HTTP)))
    return vmctr__err(VMCTR_EPERM, 0, "%s: the token service %s is not https (plain http needs "
                      "VMCTR_REGISTRY_INSECURE_HTTP)", c->name, realm);
  reg_challenge_param(params, "service", service, sizeof(service));
  /* Our scope: a registry that names another (or none) still gets what we need. */
  snprintf(scope, sizeof(scope), "%s", c->scope);
  {
    CURL *esc = curl_easy_init();
    char *es = esc ? curl_easy_escape(esc, service, 0) : NULL;
    char *ec = esc ? curl_easy_escape(esc, scope, 0) : NULL;
    vmctr__strbuf sb = {0};
    if (es && ec) {
      vmctr__sb_puts(&sb, realm);
      vmctr__sb_puts(&sb, strchr(realm, '?') ? "&" : "?");
      if (*service) {
        vmctr__sb_puts(&sb, "service=");
        vmctr__sb_puts(&sb, es);
        vmctr__sb_puts(&sb, "&");
      }
      vmctr__sb_puts(&sb, "scope=");
      vmctr__sb_puts(&sb, ec);
      url = vmctr__sb_steal(&sb);
    }
    curl_free(es);
    curl_free(ec);
    if (esc)
      curl_easy_cleanup(esc);
    if (!url)
      return vmctr__err_nomem();
  }
  char *saved = c->token;
  c->token = NULL; /* the token endpoint gets Basic credentials, if any, not an old token */
  free(c->basic);
  c->basic = c->user ? vmctr__strdup("token") : NULL;
  e = reg_easy(c, url, &h);
  free(c->basic);
  c->basic = NULL;
  wipe_free(saved);
  if (!e) {
    free(url);
    return vmctr__err_nomem();
  }
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &resp);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &resp);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  rc = curl_easy_perform(e);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp.status);
  if (rc != CURLE_OK) {
    r = reg_curl_error(c, rc, "token service", errbuf);
    goto out;
  }
  if (resp.status != 200) {
    r = vmctr__err(resp.status == 401 || resp.status == 403 ? VMCTR_EPERM : VMCTR_EIO, 0,
                   "%s: the token service refused access to %s (HTTP %ld)%s", c->name, scope,
                   resp.status, c->user ? "" : "; it may need credentials");
    goto out;
  }
  if ((r = vmctr__json_parse(resp.body ? resp.body : "", resp.len, "token response", &j)) < 0)
    goto out;
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "token");
  if (!cJSON_IsString(t) || !*t->valuestring)
    t = cJSON_GetObjectItemCaseSensitive(j, "access_token");
  if (!cJSON_IsString(t) || !*t->valuestring || strpbrk(t->valuestring, "\r\n")) {
    r = vmctr__err(VMCTR_EPROTO, 0, "%s: the token service's answer holds no usable token",
                   c->name);
    goto out;
  }
  if (!(c->token = vmctr__strdup(t->valuestring)))
    r = vmctr__err_nomem();
  else
    r = 0;
out:
  if (j) {
    /* The token's bytes are a secret: the parsed copy goes as the body does. */
    cJSON_Delete(j);
  }
  if (resp.body)
    memset(resp.body, 0, resp.len);
  reg_resp_clear(&resp);
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  free(url);
  return r;
}

int reg_authenticate(reg_client *c, const char *challenge) {
  if (!challenge)
    return vmctr__err(VMCTR_EPERM, 0, "%s: the registry refused access (HTTP 401) without a "
                      "challenge", c->name);
  if (strncasecmp(challenge, "Bearer ", 7) == 0)
    return fetch_token(c, challenge + 7);
  if (strncasecmp(challenge, "Basic", 5) == 0) {
    if (!c->user)
      return vmctr__err(VMCTR_EPERM, 0, "%s: the registry needs a user name and password (none "
                        "given, none in the Docker configuration)", c->name);
    if (c->basic)
      return vmctr__err(VMCTR_EPERM, 0, "%s: the registry refused the credentials for user %s",
                        c->name, c->user);
    return (c->basic = vmctr__strdup("basic")) ? 0 : vmctr__err_nomem();
  }
  return vmctr__err(VMCTR_EUNSUPPORTED, 0, "%s: the registry asks for an authentication scheme "
                    "this library does not speak", c->name);
}

/* ---- requests ---- */

int reg_request_url(reg_client *c, const char *method, const char *url, const char *accept,
                    const char *ctype, const void *body, size_t body_len, size_t max,
                    reg_resp *resp) {
  bool reauthed = false;
  int r = 0;
  for (uint32_t attempt = 0;; attempt++) {
    struct curl_slist *h = NULL;
    char errbuf[CURL_ERROR_SIZE] = "", ct[200], *ac = NULL;
    CURL *e;
    CURLcode rc;
    reg_resp_clear(resp);
    resp->max = max;
    resp->content_length = UINT64_MAX;
    if (ctype) {
      snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
      h = curl_slist_append(h, ct);
    }
    if (accept && (ac = dupf("Accept: ", accept))) {
      h = curl_slist_append(h, ac);
      free(ac);
    }
    if (!(e = reg_easy(c, url, &h))) {
      curl_slist_free_all(h);
      return vmctr__err_nomem();
    }
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    if (strcmp(method, "HEAD") == 0) {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
      curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* uploads answer with a Location to use */
    }
    rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    if (rc == CURLE_WRITE_ERROR && resp->len > resp->max)
      return vmctr__err(VMCTR_ETOOBIG, 0, "%s: %s: the answer is larger than the %zu bytes "
                        "allowed", c->name, url, max);
    if (rc != CURLE_OK) {
      if (reg_transient(rc) && attempt < c->o.retries) {
        vmctr__log(VMCTR_LOG_DEBUG, "registry", "%s: %s, retrying", c->name,
                   curl_easy_strerror(rc));
        sleep_ms(reg_backoff_ms(attempt));
        continue;
      }
      return reg_curl_error(c, rc, url, errbuf);
    }
    if (resp->status == 401 && !reauthed) {
      reauthed = true;
      if ((r = reg_authenticate(c, resp->www_auth)) < 0)
        return r;
      attempt--;
      continue;
    }
    if ((resp->status == 429 || resp->status >= 500) && attempt < c->o.retries) {
      vmctr__log(VMCTR_LOG_DEBUG, "registry", "%s: HTTP %ld, retrying", c->name, resp->status);
      sleep_ms(reg_backoff_ms(attempt));
      continue;
    }
    return 0;
  }
}

int reg_request(reg_client *c, const char *method, const char *tail, const char *accept,
                const char *ctype, const void *body, size_t body_len, size_t max,
                reg_resp *resp) {
  int r = VMCTR_EIO;
  for (size_t b = c->base; b < c->n_bases; b++) {
    char *url = malloc(strlen(c->bases[b]) + strlen(c->ref.path) + strlen(tail) + 8);
    if (!url)
      return vmctr__err_nomem();
    sprintf(url, "%s/v2/%s/%s", c->bases[b], c->ref.path, tail);
    r = reg_request_url(c, method, url, accept, ctype, body, body_len, max, resp);
    free(url);
    bool last = b + 1 == c->n_bases;
    /* A mirror that fails or lacks the image: on to the next, then the registry. */
    if (!last && (r == VMCTR_EIO || r == VMCTR_ETIMEDOUT ||
                  (r == 0 && (resp->status == 404 || resp->status >= 500)))) {
      vmctr__log(VMCTR_LOG_INFO, "registry", "%s: mirror %s did not serve %s; trying the next",
                 c->name, c->bases[b], tail);
      wipe_free(c->token);
      c->token = NULL;
      continue;
    }
    if (r == 0)
      c->base = b;
    return r;
  }
  return r;
}
