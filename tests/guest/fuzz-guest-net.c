/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a CONFIG_IFACE request from a hostile host, through
 * vmctr-init's own decoder (lib/guest/net.c guest_net_parse_iface). The
 * input is a field list; whatever the decoder accepts must hold to every
 * bound it promises, or the target aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest/guest-priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* net.c's handler answers through these; the decoder alone never does. */
bool guest_is_pid1;
void guest_log(const char *fmt, ...) { (void)fmt; }
void guest_respond(guest_agent *a, uint32_t id, int err, const char *msg) {
  (void)a, (void)id, (void)err, (void)msg;
}

static uint32_t mask4(uint32_t prefix) {
  return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vmctr__agent_msg m = {0};
  guest_iface q;
  char msg[256];
  if (vmctr__agent_msg_parse(data, size, &m) < 0)
    return 0;
  const char *bad = guest_net_parse_iface(&m, &q, msg, sizeof(msg));
  if (bad) {
    if (strnlen(bad, sizeof(msg)) >= sizeof(msg))
      abort();
  } else {
    if (!q.mac || q.mac < data || q.mac + 6 > data + size || (q.mac[0] & 1))
      abort();
    if (q.mtu && (q.mtu < VMCTR_AGENT_MTU_MIN || q.mtu > VMCTR_AGENT_MTU_MAX))
      abort();
    if (q.addr ? q.prefix < 1 || q.prefix > 32 : q.prefix != 0)
      abort();
    if (q.nroutes > VMCTR_AGENT_MAX_ROUTES ||
        q.nroutes != vmctr__agent_count(&m, VMCTR_AT_ROUTE4))
      abort();
    for (size_t i = 0; i < q.nroutes; i++)
      if (q.routes[i][1] > 32 || (q.routes[i][0] & ~mask4(q.routes[i][1])))
        abort();
  }
  vmctr__agent_msg_free(&m);
  return 0;
}
