/* SPDX-License-Identifier: MIT */
/* Networks as JSON. The text is untrusted (a stored definition may have
 * been edited by hand), so unknown keys are refused, as for mounts: a
 * misspelt "mode" silently ignored would attach containers to a network
 * with a reach they were not meant to have. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "core/util.h"
#include "net/addr.h"
#include "net/net-priv.h"

#define NETWORK_JSON_VERSION 1u

int vmctr_network_to_json(const vmctr_network *n, char **json) {
  cJSON *o, *dns;
  char *text;
  bool ok;
  if (!n || !json)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_network_to_json: %s is NULL", n ? "json" : "n");
  if (!(o = cJSON_CreateObject()))
    return vmctr__err_nomem();
  ok = vmctr__json_add_number(o, "version", NETWORK_JSON_VERSION) &&
       vmctr__json_add_string(o, "name", n->name) &&
       vmctr__json_add_string(o, "mode", vmctr__network_mode_name(n->mode)) &&
       vmctr__json_add_string(o, "subnet", n->subnet_str) &&
       vmctr__json_add_string(o, "gateway", n->gateway_str) &&
       vmctr__json_add_number(o, "mtu", n->mtu) &&
       (dns = cJSON_AddArrayToObject(o, "dns")) != NULL;
  for (size_t i = 0; ok && i < n->ndns; i++) {
    cJSON *s = cJSON_CreateString(n->dns_str[i]);
    ok = s && cJSON_AddItemToArray(dns, s);
  }
  if (ok && n->mode == VMCTR_NETWORK_BRIDGED && n->host_if[0])
    ok = vmctr__json_add_string(o, "host_interface", n->host_if) != NULL;
  if (ok && n->mode == VMCTR_NETWORK_ISOLATED_NAT)
    ok = vmctr__json_add_string(o, "nat", vmctr__network_nat_name(n->nat)) != NULL;
  if (!ok) {
    cJSON_Delete(o);
    return vmctr__err_nomem();
  }
  text = vmctr__json_print(o, true);
  cJSON_Delete(o);
  if (!text)
    return VMCTR_ENOMEM;
  *json = text;
  return 0;
}

/* A setter's refusal as a parse error that names the key. */
static int key_error(int r, const char *what, const char *key) {
  char msg[512];
  if (r == VMCTR_ENOMEM)
    return r;
  snprintf(msg, sizeof(msg), "%s", vmctr_error_last()->message);
  return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"%s\": %s", what, key, msg);
}

static int get_string(const cJSON *o, const char *key, const char *what, bool required,
                      const char **out) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);
  *out = NULL;
  if (!item)
    return required ? vmctr__err(VMCTR_EPARSE, 0, "%s: key \"%s\" is missing", what, key) : 0;
  return vmctr__json_as_string(item, what, out);
}

static int parse_dns(vmctr_network *n, const cJSON *arr, const char *what) {
  const cJSON *e;
  uint32_t ip;
  size_t i = 0;
  int r;
  if (!cJSON_IsArray(arr))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"dns\": expected an array of strings, got %s",
                      what, vmctr__json_type_name(arr));
  n->ndns = 0;
  cJSON_ArrayForEach(e, arr) {
    if (!cJSON_IsString(e))
      return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"dns\": element %zu: expected a string, got %s",
                        what, i, vmctr__json_type_name(e));
    if ((r = vmctr__ip4_parse(e->valuestring, &ip)) < 0 ||
        (r = vmctr__network_add_dns_num(n, ip)) < 0)
      return key_error(r, what, "dns");
    i++;
  }
  return 0;
}

static const char *const known_keys[] = {"version", "name", "mode", "subnet", "gateway",
                                         "mtu", "dns", "host_interface", "nat"};

static int from_cjson(const cJSON *o, const char *what, vmctr_network **out) {
  const cJSON *item;
  vmctr_network *n = NULL;
  const char *name, *mode_s, *s;
  uint64_t v;
  uint32_t mode;
  int r;

  if (!cJSON_IsObject(o))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: expected a JSON object, got %s", what,
                      vmctr__json_type_name(o));
  cJSON_ArrayForEach(item, o) {
    size_t k = 0;
    while (k < VMCTR_ARRAY_SIZE(known_keys) && strcmp(item->string, known_keys[k]) != 0)
      k++;
    if (k == VMCTR_ARRAY_SIZE(known_keys))
      return vmctr__err(VMCTR_EPARSE, 0, "%s: unknown key \"%.64s\"", what, item->string);
  }
  if (!(item = cJSON_GetObjectItemCaseSensitive(o, "version")))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"version\" is missing", what);
  if ((r = vmctr__json_as_uint(item, what, UINT32_MAX, &v)) < 0)
    return r;
  if (v != NETWORK_JSON_VERSION)
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"version\": %llu is not a version this library "
                      "reads (%u)", what, (unsigned long long)v, NETWORK_JSON_VERSION);
  if ((r = get_string(o, "name", what, true, &name)) < 0 ||
      (r = get_string(o, "mode", what, true, &mode_s)) < 0)
    return r;
  if (!(mode = vmctr__network_mode_from_name(mode_s)))
    return vmctr__err(VMCTR_EPARSE, 0, "%s: key \"mode\": unknown value \"%.32s\"; use "
                      "\"isolated\", \"shared\", \"host-only\" or \"bridged\"", what, mode_s);
  if ((r = vmctr_network_new(&n, name, mode)) < 0)
    return key_error(r, what, "name");

  if ((r = get_string(o, "subnet", what, false, &s)) < 0)
    goto fail;
  if (s && (r = vmctr_network_set_subnet(n, s)) < 0) {
    r = key_error(r, what, "subnet");
    goto fail;
  }
  if ((r = get_string(o, "gateway", what, false, &s)) < 0)
    goto fail;
  if (s && (r = vmctr_network_set_gateway(n, s)) < 0) {
    r = key_error(r, what, "gateway");
    goto fail;
  }
  if ((item = cJSON_GetObjectItemCaseSensitive(o, "mtu"))) {
    if ((r = vmctr__json_as_uint(item, what, UINT32_MAX, &v)) < 0)
      goto fail;
    if ((r = vmctr_network_set_mtu(n, (uint32_t)v)) < 0) {
      r = key_error(r, what, "mtu");
      goto fail;
    }
  }
  if ((item = cJSON_GetObjectItemCaseSensitive(o, "dns")) && (r = parse_dns(n, item, what)) < 0)
    goto fail;
  if ((r = get_string(o, "host_interface", what, false, &s)) < 0)
    goto fail;
  if (s && (r = vmctr_network_set_host_interface(n, s)) < 0) {
    r = key_error(r, what, "host_interface");
    goto fail;
  }
  if ((r = get_string(o, "nat", what, false, &s)) < 0)
    goto fail;
  if (s) {
    bool ok;
    uint32_t nat = vmctr__network_nat_from_name(s, &ok);
    if (!ok) {
      r = vmctr__err(VMCTR_EPARSE, 0, "%s: key \"nat\": unknown value \"%.32s\"; use \"auto\", "
                     "\"passt\" or \"user\"", what, s);
      goto fail;
    }
    if ((r = vmctr_network_set_nat(n, nat)) < 0) {
      r = key_error(r, what, "nat");
      goto fail;
    }
  }
  if ((r = vmctr__network_check_complete(n)) < 0) {
    r = key_error(r, what, "host_interface");
    goto fail;
  }
  *out = n;
  return 0;
fail:
  vmctr_network_free(n);
  return r;
}

int vmctr__network_from_text(vmctr_network **out, const char *text, size_t len, const char *what) {
  cJSON *root = NULL;
  int r;
  if (len > VMCTR_NETWORK_MAX_JSON)
    return vmctr__err(VMCTR_ETOOBIG, 0, "%s: %zu bytes, more than the %u allowed", what, len,
                      VMCTR_NETWORK_MAX_JSON);
  if ((r = vmctr__json_parse(text, len, what, &root)) < 0)
    return r;
  r = from_cjson(root, what, out);
  cJSON_Delete(root);
  return r;
}

int vmctr_network_from_json(vmctr_network **out, const char *json, size_t len) {
  if (!out || !json)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_network_from_json: %s is NULL",
                      out ? "json" : "out");
  return vmctr__network_from_text(out, json, len, "network JSON");
}
