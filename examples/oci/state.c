/* SPDX-License-Identifier: MIT */
/* vmctr-oci container state (state.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "state.h"

#define MAX_STATE_BYTES (1024 * 1024)

bool oci_id_valid(const char *id) {
  size_t n = id ? strlen(id) : 0;
  if (n == 0 || n > 64 || !isalnum((unsigned char)id[0]))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!isalnum((unsigned char)id[i]) && !strchr("_.-", id[i]))
      return false;
  return true;
}

int oci_state_dir(char *buf, size_t cap, const char *root, const char *id) {
  int n = snprintf(buf, cap, "%s/%s", root, id);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

void oci_rfc3339_now(char *buf, size_t cap) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t k = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + k, cap - k, ".%09ldZ", ts.tv_nsec);
}

void oci_state_clear(oci_state *st) {
  free(st->bundle);
  free(st->rootfs);
  free(st->created);
  free(st->netns);
  cJSON_Delete(st->annotations);
  memset(st, 0, sizeof(*st));
}

static char *read_small(const char *path, size_t max, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return NULL;
  struct stat sb;
  if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (size_t)sb.st_size > max) {
    close(fd);
    errno = EFBIG;
    return NULL;
  }
  char *buf = malloc((size_t)sb.st_size + 1);
  size_t n = 0;
  while (buf && n < (size_t)sb.st_size) {
    ssize_t r = read(fd, buf + n, (size_t)sb.st_size - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  if (buf)
    buf[n] = '\0';
  *len = n;
  return buf;
}

static char *dup_str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) && v->valuestring ? strdup(v->valuestring) : NULL;
}

int oci_state_load(const char *root, const char *id, oci_state *st, char *err, size_t errlen) {
  char path[4096];
  memset(st, 0, sizeof(*st));
  st->exit_code = -1;
  if (snprintf(path, sizeof(path), "%s/%s/%s", root, id, OCI_STATE_FILE) >= (int)sizeof(path)) {
    snprintf(err, errlen, "the state path is too long");
    errno = ENAMETOOLONG;
    return -1;
  }
  size_t len;
  char *text = read_small(path, MAX_STATE_BYTES, &len);
  if (!text) {
    int e = errno;
    if (e == ENOENT)
      snprintf(err, errlen, "container does not exist");
    else
      snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
    errno = e;
    return -1;
  }
  cJSON *j = cJSON_ParseWithLength(text, len);
  free(text);
  const cJSON *v;
  if (!cJSON_IsObject(j)) {
    cJSON_Delete(j);
    snprintf(err, errlen, "the state file %s is malformed", path);
    errno = EINVAL;
    return -1;
  }
  v = cJSON_GetObjectItemCaseSensitive(j, "id");
  snprintf(st->id, sizeof(st->id), "%s", cJSON_IsString(v) ? v->valuestring : id);
  v = cJSON_GetObjectItemCaseSensitive(j, "status");
  snprintf(st->status, sizeof(st->status), "%s", cJSON_IsString(v) ? v->valuestring : OCI_STOPPED);
  v = cJSON_GetObjectItemCaseSensitive(j, "pid");
  st->pid = cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 4194305 ? (pid_t)v->valuedouble : 0;
  v = cJSON_GetObjectItemCaseSensitive(j, "monitorStart");
  st->start = cJSON_IsNumber(v) && v->valuedouble > 0 ? (unsigned long long)v->valuedouble : 0;
  v = cJSON_GetObjectItemCaseSensitive(j, "exitCode");
  st->exit_code = cJSON_IsNumber(v) ? (int)v->valuedouble : -1;
  st->bundle = dup_str(j, "bundle");
  st->rootfs = dup_str(j, "rootfs");
  st->created = dup_str(j, "created");
  st->netns = dup_str(j, "netns");
  v = cJSON_GetObjectItemCaseSensitive(j, "annotations");
  if (cJSON_IsObject(v))
    st->annotations = cJSON_Duplicate(v, 1);
  cJSON_Delete(j);
  return 0;
}

static cJSON *state_object(const oci_state *st, const char *status, bool internal) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "ociVersion", "1.0.2");
  cJSON_AddStringToObject(j, "id", st->id);
  cJSON_AddNumberToObject(j, "pid", strcmp(status, OCI_STOPPED) == 0 && !internal ? 0 : st->pid);
  cJSON_AddStringToObject(j, "status", status);
  cJSON_AddStringToObject(j, "bundle", st->bundle ? st->bundle : "");
  cJSON_AddStringToObject(j, "rootfs", st->rootfs ? st->rootfs : "");
  cJSON_AddStringToObject(j, "created", st->created ? st->created : "");
  cJSON_AddStringToObject(j, "owner", "");
  if (st->annotations)
    cJSON_AddItemToObject(j, "annotations", cJSON_Duplicate(st->annotations, 1));
  if (internal) {
    cJSON_AddNumberToObject(j, "monitorStart", (double)st->start);
    cJSON_AddNumberToObject(j, "exitCode", st->exit_code);
    if (st->netns)
      cJSON_AddStringToObject(j, "netns", st->netns);
  }
  return j;
}

int oci_state_save(const char *root, const oci_state *st) {
  char path[4096], tmp[4200];
  if (snprintf(path, sizeof(path), "%s/%s/%s", root, st->id, OCI_STATE_FILE) >= (int)sizeof(path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
  cJSON *j = state_object(st, st->status, true);
  char *text = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  if (!text) {
    errno = ENOMEM;
    return -1;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  int rc = -1, e = 0;
  if (fd >= 0) {
    size_t n = strlen(text), off = 0;
    while (off < n) {
      ssize_t w = write(fd, text + off, n - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        break;
      off += (size_t)w;
    }
    if (off == n && fsync(fd) == 0 && close(fd) == 0) {
      fd = -1;
      rc = rename(tmp, path);
    }
    e = errno;
    if (fd >= 0)
      close(fd);
    if (rc < 0)
      unlink(tmp);
  } else {
    e = errno;
  }
  free(text);
  errno = e;
  return rc;
}

unsigned long long oci_proc_start_time(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* After the ")" that ends comm: field 3 (state) onwards; start time is 22. */
  char *p = strrchr(buf, ')');
  if (!p)
    return 0;
  p++;
  if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X'))
    return 0; /* a zombie is not a live monitor */
  for (int field = 2; field < 21 && p; field++)
    p = strchr(p + 1, ' ');
  return p ? strtoull(p + 1, NULL, 10) : 0;
}

bool oci_state_monitor_alive(const oci_state *st) {
  if (st->pid <= 0 || st->start == 0)
    return false;
  return oci_proc_start_time(st->pid) == st->start;
}

const char *oci_state_status(const oci_state *st) {
  if (strcmp(st->status, OCI_STOPPED) == 0 || !oci_state_monitor_alive(st))
    return OCI_STOPPED;
  return st->status;
}

int oci_state_lock(const char *root, const char *id) {
  char dir[4096];
  if (oci_state_dir(dir, sizeof(dir), root, id) < 0) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  if (flock(fd, LOCK_EX) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

char *oci_state_json(const oci_state *st, bool with_status_of_monitor) {
  const char *status = with_status_of_monitor ? oci_state_status(st) : st->status;
  cJSON *j = state_object(st, status, false);
  char *text = cJSON_Print(j);
  cJSON_Delete(j);
  return text;
}

int oci_state_remove(const char *root, const char *id) {
  char dir[4096], path[4200];
  if (oci_state_dir(dir, sizeof(dir), root, id) < 0)
    return -1;
  DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0 : -1;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
  return rmdir(dir) < 0 && errno != ENOENT ? -1 : 0;
}

cJSON *oci_read_json(const char *path, size_t max, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return NULL;
  }
  struct stat sb;
  if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > max) {
    close(fd);
    snprintf(err, errlen, "%s is not a regular file of at most %zu bytes", path, max);
    return NULL;
  }
  size_t n = (size_t)sb.st_size, off = 0;
  char *buf = malloc(n + 1);
  while (buf && off < n) {
    ssize_t r = read(fd, buf + off, n - off);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    off += (size_t)r;
  }
  close(fd);
  if (!buf || off != n) {
    free(buf);
    snprintf(err, errlen, "cannot read %s", path);
    return NULL;
  }
  cJSON *j = cJSON_ParseWithLength(buf, n);
  free(buf);
  if (!cJSON_IsObject(j)) {
    cJSON_Delete(j);
    snprintf(err, errlen, "%s is not a JSON object", path);
    return NULL;
  }
  return j;
}
