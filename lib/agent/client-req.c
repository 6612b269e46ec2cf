/* SPDX-License-Identifier: MIT */
/* Agent client: requests and their replies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client-priv.h"
#include "core/error.h"
#include "core/time.h"

/* The wire carries Linux errno numbers whatever the host OS: translate them
 * to this host's values before mapping to VMCTR_E* codes. */
static int host_errno(int32_t linux_errno) {
  static const struct { int32_t lx; int host; } map[] = {
    {1, EPERM}, {2, ENOENT}, {3, ESRCH}, {4, EINTR}, {5, EIO}, {6, ENXIO}, {7, E2BIG},
    {8, ENOEXEC}, {9, EBADF}, {10, ECHILD}, {11, EAGAIN}, {12, ENOMEM}, {13, EACCES},
    {16, EBUSY}, {17, EEXIST}, {19, ENODEV}, {20, ENOTDIR}, {21, EISDIR}, {22, EINVAL},
    {26, ETXTBSY}, {27, EFBIG}, {28, ENOSPC}, {30, EROFS}, {36, ENAMETOOLONG}, {38, ENOSYS},
    {39, ENOTEMPTY}, {40, ELOOP}, {71, EPROTO}, {74, EBADMSG}, {75, EOVERFLOW},
    {95, EOPNOTSUPP}, {110, ETIMEDOUT}, {125, ECANCELED},
  };
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (map[i].lx == linux_errno)
      return map[i].host;
  return EIO;
}

void vmctr__agent_reply_free(vmctr__agent_reply *r) {
  if (!r)
    return;
  vmctr__agent_msg_free(&r->msg);
  free(r->payload);
  free(r);
}

const vmctr__agent_msg *vmctr__agent_reply_msg(const vmctr__agent_reply *r) {
  return &r->msg;
}

static agent_pending **find_pending(vmctr__agent *a, uint32_t id) {
  agent_pending **pp = &a->pending;
  while (*pp && (*pp)->id != id)
    pp = &(*pp)->next;
  return pp;
}

void agent__fail_pending(vmctr__agent *a) {
  agent_pending **pp = &a->pending;
  while (*pp) {
    agent_pending *p = *pp;
    if (p->abandoned) {
      *pp = p->next;
      free(p);
      continue;
    }
    if (!p->done) {
      p->done = true;
      p->err = a->dead_code;
    }
    pp = &p->next;
  }
}

int agent__on_response(vmctr__agent *a, uint32_t id, const uint8_t *payload, size_t len) {
  agent_pending **pp = find_pending(a, id), *p = *pp;
  vmctr__agent_reply *r;
  int32_t err;
  int rc;

  if (!p || p->done) {
    agent__die(a, VMCTR_EPROTO, "guest agent answered request %u, which is not pending", id);
    return -1;
  }
  if (p->abandoned) {
    *pp = p->next;
    free(p);
    return 0;
  }
  r = calloc(1, sizeof(*r));
  if (!r || !(r->payload = malloc(len ? len : 1))) {
    free(r);
    agent__die(a, VMCTR_ENOMEM, "out of memory for a guest agent reply");
    return -1;
  }
  if (len)
    memcpy(r->payload, payload, len);
  rc = vmctr__agent_msg_parse(r->payload, len, &r->msg);
  if (rc == 0) {
    rc = vmctr__agent_get_i32(&r->msg, VMCTR_AT_ERRNO, &err);
    rc = rc == -ENOENT ? 0 : rc; /* no ERRNO: success */
  }
  if (rc < 0) {
    vmctr__agent_reply_free(r);
    agent__die(a, rc == -ENOMEM ? VMCTR_ENOMEM : VMCTR_EPROTO,
               "guest agent sent a malformed RESPONSE to request %u", id);
    return -1;
  }
  p->done = true;
  p->reply = r;
  pthread_cond_broadcast(&a->cond);
  return 0;
}

int vmctr__agent_request_begin(vmctr__agent *a, const vmctr__agent_buf *req, uint32_t *id) {
  agent_pending *p;
  int r;

  if (!a || !req || !id)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_request_begin: NULL argument");
  pthread_mutex_lock(&a->lock);
  if (!a->alive) {
    r = agent__dead_err(a);
    goto out;
  }
  r = vmctr__agent_buf_finish(req, a->peer_frame);
  if (r < 0) {
    r = r == -ENOMEM ? vmctr__err_nomem()
                     : vmctr__err(VMCTR_ETOOBIG, 0,
                                  "agent request of %zu bytes exceeds the guest's limit of %u",
                                  req->len, a->peer_frame);
    goto out;
  }
  if (!(p = calloc(1, sizeof(*p)))) {
    r = vmctr__err_nomem();
    goto out;
  }
  /* Ids wrap after 2^32 requests; skip 0 and any still pending. */
  do {
    p->id = a->next_req++;
  } while (p->id == 0 || *find_pending(a, p->id));
  if (agent__queue(a, VMCTR_AF_REQUEST, p->id, req->data, req->len) < 0) {
    free(p);
    r = vmctr__err_nomem();
    goto out;
  }
  p->next = a->pending;
  a->pending = p;
  *id = p->id;
  agent__wake(a);
  r = 0;
out:
  pthread_mutex_unlock(&a->lock);
  return r;
}

/* Wait on a->cond until pred(a, arg) or the deadline. Lock held. */
int agent__wait(vmctr__agent *a, int timeout_ms, bool (*pred)(vmctr__agent *, void *), void *arg) {
  struct timespec ts;
  if (timeout_ms >= 0)
    vmctr__abstime_ms(&ts, vmctr__deadline_ms(timeout_ms));
  while (!pred(a, arg)) {
    if (timeout_ms < 0)
      pthread_cond_wait(&a->cond, &a->lock);
    else if (pthread_cond_timedwait(&a->cond, &a->lock, &ts) == ETIMEDOUT && !pred(a, arg))
      return VMCTR_ETIMEDOUT;
  }
  return 0;
}

static bool req_done(vmctr__agent *a, void *arg) {
  agent_pending *p = *find_pending(a, *(uint32_t *)arg);
  return !p || p->done;
}

static int reply_error(vmctr__agent_reply *r) {
  int32_t e = 0;
  char *msg = NULL;
  int code;
  if (vmctr__agent_get_i32(&r->msg, VMCTR_AT_ERRNO, &e) < 0 || e == 0)
    return 0;
  const uint8_t *raw;
  size_t n;
  /* The guest's words reach logs and terminals: printable UTF-8 only. */
  if (vmctr__agent_get_bytes(&r->msg, VMCTR_AT_MESSAGE, &raw, &n) == 0)
    msg = agent__sanitize((const char *)raw, n, AGENT_TEXT_MAX);
  code = vmctr__err(vmctr__code_from_errno(host_errno(e)), host_errno(e), "guest: %s",
                    msg && *msg ? msg : "request failed");
  free(msg);
  return code;
}

int vmctr__agent_request_end(vmctr__agent *a, uint32_t id, int timeout_ms, vmctr__agent_reply **out) {
  agent_pending **pp, *p;
  vmctr__agent_reply *reply = NULL;
  int r;

  if (!a || !out)
    return vmctr__err(VMCTR_EINVAL, 0, "vmctr__agent_request_end: NULL argument");
  pthread_mutex_lock(&a->lock);
  pp = find_pending(a, id);
  if (!*pp || (*pp)->abandoned) {
    pthread_mutex_unlock(&a->lock);
    return vmctr__err(VMCTR_ENOENT, 0, "agent request %u is not pending", id);
  }
  if (agent__wait(a, timeout_ms, req_done, &id) < 0) {
    pthread_mutex_unlock(&a->lock);
    return vmctr__err(VMCTR_ETIMEDOUT, 0, "the guest agent did not answer request %u in time", id);
  }
  pp = find_pending(a, id);
  p = *pp;
  if (!p) { /* another thread ended or cancelled it meanwhile */
    pthread_mutex_unlock(&a->lock);
    return vmctr__err(VMCTR_ENOENT, 0, "agent request %u is not pending", id);
  }
  *pp = p->next;
  reply = p->reply;
  r = reply ? 0 : vmctr__err(p->err, 0, "%s", a->dead_msg);
  free(p);
  pthread_mutex_unlock(&a->lock);
  if (reply && (r = reply_error(reply)) < 0) {
    vmctr__agent_reply_free(reply);
    return r;
  }
  if (reply)
    *out = reply;
  return r;
}

void vmctr__agent_request_cancel(vmctr__agent *a, uint32_t id) {
  agent_pending **pp, *p;
  if (!a)
    return;
  pthread_mutex_lock(&a->lock);
  pp = find_pending(a, id);
  if ((p = *pp)) {
    if (p->done || !a->alive) {
      *pp = p->next;
      vmctr__agent_reply_free(p->reply);
      free(p);
    } else {
      p->abandoned = true; /* its RESPONSE is still expected and dropped */
    }
  }
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->lock);
}

int vmctr__agent_request(vmctr__agent *a, const vmctr__agent_buf *req, int timeout_ms,
                         vmctr__agent_reply **out) {
  uint32_t id;
  int r = vmctr__agent_request_begin(a, req, &id);
  if (r < 0)
    return r;
  r = vmctr__agent_request_end(a, id, timeout_ms, out);
  if (r == VMCTR_ETIMEDOUT)
    vmctr__agent_request_cancel(a, id);
  return r;
}
