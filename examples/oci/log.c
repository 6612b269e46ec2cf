/* SPDX-License-Identifier: MIT */
/* vmctr-oci's log (log.h). Each message is one write(2) of one line to a
 * file opened O_APPEND, so that the runtime, its monitor and its exec
 * monitors can share one log file without interleaving inside lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef OCI_FRONT
#include <vmctr.h>
#endif

#include "log.h"

static int log_fd = -1;     /* -1: stderr (or nowhere once detached) */
static bool log_json;
static bool log_no_stderr;
static int log_max = OCI_LOG_INFO;

void oci_log_set_level(int max_level) { log_max = max_level; }

void oci_log_open(const char *path, bool json) {
  log_json = json;
  if (!path || !*path)
    return;
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
  if (fd < 0) {
    fprintf(stderr, "vmctr-oci: cannot open the log %s: %s\n", path, strerror(errno));
    return;
  }
  if (log_fd >= 0)
    close(log_fd);
  log_fd = fd;
}

void oci_log_detach_stderr(void) { log_no_stderr = true; }

/* A JSON string's body: quotes, backslashes and control bytes escaped. */
static size_t json_escape(char *out, size_t cap, const char *s) {
  size_t n = 0;
  for (; *s && n + 7 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      out[n++] = '\\';
      out[n++] = (char)c;
    } else if (c < 0x20) {
      n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
    } else {
      out[n++] = (char)c;
    }
  }
  out[n] = '\0';
  return n;
}

void oci_vlog(int level, const char *fmt, va_list ap) {
  static const char *names[] = {"error", "warning", "info", "debug"};
  char msg[4096], esc[8192], line[8448], stamp[64];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  if (level < 0 || level > OCI_LOG_DEBUG)
    level = OCI_LOG_ERROR;
  if (level > log_max)
    return;
  int fd = log_fd;
  if (fd < 0) {
    if (log_no_stderr)
      return;
    fd = STDERR_FILENO;
  }
  int len;
  if (log_json) {
    /* RFC 3339 with nanoseconds and the UTC offset, as Go's time.RFC3339Nano
     * parses it (the shim decodes "time" into a time.Time). */
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + k, sizeof(stamp) - k, ".%09ldZ", ts.tv_nsec);
    json_escape(esc, sizeof(esc), msg);
    len = snprintf(line, sizeof(line), "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
                   names[level], esc, stamp);
  } else {
    len = snprintf(line, sizeof(line), "vmctr-oci: %s%s\n",
                   level == OCI_LOG_ERROR ? "" : level == OCI_LOG_WARN ? "warning: " : "", msg);
  }
  if (len < 0)
    return;
  if ((size_t)len >= sizeof(line))
    len = (int)sizeof(line) - 1;
  ssize_t w;
  do
    w = write(fd, line, (size_t)len);
  while (w < 0 && errno == EINTR);
}

void oci_log(int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  oci_vlog(level, fmt, ap);
  va_end(ap);
}

#ifndef OCI_FRONT
static void from_library(int32_t level, const char *domain, const char *message, void *userdata) {
  (void)userdata;
  oci_log(level <= VMCTR_LOG_ERROR ? OCI_LOG_WARN : (int)level, "libvmctr [%s] %s", domain, message);
}

void oci_log_library(int max_level) {
  vmctr_log_set_handler(max_level, from_library, NULL, NULL);
}
#endif
