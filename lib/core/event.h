/* SPDX-License-Identifier: MIT */
/* An event set: one pollable fd that stands for many. It is what an object's
 * get_fd() hands out (see DESIGN.md, "one idiom for everything
 * asynchronous"): the fd polls readable while any watched fd is readable or
 * a notification is pending.
 *
 * Use: poll the fd (or vmctr__evset_wait), then vmctr__evset_drain, then
 * service every source. Watching is level-triggered, so a source that stays
 * readable (a pidfd after its process exited, a socket at EOF) keeps the fd
 * readable: vmctr__evset_del it once handled. Neither implementation uses
 * CPU while nothing changes, whatever stays readable.
 *
 * The fd may report readable once more than needed after a source was
 * serviced (the portable implementation re-checks its sources on drain), so
 * callers must tolerate spurious wake-ups. Watched fds must be pollable
 * (pipes, sockets, pidfds, eventfds, ttys); del an fd before closing it.
 * Every call but free is thread-safe.
 *
 * Two implementations with the same semantics:
 *   vmctr__evset_epoll_*  epoll + eventfd (Linux only);
 *   vmctr__evset_poll_*   poll(2) + pipes + one watcher thread (POSIX).
 * The generic vmctr__evset_* names map to epoll on Linux and to poll
 * elsewhere; the unit tests call both sets directly. */
#ifndef VMCTR_CORE_EVENT_H
#define VMCTR_CORE_EVENT_H

typedef struct vmctr__evset vmctr__evset;

#ifdef __linux__
#define VMCTR__EVSET_EPOLL 1
int vmctr__evset_epoll_new(vmctr__evset **out);
void vmctr__evset_epoll_free(vmctr__evset *s);
int vmctr__evset_epoll_fd(const vmctr__evset *s);
int vmctr__evset_epoll_add(vmctr__evset *s, int fd);
int vmctr__evset_epoll_del(vmctr__evset *s, int fd);
void vmctr__evset_epoll_notify(vmctr__evset *s);
void vmctr__evset_epoll_drain(vmctr__evset *s);
int vmctr__evset_epoll_wait(vmctr__evset *s, int timeout_ms);
#endif

int vmctr__evset_poll_new(vmctr__evset **out);
void vmctr__evset_poll_free(vmctr__evset *s);
int vmctr__evset_poll_fd(const vmctr__evset *s);
int vmctr__evset_poll_add(vmctr__evset *s, int fd);
int vmctr__evset_poll_del(vmctr__evset *s, int fd);
void vmctr__evset_poll_notify(vmctr__evset *s);
void vmctr__evset_poll_drain(vmctr__evset *s);
int vmctr__evset_poll_wait(vmctr__evset *s, int timeout_ms);

#ifdef VMCTR__EVSET_EPOLL
#define VMCTR__EVSET(name) vmctr__evset_epoll_##name
#else
#define VMCTR__EVSET(name) vmctr__evset_poll_##name
#endif

/* 0 and *out set, or VMCTR_E* with detail. */
#define vmctr__evset_new VMCTR__EVSET(new)
/* NULL ok. Closes none of the watched fds. */
#define vmctr__evset_free VMCTR__EVSET(free)
/* The pollable fd (POLLIN). Borrowed: never read or close it. */
#define vmctr__evset_fd VMCTR__EVSET(fd)
/* Watch fd for readability (POLLHUP and POLLERR count), level-triggered.
 * VMCTR_EEXIST if already watched. */
#define vmctr__evset_add VMCTR__EVSET(add)
/* Stop watching fd; VMCTR_ENOENT if it was not watched. */
#define vmctr__evset_del VMCTR__EVSET(del)
/* Thread-safe: make the fd readable until the next drain. */
#define vmctr__evset_notify VMCTR__EVSET(notify)
/* Consume pending notifications; the fd stays readable while a watched fd
 * is readable. */
#define vmctr__evset_drain VMCTR__EVSET(drain)
/* Poll the fd: 1 readable, 0 timed out, <0 VMCTR_E*. timeout_ms < 0 waits
 * forever; EINTR is retried within the same deadline. */
#define vmctr__evset_wait VMCTR__EVSET(wait)

#endif
