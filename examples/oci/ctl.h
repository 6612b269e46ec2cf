/* SPDX-License-Identifier: MIT */
/* vmctr-oci: the monitor's control socket (monitor.h says what travels on
 * it): one JSON object per SOCK_SEQPACKET message, descriptors with
 * SCM_RIGHTS. The client side needs no libvmctr. */
#ifndef VMCTR_OCI_CTL_H
#define VMCTR_OCI_CTL_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* The largest control message. */
#define OCI_CTL_MAX (256u * 1024u)

/* One object (and up to 3 fds) as one message. 0 or -1 (errno). */
int oci_msg_send(int fd, const cJSON *msg, const int *fds, size_t nfds);
/* One message: 1 with *msg (and fds), 0 at end of file, -1 on error or a
 * malformed message (bounded and parsed: the peer is not trusted). */
int oci_msg_recv(int fd, cJSON **msg, int *fds, size_t maxfds, size_t *nfds);
/* /proc/self/fd/DIRFD/ctl.sock into buf (short, whatever --root is). */
int oci_ctl_path(char *buf, size_t cap, int dirfd);

/* Connect to ROOT/ID's monitor. fd, or -1 with err. */
int oci_ctl_connect(const char *root, const char *id, char *err, size_t errlen);
/* Send req (and fds), wait up to timeout_ms for one reply. 0 with *reply
 * (an object without "error"), or -1 with err (the monitor's error text). */
int oci_ctl_call(int fd, const cJSON *req, const int *fds, size_t nfds, int timeout_ms,
                 cJSON **reply, char *err, size_t errlen);

#endif
