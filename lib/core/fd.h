/* SPDX-License-Identifier: MIT */
/* Small file-descriptor helpers shared by every layer. */
#ifndef VMCTR_CORE_FD_H
#define VMCTR_CORE_FD_H

#include <stdint.h>

/* pipe with both ends close-on-exec and non-blocking. 0, or -1 with errno
 * set (no detail recorded: callers name what the pipe was for). An end that
 * becomes a child's stdio must be made blocking again: the child shares its
 * O_NONBLOCK (see vmctr__run_capture). */
int vmctr__pipe(int p[2]);

/* Close both ends that are >= 0 and set them to -1. */
void vmctr__close_pipe(int p[2]);

/* Poll fd for events until deadline (see core/time.h; -1 waits forever),
 * retrying EINTR: 1 when ready (any revents, POLLHUP/POLLERR included),
 * 0 once the deadline has passed, or VMCTR_E* with detail. */
int vmctr__wait_fd(int fd, short events, int64_t deadline);

#endif
