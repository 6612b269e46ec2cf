/* SPDX-License-Identifier: MIT */
/*
 * vmctr-oci seccomp profiles (seccomp.h): config.json's linux.seccomp
 * compiled with libseccomp on the host, for the guest's architecture, into
 * the classic BPF program that vmctr_process_config_set_seccomp_filter()
 * sends to the guest.
 *
 * What runc does, and so what this does:
 * - the guest's architecture is always in the filter; "architectures" adds
 *   the secondary ones of that guest (x86 and x32 for x86_64, arm for
 *   aarch64); the others are ignored (they cannot enter this kernel);
 * - a syscall name libseccomp does not know is skipped, as is a rule whose
 *   action is the default action;
 * - several conditions on one argument cannot be ANDed by libseccomp: such
 *   a rule becomes one rule per condition (ORed), as runc does.
 * flags: SECCOMP_FILTER_FLAG_TSYNC, _LOG and _SPEC_ALLOW are accepted. They
 * are flags of the seccomp(2) call, not of the program, and the guest
 * installs the program itself: TSYNC is moot (the process is single
 * threaded when it is installed), LOG is not applied (only SCMP_ACT_LOG
 * rules log) and SPEC_ALLOW is not applied (the speculation mitigation
 * stays on, the stricter choice). Any other flag is refused.
 * SCMP_ACT_NOTIFY and listenerPath are refused: there is no listener.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seccomp.h"

#define MAX_ARGS 6

struct ctx {
  char *err;
  size_t errlen;
};

static int fail(struct ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = snprintf(c->err, c->errlen, "linux.seccomp: ");
  if (n >= 0 && (size_t)n < c->errlen)
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
  va_end(ap);
  return -1;
}

/* A JSON integer in 0..max into *out. */
static bool get_uint(const cJSON *v, double max, uint64_t *out) {
  if (!cJSON_IsNumber(v))
    return false;
  double d = v->valuedouble;
  if (!(d >= 0) || d > max || d != floor(d))
    return false;
  *out = d >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)d;
  return true;
}

/* action with errno (NULL: absent) into *act; what names the field. */
static int parse_action(struct ctx *c, const cJSON *action, const cJSON *errno_ret,
                        const char *what, const char *errwhat, uint32_t *act) {
  if (!cJSON_IsString(action))
    return fail(c, "%s must be a string", what);
  const char *a = action->valuestring;
  uint64_t e = EPERM;
  if (errno_ret && !cJSON_IsNull(errno_ret) && !get_uint(errno_ret, 65535, &e))
    return fail(c, "%s must be an integer in 0..65535", errwhat);
  bool takes_errno = strcmp(a, "SCMP_ACT_ERRNO") == 0 || strcmp(a, "SCMP_ACT_TRACE") == 0;
  if (errno_ret && !cJSON_IsNull(errno_ret) && !takes_errno)
    return fail(c, "%s is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s", errwhat, a);
  if (strcmp(a, "SCMP_ACT_KILL") == 0 || strcmp(a, "SCMP_ACT_KILL_THREAD") == 0)
    *act = SCMP_ACT_KILL_THREAD;
  else if (strcmp(a, "SCMP_ACT_KILL_PROCESS") == 0)
    *act = SCMP_ACT_KILL_PROCESS;
  else if (strcmp(a, "SCMP_ACT_TRAP") == 0)
    *act = SCMP_ACT_TRAP;
  else if (strcmp(a, "SCMP_ACT_ERRNO") == 0)
    *act = SCMP_ACT_ERRNO((uint16_t)e);
  else if (strcmp(a, "SCMP_ACT_TRACE") == 0)
    *act = SCMP_ACT_TRACE((uint16_t)e);
  else if (strcmp(a, "SCMP_ACT_ALLOW") == 0)
    *act = SCMP_ACT_ALLOW;
  else if (strcmp(a, "SCMP_ACT_LOG") == 0)
    *act = SCMP_ACT_LOG;
  else if (strcmp(a, "SCMP_ACT_NOTIFY") == 0)
    return fail(c, "%s: SCMP_ACT_NOTIFY is not supported (no seccomp listener in a vmctr guest)",
                what);
  else
    return fail(c, "%s: unknown action \"%s\"", what, a);
  return 0;
}

static const struct {
  const char *name;
  enum scmp_compare op;
} ops[] = {
  {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
  {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
  {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* The secondary architectures each guest can run, by OCI name. */
static const struct {
  const char *name;
  uint32_t token;
  const char *guest; /* NULL: never added */
} arches[] = {
  {"SCMP_ARCH_X86", SCMP_ARCH_X86, "x86_64"},
  {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64, "x86_64"},
  {"SCMP_ARCH_X32", SCMP_ARCH_X32, "x86_64"},
  {"SCMP_ARCH_ARM", SCMP_ARCH_ARM, "aarch64"},
  {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64, "aarch64"},
  {"SCMP_ARCH_MIPS", 0, NULL}, {"SCMP_ARCH_MIPS64", 0, NULL}, {"SCMP_ARCH_MIPS64N32", 0, NULL},
  {"SCMP_ARCH_MIPSEL", 0, NULL}, {"SCMP_ARCH_MIPSEL64", 0, NULL},
  {"SCMP_ARCH_MIPSEL64N32", 0, NULL}, {"SCMP_ARCH_PPC", 0, NULL}, {"SCMP_ARCH_PPC64", 0, NULL},
  {"SCMP_ARCH_PPC64LE", 0, NULL}, {"SCMP_ARCH_S390", 0, NULL}, {"SCMP_ARCH_S390X", 0, NULL},
  {"SCMP_ARCH_PARISC", 0, NULL}, {"SCMP_ARCH_PARISC64", 0, NULL},
  {"SCMP_ARCH_RISCV64", 0, NULL}, {"SCMP_ARCH_LOONGARCH64", 0, NULL},
  {"SCMP_ARCH_M68K", 0, NULL}, {"SCMP_ARCH_SH", 0, NULL}, {"SCMP_ARCH_SHEB", 0, NULL},
};

static int add_arches(struct ctx *c, scmp_filter_ctx f, const cJSON *list, const char *arch) {
  if (!list || cJSON_IsNull(list))
    return 0;
  if (!cJSON_IsArray(list))
    return fail(c, "architectures must be an array of strings");
  int i = 0;
  for (const cJSON *a = list->child; a; a = a->next, i++) {
    if (!cJSON_IsString(a))
      return fail(c, "architectures[%d] must be a string", i);
    size_t k = 0;
    while (k < sizeof(arches) / sizeof(arches[0]) && strcmp(arches[k].name, a->valuestring))
      k++;
    if (k == sizeof(arches) / sizeof(arches[0]))
      return fail(c, "architectures[%d]: unknown architecture \"%s\"", i, a->valuestring);
    if (!arches[k].guest || strcmp(arches[k].guest, arch) != 0)
      continue; /* cannot enter this guest's kernel */
    int r = seccomp_arch_add(f, arches[k].token);
    if (r < 0 && r != -EEXIST)
      return fail(c, "architectures[%d]: libseccomp cannot add %s: %s", i, a->valuestring,
                  strerror(-r));
  }
  return 0;
}

static int check_flags(struct ctx *c, const cJSON *flags) {
  if (!flags || cJSON_IsNull(flags))
    return 0;
  if (!cJSON_IsArray(flags))
    return fail(c, "flags must be an array of strings");
  int i = 0;
  for (const cJSON *f = flags->child; f; f = f->next, i++) {
    if (!cJSON_IsString(f))
      return fail(c, "flags[%d] must be a string", i);
    if (strcmp(f->valuestring, "SECCOMP_FILTER_FLAG_TSYNC") && strcmp(f->valuestring, "SECCOMP_FILTER_FLAG_LOG") &&
        strcmp(f->valuestring, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"))
      return fail(c, "flags[%d]: \"%s\" is not supported (only SECCOMP_FILTER_FLAG_TSYNC, "
                  "SECCOMP_FILTER_FLAG_LOG and SECCOMP_FILTER_FLAG_SPEC_ALLOW)", i, f->valuestring);
  }
  return 0;
}

/* syscalls[si].args into conds; *multi: an index appears more than once. */
static int parse_args(struct ctx *c, const cJSON *args, int si, struct scmp_arg_cmp *conds,
                      unsigned *n, bool *multi) {
  *n = 0;
  *multi = false;
  if (!args || cJSON_IsNull(args))
    return 0;
  if (!cJSON_IsArray(args))
    return fail(c, "syscalls[%d].args must be an array", si);
  unsigned seen[MAX_ARGS] = {0};
  int ai = 0;
  for (const cJSON *a = args->child; a; a = a->next, ai++) {
    if (!cJSON_IsObject(a))
      return fail(c, "syscalls[%d].args[%d] must be an object", si, ai);
    if (*n >= 64)
      return fail(c, "syscalls[%d].args: more than 64 conditions", si);
    uint64_t index, value = 0, two = 0;
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(a, "op");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, "value");
    const cJSON *v2 = cJSON_GetObjectItemCaseSensitive(a, "valueTwo");
    if (!get_uint(cJSON_GetObjectItemCaseSensitive(a, "index"), MAX_ARGS - 1, &index))
      return fail(c, "syscalls[%d].args[%d].index must be an integer in 0..5", si, ai);
    if (!get_uint(v, 18446744073709551615.0, &value))
      return fail(c, "syscalls[%d].args[%d].value must be an unsigned 64-bit integer", si, ai);
    if (v2 && !cJSON_IsNull(v2) && !get_uint(v2, 18446744073709551615.0, &two))
      return fail(c, "syscalls[%d].args[%d].valueTwo must be an unsigned 64-bit integer", si, ai);
    if (!cJSON_IsString(op))
      return fail(c, "syscalls[%d].args[%d].op must be a string", si, ai);
    size_t k = 0;
    while (k < sizeof(ops) / sizeof(ops[0]) && strcmp(ops[k].name, op->valuestring))
      k++;
    if (k == sizeof(ops) / sizeof(ops[0]))
      return fail(c, "syscalls[%d].args[%d].op: unknown operator \"%s\"", si, ai, op->valuestring);
    if (seen[index]++)
      *multi = true;
    /* MASKED_EQ: value is the mask, valueTwo the datum (as runc). */
    conds[(*n)++] = (struct scmp_arg_cmp){(unsigned)index, ops[k].op, value, two};
  }
  return 0;
}

static int add_syscalls(struct ctx *c, scmp_filter_ctx f, const cJSON *list, uint32_t defact) {
  if (!list || cJSON_IsNull(list))
    return 0;
  if (!cJSON_IsArray(list))
    return fail(c, "syscalls must be an array");
  struct scmp_arg_cmp conds[64];
  int si = 0;
  for (const cJSON *s = list->child; s; s = s->next, si++) {
    char what[64], errwhat[64];
    if (!cJSON_IsObject(s))
      return fail(c, "syscalls[%d] must be an object", si);
    snprintf(what, sizeof(what), "syscalls[%d].action", si);
    snprintf(errwhat, sizeof(errwhat), "syscalls[%d].errnoRet", si);
    uint32_t act;
    if (parse_action(c, cJSON_GetObjectItemCaseSensitive(s, "action"),
                     cJSON_GetObjectItemCaseSensitive(s, "errnoRet"), what, errwhat, &act) < 0)
      return -1;
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(s, "names");
    if (!cJSON_IsArray(names) || !names->child)
      return fail(c, "syscalls[%d].names must be a non-empty array of strings", si);
    unsigned n;
    bool multi;
    if (parse_args(c, cJSON_GetObjectItemCaseSensitive(s, "args"), si, conds, &n, &multi) < 0)
      return -1;
    int ni = 0;
    for (const cJSON *nm = names->child; nm; nm = nm->next, ni++)
      if (!cJSON_IsString(nm) || !nm->valuestring[0])
        return fail(c, "syscalls[%d].names[%d] must be a non-empty string", si, ni);
    if (act == defact)
      continue; /* libseccomp refuses it; runc skips it */
    ni = 0;
    for (const cJSON *nm = names->child; nm; nm = nm->next, ni++) {
      /* In the host's numbering, known to libseccomp for every architecture
       * (a pseudo number where the host has no such call); rule_add
       * translates it for each architecture of the filter. */
      int nr = seccomp_syscall_resolve_name(nm->valuestring);
      if (nr == __NR_SCMP_ERROR)
        continue; /* unknown to libseccomp: skipped, as runc */
      int r = 0;
      if (!multi) {
        r = seccomp_rule_add_array(f, act, nr, n, n ? conds : NULL);
      } else {
        for (unsigned k = 0; k < n && r == 0; k++)
          r = seccomp_rule_add_array(f, act, nr, 1, &conds[k]);
      }
      if (r < 0)
        return fail(c, "syscalls[%d]: libseccomp refuses the rule for \"%s\": %s", si,
                    nm->valuestring, strerror(-r));
    }
  }
  return 0;
}

/* The program, through a memfd, into a malloc'd buffer. */
static int export_bpf(struct ctx *c, scmp_filter_ctx f, void **prog, size_t *len) {
  int fd = memfd_create("vmctr-oci-seccomp", MFD_CLOEXEC);
  if (fd < 0)
    return fail(c, "memfd_create: %s", strerror(errno));
  int r = seccomp_export_bpf(f, fd);
  struct stat st;
  if (r < 0) {
    close(fd);
    return fail(c, "libseccomp cannot export the program: %s", strerror(-r));
  }
  if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size % 8) {
    close(fd);
    return fail(c, "libseccomp exported no whole program");
  }
  size_t n = (size_t)st.st_size;
  if (n / 8 > 4096) {
    close(fd);
    return fail(c, "the compiled program has %zu instructions, more than the kernel's 4096",
                n / 8);
  }
  uint8_t *buf = malloc(n);
  size_t got = 0;
  while (buf && got < n) {
    ssize_t k = pread(fd, buf + got, n - got, (off_t)got);
    if (k <= 0) {
      if (k < 0 && errno == EINTR)
        continue;
      break;
    }
    got += (size_t)k;
  }
  close(fd);
  if (!buf || got != n) {
    free(buf);
    return fail(c, buf ? "cannot read the exported program back" : "out of memory");
  }
  *prog = buf;
  *len = n;
  return 0;
}

int oci_seccomp_compile(const cJSON *seccomp, const char *arch, void **prog, size_t *len,
                        char *err, size_t errlen) {
  struct ctx c = {err, errlen};
  *prog = NULL;
  *len = 0;
  if (errlen)
    err[0] = '\0';
  uint32_t native;
  if (!arch)
    return fail(&c, "no guest architecture");
  if (strcmp(arch, "x86_64") == 0)
    native = SCMP_ARCH_X86_64;
  else if (strcmp(arch, "aarch64") == 0)
    native = SCMP_ARCH_AARCH64;
  else
    return fail(&c, "guest architecture \"%s\" is not x86_64 or aarch64", arch);
  if (!cJSON_IsObject(seccomp))
    return fail(&c, "must be an object");
  const cJSON *lp = cJSON_GetObjectItemCaseSensitive(seccomp, "listenerPath");
  if (lp && !cJSON_IsNull(lp) && (!cJSON_IsString(lp) || lp->valuestring[0]))
    return fail(&c, "listenerPath is not supported (no seccomp listener in a vmctr guest)");
  uint32_t defact;
  if (parse_action(&c, cJSON_GetObjectItemCaseSensitive(seccomp, "defaultAction"),
                   cJSON_GetObjectItemCaseSensitive(seccomp, "defaultErrnoRet"), "defaultAction",
                   "defaultErrnoRet", &defact) < 0)
    return -1;
  if (check_flags(&c, cJSON_GetObjectItemCaseSensitive(seccomp, "flags")) < 0)
    return -1;
  scmp_filter_ctx f = seccomp_init(defact);
  if (!f)
    return fail(&c, "libseccomp cannot make a filter for defaultAction");
  int r = seccomp_arch_add(f, native);
  if (r < 0 && r != -EEXIST) {
    seccomp_release(f);
    return fail(&c, "libseccomp cannot add the guest's architecture %s: %s", arch, strerror(-r));
  }
  if (seccomp_arch_native() != native && (r = seccomp_arch_remove(f, SCMP_ARCH_NATIVE)) < 0) {
    seccomp_release(f);
    return fail(&c, "libseccomp cannot drop the host's architecture: %s", strerror(-r));
  }
  /* The guest loads the program itself: no NNP attribute, no load here. */
  if (add_arches(&c, f, cJSON_GetObjectItemCaseSensitive(seccomp, "architectures"), arch) < 0 ||
      add_syscalls(&c, f, cJSON_GetObjectItemCaseSensitive(seccomp, "syscalls"), defact) < 0 ||
      export_bpf(&c, f, prog, len) < 0) {
    seccomp_release(f);
    return -1;
  }
  seccomp_release(f);
  return 0;
}
