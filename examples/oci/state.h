/* SPDX-License-Identifier: MIT */
/* vmctr-oci: a container's state under --root. Each container has a
 * directory ROOT/ID holding vmctr-oci.json (written whole to a temporary
 * name and renamed), the monitor's control socket ctl.sock, and nothing
 * else of the runtime's. Commands that change a container hold an flock on
 * its directory. The monitor is identified by pid and start time, so that a
 * reused pid is not taken for a live monitor. */
#ifndef VMCTR_OCI_STATE_H
#define VMCTR_OCI_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#define OCI_STATE_FILE "vmctr-oci.json"
#define OCI_CTL_SOCKET "ctl.sock"
#define OCI_DEFAULT_ROOT "/run/vmctr-oci"

/* OCI status names */
#define OCI_CREATING "creating"
#define OCI_CREATED "created"
#define OCI_RUNNING "running"
#define OCI_STOPPED "stopped"

typedef struct oci_state {
  char id[65];
  char status[16];
  pid_t pid;                  /* the monitor; 0 until known */
  unsigned long long start;   /* its start time (/proc/PID/stat field 22) */
  char *bundle;
  char *rootfs;
  char *created;              /* RFC 3339 */
  char *netns;                /* the pod network's namespace, if any (teardown) */
  int exit_code;              /* once stopped: the init's, -1 unknown */
  cJSON *annotations;         /* owned, may be NULL */
} oci_state;

/* Whether id is a valid container id (as the library's: 1..64 of
 * [a-zA-Z0-9][a-zA-Z0-9_.-]*). */
bool oci_id_valid(const char *id);
/* ROOT/ID into buf; -1 if it does not fit. */
int oci_state_dir(char *buf, size_t cap, const char *root, const char *id);

/* Load ROOT/ID's state; 0, or -1 with errno ENOENT (no such container) or
 * another errno (unreadable or malformed: err says why). */
int oci_state_load(const char *root, const char *id, oci_state *st, char *err, size_t errlen);
/* Write it atomically; 0 or -1 (errno). */
int oci_state_save(const char *root, const oci_state *st);
void oci_state_clear(oci_state *st);

/* The start time of pid, 0 if it does not exist. */
unsigned long long oci_proc_start_time(pid_t pid);
/* Whether the monitor that st names is alive (pid and start time match). */
bool oci_state_monitor_alive(const oci_state *st);
/* The status to report: the file's, or "stopped" when its monitor is gone. */
const char *oci_state_status(const oci_state *st);

/* flock(LOCK_EX) on ROOT/ID; returns the fd to close, or -1 (errno). */
int oci_state_lock(const char *root, const char *id);

/* The OCI state document of st (what `state` prints), malloc'd. */
char *oci_state_json(const oci_state *st, bool with_status_of_monitor);

/* Remove ROOT/ID and what it holds (the runtime's own files only). */
int oci_state_remove(const char *root, const char *id);

/* Read a JSON object from a regular file of at most max bytes. NULL with
 * err on failure. */
cJSON *oci_read_json(const char *path, size_t max, char *err, size_t errlen);

/* Now in RFC 3339 with nanoseconds, UTC, into buf. */
void oci_rfc3339_now(char *buf, size_t cap);

#endif
