/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a RESTORED request from a hostile host, through
 * vmctr-init's own decoder (lib/guest/restore.c guest_restore_parse). The
 * input is a field list; whatever the decoder accepts must hold to every
 * bound it promises, or the target aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest/guest-priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* restore.c's handler answers through these; the decoder alone never does. */
bool guest_is_pid1;
void guest_log(const char *fmt, ...) { (void)fmt; }
void guest_respond(guest_agent *a, uint32_t id, int err, const char *msg) {
  (void)a, (void)id, (void)err, (void)msg;
}
int guest_write_str(const char *path, const char *s) {
  (void)path, (void)s;
  return 0;
}
/* The decoder only: fix_disks, which uses the disk map, is never reached. */
const guest_disk *guest_disks(size_t *n) {
  *n = 0;
  return NULL;
}
int guest_disks_scan(void) { return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vmctr__agent_msg m = {0};
  guest_restore q;
  if (vmctr__agent_msg_parse(data, size, &m) < 0)
    return 0;
  if (!guest_restore_parse(&m, &q)) {
    if (!q.entropy || q.entropy < data || q.entropy + q.nentropy > data + size ||
        q.nentropy < VMCTR_AGENT_ENTROPY_MIN || q.nentropy > VMCTR_AGENT_ENTROPY_MAX)
      abort();
    if (q.nmacs > VMCTR_AGENT_MAX_NICS || q.nmacs != vmctr__agent_count(&m, VMCTR_AT_MAC))
      abort();
    for (size_t i = 0; i < q.nmacs; i++)
      if (q.macs[i] < data || q.macs[i] + 6 > data + size || (q.macs[i][0] & 1))
        abort();
  }
  vmctr__agent_msg_free(&m);
  return 0;
}
