/* SPDX-License-Identifier: MIT */
/*
 * The firewall of a shared or host-only network: one nftables table
 * "ip vmctr-<id>", rewritten whole in one transaction by every sync, so
 * the kernel never holds half a rule set (doc/network-linux.md explains
 * each rule).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "net/host.h"

#define NFT_LOG "net"

static void fmt_ip(uint32_t a, char out[16]) {
  snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xffu, (a >> 8) & 0xffu, a & 0xffu);
}

/* Whether this thread has CAP_NET_ADMIN in its effective set. libnftables
 * prints to stderr when the kernel refuses it, so ask first; a namespace
 * that only the kernel knows we may not touch still ends in the error
 * buffer's "Operation not permitted". */
static int have_net_admin(void) {
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &hdr, d) != 0)
    return 1; /* let the kernel decide */
  return (d[CAP_NET_ADMIN / 32].effective >> (CAP_NET_ADMIN % 32)) & 1u;
}

/* Run script in one transaction; output (may be NULL) gets a copy of what
 * nft printed. */
static int nft_run(const char *script, uint32_t mode, const char *what, char **output) {
  if (!have_net_admin())
    return vmctr__host_net_noperm(mode, EPERM);
  struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx)
    return vmctr__err_nomem();
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  errno = 0;
  int rc = nft_run_cmd_from_buffer(ctx, script);
  int saved = errno;
  int r = 0;
  if (rc != 0) {
    const char *msg = nft_ctx_get_error_buffer(ctx);
    if (!msg)
      msg = "";
    if (saved == EPERM || strstr(msg, "Operation not permitted"))
      r = vmctr__host_net_noperm(mode, EPERM);
    else {
      /* nft's message ends with the offending line; keep its first line. */
      size_t n = strcspn(msg, "\n");
      r = vmctr__err(VMCTR_EIO, saved, "nftables refused to %s: %.*s", what, (int)n, msg);
    }
  } else if (output) {
    const char *out = nft_ctx_get_output_buffer(ctx);
    *output = vmctr__strdup(out ? out : "");
    if (!*output)
      r = VMCTR_ENOMEM;
  }
  nft_ctx_free(ctx);
  return r;
}

/* "add table" first makes the "delete table" valid whether or not the
 * table exists; both sit in the same transaction as what follows. */
static void table_reset(vmctr__strbuf *sb, const char *id) {
  vmctr__sb_printf(sb, "add table ip " VMCTR__HOSTNET_TABLE_PREFIX "%s\n", id);
  vmctr__sb_printf(sb, "delete table ip " VMCTR__HOSTNET_TABLE_PREFIX "%s\n", id);
}

int vmctr__host_nft_delete(const char *id) {
  if (!vmctr__host_net_id_ok(id))
    return vmctr__err(VMCTR_EINVAL, 0, "network id \"%s\" is not 8 hex characters", id ? id : "");
  vmctr__strbuf sb = {0};
  table_reset(&sb, id);
  char *script = vmctr__sb_steal(&sb);
  if (!script)
    return VMCTR_ENOMEM;
  int r = nft_run(script, 0, "delete a network's table", NULL);
  free(script);
  return r;
}

int vmctr__host_nft_ids(char (*ids)[VMCTR__HOSTNET_ID_LEN + 1], size_t max) {
  char *out = NULL;
  int r = nft_run("list tables ip\n", 0, "list tables", &out);
  if (r < 0)
    return r;
  size_t n = 0;
  const char *want = "table ip " VMCTR__HOSTNET_TABLE_PREFIX;
  for (char *line = out, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    if (strncmp(line, want, strlen(want)) != 0)
      continue;
    const char *id = line + strlen(want);
    if (!vmctr__host_net_id_ok(id) || n >= max)
      continue;
    memcpy(ids[n++], id, VMCTR__HOSTNET_ID_LEN + 1);
  }
  free(out);
  return (int)n;
}

static const char *proto_name(uint32_t proto) {
  return proto == VMCTR__NET_TCP ? "tcp" : proto == VMCTR__NET_UDP ? "udp" : NULL;
}

/* The match of a forward's host side: its address, or any local one. */
static void host_match(vmctr__strbuf *sb, const vmctr__host_forward *f) {
  char ip[16];
  if (f->port.host_ip) {
    fmt_ip(f->port.host_ip, ip);
    vmctr__sb_printf(sb, "ip daddr %s ", ip);
  } else {
    vmctr__sb_puts(sb, "fib daddr type local ");
  }
  vmctr__sb_printf(sb, "%s dport %u", proto_name(f->port.proto), (unsigned)f->port.host_port);
}

static void build_table(vmctr__strbuf *sb, const vmctr__host_net *hn,
                        const vmctr__host_forward *fw, size_t nfw) {
  char br[32], net[16], gip[16];
  snprintf(br, sizeof br, "\"" VMCTR__HOSTNET_BRIDGE_PREFIX "%s\"", hn->id);
  fmt_ip(hn->subnet, net);

  vmctr__sb_printf(sb, "table ip " VMCTR__HOSTNET_TABLE_PREFIX "%s {\n", hn->id);
  /* The bridge has route_localnet (for DNAT of the host's loopback
   * connections), so guests must never reach 127/8 through it; this runs
   * before conntrack undoes NAT, so replies (to the gateway) still pass. */
  vmctr__sb_printf(sb,
      "  chain guard {\n"
      "    type filter hook prerouting priority -150; policy accept;\n"
      "    iifname %s ip daddr 127.0.0.0/8 drop\n"
      "    iifname %s ip saddr 127.0.0.0/8 drop\n"
      "  }\n", br, br);

  vmctr__sb_puts(sb, "  chain prerouting {\n"
                     "    type nat hook prerouting priority dstnat; policy accept;\n");
  for (size_t i = 0; i < nfw; i++) {
    fmt_ip(fw[i].guest_ip, gip);
    vmctr__sb_printf(sb, "    iifname != %s ", br);
    host_match(sb, &fw[i]);
    vmctr__sb_printf(sb, " dnat to %s:%u\n", gip, (unsigned)fw[i].port.guest_port);
  }
  vmctr__sb_puts(sb, "  }\n"
                     "  chain output {\n"
                     "    type nat hook output priority -100; policy accept;\n");
  for (size_t i = 0; i < nfw; i++) {
    fmt_ip(fw[i].guest_ip, gip);
    vmctr__sb_puts(sb, "    ");
    host_match(sb, &fw[i]);
    vmctr__sb_printf(sb, " dnat to %s:%u\n", gip, (unsigned)fw[i].port.guest_port);
  }
  vmctr__sb_puts(sb, "  }\n"
                     "  chain postrouting {\n"
                     "    type nat hook postrouting priority srcnat; policy accept;\n");
  if (hn->mode == VMCTR__HOSTNET_SHARED)
    vmctr__sb_printf(sb, "    ip saddr %s/%u oifname != %s masquerade\n", net,
                     (unsigned)hn->prefix, br);
  /* A host connection to 127.0.0.1 that output DNATed: the guest could not
   * answer a loopback source. */
  vmctr__sb_printf(sb, "    oifname %s ip saddr 127.0.0.0/8 ct status dnat masquerade\n", br);
  vmctr__sb_puts(sb, "  }\n");

  vmctr__sb_printf(sb,
      "  chain forward {\n"
      "    type filter hook forward priority filter; policy accept;\n"
      "    iifname != %s oifname %s ct state established,related accept\n"
      "    iifname %s oifname != %s ct state established,related accept\n", br, br, br, br);
  for (size_t i = 0; i < nfw; i++) {
    fmt_ip(fw[i].guest_ip, gip);
    vmctr__sb_printf(sb, "    iifname != %s oifname %s ip daddr %s %s dport %u ct status dnat accept\n",
                     br, br, gip, proto_name(fw[i].port.proto), (unsigned)fw[i].port.guest_port);
  }
  if (hn->mode == VMCTR__HOSTNET_SHARED)
    vmctr__sb_printf(sb, "    iifname %s oifname != %s accept\n", br, br);
  vmctr__sb_printf(sb,
      "    iifname %s oifname != %s drop\n"
      "    iifname != %s oifname %s drop\n"
      "  }\n"
      "}\n", br, br, br, br);
}

static int check_forwards(const vmctr__host_net *hn, const vmctr__host_forward *fw, size_t nfw) {
  if (nfw && !fw)
    return vmctr__err(VMCTR_EINVAL, 0, "forwards missing");
  if (hn->mode == VMCTR__HOSTNET_BRIDGED && nfw)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "a bridged network publishes no ports: its guests have their own "
                      "addresses on the host's network");
  for (size_t i = 0; i < nfw; i++) {
    const vmctr__net_port *p = &fw[i].port;
    if (!proto_name(p->proto) || !p->host_port || !p->guest_port || !fw[i].guest_ip)
      return vmctr__err(VMCTR_EINVAL, 0,
                        "forward %zu: needs tcp or udp, both ports and the guest address", i);
    uint32_t mask = hn->prefix ? ~0u << (32 - hn->prefix) : 0;
    if ((fw[i].guest_ip & mask) != (hn->subnet & mask))
      return vmctr__err(VMCTR_EINVAL, 0, "forward %zu: the guest address is outside the network", i);
  }
  return 0;
}

int vmctr__host_net_sync(const vmctr__host_net *hn, const vmctr__host_forward *fw, size_t nfw) {
  if (!hn || !vmctr__host_net_id_ok(hn->id) || !vmctr__host_net_mode_name(hn->mode))
    return vmctr__err(VMCTR_EINVAL, 0, "host network: needs a known mode and an 8-hex-char id");
  if (hn->mode != VMCTR__HOSTNET_BRIDGED && (hn->prefix < 1 || hn->prefix > 30))
    return vmctr__err(VMCTR_EINVAL, 0, "host network: prefix %u is not 1..30", (unsigned)hn->prefix);
  int r = check_forwards(hn, fw, nfw);
  if (r < 0)
    return r;
  /* A bridged network's traffic never crosses the host's IP layer. */
  if (hn->mode == VMCTR__HOSTNET_BRIDGED)
    return vmctr__host_nft_delete(hn->id);

  vmctr__strbuf sb = {0};
  table_reset(&sb, hn->id);
  build_table(&sb, hn, fw, nfw);
  char *script = vmctr__sb_steal(&sb);
  if (!script)
    return VMCTR_ENOMEM;
  vmctr__log(VMCTR_LOG_DEBUG, NFT_LOG, "network %s: firewall with %zu forwards", hn->id, nfw);
  r = nft_run(script, hn->mode, "replace a network's firewall", NULL);
  free(script);
  if (r < 0)
    return vmctr__err_prefix("network firewall");
  /* Only now that the guard chain is in place may the bridge route 127/8. */
  if (nfw) {
    char path[96];
    snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/" VMCTR__HOSTNET_BRIDGE_PREFIX "%s/route_localnet",
             hn->id);
    FILE *f = fopen(path, "we");
    if (!f)
      return errno == EACCES || errno == EPERM ? vmctr__host_net_noperm(hn->mode, errno)
                                               : vmctr__err_os(errno, "%s", path);
    int bad = fputs("1\n", f) < 0;
    if (fclose(f) != 0 || bad)
      return vmctr__err_os(errno ? errno : EIO, "%s", path);
  }
  return 0;
}
