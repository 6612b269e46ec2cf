/* SPDX-License-Identifier: MIT */
/* Processes in a container's VM: the SPAWN request, stdio wiring, and a
 * watcher thread per process that turns the guest's WAIT answer into a state
 * the caller can wait for or poll. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "agent/client.h"
#include "container/container-priv.h"
#include "core/error.h"
#include "core/log.h"
#include "core/util.h"

/* How long a finished process's output may trail its exit. */
#define OUTPUT_DRAIN_MS 5000

static void put_rlimit(vmctr__agent_buf *b, const struct vmctr__rlimit *r) {
  uint8_t v[20];
  for (int i = 0; i < 4; i++)
    v[i] = (uint8_t)(r->resource >> (8 * i));
  for (int i = 0; i < 8; i++) {
    v[4 + i] = (uint8_t)(r->soft >> (8 * i));
    v[12 + i] = (uint8_t)(r->hard >> (8 * i));
  }
  vmctr__agent_put_bytes(b, VMCTR_AT_RLIMIT, v, sizeof(v));
}

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
  vmctr__agent_reply *rep = NULL;
  int r = vmctr__agent_request_end(p->c->agent, p->wait_id, -1, &rep);
  int32_t code = -1, sig = -1;
  if (r == 0) {
    const vmctr__agent_msg *m = vmctr__agent_reply_msg(rep);
    uint32_t s;
    int32_t c;
    if (vmctr__agent_get_u32(m, VMCTR_AT_TERM_SIGNAL, &s) == 0)
      sig = (int32_t)s;
    else if (vmctr__agent_get_i32(m, VMCTR_AT_EXIT_CODE, &c) == 0 && c >= 0 && c <= 255)
      code = c;
    else
      r = VMCTR_EPROTO;
    vmctr__agent_reply_free(rep);
    /* Output may still be in flight: let it reach its sink first. */
    for (int i = 1; i <= 2 && r == 0; i++)
      if (p->stream[i])
        vmctr__agent_stream_wait(p->c->agent, p->stream[i], OUTPUT_DRAIN_MS);
  }
  pthread_mutex_lock(&p->c->lock);
  p->exited = true;
  p->wait_rc = r;
  p->exit_code = code;
  p->signal = sig;
  pthread_cond_broadcast(&p->c->cond);
  pthread_mutex_unlock(&p->c->lock);
  vmctr__container_changed(p->c);
  return NULL;
}

int vmctr__process_spawn(vmctr_container *c, const vmctr_process_config *cfg,
                         const struct vmctr__procspec *spec, bool is_init, vmctr_process **out) {
  vmctr_process *p = calloc(1, sizeof(*p));
  if (!p)
    return vmctr__err_nomem();
  p->c = c;
  p->stdin_fd = -1;
  p->is_init = is_init;
  p->terminal = cfg && cfg->terminal;
  p->outcb = cfg ? vmctr__outcb_ref(cfg->outcb) : NULL;
  int32_t in = cfg ? cfg->stdio[0] : VMCTR_STDIO_NULL, o = cfg ? cfg->stdio[1] : VMCTR_STDIO_NULL,
          e = cfg ? cfg->stdio[2] : VMCTR_STDIO_NULL;
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_reply *rep = NULL;
  int r;
  if ((r = wire(p, 0, in)) < 0 || (r = wire(p, 1, o)) < 0 || (!p->terminal && (r = wire(p, 2, e)) < 0))
    goto fail;
  p->stdin_write = in == VMCTR_STDIO_WRITE;

  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_SPAWN);
  vmctr__agent_put_strv(&b, VMCTR_AT_ARGV, spec->argv);
  vmctr__agent_put_strv(&b, VMCTR_AT_ENV, spec->env);
  vmctr__agent_put_str(&b, VMCTR_AT_CWD, spec->cwd);
  vmctr__agent_put_u32(&b, VMCTR_AT_UID, spec->uid);
  vmctr__agent_put_u32(&b, VMCTR_AT_GID, spec->gid);
  for (size_t i = 0; i < spec->ngids; i++)
    vmctr__agent_put_u32(&b, VMCTR_AT_GIDS, spec->gids[i]);
  vmctr__agent_put_u32(&b, VMCTR_AT_STDIN, p->stream[0]);
  vmctr__agent_put_u32(&b, VMCTR_AT_STDOUT, p->stream[1]);
  vmctr__agent_put_u32(&b, VMCTR_AT_STDERR, p->stream[2]);
  if (p->terminal) {
    vmctr__agent_put_u32(&b, VMCTR_AT_PTY, 1);
    vmctr__agent_put_u32(&b, VMCTR_AT_ROWS, cfg->rows);
    vmctr__agent_put_u32(&b, VMCTR_AT_COLS, cfg->cols);
  }
  for (size_t i = 0; cfg && i < cfg->nrlimits; i++)
    put_rlimit(&b, &cfg->rlimits[i]);
  if (cfg && cfg->no_new_privs)
    vmctr__agent_put_u32(&b, VMCTR_AT_NO_NEW_PRIVS, 1);
  vmctr__container_put_placement(c, &b, is_init);
  if ((r = vmctr__agent_buf_finish(&b, VMCTR_AGENT_DEFAULT_FRAME)) < 0) {
    r = vmctr__err(r == -ENOMEM ? VMCTR_ENOMEM : VMCTR_ETOOBIG, 0,
                   "the process configuration is too large to send (arguments plus environment "
                   "must fit in %u bytes)", VMCTR_AGENT_DEFAULT_FRAME);
    goto fail;
  }
  if ((r = vmctr__agent_request(c->agent, &b, VMCTR__CONTAINER_OP_TIMEOUT_MS, &rep)) < 0) {
    vmctr__err_prefix("cannot start the process");
    goto fail;
  }
  if ((r = vmctr__agent_get_u32(vmctr__agent_reply_msg(rep), VMCTR_AT_PID, &p->pid)) < 0 || !p->pid) {
    r = vmctr__err(VMCTR_EPROTO, 0, "the guest agent did not say which process it started");
    goto fail;
  }
  vmctr__agent_reply_free(rep);
  rep = NULL;
  if (p->stdin_fd >= 0) {
    r = vmctr__agent_stream_send_fd(c->agent, p->stream[0], p->stdin_fd);
    p->stdin_fd = -1; /* taken over, even on failure */
    if (r < 0)
      goto fail_running;
  }

  /* Ask for its exit now; the watcher waits for the answer. */
  vmctr__agent_buf_free(&b);
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_WAIT);
  vmctr__agent_put_u32(&b, VMCTR_AT_PID, p->pid);
  if ((r = vmctr__agent_request_begin(c->agent, &b, &p->wait_id)) < 0)
    goto fail_running;
  if ((r = pthread_create(&p->watcher, NULL, watch, p)) != 0) {
    vmctr__agent_request_cancel(c->agent, p->wait_id);
    r = vmctr__err_os(r, "cannot start a watcher thread");
    goto fail_running;
  }
  p->has_watcher = true;
  vmctr__agent_buf_free(&b);
  *out = p;
  return 0;

fail_running:
  vmctr__process_signal(p, 9);
fail:
  vmctr__agent_reply_free(rep);
  vmctr__agent_buf_free(&b);
  for (int i = 0; i < 3; i++)
    if (p->stream[i])
      vmctr__agent_stream_release(c->agent, p->stream[i]);
  if (p->stdin_fd >= 0)
    close(p->stdin_fd);
  vmctr__outcb_unref(p->outcb);
  free(p);
  return r;
}

int vmctr__process_signal(vmctr_process *p, int32_t signo) {
  if (signo <= 0 || signo > 64)
    return vmctr__err(VMCTR_EINVAL, 0, "signal %d is not a signal number (1..64)", signo);
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_SIGNAL);
  vmctr__agent_put_u32(&b, VMCTR_AT_PID, p->pid);
  vmctr__agent_put_u32(&b, VMCTR_AT_SIGNO, (uint32_t)signo);
  vmctr__agent_reply *rep = NULL;
  int r = vmctr__agent_request(p->c->agent, &b, VMCTR__CONTAINER_OP_TIMEOUT_MS, &rep);
  vmctr__agent_buf_free(&b);
  vmctr__agent_reply_free(rep);
  return r;
}

int vmctr__process_wait(vmctr_process *p, int32_t timeout_ms, int32_t *code, int32_t *sig) {
  struct timespec dl;
  clock_gettime(CLOCK_MONOTONIC, &dl);
  if (timeout_ms > 0) {
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
      dl.tv_sec++;
      dl.tv_nsec -= 1000000000L;
    }
  }
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

static int stdin_op(vmctr_process *p, const void *data, size_t len, bool close) {
  if (!p->stdin_write || !p->stream[0])
    return vmctr__err(VMCTR_ESTATE, 0, "the process's stdin is not VMCTR_STDIO_WRITE");
  if (close) {
    p->stdin_write = false;
    return vmctr__agent_stream_close(p->c->agent, p->stream[0]);
  }
  if (len > INT32_MAX)
    len = INT32_MAX;
  int r = vmctr__agent_stream_write(p->c->agent, p->stream[0], data, len);
  return r < 0 ? r : (int)len;
}

/* Kill if needed and free. Returns false (and frees nothing) when the
 * process would not die: its watcher is then joined once the VM is gone
 * (vmctr__container_reap). */
bool vmctr__process_destroy(vmctr_process *p) {
  pthread_mutex_lock(&p->c->lock);
  bool running = !p->exited;
  pthread_mutex_unlock(&p->c->lock);
  if (running && vmctr__agent_alive(p->c->agent)) {
    vmctr__process_signal(p, 9);
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
  return stdin_op(p, data, len, false);
}

int vmctr_process_close_stdin(vmctr_process *p) {
  if (!p)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_close_stdin: p is NULL");
  return stdin_op(p, NULL, 0, true);
}

int vmctr__process_resize(vmctr_process *p, uint32_t rows, uint32_t cols) {
  if (!p->terminal)
    return vmctr__err(VMCTR_ESTATE, 0, "the process has no terminal");
  if (!rows || !cols || rows > 0xffff || cols > 0xffff)
    return vmctr__err(VMCTR_EINVAL, 0, "terminal size %ux%u is out of range", rows, cols);
  vmctr__agent_buf b;
  vmctr__agent_buf_init(&b);
  vmctr__agent_put_u32(&b, VMCTR_AT_OP, VMCTR_AOP_RESIZE);
  vmctr__agent_put_u32(&b, VMCTR_AT_PID, p->pid);
  vmctr__agent_put_u32(&b, VMCTR_AT_ROWS, rows);
  vmctr__agent_put_u32(&b, VMCTR_AT_COLS, cols);
  vmctr__agent_reply *rep = NULL;
  int r = vmctr__agent_request(p->c->agent, &b, VMCTR__CONTAINER_OP_TIMEOUT_MS, &rep);
  vmctr__agent_buf_free(&b);
  vmctr__agent_reply_free(rep);
  return r;
}

int vmctr_process_resize(vmctr_process *p, uint32_t rows, uint32_t cols) {
  if (!p)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr_process_resize: p is NULL");
  return vmctr__process_resize(p, rows, cols);
}

uint32_t vmctr_process_pid(const vmctr_process *p) { return p ? p->pid : 0; }

void vmctr_process_free(vmctr_process *p) {
  if (!p)
    return;
  vmctr__container_release(p->c, p);
}
