/* SPDX-License-Identifier: GPL-2.0 */
/* lib/'s <string.h> in the kernel (memcpy, memset, memcmp). */
#ifndef IOMT_KSHIM_STRING_H
#define IOMT_KSHIM_STRING_H
#include <linux/string.h>
#endif
