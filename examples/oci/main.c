/* SPDX-License-Identifier: MIT */
/* vmctr-oci: a runc-compatible OCI runtime on libvmctr. Each container runs
 * in its own VM; the monitor process that `create` forks stands for it on
 * the host (monitor.h). Commands and flags follow runc's as the containerd
 * runc shim v2, Docker and podman call them (doc/oci-runtime.md). Every failure
 * exits 1 with one error line in the --log file, as runc does. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "state.h"
#ifndef OCI_FRONT
#include <vmctr.h>

#include "../example-util.h"
#include "monitor.h"
#include "podnet.h"
#include "spec.h"
#endif

/* Two binaries are built from this file. The front (OCI_FRONT, the installed
 * vmctr-oci) does not link libvmctr: start, state, kill, delete, ps and
 * features only read the state and talk to a monitor, and an engine calls
 * them several times per container, where loading the library and its
 * dependencies (some 50 shared objects) would cost more than the command.
 * create and exec, which run the library, and a delete that must undo a pod
 * network, re-execute the engine (vmctr-oci-engine) with the same
 * arguments. */
#define OCI_VERSION "1.0.2"
#define MAX_PROCESS_BYTES (4u * 1024 * 1024)

struct globals {
  const char *root;
  const char *log;
  bool json;
};
static struct globals g = {OCI_DEFAULT_ROOT, NULL, false};

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  oci_vlog(OCI_LOG_ERROR, fmt, ap);
  va_end(ap);
  return 1;
}

/* ---- option parsing, urfave/cli style: --name value, --name=value, -name ---- */

struct opt {
  const char *name;  /* long name */
  char shortname;    /* or 0 */
  bool has_arg;
  const char *value; /* set: the argument, or "" for a flag */
  const char **multi; /* a repeatable option's values, or NULL */
  size_t nmulti, maxmulti;
};

/* Parse argv[*i..] up to the first positional word. 0, or 1 with an error. */
static int parse_opts(const char *cmd, int argc, char **argv, int *i, struct opt *opts, size_t n) {
  while (*i < argc) {
    const char *a = argv[*i];
    if (a[0] != '-' || a[1] == '\0')
      return 0;
    if (strcmp(a, "--") == 0) {
      (*i)++;
      return 0;
    }
    const char *name = a + (a[1] == '-' ? 2 : 1);
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    struct opt *o = NULL;
    for (size_t k = 0; k < n && !o; k++)
      if ((strlen(opts[k].name) == len && strncmp(opts[k].name, name, len) == 0) ||
          (len == 1 && opts[k].shortname == name[0]))
        o = &opts[k];
    if (!o)
      return die("%s: unknown option %s", cmd, a);
    (*i)++;
    if (o->has_arg) {
      if (eq) {
        o->value = eq + 1;
      } else {
        if (*i >= argc)
          return die("%s: option %s needs a value", cmd, a);
        o->value = argv[(*i)++];
      }
      if (o->multi) {
        if (o->nmulti == o->maxmulti)
          return die("%s: too many %s options", cmd, a);
        o->multi[o->nmulti++] = o->value;
      }
    } else {
      o->value = eq && strcmp(eq + 1, "false") == 0 ? NULL : "";
    }
  }
  return 0;
}

static const char *optval(struct opt *opts, size_t n, const char *name) {
  for (size_t k = 0; k < n; k++)
    if (strcmp(opts[k].name, name) == 0)
      return opts[k].value;
  return NULL;
}

static int need_id(const char *cmd, int argc, char **argv, int i, const char **id) {
  if (i >= argc)
    return die("%s: a container id is needed", cmd);
  *id = argv[i];
  if (!oci_id_valid(*id))
    return die("%s: invalid container id %s", cmd, *id);
  return 0;
}

/* ---- small helpers ---- */

/* Write the pid file as runc does: the number alone, no newline, renamed
 * into place. */
static int write_pid_file(const char *path, pid_t pid) {
  char tmp[PATH_MAX], num[32];
  if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
    return -1;
  int n = snprintf(num, sizeof(num), "%d", (int)pid);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return -1;
  if (write(fd, num, (size_t)n) != n || close(fd) < 0) {
    unlink(tmp);
    return -1;
  }
  if (rename(tmp, path) < 0) {
    unlink(tmp);
    return -1;
  }
  return 0;
}

static int parse_signal(const char *s) {
  static const struct { const char *name; int num; } sigs[] = {
    {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"ILL", SIGILL}, {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"IOT", SIGIOT}, {"BUS", SIGBUS}, {"FPE", SIGFPE}, {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},
    {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},
    {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU}, {"URG", SIGURG}, {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"POLL", SIGPOLL}, {"PWR", SIGPWR}, {"SYS", SIGSYS},
  };
  char *end;
  long v = strtol(s, &end, 10);
  if (end != s && !*end)
    return v >= 0 && v <= 64 ? (int)v : -1;
  if (strncasecmp(s, "SIG", 3) == 0)
    s += 3;
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    if (strcasecmp(s, sigs[i].name) == 0)
      return sigs[i].num;
  return -1;
}

/* Wait up to ms for the monitor of st to be gone. */
static bool wait_monitor_gone(const oci_state *st, int ms) {
  for (int t = 0; t < ms; t += 20) {
    if (!oci_state_monitor_alive(st))
      return true;
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
  }
  return !oci_state_monitor_alive(st);
}

/* mkdir -p, 0700 for what it makes (runc makes --root with MkdirAll). */
static int mkdir_p(const char *path) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  return mkdir(buf, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

/* ---- hooks ---- */

/* Run each hook of hooks[name] with the state on its stdin, as the runtime
 * spec says: path, args, env, timeout (seconds). 0, or -1 with err. */
static int run_hooks(const cJSON *spec, const char *name, const char *state, char *err, size_t errlen) {
  const cJSON *hooks = cJSON_GetObjectItemCaseSensitive(spec, "hooks");
  const cJSON *list = hooks ? cJSON_GetObjectItemCaseSensitive(hooks, name) : NULL, *h;
  int idx = 0;
  cJSON_ArrayForEach(h, list) {
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(h, "path");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(h, "args");
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(h, "env");
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(h, "timeout");
    if (!cJSON_IsString(path) || path->valuestring[0] != '/') {
      snprintf(err, errlen, "hooks.%s[%d]: path must be absolute", name, idx);
      return -1;
    }
    size_t na = cJSON_IsArray(args) ? (size_t)cJSON_GetArraySize(args) : 0;
    size_t ne = cJSON_IsArray(env) ? (size_t)cJSON_GetArraySize(env) : 0;
    char **argv = calloc(na + 2, sizeof(*argv)), **envp = calloc(ne + 1, sizeof(*envp));
    size_t k = 0;
    const cJSON *e;
    if (na == 0)
      argv[k++] = path->valuestring;
    cJSON_ArrayForEach(e, args) if (cJSON_IsString(e)) argv[k++] = e->valuestring;
    k = 0;
    cJSON_ArrayForEach(e, env) if (cJSON_IsString(e)) envp[k++] = e->valuestring;
    int in[2];
    if (pipe2(in, O_CLOEXEC) < 0) {
      free(argv), free(envp);
      snprintf(err, errlen, "hooks.%s: pipe: %s", name, strerror(errno));
      return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
      dup2(in[0], STDIN_FILENO);
      int nul = open("/dev/null", O_WRONLY);
      if (nul >= 0) {
        dup2(nul, STDOUT_FILENO);
      }
      sigset_t all;
      sigemptyset(&all);
      sigprocmask(SIG_SETMASK, &all, NULL);
      execve(path->valuestring, argv, envp);
      _exit(127);
    }
    free(argv), free(envp);
    close(in[0]);
    if (pid < 0) {
      close(in[1]);
      snprintf(err, errlen, "hooks.%s: fork: %s", name, strerror(errno));
      return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    ssize_t w = write(in[1], state, strlen(state));
    (void)w;
    close(in[1]);
    int timeout = cJSON_IsNumber(to) && to->valueint > 0 ? to->valueint : 0, status = 0;
    for (int t = 0;; t += 10) {
      pid_t r = waitpid(pid, &status, timeout ? WNOHANG : 0);
      if (r == pid)
        break;
      if (r < 0 && errno != EINTR) {
        status = -1;
        break;
      }
      if (timeout && t >= timeout * 1000) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        snprintf(err, errlen, "hooks.%s[%d] %s timed out after %d s", name, idx, path->valuestring, timeout);
        return -1;
      }
      struct timespec ts = {0, 10 * 1000000};
      nanosleep(&ts, NULL);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      snprintf(err, errlen, "hooks.%s[%d] %s failed (%s %d)", name, idx, path->valuestring,
               WIFEXITED(status) ? "exit status" : "signal",
               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
      return -1;
    }
    idx++;
  }
  return 0;
}

static char *hook_state(const char *id, const char *status, pid_t pid, const char *bundle,
                        const cJSON *annotations) {
  oci_state st = {0};
  snprintf(st.id, sizeof(st.id), "%s", id);
  snprintf(st.status, sizeof(st.status), "%s", status);
  st.pid = pid;
  st.bundle = (char *)bundle;
  st.annotations = (cJSON *)annotations;
  char *text = oci_state_json(&st, false);
  return text;
}

/* ---- commands ---- */

#ifdef OCI_FRONT
static char **g_argv;

/* The engine beside this binary (the build tree), else the installed one. */
static int exec_engine(void) {
  char self[PATH_MAX], path[PATH_MAX + 32];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) {
      *slash = '\0';
      snprintf(path, sizeof(path), "%s/vmctr-oci-engine", self);
      if (access(path, X_OK) == 0)
        execv(path, g_argv);
    }
  }
  execv(OCI_ENGINE_PATH, g_argv);
  return die("cannot run %s: %s", OCI_ENGINE_PATH, strerror(errno));
}

static int cmd_create(int argc, char **argv, int i) {
  (void)argc, (void)argv, (void)i;
  return exec_engine();
}

static int cmd_exec(int argc, char **argv, int i) {
  (void)argc, (void)argv, (void)i;
  return exec_engine();
}
#else
static int cmd_create(int argc, char **argv, int i) {
  struct opt o[] = {{"bundle", 'b', true, NULL},      {"pid-file", 0, true, NULL},
                    {"console-socket", 0, true, NULL}, {"no-pivot", 0, false, NULL},
                    {"no-new-keyring", 0, false, NULL}, {"preserve-fds", 0, true, NULL}};
  size_t no = sizeof(o) / sizeof(o[0]);
  const char *id;
  if (parse_opts("create", argc, argv, &i, o, no) || need_id("create", argc, argv, i, &id))
    return 1;
  const char *bundle = optval(o, no, "bundle") ? optval(o, no, "bundle") : ".";
  const char *pidfile = optval(o, no, "pid-file"), *console = optval(o, no, "console-socket");
  const char *pfds = optval(o, no, "preserve-fds");
  if (pfds && strcmp(pfds, "0") != 0)
    return die("create: --preserve-fds: passing descriptors into a VM is not supported");

  char err[2048], dir[PATH_MAX];
  if (mkdir_p(g.root) < 0)
    return die("create: cannot make the state root %s: %s", g.root, strerror(errno));
  if (oci_state_dir(dir, sizeof(dir), g.root, id) < 0)
    return die("create: the state path is too long");
  if (mkdir(dir, 0700) < 0) {
    if (errno == EEXIST)
      return die("container with given ID already exists");
    return die("create: %s: %s", dir, strerror(errno));
  }
  int lock = oci_state_lock(g.root, id);

  oci_spec spec;
  if (oci_spec_load(bundle, &spec, err, sizeof(err)) < 0) {
    oci_state_remove(g.root, id);
    return die("%s", err);
  }
  if (spec.terminal && !console) {
    oci_spec_free(&spec);
    oci_state_remove(g.root, id);
    return die("cannot allocate tty if runc will detach without setting console socket");
  }
  if (!spec.terminal && console) {
    oci_spec_free(&spec);
    oci_state_remove(g.root, id);
    return die("cannot use console socket if runc will not detach or allocate tty");
  }
  char created[64];
  oci_rfc3339_now(created, sizeof(created));
  const cJSON *ann = cJSON_GetObjectItemCaseSensitive(spec.json, "annotations");
  oci_state st = {.exit_code = -1};
  snprintf(st.id, sizeof(st.id), "%s", id);
  snprintf(st.status, sizeof(st.status), "%s", OCI_CREATING);
  st.bundle = spec.bundle;
  st.rootfs = spec.rootfs;
  st.created = created;
  st.annotations = cJSON_IsObject(ann) ? (cJSON *)ann : NULL;
  if (oci_state_save(g.root, &st) < 0) {
    oci_spec_free(&spec);
    oci_state_remove(g.root, id);
    return die("create: cannot write the state in %s: %s", dir, strerror(errno));
  }

  int up[2], down[2];
  if (pipe2(up, O_CLOEXEC) < 0 || pipe2(down, O_CLOEXEC) < 0) {
    oci_spec_free(&spec);
    oci_state_remove(g.root, id);
    return die("create: pipe: %s", strerror(errno));
  }
  pid_t pid = fork();
  if (pid < 0) {
    oci_spec_free(&spec);
    oci_state_remove(g.root, id);
    return die("create: fork: %s", strerror(errno));
  }
  if (pid == 0) {
    close(up[0]);
    close(down[1]);
    if (lock >= 0)
      close(lock);
    struct oci_monitor_args a = {g.root, id, console, &spec, up[1], down[0]};
    oci_monitor_main(&a);
  }
  close(up[1]);
  close(down[0]);

  /* Read the monitor's lines: "ns", then (after the hooks) "ok" or "err". */
  FILE *f = fdopen(up[0], "r");
  char line[2048];
  int rc = 1;
  bool hooks_ran = false, got_err = false, net_made = false;
  while (f && fgets(line, sizeof(line), f)) {
    line[strcspn(line, "\n")] = '\0';
    if (strcmp(line, "ns") == 0 && !hooks_ran) {
      hooks_ran = true;
      char *state = hook_state(id, OCI_CREATING, pid, spec.bundle, st.annotations);
      int hr = run_hooks(spec.json, "prestart", state, err, sizeof(err));
      if (hr == 0)
        hr = run_hooks(spec.json, "createRuntime", state, err, sizeof(err));
      free(state);
      if (hr < 0) {
        die("%s", err);
        got_err = true;
        break;
      }
      ssize_t w = write(down[1], "go\n", 3);
      (void)w;
    } else if (strcmp(line, "net") == 0) {
      net_made = true; /* the monitor made a tap: undo it if the create fails */
    } else if (strcmp(line, "ok") == 0) {
      rc = 0;
      break;
    } else if (strncmp(line, "err ", 4) == 0) {
      die("%s", line + 4);
      got_err = true;
      break;
    }
  }
  if (f)
    fclose(f);
  close(down[1]);
  if (rc == 0 && pidfile && write_pid_file(pidfile, pid) < 0) {
    die("create: cannot write the pid file %s: %s", pidfile, strerror(errno));
    got_err = true;
    rc = 1;
  }
  if (rc != 0) {
    /* The monitor has failed (or was told to by the closed pipe): reap it and
     * leave nothing behind, a pod network's tap included. */
    int ws = 0;
    bool said = got_err;
    if (waitpid(pid, &ws, WNOHANG) == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &ws, 0);
    } else if (!said) {
      die("create: the container's monitor ended before the VM was up (%s %d)",
          WIFSIGNALED(ws) ? "signal" : "exit status", WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
      said = true;
    }
    if (!said)
      die("create: the container's monitor did not finish");
    if (net_made && spec.netns_path && oci_podnet_teardown(spec.netns_path, err, sizeof(err)) < 0)
      oci_log(OCI_LOG_WARN, "create: pod network: %s", err);
    oci_state_remove(g.root, id);
  }
  oci_spec_free(&spec);
  if (lock >= 0)
    close(lock);
  return rc;
}

#endif

static int load_or_die(const char *cmd, const char *id, oci_state *st) {
  char err[512];
  if (oci_state_load(g.root, id, st, err, sizeof(err)) < 0)
    return die("%s", err);
  (void)cmd;
  return 0;
}

static int simple_call(const char *id, cJSON *req, cJSON **reply, int timeout_ms) {
  char err[1024];
  int fd = oci_ctl_connect(g.root, id, err, sizeof(err));
  if (fd < 0) {
    cJSON_Delete(req);
    return die("%s", err);
  }
  cJSON *r = NULL;
  int rc = oci_ctl_call(fd, req, NULL, 0, timeout_ms, &r, err, sizeof(err));
  close(fd);
  cJSON_Delete(req);
  if (rc < 0)
    return die("%s", err);
  if (reply)
    *reply = r;
  else
    cJSON_Delete(r);
  return 0;
}

static int cmd_start(int argc, char **argv, int i) {
  const char *id;
  if (parse_opts("start", argc, argv, &i, NULL, 0) || need_id("start", argc, argv, i, &id))
    return 1;
  oci_state st;
  if (load_or_die("start", id, &st))
    return 1;
  const char *status = oci_state_status(&st);
  if (strcmp(status, OCI_CREATED) != 0) {
    int r = die(strcmp(status, OCI_STOPPED) == 0 ? "cannot start a container that has stopped"
                : strcmp(status, OCI_RUNNING) == 0 ? "cannot start an already running container"
                                                   : "cannot start a container in the %s state", status);
    oci_state_clear(&st);
    return r;
  }
  cJSON *req = cJSON_CreateObject();
  cJSON_AddStringToObject(req, "op", "start");
  int rc = simple_call(id, req, NULL, 120000);
  if (rc == 0 && st.bundle) {
    char err[1024], path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/config.json", st.bundle);
    cJSON *spec = oci_read_json(path, 16u << 20, err, sizeof(err));
    if (spec) {
      char *state = hook_state(id, OCI_RUNNING, st.pid, st.bundle, st.annotations);
      /* A failing poststart hook is logged; the container runs on (the spec). */
      if (run_hooks(spec, "poststart", state, err, sizeof(err)) < 0)
        oci_log(OCI_LOG_WARN, "%s", err);
      free(state);
      cJSON_Delete(spec);
    }
  }
  oci_state_clear(&st);
  return rc;
}

static int cmd_state(int argc, char **argv, int i) {
  const char *id;
  if (parse_opts("state", argc, argv, &i, NULL, 0) || need_id("state", argc, argv, i, &id))
    return 1;
  oci_state st;
  if (load_or_die("state", id, &st))
    return 1;
  char *text = oci_state_json(&st, true);
  printf("%s\n", text);
  free(text);
  oci_state_clear(&st);
  return 0;
}

static int cmd_kill(int argc, char **argv, int i) {
  struct opt o[] = {{"all", 'a', false, NULL}, {"pid", 'p', true, NULL}};
  const char *id;
  if (parse_opts("kill", argc, argv, &i, o, 2) || need_id("kill", argc, argv, i, &id))
    return 1;
  if (o[1].value)
    return die("kill: --pid is not supported");
  int sig = i + 1 < argc ? parse_signal(argv[i + 1]) : SIGTERM;
  if (sig < 0)
    return die("kill: unknown signal %s", argv[i + 1]);
  oci_state st;
  if (load_or_die("kill", id, &st))
    return 1;
  const char *status = oci_state_status(&st);
  oci_state_clear(&st);
  if (strcmp(status, OCI_STOPPED) == 0)
    return die("container not running");
  cJSON *req = cJSON_CreateObject();
  cJSON_AddStringToObject(req, "op", "kill");
  cJSON_AddNumberToObject(req, "signal", sig);
  cJSON_AddBoolToObject(req, "all", o[0].value != NULL);
  return simple_call(id, req, NULL, 10000);
}

static int cmd_delete(int argc, char **argv, int i) {
  struct opt o[] = {{"force", 'f', false, NULL}};
  const char *id;
  if (parse_opts("delete", argc, argv, &i, o, 1) || need_id("delete", argc, argv, i, &id))
    return 1;
  bool force = o[0].value != NULL;
  char err[1024];
  oci_state st;
  if (oci_state_load(g.root, id, &st, err, sizeof(err)) < 0) {
    if (errno == ENOENT) {
      /* A create that died before its state existed may leave the
       * directory: forced, that is cleaned and it is not an error (runc). */
      oci_state_remove(g.root, id);
      return force ? 0 : die("container does not exist");
    }
    if (!force)
      return die("%s", err);
    return oci_state_remove(g.root, id) < 0 ? die("delete: %s", strerror(errno)) : 0;
  }
  int lock = oci_state_lock(g.root, id);
  const char *status = oci_state_status(&st);
  if (strcmp(status, OCI_RUNNING) == 0 && !force) {
    int r = die("cannot delete container %s that is not stopped: %s", id, status);
    oci_state_clear(&st);
    close(lock);
    return r;
  }
  if (oci_state_monitor_alive(&st)) {
    /* Created, running (forced) or stopping: the monitor powers the VM off
     * when its init dies; if it does not, it is killed, and the VM's
     * processes die with it (the library arms PR_SET_PDEATHSIG). */
    if (strcmp(st.status, OCI_STOPPED) != 0) {
      cJSON *req = cJSON_CreateObject();
      cJSON_AddStringToObject(req, "op", "kill");
      cJSON_AddNumberToObject(req, "signal", SIGKILL);
      cJSON_AddBoolToObject(req, "all", 1);
      int fd = oci_ctl_connect(g.root, id, err, sizeof(err));
      cJSON *r = NULL;
      if (fd >= 0) {
        oci_ctl_call(fd, req, NULL, 0, 5000, &r, err, sizeof(err));
        close(fd);
      }
      cJSON_Delete(r);
      cJSON_Delete(req);
    }
    if (!wait_monitor_gone(&st, 10000)) {
      kill(st.pid, SIGKILL);
      wait_monitor_gone(&st, 5000);
    }
  }
#ifdef OCI_FRONT
  if (st.netns) {
    /* The pod network's teardown is the engine's (podnet.c). */
    close(lock);
    oci_state_clear(&st);
    return exec_engine();
  }
#else
  if (st.netns && oci_podnet_teardown(st.netns, err, sizeof(err)) < 0)
    oci_log(OCI_LOG_WARN, "delete: pod network: %s", err);
#endif
  if (st.bundle) {
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/config.json", st.bundle);
    cJSON *spec = oci_read_json(path, 16u << 20, err, sizeof(err));
    if (spec) {
      char *state = hook_state(id, OCI_STOPPED, 0, st.bundle, st.annotations);
      if (run_hooks(spec, "poststop", state, err, sizeof(err)) < 0)
        oci_log(OCI_LOG_WARN, "%s", err);
      free(state);
      cJSON_Delete(spec);
    }
  }
  int rc = oci_state_remove(g.root, id) < 0 ? die("delete: %s", strerror(errno)) : 0;
  oci_state_clear(&st);
  close(lock);
  return rc;
}

static int cmd_ps(int argc, char **argv, int i) {
  struct opt o[] = {{"format", 'f', true, NULL}};
  const char *id;
  if (parse_opts("ps", argc, argv, &i, o, 1) || need_id("ps", argc, argv, i, &id))
    return 1;
  const char *fmt = o[0].value ? o[0].value : "table";
  if (strcmp(fmt, "json") && strcmp(fmt, "table"))
    return die("ps: invalid format option %s", fmt);
  if (i + 1 < argc)
    return die("ps: ps(1) arguments are not supported: the processes are in a VM");
  oci_state st;
  if (load_or_die("ps", id, &st))
    return 1;
  bool alive = strcmp(oci_state_status(&st), OCI_STOPPED) != 0;
  oci_state_clear(&st);
  cJSON *pids = NULL, *reply = NULL;
  if (alive) {
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "op", "ps");
    if (simple_call(id, req, &reply, 10000))
      return 1;
    pids = cJSON_GetObjectItemCaseSensitive(reply, "pids");
  }
  const cJSON *p;
  if (strcmp(fmt, "json") == 0) {
    fputc('[', stdout);
    bool first = true;
    cJSON_ArrayForEach(p, pids) {
      printf("%s%d", first ? "" : ",", p->valueint);
      first = false;
    }
    fputs("]\n", stdout);
  } else {
    puts("PID");
    cJSON_ArrayForEach(p, pids) printf("%d\n", p->valueint);
  }
  cJSON_Delete(reply);
  return 0;
}

#ifndef OCI_FRONT
static int cmd_exec(int argc, char **argv, int i) {
  struct opt o[] = {{"process", 'p', true, NULL},       {"detach", 'd', false, NULL},
                    {"pid-file", 0, true, NULL},         {"console-socket", 0, true, NULL},
                    {"tty", 't', false, NULL},           {"cwd", 0, true, NULL},
                    {"env", 'e', true, NULL},            {"user", 'u', true, NULL},
                    {"no-new-privs", 0, false, NULL},    {"preserve-fds", 0, true, NULL},
                    {"process-label", 0, true, NULL},    {"apparmor", 0, true, NULL},
                    {"ignore-paused", 0, false, NULL},   {"cgroup", 0, true, NULL},
                    {"cap", 'c', true, NULL},            {"additional-gids", 'g', true, NULL}};
  size_t no = sizeof(o) / sizeof(o[0]);
  const char *id;
  /* --env and --cap may repeat. */
  const char *envs[256], *caps[64];
  o[6].multi = envs, o[6].maxmulti = 256;
  o[14].multi = caps, o[14].maxmulti = 64;
  if (parse_opts("exec", argc, argv, &i, o, no) || need_id("exec", argc, argv, i, &id))
    return 1;
  const char *procfile = optval(o, no, "process"), *pidfile = optval(o, no, "pid-file");
  const char *console = optval(o, no, "console-socket");
  bool detach = optval(o, no, "detach") != NULL;
  const char *pfds = optval(o, no, "preserve-fds");
  if (pfds && strcmp(pfds, "0") != 0)
    return die("exec: --preserve-fds: passing descriptors into a VM is not supported");
  if (optval(o, no, "process-label") || optval(o, no, "apparmor"))
    oci_log(OCI_LOG_INFO, "exec: the guest has no SELinux or AppArmor; the VM confines the process");

  oci_state st;
  if (load_or_die("exec", id, &st))
    return 1;
  const char *status = oci_state_status(&st);
  if (strcmp(status, OCI_RUNNING) != 0) {
    int r = die(strcmp(status, OCI_STOPPED) == 0 ? "cannot exec in a stopped container"
                                                 : "cannot exec in a container that has not started");
    oci_state_clear(&st);
    return r;
  }

  char err[1024];
  cJSON *proc = NULL;
  if (procfile) {
    if (!(proc = oci_read_json(procfile, MAX_PROCESS_BYTES, err, sizeof(err)))) {
      oci_state_clear(&st);
      return die("exec: %s", err);
    }
  } else {
    /* The container's process with these args and options, as runc does. */
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/config.json", st.bundle ? st.bundle : ".");
    cJSON *spec = oci_read_json(path, 16u << 20, err, sizeof(err));
    if (!spec) {
      oci_state_clear(&st);
      return die("exec: %s", err);
    }
    proc = cJSON_DetachItemFromObjectCaseSensitive(spec, "process");
    cJSON_Delete(spec);
    if (!proc || i + 1 >= argc) {
      cJSON_Delete(proc);
      oci_state_clear(&st);
      return die("exec: a command (or --process) is needed");
    }
    cJSON *args = cJSON_CreateArray();
    for (int k = i + 1; k < argc; k++)
      cJSON_AddItemToArray(args, cJSON_CreateString(argv[k]));
    cJSON_ReplaceItemInObjectCaseSensitive(proc, "args", args);
    cJSON_ReplaceItemInObjectCaseSensitive(proc, "terminal", cJSON_CreateBool(optval(o, no, "tty") != NULL));
    if (optval(o, no, "cwd"))
      cJSON_ReplaceItemInObjectCaseSensitive(proc, "cwd", cJSON_CreateString(optval(o, no, "cwd")));
    cJSON *env = cJSON_GetObjectItemCaseSensitive(proc, "env");
    if (!env)
      env = cJSON_AddArrayToObject(proc, "env");
    for (size_t k = 0; k < o[6].nmulti; k++)
      cJSON_AddItemToArray(env, cJSON_CreateString(envs[k]));
    const char *u = optval(o, no, "user");
    if (u) {
      char *end;
      unsigned long uid = strtoul(u, &end, 10), gid = 0;
      if (end == u || (*end && *end != ':'))
        return die("exec: --user %s: expected UID[:GID]", u);
      if (*end == ':')
        gid = strtoul(end + 1, NULL, 10);
      cJSON *user = cJSON_CreateObject();
      cJSON_AddNumberToObject(user, "uid", (double)uid);
      cJSON_AddNumberToObject(user, "gid", (double)gid);
      cJSON_ReplaceItemInObjectCaseSensitive(proc, "user", user);
    }
    if (optval(o, no, "no-new-privs"))
      cJSON_ReplaceItemInObjectCaseSensitive(proc, "noNewPrivileges", cJSON_CreateTrue());
    if (o[14].nmulti) {
      /* Added to every set the process has, as runc's --cap does. */
      cJSON *c = cJSON_GetObjectItemCaseSensitive(proc, "capabilities");
      if (!c)
        c = cJSON_AddObjectToObject(proc, "capabilities");
      static const char *sets[] = {"bounding", "effective", "permitted"};
      for (size_t k = 0; k < 3; k++) {
        cJSON *set = cJSON_GetObjectItemCaseSensitive(c, sets[k]);
        if (!set)
          set = cJSON_AddArrayToObject(c, sets[k]);
        for (size_t q = 0; q < o[14].nmulti; q++)
          cJSON_AddItemToArray(set, cJSON_CreateString(caps[q]));
      }
    }
  }
  bool terminal = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(proc, "terminal"));
  oci_state_clear(&st);
  if (terminal && detach && !console) {
    cJSON_Delete(proc);
    return die("cannot allocate tty if runc will detach without setting console socket");
  }
  if (!terminal && console) {
    cJSON_Delete(proc);
    return die("cannot use console socket if runc will not detach or allocate tty");
  }
  struct oci_exec_args a = {g.root, id, proc, terminal, console, detach, -1};
  if (!detach) {
    if (pidfile && write_pid_file(pidfile, getpid()) < 0) {
      cJSON_Delete(proc);
      return die("exec: cannot write the pid file %s: %s", pidfile, strerror(errno));
    }
    int code = oci_exec_monitor(&a);
    cJSON_Delete(proc);
    return code;
  }
  int up[2];
  if (pipe2(up, O_CLOEXEC) < 0) {
    cJSON_Delete(proc);
    return die("exec: pipe: %s", strerror(errno));
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(up[0]);
    a.to_parent = up[1];
    _exit(oci_exec_monitor(&a) & 0xff);
  }
  close(up[1]);
  cJSON_Delete(proc);
  if (pid < 0)
    return die("exec: fork: %s", strerror(errno));
  char line[2048] = "";
  FILE *f = fdopen(up[0], "r");
  if (!f || !fgets(line, sizeof(line), f))
    snprintf(line, sizeof(line), "err the exec monitor died");
  if (f)
    fclose(f);
  line[strcspn(line, "\n")] = '\0';
  if (strncmp(line, "ok ", 3) != 0) {
    waitpid(pid, NULL, 0);
    return die("exec: %s", strncmp(line, "err ", 4) == 0 ? line + 4 : line);
  }
  if (pidfile && write_pid_file(pidfile, pid) < 0) {
    kill(pid, SIGKILL);
    return die("exec: cannot write the pid file %s: %s", pidfile, strerror(errno));
  }
  return 0;
}

#endif

static int cmd_features(void) {
  cJSON *j = cJSON_CreateObject(), *l, *a;
  cJSON_AddStringToObject(j, "ociVersionMin", "1.0.0");
  cJSON_AddStringToObject(j, "ociVersionMax", "1.1.0");
  static const char *hooks[] = {"prestart", "createRuntime", "poststart", "poststop"};
  cJSON_AddItemToObject(j, "hooks", cJSON_CreateStringArray(hooks, 4));
  static const char *mopts[] = {"ro", "rw", "bind", "rbind", "private", "rprivate", "slave",
                                "rslave", "unbindable", "runbindable", "nosuid", "suid", "nodev",
                                "dev", "noexec", "exec", "noatime", "relatime", "strictatime",
                                "nodiratime", "sync", "dirsync", "size", "mode"};
  cJSON_AddItemToObject(j, "mountOptions", cJSON_CreateStringArray(mopts, sizeof(mopts) / sizeof(mopts[0])));
  l = cJSON_AddObjectToObject(j, "linux");
  static const char *ns[] = {"cgroup", "ipc", "mount", "network", "pid", "uts"};
  cJSON_AddItemToObject(l, "namespaces", cJSON_CreateStringArray(ns, 6));
  a = cJSON_AddObjectToObject(l, "cgroup");
  cJSON_AddBoolToObject(a, "v1", 0);
  cJSON_AddBoolToObject(a, "v2", 1);
  cJSON_AddBoolToObject(a, "systemd", 0);
  a = cJSON_AddObjectToObject(l, "seccomp");
  cJSON_AddBoolToObject(a, "enabled", 1);
  static const char *acts[] = {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                               "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
                               "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"};
  cJSON_AddItemToObject(a, "actions", cJSON_CreateStringArray(acts, 8));
  static const char *ops[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                              "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"};
  cJSON_AddItemToObject(a, "operators", cJSON_CreateStringArray(ops, 7));
  static const char *archs[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                                "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
  cJSON_AddItemToObject(a, "archs", cJSON_CreateStringArray(archs, 5));
  a = cJSON_AddObjectToObject(l, "apparmor");
  cJSON_AddBoolToObject(a, "enabled", 0);
  a = cJSON_AddObjectToObject(l, "selinux");
  cJSON_AddBoolToObject(a, "enabled", 0);
  a = cJSON_AddObjectToObject(j, "annotations");
  cJSON_AddStringToObject(a, "org.libvmctr.version", OCI_LIBVMCTR_VERSION);
  cJSON_AddStringToObject(a, "org.libvmctr.isolation", "vm");
  char *text = cJSON_Print(j);
  printf("%s\n", text);
  free(text);
  cJSON_Delete(j);
  return 0;
}

static void usage(FILE *f) {
  fputs("usage: vmctr-oci [--root DIR] [--log FILE] [--log-format text|json] COMMAND ...\n"
        "A runc-compatible OCI runtime: each container runs in its own VM (libvmctr).\n"
        "commands:\n"
        "  create --bundle DIR [--pid-file F] [--console-socket S] ID\n"
        "  start ID                 state ID\n"
        "  kill [--all] ID [SIGNAL] delete [--force] ID\n"
        "  exec [--process F | ID CMD...] [--detach] [--pid-file F] [--console-socket S] [--tty] ID\n"
        "  ps [--format table|json] ID\n"
        "  features                 pause ID, resume ID (not supported)\n"
        "  --version\n"
        "environment: VMCTR_KERNEL (the guest kernel), VMCTR_DEBUG=1|2 (the library's log)\n",
        f);
}

int main(int argc, char **argv) {
  struct opt o[] = {{"root", 0, true, NULL},         {"log", 0, true, NULL},
                    {"log-format", 0, true, NULL},   {"systemd-cgroup", 0, false, NULL},
                    {"debug", 0, false, NULL},       {"rootless", 0, true, NULL},
                    {"criu", 0, true, NULL},         {"version", 'v', false, NULL},
                    {"help", 'h', false, NULL}};
  size_t no = sizeof(o) / sizeof(o[0]);
  int i = 1;
  if (parse_opts("vmctr-oci", argc, argv, &i, o, no))
    return 1;
  if (optval(o, no, "root"))
    g.root = optval(o, no, "root");
  const char *fmt = optval(o, no, "log-format");
  if (fmt && strcmp(fmt, "json") && strcmp(fmt, "text"))
    return die("--log-format must be text or json");
  oci_log_open(optval(o, no, "log"), fmt && strcmp(fmt, "json") == 0);
  if (optval(o, no, "debug") || (getenv("VMCTR_DEBUG") && strcmp(getenv("VMCTR_DEBUG"), "2") == 0))
    oci_log_set_level(OCI_LOG_DEBUG);
  if (optval(o, no, "version")) {
    printf("vmctr-oci version %s\nspec: %s\nlibvmctr: %s\n", OCI_LIBVMCTR_VERSION, OCI_VERSION,
#ifdef OCI_FRONT
           OCI_LIBVMCTR_VERSION);
#else
           vmctr_version_string());
#endif
    return 0;
  }
  if (optval(o, no, "help") || i >= argc) {
    usage(i >= argc && !optval(o, no, "help") ? stderr : stdout);
    return i >= argc && !optval(o, no, "help") ? 1 : 0;
  }
#ifdef OCI_FRONT
  g_argv = argv;
#else
  /* The build tree's guest init when run uninstalled; the library's log
   * into ours (never to stderr: a monitor's stderr is the container's). */
  const char *dbg = getenv("VMCTR_DEBUG");
  char *saved = dbg ? strdup(dbg) : NULL;
  unsetenv("VMCTR_DEBUG");
  example_log_from_env();
  if (saved) {
    setenv("VMCTR_DEBUG", saved, 1);
    oci_log_library(strcmp(saved, "2") == 0 ? VMCTR_LOG_DEBUG : strcmp(saved, "0") ? VMCTR_LOG_INFO
                                                                                   : VMCTR_LOG_WARN);
    free(saved);
  } else {
    oci_log_library(VMCTR_LOG_WARN);
  }
#endif
  if (strlen(g.root) == 0 || g.root[0] != '/')
    return die("--root must be an absolute path");

  const char *cmd = argv[i++];
  if (strcmp(cmd, "create") == 0)
    return cmd_create(argc, argv, i);
  if (strcmp(cmd, "start") == 0)
    return cmd_start(argc, argv, i);
  if (strcmp(cmd, "state") == 0)
    return cmd_state(argc, argv, i);
  if (strcmp(cmd, "kill") == 0)
    return cmd_kill(argc, argv, i);
  if (strcmp(cmd, "delete") == 0)
    return cmd_delete(argc, argv, i);
  if (strcmp(cmd, "exec") == 0)
    return cmd_exec(argc, argv, i);
  if (strcmp(cmd, "ps") == 0)
    return cmd_ps(argc, argv, i);
  if (strcmp(cmd, "features") == 0)
    return cmd_features();
  if (strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0)
    return die("%s is not supported: a VM container's processes cannot be frozen from the host "
               "(the guest has no freezer the runtime drives)", cmd);
  if (strcmp(cmd, "run") == 0 || strcmp(cmd, "update") == 0 || strcmp(cmd, "checkpoint") == 0 ||
      strcmp(cmd, "restore") == 0 || strcmp(cmd, "events") == 0 || strcmp(cmd, "list") == 0 ||
      strcmp(cmd, "spec") == 0)
    return die("%s is not supported by vmctr-oci", cmd);
  usage(stderr);
  return die("unknown command %s", cmd);
}
