/* SPDX-License-Identifier: MIT */
/* Supervised child processes (QEMU, virtiofsd): spawned with only the fds we
 * name, default signals, PR_SET_PDEATHSIG(SIGKILL), and a pidfd so that death
 * is noticed at once (poll the pidfd) without a SIGCHLD handler. Only our own
 * pid is ever waited for, through its pidfd, so nothing else of the host
 * process is reaped and nothing of ours is left a zombie.
 *
 * Linux sends PDEATHSIG when the *thread* that forked exits, not the
 * process. So every child is forked by one library-owned spawner thread
 * that lives as long as any child it forked is unreleased (started on first
 * use, again in a forked child of the application, and ended, joined, when
 * the last child is released, so an idle library holds no thread): a child
 * outlives the thread that asked for it and dies with the process. The owning object's free kills and
 * reaps it in any case. */
#ifndef VMCTR_CORE_CHILD_H
#define VMCTR_CORE_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct vmctr__child {
  pid_t pid;     /* 0: none */
  int pidfd;     /* -1: none; readable once the child has exited */
  bool exited;   /* reaped */
  int status;    /* exit code, or 128 + signal, once exited (-1 if unknown) */
  char name[32]; /* for messages */
  bool held;     /* it keeps the spawner thread alive until released */
  /* -1, or the seccomp listener of a jail with notify_rdwr_open: its owner
   * answers the child's O_RDWR opens, then closes it (release does too). */
  int notify_fd;
} vmctr__child;

/* Map parent_fd to child_fd in the child (both >= 0). child_fd 0..2 not
 * mapped become /dev/null; every other fd is closed in the child. */
typedef struct vmctr__child_fd {
  int parent_fd;
  int child_fd;
} vmctr__child_fd;

#define VMCTR__CHILD_INIT {0, -1, false, -1, {0}, false, -1}

/* Spawn path with argv (envp NULL = the current environment). On failure
 * nothing is left running; the message names the program. If exec fails in
 * the child, the error is reported here (through a CLOEXEC pipe). */
int vmctr__child_spawn(vmctr__child *c, const char *name, const char *path, char *const argv[],
                       char *const envp[], const vmctr__child_fd *fds, size_t nfds);

/* The same, confined by jail (core/jail.h; NULL: none) and in its own
 * session. A jail step that fails is named in the error. */
struct vmctr__jail;
int vmctr__child_spawn_jailed(vmctr__child *c, const char *name, const char *path,
                              char *const argv[], char *const envp[], const vmctr__child_fd *fds,
                              size_t nfds, const struct vmctr__jail *jail);

/* Reap without blocking: 1 if the child has exited (c->status set), 0 if it
 * runs, negative on error. Idempotent once exited. */
int vmctr__child_poll(vmctr__child *c);

/* Wait for exit up to timeout_ms (-1: forever). 0 once exited, VMCTR_ETIMEDOUT. */
int vmctr__child_wait(vmctr__child *c, int timeout_ms);

/* Send a signal through the pidfd (never hits a recycled pid). 0 or error;
 * a child that already exited is 0. */
int vmctr__child_signal(vmctr__child *c, int sig);

/* SIGKILL if running, reap, close the pidfd. Safe on a zeroed/INIT child and
 * after a previous release. Leaves c->status readable. */
void vmctr__child_release(vmctr__child *c);

#endif
