/* SPDX-License-Identifier: MIT */
/* The agent codec (see codec.h). */
#include "codec.h"
