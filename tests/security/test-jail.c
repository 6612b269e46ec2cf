/* SPDX-License-Identifier: MIT */
/* Host-side attack tests (doc/security.md, "Hypervisor → host" and
 * "Guest → host"): real containers in real VMs; the hostile part runs in
 * the container, the checks look at the host afterwards: QEMU's and
 * virtiofsd's jails as /proc shows them, shares that the guest tries to
 * write through, set-uid files and device nodes made through a share, the
 * VM's lifetime against its creating thread and its owning process (the
 * boot log's bound is test-boundlog.c). Public API only. Exits 77 without a guest kernel. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vmctr.h>

#include "testutil.h"
#include "vmtest.h"

static struct vmtest F;
static int seq;
#define MARKER_NAME "VMCTR_SECURITY_TEST_MARKER"

/* ---- host helpers ---- */

static char *slurp(const char *path, char *buf, size_t n) {
  buf[0] = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  size_t len = 0;
  ssize_t k;
  while (len + 1 < n && (k = read(fd, buf + len, n - 1 - len)) > 0)
    len += (size_t)k;
  buf[len] = 0;
  close(fd);
  return buf;
}

/* The pid of a process whose parent is ppid, command name starts with
 * comm and command line holds needle (NULL: any); 0 if none. */
static pid_t find_child(pid_t ppid, const char *comm, const char *needle) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  pid_t found = 0;
  assert_non_null(d);
  while (!found && (e = readdir(d))) {
    char path[64], buf[8192];
    int pid = atoi(e->d_name);
    if (pid <= 0)
      continue;
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    if (!slurp(path, buf, sizeof(buf)))
      continue;
    char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
    if (!lp || !rp)
      continue;
    *rp = 0;
    int pp = 0;
    if (sscanf(rp + 2, "%*c %d", &pp) != 1 || pp != ppid || strncmp(lp + 1, comm, strlen(comm)))
      continue;
    snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t k = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0)
      close(fd);
    if (k < 0)
      continue;
    for (ssize_t i = 0; i < k; i++)
      if (!buf[i])
        buf[i] = ' ';
    buf[k] = 0;
    if (!needle || strstr(buf, needle))
      found = pid;
  }
  closedir(d);
  return found;
}

static bool alive(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  if (!slurp(path, buf, sizeof(buf)))
    return false;
  char *rp = strrchr(buf, ')');
  return rp && rp[2] != 'Z';
}

/* The value of "Key:" in /proc/PID/status, or "". */
static const char *status_field(pid_t pid, const char *key, char *out, size_t n) {
  char path[64], buf[8192];
  out[0] = 0;
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  assert_non_null(slurp(path, buf, sizeof(buf)));
  for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
    if (strncmp(l, key, strlen(key)) == 0 && l[strlen(key)] == ':') {
      const char *v = l + strlen(key) + 1;
      while (*v == ' ' || *v == '\t')
        v++;
      snprintf(out, n, "%s", v);
    }
  return out;
}

/* ---- containers ---- */

struct ct {
  vmctr_container *c;
  struct vmtest_rootfs root;
  struct vmtest_out out;
};

/* privileged: the container's root keeps every capability and no seccomp,
 * so an attack on a share really reaches the host's side of it. */
static void ct_new(struct ct *t, const char *id, vmctr_mount *const *mounts, size_t n,
                   const char *boot_log, bool privileged) {
  static const char *const sleeper[] = {"sleep", "600"};
  char name[64];
  memset(t, 0, sizeof(*t));
  vmtest_out_init(&t->out);
  snprintf(name, sizeof(name), "%s-%d", id, ++seq);
  assert_int_equal(vmtest_rootfs(&F, NULL, name, &t->root), 0);
  vmctr_bootcfg *b;
  vmctr_process_config *p;
  vmctr_container_config *cfg;
  assert_int_equal(vmctr_bootcfg_new(&b), 0);
  assert_int_equal(vmctr_bootcfg_set_kernel(b, F.kernel), 0);
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, sleeper, 2), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK,
                                                  VMCTR_STDIO_CALLBACK), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, &t->out, NULL), 0);
  if (privileged)
    assert_int_equal(vmctr_process_config_set_privileged(p, 1), 0);
  assert_int_equal(vmctr_container_config_new(&cfg), 0);
  assert_int_equal(vmctr_container_config_set_image(cfg, F.image), 0);
  assert_int_equal(vmctr_container_config_set_process(cfg, p), 0);
  if (boot_log)
    assert_int_equal(vmctr_container_config_set_boot_log(cfg, boot_log), 0);
  for (size_t i = 0; i < n; i++)
    assert_ok(vmctr_container_config_add_mount(cfg, mounts[i]));
  assert_ok(vmctr_container_new(&t->c, name, t->root.mount, b, cfg));
  assert_ok(vmctr_container_start(t->c));
  vmctr_process_config_free(p);
  vmctr_container_config_free(cfg);
  vmctr_bootcfg_free(b);
}

static int32_t ct_sh(struct ct *t, const char *script, struct vmtest_out *o) {
  const char *const argv[] = {"sh", "-c", script};
  vmctr_process_config *p;
  vmctr_process *proc;
  int32_t code = -1, sig = -1;
  vmtest_out_init(o);
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_args(p, argv, 3), 0);
  assert_int_equal(vmctr_process_config_set_stdio(p, VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK,
                                                  VMCTR_STDIO_CALLBACK), 0);
  assert_int_equal(vmctr_process_config_set_output_callback(p, vmtest_collect, o, NULL), 0);
  assert_ok(vmctr_container_exec(t->c, p, &proc));
  assert_int_equal(vmctr_process_wait(proc, 120000, &code, &sig), 0);
  vmctr_process_free(proc);
  vmctr_process_config_free(p);
  /* Every line a TAP comment. */
  printf("# [%s] -> %d\n", script, code);
  for (int k = 0; k < 2; k++) {
    char copy[1 << 16];
    snprintf(copy, sizeof(copy), "%s", k ? o->err : o->buf);
    for (char *l = strtok(copy, "\n"); l; l = strtok(NULL, "\n"))
      printf("#   %s\n", l);
  }
  return code;
}

static void ct_free(struct ct *t) {
  if (t->c) {
    vmctr_process_kill(vmctr_container_init_process(t->c), 9);
    assert_ok(vmctr_container_stop(t->c, 2000));
  }
  vmctr_container_free(t->c);
  vmtest_rootfs_free(&t->root);
}

static void assert_no_leftovers(void) {
  assert_int_equal(vmtest_children("", NULL, NULL, 0, 1), 0);
  assert_int_equal(vmtest_runtime_entries(&F, 1), 0);
}

/* ---- QEMU's jail ---- */

static void test_qemu_jail(void **s) {
  (void)s;
  char v[256], path[64], buf[16384];
  struct ct t;
  setenv(MARKER_NAME, "the-application-secret", 1);
  ct_new(&t, "qemujail", NULL, 0, NULL, false);
  unsetenv(MARKER_NAME);
  pid_t q = find_child(getpid(), "qemu-system", NULL);
  assert_true(q > 0);

  /* seccomp filter mode (QEMU's -sandbox), no_new_privs. */
  assert_string_equal(status_field(q, "Seccomp", v, sizeof(v)), "2");
  assert_string_equal(status_field(q, "NoNewPrivs", v, sizeof(v)), "1");
  if (geteuid() == 0) {
    unsigned r, e, sv, fs;
    assert_int_equal(sscanf(status_field(q, "Uid", v, sizeof(v)), "%u %u %u %u", &r, &e, &sv, &fs), 4);
    printf("# qemu runs as uid %u\n", r);
    assert_true(r >= VMCTR_VMM_DEFAULT_JAIL_ID_FIRST && r == e && e == sv && sv == fs);
    assert_int_equal(sscanf(status_field(q, "Gid", v, sizeof(v)), "%u", &r), 1);
    assert_true(r >= VMCTR_VMM_DEFAULT_JAIL_ID_FIRST);
    assert_string_equal(status_field(q, "CapEff", v, sizeof(v)), "0000000000000000");
    assert_string_equal(status_field(q, "Groups", v, sizeof(v)), "");
  }
  /* Nothing of our environment. */
  snprintf(path, sizeof(path), "/proc/%d/environ", (int)q);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  assert_true(n >= 0);
  buf[n] = 0;
  for (ssize_t i = 0; i < n; i++)
    if (!buf[i])
      buf[i] = '\n';
  for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
    printf("# qemu environment: %s\n", l);
  /* strtok cut buf: read it again for the checks. */
  fd = open(path, O_RDONLY | O_CLOEXEC);
  n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  buf[n > 0 ? n : 0] = 0;
  for (ssize_t i = 0; i < n; i++)
    if (!buf[i])
      buf[i] = '\n';
  assert_null(strstr(buf, MARKER_NAME));
  assert_null(strstr(buf, "the-application-secret"));
  assert_null(strstr(buf, "XDG_RUNTIME_DIR"));
  assert_null(strstr(buf, "HOME="));
  /* Its own session: Ctrl-C in our terminal does not reach it. */
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)q);
  assert_non_null(slurp(path, buf, sizeof(buf)));
  int sid = -1;
  assert_int_equal(sscanf(strrchr(buf, ')') + 2, "%*c %*d %*d %d", &sid), 1);
  assert_int_not_equal(sid, (int)getsid(0));
  assert_int_equal(sid, (int)q);
  /* No core dumps (they would hold guest RAM). */
  snprintf(path, sizeof(path), "/proc/%d/limits", (int)q);
  assert_non_null(slurp(path, buf, sizeof(buf)));
  assert_non_null(strstr(buf, "Max core file size        0                    0"));

  /* Its mount namespace holds only the jail. */
  snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)q);
  char ns_q[64] = "", ns_self[64] = "";
  assert_true(readlink(path, ns_q, sizeof(ns_q) - 1) > 0);
  assert_true(readlink("/proc/self/ns/mnt", ns_self, sizeof(ns_self) - 1) > 0);
  if (strcmp(ns_q, ns_self) == 0) {
    printf("# qemu shares our mount namespace: namespaces are not available here\n");
    assert_int_not_equal(geteuid(), 0); /* as root they must be */
  } else {
    static const char *const allowed[] = {"/", "/usr", "/etc/ld.so.cache", "/dev/null", "/dev/zero",
                                          "/dev/urandom", "/dev/kvm", "/kernel", "/initfs", "/lib",
                                          "/lib64", "/bin", "/sbin", "/lib32", "/libx32"};
    snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)q);
    assert_non_null(slurp(path, buf, sizeof(buf)));
    int mounts = 0;
    for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
      char mp[512], opts[256];
      assert_int_equal(sscanf(l, "%*d %*d %*s %*s %511s %255s", mp, opts), 2);
      bool ok = false;
      for (size_t i = 0; i < sizeof(allowed) / sizeof(*allowed); i++)
        ok |= strcmp(mp, allowed[i]) == 0;
      if (!ok)
        fail_msg("unexpected mount in QEMU's jail: %s", l);
      if (strcmp(mp, "/usr") == 0 || strcmp(mp, "/kernel") == 0 || strcmp(mp, "/") == 0)
        assert_true(strncmp(opts, "ro,", 3) == 0);
      mounts++;
    }
    assert_true(mounts >= 5);
    /* Its root: no /tmp, /home, /work, /root, /proc, /run of the host. */
    static const char *const absent[] = {"tmp", "home", "root", "proc", "run", "var", "work", "sys"};
    for (size_t i = 0; i < sizeof(absent) / sizeof(*absent); i++) {
      snprintf(path, sizeof(path), "/proc/%d/root/%s", (int)q, absent[i]);
      assert_int_equal(access(path, F_OK), -1);
    }
    snprintf(path, sizeof(path), "/proc/%d/root/kernel", (int)q);
    assert_int_equal(access(path, R_OK), 0);
    /* Its own pid namespace: it is pid 1 there. */
    assert_non_null(strstr(status_field(q, "NSpid", v, sizeof(v)), "\t1"));
  }
  /* The VM works in its jail. */
  struct vmtest_out o;
  assert_int_equal(ct_sh(&t, "echo jailed-but-working", &o), 0);
  assert_string_equal(o.buf, "jailed-but-working\n");
  ct_free(&t);
  assert_no_leftovers();
}

/* ---- shares ---- */

static void write_host(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

static void test_shares(void **s) {
  (void)s;
  char rodir[256], rwdir[256], path[512], buf[16384], needle[300];
  snprintf(rodir, sizeof(rodir), "%s/ro-share", F.dir);
  snprintf(rwdir, sizeof(rwdir), "%s/rw-share", F.dir);
  assert_int_equal(mkdir(rodir, 0755), 0);
  assert_int_equal(mkdir(rwdir, 0777), 0);
  snprintf(path, sizeof(path), "%s/f", rodir);
  write_host(path, "original\n");
  vmctr_mount *m[2];
  assert_int_equal(vmctr_mount_new_share(&m[0], rodir, "/ro"), 0);
  assert_int_equal(vmctr_mount_set_read_only(m[0], 1), 0);
  assert_int_equal(vmctr_mount_new_share(&m[1], rwdir, "/rw"), 0);
  struct ct t;
  ct_new(&t, "shares", m, 2, NULL, true);

  /* The read-only share's daemon sees a read-only, nosuid, nodev bind. */
  snprintf(needle, sizeof(needle), "source=%s", rodir);
  pid_t d = find_child(getpid(), "virtiofsd", needle);
  assert_true(d > 0);
  char ns_d[64] = "", ns_self[64] = "";
  snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)d);
  assert_true(readlink(path, ns_d, sizeof(ns_d) - 1) > 0);
  assert_true(readlink("/proc/self/ns/mnt", ns_self, sizeof(ns_self) - 1) > 0);
  if (strcmp(ns_d, ns_self) != 0) {
    snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)d);
    assert_non_null(slurp(path, buf, sizeof(buf)));
    bool seen = false;
    for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
      char root[512], mp[512], opts[256];
      /* The bind at the source's path, or, once the daemon has done its own
       * pivot_root into it, the same bind as its root. */
      if (sscanf(l, "%*d %*d %*s %511s %511s %255s", root, mp, opts) == 3 &&
          (strcmp(mp, rodir) == 0 || (strcmp(mp, "/") == 0 && strcmp(root, rodir) == 0))) {
        printf("# virtiofsd's view of the read-only share: %s\n", l);
        assert_true(strncmp(opts, "ro,", 3) == 0);
        assert_non_null(strstr(opts, "nosuid"));
        assert_non_null(strstr(opts, "nodev"));
        seen = true;
      }
    }
    assert_true(seen);
    /* ... and nothing of it on the host. */
    assert_non_null(slurp("/proc/self/mountinfo", buf, sizeof(buf)));
    assert_null(strstr(buf, rodir));
  } else {
    printf("# virtiofsd shares our mount namespace: namespaces are not available here\n");
    assert_int_not_equal(geteuid(), 0);
  }
  char v[64];
  assert_string_equal(status_field(d, "Seccomp", v, sizeof(v)), "2");
  assert_string_equal(status_field(d, "NoNewPrivs", v, sizeof(v)), "1");
  snprintf(path, sizeof(path), "/proc/%d/limits", (int)d);
  assert_non_null(slurp(path, buf, sizeof(buf)));
  assert_null(strstr(buf, "Max open files            1000000"));

  /* The attack, from a privileged container: remount the share read-write
   * in the guest (which works: the guest is the container's) and write. */
  struct vmtest_out o;
  ct_sh(&t, "mount -o remount,rw /ro; grep ' /ro ' /proc/mounts; echo hacked > /ro/f; "
            "echo new > /ro/new; cat /ro/f", &o);
  assert_non_null(strstr(o.buf, " /ro virtiofs rw")); /* the guest side gave way */
  snprintf(path, sizeof(path), "%s/f", rodir);
  assert_string_equal(slurp(path, buf, sizeof(buf)), "original\n");
  snprintf(path, sizeof(path), "%s/new", rodir);
  assert_int_equal(access(path, F_OK), -1);

  /* Set-uid and set-gid files through the read-write share. */
  ct_sh(&t, "cp /bin/busybox /rw/suid; chmod 4755 /rw/suid; chmod u+s /rw/suid; "
            "touch /rw/sgid; chmod 2755 /rw/sgid; ls -l /rw", &o);
  struct stat st;
  snprintf(path, sizeof(path), "%s/suid", rwdir);
  assert_int_equal(stat(path, &st), 0); /* the copy itself went through */
  assert_int_equal(st.st_mode & (S_ISUID | S_ISGID), 0);
  snprintf(path, sizeof(path), "%s/sgid", rwdir);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & (S_ISUID | S_ISGID), 0);
  /* Device nodes through it: refused, or at least no device on the host. */
  ct_sh(&t, "mknod /rw/mem c 1 1; mknod /rw/disk b 254 0; mkfifo /rw/fifo; ls -l /rw", &o);
  snprintf(path, sizeof(path), "%s/mem", rwdir);
  assert_false(lstat(path, &st) == 0 && S_ISCHR(st.st_mode));
  snprintf(path, sizeof(path), "%s/disk", rwdir);
  assert_false(lstat(path, &st) == 0 && S_ISBLK(st.st_mode));
  /* An ordinary FIFO still works (the filter is narrow). */
  snprintf(path, sizeof(path), "%s/fifo", rwdir);
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISFIFO(st.st_mode));
  /* And ordinary writes. */
  assert_int_equal(ct_sh(&t, "echo fine > /rw/plain && chmod 0640 /rw/plain", &o), 0);
  snprintf(path, sizeof(path), "%s/plain", rwdir);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0640);

  ct_free(&t);
  vmctr_mount_free(m[0]);
  vmctr_mount_free(m[1]);
  assert_no_leftovers();
}

/* ---- lifetime ---- */

struct starter {
  struct ct t;
};

static void *start_on_thread(void *arg) {
  struct starter *st = arg;
  ct_new(&st->t, "thread", NULL, 0, NULL, false);
  return NULL;
}

static void test_thread_exits(void **s) {
  (void)s;
  struct starter st;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, start_on_thread, &st), 0);
  assert_int_equal(pthread_join(th, NULL), 0);
  pid_t q = find_child(getpid(), "qemu-system", NULL);
  assert_true(q > 0);
  /* Time for a PDEATHSIG tied to the thread to strike. */
  usleep(1500 * 1000);
  assert_true(alive(q));
  assert_int_equal(vmctr_container_state(st.t.c), VMCTR_CONTAINER_RUNNING);
  struct vmtest_out o;
  assert_int_equal(ct_sh(&st.t, "echo still-here", &o), 0);
  assert_string_equal(o.buf, "still-here\n");
  ct_free(&st.t);
  assert_false(alive(q));
  assert_no_leftovers();
}

static void test_owner_killed(void **s) {
  (void)s;
  int p[2];
  assert_int_equal(pipe(p), 0);
  char rodir[256];
  snprintf(rodir, sizeof(rodir), "%s/owner-share", F.dir);
  assert_int_equal(mkdir(rodir, 0755), 0);
  pid_t owner = fork();
  assert_true(owner >= 0);
  if (owner == 0) {
    close(p[0]);
    vmctr_mount *m;
    struct ct t;
    if (vmctr_mount_new_share(&m, rodir, "/x") < 0)
      _exit(2);
    ct_new(&t, "owner", &m, 1, NULL, false);
    pid_t pids[2] = {find_child(getpid(), "qemu-system", NULL),
                     find_child(getpid(), "virtiofsd", NULL)};
    (void)!write(p[1], pids, sizeof(pids));
    pause();
    _exit(0);
  }
  close(p[1]);
  pid_t pids[2] = {0, 0};
  ssize_t n = read(p[0], pids, sizeof(pids));
  close(p[0]);
  if (n != (ssize_t)sizeof(pids)) {
    kill(owner, SIGKILL);
    waitpid(owner, NULL, 0);
    fail_msg("the owner process could not start its VM");
  }
  assert_true(pids[0] > 0 && pids[1] > 0);
  assert_true(alive(pids[0]) && alive(pids[1]));
  assert_true(vmtest_runtime_entries(&F, 0) > 0);
  assert_int_equal(kill(owner, SIGKILL), 0);
  assert_int_equal(waitpid(owner, NULL, 0), owner);
  /* Everything goes with it, without anyone calling into the library. */
  int gone = 0;
  for (int i = 0; i < 100 && gone < 3; i++) {
    usleep(100 * 1000);
    gone = !alive(pids[0]) + !alive(pids[1]) + (vmtest_runtime_entries(&F, 0) == 0);
  }
  assert_false(alive(pids[0]));
  assert_false(alive(pids[1]));
  assert_int_equal(vmtest_runtime_entries(&F, 1), 0);
  char buf[65536];
  assert_non_null(slurp("/proc/self/mountinfo", buf, sizeof(buf)));
  assert_null(strstr(buf, F.run_dir));
  assert_null(strstr(buf, rodir));
  /* No cgroup of a VM is left (where the library made one). */
  DIR *d = opendir("/sys/fs/cgroup");
  struct dirent *e;
  while (d && (e = readdir(d)))
    assert_true(strncmp(e->d_name, "vmctr-", 6) != 0);
  if (d)
    closedir(d);
}

static int setup(void **state) {
  (void)state;
  return vmtest_setup(&F, "vmctr-test-security");
}

static int teardown(void **state) {
  (void)state;
  return vmtest_teardown(&F);
}

int main(void) {
  if (!getenv("VMCTR_TEST_KERNEL") || access(getenv("VMCTR_TEST_KERNEL"), R_OK) != 0) {
    printf("1..0 # SKIP no guest kernel (VMCTR_TEST_KERNEL): run kernel/build-kernel.sh\n");
    return 77;
  }
  if (getenv("VMCTR_TEST_FILTER"))
    cmocka_set_test_filter(getenv("VMCTR_TEST_FILTER"));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_qemu_jail),
      cmocka_unit_test(test_shares),
      cmocka_unit_test(test_thread_exits),
      cmocka_unit_test(test_owner_killed),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
