/* SPDX-License-Identifier: MIT */
/* QEMU's and virtiofsd's command lines for a VM spec. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/strv.h"
#include "core/util.h"
#include "vmctr/mount.h"
#include "vmm/qemu-argv-priv.h"
#include "vmm/qemu-net-priv.h"

/* Per-architecture machine choices. x86_64 uses microvm without ACPI so the
 * virtio-mmio devices are listed on the kernel command line, keeping the RTC
 * and PIT (TCG needs the PIT; without the RTC the kernel stalls 1 s). */
typedef struct machine {
  const char *arch;
  const char *machine;        /* -M value, before ",memory-backend=mem" */
  const char *machine_tables; /* the same with devices in firmware tables */
  const char *console;        /* the serial device the guest's console= names */
  const char *kernel_args;    /* what this machine's guest kernel needs */
} machine;

static const machine machines[] = {
  /* reboot=t: without ACPI the guest leaves by triple fault (with
   * -no-reboot QEMU then exits); no_timer_check: TCG's timer jitter makes
   * the IO-APIC timer check fail spuriously. */
  {"x86_64", "microvm,acpi=off", "microvm,acpi=on", "ttyS0", "reboot=t no_timer_check"},
  {"aarch64", "virt,gic-version=max", "virt,gic-version=max", "ttyAMA0", ""},
};

static const machine *find_machine(const char *arch) {
  for (size_t i = 0; i < VMCTR_ARRAY_SIZE(machines); i++)
    if (strcmp(arch, machines[i].arch) == 0)
      return &machines[i];
  return NULL;
}

void vmctr__qemu_escape_to(vmctr__strbuf *sb, const char *s) {
  for (; *s; s++)
    vmctr__sb_append(sb, *s == ',' ? ",," : s, *s == ',' ? 2 : 1);
}

char *vmctr__qemu_escape(const char *s) {
  vmctr__strbuf sb = {0};
  vmctr__sb_append(&sb, "", 0);
  vmctr__qemu_escape_to(&sb, s);
  return vmctr__sb_steal(&sb);
}

/* Take the buffer's text as the next argument. */
static void take(vmctr__strv *a, vmctr__strbuf *sb) {
  vmctr__strv_take(a, vmctr__sb_steal(sb));
  memset(sb, 0, sizeof(*sb));
}

char *vmctr__qemu_cmdline(const vmctr__vm_spec *spec, unsigned long tsc_khz) {
  const machine *m = find_machine(spec->arch);
  vmctr__strbuf sb = {0};
  if (!m)
    return vmctr__strdup("");
  vmctr__sb_printf(&sb, "console=%s", m->console);
  if (*m->kernel_args)
    vmctr__sb_printf(&sb, " %s", m->kernel_args);
  /* Under TCG the guest's TSC runs at the host's rate; telling the kernel
   * spares it the calibration against the PIT, which TCG's jitter sometimes
   * fails, after which a stock kernel can hang. */
  if (strcmp(m->arch, "x86_64") == 0 && spec->accel == VMCTR_ACCEL_TCG && tsc_khz)
    vmctr__sb_printf(&sb, " tsc_early_khz=%lu", tsc_khz);
  /* And no clocksource watchdog: on a loaded host TCG delivers the timer
   * ticks late, the watchdog then takes the TSC (which follows the host's
   * clock) for the unstable one and the guest falls back to jiffies, 10 ms
   * a tick; a template built so hands that clock to every clone. */
  if (strcmp(m->arch, "x86_64") == 0 && spec->accel == VMCTR_ACCEL_TCG)
    vmctr__sb_puts(&sb, " tsc=reliable");
  for (char *const *a = spec->kernel_args; a && *a; a++)
    vmctr__sb_printf(&sb, " %s", *a);
  return vmctr__sb_steal(&sb);
}

/* Disk fdsets are 1 + the disk's index (at most VMCTR__MOUNT_INDEX_MAX + 1);
 * backing files' come after them. */
#define BACKING_FDSET0 1000

/* A file node named NAME over fd (in fdset set) or path. */
static void file_node(const char *name, const char *serial, const char *path, int fd, int set,
                      bool ro, const char *direct, const char *no_flush, vmctr__strv *a) {
  vmctr__strbuf sb = {0};
  if (fd >= 0) {
    vmctr__strv_add(a, "-add-fd");
    vmctr__sb_printf(&sb, "fd=%d,set=%d,opaque=", fd, set);
    vmctr__qemu_escape_to(&sb, path);
    take(a, &sb);
  }
  vmctr__strv_add(a, "-blockdev");
  vmctr__sb_printf(&sb, "driver=file,node-name=%s-%s,filename=", serial, name);
  if (fd >= 0)
    vmctr__sb_printf(&sb, "/dev/fdset/%d", set);
  else
    vmctr__qemu_escape_to(&sb, path);
  vmctr__sb_printf(&sb, ",read-only=%s,cache.direct=%s,cache.no-flush=%s", ro ? "on" : "off",
                   direct, no_flush);
  take(a, &sb);
}

/* A copy-on-write disk: a qcow2 node over the overlay file, whose backing
 * is a raw, read-only node over the backing file. The backing is given
 * here, so QEMU neither opens the name in the overlay's header nor probes
 * the backing's format. Backing fdsets are numbered after the disks'. */
static void cow_disk_args(const vmctr__vm_disk *d, int fd0, int set, const char *direct,
                          const char *no_flush, vmctr__strv *a) {
  vmctr__strbuf sb = {0};
  const char *ro = d->read_only ? "on" : "off";
  file_node("bfile", d->serial, d->backing, fd0, set + BACKING_FDSET0, true, direct,
            no_flush, a);
  vmctr__strv_add(a, "-blockdev");
  vmctr__sb_printf(&sb, "driver=raw,node-name=%s-base,file=%s-bfile,read-only=on,"
                   "cache.direct=%s,cache.no-flush=%s", d->serial, d->serial, direct, no_flush);
  take(a, &sb);
  file_node("file", d->serial, d->path, fd0 >= 0 ? fd0 + 1 : -1, set, d->read_only, direct,
            no_flush, a);
  vmctr__strv_add(a, "-blockdev");
  vmctr__sb_printf(&sb, "driver=qcow2,node-name=%s,file=%s-file,backing=%s-base,read-only=%s,"
                   "cache.direct=%s,cache.no-flush=%s", d->serial, d->serial, d->serial, ro,
                   direct, no_flush);
  take(a, &sb);
  vmctr__strv_add(a, "-device");
  vmctr__sb_printf(&sb, "virtio-blk-device,id=%s-dev,drive=%s,serial=%s", d->serial, d->serial,
                   d->serial);
  take(a, &sb);
}

/* Disk i: two nodes (file, then raw) and a virtio-blk device whose serial
 * is how the guest finds it. */
static void disk_args(const vmctr__vm_disk *d, int fd0, int set, vmctr__strv *a) {
  struct stat st;
  vmctr__strbuf sb = {0};
  /* cached (and auto: QEMU's own default) → host page cache; uncached → O_DIRECT. */
  const char *direct = d->caching == VMCTR_MOUNT_CACHING_UNCACHED ? "on" : "off";
  /* sync none → guest flushes are dropped; full and fsync both flush, since
   * fdatasync() on Linux already reaches the medium (no F_FULLFSYNC split). */
  const char *no_flush = d->sync == VMCTR_MOUNT_SYNC_NONE || d->ephemeral ? "on" : "off";
  const char *ro = d->read_only ? "on" : "off";
  /* The file driver refuses block devices; host_device is its twin for them. */
  const char *driver = stat(d->path, &st) == 0 && S_ISBLK(st.st_mode) ? "host_device" : "file";

  if (d->image_format == VMCTR_MOUNT_IMAGE_COW) {
    cow_disk_args(d, fd0, set, direct, no_flush, a);
    return;
  }
  /* Both nodes carry the cache options: with -blockdev nothing is inherited,
   * and a flush stops at the first node with no-flush set. */
  if (fd0 >= 0) {
    /* The library opened the image (as itself); QEMU only gets the fds. */
    for (int k = 0; k < (d->read_only ? 1 : 2); k++) {
      /* opaque: the image's path, for whoever reads the command line. */
      vmctr__strv_add(a, "-add-fd");
      vmctr__sb_printf(&sb, "fd=%d,set=%d,opaque=", fd0 + k, set);
      vmctr__qemu_escape_to(&sb, d->path);
      take(a, &sb);
    }
  }
  vmctr__strv_add(a, "-blockdev");
  vmctr__sb_printf(&sb, "driver=%s,node-name=%s-file,filename=", driver, d->serial);
  if (fd0 >= 0)
    vmctr__sb_printf(&sb, "/dev/fdset/%d", set);
  else
    vmctr__qemu_escape_to(&sb, d->path);
  vmctr__sb_printf(&sb, ",read-only=%s,cache.direct=%s,cache.no-flush=%s", ro, direct, no_flush);
  take(a, &sb);
  vmctr__strv_add(a, "-blockdev");
  /* The image is the filesystem itself (ext4), so the format layer is raw. */
  vmctr__sb_printf(&sb, "driver=raw,node-name=%s,file=%s-file,read-only=%s,cache.direct=%s,"
                   "cache.no-flush=%s", d->serial, d->serial, ro, direct, no_flush);
  take(a, &sb);
  vmctr__strv_add(a, "-device");
  vmctr__sb_printf(&sb, "virtio-blk-device,id=%s-dev,drive=%s,serial=%s", d->serial, d->serial,
                   d->serial);
  take(a, &sb);
}

/* A template builder's disk: the same device (serial, read-only or not)
 * over an empty node, of the disk's own size when writable (its clones then
 * see the right size at once); a clone brings its own images, and the guest
 * drops what it cached of the placeholder (a read-only one it probes again). */
static void placeholder_args(const vmctr__vm_disk *d, vmctr__strv *a) {
  vmctr__strbuf sb = {0};
  uint64_t size = !d->read_only && d->size ? d->size : 1048576;
  vmctr__strv_add(a, "-blockdev");
  vmctr__sb_printf(&sb, "driver=null-co,node-name=%s,size=%" PRIu64 ",read-zeroes=on,read-only=%s",
                   d->serial, size, d->read_only ? "on" : "off");
  take(a, &sb);
  vmctr__strv_add(a, "-device");
  vmctr__sb_printf(&sb, "virtio-blk-device,id=%s-dev,drive=%s,serial=%s", d->serial, d->serial,
                   d->serial);
  take(a, &sb);
}

static void share_args(const vmctr__vm_share *s, size_t i, const char *sock, int fd,
                       vmctr__strv *a) {
  vmctr__strbuf sb = {0};
  vmctr__strv_add(a, "-chardev");
  if (fd >= 0) {
    vmctr__sb_printf(&sb, "socket,id=vfs%zu,fd=%d", i, fd);
  } else {
    vmctr__sb_printf(&sb, "socket,id=vfs%zu,path=", i);
    vmctr__qemu_escape_to(&sb, sock);
  }
  take(a, &sb);
  vmctr__strv_add(a, "-device");
  vmctr__sb_printf(&sb, "vhost-user-fs-device,id=vfs%zu-dev,chardev=vfs%zu,tag=", i, i);
  vmctr__qemu_escape_to(&sb, s->tag);
  take(a, &sb);
}

int vmctr__qemu_argv(const vmctr__vm_spec *spec, const vmctr__qemu_layout *l, char ***out) {
  const machine *m = find_machine(spec->arch);
  vmctr__strv a = VMCTR__STRV_INIT;
  vmctr__strbuf sb = {0};
  uint64_t mib = spec->memory >> 20;

  if (!m)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0, "the qemu backend does not support %s guests",
                      spec->arch);
  vmctr__strv_add(&a, l->binary);
  vmctr__strv_add(&a, "-M");
  vmctr__strv_addf(&a, "%s,memory-backend=mem", spec->firmware_tables ? m->machine_tables : m->machine);
  vmctr__strv_add(&a, "-accel");
  /* A bounded translation cache: QEMU's default is up to 1 GiB per VM. */
  if (spec->accel == VMCTR_ACCEL_KVM)
    vmctr__strv_add(&a, "kvm");
  else
    vmctr__strv_addf(&a, "tcg,tb-size=%d", VMCTR__QEMU_TB_MIB);
  if (l->sandbox) {
    /* seccomp: no obsolete calls, no set*id, no fork/exec, no scheduler or
     * resource-limit changes. */
    vmctr__strv_add(&a, "-sandbox");
    vmctr__strv_add(&a, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  }
  if (spec->accel == VMCTR_ACCEL_KVM) {
    vmctr__strv_add(&a, "-cpu");
    vmctr__strv_add(&a, "host");
  } else if (strcmp(m->arch, "aarch64") == 0) {
    /* Every feature TCG emulates. Pointer authentication with QEMU's own
     * cheap hash rather than the architected QARMA5, which dominates TCG's
     * time; the guest sees the same feature, only the signatures differ. */
    vmctr__strv_add(&a, "-cpu");
    vmctr__strv_add(&a, "max,pauth-impdef=on");
  }
  vmctr__strv_add(&a, "-nodefaults");
  vmctr__strv_add(&a, "-no-user-config");
  vmctr__strv_add(&a, "-nographic");
  vmctr__strv_add(&a, "-no-reboot");
  /* virtiofsd refuses legacy virtio-mmio devices. */
  vmctr__strv_add(&a, "-global");
  vmctr__strv_add(&a, "virtio-mmio.force-legacy=false");
  vmctr__strv_add(&a, "-smp");
  vmctr__strv_addf(&a, "%" PRIu32, spec->cpus);
  vmctr__strv_add(&a, "-m");
  vmctr__strv_addf(&a, "%" PRIu64 "M", mib);
  vmctr__strv_add(&a, "-object");
  if (l->mem_path) {
    /* A template's RAM file: the builder writes it, clones map it copy-on-write. */
    vmctr__sb_printf(&sb, "memory-backend-file,id=mem,size=%" PRIu64 "M,share=%s,mem-path=", mib,
                     l->mem_share ? "on" : "off");
    vmctr__qemu_escape_to(&sb, l->mem_path);
    take(&a, &sb);
    /* The state then restores on any QEMU of this version, whatever it runs. */
    vmctr__strv_add(&a, "-global");
    vmctr__strv_add(&a, "migration.store-global-state=off");
    if (l->incoming) {
      vmctr__strv_add(&a, "-incoming");
      vmctr__strv_add(&a, "defer");
    }
  } else {
    /* A shareable memfd backend, so vhost-user devices (virtiofsd) can map guest RAM. */
    vmctr__strv_addf(&a, "memory-backend-memfd,id=mem,size=%" PRIu64 "M,share=on", mib);
  }

  vmctr__strv_add(&a, "-kernel"); /* plain path arguments: no option syntax */
  vmctr__strv_add(&a, l->kernel ? l->kernel : spec->kernel);
  if (spec->initfs) {
    vmctr__strv_add(&a, "-initrd");
    vmctr__strv_add(&a, l->initfs ? l->initfs : spec->initfs);
  }
  vmctr__strv_add(&a, "-append");
  vmctr__strv_take(&a, vmctr__qemu_cmdline(spec, l->tsc_khz));

  /* Guest console into the log; QMP and the agent on inherited fds. */
  vmctr__strv_add(&a, "-chardev");
  if (l->console_fd > 0) {
    /* A stream the library drains into a bounded log. */
    vmctr__strv_addf(&a, "socket,id=console,fd=%d", l->console_fd);
  } else {
    vmctr__sb_puts(&sb, "file,id=console,path=");
    vmctr__qemu_escape_to(&sb, spec->console_log);
    take(&a, &sb);
  }
  vmctr__strv_add(&a, "-serial");
  vmctr__strv_add(&a, "chardev:console");
  vmctr__strv_add(&a, "-chardev");
  vmctr__strv_addf(&a, "socket,id=qmp,fd=%d", l->qmp_fd);
  vmctr__strv_add(&a, "-mon");
  vmctr__strv_add(&a, "chardev=qmp,mode=control");
  vmctr__strv_add(&a, "-device");
  vmctr__strv_add(&a, "virtio-serial-device");
  vmctr__strv_add(&a, "-chardev");
  vmctr__strv_addf(&a, "socket,id=agent,fd=%d", l->agent_fd);
  vmctr__strv_add(&a, "-device");
  vmctr__sb_puts(&sb, "virtserialport,chardev=agent,name=");
  vmctr__qemu_escape_to(&sb, spec->agent_name);
  take(&a, &sb);
  if (spec->entropy) {
    vmctr__strv_add(&a, "-object");
    vmctr__strv_add(&a, "rng-random,id=rng,filename=/dev/urandom");
    vmctr__strv_add(&a, "-device");
    vmctr__strv_add(&a, "virtio-rng-device,rng=rng");
  }
  for (size_t i = 0; i < spec->ndisks; i++) {
    if (l->placeholder_disks)
      placeholder_args(&spec->disks[i], &a);
    else
      disk_args(&spec->disks[i], l->disk_fd0 > 0 ? l->disk_fd0 + 2 * (int)i : -1, (int)i + 1, &a);
  }
  for (size_t i = 0; i < spec->nshares; i++)
    share_args(&spec->shares[i], i, l->share_sockets ? l->share_sockets[i] : NULL,
               l->share_fd0 > 0 ? l->share_fd0 + (int)i : -1, &a);
  for (size_t i = 0; i < spec->nnics; i++) {
    int r = vmctr__qemu_nic_args(&spec->nics[i], i, l->nic_how ? l->nic_how[i] : 0,
                                 l->nic_fd0 + (int)i, &a);
    if (r < 0) {
      vmctr__strv_clear(&a);
      return r;
    }
  }
  /* The application's own arguments last, so they can add to what we built. */
  vmctr__strv_addv(&a, spec->hypervisor_args);
  return vmctr__strv_finish(&a, out);
}

/* virtiofsd parses -o with libfuse's option parser: a backslash escapes the
 * next character (and \ooo is octal), so escape ',' and '\'. */
static void fuse_escape(vmctr__strbuf *sb, const char *s) {
  for (; *s; s++) {
    if (*s == ',' || *s == '\\')
      vmctr__sb_puts(sb, "\\");
    vmctr__sb_append(sb, s, 1);
  }
}

/* The C virtiofsd of QEMU 7.2. Each option is set explicitly, so the
 * behaviour does not move with the daemon's defaults. */
int vmctr__qemu_virtiofsd_argv(const vmctr__vm_share *s, const char *binary, const char *socket,
                               bool unprivileged, char ***out) {
  return vmctr__qemu_virtiofsd_argv2(s, binary, socket, s->host_path, unprivileged,
                                     0, out);
}

int vmctr__qemu_virtiofsd_argv2(const vmctr__vm_share *s, const char *binary, const char *socket,
                                const char *source, bool unprivileged, unsigned nofile,
                                char ***out) {
  static const char *const cache[] = {NULL, "auto", "always", "none"};
  vmctr__strv a = VMCTR__STRV_INIT;
  vmctr__strbuf sb = {0};

  if (s->cache < 1 || s->cache >= VMCTR_ARRAY_SIZE(cache))
    return vmctr__err(VMCTR_EINVAL, 0, "share %s: unknown cache mode %u", s->tag, s->cache);
  vmctr__strv_add(&a, binary);
  /* It runs in the foreground by default: the backend supervises it. */
  vmctr__strv_addf(&a, "--socket-path=%s", socket);
  vmctr__strv_add(&a, "-o");
  vmctr__sb_puts(&sb, "source=");
  fuse_escape(&sb, source);
  take(&a, &sb);
  vmctr__strv_add(&a, "-o");
  vmctr__strv_addf(&a, "cache=%s", cache[s->cache]);
  /* namespace: pivot_root into the share in new mount/pid/net namespaces,
   * which needs CAP_SYS_ADMIN; chroot is the documented fallback when the
   * caller cannot create namespaces (inside a container). */
  vmctr__strv_add(&a, "-o");
  vmctr__strv_add(&a, unprivileged ? "sandbox=chroot" : "sandbox=namespace");
  /* No xattrs: the daemon runs as root, and a guest that can set
   * security.capability or ACLs on host files could raise privileges on the
   * host. A share is for data; images carry their xattrs on block disks. */
  vmctr__strv_add(&a, "-o");
  vmctr__strv_add(&a, "no_xattr");
  /* Host mount points inside the share get their own st_dev in the guest,
   * so inode numbers from two host filesystems never collide. */
  vmctr__strv_add(&a, "-o");
  vmctr__strv_add(&a, "announce_submounts");
  /* Warnings and errors only: its stderr goes to the library's log. */
  vmctr__strv_add(&a, "-o");
  vmctr__strv_add(&a, "log_level=warn");
  /* Requests are served on the virtqueue thread: lowest latency for the
   * small, mostly serial I/O of a container, and no thread pool per VM. */
  vmctr__strv_add(&a, "--thread-pool-size=0");
  /* No device nodes through the share (the host would get real ones):
   * without CAP_MKNOD mknod of a device fails; FIFOs and sockets need none. */
  if (!unprivileged) {
    vmctr__strv_add(&a, "-o");
    vmctr__strv_add(&a, "modcaps=-mknod");
  }
  /* A bounded fd table (it holds an O_PATH fd per inode the guest knows).
   * 0 leaves the limit as is: raising it to virtiofsd's default 1,000,000
   * fails without CAP_SYS_RESOURCE. */
  vmctr__strv_addf(&a, "--rlimit-nofile=%u", unprivileged ? 0 : nofile);
  return vmctr__strv_finish(&a, out);
}
