/* SPDX-License-Identifier: MIT */
/* libFuzzer target: QEMU's QMP output is untrusted. A line, whatever its
 * bytes, parses or is refused without crashing or leaking, and the stream
 * reader keeps every line within its bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/qmp-priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vmctr__qmp_msg m;
  if (vmctr__qmp_parse((const char *)data, size, &m) == 0) {
    if (m.kind == VMCTR__QMP_RETURN)
      (void)vmctr__qmp_status(&m);
    vmctr__qmp_msg_clear(&m);
  }
  /* The same bytes as a whole QMP session: greeting, then a reply. */
  int sv[2];
  if (size < 60000 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
    vmctr__qmp q;
    if (write(sv[1], data, size) == (ssize_t)size) {
      shutdown(sv[1], SHUT_WR);
      if (vmctr__qmp_open(&q, sv[0], 100) == 0) {
        if (vmctr__qmp_execute(&q, "query-status", 100, &m) == 0)
          vmctr__qmp_msg_clear(&m);
        vmctr__qmp_close(&q);
      }
    } else {
      close(sv[0]);
    }
    close(sv[1]);
  }
  return 0;
}
