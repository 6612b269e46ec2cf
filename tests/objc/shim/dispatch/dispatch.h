/* SPDX-License-Identifier: MIT */
/* Shim for the Objective-C syntax check (tests/objc) -- NOT Apple's header.
 *
 * A hand-written, declared-only subset of libdispatch (Grand Central
 * Dispatch), transcribed from Apple's public documentation, so that macOS
 * code using queues and semaphores can be syntax-checked on Debian 12, which
 * packages no libdispatch. Nothing here is ever linked or run.
 *
 * Simplification: on Apple platforms the dispatch types are Objective-C
 * objects (OS_OBJECT_USE_OBJC); here they are opaque C pointers. Code that
 * sends Objective-C messages to a queue or semaphore is therefore not
 * checked; passing them around, which is all the vz code needs, is. */
#ifndef VMCTR_SHIM_DISPATCH_DISPATCH_H
#define VMCTR_SHIM_DISPATCH_DISPATCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vmctr_shim_dispatch_queue_s *dispatch_queue_t;
typedef struct vmctr_shim_dispatch_queue_attr_s *dispatch_queue_attr_t;
typedef struct vmctr_shim_dispatch_semaphore_s *dispatch_semaphore_t;

/* Nanoseconds; DISPATCH_TIME_NOW and DISPATCH_TIME_FOREVER are special. */
typedef uint64_t dispatch_time_t;
#define DISPATCH_TIME_NOW (0ull)
#define DISPATCH_TIME_FOREVER (~0ull)

#define NSEC_PER_SEC 1000000000ull
#define NSEC_PER_MSEC 1000000ull
#define USEC_PER_SEC 1000000ull
#define NSEC_PER_USEC 1000ull

typedef void (^dispatch_block_t)(void);

/* A serial queue is requested with a NULL attribute. */
#define DISPATCH_QUEUE_SERIAL ((dispatch_queue_attr_t)0)

dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t attr);
dispatch_queue_t dispatch_get_main_queue(void);
void dispatch_async(dispatch_queue_t queue, dispatch_block_t block);
void dispatch_sync(dispatch_queue_t queue, dispatch_block_t block);

dispatch_time_t dispatch_time(dispatch_time_t when, int64_t delta);

/* Runs block once per process, whatever the threads. */
typedef intptr_t dispatch_once_t;
void dispatch_once(dispatch_once_t *predicate, dispatch_block_t block);

dispatch_semaphore_t dispatch_semaphore_create(intptr_t value);
/* Returns zero on success, non-zero if the timeout occurred. */
intptr_t dispatch_semaphore_wait(dispatch_semaphore_t dsema, dispatch_time_t timeout);
/* Returns non-zero if a thread was woken. */
intptr_t dispatch_semaphore_signal(dispatch_semaphore_t dsema);

#ifdef __cplusplus
}
#endif

#endif
