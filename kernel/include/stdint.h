/* SPDX-License-Identifier: GPL-2.0 */
/* lib/ is freestanding C: in the kernel its <stdint.h> is <linux/types.h>,
 * with the limits lib/ tests in #if as plain constants (the kernel's are
 * casts, which the preprocessor cannot evaluate). x86-64 / LP64 only. */
#ifndef IOMT_KSHIM_STDINT_H
#define IOMT_KSHIM_STDINT_H
#include <linux/types.h>
#include <linux/limits.h>
#undef SIZE_MAX
#undef UINT64_MAX
#undef UINTPTR_MAX
#define SIZE_MAX 0xffffffffffffffffUL
#define UINT64_MAX 0xffffffffffffffffULL
#define UINTPTR_MAX 0xffffffffffffffffUL
#endif
