/* SPDX-License-Identifier: MIT */
/* A small QMP client: line-oriented JSON over a stream socket. QEMU's output
 * is untrusted: lines are bounded and parsed with the JSON helpers. */
#ifndef VMCTR_VMM_QMP_H
#define VMCTR_VMM_QMP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/json.h"

#define VMCTR__QMP_MAX_LINE (64u * 1024u)

enum {
  VMCTR__QMP_GREETING = 1,
  VMCTR__QMP_RETURN = 2,
  VMCTR__QMP_ERROR = 3,
  VMCTR__QMP_EVENT = 4,
};

typedef struct vmctr__qmp_msg {
  int kind;             /* VMCTR__QMP_* */
  cJSON *root;          /* the parsed line; owned */
  const cJSON *ret;     /* RETURN: the "return" member */
  const char *event;    /* EVENT: its name */
  const char *err_desc; /* ERROR: "desc" */
  const char *err_class;
} vmctr__qmp_msg;

/* Parse and classify one line (without its newline). Pure; VMCTR_EPROTO for
 * JSON that is not a QMP message. */
int vmctr__qmp_parse(const char *line, size_t len, vmctr__qmp_msg *out);
void vmctr__qmp_msg_clear(vmctr__qmp_msg *m);

/* The "status" string of a query-status return ("running", "shutdown", ...),
 * or NULL with VMCTR_EPROTO recorded. Borrowed from the message. */
const char *vmctr__qmp_status(const vmctr__qmp_msg *m);

typedef struct vmctr__qmp {
  int fd;                /* owned; -1 when closed */
  char *buf;             /* VMCTR__QMP_MAX_LINE + 1 */
  size_t len;
  bool shutdown_seen;    /* a SHUTDOWN event arrived */
} vmctr__qmp;

/* Take ownership of fd, read the greeting and negotiate capabilities. */
int vmctr__qmp_open(vmctr__qmp *q, int fd, int timeout_ms);
void vmctr__qmp_close(vmctr__qmp *q);

/* Run a command without arguments; *out (may be NULL) receives the RETURN
 * message. Events read meanwhile are noted. A QMP error is VMCTR_EPROTO with
 * QEMU's description. */
int vmctr__qmp_execute(vmctr__qmp *q, const char *command, int timeout_ms, vmctr__qmp_msg *out);
/* Write text (one or more complete command lines, built by the caller from
 * trusted parts) in one go, then read each answer with vmctr__qmp_result
 * (named command in its error messages), in order. */
int vmctr__qmp_send(vmctr__qmp *q, const char *text);
/* The same, with fd passed along (SCM_RIGHTS), for getfd. */
int vmctr__qmp_send_fd(vmctr__qmp *q, const char *text, int fd);
int vmctr__qmp_result(vmctr__qmp *q, const char *command, int timeout_ms, vmctr__qmp_msg *out);

#endif
