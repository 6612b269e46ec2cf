/* SPDX-License-Identifier: MIT */
/* vmctr-oci: the runtime's log. runc's contract: with --log FILE every
 * message is appended there, and with --log-format json one JSON object per
 * line, {"level":"error","msg":"...","time":"RFC 3339"}; the containerd shim
 * shows the last error line's msg when a command fails. Without --log,
 * messages go to stderr, which must never happen in a monitor process whose
 * stderr is the container's. */
#ifndef VMCTR_OCI_LOG_H
#define VMCTR_OCI_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#define OCI_LOG_ERROR 0
#define OCI_LOG_WARN 1
#define OCI_LOG_INFO 2
#define OCI_LOG_DEBUG 3

/* Where messages go: path NULL is stderr; json chooses the line format. */
void oci_log_open(const char *path, bool json);
/* From now on, never to stderr (a monitor whose stderr is the container's). */
void oci_log_detach_stderr(void);
/* Route libvmctr's own messages up to max_level into this log. */
void oci_log_library(int max_level);
/* Messages above max_level are dropped (default OCI_LOG_INFO). */
void oci_log_set_level(int max_level);
void oci_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void oci_vlog(int level, const char *fmt, va_list ap);

#endif
