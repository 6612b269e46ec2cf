/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr/progress.h
 * @brief Progress reports for long operations (image import, unpack, disk images).
 *
 * A long operation calls the caller's progress function on the calling
 * thread, between units of work, never more than a few times per second per
 * item plus once at the start and end of each item. The report is borrowed:
 * it and its strings are valid only during the call.
 */
#ifndef VMCTR_PROGRESS_H
#define VMCTR_PROGRESS_H

#include <stdint.h>

#include "vmctr/common.h"

VMCTR_BEGIN_DECLS

/** Phases named in vmctr_progress.phase. */
#define VMCTR_PROGRESS_VERIFY 1u  /**< checking a blob against its digest */
#define VMCTR_PROGRESS_UNPACK 2u  /**< applying a layer into a rootfs */
#define VMCTR_PROGRESS_COPY   3u  /**< copying blobs into a store */
#define VMCTR_PROGRESS_DISK   4u  /**< building a disk image */

/**
 * One progress report. Fields only ever get appended; check `version`.
 * Totals are 0 when not known yet.
 */
typedef struct vmctr_progress {
  uint32_t version;         /**< 1 */
  uint32_t phase;           /**< a VMCTR_PROGRESS_* value */
  const char *item;         /**< what is being worked on, e.g. a layer digest; may be NULL */
  uint32_t item_index;      /**< 0-based index of the item */
  uint32_t item_count;      /**< number of items in the operation */
  uint64_t item_bytes_done;     /**< bytes done in this item (compressed input where compressed) */
  uint64_t item_bytes_total;    /**< bytes in this item */
  uint64_t item_entries_done;   /**< entries (files, links, dirs) done in this item */
  uint64_t item_entries_total;  /**< entries in this item; 0 while unknown (tar streams) */
  uint64_t bytes_done;      /**< bytes done over the whole operation */
  uint64_t bytes_total;     /**< bytes in the whole operation */
} vmctr_progress;

/**
 * Progress callback. Runs on the thread that called the long operation.
 * Return 0 to go on; any other value cancels the operation, which then fails
 * with VMCTR_ECANCELED and cleans up as for any other failure.
 */
typedef int (*vmctr_progress_fn)(const vmctr_progress *progress, void *userdata);

VMCTR_END_DECLS

#endif /* VMCTR_PROGRESS_H */
