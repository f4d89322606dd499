// SPDX-License-Identifier: GPL-2.0
/* lib/err.c built into the module: the same source as userspace's. */
#include "../lib/err.c"
