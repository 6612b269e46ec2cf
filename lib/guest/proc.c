/* SPDX-License-Identifier: MIT */
/*
 * Processes: the parent side of SPAWN (stdio, fork/clone, the exec-error
 * pipe), SIGNAL, WAIT, CLOSE_STDIN, RESIZE, reaping and retirement.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest/guest-priv.h"

static guest_proc *find_proc(guest_agent *a, const vmctr__agent_msg *m) {
  uint32_t pid;
  if (vmctr__agent_get_u32(m, VMCTR_AT_PID, &pid) < 0)
    return NULL;
  for (guest_proc *p = a->procs; p; p = p->next)
    if (!p->dead && !p->waited && p->pid == (pid_t)pid)
      return p;
  return NULL;
}

static void set_nonblock(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static bool stream_in_use(guest_agent *a, uint32_t id, bool is_in) {
  return id && guest_stream_find(a, id, is_in) != NULL;
}

void guest_spawn_free(guest_spawn *sp) {
  vmctr__agent_strv_free(sp->argv);
  vmctr__agent_strv_free(sp->env);
  free(sp->cwd);
  free(sp->root);
  free(sp->hostname);
  free(sp->cgroup);
  free(sp->cpu_max);
  free(sp->gids);
  free((void *)sp->rlimits);
  free(sp->filter);
  vmctr__agent_strv_free(sp->masked);
  vmctr__agent_strv_free(sp->readonly);
}

/* MASKED and READONLY: each bounded, each path absolute and normalized. */
static const char *parse_paths(const vmctr__agent_msg *m, guest_spawn *sp) {
  size_t nm = vmctr__agent_count(m, VMCTR_AT_MASKED), nr = vmctr__agent_count(m, VMCTR_AT_READONLY);
  if (vmctr__agent_get_u32(m, VMCTR_AT_PATHS, &sp->paths) == -EINVAL)
    return "bad PATHS";
  if (sp->paths & ~VMCTR_APATHS_ALL)
    return "PATHS holds unknown flags";
  if (sp->paths && !sp->root)
    return "PATHS needs ROOT (a new container)";
  if ((nm && !(sp->paths & VMCTR_APATHS_MASKED)) || (nr && !(sp->paths & VMCTR_APATHS_READONLY)))
    return "MASKED and READONLY need their PATHS flag";
  if (nm > VMCTR_AGENT_MAX_PATHS || nr > VMCTR_AGENT_MAX_PATHS)
    return "too many MASKED or READONLY paths";
  if (vmctr__agent_get_strv(m, VMCTR_AT_MASKED, &sp->masked) < 0 ||
      vmctr__agent_get_strv(m, VMCTR_AT_READONLY, &sp->readonly) < 0)
    return "bad MASKED or READONLY";
  for (size_t i = 0; sp->masked[i]; i++)
    if (!vmctr__agent_path_ok(sp->masked[i]))
      return "a MASKED path is not absolute and normalized";
  for (size_t i = 0; sp->readonly[i]; i++)
    if (!vmctr__agent_path_ok(sp->readonly[i]))
      return "a READONLY path is not absolute and normalized";
  return NULL;
}

/* Fields into sp (zeroed by the caller); a message for the response on
 * failure. Pure: no fd, no process, nothing but memory (fuzzed by
 * tests/guest/fuzz-guest-spawn.c). */
const char *guest_spawn_parse(const vmctr__agent_msg *m, guest_spawn *sp) {
  static const char *const defenv[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
  uint32_t v;
  if (vmctr__agent_get_strv(m, VMCTR_AT_ARGV, &sp->argv) < 0 || !sp->argv[0])
    return "SPAWN needs a non-empty ARGV";
  if (vmctr__agent_get_strv(m, VMCTR_AT_ENV, &sp->env) < 0)
    return "bad ENV";
  if (!sp->env[0]) {
    vmctr__agent_strv_free(sp->env);
    sp->env = calloc(2, sizeof(char *));
    if (!sp->env || !(sp->env[0] = strdup(defenv[0])))
      return "out of memory";
  }
  if ((vmctr__agent_get_str(m, VMCTR_AT_CWD, &sp->cwd) == -EINVAL) ||
      vmctr__agent_get_str(m, VMCTR_AT_ROOT, &sp->root) == -EINVAL ||
      vmctr__agent_get_str(m, VMCTR_AT_HOSTNAME, &sp->hostname) == -EINVAL ||
      vmctr__agent_get_str(m, VMCTR_AT_CGROUP, &sp->cgroup) == -EINVAL ||
      vmctr__agent_get_str(m, VMCTR_AT_CPU_MAX, &sp->cpu_max) == -EINVAL)
    return "bad string field";
  sp->has_uid = vmctr__agent_get_u32(m, VMCTR_AT_UID, &sp->uid) == 0;
  sp->has_gid = vmctr__agent_get_u32(m, VMCTR_AT_GID, &sp->gid) == 0;
  if (vmctr__agent_get_u32v(m, VMCTR_AT_GIDS, &sp->gids, &sp->ngids) < 0)
    return "bad GIDS";
  sp->pty = vmctr__agent_get_u32(m, VMCTR_AT_PTY, &v) == 0 && v;
  if (vmctr__agent_get_u32(m, VMCTR_AT_NAMESPACES, &sp->ns) < 0 && sp->root)
    sp->ns = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
  vmctr__agent_get_u32(m, VMCTR_AT_JOIN_PID, &sp->join_pid);
  sp->has_memory_max = vmctr__agent_get_u64(m, VMCTR_AT_MEMORY_MAX, &sp->memory_max) == 0;
  sp->no_new_privs = vmctr__agent_get_u32(m, VMCTR_AT_NO_NEW_PRIVS, &v) == 0 && v;
  size_t nr = vmctr__agent_count(m, VMCTR_AT_RLIMIT);
  if (nr) {
    const uint8_t **rl = calloc(nr, sizeof(*rl));
    if (!rl)
      return "out of memory";
    sp->rlimits = rl;
    for (size_t i = 0; i < m->n; i++) {
      if (m->fields[i].tag != VMCTR_AT_RLIMIT)
        continue;
      if (m->fields[i].len != 20)
        return "RLIMIT must be 20 bytes";
      rl[sp->nrlimits++] = m->fields[i].val;
    }
  }
  const uint32_t allowed = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC |
                           CLONE_NEWNET | CLONE_NEWCGROUP;
  if (sp->ns & ~allowed)
    return "NAMESPACES holds flags other than CLONE_NEW{NS,PID,UTS,IPC,NET,CGROUP}";
  if (sp->ns && !sp->root)
    return "NAMESPACES needs ROOT";
  if (sp->root && (sp->root[0] != '/' || sp->join_pid))
    return "ROOT must be absolute and cannot go with JOIN_PID";
  if (sp->cwd && sp->cwd[0] != '/')
    return "CWD must be absolute";
  if (sp->hostname && !(sp->ns & CLONE_NEWUTS))
    return "HOSTNAME needs a new UTS namespace (ROOT + NAMESPACES)";
  sp->ns |= sp->root ? CLONE_NEWNS : 0;
  /* A container's process is confined unless the host relaxes it; a plain
   * guest process (a helper the host runs) is not. */
  sp->confine = sp->root || sp->join_pid;
  sp->caps = VMCTR_AGENT_CAPS_DEFAULT;
  sp->seccomp = VMCTR_ASECCOMP_DEFAULT;
  if (vmctr__agent_get_u64(m, VMCTR_AT_CAPS, &sp->caps) == -EINVAL ||
      vmctr__agent_get_u32(m, VMCTR_AT_SECCOMP, &sp->seccomp) == -EINVAL ||
      vmctr__agent_get_u32(m, VMCTR_AT_RELAX, &sp->relax) == -EINVAL)
    return "bad CAPS, SECCOMP or RELAX";
  if (sp->seccomp > VMCTR_ASECCOMP_DEFAULT)
    return "SECCOMP names an unknown profile";
  if (sp->relax & ~VMCTR_ARELAX_ALL)
    return "RELAX holds unknown flags";
  if (sp->relax && !sp->root)
    return "RELAX needs ROOT (a new container)";
  if (!sp->confine && (vmctr__agent_count(m, VMCTR_AT_CAPS) || vmctr__agent_count(m, VMCTR_AT_SECCOMP) ||
                       vmctr__agent_count(m, VMCTR_AT_SECCOMP_FILTER)))
    return "CAPS, SECCOMP and SECCOMP_FILTER need ROOT or JOIN_PID";
  size_t nf = vmctr__agent_count(m, VMCTR_AT_SECCOMP_FILTER);
  if (nf > 1)
    return "SECCOMP_FILTER given more than once";
  for (size_t i = 0; nf && i < m->n; i++) {
    if (m->fields[i].tag != VMCTR_AT_SECCOMP_FILTER)
      continue;
    const char *why = NULL;
    if (!(sp->filter = guest_seccomp_decode(m->fields[i].val, m->fields[i].len, &sp->nfilter, &why)))
      return why;
  }
  if (vmctr__agent_get_u64(m, VMCTR_AT_PIDS_MAX, &sp->pids_max) == -EINVAL)
    return "bad PIDS_MAX";
  if (vmctr__agent_count(m, VMCTR_AT_PIDS_MAX) && (!sp->pids_max || !sp->cgroup))
    return "PIDS_MAX must be nonzero and needs CGROUP";
  return parse_paths(m, sp);
}

/* Wire up stdio: child fds into sp->stdio, our ends into the proc's streams.
 * 0 or -errno. */
static int spawn_stdio(guest_agent *a, const vmctr__agent_msg *m, guest_spawn *sp, guest_proc *p,
                       int *tofree, const char **msg) {
  uint32_t in = 0, out = 0, err = 0, rows = 0, cols = 0;
  int fds[2];
  vmctr__agent_get_u32(m, VMCTR_AT_STDIN, &in);
  vmctr__agent_get_u32(m, VMCTR_AT_STDOUT, &out);
  vmctr__agent_get_u32(m, VMCTR_AT_STDERR, &err);
  if (stream_in_use(a, in, true) || stream_in_use(a, out, false) ||
      (err != out && stream_in_use(a, err, false))) {
    *msg = "a stream id is already in use";
    return -EEXIST;
  }
  p->in.id = in;
  p->out.id = out;
  if (sp->pty) {
    char name[64];
    if (!out) {
      *msg = "PTY needs a STDOUT stream";
      return -EINVAL;
    }
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
      return -errno;
    p->pty_master = master;
    if (grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)))
      return -errno;
    int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
      return -errno;
    tofree[0] = slave;
    vmctr__agent_get_u32(m, VMCTR_AT_ROWS, &rows);
    vmctr__agent_get_u32(m, VMCTR_AT_COLS, &cols);
    if (rows && cols) {
      struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
      ioctl(master, TIOCSWINSZ, &ws);
    }
    sp->stdio[0] = sp->stdio[1] = sp->stdio[2] = slave;
    if ((p->out.fd = fcntl(master, F_DUPFD_CLOEXEC, 3)) < 0)
      return -errno;
    p->out.pty = true;
    if (in) {
      if ((p->in.fd = fcntl(master, F_DUPFD_CLOEXEC, 3)) < 0)
        return -errno;
      p->in.pty = true;
    }
    set_nonblock(master);
    return 0;
  }
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0)
    return -errno;
  tofree[0] = null;
  sp->stdio[0] = sp->stdio[1] = sp->stdio[2] = null;
  if (in) {
    if (pipe2(fds, O_CLOEXEC) < 0)
      return -errno;
    tofree[1] = fds[0];
    sp->stdio[0] = fds[0];
    p->in.fd = fds[1];
    set_nonblock(fds[1]);
  }
  if (out) {
    if (pipe2(fds, O_CLOEXEC) < 0)
      return -errno;
    tofree[2] = fds[1];
    sp->stdio[1] = fds[1];
    p->out.fd = fds[0];
    set_nonblock(fds[0]);
  }
  if (err && err == out) {
    sp->stdio[2] = sp->stdio[1]; /* merged: one stream, one pipe */
  } else if (err) {
    if (pipe2(fds, O_CLOEXEC) < 0)
      return -errno;
    tofree[3] = fds[1];
    sp->stdio[2] = fds[1];
    p->err.id = err;
    p->err.fd = fds[0];
    set_nonblock(fds[0]);
  }
  return 0;
}

static const char *const ns_names[6] = {"ipc", "uts", "net", "cgroup", "mnt", "pid"};

static int open_join(guest_spawn *sp) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%u/root", sp->join_pid);
  sp->join_root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sp->join_root < 0)
    return -errno;
  for (int i = 0; i < 6; i++) {
    snprintf(path, sizeof(path), "/proc/%u/ns/%s", sp->join_pid, ns_names[i]);
    sp->join_ns[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (sp->join_ns[i] < 0 && errno != ENOENT)
      return -errno;
  }
  return 0;
}

/* fork, clone into new namespaces, or fork inside JOIN_PID's pid namespace. */
static pid_t spawn_fork(guest_spawn *sp) {
  if (sp->root)
    return (pid_t)syscall(SYS_clone, (unsigned long)(sp->ns & ~(uint32_t)CLONE_NEWCGROUP) | SIGCHLD,
                          NULL, NULL, NULL, NULL);
  if (!sp->join_pid || sp->join_ns[5] < 0)
    return fork();
  /* setns(CLONE_NEWPID) affects our future children only; go back at once. */
  int self = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    return -1;
  if (setns(sp->join_ns[5], CLONE_NEWPID) < 0) {
    close(self);
    return -1;
  }
  pid_t pid = fork();
  int e = errno;
  if (pid != 0 && setns(self, CLONE_NEWPID) < 0)
    guest_fatal("cannot return to our pid namespace: %s", strerror(errno));
  close(self);
  errno = e;
  return pid;
}

void guest_warm_spawn(void) {
  pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                                                        CLONE_NEWPID) | SIGCHLD,
                             NULL, NULL, NULL, NULL);
  if (pid == 0) {
    (void)unshare(CLONE_NEWCGROUP);
    _exit(0);
  }
  if (pid > 0)
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
      ;
}

void guest_op_spawn(guest_agent *a, uint32_t id, const vmctr__agent_msg *m) {
  guest_spawn sp;
  guest_proc *p = calloc(1, sizeof(*p));
  int tofree[4] = {-1, -1, -1, -1}, errp[2] = {-1, -1}, err = 0;
  const char *msg = NULL;
  char buf[512];

  memset(&sp, 0, sizeof(sp));
  sp.errfd = sp.join_root = -1;
  for (int i = 0; i < 6; i++)
    sp.join_ns[i] = -1;
  if (!p) {
    guest_respond(a, id, ENOMEM, "out of memory");
    guest_spawn_free(&sp);
    return;
  }
  guest_stream_init(&p->in, true);
  guest_stream_init(&p->out, false);
  guest_stream_init(&p->err, false);
  p->pty_master = -1;
  msg = guest_spawn_parse(m, &sp);
  if (msg) {
    err = EINVAL;
    goto fail;
  }
  err = -spawn_stdio(a, m, &sp, p, tofree, &msg);
  if (!err && sp.join_pid)
    err = -open_join(&sp);
  if (!err && pipe2(errp, O_CLOEXEC) < 0)
    err = errno;
  if (err)
    goto fail;
  sp.errfd = errp[1];
  p->pid = spawn_fork(&sp);
  if (p->pid < 0) {
    err = errno;
    msg = "fork";
    goto fail;
  }
  if (p->pid == 0)
    guest_spawn_child(&sp);
  close(errp[1]);
  errp[1] = -1;

  /* EOF: exec succeeded. Otherwise the child says where it failed. */
  int32_t rep[2];
  ssize_t r;
  do
    r = read(errp[0], rep, sizeof(rep));
  while (r < 0 && errno == EINTR);
  if (r == (ssize_t)sizeof(rep)) {
    waitpid(p->pid, NULL, 0);
    err = rep[1] ? rep[1] : EIO;
    snprintf(buf, sizeof(buf), "%s %s: %s", guest_spawn_stage(rep[0]), sp.argv[0], strerror(err));
    msg = buf;
    goto fail;
  }
  for (int i = 0; i < 4; i++)
    if (tofree[i] >= 0)
      close(tofree[i]);
  close(errp[0]);
  p->in.granted = a->window;
  p->out.credit.granted = p->err.credit.granted = a->host_window;
  p->next = a->procs;
  a->procs = p;
  guest_spawn_free(&sp);
  for (int i = 0; i < 6; i++)
    if (sp.join_ns[i] >= 0)
      close(sp.join_ns[i]);
  if (sp.join_root >= 0)
    close(sp.join_root);

  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_i32(&b, VMCTR_AT_ERRNO, 0);
  vmctr__agent_put_u32(&b, VMCTR_AT_PID, (uint32_t)p->pid);
  guest_send_response(a, id, &b);
  return;

fail:
  if (!msg)
    msg = strerror(err);
  guest_respond(a, id, err, msg);
  for (int i = 0; i < 4; i++)
    if (tofree[i] >= 0)
      close(tofree[i]);
  for (int i = 0; i < 2; i++)
    if (errp[i] >= 0)
      close(errp[i]);
  for (int i = 0; i < 6; i++)
    if (sp.join_ns[i] >= 0)
      close(sp.join_ns[i]);
  if (sp.join_root >= 0)
    close(sp.join_root);
  guest_stream_close(&p->in);
  guest_stream_close(&p->out);
  guest_stream_close(&p->err);
  if (p->pty_master >= 0)
    close(p->pty_master);
  free(p);
  guest_spawn_free(&sp);
}

void guest_op_signal(guest_agent *a, uint32_t id, const vmctr__agent_msg *m) {
  guest_proc *p = find_proc(a, m);
  uint32_t sig;
  if (vmctr__agent_get_u32(m, VMCTR_AT_SIGNO, &sig) < 0 || sig > 64) {
    guest_respond(a, id, EINVAL, "SIGNAL needs SIGNO");
  } else if (!p || p->exited) {
    guest_respond(a, id, ESRCH, "no such running process");
  } else {
    int r = kill(p->pid, (int)sig);
    guest_respond(a, id, r < 0 ? errno : 0, r < 0 ? strerror(errno) : NULL);
  }
}

void guest_op_wait(guest_agent *a, uint32_t id, const vmctr__agent_msg *m) {
  guest_proc *p = find_proc(a, m);
  if (!p) {
    guest_respond(a, id, ESRCH, "no such process, or it was already waited for");
    return;
  }
  uint32_t *w = realloc(p->waits, (p->nwaits + 1) * sizeof(*w));
  if (!w) {
    guest_respond(a, id, ENOMEM, "out of memory");
    return;
  }
  p->waits = w;
  p->waits[p->nwaits++] = id;
  guest_proc_settle(a, p);
}

void guest_op_close_stdin(guest_agent *a, uint32_t id, const vmctr__agent_msg *m) {
  guest_proc *p = find_proc(a, m);
  if (!p) {
    guest_respond(a, id, ESRCH, "no such process");
    return;
  }
  if (p->in.fd >= 0)
    guest_stream_eof(a, &p->in);
  guest_respond(a, id, 0, NULL);
}

void guest_op_resize(guest_agent *a, uint32_t id, const vmctr__agent_msg *m) {
  guest_proc *p = find_proc(a, m);
  uint32_t rows, cols;
  if (vmctr__agent_get_u32(m, VMCTR_AT_ROWS, &rows) < 0 ||
      vmctr__agent_get_u32(m, VMCTR_AT_COLS, &cols) < 0 || rows > 65535 || cols > 65535) {
    guest_respond(a, id, EINVAL, "RESIZE needs ROWS and COLS");
    return;
  }
  if (!p) {
    guest_respond(a, id, ESRCH, "no such process");
    return;
  }
  if (p->pty_master < 0) {
    guest_respond(a, id, ENOTTY, "the process has no pty");
    return;
  }
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  int r = ioctl(p->pty_master, TIOCSWINSZ, &ws);
  guest_respond(a, id, r < 0 ? errno : 0, r < 0 ? strerror(errno) : NULL);
}

void guest_proc_settle(guest_agent *a, guest_proc *p) {
  if (!p->exited || p->dead)
    return;
  guest_stream_pump_out(a, &p->out);
  guest_stream_pump_out(a, &p->err);
  /* Answer once the child's own output is through: EOF, or nothing left to
   * read (a background grandchild may hold the pipe open forever). */
  bool drained = (p->out.fd < 0 || p->out.empty) && (p->err.fd < 0 || p->err.empty);
  if (drained && p->nwaits) {
    for (size_t i = 0; i < p->nwaits; i++) {
      vmctr__agent_buf b;
      vmctr__agent_buf_init(&b);
      vmctr__agent_put_i32(&b, VMCTR_AT_ERRNO, 0);
      if (WIFSIGNALED(p->status))
        vmctr__agent_put_u32(&b, VMCTR_AT_TERM_SIGNAL, (uint32_t)WTERMSIG(p->status));
      else
        vmctr__agent_put_i32(&b, VMCTR_AT_EXIT_CODE, WEXITSTATUS(p->status));
      guest_send_response(a, p->waits[i], &b);
    }
    free(p->waits);
    p->waits = NULL;
    p->nwaits = 0;
    p->waited = true;
    guest_stream_close(&p->in);
  }
  if (p->waited && p->out.fd < 0 && p->err.fd < 0)
    p->dead = true;
}

void guest_reap(guest_agent *a) {
  struct signalfd_siginfo si;
  while (read(a->sigfd, &si, sizeof(si)) > 0)
    ;
  int st;
  pid_t pid;
  /* Orphans re-parented to us are reaped here too and forgotten. */
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    for (guest_proc *p = a->procs; p; p = p->next) {
      if (p->pid == pid && !p->exited) {
        p->exited = true;
        p->status = st;
        guest_proc_settle(a, p);
        break;
      }
    }
  }
}

void guest_procs_sweep(guest_agent *a) {
  guest_proc **pp = &a->procs;
  while (*pp) {
    guest_proc *p = *pp;
    if (p->dead || (p->waited && p->out.fd < 0 && p->err.fd < 0)) {
      *pp = p->next;
      guest_stream_close(&p->in);
      guest_stream_close(&p->out);
      guest_stream_close(&p->err);
      if (p->pty_master >= 0)
        close(p->pty_master);
      free(p->waits);
      free(p);
    } else {
      pp = &p->next;
    }
  }
}

void guest_kill_all(guest_agent *a) {
  for (guest_proc *p = a->procs; p; p = p->next) {
    if (p->exited)
      continue;
    kill(-p->pid, SIGKILL); /* its session's process group */
    kill(p->pid, SIGKILL);
  }
  for (guest_proc *p = a->procs; p; p = p->next)
    if (!p->exited && waitpid(p->pid, NULL, 0) == p->pid)
      p->exited = true;
  while (waitpid(-1, NULL, WNOHANG) > 0)
    ;
  for (guest_proc *p = a->procs; p; p = p->next)
    p->waited = true;
  for (guest_proc *p = a->procs; p; p = p->next)
    p->dead = true;
  guest_procs_sweep(a);
}
