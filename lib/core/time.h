/* SPDX-License-Identifier: MIT */
/* Monotonic time and deadlines. A deadline is an absolute CLOCK_MONOTONIC
 * time in ms, or -1 for "none" (wait forever); loops compute it once and ask
 * for what remains on each pass, so EINTR and partial reads never stretch a
 * timeout. */
#ifndef VMCTR_CORE_TIME_H
#define VMCTR_CORE_TIME_H

#include <stdint.h>
#include <pthread.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t vmctr__now_ms(void);

/* now + timeout_ms, or -1 (no deadline) when timeout_ms < 0. */
int64_t vmctr__deadline_ms(int timeout_ms);

/* What is left of deadline, ready for poll(): -1 when deadline < 0 (forever),
 * else max(0, deadline - now) clamped to INT_MAX. */
int vmctr__remaining_ms(int64_t deadline);

/* The absolute time of deadline (>= 0) for pthread_cond_timedwait on a
 * condition variable whose condattr uses CLOCK_MONOTONIC. Where condattrs
 * cannot select a clock (macOS), it is the equivalent CLOCK_REALTIME time,
 * which is what pthread_cond_timedwait uses there. */
void vmctr__abstime_ms(struct timespec *out, int64_t deadline);

/* Initialize a condition variable for waits with vmctr__abstime_ms(): on
 * the monotonic clock where the host lets a condattr choose it. */
void vmctr__cond_init(pthread_cond_t *cond);

#endif
