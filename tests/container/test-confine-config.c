/* SPDX-License-Identifier: MIT */
/* Unit: a caller's seccomp program (vmctr_process_config_set_seccomp_filter)
 * and the pids limit (vmctr_container_config_set_pids_limit): the checks,
 * the copies, and what goes into the SPAWN request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "container/container-priv.h"
#include "testutil.h"
#include "vmctr/error.h"

/* ld [4]; ret ALLOW: two instructions of Linux's struct sock_filter. */
static const uint8_t prog2[16] = {0x20, 0, 0, 0, 4, 0, 0, 0, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f};

static void test_filter_checks(void **state) {
  (void)state;
  vmctr_process_config *p;
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_seccomp_filter(NULL, prog2, 16), VMCTR_EINVAL);
  assert_int_equal(vmctr_process_config_set_seccomp_filter(p, prog2, 7), VMCTR_EINVAL);
  assert_int_equal(vmctr_process_config_set_seccomp_filter(p, prog2, 0), VMCTR_EINVAL);
  assert_int_equal(vmctr_process_config_set_seccomp_filter(p, NULL, 16), VMCTR_EINVAL);
  uint8_t *big = calloc(4097, 8);
  assert_non_null(big);
  assert_int_equal(vmctr_process_config_set_seccomp_filter(p, big, 4097 * 8), VMCTR_EINVAL);
  assert_non_null(strstr(vmctr_error_last()->message, "4096"));
  assert_int_equal(vmctr_process_config_set_seccomp_filter(p, big, 4096 * 8), 0);
  free(big);
  assert_int_equal(p->filter_len, 4096 * 8);
  assert_int_equal(vmctr_process_config_set_seccomp_filter(p, NULL, 0), 0);
  assert_null(p->filter);
  assert_int_equal(p->filter_len, 0);
  vmctr_process_config_free(p);
}

/* Copied at the call and by clone; the spawn request carries it, privileged or not. */
static void test_filter_copied_and_sent(void **state) {
  (void)state;
  vmctr_process_config *p, *q;
  uint8_t prog[16];
  memcpy(prog, prog2, sizeof(prog));
  assert_int_equal(vmctr_process_config_new(&p), 0);
  assert_int_equal(vmctr_process_config_set_seccomp_filter(p, prog, sizeof(prog)), 0);
  memset(prog, 0, sizeof(prog));
  assert_memory_equal(p->filter, prog2, 16);
  assert_int_equal(vmctr_process_config_clone(&q, p), 0);
  assert_ptr_not_equal(q->filter, p->filter);
  assert_memory_equal(q->filter, prog2, 16);
  vmctr_process_config_free(p);
  vmctr__agent_spawn_args s;
  memset(&s, 0, sizeof(s));
  vmctr__process_security(q, false, false, &s);
  assert_ptr_equal(s.seccomp_filter, q->filter);
  assert_int_equal(s.seccomp_filter_len, 16);
  assert_int_equal(s.seccomp, VMCTR_ASECCOMP_DEFAULT);
  /* The filter wins over privileged (a process's, or the container's). */
  assert_int_equal(vmctr_process_config_set_privileged(q, 1), 0);
  memset(&s, 0, sizeof(s));
  vmctr__process_security(q, true, true, &s);
  assert_int_equal(s.caps, VMCTR_AGENT_CAPS_ALL);
  assert_ptr_equal(s.seccomp_filter, q->filter);
  assert_int_equal(s.seccomp_filter_len, 16);
  /* None: nothing sent. */
  memset(&s, 0, sizeof(s));
  vmctr__process_security(NULL, false, true, &s);
  assert_null(s.seccomp_filter);
  assert_int_equal(s.seccomp_filter_len, 0);
  vmctr_process_config_free(q);
}

static void test_pids_limit(void **state) {
  (void)state;
  vmctr_container_config *c;
  assert_int_equal(vmctr_container_config_set_pids_limit(NULL, 5), VMCTR_EINVAL);
  assert_int_equal(vmctr_container_config_new(&c), 0);
  assert_int_equal(c->pids_limit, 0);
  assert_int_equal(vmctr_container_config_set_pids_limit(c, 20), 0);
  assert_int_equal(c->pids_limit, 20);
  assert_int_equal(vmctr_container_config_set_pids_limit(c, -1), 0);
  assert_int_equal(c->pids_limit, 0);
  assert_int_equal(vmctr_container_config_set_pids_limit(c, INT64_MAX), 0);
  assert_true(c->pids_limit == (uint64_t)INT64_MAX);
  assert_int_equal(vmctr_container_config_set_pids_limit(c, 0), 0);
  assert_int_equal(c->pids_limit, 0);
  vmctr_container_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_filter_checks),
    cmocka_unit_test(test_filter_copied_and_sent),
    cmocka_unit_test(test_pids_limit),
  };
  return cmocka_run_group_tests_name("confine-config", tests, NULL, NULL);
}
