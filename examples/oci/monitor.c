/* SPDX-License-Identifier: MIT */
/* vmctr-oci monitors (monitor.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <vmctr.h>

#include "log.h"
#include "ctl.h"
#include "monitor.h"
#include "podnet.h"
#include "state.h"

#define MAX_CLIENTS 64

static int fmt_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fmt_err(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

static const char *lib_msg(void) {
  const vmctr_error *e = vmctr_error_last();
  return e && e->message ? e->message : "failed";
}

/* ---- ptys and the console socket ---- */

int oci_open_pty(int *master, int *slave, unsigned rows, unsigned cols, char *err, size_t errlen) {
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  if (openpty(master, slave, NULL, NULL, rows && cols ? &ws : NULL) < 0)
    return fmt_err(err, errlen, "cannot open a pty: %s", strerror(errno));
  /* The guest's pty does the line discipline; this one only carries bytes. */
  struct termios t;
  if (tcgetattr(*slave, &t) == 0) {
    cfmakeraw(&t);
    tcsetattr(*slave, TCSANOW, &t);
  }
  fcntl(*master, F_SETFD, FD_CLOEXEC);
  fcntl(*slave, F_SETFD, FD_CLOEXEC);
  return 0;
}

int oci_console_send(const char *path, int master, char *err, size_t errlen) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path))
    return fmt_err(err, errlen, "console socket path %s is too long", path);
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return fmt_err(err, errlen, "console socket %s: %s", path, strerror(e));
  }
  /* As runc: the pty's name as the data, the master as the right. */
  char name[128] = "/dev/ptmx";
  ptsname_r(master, name, sizeof(name));
  struct iovec iov = {name, strlen(name)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof(u));
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                      .msg_controllen = sizeof(u.buf)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &master, sizeof(int));
  ssize_t w;
  do
    w = sendmsg(fd, &mh, MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  int e = errno;
  close(fd);
  return w < 0 ? fmt_err(err, errlen, "console socket %s: %s", path, strerror(e)) : 0;
}

/* /dev/null over 0, 1 and 2. */
static void null_stdio(void) {
  int n = open("/dev/null", O_RDWR);
  if (n < 0)
    return;
  for (int i = 0; i < 3; i++)
    if (n != i)
      dup2(n, i);
  if (n > 2)
    close(n);
}

/* Every catchable signal blocked and readable on a signalfd. */
static int signal_fd(void) {
  sigset_t set;
  sigfillset(&set);
  sigdelset(&set, SIGKILL);
  sigdelset(&set, SIGSTOP);
  sigdelset(&set, SIGSEGV);
  sigdelset(&set, SIGBUS);
  sigdelset(&set, SIGFPE);
  sigdelset(&set, SIGILL);
  sigdelset(&set, SIGABRT);
  sigprocmask(SIG_BLOCK, &set, NULL);
  return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Host signal numbers are Linux's here (the runtime is Linux-only), as the
 * guest numbers them. */
static bool forwardable(int sig) {
  return sig != SIGCHLD && sig != SIGWINCH && sig != SIGPIPE && sig != SIGURG;
}

/* Signals whose default action ends a process: the fate of a created
 * container's init (which has not run yet) when it receives one. */
static bool terminates(int sig) {
  return sig == SIGHUP || sig == SIGINT || sig == SIGQUIT || sig == SIGKILL || sig == SIGTERM ||
         sig == SIGUSR1 || sig == SIGUSR2 || sig == SIGALRM || sig == SIGPIPE || sig == SIGABRT ||
         (sig >= SIGRTMIN && sig <= SIGRTMAX) || sig == SIGXCPU || sig == SIGXFSZ || sig == SIGVTALRM ||
         sig == SIGPROF || sig == SIGIO || sig == SIGSYS || sig == SIGTRAP;
}

/* ---- the monitor ---- */

struct client {
  int fd;
  pid_t pid;              /* the peer (an exec monitor), from SO_PEERCRED */
  vmctr_process *proc;    /* an exec'd process this client stands for */
  bool exited;
};

struct monitor {
  struct oci_monitor_args *a;
  vmctr_container *c;
  vmctr_process *init;
  int listen_fd, sig_fd, tty_slave;
  bool started, init_done;
  int exit_status;        /* 128+N for a signal */
  struct client clients[MAX_CLIENTS];
  size_t nclients;
  oci_state st;
  oci_podnet *pn;
  const char *netns_for_teardown;
};

static void reply_err(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply_err(int fd, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  cJSON *r = cJSON_CreateObject();
  cJSON_AddStringToObject(r, "error", msg);
  oci_msg_send(fd, r, NULL, 0);
  cJSON_Delete(r);
}

static void reply_ok(int fd, cJSON *r) {
  if (!r)
    r = cJSON_CreateObject();
  cJSON_AddBoolToObject(r, "ok", 1);
  oci_msg_send(fd, r, NULL, 0);
  cJSON_Delete(r);
}

static int status_of(int32_t code, int32_t sig) { return sig > 0 ? 128 + sig : code; }

static void save_state(struct monitor *m, const char *status) {
  snprintf(m->st.status, sizeof(m->st.status), "%s", status);
  if (oci_state_save(m->a->root, &m->st) < 0)
    oci_log(OCI_LOG_WARN, "cannot write the state of %s: %s", m->a->id, strerror(errno));
}

static void drop_client(struct monitor *m, size_t i) {
  struct client *cl = &m->clients[i];
  if (cl->proc && !cl->exited) {
    /* Its exec monitor is gone (killed): the process goes with it. */
    vmctr_process_kill(cl->proc, VMCTR_SIGKILL);
  }
  vmctr_process_free(cl->proc);
  close(cl->fd);
  m->clients[i] = m->clients[--m->nclients];
}

static void handle_start(struct monitor *m, int fd) {
  if (m->started) {
    reply_err(fd, m->init_done ? "cannot start a container that has stopped"
                               : "cannot start an already running container");
    return;
  }
  if (vmctr_container_start(m->c) < 0) {
    reply_err(fd, "start: %s", lib_msg());
    return;
  }
  m->started = true;
  m->init = vmctr_container_init_process(m->c);
  /* The init has its copies of the stdio descriptors now (a pty slave stays
   * open: it is this process's controlling terminal, for SIGWINCH). */
  null_stdio();
  save_state(m, OCI_RUNNING);
  reply_ok(fd, NULL);
}

static void finish(struct monitor *m, int status) __attribute__((noreturn));

static void handle_kill(struct monitor *m, int fd, const cJSON *req) {
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(req, "signal");
  bool all = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "all"));
  if (!cJSON_IsNumber(s) || s->valueint < 0 || s->valueint > 64) {
    reply_err(fd, "kill: a signal number of 0..64 is needed");
    return;
  }
  int sig = s->valueint;
  if (m->init_done) {
    reply_err(fd, "container not running");
    return;
  }
  if (all)
    for (size_t i = 0; i < m->nclients; i++)
      if (m->clients[i].proc && !m->clients[i].exited)
        vmctr_process_kill(m->clients[i].proc, sig);
  if (!m->started) {
    /* A created container's init has not run: a signal that would end it
     * ends the container; others do nothing, as for a process that has not
     * reached its program yet with default dispositions. */
    reply_ok(fd, NULL);
    if (terminates(sig))
      finish(m, 128 + sig);
    return;
  }
  if (sig != 0 && vmctr_process_kill(m->init, sig) < 0) {
    reply_err(fd, "kill: %s", lib_msg());
    return;
  }
  reply_ok(fd, NULL);
}

static void handle_exec(struct monitor *m, size_t ci, const cJSON *req, int *fds, size_t nfds) {
  struct client *cl = &m->clients[ci];
  char err[1024];
  bool terminal = false;
  vmctr_process_config *p = NULL;
  if (!m->started || m->init_done || cl->proc) {
    reply_err(cl->fd, m->init_done ? "cannot exec in a stopped container"
                                   : !m->started ? "cannot exec in a container that has not started"
                                                 : "one process per exec connection");
    goto out;
  }
  if (nfds != 3) {
    reply_err(cl->fd, "exec: three stdio descriptors are needed");
    goto out;
  }
  const cJSON *proc = cJSON_GetObjectItemCaseSensitive(req, "process");
  if (oci_process_from_json(proc, &p, &terminal, err,
                            sizeof(err)) < 0 ||
      oci_apply_seccomp(m->a->spec, p, err, sizeof(err)) < 0) {
    reply_err(cl->fd, "exec: %s", err);
    goto out;
  }
  if (vmctr_process_config_set_stdio(p, fds[0], fds[1], fds[2]) < 0 ||
      vmctr_container_exec(m->c, p, &cl->proc) < 0) {
    reply_err(cl->fd, "exec: %s", lib_msg());
    cl->proc = NULL;
    goto out;
  }
  cJSON *r = cJSON_CreateObject();
  cJSON_AddNumberToObject(r, "pid", vmctr_process_pid(cl->proc));
  reply_ok(cl->fd, r);
out:
  vmctr_process_config_free(p);
  for (size_t i = 0; i < nfds; i++)
    close(fds[i]);
}

static void handle_ps(struct monitor *m, int fd) {
  cJSON *r = cJSON_CreateObject(), *pids = cJSON_AddArrayToObject(r, "pids");
  cJSON_AddItemToArray(pids, cJSON_CreateNumber(getpid()));
  for (size_t i = 0; i < m->nclients; i++)
    if (m->clients[i].proc && !m->clients[i].exited && m->clients[i].pid > 0)
      cJSON_AddItemToArray(pids, cJSON_CreateNumber(m->clients[i].pid));
  reply_ok(fd, r);
}

static void handle_client(struct monitor *m, size_t ci) {
  cJSON *req = NULL;
  int fds[3] = {-1, -1, -1};
  size_t nfds = 0;
  int r = oci_msg_recv(m->clients[ci].fd, &req, fds, 3, &nfds);
  if (r <= 0) {
    drop_client(m, ci);
    return;
  }
  const cJSON *op = cJSON_GetObjectItemCaseSensitive(req, "op");
  const char *o = cJSON_IsString(op) ? op->valuestring : "";
  int fd = m->clients[ci].fd;
  if (strcmp(o, "exec") == 0) {
    handle_exec(m, ci, req, fds, nfds);
    nfds = 0;
  } else if (strcmp(o, "start") == 0) {
    handle_start(m, fd);
  } else if (strcmp(o, "kill") == 0) {
    handle_kill(m, fd, req);
  } else if (strcmp(o, "ps") == 0) {
    handle_ps(m, fd);
  } else if (strcmp(o, "signal") == 0 || strcmp(o, "resize") == 0) {
    /* From an exec monitor, about its process. */
    struct client *cl = &m->clients[ci];
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(req, "signal");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(req, "rows");
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(req, "cols");
    if (cl->proc && !cl->exited) {
      if (o[1] == 'i' && cJSON_IsNumber(s) && s->valueint > 0 && s->valueint <= 64)
        vmctr_process_kill(cl->proc, s->valueint);
      else if (o[1] == 'e' && cJSON_IsNumber(rows) && cJSON_IsNumber(cols) && rows->valueint > 0 &&
               cols->valueint > 0 && rows->valueint < 65536 && cols->valueint < 65536)
        vmctr_process_resize(cl->proc, (uint32_t)rows->valueint, (uint32_t)cols->valueint);
    }
  } else {
    reply_err(fd, "unknown request \"%s\"", o);
  }
  for (size_t i = 0; i < nfds; i++)
    close(fds[i]);
  cJSON_Delete(req);
}

static void accept_client(struct monitor *m) {
  int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0)
    return;
  if (m->nclients == MAX_CLIENTS) {
    reply_err(fd, "too many connections to this container's monitor");
    close(fd);
    return;
  }
  struct ucred cr = {0};
  socklen_t len = sizeof(cr);
  getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len);
  m->clients[m->nclients++] = (struct client){.fd = fd, .pid = cr.pid};
}

/* An exec'd process ended: tell its exec monitor. */
static void exec_exited(struct monitor *m, struct client *cl, int status) {
  cl->exited = true;
  cJSON *r = cJSON_CreateObject();
  cJSON_AddNumberToObject(r, "exit", status);
  oci_msg_send(cl->fd, r, NULL, 0);
  cJSON_Delete(r);
}

static void finish(struct monitor *m, int status) {
  /* The init is done: the container is stopped. Exec'd processes die with
   * the guest; their monitors are told 137 if the guest said nothing. */
  m->init_done = true;
  m->st.exit_code = status;
  save_state(m, OCI_STOPPED);
  vmctr_container_stop(m->c, 1000);
  for (size_t i = 0; i < m->nclients; i++) {
    struct client *cl = &m->clients[i];
    if (cl->proc && !cl->exited) {
      int32_t code = -1, sig = -1;
      if (vmctr_process_wait(cl->proc, 0, &code, &sig) == 0)
        exec_exited(m, cl, status_of(code, sig));
      else
        exec_exited(m, cl, 128 + SIGKILL);
    }
  }
  vmctr_container_free(m->c);
  m->c = NULL;
  if (m->pn && m->netns_for_teardown) {
    char err[256];
    if (oci_podnet_teardown(m->netns_for_teardown, err, sizeof(err)) < 0)
      oci_log(OCI_LOG_WARN, "pod network teardown: %s", err);
  }
  oci_log(OCI_LOG_DEBUG, "container %s exited with status %d", m->a->id, status);
  _exit(status & 0xff);
}

static void monitor_loop(struct monitor *m) {
  for (;;) {
    struct pollfd pf[4 + 2 * MAX_CLIENTS];
    size_t n = 0;
    pf[n++] = (struct pollfd){m->listen_fd, POLLIN, 0};
    pf[n++] = (struct pollfd){m->sig_fd, POLLIN, 0};
    pf[n++] = (struct pollfd){vmctr_container_event_fd(m->c), POLLIN, 0};
    pf[n++] = (struct pollfd){m->init ? vmctr_process_event_fd(m->init) : -1, POLLIN, 0};
    size_t base = n;
    for (size_t i = 0; i < m->nclients; i++) {
      pf[n++] = (struct pollfd){m->clients[i].fd, POLLIN, 0};
      pf[n++] = (struct pollfd){m->clients[i].proc && !m->clients[i].exited
                                    ? vmctr_process_event_fd(m->clients[i].proc) : -1, POLLIN, 0};
    }
    if (poll(pf, n, -1) < 0) {
      if (errno == EINTR)
        continue;
      oci_log(OCI_LOG_ERROR, "monitor poll: %s", strerror(errno));
      finish(m, 255);
    }
    if (pf[2].revents) {
      int32_t s = vmctr_container_dispatch(m->c);
      if (s == VMCTR_CONTAINER_FAILED || s == VMCTR_CONTAINER_STOPPED) {
        oci_log(OCI_LOG_ERROR, "the VM of container %s stopped unexpectedly", m->a->id);
        finish(m, 128 + SIGKILL);
      }
    }
    if (m->init && pf[3].revents) {
      vmctr_process_dispatch(m->init);
      int32_t code = -1, sig = -1;
      if (vmctr_process_wait(m->init, 0, &code, &sig) == 0)
        finish(m, status_of(code, sig));
    }
    if (pf[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(m->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGWINCH && m->init && m->tty_slave >= 0) {
          struct winsize ws;
          if (ioctl(m->tty_slave, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
            vmctr_process_resize(m->init, ws.ws_row, ws.ws_col);
        } else if (forwardable(sig)) {
          if (m->init)
            vmctr_process_kill(m->init, sig);
          else if (terminates(sig))
            finish(m, 128 + sig);
        }
      }
    }
    /* Exec'd processes and their clients, last to first (drop_client moves
     * the last one into the slot it frees). */
    for (size_t i = m->nclients; i-- > 0;) {
      size_t k = base + 2 * i;
      struct client *cl = &m->clients[i];
      if (k + 1 < n && pf[k + 1].fd >= 0 && pf[k + 1].revents && cl->proc && !cl->exited) {
        vmctr_process_dispatch(cl->proc);
        int32_t code = -1, sig = -1;
        if (vmctr_process_wait(cl->proc, 0, &code, &sig) == 0)
          exec_exited(m, cl, status_of(code, sig));
      }
      if (k < n && pf[k].revents)
        handle_client(m, i);
    }
    if (pf[0].revents & POLLIN)
      accept_client(m);
  }
}

static void to_parent(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void to_parent(int fd, const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n >= sizeof(line) - 1)
    n = (int)sizeof(line) - 2;
  /* One line: newlines inside the message become blanks. */
  for (int i = 0; i < n; i++)
    if (line[i] == '\n')
      line[i] = ' ';
  line[n++] = '\n';
  ssize_t w;
  do
    w = write(fd, line, (size_t)n);
  while (w < 0 && errno == EINTR);
}

static void monitor_fail(struct oci_monitor_args *a, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void monitor_fail(struct oci_monitor_args *a, const char *fmt, ...) {
  char msg[1800];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  to_parent(a->to_parent, "err %s", msg);
  _exit(1);
}

/* Whether the current network namespace has an interface besides lo. */
static bool has_interfaces(void) {
  struct if_nameindex *ifs = if_nameindex();
  bool any = false;
  for (struct if_nameindex *i = ifs; i && i->if_index; i++)
    any |= strcmp(i->if_name, "lo") != 0;
  if (ifs)
    if_freenameindex(ifs);
  return any;
}

void oci_monitor_main(struct oci_monitor_args *a) {
  struct monitor m = {.a = a, .listen_fd = -1, .tty_slave = -1};
  oci_spec *s = a->spec;
  char err[1024];
  prctl(PR_SET_NAME, "vmctr-oci-mon");
  setsid();
  signal(SIGPIPE, SIG_IGN);

  /* The network namespace, while this process has one thread: the VM's
   * QEMU is forked from here and inherits it. */
  if (s->netns_path) {
    int fd = open(s->netns_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
      monitor_fail(a, "network namespace %s: %s", s->netns_path, strerror(errno));
    close(fd);
  } else if (s->new_netns) {
    if (unshare(CLONE_NEWNET) < 0)
      monitor_fail(a, "a new network namespace: %s", strerror(errno));
  }
  if (s->has_oom_score_adj) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    char v[16];
    int n = snprintf(v, sizeof(v), "%d", s->oom_score_adj);
    if (fd < 0 || write(fd, v, (size_t)n) != n)
      monitor_fail(a, "process.oomScoreAdj: %s", strerror(errno));
    close(fd);
  }
  to_parent(a->to_parent, "ns");
  char go[8] = {0};
  ssize_t r;
  do
    r = read(a->from_parent, go, sizeof(go) - 1);
  while (r < 0 && errno == EINTR);
  if (r <= 0 || strncmp(go, "go", 2) != 0)
    _exit(1);
  close(a->from_parent);

  /* A pod network: CNI (or an engine's prestart hook) put an interface in
   * the namespace; the VM gets it through a tap. */
  if (s->netns_path || (s->new_netns && has_interfaces())) {
    const char *ns = "/proc/self/ns/net";
    if (oci_podnet_prepare(ns, &m.pn, err, sizeof(err)) < 0 ||
        oci_podnet_apply(m.pn, s->cfg, err, sizeof(err)) < 0) {
      if (m.pn)
        oci_podnet_teardown(ns, err + 512, 256);
      monitor_fail(a, "pod network: %s", err);
    }
    m.netns_for_teardown = ns;
    to_parent(a->to_parent, "net");
  }

  /* Stdio: the pty's slave with a terminal, else this process's own. */
  int in = STDIN_FILENO, out = STDOUT_FILENO, errfd = STDERR_FILENO;
  if (s->terminal) {
    int master;
    if (oci_open_pty(&master, &m.tty_slave, 0, 0, err, sizeof(err)) < 0 ||
        oci_console_send(a->console_socket, master, err, sizeof(err)) < 0)
      monitor_fail(a, "%s", err);
    close(master);
    ioctl(m.tty_slave, TIOCSCTTY, 0);
    in = out = errfd = m.tty_slave;
    /* The runtime's stdio must not be held open: create's caller reads it
     * to its end. */
    null_stdio();
  }
  /* stderr may be the container's from here on. */
  oci_log_detach_stderr();
  if (vmctr_process_config_set_stdio(s->init, in, out, errfd) < 0 ||
      vmctr_container_config_set_process(s->cfg, s->init) < 0)
    monitor_fail(a, "process: %s", lib_msg());
  if ((m.sig_fd = signal_fd()) < 0)
    monitor_fail(a, "signalfd: %s", strerror(errno));

  if (vmctr_container_new(&m.c, a->id, s->root, s->boot, s->cfg) < 0) {
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", lib_msg());
    if (m.pn)
      oci_podnet_teardown("/proc/self/ns/net", err, sizeof(err));
    monitor_fail(a, "cannot create the container's VM: %s", msg);
  }

  /* The control socket, named through the state directory's descriptor so
   * that a long --root does not overflow sun_path. */
  char dir[4096], path[108];
  oci_state_dir(dir, sizeof(dir), a->root, a->id);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  oci_ctl_path(path, sizeof(path), dfd);
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  m.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  unlink(path);
  if (dfd < 0 || m.listen_fd < 0 || bind(m.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
      listen(m.listen_fd, 16) < 0) {
    int e = errno;
    vmctr_container_free(m.c);
    monitor_fail(a, "control socket in %s: %s", dir, strerror(e));
  }
  close(dfd);

  char e2[256];
  if (oci_state_load(a->root, a->id, &m.st, e2, sizeof(e2)) < 0) {
    vmctr_container_free(m.c);
    monitor_fail(a, "state: %s", e2);
  }
  m.st.pid = getpid();
  m.st.start = oci_proc_start_time(getpid());
  if (m.netns_for_teardown && s->netns_path) {
    free(m.st.netns);
    m.st.netns = strdup(s->netns_path);
  }
  save_state(&m, OCI_CREATED);
  to_parent(a->to_parent, "ok");
  close(a->to_parent);
  monitor_loop(&m);
  _exit(255);
}

/* ---- exec monitors ---- */

int oci_exec_monitor(struct oci_exec_args *a) {
  char err[1024];
  int fds[3] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
  int slave = -1, conn = -1, sfd = -1, status = 255;
  cJSON *req = NULL, *reply = NULL;
  bool told = false;
  if (a->detach)
    setsid();
  signal(SIGPIPE, SIG_IGN);
  if (a->terminal && a->console_socket) {
    int master;
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(a->process, "consoleSize");
    const cJSON *h = cs ? cJSON_GetObjectItemCaseSensitive(cs, "height") : NULL;
    const cJSON *w = cs ? cJSON_GetObjectItemCaseSensitive(cs, "width") : NULL;
    if (oci_open_pty(&master, &slave, cJSON_IsNumber(h) ? (unsigned)h->valueint : 0,
                     cJSON_IsNumber(w) ? (unsigned)w->valueint : 0, err, sizeof(err)) < 0 ||
        oci_console_send(a->console_socket, master, err, sizeof(err)) < 0)
      goto fail;
    close(master);
    ioctl(slave, TIOCSCTTY, 0);
    fds[0] = fds[1] = fds[2] = slave;
  }
  if ((sfd = signal_fd()) < 0) {
    fmt_err(err, sizeof(err), "signalfd: %s", strerror(errno));
    goto fail;
  }
  if ((conn = oci_ctl_connect(a->root, a->id, err, sizeof(err))) < 0)
    goto fail;
  req = cJSON_CreateObject();
  cJSON_AddStringToObject(req, "op", "exec");
  cJSON_AddItemReferenceToObject(req, "process", a->process);
  if (oci_ctl_call(conn, req, fds, 3, 60000, &reply, err, sizeof(err)) < 0)
    goto fail;
  const cJSON *gpid = cJSON_GetObjectItemCaseSensitive(reply, "pid");
  oci_log(OCI_LOG_DEBUG, "exec in %s: guest pid %d", a->id, cJSON_IsNumber(gpid) ? gpid->valueint : -1);
  if (a->to_parent >= 0) {
    to_parent(a->to_parent, "ok %d", (int)getpid());
    close(a->to_parent);
    told = true;
  }
  if (a->terminal && a->console_socket)
    null_stdio();
  else if (a->detach)
    null_stdio(); /* the process has its own copies */
  oci_log_detach_stderr();
  for (;;) {
    struct pollfd pf[2] = {{conn, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(pf, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (pf[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int sig = (int)si.ssi_signo;
        cJSON *msg = cJSON_CreateObject();
        if (sig == SIGWINCH && slave >= 0) {
          struct winsize ws;
          if (ioctl(slave, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
            cJSON_AddStringToObject(msg, "op", "resize");
            cJSON_AddNumberToObject(msg, "rows", ws.ws_row);
            cJSON_AddNumberToObject(msg, "cols", ws.ws_col);
            oci_msg_send(conn, msg, NULL, 0);
          }
        } else if (forwardable(sig)) {
          cJSON_AddStringToObject(msg, "op", "signal");
          cJSON_AddNumberToObject(msg, "signal", sig);
          oci_msg_send(conn, msg, NULL, 0);
        }
        cJSON_Delete(msg);
      }
    }
    if (pf[0].revents) {
      cJSON *m = NULL;
      int r = oci_msg_recv(conn, &m, NULL, 0, NULL);
      if (r <= 0) {
        /* The container's monitor is gone: so is the process. */
        status = 128 + SIGKILL;
        break;
      }
      const cJSON *ex = cJSON_GetObjectItemCaseSensitive(m, "exit");
      if (cJSON_IsNumber(ex)) {
        status = ex->valueint;
        cJSON_Delete(m);
        break;
      }
      cJSON_Delete(m);
    }
  }
  cJSON_Delete(req);
  cJSON_Delete(reply);
  close(conn);
  return status;
fail:
  if (a->to_parent >= 0 && !told)
    to_parent(a->to_parent, "err %s", err);
  else
    oci_log(OCI_LOG_ERROR, "%s", err);
  cJSON_Delete(req);
  cJSON_Delete(reply);
  if (conn >= 0)
    close(conn);
  return 255;
}
