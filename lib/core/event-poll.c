/* SPDX-License-Identifier: MIT */
/* vmctr__evset on poll(2), pipes and one watcher thread, for systems without
 * epoll (POSIX only: no Linux API here).
 *
 * The set's fd is the read end of the "ready" pipe. notify writes a byte to
 * it. The watcher thread polls the watched fds (and its control pipe); when
 * one is readable it writes a byte too and stops watching ("fired"), so a
 * source that stays readable costs nothing. drain empties the pipe and, if
 * the watcher had fired, re-checks the watched fds itself: still readable
 * means a byte goes back (the fd stays readable), otherwise the watcher is
 * re-armed. Readiness is therefore level-triggered as seen at each drain. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/error.h"
#include "core/event.h"
#include "core/fd.h"
#include "core/time.h"

struct vmctr__evset {
  pthread_mutex_t lock;
  pthread_cond_t cond; /* signalled when the watcher leaves poll(pfd) */
  pthread_t thread;
  int ready[2];        /* ready[0] is the set's fd */
  int ctl[2];          /* wakes the watcher */
  struct pollfd *pfd;  /* [0] ctl[0], [1..n] the watched fds */
  size_t n, cap;       /* watched fds; entries allocated in pfd */
  bool armed;          /* the watcher polls pfd; false once it fired */
  bool in_poll;        /* the watcher is inside poll(pfd): pfd must not move */
  int editing;         /* add/del at work: the watcher keeps out of pfd */
  bool stop;
};

#define READY_EVENTS (POLLIN | POLLHUP | POLLERR)

static void poke(int fd) {
  char c = 1;
  /* EAGAIN: the pipe is full, so it is readable anyway. */
  while (write(fd, &c, 1) < 0 && errno == EINTR) {
  }
}

static void empty_pipe(int fd) {
  char buf[64];
  ssize_t n;
  do
    n = read(fd, buf, sizeof(buf));
  while (n > 0 || (n < 0 && errno == EINTR));
}

/* After a poll of the watched entries: true if one is readable. An fd that
 * was closed while watched (POLLNVAL) is masked (negative fds are skipped by
 * poll) rather than reported for ever, as epoll forgets closed fds. Lock
 * held and the watcher out of pfd. */
static bool any_ready(vmctr__evset *s) {
  bool ready = false;
  for (size_t i = 1; i <= s->n; i++) {
    if (s->pfd[i].revents & POLLNVAL)
      s->pfd[i].fd = -1 - s->pfd[i].fd;
    else if (s->pfd[i].revents & READY_EVENTS)
      ready = true;
  }
  return ready;
}

static void *watcher(void *arg) {
  vmctr__evset *s = arg;
  pthread_mutex_lock(&s->lock);
  while (!s->stop) {
    if (s->armed && !s->editing) {
      nfds_t n = (nfds_t)s->n + 1;
      int r;
      s->in_poll = true;
      pthread_mutex_unlock(&s->lock);
      r = poll(s->pfd, n, -1);
      pthread_mutex_lock(&s->lock);
      s->in_poll = false;
      pthread_cond_broadcast(&s->cond);
      if (r > 0 && any_ready(s)) {
        poke(s->ready[1]);
        s->armed = false;
      }
    } else {
      struct pollfd c = {.fd = s->ctl[0], .events = POLLIN};
      pthread_mutex_unlock(&s->lock);
      (void)poll(&c, 1, -1);
      pthread_mutex_lock(&s->lock);
    }
    empty_pipe(s->ctl[0]);
  }
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

/* What new made before the thread: closed and freed. */
static void release(vmctr__evset *s) {
  vmctr__close_pipe(s->ready);
  vmctr__close_pipe(s->ctl);
  free(s->pfd);
  free(s);
}

int vmctr__evset_poll_new(vmctr__evset **out) {
  vmctr__evset *s = calloc(1, sizeof(*s));
  sigset_t all, old;
  int e;
  if (!s)
    return vmctr__err_nomem();
  s->ready[0] = s->ready[1] = s->ctl[0] = s->ctl[1] = -1;
  s->cap = 8;
  if (!(s->pfd = malloc(s->cap * sizeof(*s->pfd)))) {
    release(s);
    return vmctr__err_nomem();
  }
  if (vmctr__pipe(s->ready) < 0 || vmctr__pipe(s->ctl) < 0) {
    e = errno;
    release(s);
    return vmctr__err_os(e, "cannot create an event set");
  }
  s->pfd[0] = (struct pollfd){.fd = s->ctl[0], .events = POLLIN};
  s->armed = true;
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->cond, NULL);
  /* The application's signals go to its own threads, never to ours. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  e = pthread_create(&s->thread, NULL, watcher, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e != 0) {
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    release(s);
    return vmctr__err_os(e, "cannot create an event set: thread");
  }
  *out = s;
  return 0;
}

void vmctr__evset_poll_free(vmctr__evset *s) {
  if (!s)
    return;
  pthread_mutex_lock(&s->lock);
  s->stop = true;
  poke(s->ctl[1]);
  pthread_mutex_unlock(&s->lock);
  pthread_join(s->thread, NULL);
  pthread_cond_destroy(&s->cond);
  pthread_mutex_destroy(&s->lock);
  release(s);
}

int vmctr__evset_poll_fd(const vmctr__evset *s) { return s->ready[0]; }

/* Index of fd in pfd (masked entries included), or 0. Lock held. */
static size_t find(const vmctr__evset *s, int fd) {
  for (size_t i = 1; i <= s->n; i++)
    if (s->pfd[i].fd == fd || s->pfd[i].fd == -1 - fd)
      return i;
  return 0;
}

/* Get the watcher out of pfd and keep it out until end_edit. Lock held. */
static void begin_edit(vmctr__evset *s) {
  s->editing++;
  poke(s->ctl[1]);
  while (s->in_poll)
    pthread_cond_wait(&s->cond, &s->lock);
}

static void end_edit(vmctr__evset *s) {
  s->editing--;
  poke(s->ctl[1]); /* re-poll with the new set */
}

int vmctr__evset_poll_add(vmctr__evset *s, int fd) {
  int r = 0;
  pthread_mutex_lock(&s->lock);
  if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
    r = vmctr__err_os(fd < 0 ? EBADF : errno, "cannot watch fd %d", fd);
    goto out;
  }
  if (find(s, fd)) {
    r = vmctr__err_os(EEXIST, "cannot watch fd %d", fd);
    goto out;
  }
  begin_edit(s);
  if (s->n + 2 > s->cap) {
    struct pollfd *np = realloc(s->pfd, s->cap * 2 * sizeof(*np));
    if (!np) {
      r = vmctr__err_nomem();
      end_edit(s);
      goto out;
    }
    s->pfd = np;
    s->cap *= 2;
  }
  s->pfd[++s->n] = (struct pollfd){.fd = fd, .events = POLLIN};
  end_edit(s);
out:
  pthread_mutex_unlock(&s->lock);
  return r;
}

int vmctr__evset_poll_del(vmctr__evset *s, int fd) {
  size_t i;
  int r = 0;
  pthread_mutex_lock(&s->lock);
  if (!(i = find(s, fd))) {
    r = vmctr__err_os(ENOENT, "cannot stop watching fd %d", fd);
    goto out;
  }
  begin_edit(s);
  s->pfd[i] = s->pfd[s->n--];
  end_edit(s);
out:
  pthread_mutex_unlock(&s->lock);
  return r;
}

void vmctr__evset_poll_notify(vmctr__evset *s) { poke(s->ready[1]); }

void vmctr__evset_poll_drain(vmctr__evset *s) {
  pthread_mutex_lock(&s->lock);
  empty_pipe(s->ready[0]);
  /* A watcher that fired is out of pfd (it only polls while armed). */
  if (!s->armed) {
    int r;
    do
      r = poll(s->pfd + 1, (nfds_t)s->n, 0);
    while (r < 0 && errno == EINTR);
    if (r > 0 && any_ready(s)) {
      poke(s->ready[1]);
    } else {
      s->armed = true;
      poke(s->ctl[1]);
    }
  }
  pthread_mutex_unlock(&s->lock);
}

int vmctr__evset_poll_wait(vmctr__evset *s, int timeout_ms) {
  return vmctr__wait_fd(s->ready[0], POLLIN, vmctr__deadline_ms(timeout_ms));
}
