/* SPDX-License-Identifier: MIT */
/* Mount checks: the syntax of single values (shared by the setters, the JSON
 * reader and the spec parser) and vmctr_mount_validate(), which judges the
 * mount as a whole and looks at its source on the host. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/util.h"
#include "image/store/writable-priv.h"
#include "mount/mount-priv.h"

#define DEST_MAX 4095
#define OPTIONS_MAX 4000 /* the kernel copies at most one page of mount data */
#define TYPE_MAX 63

static bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-';
}

int vmctr__mount_check_destination(const char *dest, int code, const char *what) {
  size_t len;
  if (!dest)
    return vmctr__err(code, 0, "%s: the destination is NULL; give an absolute guest path",
                      what);
  len = strlen(dest);
  if (dest[0] != '/')
    return vmctr__err(code, 0,
                      "%s: destination \"%.256s\" is relative; give an absolute guest path "
                      "such as /data",
                      what, dest);
  if (len == 1)
    return vmctr__err(code, 0,
                      "%s: destination \"/\" would hide the container's root filesystem; "
                      "mount below it",
                      what);
  if (len > DEST_MAX)
    return vmctr__err(code, 0, "%s: destination is %zu bytes long; the limit is %d", what, len,
                      DEST_MAX);
  for (const char *p = dest; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      return vmctr__err(code, 0, "%s: destination \"%.256s\" holds a control character", what,
                        dest);
  /* Walk the components after each '/'. */
  for (const char *c = dest + 1;; ) {
    const char *end = strchr(c, '/');
    size_t n = end ? (size_t)(end - c) : strlen(c);
    if (n == 0)
      return vmctr__err(code, 0,
                        "%s: destination \"%.256s\" is not normalized: remove the repeated or "
                        "trailing '/'",
                        what, dest);
    if (n == 2 && c[0] == '.' && c[1] == '.')
      return vmctr__err(code, 0,
                        "%s: destination \"%.256s\" has a \"..\" component; give the "
                        "normalized path",
                        what, dest);
    if (n == 1 && c[0] == '.')
      return vmctr__err(code, 0,
                        "%s: destination \"%.256s\" has a \".\" component; give the "
                        "normalized path",
                        what, dest);
    if (!end)
      break;
    c = end + 1;
  }
  return 0;
}

int vmctr__mount_check_options(const char *options, int code, const char *what) {
  size_t len = strlen(options);
  if (len > OPTIONS_MAX)
    return vmctr__err(code, 0, "%s: options are %zu bytes long; the limit is %d", what, len,
                      OPTIONS_MAX);
  for (const char *e = options;;) {
    const char *end = strchr(e, ',');
    size_t n = end ? (size_t)(end - e) : strlen(e);
    if (n == 0)
      return vmctr__err(code, 0,
                        "%s: options \"%.256s\" have an empty element; remove the extra ','",
                        what, options);
    for (size_t i = 0; i < n; i++) {
      unsigned char ch = (unsigned char)e[i];
      if (ch <= 0x20 || ch == 0x7f || ch == '"' || ch == '\'' || ch == '\\')
        return vmctr__err(code, 0,
                          "%s: option \"%.*s\" holds a blank, control character, quote or "
                          "backslash; mount options cannot carry them",
                          what, (int)(n > 256 ? 256 : n), e);
    }
    if ((n == 2 && (strncmp(e, "ro", 2) == 0 || strncmp(e, "rw", 2) == 0)))
      return vmctr__err(code, 0,
                        "%s: option \"%.2s\" is not an extra option; set read-only with "
                        "vmctr_mount_set_read_only() (or \"readonly\" in a spec)",
                        what, e);
    if (!end)
      break;
    e = end + 1;
  }
  return 0;
}

int vmctr__mount_check_tag(const char *tag, int code, const char *what) {
  size_t len = strlen(tag);
  if (len == 0 || len > VMCTR_MOUNT_TAG_MAX)
    return vmctr__err(code, 0,
                      "%s: tag \"%.64s\" is %zu bytes long; a virtiofs tag has 1 to %u bytes",
                      what, tag, len, VMCTR_MOUNT_TAG_MAX);
  for (size_t i = 0; i < len; i++)
    if (!is_name_char(tag[i]))
      return vmctr__err(code, 0,
                        "%s: tag \"%s\" may hold only letters, digits, '.', '_' and '-'", what,
                        tag);
  if (strncmp(tag, "vmctr", 5) == 0)
    return vmctr__err(code, 0,
                      "%s: tag \"%s\": tags starting with \"vmctr\" are reserved for generated "
                      "tags; choose another or leave the tag unset",
                      what, tag);
  return 0;
}

int vmctr__mount_check_type(const char *type, int code, const char *what) {
  size_t len;
  if (!type)
    return vmctr__err(code, 0, "%s: the filesystem type is NULL; give one such as \"proc\"",
                      what);
  len = strlen(type);
  if (len == 0 || len > TYPE_MAX)
    return vmctr__err(code, 0, "%s: filesystem type \"%.64s\" must be 1 to %d bytes long", what,
                      type, TYPE_MAX);
  for (size_t i = 0; i < len; i++)
    if (!is_name_char(type[i]))
      return vmctr__err(code, 0,
                        "%s: filesystem type \"%s\" may hold only letters, digits, '.', '_' "
                        "and '-'",
                        what, type);
  return 0;
}

/* Does the comma-separated list hold an element starting with prefix? */
static bool has_option_prefix(const char *options, const char *prefix) {
  size_t pl = strlen(prefix);
  for (const char *e = options; e; e = strchr(e, ',') ? strchr(e, ',') + 1 : NULL)
    if (strncmp(e, prefix, pl) == 0)
      return true;
  return false;
}

/* The host side of a block or share source. */
static int check_host_source(const vmctr_mount *m, const char *what) {
  bool block = m->kind == VMCTR_MOUNT_BLOCK;
  struct stat st;
  if (!m->source)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: a %s mount needs a source; give the host %s", what,
                      vmctr__mount_kind_name(m->kind),
                      block ? "disk image or block device" : "directory");
  if (m->source[0] != '/')
    return vmctr__err(VMCTR_EINVAL, 0,
                      "%s: source \"%s\" is relative; give an absolute host path", what,
                      m->source);
  if (stat(m->source, &st) < 0) {
    if (errno == ENOENT)
      return vmctr__err(VMCTR_ENOENT, ENOENT,
                        "%s: source %s does not exist; %s", what, m->source,
                        block ? "create the image (mke2fs -t ext4 FILE SIZE) or fix the path"
                              : "create the directory or fix the path");
    return vmctr__err_os(errno, "%s: source %s", what, m->source);
  }
  if (block && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "%s: source %s is %s, not a disk image file or block device%s", what,
                      m->source, S_ISDIR(st.st_mode) ? "a directory" : "a special file",
                      S_ISDIR(st.st_mode) ? "; share directories with a share mount" : "");
  /* A share exports a directory, or one regular file (a file share, which
   * needs a destination: a root filesystem is a directory). */
  if (!block && !S_ISDIR(st.st_mode) && !(S_ISREG(st.st_mode) && m->destination))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "%s: source %s is %s; a share exports a directory%s (mount an image with "
                      "a block mount)",
                      what, m->source,
                      S_ISREG(st.st_mode) ? "a file, and a root filesystem is a directory"
                                          : "neither a directory nor a regular file",
                      m->destination ? " or one regular file" : "");
  if (access(m->source, m->read_only ? R_OK : R_OK | W_OK) < 0)
    return vmctr__err(VMCTR_EINVAL, errno,
                      "%s: source %s cannot be %s by this process; fix its permissions%s", what,
                      m->source, m->read_only ? "read" : "read and written",
                      m->read_only ? "" : " or mount it read-only");
  return 0;
}

static int validate_block(const vmctr_mount *m, const char *what) {
  int r;
  if (!vmctr__mount_format_name(m->format))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: unknown block format %u", what, m->format);
  if (!vmctr__mount_image_format_name(m->image_format))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: unknown image format %u", what, m->image_format);
  if (!vmctr__mount_caching_name(m->caching))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: unknown caching mode %u", what, m->caching);
  if (!vmctr__mount_sync_name(m->sync))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: unknown sync mode %u", what, m->sync);
  /* Uncached asks for writes to reach the disk without the host cache, for
   * durability or coherence; sync none then throws away the flushes that make
   * them durable. One of the two is a mistake. */
  if (m->caching == VMCTR_MOUNT_CACHING_UNCACHED && m->sync == VMCTR_MOUNT_SYNC_NONE &&
      !m->read_only)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "%s: caching \"uncached\" with sync \"none\" contradicts itself (bypass "
                      "the host cache, then drop the flushes); use sync \"fsync\", or "
                      "caching \"cached\" for a scratch disk",
                      what);
  if ((r = check_host_source(m, what)) < 0)
    return r;
  if (m->image_format == VMCTR_MOUNT_IMAGE_COW) {
    char *backing = NULL;
    struct stat st;
    if ((r = vmctr__writable_cow_backing(m->source, &backing)) < 0)
      return r;
    if (stat(backing, &st) < 0 || !S_ISREG(st.st_mode) || access(backing, R_OK) < 0)
      r = vmctr__err(VMCTR_EINVAL, errno,
                     "%s: the backing file %s of the copy-on-write disk %s is missing or "
                     "unreadable; keep the image in the store while its containers exist",
                     what, backing, m->source);
    free(backing);
    if (r < 0)
      return r;
  }
  /* An uncached disk is opened with O_DIRECT, which some filesystems (tmpfs)
   * refuse; say so now rather than as a failed VM start. */
#ifdef O_DIRECT /* macOS has F_NOCACHE instead, and no such refusal */
  if (m->caching == VMCTR_MOUNT_CACHING_UNCACHED) {
    int fd = open(m->source, O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (fd < 0 && errno == EINVAL)
      return vmctr__err(VMCTR_EINVAL, EINVAL,
                        "%s: source %s is on a filesystem without O_DIRECT, which caching "
                        "\"uncached\" needs; use caching \"cached\" or move the image",
                        what, m->source);
    if (fd >= 0)
      close(fd);
  }
#endif

  return 0;
}

static int validate_share(const vmctr_mount *m, const char *what) {
  int r;
  if (!vmctr__mount_share_cache_name(m->share_cache))
    return vmctr__err(VMCTR_EINVAL, 0, "%s: unknown share cache mode %u", what,
                      m->share_cache);
  if (m->tag && (r = vmctr__mount_check_tag(m->tag, VMCTR_EINVAL, what)) < 0)
    return r;
  return check_host_source(m, what);
}

static int validate_tmpfs(const vmctr_mount *m, const char *what) {
  if (m->source)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "%s: a tmpfs has no source, and this one has \"%s\"; unset it", what,
                      m->source);
  if (m->read_only)
    return vmctr__err(VMCTR_EINVAL, 0,
                      "%s: a read-only tmpfs is always empty; drop read-only", what);
  if (m->tmpfs_mode > 07777)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: tmpfs mode %o has bits beyond 07777", what,
                      m->tmpfs_mode);
  if (m->options &&
      (has_option_prefix(m->options, "size=") || has_option_prefix(m->options, "mode=")))
    return vmctr__err(VMCTR_EINVAL, 0,
                      "%s: give a tmpfs's size and mode with their own settings, not as "
                      "options",
                      what);
  return 0;
}

int vmctr_mount_validate(const vmctr_mount *m) {
  char what[300];
  int r;
  if (!m)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_mount_validate: m is NULL");
  if (m->destination)
    snprintf(what, sizeof(what), "mount at %.256s", m->destination);
  else
    snprintf(what, sizeof(what), "root filesystem mount of %.256s", m->source ? m->source : "(none)");
  /* No destination: a root filesystem, which only block and share mounts can be. */
  if ((m->destination || (m->kind != VMCTR_MOUNT_BLOCK && m->kind != VMCTR_MOUNT_SHARE)) &&
      (r = vmctr__mount_check_destination(m->destination, VMCTR_EINVAL, what)) < 0)
    return r;
  if (m->options && (r = vmctr__mount_check_options(m->options, VMCTR_EINVAL, what)) < 0)
    return r;
  switch (m->kind) {
  case VMCTR_MOUNT_BLOCK:
    return validate_block(m, what);
  case VMCTR_MOUNT_SHARE:
    return validate_share(m, what);
  case VMCTR_MOUNT_TMPFS:
    return validate_tmpfs(m, what);
  case VMCTR_MOUNT_ANY:
    if (!m->source || !*m->source)
      return vmctr__err(VMCTR_EINVAL, 0, "%s: the source is unset; give one (or \"none\")",
                        what);
    return vmctr__mount_check_type(m->type, VMCTR_EINVAL, what);
  default:
    return vmctr__err(VMCTR_EINVAL, 0, "%s: unknown kind %u", what, m->kind);
  }
}

int vmctr__mount_settle(vmctr_mount *m) {
  struct stat st;
  if (!m || m->kind != VMCTR_MOUNT_SHARE || m->share_type)
    return 0;
  if (!m->source || stat(m->source, &st) < 0)
    return vmctr__err(VMCTR_ENOENT, m->source ? errno : 0,
                      "share %s: the source is gone; create it again or fix the path",
                      m->source ? m->source : "(none)");
  if (S_ISDIR(st.st_mode))
    m->share_type = VMCTR__SHARE_DIR;
  else if (S_ISREG(st.st_mode) && m->destination)
    m->share_type = VMCTR__SHARE_FILE;
  else
    return vmctr__err(VMCTR_EINVAL, 0,
                      "share %s: the source is no longer a directory%s", m->source,
                      m->destination ? " or a regular file" : "");
  return 0;
}

int vmctr__mount_share_is_file(const vmctr_mount *m) {
  return m && m->kind == VMCTR_MOUNT_SHARE && m->share_type == VMCTR__SHARE_FILE;
}
