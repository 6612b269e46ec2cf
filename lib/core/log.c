/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/log.h"

/* The handler is reference-counted so that replacing it never runs the old
 * destroy notifier while another thread is still inside the old callback,
 * and no lock is held while user code runs. */
struct handler {
  unsigned refs; /* protected by lock */
  int32_t max_level;
  vmctr_log_fn fn;
  void *userdata;
  vmctr_destroy_fn destroy;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct handler *current;
/* Fast path without the lock: -1 means "no handler". */
static int32_t max_level_cache = -1;

static void handler_unref_locked(struct handler *h, struct handler **to_destroy) {
  if (h && --h->refs == 0)
    *to_destroy = h;
}

static void handler_destroy(struct handler *h) {
  if (!h)
    return;
  if (h->destroy)
    h->destroy(h->userdata);
  free(h);
}

int vmctr_log_set_handler(int32_t max_level, vmctr_log_fn fn, void *userdata,
                          vmctr_destroy_fn destroy) {
  struct handler *h = NULL, *old = NULL, *dead = NULL;
  if (fn && (max_level < VMCTR_LOG_ERROR || max_level > VMCTR_LOG_DEBUG))
    return vmctr__err(VMCTR_EINVAL, 0, "log level %d is out of range (%d..%d)", (int)max_level,
                      VMCTR_LOG_ERROR, VMCTR_LOG_DEBUG);
  if (fn) {
    h = calloc(1, sizeof(*h));
    if (!h)
      return vmctr__err_nomem();
    h->refs = 1;
    h->max_level = max_level;
    h->fn = fn;
    h->userdata = userdata;
    h->destroy = destroy;
  }
  pthread_mutex_lock(&lock);
  old = current;
  current = h;
  __atomic_store_n(&max_level_cache, h ? h->max_level : -1, __ATOMIC_RELEASE);
  handler_unref_locked(old, &dead);
  pthread_mutex_unlock(&lock);
  handler_destroy(dead);
  return 0;
}

void vmctr__log(int level, const char *domain, const char *fmt, ...) {
  struct handler *h, *dead = NULL;
  char buf[2048];
  va_list ap;

  if (level > __atomic_load_n(&max_level_cache, __ATOMIC_ACQUIRE))
    return;
  pthread_mutex_lock(&lock);
  h = current;
  if (h)
    h->refs++;
  pthread_mutex_unlock(&lock);
  if (!h)
    return;
  if (level <= h->max_level) {
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    h->fn(level, domain, buf, h->userdata);
  }
  pthread_mutex_lock(&lock);
  handler_unref_locked(h, &dead);
  pthread_mutex_unlock(&lock);
  handler_destroy(dead);
}
