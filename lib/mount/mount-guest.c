/* SPDX-License-Identifier: MIT */
/* A mount as the guest agent performs it (the mount(2) request), and the
 * names that tie a host-side device to it (disk serial, share tag). Pure,
 * and the same for every backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/util.h"
#include "mount/mount-priv.h"

void vmctr__mount_serial(uint32_t index, char buf[24]) {
  snprintf(buf, 24, "vmctr-mnt%u", index);
}

void vmctr__mount_auto_tag(uint32_t index, char buf[24]) {
  snprintf(buf, 24, "vmctr-fs%u", index);
}

/* ---- the guest request ---- */

static const struct {
  const char *name;
  uint64_t flag;
  bool set; /* false: the option clears the flag */
} flag_options[] = {
  {"nosuid", VMCTR__MS_NOSUID, true},         {"suid", VMCTR__MS_NOSUID, false},
  {"nodev", VMCTR__MS_NODEV, true},           {"dev", VMCTR__MS_NODEV, false},
  {"noexec", VMCTR__MS_NOEXEC, true},         {"exec", VMCTR__MS_NOEXEC, false},
  {"sync", VMCTR__MS_SYNCHRONOUS, true},      {"async", VMCTR__MS_SYNCHRONOUS, false},
  {"dirsync", VMCTR__MS_DIRSYNC, true},       {"noatime", VMCTR__MS_NOATIME, true},
  {"atime", VMCTR__MS_NOATIME, false},        {"nodiratime", VMCTR__MS_NODIRATIME, true},
  {"diratime", VMCTR__MS_NODIRATIME, false},  {"relatime", VMCTR__MS_RELATIME, true},
  {"norelatime", VMCTR__MS_RELATIME, false},  {"strictatime", VMCTR__MS_STRICTATIME, true},
  {"nostrictatime", VMCTR__MS_STRICTATIME, false}, {"lazytime", VMCTR__MS_LAZYTIME, true},
  {"nolazytime", VMCTR__MS_LAZYTIME, false},  {"defaults", 0, true},
};

/* Split the extra options into flags and filesystem data (appended to sb). */
static void split_options(const char *options, uint64_t *flags, vmctr__strbuf *data) {
  for (const char *e = options; e && *e;) {
    const char *end = strchr(e, ',');
    size_t n = end ? (size_t)(end - e) : strlen(e), i;
    for (i = 0; i < VMCTR_ARRAY_SIZE(flag_options); i++)
      if (strlen(flag_options[i].name) == n && strncmp(e, flag_options[i].name, n) == 0)
        break;
    if (i < VMCTR_ARRAY_SIZE(flag_options)) {
      if (flag_options[i].set)
        *flags |= flag_options[i].flag;
      else
        *flags &= ~flag_options[i].flag;
    } else {
      if (data->len)
        vmctr__sb_puts(data, ",");
      vmctr__sb_append(data, e, n);
    }
    e = end ? end + 1 : NULL;
  }
}

void vmctr__mount_request_clear(vmctr__mount_request *req) {
  free(req->source);
  free(req->file);
  free(req->target);
  free(req->fstype);
  free(req->data);
  memset(req, 0, sizeof(*req));
}

int vmctr__mount_guest_request(const vmctr_mount *m, uint32_t index, vmctr__mount_request *out) {
  vmctr__mount_request req = {0};
  vmctr__strbuf data = {0};
  char name[24];
  const char *source;
  bool want_data;

  if (!m || !out)
    return vmctr__err(VMCTR_EINVAL, 0, "mount request: NULL argument");
  if (index > VMCTR__MOUNT_INDEX_MAX)
    return vmctr__err(VMCTR_EINVAL, 0, "mount request: index %u is past the limit of %u mounts",
                      index, VMCTR__MOUNT_INDEX_MAX + 1);
  switch (m->kind) {
  case VMCTR_MOUNT_BLOCK:
    vmctr__mount_serial(index, name);
    vmctr__sb_printf(&data, "vmctr-blk:%s", name);
    req.source = vmctr__sb_steal(&data);
    break;
  case VMCTR_MOUNT_SHARE:
    if (!m->tag)
      vmctr__mount_auto_tag(index, name);
    req.source = vmctr__strdup(m->tag ? m->tag : name);
    if (vmctr__mount_share_is_file(m) && !(req.file = vmctr__strdup(VMCTR__SHARE_FILE_NAME))) {
      vmctr__mount_request_clear(&req);
      vmctr__sb_free(&data);
      return vmctr__err_nomem();
    }
    break;
  case VMCTR_MOUNT_TMPFS:
    req.source = vmctr__strdup("tmpfs");
    /* Size and mode first: they are the tmpfs's own settings. */
    if (m->tmpfs_size)
      vmctr__sb_printf(&data, "size=%llu,", (unsigned long long)m->tmpfs_size);
    vmctr__sb_printf(&data, "mode=%04o", m->tmpfs_mode);
    break;
  default:
    source = m->source ? m->source : "none";
    req.source = vmctr__strdup(source);
    break;
  }
  if (m->read_only)
    req.flags |= VMCTR__MS_RDONLY;
  split_options(m->options, &req.flags, &data);
  /* A root filesystem has no destination: the caller says where it goes. */
  req.target = m->destination ? vmctr__strdup(m->destination) : NULL;
  req.fstype = vmctr__strdup(vmctr_mount_type(m));
  want_data = data.len || data.failed;
  if (want_data)
    req.data = vmctr__sb_steal(&data);
  vmctr__sb_free(&data);
  if (!req.source || (m->destination && !req.target) || !req.fstype || (want_data && !req.data)) {
    vmctr__mount_request_clear(&req);
    return vmctr__err_nomem();
  }
  *out = req;
  return 0;
}
