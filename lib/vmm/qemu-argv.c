/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/util.h"
#include "vmctr/caps.h"
#include "vmm/qemu-argv.h"

/* Per-architecture machine choices. x86_64 uses microvm without ACPI so the
 * virtio-mmio devices are listed on the kernel command line, keeping the RTC
 * and PIT (TCG needs the PIT; without the RTC the kernel stalls 1 s). */
typedef struct machine {
  const char *arch;
  const char *machine; /* -M value, before ",memory-backend=mem" */
  const char *console; /* the serial device the guest's console= names */
} machine;

static const machine machines[] = {
  {"x86_64", "microvm,acpi=off", "ttyS0"},
  {"aarch64", "virt,gic-version=max", "ttyAMA0"},
};

char *vmctr__qemu_escape(const char *s) {
  vmctr__strbuf sb = {0};
  for (const char *p = s; *p; p++)
    vmctr__sb_append(&sb, *p == ',' ? ",," : p, *p == ',' ? 2 : 1);
  if (!sb.buf)
    vmctr__sb_append(&sb, "", 0);
  return vmctr__sb_steal(&sb);
}

typedef struct argv_b {
  char **v;
  size_t n, cap;
  bool failed;
} argv_b;

static void add(argv_b *a, char *s) {
  if (!s || a->failed) {
    free(s);
    a->failed = true;
    return;
  }
  if (a->n + 2 > a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 64;
    char **v = realloc(a->v, cap * sizeof(*v));
    if (!v) {
      free(s);
      a->failed = true;
      return;
    }
    a->v = v;
    a->cap = cap;
  }
  a->v[a->n++] = s;
  a->v[a->n] = NULL;
}

static void addf(argv_b *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(argv_b *a, const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  add(a, s);
}

static void add2(argv_b *a, const char *opt, const char *val) {
  add(a, strdup(opt));
  add(a, strdup(val));
}

int vmctr__qemu_argv(const vmctr__vm_spec *spec, int qmp_fd, int agent_fd, char ***out) {
  const machine *m = NULL;
  argv_b a = {0};
  char *log = NULL;

  for (size_t i = 0; i < VMCTR_ARRAY_SIZE(machines); i++)
    if (strcmp(spec->arch, machines[i].arch) == 0)
      m = &machines[i];
  if (!m)
    return vmctr__err(VMCTR_EUNSUPPORTED, 0, "the qemu backend does not support %s guests",
                      spec->arch);

  add(&a, strdup(spec->binary));
  addf(&a, "-M");
  if (spec->firmware_tables && strcmp(m->arch, "x86_64") == 0)
    add(&a, strdup("microvm,acpi=on,memory-backend=mem")); /* virtio-mmio listed in ACPI */
  else
    addf(&a, "%s,memory-backend=mem", m->machine);
  add2(&a, "-accel", spec->accel == VMCTR_ACCEL_KVM ? "kvm" : "tcg");
  if (spec->accel == VMCTR_ACCEL_KVM)
    add2(&a, "-cpu", "host");
  else if (strcmp(m->arch, "aarch64") == 0)
    add2(&a, "-cpu", "max");
  add(&a, strdup("-nodefaults"));
  add(&a, strdup("-no-user-config"));
  add(&a, strdup("-nographic"));
  add(&a, strdup("-no-reboot"));
  add2(&a, "-global", "virtio-mmio.force-legacy=false");
  add(&a, strdup("-smp"));
  addf(&a, "%" PRIu32, spec->cpus);
  add(&a, strdup("-m"));
  addf(&a, "%" PRIu64 "M", spec->memory >> 20);
  /* A shareable memfd backend, so vhost-user devices (virtiofsd) can map guest RAM. */
  add(&a, strdup("-object"));
  addf(&a, "memory-backend-memfd,id=mem,size=%" PRIu64 "M,share=on", spec->memory >> 20);

  add2(&a, "-kernel", spec->kernel); /* plain path argument: no option syntax */
  if (spec->initfs)
    add2(&a, "-initrd", spec->initfs);
  add2(&a, "-append", spec->cmdline ? spec->cmdline : "");

  /* Guest console into the boot log; QMP and the agent on inherited fds. */
  log = vmctr__qemu_escape(spec->boot_log);
  add(&a, strdup("-chardev"));
  addf(&a, "file,id=console,path=%s", log ? log : "");
  add2(&a, "-serial", "chardev:console");
  add(&a, strdup("-chardev"));
  addf(&a, "socket,id=qmp,fd=%d", qmp_fd);
  add2(&a, "-mon", "chardev=qmp,mode=control");
  add2(&a, "-device", "virtio-serial-device");
  add(&a, strdup("-chardev"));
  addf(&a, "socket,id=agent,fd=%d", agent_fd);
  add2(&a, "-device", "virtserialport,chardev=agent,name=vmctr.agent");
  add(&a, strdup("-object"));
  add(&a, strdup("rng-random,id=rng,filename=/dev/urandom"));
  add2(&a, "-device", "virtio-rng-device,rng=rng");
  for (char **e = spec->extra_args; e && *e; e++)
    add(&a, strdup(*e));

  if (!log || a.failed) {
    free(log);
    vmctr__strv_free(a.v);
    return vmctr__err_nomem();
  }
  free(log);
  *out = a.v;
  return 0;
}
