/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/child.h"
#include "core/error.h"
#include "core/fd.h"
#include "core/log.h"
#include "core/util.h"
#include "core/time.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

static int sys_pidfd_open(pid_t pid) {
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_close_range(unsigned lo, unsigned hi) {
  return (int)syscall(SYS_close_range, lo, hi, 0);
}

/* In the child between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
child_exec(pid_t parent, int errfd, const char *path, char *const argv[], char *const envp[],
           const vmctr__child_fd *fds, size_t nfds) {
  struct sigaction sa;
  sigset_t none;
  int hi = 3, e;

  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
    goto fail; /* the parent is already gone: don't become an orphan */
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++)
    sigaction(s, &sa, NULL); /* SIGKILL/SIGSTOP and RT internals fail harmlessly */
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);

  for (size_t i = 0; i < nfds; i++)
    if (fds[i].child_fd >= hi)
      hi = fds[i].child_fd + 1;
  /* Lift every source above every target first, so no dup2 clobbers a
   * source that another mapping still needs. */
  int moved[64];
  if (nfds > 64)
    goto fail;
  for (size_t i = 0; i < nfds; i++)
    if ((moved[i] = fcntl(fds[i].parent_fd, F_DUPFD_CLOEXEC, hi)) < 0)
      goto fail;
  if ((e = fcntl(errfd, F_DUPFD_CLOEXEC, hi)) < 0)
    goto fail;
  errfd = e;
  for (int t = 0; t < 3; t++) {
    bool mapped = false;
    for (size_t i = 0; i < nfds; i++)
      mapped |= fds[i].child_fd == t;
    if (!mapped) {
      int n = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (n < 0 || dup2(n, t) < 0)
        goto fail;
      close(n);
    }
  }
  for (size_t i = 0; i < nfds; i++)
    if (dup2(moved[i], fds[i].child_fd) < 0)
      goto fail;
  for (int fd = 3; fd < hi; fd++) {
    bool mapped = false;
    for (size_t i = 0; i < nfds; i++)
      mapped |= fds[i].child_fd == fd;
    if (!mapped)
      close(fd);
  }
  /* Close everything else except errfd (CLOEXEC, it reports exec failure). */
  if (errfd > hi && sys_close_range((unsigned)hi, (unsigned)errfd - 1) < 0)
    goto fail;
  if (sys_close_range((unsigned)errfd + 1, ~0u) < 0 && errno != ENOSYS)
    goto fail;
  execve(path, argv, envp ? envp : environ);
fail:
  e = errno;
  (void)!write(errfd, &e, sizeof(e));
  _exit(127);
}

static void set_status(vmctr__child *c, const siginfo_t *si) {
  c->exited = true;
  if (si->si_code == CLD_EXITED)
    c->status = si->si_status;
  else if (si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED)
    c->status = 128 + si->si_status;
  else
    c->status = -1;
}

int vmctr__child_spawn(vmctr__child *c, const char *name, const char *path, char *const argv[],
                       char *const envp[], const vmctr__child_fd *fds, size_t nfds) {
  int pipefd[2], err = 0, pidfd;
  pid_t pid, self = getpid();
  ssize_t n;

  *c = (vmctr__child)VMCTR__CHILD_INIT;
  snprintf(c->name, sizeof(c->name), "%s", name);
  if (nfds > 64)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: too many fds to pass", name);
  if (pipe2(pipefd, O_CLOEXEC) < 0)
    return vmctr__err_os(errno, "%s: pipe", name);
  pid = fork();
  if (pid < 0) {
    err = errno;
    close(pipefd[0]);
    close(pipefd[1]);
    return vmctr__err_os(err, "cannot start %s: fork", name);
  }
  if (pid == 0)
    child_exec(self, pipefd[1], path, argv, envp, fds, nfds);
  close(pipefd[1]);
  /* The pid cannot be recycled before we reap it, so this pidfd is ours. */
  pidfd = sys_pidfd_open(pid);
  do
    n = read(pipefd[0], &err, sizeof(err));
  while (n < 0 && errno == EINTR);
  close(pipefd[0]);
  c->pid = pid;
  c->pidfd = pidfd;
  if (pidfd < 0) {
    err = errno;
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    *c = (vmctr__child)VMCTR__CHILD_INIT;
    return vmctr__err(err == ENOSYS ? VMCTR_EUNSUPPORTED : vmctr__code_from_errno(err), err,
                      "%s: pidfd_open failed (%s); libvmctr needs Linux 5.4 or newer", name,
                      strerror(err));
  }
  if (n > 0) {
    vmctr__child_release(c);
    *c = (vmctr__child)VMCTR__CHILD_INIT;
    return vmctr__err_os(err, "cannot run %s (%s)", name, path);
  }
  vmctr__log(VMCTR_LOG_DEBUG, "child", "started %s, pid %d", name, (int)pid);
  return 0;
}

int vmctr__child_poll(vmctr__child *c) {
  siginfo_t si;
  if (c->exited || c->pid <= 0)
    return 1;
  memset(&si, 0, sizeof(si));
  if (waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si, WEXITED | WNOHANG) < 0) {
    if (errno == EINTR)
      return 0;
    if (errno == ECHILD) {
      /* The application ignores SIGCHLD, so the kernel reaped it. The pidfd
       * tells whether it is gone. */
      struct pollfd p = {.fd = c->pidfd, .events = POLLIN};
      if (poll(&p, 1, 0) == 1) {
        c->exited = true;
        c->status = -1;
        return 1;
      }
      return 0;
    }
    return vmctr__err_os(errno, "waitid for %s", c->name);
  }
  if (si.si_pid == 0)
    return 0;
  set_status(c, &si);
  vmctr__log(VMCTR_LOG_DEBUG, "child", "%s (pid %d) exited with status %d", c->name, (int)c->pid,
             c->status);
  return 1;
}

int vmctr__child_wait(vmctr__child *c, int timeout_ms) {
  int64_t deadline = vmctr__deadline_ms(timeout_ms);
  for (;;) {
    int r = vmctr__child_poll(c);
    if (r != 0)
      return r < 0 ? r : 0;
    if ((r = vmctr__wait_fd(c->pidfd, POLLIN, deadline)) < 0)
      return vmctr__err_prefix(c->name);
    if (r == 0 && (r = vmctr__child_poll(c)) == 0)
      return vmctr__err(VMCTR_ETIMEDOUT, 0, "%s did not exit within %d ms", c->name, timeout_ms);
    if (r < 0)
      return r;
  }
}

int vmctr__child_signal(vmctr__child *c, int sig) {
  if (c->pid <= 0 || c->exited)
    return 0;
  if (syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
    return vmctr__err_os(errno, "cannot signal %s", c->name);
  return 0;
}

void vmctr__child_release(vmctr__child *c) {
  if (c->pid > 0 && !c->exited) {
    vmctr__child_signal(c, SIGKILL);
    /* SIGKILL cannot be blocked, so the wait ends promptly. */
    if (vmctr__child_wait(c, -1) < 0)
      vmctr__log(VMCTR_LOG_WARN, "child", "could not reap %s (pid %d)", c->name, (int)c->pid);
  }
  if (c->pidfd >= 0)
    close(c->pidfd);
  c->pidfd = -1;
  c->pid = 0;
}

/* Copy what the child writes into sb (at most max bytes, the rest is read
 * and dropped so the child never blocks on a full pipe) until EOF.
 * 0 at EOF, VMCTR_ETIMEDOUT at the deadline, other VMCTR_E* on error. */
static int capture(int fd, int64_t deadline, size_t max, vmctr__strbuf *sb) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
      if (sb->len < max)
        vmctr__sb_append(sb, buf, (size_t)n > max - sb->len ? max - sb->len : (size_t)n);
      continue;
    }
    if (n == 0)
      return 0;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return vmctr__err_os(errno, "read");
    int r = vmctr__wait_fd(fd, POLLIN, deadline);
    if (r <= 0)
      return r < 0 ? r : VMCTR_ETIMEDOUT;
  }
}

int vmctr__run_capture(char *const argv[], int timeout_ms, size_t max, char **out,
                       int *exit_status) {
  vmctr__child c = VMCTR__CHILD_INIT;
  vmctr__strbuf sb = {0};
  int64_t deadline = vmctr__deadline_ms(timeout_ms);
  const char *base = strrchr(argv[0], '/');
  int p[2] = {-1, -1}, r;

  /* Only our end is non-blocking: the child's shares its file description,
   * and a full pipe must make it wait, not fail with EAGAIN. */
  if (vmctr__pipe(p) < 0 || fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) & ~O_NONBLOCK) < 0) {
    r = vmctr__err_os(errno, "cannot run %s: pipe", argv[0]);
    vmctr__close_pipe(p);
    return r;
  }
  /* stdin is /dev/null (unmapped); stdout and stderr share the pipe. */
  vmctr__child_fd fds[] = {{p[1], 1}, {p[1], 2}};
  r = vmctr__child_spawn(&c, base ? base + 1 : argv[0], argv[0], argv, NULL, fds, 2);
  close(p[1]);
  if (r < 0) {
    close(p[0]);
    return r;
  }
  r = capture(p[0], deadline, max, &sb);
  close(p[0]);
  /* EOF only says the output is closed; the child gets the rest of the time
   * to exit. */
  if (r == 0)
    r = vmctr__child_wait(&c, vmctr__remaining_ms(deadline));
  if (r == VMCTR_ETIMEDOUT)
    r = vmctr__err(VMCTR_ETIMEDOUT, 0, "%s did not finish within %d ms; killed", argv[0],
                   timeout_ms);
  if (r < 0)
    goto out;
  vmctr__sb_append(&sb, "", 0); /* a NUL-terminated "" even when there was no output */
  if (!(*out = vmctr__sb_steal(&sb))) {
    r = VMCTR_ENOMEM;
    goto out;
  }
  if (exit_status)
    *exit_status = c.status;
out:
  vmctr__child_release(&c); /* kills a child that is still running, reaps it */
  vmctr__sb_free(&sb);
  return r;
}
