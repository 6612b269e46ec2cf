/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr/error.h
 * @brief Error codes and the per-thread error detail.
 *
 * Every fallible libvmctr function returns an int: 0 (or a count) on success
 * and one of the negative VMCTR_E* codes below on failure. The codes have the
 * same values on every platform and are never renumbered; they are not errno
 * values. The detail of the most recent failure on the calling thread (a
 * message that says what to do, the code, and the OS errno if one was
 * involved) is available from vmctr_error_last().
 */
#ifndef VMCTR_ERROR_H
#define VMCTR_ERROR_H

#include "vmctr/common.h"

/** Success. */
#define VMCTR_OK 0
/** A failure that fits no other code; read the message. */
#define VMCTR_EGENERIC (-1)
/** An argument, option or configuration value is invalid. */
#define VMCTR_EINVAL (-2)
/** Out of memory. */
#define VMCTR_ENOMEM (-3)
/** A file, object or key does not exist. */
#define VMCTR_ENOENT (-4)
/** The object already exists. */
#define VMCTR_EEXIST (-5)
/** The resource is in use. */
#define VMCTR_EBUSY (-6)
/** The host, the build or the platform cannot do this. */
#define VMCTR_EUNSUPPORTED (-7)
/** A deadline passed. */
#define VMCTR_ETIMEDOUT (-8)
/** An I/O operation failed (see the OS errno in the detail). */
#define VMCTR_EIO (-9)
/** Permission denied by the OS. */
#define VMCTR_EPERM (-10)
/** Input is malformed: bad JSON, a wrong type, a bad archive. */
#define VMCTR_EPARSE (-11)
/** Input is larger than the library accepts. */
#define VMCTR_ETOOBIG (-12)
/** The object is not in a state that allows this operation. */
#define VMCTR_ESTATE (-13)
/** A peer (a guest, a child process) broke its protocol. */
#define VMCTR_EPROTO (-14)
/** The operation was cancelled. */
#define VMCTR_ECANCELED (-15)
/** No space left: a disk, a network's address range. */
#define VMCTR_ENOSPC (-16)
/** Not now: a buffer is full; try again once the peer has made room. */
#define VMCTR_EAGAIN (-17)

/**
 * Detail of the last failure on the calling thread.
 *
 * The library owns this structure. Fields may be appended in later versions,
 * never removed or reordered.
 */
typedef struct vmctr_error {
  /** The VMCTR_E* code that the failing call returned (0 if none). */
  int32_t code;
  /** The OS errno behind the failure, or 0 if none was involved. */
  int32_t os_errno;
  /** A UTF-8 message for humans; never NULL. */
  const char *message;
} vmctr_error;

VMCTR_BEGIN_DECLS

/**
 * The static name and description of an error code, e.g. for VMCTR_ENOENT
 * "no such file, object or key". Unknown codes give "unknown error".
 * Never NULL; never free it.
 */
VMCTR_API const char *vmctr_strerror(int code);

/**
 * The detail of the most recent failure on the calling thread.
 *
 * Never NULL. If no libvmctr call has failed on this thread (or after
 * vmctr_error_clear()), code is 0 and message is "no error". Successful calls
 * do not clear it, so read it right after a call returned a negative code.
 * The structure stays valid until the next libvmctr call on the same thread.
 */
VMCTR_API const vmctr_error *vmctr_error_last(void);

/** Forget the calling thread's last error. */
VMCTR_API void vmctr_error_clear(void);

VMCTR_END_DECLS

#endif /* VMCTR_ERROR_H */
