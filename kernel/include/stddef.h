/* SPDX-License-Identifier: GPL-2.0 */
/* lib/'s <stddef.h> in the kernel (size_t, NULL, offsetof). */
#ifndef IOMT_KSHIM_STDDEF_H
#define IOMT_KSHIM_STDDEF_H
#include <linux/types.h>
#include <linux/stddef.h>
#endif
