/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/util.h"

extern char **environ;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for exactly our child; never touches other children of the host
 * process and needs no SIGCHLD handler. */
static int reap(pid_t pid, int *status) {
  for (;;) {
    pid_t r = waitpid(pid, status, 0);
    if (r == pid)
      return 0;
    if (r < 0 && errno == EINTR)
      continue;
    return -errno;
  }
}

int vmctr__run_capture(char *const argv[], int timeout_ms, size_t max, char **out,
                       int *exit_status) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none, all;
  int pipefd[2] = {-1, -1};
  vmctr__strbuf sb = {0};
  pid_t pid;
  int r, st = 0;
  bool timed_out = false;
  int64_t deadline = now_ms() + timeout_ms;

  if (pipe2(pipefd, O_CLOEXEC) < 0)
    return vmctr__err_os(errno, "pipe");
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  posix_spawnattr_init(&attr);
  /* The child starts with default signal dispositions and an empty mask,
   * whatever the host application has set up. */
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  r = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(pipefd[1]);
  if (r != 0) {
    close(pipefd[0]);
    return vmctr__err_os(r, "cannot run %s", argv[0]);
  }

  for (;;) {
    struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
    int64_t left = deadline - now_ms();
    char buf[4096];
    ssize_t n;
    if (left <= 0) {
      timed_out = true;
      break;
    }
    r = poll(&pfd, 1, (int)left);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      timed_out = r == 0;
      break;
    }
    n = read(pipefd[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (sb.len < max)
      vmctr__sb_append(&sb, buf, (size_t)n > max - sb.len ? max - sb.len : (size_t)n);
  }
  close(pipefd[0]);
  if (timed_out)
    kill(pid, SIGKILL);
  r = reap(pid, &st);
  if (r < 0) {
    /* ECHILD: the application ignores SIGCHLD, so the kernel reaped it for us. */
    if (r != -ECHILD) {
      vmctr__sb_free(&sb);
      return vmctr__err_os(-r, "waitpid for %s", argv[0]);
    }
    st = 0;
  }
  if (timed_out) {
    vmctr__sb_free(&sb);
    return vmctr__err(VMCTR_ETIMEDOUT, 0, "%s did not finish within %d ms; killed", argv[0],
                      timeout_ms);
  }
  if (!sb.buf)
    vmctr__sb_append(&sb, "", 0);
  *out = vmctr__sb_steal(&sb);
  if (!*out)
    return VMCTR_ENOMEM;
  if (exit_status)
    *exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return 0;
}
