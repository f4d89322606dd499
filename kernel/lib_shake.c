// SPDX-License-Identifier: GPL-2.0
/* lib/shake.c built into the module: the same source as userspace's. */
#include "../lib/shake.c"
