/* SPDX-License-Identifier: MIT */
/* Internal error reporting: set the thread's detail and return the code. */
#ifndef VMCTR_CORE_ERROR_H
#define VMCTR_CORE_ERROR_H

#include "vmctr/error.h"

#define VMCTR_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Record code/os_errno/message for this thread, log it at debug level, and
 * return code, so callers write `return vmctr__err(VMCTR_EINVAL, 0, "...")`. */
int vmctr__err(int code, int os_errno, const char *fmt, ...) VMCTR_PRINTF(3, 4);

/* Like vmctr__err, with the code derived from os_errno and ": strerror"
 * appended to the message. */
int vmctr__err_os(int os_errno, const char *fmt, ...) VMCTR_PRINTF(2, 3);

/* The common out-of-memory failure. */
int vmctr__err_nomem(void);

/* Map an errno value to the closest VMCTR_E* code. */
int vmctr__code_from_errno(int e);

/* Prefix the current thread's message with "prefix: " (keeping code and errno),
 * and return the current code. Used to add context such as a file name. */
int vmctr__err_prefix(const char *prefix);

/* The thread's error, kept across cleanup that may record errors of its own:
 * save, clean up, restore (which records it again and returns its code). */
typedef struct vmctr__err_saved {
  int code, os_errno;
  char msg[1024];
} vmctr__err_saved;
void vmctr__err_save(vmctr__err_saved *s);
int vmctr__err_restore(const vmctr__err_saved *s);

#endif
