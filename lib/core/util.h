/* SPDX-License-Identifier: MIT */
/* Internal helpers: strings, growable buffers, bounded file I/O, running a
 * command. String vectors: core/strv.h; supervised children: core/child.h. */
#ifndef VMCTR_CORE_UTIL_H
#define VMCTR_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/strv.h" /* callers of vmctr__strv_free/_len include util.h */

#define VMCTR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* strdup that records VMCTR_ENOMEM on failure. s may be NULL (gives NULL, no error). */
char *vmctr__strdup(const char *s);

/* Growable NUL-terminated buffer. On allocation failure it latches `failed`
 * and further appends are no-ops, so callers check once at the end. */
typedef struct vmctr__strbuf {
  char *buf;
  size_t len, cap;
  bool failed;
} vmctr__strbuf;

void vmctr__sb_append(vmctr__strbuf *sb, const char *s, size_t n);
void vmctr__sb_puts(vmctr__strbuf *sb, const char *s);
void vmctr__sb_printf(vmctr__strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the buffer over (NULL and VMCTR_ENOMEM recorded if any append failed). */
char *vmctr__sb_steal(vmctr__strbuf *sb);
void vmctr__sb_free(vmctr__strbuf *sb);

/* Read a whole file of at most max bytes (refused with VMCTR_ETOOBIG beyond).
 * *out is NUL-terminated. Errors name the path. */
int vmctr__read_file(const char *path, size_t max, char **out, size_t *out_len);

/* The same for a file an image or another untrusted party controls: opened
 * O_NONBLOCK, and only a regular file (symlinks followed) is read: a FIFO, socket or device is VMCTR_EINVAL, never a blocking
 * open or read. */
int vmctr__read_file_regular(const char *path, size_t max, char **out, size_t *out_len);
/* The same, and a symbolic link at path is refused too (VMCTR_EINVAL, errno
 * ELOOP): for state files that only the library writes. */
int vmctr__read_file_nofollow(const char *path, size_t max, char **out, size_t *out_len);

/* The same for root/rel, resolved as if root were "/" (a symlink in the
 * tree cannot lead out of it). Only a regular file is read: a FIFO or
 * device is VMCTR_EINVAL, never a blocking open. VMCTR_ENOENT if absent.
 * VMCTR_EUNSUPPORTED where the host cannot resolve in a root safely. */
int vmctr__read_file_in_root(const char *root, const char *rel, size_t max, char **out,
                             size_t *out_len);

/* Read a small text file (sysfs, procfs) into buf, NUL-terminated, trailing
 * newline removed. Returns length or a negative errno-style value (no error
 * detail recorded: absence is usually an answer, not a failure). */
int vmctr__read_line(const char *path, char *buf, size_t size);

/* Write data to path atomically: temp file in the same directory, fsync,
 * rename, fsync of the directory. On failure nothing is left behind and the
 * old file is intact. New files get new_mode; existing files keep theirs. */
int vmctr__write_file_atomic(const char *path, const void *data, size_t len, unsigned new_mode);

/* Find an executable: an absolute or relative path containing '/' is checked
 * as is; a bare name is looked up in PATH. Returns a malloc'd path or NULL. */
char *vmctr__find_executable(const char *name);

/* The library's directory of a kind for this user (malloc'd; NULL and
 * an error recorded on failure): VMCTR__DIR_RUNTIME is $XDG_RUNTIME_DIR/libvmctr,
 * else /run/libvmctr for root, else /tmp/libvmctr-UID; VMCTR__DIR_CACHE is
 * $VMCTR_CACHE_DIR, else $XDG_CACHE_HOME/libvmctr, else /var/cache/libvmctr
 * for root, else ~/.cache/libvmctr, else $XDG_RUNTIME_DIR/libvmctr/cache, else
 * NULL with VMCTR_ENOENT recorded (never a shared /tmp name: see doc/initfs.md). */
#define VMCTR__DIR_RUNTIME 0
#define VMCTR__DIR_CACHE 1
char *vmctr__user_dir(int kind);

/* Run argv (argv[0] is the path; no shell, no PATH search) with stdin from
 * /dev/null, capture up to max bytes of stdout+stderr, and wait at most
 * timeout_ms (< 0: forever) for the output to close and the child to exit;
 * on timeout the child is killed and reaped. Runs on vmctr__child_spawn
 * (core/child.h), so the child gets only fds 0-2 and default signals.
 * *exit_status gets the exit code, 128+signal, or -1 when unknown (the
 * application ignores SIGCHLD, so the kernel reaped it). */
int vmctr__run_capture(char *const argv[], int timeout_ms, size_t max, char **out,
                       int *exit_status);

#endif
