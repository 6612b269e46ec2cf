/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a SPAWN request's payload as a hostile or buggy host
 * could send it to vmctr-init. The bytes are parsed as a field list and
 * decoded by the guest's own SPAWN decoder (guest_spawn_parse in
 * lib/guest/proc.c), with every field it knows: ARGV, ENV, CWD, ids and
 * GIDS, PTY, ROOT, NAMESPACES, JOIN_PID, HOSTNAME, the cgroup fields,
 * RLIMIT, NO_NEW_PRIVS, CAPS, SECCOMP, RELAX, SECCOMP_FILTER, PIDS_MAX,
 * PATHS, MASKED, READONLY. Nothing is spawned. What the
 * decoder accepts must hold the rules the child relies on, and a confined
 * spec's seccomp filter must build from its capability set; a refusal
 * must say why; every path frees what it took. */
#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/codec.h"
#include "agent/proto.h"
#include "guest/guest-priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* init.c is not linked (it holds main); what it provides to the rest. */
void guest_log(const char *fmt, ...) {
  (void)fmt;
}

void guest_fatal(const char *fmt, ...) {
  (void)fmt;
  abort();
}

void guest_power_off(void) {
  abort();
}

void guest_power_off_leave(const char *dev) {
  (void)dev;
}

#define ALLOWED_NS \
  (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP)

static void check_accepted(const vmctr__agent_msg *m, const guest_spawn *sp) {
  if (!sp->argv || !sp->argv[0] || !sp->env || !sp->env[0])
    abort(); /* ARGV non-empty; ENV defaulted */
  if (sp->ns & ~(uint32_t)ALLOWED_NS)
    abort();
  if (sp->root && (sp->root[0] != '/' || sp->join_pid || !(sp->ns & CLONE_NEWNS)))
    abort(); /* a new container: absolute root, its own mount namespace */
  if (!sp->root && (sp->ns || sp->relax))
    abort(); /* namespaces and relaxations only for a new container */
  if (sp->cwd && sp->cwd[0] != '/')
    abort();
  if (sp->hostname && !(sp->ns & CLONE_NEWUTS))
    abort();
  if (sp->confine != (sp->root || sp->join_pid))
    abort(); /* container processes are confined unless relaxed */
  if (!sp->confine && (sp->caps != VMCTR_AGENT_CAPS_DEFAULT || sp->seccomp != VMCTR_ASECCOMP_DEFAULT))
    abort(); /* a plain guest process carries no confinement fields */
  if (sp->seccomp > VMCTR_ASECCOMP_DEFAULT || (sp->relax & ~VMCTR_ARELAX_ALL))
    abort();
  if ((sp->paths & ~VMCTR_APATHS_ALL) || (sp->paths && !sp->root) || !sp->masked || !sp->readonly)
    abort(); /* own path lists only for a new container; both vectors decoded */
  for (size_t i = 0; sp->masked[i]; i++)
    if (i >= VMCTR_AGENT_MAX_PATHS || !vmctr__agent_path_ok(sp->masked[i]) ||
        !(sp->paths & VMCTR_APATHS_MASKED))
      abort();
  for (size_t i = 0; sp->readonly[i]; i++)
    if (i >= VMCTR_AGENT_MAX_PATHS || !vmctr__agent_path_ok(sp->readonly[i]) ||
        !(sp->paths & VMCTR_APATHS_READONLY))
      abort();
  if (sp->nrlimits != vmctr__agent_count(m, VMCTR_AT_RLIMIT))
    abort();
  /* A caller's filter: a container's process only, whole, ending in a return. */
  if (sp->filter && (!sp->confine || sp->nfilter == 0 || sp->nfilter > VMCTR_AGENT_MAX_FILTER ||
                     BPF_CLASS(sp->filter[sp->nfilter - 1].code) != BPF_RET))
    abort();
  if (!sp->filter && vmctr__agent_count(m, VMCTR_AT_SECCOMP_FILTER))
    abort();
  if (sp->pids_max && !sp->cgroup)
    abort();
  if (sp->ngids != vmctr__agent_count(m, VMCTR_AT_GIDS))
    abort();
  for (size_t i = 0; sp->argv[i]; i++)
    (void)strlen(sp->argv[i]);
  for (size_t i = 0; sp->env[i]; i++)
    (void)strlen(sp->env[i]);
  for (size_t i = 0; i < sp->nrlimits; i++)
    if (!sp->rlimits[i])
      abort();
  /* What the child would install: the default profile for these caps
   * always fits in one filter. */
  if (sp->confine && sp->seccomp == VMCTR_ASECCOMP_DEFAULT) {
    static struct sock_filter f[BPF_MAXINSNS];
    size_t n = 0;
    int r = guest_seccomp_build(sp->caps, f, BPF_MAXINSNS, &n);
    if (r != -ENOSYS && (r < 0 || n == 0 || n > BPF_MAXINSNS))
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vmctr__agent_msg m = {0};
  if (vmctr__agent_msg_parse(data, size, &m) < 0)
    return 0;
  guest_spawn sp;
  memset(&sp, 0, sizeof(sp));
  sp.errfd = sp.join_root = -1;
  for (int i = 0; i < 6; i++)
    sp.join_ns[i] = -1;
  const char *why = guest_spawn_parse(&m, &sp);
  if (why) {
    if (!*why)
      abort();
  } else {
    check_accepted(&m, &sp);
  }
  guest_spawn_free(&sp);
  vmctr__agent_msg_free(&m);
  return 0;
}
