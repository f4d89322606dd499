// SPDX-License-Identifier: GPL-2.0
/* lib/keccak_rc.c built into the module: the same source as userspace's. */
#include "../lib/keccak_rc.c"
