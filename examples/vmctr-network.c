/* SPDX-License-Identifier: MIT */
/* vmctr-network: manage stored networks from the command line.
 *
 *   vmctr-network [--state-dir DIR] create NAME --mode MODE [--subnet CIDR]
 *                 [--gateway IP] [--mtu N] [--dns IP]... [--nat auto|passt|user]
 *   vmctr-network [--state-dir DIR] ls
 *   vmctr-network [--state-dir DIR] inspect NAME
 *   vmctr-network [--state-dir DIR] rm NAME
 *
 * MODE is shared, host-only, isolated or bridged:IFNAME. The state
 * directory is --state-dir, else $VMCTR_STATE_DIR, else the library's
 * per-user default.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmctr.h>

static void usage(FILE *f) {
  fputs("usage: vmctr-network [--state-dir DIR] create NAME --mode MODE [--subnet CIDR]\n"
        "                     [--gateway IP] [--mtu N] [--dns IP]... [--nat auto|passt|user]\n"
        "       vmctr-network [--state-dir DIR] ls | inspect NAME | rm NAME\n"
        "\n"
        "MODE: shared, host-only, isolated or bridged:IFNAME.\n"
        "--nat (isolated only): passt, QEMU's user-mode network, or auto (passt when installed).\n"
        "The state directory defaults to $VMCTR_STATE_DIR, else the library's default.\n",
        f);
}

static int fail(const char *what, int r) {
  fprintf(stderr, "vmctr-network: %s: %s (%s)\n", what, vmctr_error_last()->message,
          vmctr_strerror(r));
  return 1;
}

static const char *mode_name(uint32_t m) {
  switch (m) {
  case VMCTR_NETWORK_ISOLATED_NAT: return "isolated";
  case VMCTR_NETWORK_SHARED: return "shared";
  case VMCTR_NETWORK_HOST_ONLY: return "host-only";
  case VMCTR_NETWORK_BRIDGED: return "bridged";
  default: return "?";
  }
}

static int create(const char *state, int argc, char **argv) {
  const char *name = argv[0], *mode = NULL, *ifname = NULL;
  vmctr_network *n = NULL;
  uint32_t m;
  int r;
  /* The mode first: every other option applies to the object it makes. */
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], "--mode") == 0)
      mode = argv[i + 1];
  if (!mode) {
    fputs("vmctr-network: create needs --mode\n", stderr);
    return 2;
  }
  if (strcmp(mode, "shared") == 0)
    m = VMCTR_NETWORK_SHARED;
  else if (strcmp(mode, "host-only") == 0)
    m = VMCTR_NETWORK_HOST_ONLY;
  else if (strcmp(mode, "isolated") == 0)
    m = VMCTR_NETWORK_ISOLATED_NAT;
  else if (strncmp(mode, "bridged:", 8) == 0) {
    m = VMCTR_NETWORK_BRIDGED;
    ifname = mode + 8;
  } else {
    fprintf(stderr, "vmctr-network: unknown mode %s\n", mode);
    return 2;
  }
  if ((r = vmctr_network_new(&n, name, m)) < 0)
    return fail("create", r);
  if (ifname && (r = vmctr_network_set_host_interface(n, ifname)) < 0)
    goto fail;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end;
    if (!v) {
      fprintf(stderr, "vmctr-network: %s needs a value\n", a);
      vmctr_network_free(n);
      return 2;
    }
    if (strcmp(a, "--mode") == 0)
      r = 0;
    else if (strcmp(a, "--subnet") == 0)
      r = vmctr_network_set_subnet(n, v);
    else if (strcmp(a, "--gateway") == 0)
      r = vmctr_network_set_gateway(n, v);
    else if (strcmp(a, "--dns") == 0)
      r = vmctr_network_add_dns_server(n, v);
    else if (strcmp(a, "--nat") == 0) {
      uint32_t nat = strcmp(v, "passt") == 0 ? VMCTR_NETWORK_NAT_PASST
                     : strcmp(v, "user") == 0 ? VMCTR_NETWORK_NAT_USER
                     : strcmp(v, "auto") == 0 ? VMCTR_NETWORK_NAT_AUTO : UINT32_MAX;
      if (nat == UINT32_MAX) {
        fprintf(stderr, "vmctr-network: --nat %s: give auto, passt or user\n", v);
        vmctr_network_free(n);
        return 2;
      }
      r = vmctr_network_set_nat(n, nat);
    }
    else if (strcmp(a, "--mtu") == 0) {
      unsigned long mtu = strtoul(v, &end, 10);
      if (!*v || *end || mtu > UINT32_MAX) {
        fprintf(stderr, "vmctr-network: --mtu %s is not a number\n", v);
        vmctr_network_free(n);
        return 2;
      }
      r = vmctr_network_set_mtu(n, (uint32_t)mtu);
    } else {
      fprintf(stderr, "vmctr-network: unknown option %s\n", a);
      vmctr_network_free(n);
      return 2;
    }
    if (r < 0)
      goto fail;
    i++;
  }
  if ((r = vmctr_network_create(state, n)) < 0)
    goto fail;
  vmctr_network_free(n);
  return 0;
fail:
  vmctr_network_free(n);
  return fail("create", r);
}

static int list(const char *state) {
  char **names = NULL;
  int r = vmctr_network_list(state, &names);
  if (r < 0)
    return fail("ls", r);
  for (char **p = names; *p; p++) {
    vmctr_network *n = NULL;
    if ((r = vmctr_network_open(&n, state, *p)) < 0) {
      /* One unreadable definition does not hide the others. */
      printf("%-32s (unreadable: %s)\n", *p, vmctr_error_last()->message);
      continue;
    }
    printf("%-32s %-9s %-18s %s\n", *p, mode_name(vmctr_network_mode(n)),
           vmctr_network_subnet(n), vmctr_network_gateway(n));
    vmctr_network_free(n);
  }
  vmctr_strv_free(names);
  return 0;
}

static int inspect(const char *state, const char *name) {
  vmctr_network *n = NULL;
  char *json = NULL;
  int r;
  if ((r = vmctr_network_open(&n, state, name)) < 0)
    return fail("inspect", r);
  r = vmctr_network_to_json(n, &json);
  vmctr_network_free(n);
  if (r < 0)
    return fail("inspect", r);
  printf("%s\n", json);
  vmctr_free(json);
  return 0;
}

int main(int argc, char **argv) {
  const char *state = getenv("VMCTR_STATE_DIR");
  int i = 1;
  if (state && !*state)
    state = NULL;
  if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  if (argc > 2 && strcmp(argv[1], "--state-dir") == 0) {
    state = argv[2];
    i = 3;
  }
  if (i >= argc) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[i], "create") == 0 && i + 1 < argc)
    return create(state, argc - i - 1, argv + i + 1);
  if (strcmp(argv[i], "ls") == 0 && i + 1 == argc)
    return list(state);
  if (strcmp(argv[i], "inspect") == 0 && i + 2 == argc)
    return inspect(state, argv[i + 1]);
  if (strcmp(argv[i], "rm") == 0 && i + 2 == argc) {
    int r = vmctr_network_remove(state, argv[i + 1]);
    return r < 0 ? fail("rm", r) : 0;
  }
  usage(stderr);
  return 2;
}
