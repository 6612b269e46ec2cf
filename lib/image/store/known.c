/* SPDX-License-Identifier: MIT */
/* Sources imported before, so that importing (or running) one again does not
 * read it again. An archive is known by its file identity (device, inode,
 * size, modification and change times) and, when that changed, by its
 * content digest; a layout directory by its index.json, whose digests pin
 * every blob under it. Each key also holds the architecture chosen. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/util.h"
#include "image/store/store-priv.h"

#define INDEX_MAX (4u << 20)

static void stat_key(const struct stat *st, const char *arch, char key[VMCTR__KNOWN_KEY]) {
  snprintf(key, VMCTR__KNOWN_KEY, "file:%s:%llu:%llu:%llu:%lld.%09ld:%lld.%09ld", arch,
           (unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
           (unsigned long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
           (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
}

/* "digest:ARCH:HEX" of the file's content; false if it cannot be read. */
static bool digest_key(const char *path, const char *arch, char key[VMCTR__KNOWN_KEY]) {
  vmctr__sha256 c;
  uint8_t d[32], *buf;
  char hex[65];
  ssize_t n;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    return false;
  if (!(buf = malloc(1u << 20))) {
    close(fd);
    return false;
  }
  vmctr__sha256_init(&c);
  while ((n = read(fd, buf, 1u << 20)) > 0)
    vmctr__sha256_update(&c, buf, (size_t)n);
  close(fd);
  free(buf);
  if (n < 0) {
    vmctr__sha256_clear(&c);
    return false;
  }
  vmctr__sha256_final(&c, d);
  vmctr__sha256_hex(d, hex);
  snprintf(key, VMCTR__KNOWN_KEY, "digest:%s:%s", arch, hex);
  return true;
}

/* "layout:ARCH:HEX of index.json"; false if there is none to read. */
static bool layout_key(const char *dir, const char *arch, char key[VMCTR__KNOWN_KEY]) {
  char *path = vmctr__path_join(dir, "index.json"), *text = NULL, hex[65];
  size_t len;
  uint8_t d[32];
  vmctr__sha256 c;
  int r = path ? vmctr__read_file_regular(path, INDEX_MAX, &text, &len) : VMCTR_ENOMEM;
  free(path);
  if (r < 0)
    return false;
  vmctr__sha256_init(&c);
  vmctr__sha256_update(&c, text, len);
  vmctr__sha256_final(&c, d);
  vmctr__sha256_hex(d, hex);
  free(text);
  snprintf(key, VMCTR__KNOWN_KEY, "layout:%s:%s", arch, hex);
  return true;
}

int vmctr__known_source(vmctr_image_store *s, const char *source, const char *arch,
                        vmctr__known *k, char hex[VMCTR__DIGEST_HEX + 1]) {
  struct stat st;
  int r;
  memset(k, 0, sizeof(*k));
  snprintf(k->arch, sizeof(k->arch), "%s", arch);
  if (stat(source, &st) < 0)
    return 0; /* "PATH:REF" and the like: not remembered */
  if (S_ISDIR(st.st_mode)) {
    if (!layout_key(source, arch, k->content))
      return 0;
    return vmctr__store_record_lookup(s, "sources", k->content, hex);
  }
  if (!S_ISREG(st.st_mode))
    return 0;
  stat_key(&st, arch, k->identity);
  if ((r = vmctr__store_record_lookup(s, "sources", k->identity, hex)) != 0)
    return r;
  if (!digest_key(source, arch, k->content))
    return 0;
  if ((r = vmctr__store_record_lookup(s, "sources", k->content, hex)) <= 0)
    return r;
  /* The same content under a new identity (a copy, a touch): remember that too. */
  (void)vmctr__store_record_set(s, "sources", k->identity, hex);
  return 1;
}

void vmctr__known_source_put(vmctr_image_store *s, const char *source, const vmctr__known *k,
                             const char *hex) {
  struct stat st;
  char now[VMCTR__KNOWN_KEY];
  if (k->content[0])
    (void)vmctr__store_record_set(s, "sources", k->content, hex);
  /* Only if the file did not change while it was read. */
  if (k->identity[0] && stat(source, &st) == 0) {
    stat_key(&st, k->arch, now);
    if (strcmp(now, k->identity) == 0)
      (void)vmctr__store_record_set(s, "sources", k->identity, hex);
  }
}
