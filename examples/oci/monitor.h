/* SPDX-License-Identifier: MIT */
/* vmctr-oci: the processes that stand for a container on the host.
 *
 * The monitor is forked by `create` and lives as long as the container: it
 * owns the vmctr_container (the VM), its pid is the one in --pid-file, and
 * it exits with the init process's status (128+N for a signal). Signals
 * sent to it go to the init process. The other commands talk to it over a
 * SOCK_SEQPACKET socket in the state directory, one JSON object per
 * message, file descriptors passed with SCM_RIGHTS.
 *
 * An exec monitor stands for one exec'd process in the same way: its stdio
 * (or the pty it made) is handed to the monitor with the exec request, it
 * forwards the signals it receives, and exits with that process's status. */
#ifndef VMCTR_OCI_MONITOR_H
#define VMCTR_OCI_MONITOR_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "ctl.h"
#include "spec.h"


struct oci_monitor_args {
  const char *root, *id;
  const char *console_socket; /* with process.terminal */
  oci_spec *spec;
  int to_parent, from_parent; /* the create command's pipes */
};

/* Run the monitor (in the child of `create`); never returns. It writes
 * "ns\n" to to_parent once its network namespace is in place, waits for
 * "go\n" (the hooks ran), and then writes "ok\n" or "err MESSAGE\n". */
void oci_monitor_main(struct oci_monitor_args *a) __attribute__((noreturn));


/* Open a pty pair sized rows x cols (0: untouched), the slave raw. */
int oci_open_pty(int *master, int *slave, unsigned rows, unsigned cols, char *err, size_t errlen);
/* Send the pty master over the console socket at path (SCM_RIGHTS). */
int oci_console_send(const char *path, int master, char *err, size_t errlen);

struct oci_exec_args {
  const char *root, *id;
  cJSON *process;             /* the process object (owned by the caller) */
  bool terminal;
  const char *console_socket; /* detached with a terminal */
  bool detach;
  int to_parent;              /* detached: "ok PID\n" or "err MESSAGE\n"; else -1 */
};

/* Run an exec monitor: start the process through the container's monitor
 * and mirror it. Returns the exit status to exit with (never returns
 * before the process ends, unless it fails to start: then 255 and, when
 * to_parent is -1, the error is logged). */
int oci_exec_monitor(struct oci_exec_args *a);

#endif
