/* SPDX-License-Identifier: MIT */
#include <limits.h>

#include "core/time.h"

int64_t vmctr__now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t vmctr__deadline_ms(int timeout_ms) {
  return timeout_ms < 0 ? -1 : vmctr__now_ms() + timeout_ms;
}

int vmctr__remaining_ms(int64_t deadline) {
  int64_t left;
  if (deadline < 0)
    return -1;
  left = deadline - vmctr__now_ms();
  if (left <= 0)
    return 0;
  return left > INT_MAX ? INT_MAX : (int)left;
}

void vmctr__abstime_ms(struct timespec *out, int64_t deadline) {
  int64_t ms = deadline < 0 ? 0 : deadline;
#ifdef __APPLE__
  /* No pthread_condattr_setclock: shift the deadline onto the realtime clock. */
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + (ms - vmctr__now_ms());
#endif
  out->tv_sec = (time_t)(ms / 1000);
  out->tv_nsec = (long)(ms % 1000) * 1000000L;
}

void vmctr__cond_init(pthread_cond_t *cond) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
#ifndef __APPLE__
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
#endif
  pthread_cond_init(cond, &ca);
  pthread_condattr_destroy(&ca);
}
