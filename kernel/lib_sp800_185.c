// SPDX-License-Identifier: GPL-2.0
/* lib/sp800_185.c built into the module: the same source as userspace's. */
#include "../lib/sp800_185.c"
