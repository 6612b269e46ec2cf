/* SPDX-License-Identifier: MIT */
/* Image references, parsed as Docker and containerd parse them (see
 * doc/registry.md): [DOMAIN/]PATH[:TAG][@DIGEST]. The store names images by
 * the normalized form, so a pulled "busybox:1.36" and an imported
 * "--name mybox:1" are the same kind of name. */
#ifndef VMCTR_IMAGE_REGISTRY_REF_H
#define VMCTR_IMAGE_REGISTRY_REF_H

#include <stdbool.h>
#include <stddef.h>

#define VMCTR__REF_DEFAULT_DOMAIN "docker.io"
#define VMCTR__REF_MAX 255 /* domain + "/" + path, as Docker limits a name */

typedef struct vmctr__ref {
  char domain[VMCTR__REF_MAX + 1]; /* "docker.io", "localhost:5000", "127.0.0.1:5000" */
  char path[VMCTR__REF_MAX + 1];   /* "library/busybox", "ns/name" */
  char tag[129];                   /* "" when none */
  char digest[72];                 /* "sha256:<hex>", "" when none */
} vmctr__ref;

/* Parse s and fill r, with Docker's defaults: no domain means docker.io
 * ("index.docker.io" is the same), a one-component path on docker.io gets
 * "library/", and neither tag nor digest means tag "latest". On failure
 * records VMCTR_EINVAL with a message naming s and what is wrong. */
int vmctr__ref_parse(const char *s, vmctr__ref *r);
/* The normalized form "domain/path[:tag][@digest]" into out (cap bytes);
 * false when it does not fit. */
bool vmctr__ref_format(const vmctr__ref *r, char *out, size_t cap);
/* The host to talk to for r's domain: "registry-1.docker.io" for docker.io,
 * else the domain itself. */
const char *vmctr__ref_api_host(const vmctr__ref *r);

#endif
