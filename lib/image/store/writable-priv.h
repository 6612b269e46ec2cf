/* SPDX-License-Identifier: MIT */
/* What other layers need to know of the writable disks writable.c makes. */
#ifndef VMCTR_IMAGE_STORE_WRITABLE_PRIV_H
#define VMCTR_IMAGE_STORE_WRITABLE_PRIV_H

#include <stdint.h>

/* The backing file of a copy-on-write disk (form VMCTR_IMAGE_WRITABLE_COW)
 * at path: the absolute path its header names. Only the header is read
 * (never the guest's blocks), and only for a disk the caller declared
 * copy-on-write: a raw disk is never probed for a header. *backing_out is
 * set on success; free it. Returns 0, VMCTR_EINVAL (not such a disk) or
 * VMCTR_ENOMEM. */
int vmctr__writable_cow_backing(const char *path, char **backing_out);

/* The size the guest sees of the copy-on-write disk at path (its header's
 * virtual size). Returns 0 or VMCTR_EINVAL (not such a disk). */
int vmctr__writable_cow_size(const char *path, uint64_t *size_out);

#endif
