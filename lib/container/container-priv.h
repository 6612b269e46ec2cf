/* SPDX-License-Identifier: MIT */
/* The container object and its processes (container.c, process.c). */
#ifndef VMCTR_CONTAINER_PRIV_H
#define VMCTR_CONTAINER_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/client.h"
#include "container/container-internal.h"
#include "vmctr/vmm.h"

/* Guest operations that should answer at once (not WAIT). */
#define VMCTR__CONTAINER_OP_TIMEOUT_MS 30000

/* Where the guest mounts the container's rootfs. */
#define VMCTR__GUEST_ROOTFS "/run/vmctr/rootfs"

struct vmctr__procio {
  struct vmctr__outcb *outcb;
  uint32_t which; /* VMCTR_STREAM_* */
};

struct vmctr_process {
  vmctr_container *c;
  vmctr_process *next; /* the container's list */
  uint32_t pid;        /* the guest's */
  uint32_t stream[3];  /* 0: not connected */
  int stdin_fd;        /* caller's stdin (dup), until attached after SPAWN */
  struct vmctr__procio io[3];
  struct vmctr__outcb *outcb;
  bool is_init, terminal, stdin_write;
  uint32_t wait_id;
  pthread_t watcher;
  bool has_watcher;
  /* under c->lock */
  bool exited;
  int wait_rc;
  int32_t exit_code, signal;
};

struct vmctr_container {
  char *id;
  char *hostname;
  vmctr_vmm *vmm;
  vmctr__agent *agent; /* owned by vmm */
  vmctr_container_config *defaults; /* image defaults, for exec */
  vmctr_process *init;
  vmctr_process *procs; /* every live process, init included */
  uint64_t memory_limit;
  uint32_t millicpus;
  bool init_started;
  bool stopped;
  int efd; /* eventfd: state may have changed */
  pthread_mutex_t lock;
  pthread_cond_t cond;
};

int vmctr__process_spawn(vmctr_container *c, const vmctr_process_config *cfg,
                         const struct vmctr__procspec *spec, bool is_init, vmctr_process **out);
int vmctr__process_signal(vmctr_process *p, int32_t signo);
int vmctr__process_wait(vmctr_process *p, int32_t timeout_ms, int32_t *code, int32_t *sig);
int vmctr__process_resize(vmctr_process *p, uint32_t rows, uint32_t cols);
bool vmctr__process_destroy(vmctr_process *p);

/* Add the fields that place a process: a new container (init) or the
 * running container's namespaces (exec). */
void vmctr__container_put_placement(vmctr_container *c, vmctr__agent_buf *b, bool is_init);
/* Wake the event fd and waiters. */
void vmctr__container_changed(vmctr_container *c);
/* Unlink p from the container and destroy it (vmctr_process_free). */
void vmctr__container_release(vmctr_container *c, vmctr_process *p);

#endif
