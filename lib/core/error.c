/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"

#define MSG_MAX 1024

/* A fixed buffer per thread: no allocation, nothing to free at thread exit. */
static _Thread_local struct {
  vmctr_error err;
  char msg[MSG_MAX];
} tls;

static const char no_error[] = "no error";

static const char *const names[] = {
  [0] = "success",
  [1] = "generic failure",
  [2] = "invalid argument",
  [3] = "out of memory",
  [4] = "no such file, object or key",
  [5] = "already exists",
  [6] = "resource busy",
  [7] = "not supported on this host or build",
  [8] = "timed out",
  [9] = "input/output error",
  [10] = "permission denied",
  [11] = "malformed input",
  [12] = "input too large",
  [13] = "operation not allowed in the current state",
  [14] = "protocol violation by peer",
  [15] = "operation cancelled",
  [16] = "no space left",
  [17] = "try again later",
};

const char *vmctr_strerror(int code) {
  if (code <= 0 && -code < (int)(sizeof(names) / sizeof(names[0])))
    return names[-code];
  return "unknown error";
}

const vmctr_error *vmctr_error_last(void) {
  if (tls.err.message == NULL)
    tls.err.message = no_error;
  return &tls.err;
}

void vmctr_error_clear(void) {
  tls.err.code = 0;
  tls.err.os_errno = 0;
  tls.msg[0] = '\0';
  tls.err.message = no_error;
}

int vmctr__code_from_errno(int e) {
  switch (e) {
  case 0: return VMCTR_EGENERIC;
  case EINVAL: case ENAMETOOLONG: case ELOOP: case ENOTDIR: case EISDIR: return VMCTR_EINVAL;
  case ENOMEM: return VMCTR_ENOMEM;
  case ENOENT: case ESRCH: case ENODEV: case ENXIO: return VMCTR_ENOENT;
  case EEXIST: case ENOTEMPTY: return VMCTR_EEXIST;
  case EBUSY: case ETXTBSY: case EAGAIN: return VMCTR_EBUSY;
  case ENOSYS: case EOPNOTSUPP: case EAFNOSUPPORT: case EPROTONOSUPPORT: return VMCTR_EUNSUPPORTED;
  case ETIMEDOUT: return VMCTR_ETIMEDOUT;
  case EACCES: case EPERM: case EROFS: return VMCTR_EPERM;
  case EFBIG: case E2BIG: case EOVERFLOW: return VMCTR_ETOOBIG;
  case ECANCELED: return VMCTR_ECANCELED;
  case ENOSPC: case EDQUOT: return VMCTR_ENOSPC;
  case EPROTO: case EBADMSG: return VMCTR_EPROTO;
  default: return VMCTR_EIO;
  }
}

__attribute__((format(printf, 4, 0)))
static int set_v(int code, int os_errno, const char *suffix, const char *fmt, va_list ap) {
  int n = vsnprintf(tls.msg, sizeof(tls.msg), fmt, ap);
  if (n < 0)
    snprintf(tls.msg, sizeof(tls.msg), "%s", vmctr_strerror(code));
  if (suffix) {
    size_t len = strlen(tls.msg);
    if (len < sizeof(tls.msg) - 1)
      snprintf(tls.msg + len, sizeof(tls.msg) - len, ": %s", suffix);
  }
  tls.err.code = code;
  tls.err.os_errno = os_errno;
  tls.err.message = tls.msg;
  vmctr__log(VMCTR_LOG_DEBUG, "error", "%s (%s)", tls.msg, vmctr_strerror(code));
  return code;
}

int vmctr__err(int code, int os_errno, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_v(code, os_errno, NULL, fmt, ap);
  va_end(ap);
  return code;
}

int vmctr__err_os(int os_errno, const char *fmt, ...) {
  char ebuf[128];
  const char *s;
  va_list ap;
  /* GNU strerror_r returns a pointer that may or may not be ebuf. */
  s = strerror_r(os_errno, ebuf, sizeof(ebuf));
  va_start(ap, fmt);
  set_v(vmctr__code_from_errno(os_errno), os_errno, s, fmt, ap);
  va_end(ap);
  return vmctr__code_from_errno(os_errno);
}

int vmctr__err_nomem(void) {
  /* No formatting work beyond a constant: we may be out of memory. */
  snprintf(tls.msg, sizeof(tls.msg), "out of memory");
  tls.err.code = VMCTR_ENOMEM;
  tls.err.os_errno = ENOMEM;
  tls.err.message = tls.msg;
  return VMCTR_ENOMEM;
}

int vmctr__err_prefix(const char *prefix) {
  char tmp[MSG_MAX];
  snprintf(tmp, sizeof(tmp), "%s: %s", prefix, vmctr_error_last()->message);
  memcpy(tls.msg, tmp, sizeof(tls.msg));
  tls.err.message = tls.msg;
  return tls.err.code;
}

void vmctr__err_save(vmctr__err_saved *s) {
  const vmctr_error *e = vmctr_error_last();
  s->code = e->code;
  s->os_errno = e->os_errno;
  snprintf(s->msg, sizeof(s->msg), "%s", e->message ? e->message : "");
}

int vmctr__err_restore(const vmctr__err_saved *s) {
  if (!s->code) {
    vmctr_error_clear();
    return 0;
  }
  return vmctr__err(s->code, s->os_errno, "%s", s->msg);
}
