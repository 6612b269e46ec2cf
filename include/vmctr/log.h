/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr/log.h
 * @brief Diagnostics: libvmctr never prints; it hands messages to a callback.
 */
#ifndef VMCTR_LOG_H
#define VMCTR_LOG_H

#include "vmctr/common.h"

/** Something failed. */
#define VMCTR_LOG_ERROR 0
/** Something surprising that the library worked around (e.g. a fallback to TCG). */
#define VMCTR_LOG_WARN 1
/** Milestones (a VM booted, an image was imported). */
#define VMCTR_LOG_INFO 2
/** Detail for debugging (command lines, probe steps). */
#define VMCTR_LOG_DEBUG 3

VMCTR_BEGIN_DECLS

/**
 * Log callback.
 *
 * Called on the thread that produced the message, possibly on several threads
 * at once: make it thread-safe. It must not call vmctr_log_set_handler().
 *
 * @param level    VMCTR_LOG_*.
 * @param domain   the library area, e.g. "caps", "bootcfg"; static, never NULL.
 * @param message  one line of UTF-8 without a trailing newline; valid only
 *                 during the call.
 * @param userdata what was registered with vmctr_log_set_handler().
 */
typedef void (*vmctr_log_fn)(int32_t level, const char *domain, const char *message,
                             void *userdata);

/**
 * Install the process-wide log handler, replacing the previous one.
 *
 * The previous handler's destroy notifier runs once no thread is still inside
 * that handler, on whichever thread lets go of it last (this one, or a thread
 * that was logging at that moment). A handler still installed when the
 * process exits is never destroyed. Without a handler (the default) messages
 * are discarded. Every failing libvmctr call logs its error message at
 * VMCTR_LOG_DEBUG in the domain "error".
 *
 * @param max_level the most verbose level delivered (VMCTR_LOG_ERROR to VMCTR_LOG_DEBUG).
 * @param fn        the callback, or NULL to remove the handler (userdata and
 *                  destroy are then ignored).
 * @param userdata  passed to fn and to destroy.
 * @param destroy   called with userdata when the handler is replaced or removed; may be NULL.
 * @return 0, or VMCTR_EINVAL for a bad level or VMCTR_ENOMEM; on failure the
 *         previous handler stays and destroy is not called.
 */
VMCTR_API int vmctr_log_set_handler(int32_t max_level, vmctr_log_fn fn, void *userdata,
                                    vmctr_destroy_fn destroy);

VMCTR_END_DECLS

#endif /* VMCTR_LOG_H */
