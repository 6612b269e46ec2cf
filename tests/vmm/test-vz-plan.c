/* SPDX-License-Identifier: MIT */
/* The vz backend's plan (lib/vmm/vz/vz-plan.c), on every OS: representative
 * VM specs go through the C half of the Virtualization.framework translation,
 * and each case states the VZ configuration it must yield (device kinds,
 * caching and sync modes, share read-only flags, network attachments,
 * console and vsock ports, memory, nested virtualization and Rosetta), or
 * the error it must give. The expectations are the mapping of doc/vz.md,
 * written down independently of the code. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmctr.h"
#include "vmm/vz/vz-plan.h"

#define MIB (UINT64_C(1) << 20)

static char *no_args[] = {NULL};
static char *two_args[] = {"panic=-1", "quiet", NULL};

/* A Mac with Apple silicon, macOS 26, M3: everything offered. */
static const vmctr__vz_host full_host = {
    .nested_supported = true, .rosetta_installed = true, .vmnet_networks = true,
    .block_devices = true,
    .max_cpus = 8, .max_memory = 16384 * MIB};
/* An M1 on macOS 14: no nested virtualization, no vmnet networks, no Rosetta. */
static const vmctr__vz_host old_host = {.max_cpus = 8, .max_memory = 8192 * MIB};

static const vmctr__vm_disk disks_mixed[] = {
    {.path = "root.ext4", .read_only = true, .caching = VMCTR_MOUNT_CACHING_CACHED,
     .sync = VMCTR_MOUNT_SYNC_FSYNC, .serial = "vmctr0"},
    {.path = "data.ext4", .caching = VMCTR_MOUNT_CACHING_UNCACHED,
     .sync = VMCTR_MOUNT_SYNC_NONE, .serial = "vmctr1"},
    {.path = "log.ext4", .caching = VMCTR_MOUNT_CACHING_AUTO, .sync = VMCTR_MOUNT_SYNC_FULL,
     .serial = "vmctr2"},
    /* modes left 0: the library's default, cached + fsync */
    {.path = "dflt.ext4", .serial = "vmctr3"},
};
static const vmctr__vm_disk disk_missing[] = {{.path = "missing.ext4", .serial = "s"}};
static const vmctr__vm_disk disk_dir[] = {{.path = ".", .serial = "s"}};
static const vmctr__vm_disk disk_bad_caching[] = {{.path = "/a", .caching = 9, .serial = "s"}};
static const vmctr__vm_disk disk_long_serial[] = {
    {.path = "/a", .serial = "123456789012345678901"}};
static const vmctr__vm_disk disk_space_serial[] = {{.path = "/a", .serial = "a b"}};

static const vmctr__vm_share shares_mixed[] = {
    {.host_path = "/src", .tag = "vmctr0", .read_only = true, .cache = VMCTR_MOUNT_SHARE_CACHE_AUTO},
    {.host_path = "/out", .tag = "vmctr1", .read_only = false,
     .cache = VMCTR_MOUNT_SHARE_CACHE_ALWAYS},
};
static const vmctr__vm_share share_never[] = {
    {.host_path = "/src", .tag = "t", .cache = VMCTR_MOUNT_SHARE_CACHE_NEVER}};
static const vmctr__vm_share shares_dup_tag[] = {
    {.host_path = "/a", .tag = "t"}, {.host_path = "/b", .tag = "t"}};
static const vmctr__vm_share share_rosetta_tag[] = {
    {.host_path = "/a", .tag = VMCTR__VZ_ROSETTA_TAG}};

static const vmctr__net_port one_port[] = {
    {.proto = VMCTR__NET_TCP, .host_port = 8080, .guest_port = 80}};
static const vmctr__netdev nics_all[] = {
    {.kind = VMCTR__NETDEV_NAT, .mac = {0x02, 0, 0, 0, 0, 1}, .mtu = 1500,
     .guest_ip = 0xc0a8400f, .prefix = 24},
    {.kind = VMCTR__NETDEV_SHARED, .mac = {0x02, 0, 0, 0, 0, 2}, .mtu = 9000,
     .guest_ip = 0x0a580005, .prefix = 16, .gateway = 0x0a580001, .network = "shared0"},
    {.kind = VMCTR__NETDEV_HOST_ONLY, .mac = {0x02, 0, 0, 0, 0, 3}, .mtu = 1500,
     .guest_ip = 0xac10020a, .prefix = 28, .network = "hostnet"},
    {.kind = VMCTR__NETDEV_BRIDGED, .mac = {0x02, 0, 0, 0, 0, 4}, .mtu = 1500,
     .host_if = "en0", .network = "lan"},
};
static const vmctr__netdev nic_shared[] = {
    {.kind = VMCTR__NETDEV_SHARED, .mac = {0x02, 0, 0, 0, 0, 2}, .mtu = 1500,
     .guest_ip = 0x0a580005, .prefix = 24, .network = "shared0"}};
static const vmctr__netdev nic_host_only[] = {
    {.kind = VMCTR__NETDEV_HOST_ONLY, .mac = {0x02, 0, 0, 0, 0, 3}, .mtu = 1500,
     .guest_ip = 0xac10020a, .prefix = 28, .network = "hostnet"}};
static const vmctr__netdev nic_shared_gw[] = {
    {.kind = VMCTR__NETDEV_SHARED, .mac = {0x02, 0, 0, 0, 0, 2}, .mtu = 1500,
     .guest_ip = 0x0a580005, .prefix = 24, .gateway = 0x0a5800fe, .network = "shared0"}};
static const vmctr__netdev nic_shared_hostaddr[] = {
    {.kind = VMCTR__NETDEV_SHARED, .mac = {0x02, 0, 0, 0, 0, 2}, .mtu = 1500,
     .guest_ip = 0x0a580001, .prefix = 24, .network = "shared0"}};
static const vmctr__netdev nic_tap[] = {
    {.kind = VMCTR__NETDEV_TAP, .mac = {0x02, 0, 0, 0, 0, 5}, .mtu = 1500, .tap_fd = 3}};
static const vmctr__netdev nic_passt[] = {
    {.kind = VMCTR__NETDEV_NAT, .mac = {0x02, 0, 0, 0, 0, 6}, .mtu = 1500,
     .nat_impl = VMCTR__NAT_PASST}};
static const vmctr__netdev nic_nat_ports[] = {
    {.kind = VMCTR__NETDEV_NAT, .mac = {0x02, 0, 0, 0, 0, 7}, .mtu = 1500, .ports = one_port,
     .nports = 1}};
static const vmctr__netdev nic_nat_jumbo[] = {
    {.kind = VMCTR__NETDEV_NAT, .mac = {0x02, 0, 0, 0, 0, 8}, .mtu = 9000}};
static const vmctr__netdev nic_bridged_no_if[] = {
    {.kind = VMCTR__NETDEV_BRIDGED, .mac = {0x02, 0, 0, 0, 0, 9}, .mtu = 1500}};

typedef struct expect_disk {
  uint32_t caching, sync;
  bool ro;
  const char *id;
} expect_disk;
typedef struct expect_nic {
  uint32_t attachment;
  uint32_t subnet, mask, mtu;
  const char *network, *host_if;
} expect_nic;

typedef struct plan_case {
  const char *name;
  /* the spec's variable part over a base aarch64 spec */
  const vmctr__vm_disk *disks;
  size_t ndisks;
  const vmctr__vm_share *shares;
  size_t nshares;
  const vmctr__netdev *nics;
  size_t nnics;
  uint64_t memory;    /* 0: 512 MiB */
  uint32_t cpus;      /* 0: 2 */
  bool nested, rosetta;
  const char *arch;   /* NULL: aarch64 */
  int32_t accel;      /* 0: HVF */
  char **args;        /* NULL: two_args */
  const vmctr__vz_host *host;
  /* expected */
  int err;            /* 0: a plan */
  const char *err_has;
  const char *cmdline;
  uint64_t want_memory;
  bool want_nested, want_rosetta;
  expect_disk want_disks[4];
  bool want_share_ro[2];
  expect_nic want_nics[4];
} plan_case;

static const plan_case cases[] = {
    {.name = "minimal: console, entropy, vsock",
     .host = &full_host, .cmdline = "console=hvc0 panic=-1 quiet", .want_memory = 512 * MIB},
    {.name = "no kernel arguments: console only",
     .args = no_args, .host = &full_host, .cmdline = "console=hvc0", .want_memory = 512 * MIB},
    {.name = "memory rounds up to a whole MiB",
     .memory = 300 * MIB + 1, .host = &full_host, .cmdline = "console=hvc0 panic=-1 quiet",
     .want_memory = 301 * MIB},
    {.name = "memory of whole MiB stays",
     .memory = 1024 * MIB, .host = &full_host, .cmdline = "console=hvc0 panic=-1 quiet",
     .want_memory = 1024 * MIB},
    {.name = "memory above the Mac's limit",
     .memory = 9000 * MIB, .host = &old_host, .err = VMCTR_EINVAL, .err_has = "at most 8192 MiB"},
    {.name = "CPUs above the Mac's limit",
     .cpus = 9, .host = &old_host, .err = VMCTR_EINVAL, .err_has = "at most 8"},
    {.name = "block disks: modes one to one, default cached + fsync",
     .disks = disks_mixed, .ndisks = 4, .host = &full_host,
     .cmdline = "console=hvc0 panic=-1 quiet", .want_memory = 512 * MIB,
     .want_disks = {{VMCTR__VZ_CACHING_CACHED, VMCTR__VZ_SYNC_FSYNC, true, "vmctr0"},
                    {VMCTR__VZ_CACHING_UNCACHED, VMCTR__VZ_SYNC_NONE, false, "vmctr1"},
                    {VMCTR__VZ_CACHING_AUTOMATIC, VMCTR__VZ_SYNC_FULL, false, "vmctr2"},
                    {VMCTR__VZ_CACHING_CACHED, VMCTR__VZ_SYNC_FSYNC, false, "vmctr3"}}},
    {.name = "disk image that does not exist",
     .disks = disk_missing, .ndisks = 1, .host = &full_host, .err = VMCTR_ENOENT,
     .err_has = "missing.ext4"},
    {.name = "disk that is a directory",
     .disks = disk_dir, .ndisks = 1, .host = &full_host, .err = VMCTR_EINVAL,
     .err_has = "neither an image file nor a block device"},
    {.name = "unknown caching mode",
     .disks = disk_bad_caching, .ndisks = 1, .host = &full_host, .err = VMCTR_EINVAL,
     .err_has = "caching mode 9"},
    {.name = "disk identifier longer than VZ's 20 bytes",
     .disks = disk_long_serial, .ndisks = 1, .host = &full_host, .err = VMCTR_EINVAL,
     .err_has = "1..20 bytes"},
    {.name = "disk identifier with a space",
     .disks = disk_space_serial, .ndisks = 1, .host = &full_host, .err = VMCTR_EINVAL,
     .err_has = "printable ASCII"},
    {.name = "shares: read-only per share",
     .shares = shares_mixed, .nshares = 2, .host = &full_host,
     .cmdline = "console=hvc0 panic=-1 quiet", .want_memory = 512 * MIB,
     .want_share_ro = {true, false}},
    {.name = "share cache never cannot be kept",
     .shares = share_never, .nshares = 1, .host = &full_host, .err = VMCTR_EUNSUPPORTED,
     .err_has = "no cache setting"},
    {.name = "two shares, one tag",
     .shares = shares_dup_tag, .nshares = 2, .host = &full_host, .err = VMCTR_EINVAL,
     .err_has = "same tag"},
    {.name = "a share may not take Rosetta's tag",
     .shares = share_rosetta_tag, .nshares = 1, .host = &full_host, .err = VMCTR_EINVAL,
     .err_has = "reserved for Rosetta"},
    {.name = "network: NAT, shared, host-only, bridged",
     .nics = nics_all, .nnics = 4, .host = &full_host, .cmdline = "console=hvc0 panic=-1 quiet",
     .want_memory = 512 * MIB,
     .want_nics = {{VMCTR__VZ_ATTACH_NAT, 0, 0, 1500, NULL, NULL},
                   {VMCTR__VZ_ATTACH_VMNET_SHARED, 0x0a580000, 0xffff0000, 9000, "shared0", NULL},
                   {VMCTR__VZ_ATTACH_VMNET_HOST, 0xac100200, 0xfffffff0, 1500, "hostnet", NULL},
                   {VMCTR__VZ_ATTACH_BRIDGED, 0, 0, 1500, NULL, "en0"}}},
    {.name = "shared network before macOS 26",
     .nics = nic_shared, .nnics = 1, .host = &old_host, .err = VMCTR_EUNSUPPORTED,
     .err_has = "macOS 26"},
    {.name = "host-only network before macOS 26",
     .nics = nic_host_only, .nnics = 1, .host = &old_host, .err = VMCTR_EUNSUPPORTED,
     .err_has = "host-only networks need vmnet"},
    {.name = "vmnet gateway other than the subnet's first host",
     .nics = nic_shared_gw, .nnics = 1, .host = &full_host, .err = VMCTR_EUNSUPPORTED,
     .err_has = "the Mac itself"},
    {.name = "vmnet guest on the host's address",
     .nics = nic_shared_hostaddr, .nnics = 1, .host = &full_host, .err = VMCTR_EINVAL,
     .err_has = "vmnet reserves"},
    {.name = "tap NIC is Linux's",
     .nics = nic_tap, .nnics = 1, .host = &full_host, .err = VMCTR_EUNSUPPORTED,
     .err_has = "tap devices"},
    {.name = "passt is QEMU's",
     .nics = nic_passt, .nnics = 1, .host = &full_host, .err = VMCTR_EUNSUPPORTED,
     .err_has = "passt"},
    {.name = "VZ NAT publishes no ports",
     .nics = nic_nat_ports, .nnics = 1, .host = &full_host, .err = VMCTR_EUNSUPPORTED,
     .err_has = "cannot publish ports"},
    {.name = "NAT MTU above 1500",
     .nics = nic_nat_jumbo, .nnics = 1, .host = &full_host, .err = VMCTR_EUNSUPPORTED,
     .err_has = "MTU 9000"},
    {.name = "bridged without a host interface",
     .nics = nic_bridged_no_if, .nnics = 1, .host = &full_host, .err = VMCTR_EINVAL,
     .err_has = "host interface"},
    {.name = "nested virtualization where supported",
     .nested = true, .host = &full_host, .cmdline = "console=hvc0 panic=-1 quiet",
     .want_memory = 512 * MIB, .want_nested = true},
    {.name = "nested virtualization where not supported",
     .nested = true, .host = &old_host, .err = VMCTR_EUNSUPPORTED, .err_has = "M3"},
    {.name = "Rosetta where installed",
     .rosetta = true, .host = &full_host, .cmdline = "console=hvc0 panic=-1 quiet",
     .want_memory = 512 * MIB, .want_rosetta = true},
    {.name = "Rosetta where not installed",
     .rosetta = true, .host = &old_host, .err = VMCTR_EUNSUPPORTED,
     .err_has = "softwareupdate --install-rosetta"},
    {.name = "Rosetta on an Intel Mac",
     .rosetta = true, .arch = "x86_64", .host = &full_host, .err = VMCTR_EUNSUPPORTED,
     .err_has = "Apple silicon"},
    {.name = "an x86_64 guest on an Intel Mac",
     .arch = "x86_64", .host = &old_host, .cmdline = "console=hvc0 panic=-1 quiet",
     .want_memory = 512 * MIB},
    {.name = "another guest architecture",
     .arch = "riscv64", .host = &full_host, .err = VMCTR_EUNSUPPORTED, .err_has = "riscv64"},
    {.name = "software emulation is QEMU's",
     .accel = VMCTR_ACCEL_TCG, .host = &full_host, .err = VMCTR_EUNSUPPORTED,
     .err_has = "QEMU"},
};

static void run_case(const plan_case *c) {
  vmctr__vm_spec s = {
      .kernel = "/k/Image", .initfs = "/k/initfs.cpio.gz",
      .kernel_args = c->args ? c->args : two_args, .cpus = c->cpus ? c->cpus : 2,
      .memory = c->memory ? c->memory : 512 * MIB, .nested_virtualization = c->nested,
      .rosetta = c->rosetta, .accel = c->accel ? c->accel : VMCTR_ACCEL_HVF,
      .arch = c->arch ? c->arch : "aarch64", .runtime_dir = "/run/x",
      .console_log = "/run/x/boot.log", .entropy = true, .agent_name = "vmctr.agent",
      .agent_port = 1024, .disks = c->disks, .ndisks = c->ndisks, .shares = c->shares,
      .nshares = c->nshares, .nics = c->nics, .nnics = c->nnics};
  vmctr__vz_plan p;
  int r = vmctr__vz_plan_make(&p, &s, c->host);
  if (r < 0)
    print_message("# %s: %s\n", c->name, vmctr_error_last()->message);
  if (c->err) {
    assert_int_equal(r, c->err);
    assert_non_null(strstr(vmctr_error_last()->message, c->err_has));
    assert_null(p.cmdline);
    assert_int_equal(p.ndisks + p.nshares + p.nnics, 0);
    return;
  }
  assert_int_equal(r, 0);
  assert_string_equal(p.kernel, "/k/Image");
  assert_string_equal(p.initfs, "/k/initfs.cpio.gz");
  assert_string_equal(p.cmdline, c->cmdline);
  assert_int_equal(p.cpus, s.cpus);
  assert_int_equal(p.memory, c->want_memory);
  assert_int_equal(p.memory % MIB, 0);
  assert_int_equal(p.nested, c->want_nested);
  assert_int_equal(p.rosetta, c->want_rosetta);
  assert_true(p.entropy);
  assert_int_equal(p.console_port, 0);
  assert_string_equal(p.console_log, "/run/x/boot.log");
  assert_int_equal(p.agent_port, 1024);
  assert_int_equal(p.ndisks, c->ndisks);
  for (size_t i = 0; i < p.ndisks; i++) {
    assert_string_equal(p.disks[i].path, c->disks[i].path); /* the spec's order */
    assert_int_equal(p.disks[i].attachment, VMCTR__VZ_DISK_IMAGE);
    assert_int_equal(p.disks[i].caching, c->want_disks[i].caching);
    assert_int_equal(p.disks[i].sync, c->want_disks[i].sync);
    assert_int_equal(p.disks[i].read_only, c->want_disks[i].ro);
    assert_string_equal(p.disks[i].identifier, c->want_disks[i].id);
  }
  assert_int_equal(p.nshares, c->nshares);
  for (size_t i = 0; i < p.nshares; i++) {
    assert_string_equal(p.shares[i].tag, c->shares[i].tag);
    assert_string_equal(p.shares[i].path, c->shares[i].host_path);
    assert_int_equal(p.shares[i].read_only, c->want_share_ro[i]);
  }
  assert_int_equal(p.nnics, c->nnics);
  for (size_t i = 0; i < p.nnics; i++) {
    const expect_nic *e = &c->want_nics[i];
    assert_int_equal(p.nics[i].attachment, e->attachment);
    assert_memory_equal(p.nics[i].mac, c->nics[i].mac, 6);
    assert_int_equal(p.nics[i].mtu, e->mtu);
    assert_int_equal(p.nics[i].subnet, e->subnet);
    assert_int_equal(p.nics[i].mask, e->mask);
    if (e->network)
      assert_string_equal(p.nics[i].network, e->network);
    else
      assert_null(p.nics[i].network);
    if (e->host_if)
      assert_string_equal(p.nics[i].host_if, e->host_if);
    else
      assert_null(p.nics[i].host_if);
  }
  vmctr__vz_plan_clear(&p);
  assert_null(p.cmdline);
  vmctr__vz_plan_clear(&p); /* idempotent */
}

static void test_case(void **state) {
  run_case(*state);
}

/* A host block device (the first one /dev has, as the library would get
 * one): the other attachment, no caching, fsync served by full. */
static void test_block_device(void **state) {
  (void)state;
  char dev[PATH_MAX] = "";
  DIR *d = opendir("/dev");
  struct dirent *e;
  while (d && (e = readdir(d))) {
    struct stat st;
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "/dev/%s", e->d_name);
    if (stat(p, &st) == 0 && S_ISBLK(st.st_mode)) {
      snprintf(dev, sizeof(dev), "%s", p);
      break;
    }
  }
  if (d)
    closedir(d);
  if (!*dev)
    skip(); /* no block device node here */
  static const struct {
    uint32_t caching, sync;
    const vmctr__vz_host *host;
    int err;
    uint32_t want_sync;
  } t[] = {
      {0, 0, &full_host, 0, VMCTR__VZ_BLOCKDEV_SYNC_FULL},
      {VMCTR_MOUNT_CACHING_AUTO, VMCTR_MOUNT_SYNC_FULL, &full_host, 0, VMCTR__VZ_BLOCKDEV_SYNC_FULL},
      {VMCTR_MOUNT_CACHING_CACHED, VMCTR_MOUNT_SYNC_FSYNC, &full_host, 0,
       VMCTR__VZ_BLOCKDEV_SYNC_FULL},
      {VMCTR_MOUNT_CACHING_CACHED, VMCTR_MOUNT_SYNC_NONE, &full_host, 0,
       VMCTR__VZ_BLOCKDEV_SYNC_NONE},
      {VMCTR_MOUNT_CACHING_UNCACHED, VMCTR_MOUNT_SYNC_FSYNC, &full_host, VMCTR_EUNSUPPORTED, 0},
      {0, 0, &old_host, VMCTR_EUNSUPPORTED, 0}, /* before macOS 14 */
  };
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    vmctr__vm_disk disk = {.path = dev, .read_only = true, .caching = t[i].caching,
                           .sync = t[i].sync, .serial = "vmctr-mnt0"};
    vmctr__vm_spec s = {.kernel = "/k/Image", .cpus = 1, .memory = 256 * MIB,
                        .accel = VMCTR_ACCEL_HVF, .arch = "aarch64",
                        .console_log = "/run/x/boot.log", .agent_port = 1024, .disks = &disk,
                        .ndisks = 1};
    vmctr__vz_plan p;
    int r = vmctr__vz_plan_make(&p, &s, t[i].host);
    if (t[i].err) {
      assert_int_equal(r, t[i].err);
      continue;
    }
    assert_int_equal(r, 0);
    assert_int_equal(p.disks[0].attachment, VMCTR__VZ_DISK_BLOCKDEV);
    assert_int_equal(p.disks[0].sync, t[i].want_sync);
    assert_true(p.disks[0].read_only);
    assert_string_equal(p.disks[0].identifier, "vmctr-mnt0");
    vmctr__vz_plan_clear(&p);
  }
}

/* The host description from a probe: Rosetta and limits come from the caps;
 * nested virtualization and vmnet stay for the framework to answer. */
static void test_host_from_caps(void **state) {
  (void)state;
  vmctr__vz_host h;
  vmctr__vz_host_from_caps(&h, NULL);
  assert_false(h.rosetta_installed || h.nested_supported || h.vmnet_networks);
  assert_int_equal(h.max_cpus, 0);
  vmctr_caps *caps = NULL;
  assert_int_equal(vmctr_caps_probe(&caps, VMCTR_CAPS_PROBE_QUICK), 0);
  vmctr__vz_host_from_caps(&h, caps);
  assert_int_equal(h.rosetta_installed, vmctr_caps_has(caps, VMCTR_CAP_ROSETTA, NULL) == 1);
  assert_int_equal(h.max_cpus, vmctr_caps_max_vcpus(caps));
  assert_int_equal(h.max_memory, vmctr_caps_max_memory(caps));
  assert_false(h.nested_supported);
  assert_false(h.vmnet_networks);
  vmctr_caps_unref(caps);
}

static void test_null_args(void **state) {
  (void)state;
  vmctr__vz_plan p;
  vmctr__vm_spec s = {0};
  assert_int_equal(vmctr__vz_plan_make(NULL, &s, &full_host), VMCTR_EINVAL);
  assert_int_equal(vmctr__vz_plan_make(&p, NULL, &full_host), VMCTR_EINVAL);
  assert_int_equal(vmctr__vz_plan_make(&p, &s, NULL), VMCTR_EINVAL);
  assert_int_equal(vmctr__vz_plan_make(&p, &s, &full_host), VMCTR_EINVAL); /* no kernel */
  vmctr__vz_plan_clear(NULL);
}

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* The disk images of the table are real (empty) files in a scratch
 * directory, which is the working directory while the tests run. */
static char scratch[] = "/tmp/vmctr-vz-plan-XXXXXX";
static char old_cwd[PATH_MAX];
static const char *const images[] = {"root.ext4", "data.ext4", "log.ext4", "dflt.ext4"};

static int setup(void **state) {
  (void)state;
  if (!getcwd(old_cwd, sizeof(old_cwd)) || !mkdtemp(scratch) || chdir(scratch) < 0)
    return -1;
  for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
    int fd = open(images[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
      return -1;
    close(fd);
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
    unlink(images[i]);
  if (chdir(old_cwd) < 0)
    return -1;
  return rmdir(scratch);
}

int main(void) {
  /* One test per case, named by it. */
  struct CMUnitTest tests[NCASES + 3] = {
      cmocka_unit_test(test_host_from_caps),
      cmocka_unit_test(test_null_args),
      cmocka_unit_test(test_block_device),
  };
  for (size_t i = 0; i < NCASES; i++)
    tests[3 + i] = (struct CMUnitTest){.name = cases[i].name, .test_func = test_case,
                                       .initial_state = (void *)&cases[i]};
  return cmocka_run_group_tests(tests, setup, teardown);
}
