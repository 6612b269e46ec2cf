/* SPDX-License-Identifier: MIT */
/*
 * vmctr-init's entry: PID 1 setup (mounts, modules, signals, console), the
 * debug mode (--agent-fd N), and the way out (power off; PID 1 never exits).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest/guest-priv.h"

bool guest_is_pid1;
static int log_fd = 2;
static guest_agent *the_agent; /* for cleanup on a fatal error */

void guest_log(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  int n = snprintf(buf, sizeof(buf), "vmctr-init: ");
  va_start(ap, fmt);
  vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
  va_end(ap);
  size_t len = strlen(buf);
  buf[len++] = '\n';
  while (write(log_fd, buf, len) < 0 && errno == EINTR)
    ;
}

/* /proc/mounts escapes blanks and backslashes as \ooo. */
static void unescape(char *s) {
  char *o = s;
  for (char *p = s; *p; p++) {
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
        p[3] <= '7') {
      *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
      p += 3;
    } else {
      *o++ = *p;
    }
  }
  *o = '\0';
}

/* Ephemeral disks (POWEROFF's EPHEMERAL): their file systems stay as they
 * are at power off. */
static char leave_dev[GUEST_MAX_DISKS][40]; /* ephemeral disks: /dev/vdX */
static size_t nleave;

void guest_power_off_leave(const char *dev) {
  if (nleave < GUEST_MAX_DISKS && strlen(dev) < sizeof(leave_dev[0]))
    snprintf(leave_dev[nleave++], sizeof(leave_dev[0]), "%s", dev);
}

static bool left(const char *src) {
  for (size_t i = 0; i < nleave; i++)
    if (strcmp(src, leave_dev[i]) == 0)
      return true;
  return false;
}

/* Stop every process and unmount every file system, newest first, so that
 * the disks are clean when the VM ends: an ext4 disk left with a journal to
 * replay cannot be mounted read-only by the next VM. What cannot be
 * unmounted is remounted read-only. */
static void quiesce(void) {
  kill(-1, SIGKILL);
  for (int i = 0; i < 200; i++) { /* at most ~1 s */
    pid_t p = waitpid(-1, NULL, WNOHANG);
    if (p < 0 && errno == ECHILD)
      break;
    if (p <= 0)
      usleep(5000);
  }
  /* No sync() here: each unmount (or read-only remount) below writes its
   * own file system back, and one sync() after covers what stays, unless
   * an ephemeral disk stays: sync() would write its file systems too. */
  FILE *f = fopen("/proc/self/mounts", "re");
  if (!f)
    return;
  char *targets[512];
  int n = 0;
  char line[4096];
  while (n < 512 && fgets(line, sizeof(line), f)) {
    char src[1024], tgt[2048];
    if (sscanf(line, "%1023s %2047s", src, tgt) != 2)
      continue;
    unescape(tgt);
    if (strcmp(tgt, "/") == 0 || strcmp(tgt, "/proc") == 0 || strcmp(tgt, "/dev") == 0 ||
        strcmp(tgt, "/sys") == 0 || left(src))
      continue;
    targets[n++] = strdup(tgt);
  }
  fclose(f);
  while (n-- > 0) {
    if (targets[n] && umount2(targets[n], 0) < 0 && errno != EINVAL && errno != ENOENT &&
        mount(NULL, targets[n], NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0) {
      guest_log("power off: cannot unmount or remount read-only %s: %s", targets[n], strerror(errno));
      int fd = nleave ? open(targets[n], O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
      if (fd >= 0) { /* what sync() would have written of it */
        syncfs(fd);
        close(fd);
      }
    }
    free(targets[n]);
  }
}

void guest_power_off(void) {
  if (guest_is_pid1)
    quiesce();
  if (!nleave)
    sync();
  /* QEMU runs with -no-reboot and the kernel with reboot=t: a reboot is the
   * clean exit on microvm without ACPI. */
  reboot(RB_AUTOBOOT);
  reboot(RB_POWER_OFF);
  for (;;)
    pause(); /* PID 1 must not exit: that panics the kernel */
}

void guest_fatal(const char *fmt, ...) {
  char buf[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  guest_log("fatal: %s", buf);
  if (the_agent)
    guest_kill_all(the_agent);
  if (guest_is_pid1) {
    guest_log("powering off");
    guest_power_off();
  }
  exit(1);
}

struct mnt {
  const char *src, *target, *type;
  unsigned long flags;
  const char *data;
};

static const struct mnt boot_mounts[] = {
  {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
  {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
  {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
  {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"},
  {"shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
  {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
  /* favordynmods (Linux 6.0): moving a process into a cgroup then takes no
   * RCU grace period (cgroup_threadgroup_rwsem), which cost each container
   * start about 25 ms under TCG; forks and exits pay a little instead.
   * Without it (an older kernel refuses the option) mount_boot mounts plain. */
  {"cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, "favordynmods"},
};

static void mount_boot(void) {
  for (size_t i = 0; i < sizeof(boot_mounts) / sizeof(boot_mounts[0]); i++) {
    const struct mnt *m = &boot_mounts[i];
    mkdir(m->target, 0755);
    int r = mount(m->src, m->target, m->type, m->flags, m->data);
    if (r < 0 && errno == EINVAL && m->data && !strcmp(m->type, "cgroup2"))
      r = mount(m->src, m->target, m->type, m->flags, NULL);
    if (r < 0 && errno != EBUSY)
      guest_log("mount %s on %s: %s", m->type, m->target, strerror(errno));
    if (i == 2) { /* /dev is there: the console becomes our log */
      int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
      if (fd >= 0)
        log_fd = fd;
    }
  }
  symlink("/proc/self/fd", "/dev/fd");
  symlink("/proc/self/fd/0", "/dev/stdin");
  symlink("/proc/self/fd/1", "/dev/stdout");
  symlink("/proc/self/fd/2", "/dev/stderr");
}

/* Delegate every available controller to child cgroups (containers). */
static void enable_controllers(void) {
  char line[512], cmd[600];
  FILE *f = fopen("/sys/fs/cgroup/cgroup.controllers", "re");
  if (!f)
    return;
  if (!fgets(line, sizeof(line), f))
    line[0] = '\0';
  fclose(f);
  size_t n = 0;
  for (char *save = NULL, *tok = strtok_r(line, " \n", &save); tok;
       tok = strtok_r(NULL, " \n", &save))
    n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, "%s+%s", n ? " " : "", tok);
  if (n && n < sizeof(cmd)) {
    int r = guest_write_str("/sys/fs/cgroup/cgroup.subtree_control", cmd);
    if (r < 0)
      guest_log("enabling cgroup controllers (%s): %s", cmd, strerror(-r));
  }
}

/* Parameters for module `file` ("virtio-mmio.ko") from the kernel command
 * line ("virtio_mmio.device=..."), as modprobe would pass them: the kernel
 * applies cmdline parameters to built-in code only. */
static void module_params(const char *cmdline, const char *file, char *out, size_t size) {
  char name[128];
  size_t n = strcspn(file, ".");
  size_t o = 0;
  if (n >= sizeof(name))
    n = sizeof(name) - 1;
  for (size_t i = 0; i < n; i++)
    name[i] = file[i] == '-' ? '_' : file[i];
  name[n] = '\0';
  out[0] = '\0';
  for (const char *p = cmdline; *p;) {
    size_t len = strcspn(p, " \n");
    if (len > n + 1 && strncmp(p, name, n) == 0 && p[n] == '.' && o + len - n < size) {
      o += (size_t)snprintf(out + o, size - o, "%s%.*s", o ? " " : "", (int)(len - n - 1),
                            p + n + 1);
    }
    p += len;
    while (*p == ' ' || *p == '\n')
      p++;
  }
}

/* A stock kernel's virtio drivers: /lib/modules/vmctr/load-order lists the
 * .ko files of that directory in dependency order. */
static void load_modules(void) {
  static const char dir[] = "/lib/modules/vmctr";
  char path[512], line[256], cmdline[4096] = "", params[1024];
  FILE *f = fopen("/proc/cmdline", "re");
  if (f) {
    if (!fgets(cmdline, sizeof(cmdline), f))
      cmdline[0] = '\0';
    fclose(f);
  }
  f = fopen("/lib/modules/vmctr/load-order", "re");
  if (!f)
    return;
  while (fgets(line, sizeof(line), f)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (!line[0] || line[0] == '#' || strchr(line, '/'))
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, line);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      guest_log("module %s: %s", line, strerror(errno));
      continue;
    }
    module_params(cmdline, line, params, sizeof(params));
    if (syscall(SYS_finit_module, fd, params, 0) < 0 && errno != EEXIST)
      guest_log("loading module %s: %s", line, strerror(errno));
    close(fd);
  }
  fclose(f);
}

/* fds 0-2 must be open, or pipes could land there and break the dup2 dance
 * in spawned children. */
static void ensure_std_fds(void) {
  for (int i = 0; i < 3; i++) {
    if (fcntl(i, F_GETFD) >= 0)
      continue;
    int fd = open(guest_is_pid1 ? "/dev/console" : "/dev/null", O_RDWR | O_NOCTTY);
    if (fd < 0)
      fd = open("/", O_RDONLY | O_DIRECTORY);
    if (fd >= 0 && fd != i) {
      dup2(fd, i);
      close(fd);
    }
  }
}

static int setup_signals(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
    return -1;
  signal(SIGPIPE, SIG_IGN);
  return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void usage(void) {
  fprintf(stderr,
          "usage: vmctr-init                 (as PID 1 in a libvmctr guest)\n"
          "       vmctr-init --agent-fd N    (debug: serve the agent protocol on fd N)\n");
}

int main(int argc, char **argv) {
  guest_agent a;
  int fd = -1;

  guest_is_pid1 = getpid() == 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--agent-fd") == 0 && i + 1 < argc) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end || v < 0 || v > 65535) {
        usage();
        return 2;
      }
      fd = (int)v;
    } else if (!guest_is_pid1) {
      usage();
      return 2;
    }
  }
  if (!guest_is_pid1 && fd < 0) {
    usage();
    return 2;
  }
  if (guest_is_pid1) {
    fd = -1;
    umask(022);
    guest_leave_initramfs();
    mount_boot();
    ensure_std_fds();
    enable_controllers();
    load_modules();
    setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
  } else {
    ensure_std_fds();
    /* Orphaned grandchildren come back to us, as they would to PID 1. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
      fprintf(stderr, "vmctr-init: --agent-fd %d: %s\n", fd, strerror(errno));
      return 2;
    }
  }

  /* Loopback, for the VM's own services and every container (they share
   * the VM's network namespace); never fatal. */
  guest_net_lo_up();

  /* Not dumpable: no process of a container can ptrace us, open our
   * /proc/PID/fd or pidfd_getfd our fds. Every child inherits this across
   * fork until its execve, which is when it becomes the container's. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  memset(&a, 0, sizeof(a));
  a.pid1 = guest_is_pid1;
  a.sigfd = setup_signals();
  if (a.sigfd < 0)
    guest_fatal("signalfd: %s", strerror(errno));
  the_agent = &a;
  if (guest_is_pid1) {
    /* The kernel runs quiet (its console is slow under emulation): this line
     * tells a reader of the boot log that the guest got this far. */
    struct utsname u;
    guest_log("started on Linux %s, looking for the agent channel",
              uname(&u) == 0 ? u.release : "?");
    fd = guest_channel_open();
    if (fd < 0)
      guest_fatal("no agent channel: neither a virtio-serial port named vmctr.agent "
                  "nor a vsock connection on port %u appeared", GUEST_VSOCK_PORT);
  }
  a.fd = fd;
  int r = guest_agent_run(&a);
  guest_kill_all(&a);
  if (guest_is_pid1) {
    if (!a.poweroff)
      guest_log("agent channel closed (%s): powering off", r < 0 ? strerror(-r) : "by the host");
    guest_power_off();
  }
  return r < 0 ? 1 : 0;
}
