/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr/common.h
 * @brief Definitions shared by every libvmctr header: export macro, memory release.
 */
#ifndef VMCTR_COMMON_H
#define VMCTR_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define VMCTR_API __attribute__((visibility("default")))
#else
#define VMCTR_API
#endif

#ifdef __cplusplus
#define VMCTR_BEGIN_DECLS extern "C" {
#define VMCTR_END_DECLS }
#else
#define VMCTR_BEGIN_DECLS
#define VMCTR_END_DECLS
#endif

VMCTR_BEGIN_DECLS

/**
 * Release memory that libvmctr allocated for the caller.
 *
 * Every string or buffer that a libvmctr function hands over with "free it
 * with vmctr_free()" in its documentation must be released here, never with
 * the caller's own free(): the library and the caller may use different
 * allocators (a Swift or Rust runtime, a debug heap).
 *
 * @param ptr memory from libvmctr, or NULL (ignored).
 */
VMCTR_API void vmctr_free(void *ptr);

/**
 * Release a NULL-terminated array of strings that libvmctr allocated,
 * and every string in it.
 *
 * @param strv the array, or NULL (ignored).
 */
VMCTR_API void vmctr_strv_free(char **strv);

/**
 * Destroy notifier for callback userdata. libvmctr calls it exactly once,
 * when it no longer needs the userdata that was registered with it.
 */
typedef void (*vmctr_destroy_fn)(void *userdata);

VMCTR_END_DECLS

#endif /* VMCTR_COMMON_H */
