/* SPDX-License-Identifier: MIT */
/* Reference parsing. The grammar is the one of the distribution project's
 * reference package, which Docker and containerd share:
 *   name       := [domain '/'] component ('/' component)*
 *   domain     := host [':' port]   host: labels of [A-Za-z0-9-] joined by '.', or [v6]
 *   component  := [a-z0-9]+ (separator [a-z0-9]+)*   separator: '.', '_', '__', '-'+
 *   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest     := 'sha256:' 64 lowercase hex (the only algorithm the store keeps)
 * The first component is a domain when it holds '.' or ':' or is "localhost". */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "image/registry/ref.h"

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

static bool valid_component(const char *s, size_t n) {
  size_t i = 0;
  if (!n || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
    return false;
  while (i < n) {
    if (is_lower_alnum(s[i])) {
      i++;
      continue;
    }
    /* A separator: ".", "_", "__" or a run of "-", then an alnum. */
    size_t j = i;
    if (s[i] == '.')
      j++;
    else if (s[i] == '_')
      j += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
    else if (s[i] == '-')
      while (j < n && s[j] == '-')
        j++;
    else
      return false;
    if (j >= n || !is_lower_alnum(s[j]))
      return false;
    i = j;
  }
  return true;
}

static bool valid_domain(const char *s, size_t n) {
  size_t i = 0, host_end = n;
  const char *colon;
  if (!n)
    return false;
  if (s[0] == '[') { /* an IPv6 literal */
    const char *close = memchr(s, ']', n);
    if (!close || close == s + 1)
      return false;
    for (const char *p = s + 1; p < close; p++)
      if (!isxdigit((unsigned char)*p) && *p != ':')
        return false;
    i = (size_t)(close - s) + 1;
    if (i == n)
      return true;
    if (s[i] != ':')
      return false;
    host_end = i;
  } else {
    colon = memchr(s, ':', n);
    if (colon)
      host_end = (size_t)(colon - s);
    /* labels */
    size_t label = 0;
    for (i = 0; i < host_end; i++) {
      char c = s[i];
      if (c == '.') {
        if (!label || s[i - 1] == '-')
          return false;
        label = 0;
      } else if (isalnum((unsigned char)c) || (c == '-' && label)) {
        label++;
      } else {
        return false;
      }
    }
    if (!label || s[host_end - 1] == '-')
      return false;
  }
  if (host_end < n) { /* ":port" */
    size_t digits = n - host_end - 1;
    if (!digits || digits > 5)
      return false;
    for (i = host_end + 1; i < n; i++)
      if (!isdigit((unsigned char)s[i]))
        return false;
  }
  return true;
}

static bool valid_tag(const char *s, size_t n) {
  if (!n || n > 128 || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
      return false;
  return true;
}

static int bad(const char *s, const char *why) {
  return vmctr__err(VMCTR_EINVAL, 0, "invalid image reference \"%.300s\": %s", s, why);
}

int vmctr__ref_parse(const char *s, vmctr__ref *r) {
  const char *at, *name_end, *slash, *rest, *p;
  size_t name_len, dlen;
  memset(r, 0, sizeof(*r));
  if (!s || !*s)
    return bad(s ? s : "", "it is empty");
  at = strchr(s, '@');
  name_end = at ? at : s + strlen(s);
  if (at) {
    const char *d = at + 1;
    if (strncmp(d, "sha256:", 7) != 0)
      return bad(s, "the digest must be sha256:<64 hex digits> (the only algorithm supported)");
    if (strlen(d) != 71)
      return bad(s, "the digest must have 64 hex digits");
    for (p = d + 7; *p; p++)
      if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
        return bad(s, "the digest must have 64 lowercase hex digits");
    memcpy(r->digest, d, 72);
  }
  /* The domain, if the first component looks like one. */
  slash = memchr(s, '/', (size_t)(name_end - s));
  if (slash) {
    dlen = (size_t)(slash - s);
    bool is_domain = memchr(s, '.', dlen) || memchr(s, ':', dlen) ||
                     (dlen == 9 && memcmp(s, "localhost", 9) == 0) || s[0] == '[';
    for (size_t i = 0; !is_domain && i < dlen; i++)
      is_domain = isupper((unsigned char)s[i]);
    if (is_domain) {
      if (!valid_domain(s, dlen))
        return bad(s, "the registry host is not a valid host[:port]");
      if (dlen > VMCTR__REF_MAX)
        return bad(s, "the name is longer than 255 characters");
      memcpy(r->domain, s, dlen);
      rest = slash + 1;
    } else {
      rest = s;
    }
  } else {
    rest = s;
  }
  if (!r->domain[0] || strcmp(r->domain, "index.docker.io") == 0)
    snprintf(r->domain, sizeof(r->domain), "%s", VMCTR__REF_DEFAULT_DOMAIN);
  /* The tag: after the last ':' of the path part (a ':' before a '/' was a port). */
  name_len = (size_t)(name_end - rest);
  for (p = name_end; p > rest && p[-1] != ':' && p[-1] != '/'; p--)
    ;
  if (p > rest && p[-1] == ':') {
    size_t tlen = (size_t)(name_end - p);
    if (!valid_tag(p, tlen))
      return bad(s, "the tag must be 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'");
    memcpy(r->tag, p, tlen);
    name_len = (size_t)(p - 1 - rest);
  }
  if (!name_len)
    return bad(s, "the repository name is empty");
  /* The path's components. */
  for (p = rest; p < rest + name_len;) {
    const char *e = memchr(p, '/', (size_t)(rest + name_len - p));
    size_t n = e ? (size_t)(e - p) : (size_t)(rest + name_len - p);
    for (size_t i = 0; i < n; i++)
      if (isupper((unsigned char)p[i]))
        return bad(s, "the repository name must be lowercase");
    if (!valid_component(p, n))
      return bad(s, "each path component must be lowercase letters and digits, joined by '.', "
                    "'_', '__' or '-'");
    p += n + (e ? 1 : 0);
    if (e && p == rest + name_len)
      return bad(s, "the repository name ends with '/'");
  }
  {
    bool library = strcmp(r->domain, VMCTR__REF_DEFAULT_DOMAIN) == 0 &&
                   !memchr(rest, '/', name_len);
    size_t need = (library ? 8 : 0) + name_len;
    if (strlen(r->domain) + 1 + need > VMCTR__REF_MAX)
      return bad(s, "the name is longer than 255 characters");
    snprintf(r->path, sizeof(r->path), "%s%.*s", library ? "library/" : "", (int)name_len, rest);
  }
  if (!r->tag[0] && !r->digest[0])
    memcpy(r->tag, "latest", 7);
  return 0;
}

bool vmctr__ref_format(const vmctr__ref *r, char *out, size_t cap) {
  int n = snprintf(out, cap, "%s/%s%s%s%s%s", r->domain, r->path, r->tag[0] ? ":" : "", r->tag,
                   r->digest[0] ? "@" : "", r->digest);
  return n >= 0 && (size_t)n < cap;
}

const char *vmctr__ref_api_host(const vmctr__ref *r) {
  return strcmp(r->domain, VMCTR__REF_DEFAULT_DOMAIN) == 0 ? "registry-1.docker.io" : r->domain;
}
