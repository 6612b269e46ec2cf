/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/child.h"
#include "core/error.h"
#include "core/fd.h"
#include "core/jail.h"
#include "core/log.h"
#include "core/util.h"
#include "core/time.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

extern char **environ;

static int sys_pidfd_open(pid_t pid) {
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_close_range(unsigned lo, unsigned hi) {
  return (int)syscall(SYS_close_range, lo, hi, 0);
}

/* What one spawn needs, and what it gave. */
typedef struct spawn_req {
  const char *path;
  char *const *argv, *const *envp;
  const vmctr__child_fd *fds;
  size_t nfds;
  const vmctr__jail *jail;
  int self_pidfd;   /* this process; readable once it is gone */
  sem_t done;
  pid_t pid;        /* > 0 on success */
  int pidfd;
  int notify_fd;    /* the jail's seccomp listener, or -1 */
  int err;
  char step[64];    /* the jail step that failed, "" if none */
} spawn_req;

typedef struct child_err {
  int err;
  char step[64];
} child_err;

static void __attribute__((noreturn)) child_fail(int errfd, const char *step) {
  child_err ce = {.err = errno};
  if (step)
    for (size_t i = 0; i + 1 < sizeof(ce.step) && step[i]; i++)
      ce.step[i] = step[i];
  (void)!write(errfd, &ce, sizeof(ce));
  _exit(127);
}

/* In the child between clone and exec: async-signal-safe calls only. */
static void __attribute__((noreturn)) child_exec(int errfd, const spawn_req *q) {
  struct sigaction sa;
  sigset_t none;
  const vmctr__child_fd *fds = q->fds;
  size_t nfds = q->nfds;
  const char *step = NULL;
  int hi = 3, e;

  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
    child_fail(errfd, "PR_SET_PDEATHSIG");
  /* The process we belong to may have died before PDEATHSIG was armed: then
   * its pidfd is readable and we must not become an orphan. */
  if (q->self_pidfd >= 0) {
    struct pollfd p = {.fd = q->self_pidfd, .events = POLLIN};
    if (poll(&p, 1, 0) != 0)
      _exit(127);
  }
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++)
    sigaction(s, &sa, NULL); /* SIGKILL/SIGSTOP and RT internals fail harmlessly */
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Its own session: the application's terminal signals (Ctrl-C) stay there. */
  if (q->jail && setsid() < 0)
    child_fail(errfd, "setsid");

  for (size_t i = 0; i < nfds; i++)
    if (fds[i].child_fd >= hi)
      hi = fds[i].child_fd + 1;
  /* Lift every source above every target first, so no dup2 clobbers a
   * source that another mapping still needs. */
  int moved[64];
  if (nfds > 64)
    child_fail(errfd, NULL);
  for (size_t i = 0; i < nfds; i++)
    if ((moved[i] = fcntl(fds[i].parent_fd, F_DUPFD_CLOEXEC, hi)) < 0)
      child_fail(errfd, NULL);
  /* The jail's own fds (cgroup.procs, the network namespace) above the
   * targets too, below errfd. */
  vmctr__jail jl = q->jail ? *q->jail : (vmctr__jail)VMCTR__JAIL_INIT;
  if (jl.cgroup_procs_fd >= 0 && (jl.cgroup_procs_fd = fcntl(jl.cgroup_procs_fd, F_DUPFD_CLOEXEC, hi)) < 0)
    child_fail(errfd, NULL);
  if (jl.netns_fd >= 0 && (jl.netns_fd = fcntl(jl.netns_fd, F_DUPFD_CLOEXEC, hi)) < 0)
    child_fail(errfd, NULL);
  if ((e = fcntl(errfd, F_DUPFD_CLOEXEC, hi)) < 0)
    child_fail(errfd, NULL);
  errfd = e;
  for (int t = 0; t < 3; t++) {
    bool mapped = false;
    for (size_t i = 0; i < nfds; i++)
      mapped |= fds[i].child_fd == t;
    if (!mapped) {
      int n = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (n < 0 || dup2(n, t) < 0)
        child_fail(errfd, NULL);
      close(n);
    }
  }
  for (size_t i = 0; i < nfds; i++)
    if (dup2(moved[i], fds[i].child_fd) < 0)
      child_fail(errfd, NULL);
  for (int fd = 3; fd < hi; fd++) {
    bool mapped = false;
    for (size_t i = 0; i < nfds; i++)
      mapped |= fds[i].child_fd == fd;
    if (!mapped)
      close(fd);
  }
  /* The jail (mounts, pivot_root, cgroup, limits, ids) while its fd is open. */
  if (q->jail && vmctr__jail_apply(&jl, &step) < 0)
    child_fail(errfd, step);
  /* The id change re-armed PDEATHSIG: the process may have died meanwhile. */
  if (q->self_pidfd >= 0) {
    struct pollfd p = {.fd = q->self_pidfd, .events = POLLIN};
    if (poll(&p, 1, 0) != 0)
      _exit(127);
  }
  /* Close everything else except errfd (CLOEXEC, it reports exec failure)
   * and the cgroup fd (CLOEXEC as well). */
  if (errfd > hi && sys_close_range((unsigned)hi, (unsigned)errfd - 1) < 0)
    child_fail(errfd, NULL);
  if (sys_close_range((unsigned)errfd + 1, ~0u) < 0 && errno != ENOSYS)
    child_fail(errfd, NULL);
  if (q->jail && vmctr__jail_seccomp(&jl, &step) < 0)
    child_fail(errfd, step);
  if (q->jail && q->jail->notify_rdwr_open) {
    /* The listener goes to the spawner over errfd (a socket then), and
     * leaves this process: a listener the child kept would hold its own
     * opens forever once the spawner closes its copy. */
    int lfd = vmctr__jail_notify_install();
    if (lfd < 0)
      child_fail(errfd, "install the open notification");
    child_err note = {0};
    char ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&note, sizeof(note)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                        .msg_controllen = sizeof(ctl)};
    memset(ctl, 0, sizeof(ctl));
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &lfd, sizeof(int));
    if (sendmsg(errfd, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(note))
      child_fail(errfd, "hand over the open notification");
    close(lfd);
  }
  execve(q->path, q->argv, q->envp ? q->envp : environ);
  child_fail(errfd, "exec");
}

/* Clone (with the jail's namespaces) and wait for exec or its failure. */
static void do_spawn(spawn_req *q) {
  int pipefd[2], pidfd = -1;
  unsigned long flags = CLONE_PIDFD | SIGCHLD;
  child_err ce = {0};
  ssize_t n;

  q->pid = 0;
  q->pidfd = -1;
  q->notify_fd = -1;
  q->err = 0;
  q->step[0] = 0;
  if (q->jail && q->jail->namespaces)
    flags |= CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID;
  /* A socket when the child hands over a listener, else a pipe; either way
   * CLOEXEC, so that exec ends it. */
  bool notify = q->jail && q->jail->notify_rdwr_open;
  if ((notify ? socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pipefd)
              : pipe2(pipefd, O_CLOEXEC)) < 0) {
    q->err = errno;
    snprintf(q->step, sizeof(q->step), "pipe");
    return;
  }
  /* A raw clone: fork semantics (a copy of this stack), plus namespaces
   * and a pidfd that names the child before anyone could reap it. */
  pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, &pidfd, NULL, NULL);
  if (pid == 0) {
    close(pipefd[0]);
    child_exec(pipefd[1], q);
  }
  close(pipefd[1]);
  if (pid < 0) {
    q->err = errno;
    snprintf(q->step, sizeof(q->step), "clone");
    close(pipefd[0]);
    return;
  }
  for (;;) {
    char ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&ce, sizeof(ce)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                        .msg_controllen = notify ? sizeof(ctl) : 0};
    memset(&ce, 0, sizeof(ce));
    if (notify)
      n = recvmsg(pipefd[0], &mh, MSG_CMSG_CLOEXEC);
    else
      n = read(pipefd[0], &ce, sizeof(ce));
    if (n < 0 && errno == EINTR)
      continue;
    struct cmsghdr *cm = notify && n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
        cm->cmsg_len == CMSG_LEN(sizeof(int))) {
      int lfd;
      memcpy(&lfd, CMSG_DATA(cm), sizeof(int));
      if (q->notify_fd >= 0)
        close(q->notify_fd);
      q->notify_fd = lfd;
      if (!ce.err)
        continue; /* the listener; exec or a failure follows */
    }
    break;
  }
  close(pipefd[0]);
  if (n > 0 && q->notify_fd >= 0) {
    close(q->notify_fd);
    q->notify_fd = -1;
  }
  q->pid = pid;
  q->pidfd = pidfd;
  if (n > 0) {
    q->err = ce.err ? ce.err : EIO;
    ce.step[sizeof(ce.step) - 1] = 0;
    memcpy(q->step, ce.step, sizeof(q->step));
  }
}

/* The spawner: one thread that lives as long as the process and forks every
 * child. PR_SET_PDEATHSIG fires when the forking *thread* exits, so children
 * forked here die with the process, never with the thread that asked. */
static struct {
  pthread_mutex_t lock;
  bool started;
  int req[2];
  int self_pidfd;
  pthread_t thread;
  size_t children; /* spawned through it and not yet released */
} spawner = {PTHREAD_MUTEX_INITIALIZER, false, {-1, -1}, -1, 0, 0};

static void *spawner_main(void *arg) {
  int rfd = (int)(intptr_t)arg;
  for (;;) {
    spawn_req *q;
    ssize_t n = read(rfd, &q, sizeof(q));
    if (n == (ssize_t)sizeof(q) && !q)
      return NULL; /* asked to end: no child of ours is left */
    if (n == (ssize_t)sizeof(q)) {
      do_spawn(q);
      sem_post(&q->done);
    } else if (n < 0 && errno != EINTR) {
      return NULL;
    }
  }
}

/* After fork() in the application, the child has no spawner thread. */
static void spawner_atfork_child(void) {
  pthread_mutex_init(&spawner.lock, NULL);
  if (spawner.started) {
    close(spawner.req[0]);
    close(spawner.req[1]);
    if (spawner.self_pidfd >= 0)
      close(spawner.self_pidfd);
  }
  spawner.started = false;
  spawner.children = 0;
  spawner.req[0] = spawner.req[1] = spawner.self_pidfd = -1;
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void register_atfork(void) {
  pthread_atfork(NULL, NULL, spawner_atfork_child);
}

/* The write end of the spawner's request pipe, starting it on first use;
 * -1 if no thread could be started. */
static int spawner_fd(int *self_pidfd) {
  int fd;
  pthread_once(&atfork_once, register_atfork);
  pthread_mutex_lock(&spawner.lock);
  if (!spawner.started && pipe2(spawner.req, O_CLOEXEC) == 0) {
    pthread_t t;
    pthread_attr_t at;
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 256 * 1024);
    /* No application signal is ever delivered to it. */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&t, &at, spawner_main, (void *)(intptr_t)spawner.req[0]);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&at);
    if (r == 0) {
      spawner.thread = t;
      spawner.started = true;
      spawner.self_pidfd = sys_pidfd_open(getpid());
    } else {
      close(spawner.req[0]);
      close(spawner.req[1]);
      spawner.req[0] = spawner.req[1] = -1;
      vmctr__log(VMCTR_LOG_WARN, "child",
                 "cannot start the spawner thread (%s); children die with the thread that "
                 "starts them", strerror(r));
    }
  }
  fd = spawner.started ? spawner.req[1] : -1;
  *self_pidfd = spawner.self_pidfd;
  if (spawner.started)
    spawner.children++; /* held by the request until spawned or failed */
  pthread_mutex_unlock(&spawner.lock);
  return fd;
}

/* One child (or request) fewer; the last one ends and joins the thread. */
static void spawner_put(void) {
  pthread_mutex_lock(&spawner.lock);
  if (spawner.started && spawner.children > 0 && --spawner.children == 0) {
    void *stop = NULL;
    ssize_t n;
    do
      n = write(spawner.req[1], &stop, sizeof(stop));
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof(stop)) {
      pthread_join(spawner.thread, NULL);
      close(spawner.req[0]);
      close(spawner.req[1]);
      if (spawner.self_pidfd >= 0)
        close(spawner.self_pidfd);
      spawner.req[0] = spawner.req[1] = spawner.self_pidfd = -1;
      spawner.started = false;
    }
  }
  pthread_mutex_unlock(&spawner.lock);
}

/* true if the spawner did it (the caller then holds one count). */
static bool spawn_via_spawner(spawn_req *q) {
  int fd = spawner_fd(&q->self_pidfd);
  ssize_t n = -1;
  if (fd >= 0 && sem_init(&q->done, 0, 0) == 0) {
    do
      n = write(fd, &q, sizeof(q));
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof(q))
      while (sem_wait(&q->done) < 0 && errno == EINTR) {
      }
    sem_destroy(&q->done);
  }
  if (n == (ssize_t)sizeof(q))
    return true;
  if (fd >= 0)
    spawner_put();
  q->self_pidfd = -1;
  do_spawn(q);
  return false;
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

int vmctr__child_spawn_jailed(vmctr__child *c, const char *name, const char *path,
                              char *const argv[], char *const envp[], const vmctr__child_fd *fds,
                              size_t nfds, const vmctr__jail *jail) {
  spawn_req q = {.path = path, .argv = argv, .envp = envp, .fds = fds, .nfds = nfds,
                 .jail = jail, .self_pidfd = -1};

  *c = (vmctr__child)VMCTR__CHILD_INIT;
  snprintf(c->name, sizeof(c->name), "%s", name);
  if (nfds > 64)
    return vmctr__err(VMCTR_EINVAL, 0, "%s: too many fds to pass", name);
  bool held = spawn_via_spawner(&q);
  if (q.pid <= 0) {
    if (held)
      spawner_put();
    if (q.err == ENOSYS || q.err == EINVAL)
      return vmctr__err(VMCTR_EUNSUPPORTED, q.err,
                        "cannot start %s: clone with a pidfd failed (%s); libvmctr needs Linux "
                        "5.4 or newer", name, strerror(q.err));
    return vmctr__err_os(q.err, "cannot start %s: %s", name, q.step);
  }
  c->pid = q.pid;
  c->pidfd = q.pidfd;
  c->notify_fd = q.notify_fd;
  c->held = held;
  if (q.err) {
    vmctr__child_release(c);
    *c = (vmctr__child)VMCTR__CHILD_INIT;
    if (q.step[0] && strcmp(q.step, "exec") != 0)
      return vmctr__err_os(q.err, "cannot run %s (%s): jail step \"%s\" failed", name, path,
                           q.step);
    return vmctr__err_os(q.err, "cannot run %s (%s)", name, path);
  }
  vmctr__log(VMCTR_LOG_DEBUG, "child", "started %s, pid %d%s", name, (int)q.pid,
             jail ? (jail->namespaces ? ", jailed" : ", jailed without namespaces") : "");
  return 0;
}

int vmctr__child_spawn(vmctr__child *c, const char *name, const char *path, char *const argv[],
                       char *const envp[], const vmctr__child_fd *fds, size_t nfds) {
  return vmctr__child_spawn_jailed(c, name, path, argv, envp, fds, nfds, NULL);
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
  if (c->notify_fd >= 0)
    close(c->notify_fd);
  c->notify_fd = -1;
  c->pid = 0;
  if (c->held) {
    c->held = false;
    spawner_put();
  }
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
