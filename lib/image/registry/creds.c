/* SPDX-License-Identifier: MIT */
/* Credentials from the Docker configuration, read as Docker reads it:
 * credHelpers[host], else credsStore, else auths[host] ("auth": base64 of
 * "user:password", or "username" and "password"). A helper is the program
 * docker-credential-NAME on PATH, run as "docker-credential-NAME get" with
 * the server on stdin, answering {"Username": ..., "Secret": ...}. What a
 * helper or the file holds never reaches a log or a message. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/child.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "image/registry/client.h"

#define CONFIG_MAX (1u << 20)
#define HELPER_OUT_MAX (64u << 10)
#define HELPER_TIMEOUT_MS 10000

/* The server name Docker uses as the key for a registry. */
static const char *server_key(const reg_client *c) {
  return strcmp(c->ref.domain, VMCTR__REF_DEFAULT_DOMAIN) == 0 ? "https://index.docker.io/v1/"
                                                               : c->ref.domain;
}

/* Does an auths key ("https://host/v1/", "host") name this registry? */
static bool key_matches(const reg_client *c, const char *key) {
  const char *k = key;
  size_t n;
  if (strcmp(key, server_key(c)) == 0)
    return true;
  if (strncmp(k, "https://", 8) == 0)
    k += 8;
  else if (strncmp(k, "http://", 7) == 0)
    k += 7;
  n = strcspn(k, "/");
  if (strcmp(c->ref.domain, VMCTR__REF_DEFAULT_DOMAIN) == 0)
    return (n == 15 && strncmp(k, "index.docker.io", 15) == 0) ||
           (n == 9 && strncmp(k, "docker.io", 9) == 0) ||
           (n == 20 && strncmp(k, "registry-1.docker.io", 20) == 0);
  return n == strlen(c->ref.domain) && strncmp(k, c->ref.domain, n) == 0;
}

static int set_creds(reg_client *c, const char *user, const char *secret) {
  if (!(c->user = vmctr__strdup(user)) || !(c->secret = vmctr__strdup(secret))) {
    free(c->user);
    c->user = NULL;
    return vmctr__err_nomem();
  }
  return 0;
}

static int from_auth(reg_client *c, const char *b64, const char *cfg) {
  size_t n = strlen(b64);
  unsigned char *out = malloc(n + 4);
  int len, r;
  char *colon;
  if (!out)
    return vmctr__err_nomem();
  len = n ? EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n) : -1;
  if (len > 0) {
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    while (n && b64[n - 1] == '=') {
      n--;
      len--;
    }
    out[len] = '\0';
  }
  if (len <= 0 || strlen((char *)out) != (size_t)len || !(colon = strchr((char *)out, ':'))) {
    free(out);
    return vmctr__err(VMCTR_EPARSE, 0, "%s: the \"auth\" entry for %s is not base64 of "
                      "user:password", cfg, c->ref.domain);
  }
  *colon = '\0';
  r = set_creds(c, (char *)out, colon + 1);
  memset(out, 0, (size_t)len);
  free(out);
  return r;
}

static int run_helper(reg_client *c, const char *name, const char *cfg) {
  char prog[128], *path, *out = NULL;
  int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, r;
  size_t len = 0;
  vmctr__child ch = VMCTR__CHILD_INIT;
  cJSON *j = NULL;
  if (!*name || strpbrk(name, "/ "))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: bad credential helper name", cfg);
  snprintf(prog, sizeof(prog), "docker-credential-%s", name);
  if (!(path = vmctr__find_executable(prog))) {
    return vmctr__err(VMCTR_ENOENT, 0, "%s names the credential helper %s, which is not on PATH",
                      cfg, prog);
  }
  if (pipe2(in_p, O_CLOEXEC) < 0 || pipe2(out_p, O_CLOEXEC) < 0) {
    r = vmctr__err_os(errno, "credential helper %s", prog);
    goto out;
  }
  {
    char *argv[] = {prog, "get", NULL};
    vmctr__child_fd fds[] = {{in_p[0], 0}, {out_p[1], 1}};
    if ((r = vmctr__child_spawn(&ch, "credential-helper", path, argv, NULL, fds, 2)) < 0)
      goto out;
  }
  close(in_p[0]);
  close(out_p[1]);
  in_p[0] = out_p[1] = -1;
  {
    const char *srv = server_key(c);
    ssize_t w = write(in_p[1], srv, strlen(srv));
    (void)w;
    close(in_p[1]);
    in_p[1] = -1;
  }
  if (!(out = malloc(HELPER_OUT_MAX + 1))) {
    r = vmctr__err_nomem();
    goto out;
  }
  for (;;) {
    struct pollfd p = {out_p[0], POLLIN, 0};
    int k = poll(&p, 1, HELPER_TIMEOUT_MS);
    if (k == 0) {
      r = vmctr__err(VMCTR_ETIMEDOUT, 0, "credential helper %s did not answer in %d s", prog,
                     HELPER_TIMEOUT_MS / 1000);
      goto out;
    }
    if (k < 0 && errno == EINTR)
      continue;
    ssize_t got = read(out_p[0], out + len, HELPER_OUT_MAX - len);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    len += (size_t)got;
    if (len == HELPER_OUT_MAX)
      break;
  }
  out[len] = '\0';
  if ((r = vmctr__child_wait(&ch, HELPER_TIMEOUT_MS)) < 0)
    goto out;
  if (ch.status != 0) {
    /* "credentials not found" and the like: pull anonymously. */
    vmctr__log(VMCTR_LOG_DEBUG, "registry", "%s has no credentials for %s (exit %d)", prog,
               c->ref.domain, ch.status);
    r = 0;
    goto out;
  }
  if (vmctr__json_parse(out, len, prog, &j) < 0) {
    r = vmctr__err(VMCTR_EPARSE, 0, "credential helper %s answered something that is not JSON",
                   prog);
    goto out;
  }
  const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "Username");
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "Secret");
  if (!cJSON_IsString(u) || !cJSON_IsString(s)) {
    r = vmctr__err(VMCTR_EPARSE, 0, "credential helper %s answered without Username and Secret",
                   prog);
    goto out;
  }
  r = set_creds(c, u->valuestring, s->valuestring);
out:
  if (in_p[0] >= 0)
    close(in_p[0]);
  if (in_p[1] >= 0)
    close(in_p[1]);
  if (out_p[0] >= 0)
    close(out_p[0]);
  if (out_p[1] >= 0)
    close(out_p[1]);
  vmctr__child_release(&ch);
  if (out) {
    memset(out, 0, len);
    free(out);
  }
  cJSON_Delete(j);
  free(path);
  return r;
}

static char *env_join(const char *var, const char *rel) {
  const char *v = getenv(var);
  size_t n = strlen(v) + strlen(rel) + 2;
  char *p = malloc(n);
  if (p)
    snprintf(p, n, "%s/%s", v, rel);
  return p;
}

int reg_creds_load(reg_client *c) {
  char *path = NULL, *text = NULL;
  size_t len;
  cJSON *j = NULL;
  int r = 0;
  const cJSON *helpers, *store, *auths, *e;
  if (c->o.docker_config) {
    path = vmctr__strdup(c->o.docker_config);
  } else if (getenv("DOCKER_CONFIG")) {
    path = env_join("DOCKER_CONFIG", "config.json");
  } else if (getenv("HOME")) {
    path = env_join("HOME", ".docker/config.json");
  }
  if (!path)
    return 0;
  if (access(path, F_OK) < 0) {
    free(path);
    return 0;
  }
  if ((r = vmctr__read_file_regular(path, CONFIG_MAX, &text, &len)) < 0 ||
      (r = vmctr__json_parse(text, len, path, &j)) < 0)
    goto out;
  helpers = cJSON_GetObjectItemCaseSensitive(j, "credHelpers");
  cJSON_ArrayForEach(e, helpers) {
    if (cJSON_IsString(e) && key_matches(c, e->string)) {
      r = run_helper(c, e->valuestring, path);
      goto out;
    }
  }
  store = cJSON_GetObjectItemCaseSensitive(j, "credsStore");
  if (cJSON_IsString(store) && *store->valuestring) {
    r = run_helper(c, store->valuestring, path);
    goto out;
  }
  auths = cJSON_GetObjectItemCaseSensitive(j, "auths");
  cJSON_ArrayForEach(e, auths) {
    if (!key_matches(c, e->string))
      continue;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "auth");
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "username");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "password");
    if (cJSON_IsString(a) && *a->valuestring)
      r = from_auth(c, a->valuestring, path);
    else if (cJSON_IsString(u) && cJSON_IsString(p))
      r = set_creds(c, u->valuestring, p->valuestring);
    goto out;
  }
out:
  if (text) {
    memset(text, 0, len);
    free(text);
  }
  cJSON_Delete(j);
  free(path);
  return r;
}
