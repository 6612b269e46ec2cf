/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/jail-cleanup.h"
#include "core/log.h"

#define MAX_ENTRIES 128
#define OP_ADD 1u
#define OP_DEL 2u

typedef struct msg {
  uint32_t op, kind;
  char path[480];
} msg; /* < PIPE_BUF: every write is whole */

static struct {
  pthread_mutex_t lock;
  bool tried;
  int fd;       /* write end, -1 */
  size_t count; /* registered, not yet removed by the owner */
} cl = {PTHREAD_MUTEX_INITIALIZER, false, -1, 0};

/* --- in the cleaner: system calls only (it is a fork of a threaded process) --- */

static msg table[MAX_ENTRIES];

static void nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Remove the entries of the directory dfd, recursing depth levels. */
static void empty_dir(int dfd, int depth) {
  char buf[4096];
  long n;
  while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
    for (long off = 0; off < n;) {
      struct dirent64 {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[];
      } *e = (void *)(buf + off);
      off += e->reclen;
      if (!strcmp(e->name, ".") || !strcmp(e->name, ".."))
        continue;
      if (unlinkat(dfd, e->name, 0) == 0 || errno != EISDIR)
        continue;
      int sub = openat(dfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0 && depth > 0)
        empty_dir(sub, depth - 1);
      if (sub >= 0)
        close(sub);
      unlinkat(dfd, e->name, AT_REMOVEDIR);
    }
  }
}

static bool remove_one(const msg *m) {
  if (m->kind == VMCTR__CLEANUP_FILE)
    return unlink(m->path) == 0 || errno == ENOENT;
  if (m->kind == VMCTR__CLEANUP_TREE) {
    int dfd = open(m->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
      return errno == ENOENT;
    empty_dir(dfd, 2);
    close(dfd);
  }
  return rmdir(m->path) == 0 || errno == ENOENT;
}

static void __attribute__((noreturn)) cleaner(int rfd) {
  msg m;
  size_t used = 0;
  setsid();
  (void)!chdir("/");
  if (rfd != 3) {
    dup2(rfd, 3);
    rfd = 3;
  }
  syscall(SYS_close_range, 4u, ~0u, 0);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 3)
      close(null);
  }
  for (;;) {
    ssize_t n = read(rfd, &m, sizeof(m));
    if (n < 0 && errno == EINTR)
      continue;
    if (n != (ssize_t)sizeof(m))
      break; /* EOF: the owner is gone */
    m.path[sizeof(m.path) - 1] = 0;
    if (m.op == OP_ADD) {
      size_t i = 0;
      while (i < used && table[i].kind)
        i++;
      if (i < MAX_ENTRIES) {
        table[i] = m;
        if (i == used)
          used++;
      }
    } else {
      for (size_t i = 0; i < used; i++)
        if (table[i].kind && !strcmp(table[i].path, m.path))
          table[i].kind = 0;
    }
  }
  /* The VM's processes die by PDEATHSIG at the same moment; a cgroup is
   * busy until they are gone. Give it up to 10 s. Files before
   * directories: the table is in registration order, the cgroup last. */
  for (int tries = 0; tries < 100; tries++) {
    bool left = false;
    for (size_t i = 0; i < used; i++)
      if (table[i].kind && remove_one(&table[i]))
        table[i].kind = 0;
      else if (table[i].kind)
        left = true;
    if (!left)
      break;
    nap_ms(100);
  }
  _exit(0);
}

/* --- in the library --- */

static void atfork_child(void) {
  /* A forked child of the application has its own VMs and its own cleaner. */
  pthread_mutex_init(&cl.lock, NULL);
  if (cl.fd >= 0)
    close(cl.fd);
  cl.fd = -1;
  cl.tried = false;
  cl.count = 0;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void register_atfork(void) {
  pthread_atfork(NULL, NULL, atfork_child);
}

/* Double fork: the cleaner is nobody's child here, so it is neither reaped
 * by nor counted among the application's children. */
static int start(void) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return -1;
  pid_t mid = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
  if (mid == 0) {
    close(p[1]);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    pid_t c = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
    if (c == 0) {
      struct sigaction sa;
      memset(&sa, 0, sizeof(sa));
      sa.sa_handler = SIG_DFL;
      for (int s = 1; s < NSIG; s++)
        sigaction(s, &sa, NULL);
      /* Signals stay blocked: only SIGKILL ends it before its work is done. */
      cleaner(p[0]);
    }
    _exit(c > 0 ? 0 : 1);
  }
  close(p[0]);
  if (mid < 0) {
    close(p[1]);
    return -1;
  }
  int st = 0;
  while (waitpid(mid, &st, 0) < 0 && errno == EINTR) {
  }
  return p[1];
}

static void send_msg(uint32_t op, const char *path, uint32_t kind) {
  msg m = {op, kind, {0}};
  size_t len = strlen(path);
  if (len >= sizeof(m.path))
    return;
  memcpy(m.path, path, len);
  pthread_once(&once, register_atfork);
  pthread_mutex_lock(&cl.lock);
  if (cl.fd < 0 && !cl.tried && op == OP_ADD) {
    cl.tried = true;
    cl.fd = start();
    if (cl.fd < 0)
      vmctr__log(VMCTR_LOG_WARN, "vmm",
                 "cannot start the cleaner process (%s): if this process is killed, its VMs' "
                 "runtime directories stay until the next VM starts", strerror(errno));
  }
  if (cl.fd >= 0 && write(cl.fd, &m, sizeof(m)) != (ssize_t)sizeof(m))
    vmctr__log(VMCTR_LOG_DEBUG, "vmm", "cleaner: cannot register %s", path);
  if (op == OP_ADD)
    cl.count++;
  else if (cl.count > 0 && --cl.count == 0 && cl.fd >= 0) {
    /* Nothing left to guard: the cleaner reads EOF with an empty table and
     * exits; the next VM starts another. An idle library holds no process. */
    close(cl.fd);
    cl.fd = -1;
    cl.tried = false;
  }
  pthread_mutex_unlock(&cl.lock);
}

void vmctr__cleanup_add(const char *path, uint32_t kind) {
  send_msg(OP_ADD, path, kind);
}

void vmctr__cleanup_del(const char *path) {
  send_msg(OP_DEL, path, 0);
}
