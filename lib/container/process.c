/* SPDX-License-Identifier: MIT */
/* Processes in a container's VM: the SPAWN request, stdio wiring, and a
 * watcher thread per process that turns the guest's WAIT answer into a state
 * the caller can wait for or poll. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "container/container-priv.h"
#include "core/error.h"
#include "core/log.h"
#include "core/time.h"
#include "core/util.h"

/* How long a finished process's output may trail its exit. */
#define OUTPUT_DRAIN_MS 5000

static void on_output(void *userdata, uint32_t stream, const uint8_t *data, size_t len, int status) {
  struct vmctr__procio *io = userdata;
  (void)stream;
  if (status < 0 || !io->outcb)
    return;
  io->outcb->fn(io->which, data, status == 1 ? 0 : len, io->outcb->userdata);
}

/* Wire one stdio stream. which: 0 stdin, 1 stdout, 2 stderr. */
static int wire(vmctr_process *p, int which, int32_t spec) {
  vmctr__agent *a = p->c->agent;
  if (spec == VMCTR_STDIO_NULL)
    return 0;
  uint32_t id;
  int r = vmctr__agent_stream_new(a, &id);
  if (r < 0)
    return r;
  if (spec >= 0) {
    int fd = fcntl(spec, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
      return vmctr__err_os(errno, "cannot duplicate stdio fd %d", spec);
    /* stdin is attached once the guest has the process (vmctr__process_spawn):
     * its DATA must not overtake the SPAWN request. */
    if (which == 0)
      p->stdin_fd = fd;
    else
      r = vmctr__agent_stream_recv_fd(a, id, fd);
  } else if (spec == VMCTR_STDIO_CALLBACK) {
    if (!p->outcb)
      return vmctr__err(VMCTR_EINVAL, 0, "stdio goes to a callback, but no output callback is set");
    p->io[which] = (struct vmctr__procio){.outcb = p->outcb,
                                          .which = which == 1 ? VMCTR_STREAM_STDOUT : VMCTR_STREAM_STDERR};
    r = vmctr__agent_stream_recv_cb(a, id, on_output, &p->io[which]);
  } /* VMCTR_STDIO_WRITE: fed by vmctr__process_write_stdin */
  if (r < 0)
    return r;
  p->stream[which] = id;
  return 0;
}

static void *watch(void *arg) {
  vmctr_process *p = arg;
  int32_t code = -1, sig = -1;
  int r = vmctr__agent_wait_end(p->c->agent, p->wait_id, -1, &code, &sig);
  /* Output may still be in flight: let it reach its sink first. */
  for (int i = 1; i <= 2 && r == 0; i++)
    if (p->stream[i])
      vmctr__agent_stream_wait(p->c->agent, p->stream[i], OUTPUT_DRAIN_MS);
  pthread_mutex_lock(&p->c->lock);
  p->exited = true;
  p->wait_rc = r;
  p->exit_code = code;
  p->signal = sig;
  pthread_cond_broadcast(&p->c->cond);
  pthread_mutex_unlock(&p->c->lock);
  vmctr__evset_notify(p->events);
  vmctr__container_changed(p->c);
  return NULL;
}

int vmctr__process_spawn(vmctr_container *c, const vmctr_process_config *cfg,
                         const struct vmctr__procspec *spec, bool is_init, vmctr_process **out) {
  vmctr_process *p = calloc(1, sizeof(*p));
  vmctr__agent_rlimit rl[VMCTR__MAX_RLIMITS];
  char cgroup[96], cpu[48];
  if (!p)
    return vmctr__err_nomem();
  p->c = c;
  p->stdin_fd = -1;
  p->is_init = is_init;
  p->terminal = cfg && cfg->terminal;
  p->outcb = cfg ? vmctr__outcb_ref(cfg->outcb) : NULL;
  int32_t in = cfg ? cfg->stdio[0] : VMCTR_STDIO_NULL, o = cfg ? cfg->stdio[1] : VMCTR_STDIO_NULL,
          e = cfg ? cfg->stdio[2] : VMCTR_STDIO_NULL;
  int r;
  if ((r = vmctr__evset_new(&p->events)) < 0 || (r = wire(p, 0, in)) < 0 ||
      (r = wire(p, 1, o)) < 0 || (!p->terminal && (r = wire(p, 2, e)) < 0))
    goto fail;
  p->stdin_write = in == VMCTR_STDIO_WRITE;

  vmctr__agent_spawn_args s = {
    .argv = spec->argv,
    .env = spec->env,
    .cwd = spec->cwd,
    .uid = spec->uid,
    .gid = spec->gid,
    .gids = spec->gids,
    .ngids = spec->ngids,
    .stdin_stream = p->stream[0],
    .stdout_stream = p->stream[1],
    .stderr_stream = p->stream[2],
    .pty = p->terminal,
    .rows = p->terminal ? cfg->rows : 0,
    .cols = p->terminal ? cfg->cols : 0,
    .rlimits = rl,
    .nrlimits = cfg ? cfg->nrlimits : 0,
    .no_new_privs = cfg && cfg->no_new_privs,
  };
  for (size_t i = 0; i < s.nrlimits; i++)
    rl[i] = (vmctr__agent_rlimit){cfg->rlimits[i].resource, cfg->rlimits[i].soft, cfg->rlimits[i].hard};
  vmctr__container_placement(c, is_init, &s, cgroup, sizeof(cgroup), cpu, sizeof(cpu));
  const vmctr_process_config *initcfg = c->defaults ? c->defaults->process : NULL;
  vmctr__process_security(cfg, initcfg && initcfg->privileged, is_init, &s);
  if ((r = vmctr__agent_spawn(c->agent, &s, VMCTR__CONTAINER_OP_TIMEOUT_MS, &p->pid)) < 0) {
    vmctr__err_prefix("cannot start the process");
    goto fail;
  }
  if (p->stdin_fd >= 0) {
    r = vmctr__agent_stream_send_fd(c->agent, p->stream[0], p->stdin_fd);
    p->stdin_fd = -1; /* taken over, even on failure */
    if (r < 0)
      goto fail_running;
  }
  /* Ask for its exit now; the watcher waits for the answer. */
  if ((r = vmctr__agent_wait_begin(c->agent, p->pid, &p->wait_id)) < 0)
    goto fail_running;
  if ((r = pthread_create(&p->watcher, NULL, watch, p)) != 0) {
    vmctr__agent_wait_cancel(c->agent, p->wait_id);
    r = vmctr__err_os(r, "cannot start a watcher thread");
    goto fail_running;
  }
  p->has_watcher = true;
  *out = p;
  return 0;

fail_running:
  vmctr__process_signal(p, VMCTR_SIGKILL);
fail:
  for (int i = 0; i < 3; i++)
    if (p->stream[i])
      vmctr__agent_stream_release(c->agent, p->stream[i]);
  if (p->stdin_fd >= 0)
    close(p->stdin_fd);
  vmctr__evset_free(p->events);
  vmctr__outcb_unref(p->outcb);
  free(p);
  return r;
}

int vmctr__process_signal(vmctr_process *p, int32_t signo) {
  if (signo <= 0 || signo > 64)
    return vmctr__err(VMCTR_EINVAL, 0, "signal %d is not a signal number (1..64)", signo);
  return vmctr__agent_signal(p->c->agent, p->pid, (uint32_t)signo, VMCTR__CONTAINER_OP_TIMEOUT_MS);
}

int vmctr__process_wait(vmctr_process *p, int32_t timeout_ms, int32_t *code, int32_t *sig) {
  struct timespec dl;
  vmctr__abstime_ms(&dl, vmctr__deadline_ms(timeout_ms));
  pthread_mutex_lock(&p->c->lock);
  int r = 0;
  while (!p->exited && r == 0) {
    if (timeout_ms == 0)
      r = ETIMEDOUT;
    else if (timeout_ms < 0)
      pthread_cond_wait(&p->c->cond, &p->c->lock);
    else
      r = pthread_cond_timedwait(&p->c->cond, &p->c->lock, &dl);
  }
  bool exited = p->exited;
  int rc = p->wait_rc;
  int32_t c = p->exit_code, s = p->signal;
  pthread_mutex_unlock(&p->c->lock);
  if (!exited)
    return vmctr__err(VMCTR_ETIMEDOUT, 0, "the process is still running after %d ms", timeout_ms);
  if (rc < 0)
    return vmctr__err(rc == VMCTR_EPROTO ? VMCTR_EPROTO : VMCTR_EIO, 0,
                      "the process's exit status is unknown: the VM or its agent went away "
                      "(see the boot log)");
  if (code)
    *code = c;
  if (sig)
    *sig = s;
  return 0;
}

/* How often a blocked stdin write looks whether the process is still there. */
#define STDIN_SLICE_MS 250

static bool proc_exited(vmctr_process *p) {
  pthread_mutex_lock(&p->c->lock);
  bool e = p->exited;
  pthread_mutex_unlock(&p->c->lock);
  return e;
}

/* The agent buffers at most 1 MiB of stdin per stream (the guest takes more
 * only as the process reads), so a write either blocks until its last byte
 * is buffered or, nonblocking, takes what fits. */
static int stdin_op(vmctr_process *p, const void *data, size_t len, bool close, bool nonblock) {
  if (!p->stdin_write || !p->stream[0])
    return vmctr__err(VMCTR_ESTATE, 0, "the process's stdin is not VMCTR_STDIO_WRITE");
  if (close) {
    p->stdin_write = false;
    return vmctr__agent_stream_close(p->c->agent, p->stream[0]);
  }
  if (len > INT32_MAX)
    len = INT32_MAX;
  if (nonblock)
    return vmctr__agent_stream_write_some(p->c->agent, p->stream[0], data, len, 0);
  size_t done = 0;
  while (done < len || len == 0) {
    int r = vmctr__agent_stream_write_some(p->c->agent, p->stream[0], (const uint8_t *)data + done,
                                           len - done, STDIN_SLICE_MS);
    if (r == VMCTR_EAGAIN && !proc_exited(p))
      continue;
    if (r == VMCTR_EAGAIN)
      return vmctr__err(VMCTR_ESTATE, 0, "process %u has exited; %zu bytes of its stdin were "
                        "not taken", p->pid, len - done);
    if (r < 0)
      return r;
    done += (size_t)r;
    if (len == 0)
      break;
  }
  return (int)len;
}

/* Kill if needed and free. Returns false (and frees nothing) when the
 * process would not die: its watcher is then joined once the VM is gone
 * (vmctr__container_reap). */
bool vmctr__process_destroy(vmctr_process *p) {
  pthread_mutex_lock(&p->c->lock);
  bool running = !p->exited;
  pthread_mutex_unlock(&p->c->lock);
  if (running && vmctr__agent_alive(p->c->agent)) {
    vmctr__process_signal(p, VMCTR_SIGKILL);
    if (vmctr__process_wait(p, 5000, NULL, NULL) == VMCTR_ETIMEDOUT) {
      vmctr__log(VMCTR_LOG_WARN, "container", "process %u did not exit after SIGKILL", p->pid);
      return false;
    }
  }
  if (p->has_watcher) {
    pthread_mutex_lock(&p->c->lock);
    bool done = p->exited;
    pthread_mutex_unlock(&p->c->lock);
    if (!done)
      return false; /* the watcher ends when the agent dies */
    pthread_join(p->watcher, NULL);
  }
  for (int i = 0; i < 3; i++)
    if (p->stream[i])
      vmctr__agent_stream_release(p->c->agent, p->stream[i]);
  vmctr__evset_free(p->events);
  vmctr__outcb_unref(p->outcb);
  free(p);
  return true;
}

/* ---- public vmctr_process_* ---- */

int vmctr_process_wait(vmctr_process *p, int32_t timeout_ms, int32_t *exit_code, int32_t *signal) {
  if (!p)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_wait: p is NULL");
  return vmctr__process_wait(p, timeout_ms, exit_code, signal);
}

int vmctr_process_kill(vmctr_process *p, int32_t signo) {
  if (!p)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_kill: p is NULL");
  pthread_mutex_lock(&p->c->lock);
  bool exited = p->exited;
  pthread_mutex_unlock(&p->c->lock);
  if (exited)
    return vmctr__err(VMCTR_ESTATE, 0, "process %u has already exited", p->pid);
  return vmctr__process_signal(p, signo);
}

int vmctr_process_write_stdin(vmctr_process *p, const void *data, size_t len) {
  if (!p || (!data && len))
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_write_stdin: bad arguments");
  return stdin_op(p, data, len, false, false);
}

int vmctr_process_try_write_stdin(vmctr_process *p, const void *data, size_t len) {
  if (!p || (!data && len))
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_try_write_stdin: bad arguments");
  return stdin_op(p, data, len, false, true);
}

int vmctr_process_close_stdin(vmctr_process *p) {
  if (!p)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_close_stdin: p is NULL");
  return stdin_op(p, NULL, 0, true, false);
}

int vmctr_process_resize(vmctr_process *p, uint32_t rows, uint32_t cols) {
  if (!p)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_resize: p is NULL");
  if (!p->terminal)
    return vmctr__err(VMCTR_ESTATE, 0, "the process has no terminal");
  return vmctr__agent_resize(p->c->agent, p->pid, rows, cols, VMCTR__CONTAINER_OP_TIMEOUT_MS);
}

int32_t vmctr_process_state(const vmctr_process *p) {
  if (!p)
    return VMCTR_EINVAL;
  pthread_mutex_lock(&p->c->lock);
  int32_t s = !p->exited ? VMCTR_PROCESS_RUNNING
              : p->wait_rc < 0 ? VMCTR_PROCESS_FAILED : VMCTR_PROCESS_EXITED;
  pthread_mutex_unlock(&p->c->lock);
  return s;
}

int vmctr_process_event_fd(const vmctr_process *p) {
  if (!p)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_event_fd: p is NULL");
  return vmctr__evset_fd(p->events);
}

int32_t vmctr_process_dispatch(vmctr_process *p) {
  if (!p)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_dispatch: p is NULL");
  vmctr__evset_drain(p->events);
  return vmctr_process_state(p);
}

uint32_t vmctr_process_pid(const vmctr_process *p) { return p ? p->pid : 0; }

void vmctr_process_free(vmctr_process *p) {
  if (!p)
    return;
  vmctr__container_release(p->c, p);
}
