/* SPDX-License-Identifier: MIT */
/*
 * Hostile code for tests/container/test-security.c: a static program run
 * inside a container (shared in at /probe) that tries what a confined
 * container must not do, and reports. Modes:
 *   confined          every escape attempt; "FAIL ..." lines and a count
 *   status            capability sets, Seccomp, the fds it started with
 *   hunt SECONDS      look for vmctr-init's children before they enter, and
 *                     try to take their fds or trace them, until
 *                     /tmp/vmctr-stop-hunt exists
 *   privileged        status, then mount a tmpfs
 *   modules KO...     init_module and finit_module on each module file, and
 *                     writes to core_pattern and modprobe; what each gave
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *what, int err) {
  if (!ok) {
    failures++;
    printf("FAIL %s (errno %d %s)\n", what, err, strerror(err));
  }
}

static void must_fail(long r, const char *what) {
  check(r < 0, what, r < 0 ? errno : 0);
}

static int write_file(const char *path, const char *s) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = write(fd, s, strlen(s));
  int e = errno;
  close(fd);
  errno = e;
  return n < 0 ? -1 : 0;
}

/* Bytes readable from path, or -1. */
static long read_len(const char *path) {
  char buf[4096];
  long total = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0 && total < (1 << 20))
    total += n;
  close(fd);
  return n < 0 ? -1 : total;
}

static void status_line(const char *key, char *out, size_t size) {
  FILE *f = fopen("/proc/self/status", "re");
  char line[256];
  snprintf(out, size, "?");
  while (f && fgets(line, sizeof(line), f))
    if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':') {
      char *v = line + strlen(key);
      v += strspn(v, " \t:");
      v[strcspn(v, "\n")] = '\0';
      snprintf(out, size, "%s", v);
    }
  if (f)
    fclose(f);
}

static void print_status(void) {
  static const char *const keys[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "Seccomp",
                                     "NoNewPrivs"};
  char v[128];
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    status_line(keys[i], v, sizeof(v));
    printf("%s: %s\n", keys[i], v);
  }
}

/* fds open at start, but 0-2 and the directory's own. */
static void print_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  printf("fds:");
  while (d && (e = readdir(d))) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d))
      continue;
    char link[256] = "", p[64];
    snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(p, link, sizeof(link) - 1);
    link[n > 0 ? n : 0] = '\0';
    printf(" %d=%s", fd, link);
  }
  printf("\n");
  if (d)
    closedir(d);
}

static void confined(void) {
  struct stat st;
  must_fail(mknod("/tmp/sda", S_IFBLK | 0600, makedev(8, 0)), "mknod /tmp/sda b 8 0");
  check(lstat("/tmp/sda", &st) < 0, "/tmp/sda exists", 0);
  must_fail(mknod("/dev/sda", S_IFBLK | 0600, makedev(8, 0)), "mknod /dev/sda b 8 0");
  check(lstat("/dev/sda", &st) < 0, "/dev/sda exists", 0);
  must_fail(mknod("/tmp/null2", S_IFCHR | 0666, makedev(1, 3)), "mknod /tmp/null2 c 1 3");
  must_fail(write_file("/sys/fs/cgroup/memory.max", "max"), "write /sys/fs/cgroup/memory.max");
  must_fail(write_file("/sys/fs/cgroup/pids.max", "max"), "write /sys/fs/cgroup/pids.max");
  must_fail(write_file("/proc/sysrq-trigger", "h"), "write /proc/sysrq-trigger");
  must_fail(write_file("/proc/sys/kernel/core_pattern", "|/tmp/x"), "write core_pattern");
  must_fail(write_file("/proc/sys/vm/drop_caches", "3"), "write /proc/sys/vm/drop_caches");
  static const char *const masked[] = {"/proc/kcore", "/proc/keys", "/proc/timer_list",
                                       "/proc/sched_debug", "/proc/latency_stats"};
  for (size_t i = 0; i < 5; i++) {
    char what[64];
    snprintf(what, sizeof(what), "read %s gives nothing", masked[i]);
    check(read_len(masked[i]) <= 0, what, 0);
  }
  must_fail(mount("tmpfs", "/mnt", "tmpfs", 0, NULL), "mount tmpfs /mnt");
  must_fail(mount(NULL, "/sys/fs/cgroup", NULL, MS_REMOUNT | MS_BIND, NULL), "remount cgroup rw");
  must_fail(mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), "remount / ro");
  must_fail(umount2("/proc/sys", MNT_DETACH), "umount /proc/sys");
  must_fail(umount2("/proc/kcore", MNT_DETACH), "umount the /proc/kcore mask");
  long k = syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0);
  check(k < 0 && errno == EPERM, "keyctl refused with EPERM", k < 0 ? errno : 0);
  k = syscall(SYS_add_key, "user", "vmctr", "x", 1, -3);
  check(k < 0 && errno == EPERM, "add_key refused with EPERM", k < 0 ? errno : 0);
  must_fail(unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)");
  must_fail(unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)");
  must_fail(socket(40 /* AF_VSOCK */, SOCK_STREAM, 0), "socket(AF_VSOCK)");
  must_fail(syscall(SYS_finit_module, 0, "", 0), "finit_module");
  must_fail(sethostname("evil", 4), "sethostname");
  struct statvfs sv;
  check(statvfs("/dev", &sv) == 0 && (sv.f_flag & ST_NODEV), "/dev is nodev", errno);
  check(statvfs("/sys/fs/cgroup", &sv) == 0 && (sv.f_flag & ST_RDONLY), "cgroup2 is read-only",
        errno);
  char v[128];
  status_line("CapEff", v, sizeof(v));
  check(strcmp(v, "00000000a00425fb") == 0, "CapEff is the default set", 0);
  status_line("CapBnd", v, sizeof(v));
  check(strcmp(v, "00000000a00425fb") == 0, "CapBnd is the default set", 0);
  status_line("Seccomp", v, sizeof(v));
  check(strcmp(v, "2") == 0, "Seccomp: 2", 0);
  printf("confined: %d failures\n", failures);
}

static const char *err_name(long r, int err) {
  static char other[32];
  if (r >= 0)
    return "ok";
  switch (err) {
  case EPERM: return "EPERM";
  case EEXIST: return "EEXIST";
  case EACCES: return "EACCES";
  case EROFS: return "EROFS";
  case ENOSYS: return "ENOSYS";
  case ENOEXEC: return "ENOEXEC";
  default:
    snprintf(other, sizeof(other), "errno %d", err);
    return other;
  }
}

/* A sysctl's value (first line), "?" when unreadable. */
static void read_line(const char *path, char *out, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, out, size - 1);
  if (fd >= 0)
    close(fd);
  snprintf(out + (n > 0 ? n : 0), size - (size_t)(n > 0 ? n : 0), "%s", n > 0 ? "" : "?");
  out[strcspn(out, "\n")] = '\0';
}

/* Load each module both ways, then try to redirect the kernel's core
 * handler and module loader; a write that took effect is undone. */
static void modules(int argc, char **argv) {
  struct utsname u;
  printf("kernel: %s\n", uname(&u) == 0 ? u.release : "?");
  for (int i = 0; i < argc; i++) {
    const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
    int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0) {
      printf("FAIL cannot read %s (errno %d)\n", argv[i], errno);
      if (fd >= 0)
        close(fd);
      continue;
    }
    long r = syscall(SYS_finit_module, fd, "", 0);
    printf("finit_module %s: %s\n", name, err_name(r, errno));
    char *image = malloc((size_t)st.st_size);
    if (image && pread(fd, image, (size_t)st.st_size, 0) == st.st_size) {
      r = syscall(SYS_init_module, image, (unsigned long)st.st_size, "");
      printf("init_module %s: %s\n", name, err_name(r, errno));
    } else {
      printf("FAIL cannot read %s into memory\n", argv[i]);
    }
    free(image);
    close(fd);
  }
  /* The kernel's memory: masked by default, readable only with RAWIO. */
  struct stat kst;
  if (stat("/proc/kcore", &kst) < 0)
    printf("kcore: absent\n");
  else
    printf("kcore: %s\n", read_len("/proc/kcore") > 0 ? "readable" : "nothing");
  static const struct {
    const char *path, *key, *evil;
  } knobs[] = {
    {"/proc/sys/kernel/core_pattern", "core_pattern", "|/tmp/vmctr-evil %p"},
    {"/proc/sys/kernel/modprobe", "modprobe", "/tmp/vmctr-evil"},
  };
  for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
    char before[256], after[256];
    read_line(knobs[i].path, before, sizeof(before));
    int r = write_file(knobs[i].path, knobs[i].evil);
    printf("write %s: %s\n", knobs[i].key, err_name(r, errno));
    read_line(knobs[i].path, after, sizeof(after));
    printf("%s %s: %s\n", knobs[i].key, strcmp(before, after) ? "changed" : "unchanged", after);
    if (strcmp(before, after) != 0)
      write_file(knobs[i].path, before);
  }
}

static int is_agent(const char *pid) {
  char p[300], comm[64] = "";
  snprintf(p, sizeof(p), "/proc/%s/comm", pid);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, comm, sizeof(comm) - 1);
  close(fd);
  comm[n > 0 ? n : 0] = '\0';
  comm[strcspn(comm, "\n")] = '\0';
  return strcmp(comm, "init") == 0 || strcmp(comm, "vmctr-init") == 0;
}

static void hunt(int seconds) {
  long seen = 0, stolen = 0, scans = 0;
  time_t end = time(NULL) + seconds;
  char self[16];
  snprintf(self, sizeof(self), "%d", getpid());
  /* Until the test says stop (an exec'd touch), or SECONDS at most. */
  while (time(NULL) < end && access("/tmp/vmctr-stop-hunt", F_OK) != 0) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    scans++;
    while (d && (e = readdir(d))) {
      if (e->d_name[0] < '1' || e->d_name[0] > '9' || !strcmp(e->d_name, self) ||
          !is_agent(e->d_name))
        continue;
      seen++;
      int pid = atoi(e->d_name);
      char p[64];
      int got_fd = 0, got_getfd = 0, got_trace = 0;
      snprintf(p, sizeof(p), "/proc/%d/fd", pid);
      /* Listing the directory is allowed (root with DAC_OVERRIDE, as under
       * runc); following or opening an entry needs ptrace access. */
      DIR *fds = opendir(p);
      struct dirent *fe;
      while (fds && (fe = readdir(fds))) {
        if (fe->d_name[0] == '.')
          continue;
        char link[256];
        int o = openat(dirfd(fds), fe->d_name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (o >= 0) {
          got_fd = 1;
          close(o);
        }
        if (readlinkat(dirfd(fds), fe->d_name, link, sizeof(link)) >= 0)
          got_fd = 1;
      }
      if (fds)
        closedir(fds);
      int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
      for (int fd = 3; pfd >= 0 && fd < 16; fd++) {
        int got = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
        if (got >= 0) {
          got_getfd = 1;
          close(got);
        }
      }
      if (pfd >= 0)
        close(pfd);
      /* SEIZE, not ATTACH: no SIGSTOP that could leave a process stopped. */
      if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
        /* Stop, reap the stop, detach: a tracee left attached would report
         * its exit to us, not to vmctr-init. */
        got_trace = 1;
        ptrace(PTRACE_INTERRUPT, pid, 0, 0);
        waitpid(pid, NULL, __WALL);
        ptrace(PTRACE_DETACH, pid, 0, 0);
      }
      /* A success on a process that has exec'd meanwhile is on the container's
       * own process, which is fair game; one on vmctr-init's child is not. */
      if ((got_fd || got_getfd || got_trace) && is_agent(e->d_name)) {
        stolen++;
        printf("STOLEN pid %d:%s%s%s\n", pid, got_fd ? " /proc/PID/fd/N" : "",
               got_getfd ? " pidfd_getfd" : "", got_trace ? " ptrace" : "");
      }
    }
    if (d)
      closedir(d);
    usleep(2000); /* one vCPU under TCG: leave room for the execs we hunt */
  }
  printf("hunt: scans=%ld seen=%ld stolen=%ld\n", scans, seen, stolen);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 2 && !strcmp(argv[1], "status")) {
    print_fds(); /* first: nothing of ours is open yet */
    print_status();
  } else if (argc >= 2 && !strcmp(argv[1], "confined")) {
    confined();
  } else if (argc >= 3 && !strcmp(argv[1], "hunt")) {
    hunt(atoi(argv[2]));
  } else if (argc >= 2 && !strcmp(argv[1], "privileged")) {
    print_status();
    int r = mount("tmpfs", "/mnt", "tmpfs", 0, NULL);
    printf("mount: %s\n", r == 0 ? "ok" : strerror(errno));
    struct statvfs sv;
    printf("cgroup: %s\n", statvfs("/sys/fs/cgroup", &sv) == 0 && !(sv.f_flag & ST_RDONLY) ? "rw" : "ro");
    printf("kcore-mask: %s\n", read_len("/proc/timer_list") > 0 ? "off" : "on");
  } else if (argc >= 3 && !strcmp(argv[1], "modules")) {
    modules(argc - 2, argv + 2);
  } else {
    fprintf(stderr, "usage: vmctr-probe confined|status|hunt SECONDS|privileged|modules KO...\n");
    return 2;
  }
  return 0;
}
