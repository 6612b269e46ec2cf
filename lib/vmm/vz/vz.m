/* SPDX-License-Identifier: MIT */
/* The vz backend (macOS): vmctr__backend_ops over Virtualization.framework.
 *
 * Each VM owns a private serial dispatch queue; the VZVirtualMachine is
 * created on it and only ever touched there. The library's threads talk to
 * it with dispatch_async plus a semaphore (never dispatch_sync onto it, so a
 * completion handler the framework runs on the queue cannot deadlock us).
 * State changes reach the library through a pipe that becomes readable when
 * the VM stops or fails (exit_fd), and the guest agent's channel is a vsock
 * connection whose fd, dup'ed, is a plain pollable socket (agent_fd).
 * Built with ARC. */
#import <Foundation/Foundation.h>
#import <Virtualization/Virtualization.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "core/error.h"
#include "core/fd.h"
#include "core/log.h"
#include "vmm/backend-priv.h"
#include "vmm/vz/vz-priv.h"

/* How often start() knocks at the guest agent's port while the guest boots. */
#define AGENT_RETRY_MS 50
/* What kill() and free() give the framework to stop a VM. */
#define KILL_TIMEOUT_MS 5000

/* Flags shared with the framework's queue: the compiler's atomic builtins
 * on plain ints (the same on clang and gcc, with no <stdatomic.h>). */
static int load(int *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void store(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static bool claim_from(int *p, int from, int to) {
  return __atomic_compare_exchange_n(p, &from, to, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static dispatch_time_t after_ms(int64_t ms) {
  return ms < 0 ? DISPATCH_TIME_FOREVER : dispatch_time(DISPATCH_TIME_NOW, ms * (int64_t)NSEC_PER_MSEC);
}

API_AVAILABLE(macos(12.0))
@interface VmctrVZMachine : NSObject <VZVirtualMachineDelegate>
@end

@implementation VmctrVZMachine {
@public
  dispatch_queue_t _queue;
  VZVirtualMachine *_vm;             /* touched on _queue only */
  NSMutableArray *_keep;             /* console handle, vmnet networks */
  VZVirtioSocketConnection *_agent;  /* keeps the connection open */
  int _agent_fd;                     /* our dup of its fd */
  int _exit_pipe[2];                 /* [0] readable once the VM has stopped */
  uint32_t _agent_port;
  int _started, _exited;             /* atomic: load() / store() / claim_from() */
  int _status;                       /* 0 guest stopped it; -1 error or forced */
  int _logged;                       /* the stop error went to the log */
  char _stop_error[256];             /* why it stopped with an error, for the log */
}

- (instancetype)init {
  if ((self = [super init])) {
    _agent_fd = -1;
    _exit_pipe[0] = _exit_pipe[1] = -1;
    _keep = [NSMutableArray array];
  }
  return self;
}

/* Once: status, then the pipe turns readable for good. Any thread. */
- (void)markExited:(int)status {
  /* 0 running, 1 being marked, 2 exited with _status set */
  if (!claim_from(&_exited, 0, 1))
    return;
  store(&_status, status);
  store(&_exited, 2);
  if (_exit_pipe[1] >= 0) {
    char b = 'x';
    ssize_t n;
    do
      n = write(_exit_pipe[1], &b, 1);
    while (n < 0 && errno == EINTR);
  }
}

/* VZVirtualMachineDelegate, on _queue. */
- (void)guestDidStopVirtualMachine:(VZVirtualMachine *)virtualMachine {
  [self markExited:0];
}

- (void)virtualMachine:(VZVirtualMachine *)virtualMachine didStopWithError:(NSError *)error {
  snprintf(_stop_error, sizeof(_stop_error), "%s (%s %ld)", error.localizedDescription.UTF8String,
           error.domain.UTF8String, (long)error.code);
  [self markExited:-1];
}

- (void)dealloc {
  if (_agent_fd >= 0)
    close(_agent_fd);
  for (int i = 0; i < 2; i++)
    if (_exit_pipe[i] >= 0)
      close(_exit_pipe[i]);
}
@end

API_AVAILABLE(macos(12.0))
static VmctrVZMachine *machine(void *ctx) {
  return (__bridge VmctrVZMachine *)ctx;
}

static int vz_create(void **ctx, const vmctr__vm_spec *spec) {
  if (@available(macOS 12.0, *)) {
    vmctr__vz_host host;
    vmctr__vz_plan plan;
    int r = 0;
    if (![VZVirtualMachine isSupported])
      return vmctr__err(VMCTR_EUNSUPPORTED, 0, "Virtualization.framework reports no VM support on "
                        "this Mac (inside a VM without nested virtualization?)");
    vmctr__vz_host_live(&host, spec->caps);
    if ((r = vmctr__vz_plan_make(&plan, spec, &host)) < 0)
      return r;
    @autoreleasepool {
      VmctrVZMachine *m = [[VmctrVZMachine alloc] init];
      m->_agent_port = plan.agent_port;
      VZVirtualMachineConfiguration *cfg = vmctr__vz_configuration(&plan, m->_keep, &r);
      vmctr__vz_plan_clear(&plan);
      if (!cfg)
        return r;
      if (vmctr__pipe(m->_exit_pipe) < 0)
        return vmctr__err_os(errno, "cannot create the VM's exit pipe");
      m->_queue = dispatch_queue_create("org.libvmctr.vz", DISPATCH_QUEUE_SERIAL);
      dispatch_semaphore_t done = dispatch_semaphore_create(0);
      dispatch_async(m->_queue, ^{
        m->_vm = [[VZVirtualMachine alloc] initWithConfiguration:cfg queue:m->_queue];
        m->_vm.delegate = m;
        dispatch_semaphore_signal(done);
      });
      dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
      *ctx = (__bridge_retained void *)m;
    }
    return 0;
  }
  return vmctr__err(VMCTR_EUNSUPPORTED, 0, "the vz backend needs macOS 12 or newer");
}

/* One knock at the agent's port; 1 connected, 0 not (yet), <0 error. The
 * completion and a timed-out wait race for the result: whoever loses to the
 * other's claim leaves it alone (a late connection is closed, so the guest
 * never keeps an accepted connection nobody reads). */
enum { KNOCK_WAITING, KNOCK_ANSWERED, KNOCK_ABANDONED };
API_AVAILABLE(macos(12.0))
static int agent_try(VmctrVZMachine *m, int64_t wait_ms) {
  __block VZVirtioSocketConnection *conn = nil;
  __block int claim = KNOCK_WAITING;
  dispatch_semaphore_t done = dispatch_semaphore_create(0);
  dispatch_async(m->_queue, ^{
    VZVirtioSocketDevice *dev = (VZVirtioSocketDevice *)m->_vm.socketDevices.firstObject;
    if (!dev) {
      if (claim_from(&claim, KNOCK_WAITING, KNOCK_ANSWERED))
        dispatch_semaphore_signal(done);
      return;
    }
    [dev connectToPort:m->_agent_port
        completionHandler:^(VZVirtioSocketConnection *c, NSError *e) {
          (void)e; /* refused or reset: nothing listens yet */
          if (!claim_from(&claim, KNOCK_WAITING, KNOCK_ANSWERED)) {
            [c close];
            return;
          }
          conn = c;
          dispatch_semaphore_signal(done);
        }];
  });
  if (dispatch_semaphore_wait(done, after_ms(wait_ms)) != 0) {
    if (claim_from(&claim, KNOCK_WAITING, KNOCK_ABANDONED))
      return 0;
    dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER); /* answered just now */
  }
  if (!conn)
    return 0; /* nothing listens yet: the guest is still booting */
  int fd = fcntl(conn.fileDescriptor, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) {
    int e = errno;
    [conn close];
    return vmctr__err_os(e, "cannot duplicate the agent connection's fd");
  }
  m->_agent = conn;
  m->_agent_fd = fd;
  return 1;
}

static int vz_start(void *ctx, int timeout_ms) {
  if (@available(macOS 12.0, *)) {
    VmctrVZMachine *m = machine(ctx);
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;
    __block NSError *error = nil;
    dispatch_semaphore_t done = dispatch_semaphore_create(0);
    dispatch_async(m->_queue, ^{
      [m->_vm startWithCompletionHandler:^(NSError *e) {
        error = e;
        dispatch_semaphore_signal(done);
      }];
    });
    if (dispatch_semaphore_wait(done, after_ms(timeout_ms)) != 0)
      return vmctr__err(VMCTR_ETIMEDOUT, 0, "the VM did not start within %d ms", timeout_ms);
    if (error)
      return vmctr__vz_err(VMCTR_EIO, error, "the VM did not start");
    store(&m->_started, 1);
    /* On return the agent's channel must be there: knock until the guest's
     * agent listens, the VM stops, or time is up. */
    for (;;) {
      if (load(&m->_exited) == 2)
        return vmctr__err(VMCTR_EIO, 0, "the VM stopped while booting%s%s",
                          m->_stop_error[0] ? ": " : "", m->_stop_error);
      int64_t left = deadline - now_ms();
      if (left <= 0)
        return vmctr__err(VMCTR_ETIMEDOUT, 0, "the guest agent did not listen on vsock port %u "
                          "within %d ms (see the boot log)", m->_agent_port, timeout_ms);
      int r = agent_try(m, left < 1000 ? left : 1000);
      if (r != 0)
        return r < 0 ? r : 0;
      usleep(AGENT_RETRY_MS * 1000);
    }
  }
  return vmctr__err(VMCTR_EUNSUPPORTED, 0, "the vz backend needs macOS 12 or newer");
}

static int vz_agent_fd(void *ctx) {
  if (@available(macOS 12.0, *))
    return machine(ctx)->_agent_fd;
  return -1;
}

static int vz_exit_fd(void *ctx) {
  if (@available(macOS 12.0, *)) {
    VmctrVZMachine *m = machine(ctx);
    return load(&m->_started) ? m->_exit_pipe[0] : -1;
  }
  return -1;
}

static int vz_poll(void *ctx, int *status) {
  if (@available(macOS 12.0, *)) {
    VmctrVZMachine *m = machine(ctx);
    if (load(&m->_exited) != 2)
      return 0;
    if (m->_stop_error[0] && claim_from(&m->_logged, 0, 1))
      vmctr__log(VMCTR_LOG_WARN, "vmm", "the VM stopped with an error: %s", m->_stop_error);
    if (status)
      *status = load(&m->_status);
    return 1;
  }
  return 0;
}

/* Stop without the guest's help; 0 once stopped, or an error. */
API_AVAILABLE(macos(12.0))
static int stop_vm(VmctrVZMachine *m, int timeout_ms) {
  __block NSError *error = nil;
  __block bool tried = false;
  dispatch_semaphore_t done = dispatch_semaphore_create(0);
  dispatch_async(m->_queue, ^{
    if (!m->_vm.canStop) {
      dispatch_semaphore_signal(done);
      return;
    }
    tried = true;
    [m->_vm stopWithCompletionHandler:^(NSError *e) {
      error = e;
      dispatch_semaphore_signal(done);
    }];
  });
  if (dispatch_semaphore_wait(done, after_ms(timeout_ms)) != 0)
    return vmctr__err(VMCTR_ETIMEDOUT, 0, "the VM did not stop within %d ms", timeout_ms);
  if (error)
    return vmctr__vz_err(VMCTR_EIO, error, "the VM did not stop");
  if (tried || load(&m->_exited)) {
    [m markExited:-1]; /* a no-op if the guest stopped it first */
    return 0;
  }
  /* Not stoppable now (still starting, or never started): ask the guest. */
  __block BOOL asked = NO;
  dispatch_async(m->_queue, ^{
    NSError *e = nil;
    if (m->_vm.canRequestStop)
      asked = [m->_vm requestStopWithError:&e];
    error = e;
    dispatch_semaphore_signal(done);
  });
  dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
  if (!asked)
    return vmctr__vz_err(VMCTR_ESTATE, error, "the VM can be neither stopped nor asked to stop");
  return vmctr__err(VMCTR_EAGAIN, 0, "the VM was asked to stop; it has not stopped yet");
}

static int vz_quit(void *ctx, int timeout_ms) {
  if (@available(macOS 12.0, *)) {
    VmctrVZMachine *m = machine(ctx);
    if (load(&m->_exited))
      return 0;
    return stop_vm(m, timeout_ms);
  }
  return vmctr__err(VMCTR_EUNSUPPORTED, 0, "the vz backend needs macOS 12 or newer");
}

static void vz_kill(void *ctx) {
  if (@available(macOS 12.0, *)) {
    VmctrVZMachine *m = machine(ctx);
    if (load(&m->_started) && !load(&m->_exited) &&
        stop_vm(m, KILL_TIMEOUT_MS) < 0)
      vmctr__log(VMCTR_LOG_WARN, "vmm", "vz: %s", vmctr_error_last()->message);
    [m markExited:-1];
    if (m->_agent) {
      [m->_agent close];
      m->_agent = nil;
    }
  }
}

static int32_t vz_pid(void *ctx) {
  (void)ctx;
  return 0; /* the VM runs in a framework service process we are not told of */
}

static void vz_free(void *ctx) {
  if (!ctx)
    return;
  if (@available(macOS 12.0, *)) {
    vz_kill(ctx);
    VmctrVZMachine *m = (__bridge_transfer VmctrVZMachine *)ctx;
    /* The VM object goes on its own queue, where it lived. */
    __block VZVirtualMachine *vm = m->_vm;
    m->_vm = nil;
    dispatch_async(m->_queue, ^{
      vm.delegate = nil;
      vm = nil;
    });
    m = nil;
  }
}

const vmctr__backend_ops vmctr__vz_backend = {
    .name = "vz",
    .create = vz_create,
    .start = vz_start,
    .agent_fd = vz_agent_fd,
    .exit_fd = vz_exit_fd,
    .poll = vz_poll,
    .quit = vz_quit,
    .kill = vz_kill,
    .pid = vz_pid,
    .free = vz_free,
};
