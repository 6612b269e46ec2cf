/* SPDX-License-Identifier: MIT */
/* A bounded log: a library thread drains a stream (a jailed hypervisor's
 * console) into a file that never grows past a cap. When the file reaches
 * the cap, its newer half is kept behind a one-line marker, so the file
 * always ends with the latest output (what error messages quote). The
 * writer is never blocked for long: the thread reads as fast as it can
 * write to the file. */
#ifndef VMCTR_CORE_JAIL_LOG_H
#define VMCTR_CORE_JAIL_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct vmctr__boundlog vmctr__boundlog;

#define VMCTR__BOUNDLOG_MARKER "[libvmctr: earlier output dropped, the log is bounded]\n"

/* Create (truncate) path and drain fd (taken: closed by stop) into it, at
 * most cap bytes (>= 4096). */
int vmctr__boundlog_start(vmctr__boundlog **out, int fd, const char *path, uint64_t cap);
/* Copy what is already readable, stop the thread, close, free. NULL is fine. */
void vmctr__boundlog_stop(vmctr__boundlog *b);
/* Bytes written so far in total (before any dropping), for tests. */
uint64_t vmctr__boundlog_total(vmctr__boundlog *b);

#endif
