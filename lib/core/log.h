/* SPDX-License-Identifier: MIT */
/* Internal logging: formats only when a handler wants the level. */
#ifndef VMCTR_CORE_LOG_H
#define VMCTR_CORE_LOG_H

#include "vmctr/log.h"

void vmctr__log(int level, const char *domain, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
