/* SPDX-License-Identifier: MIT */
/* BPF build only: the <stddef.h> that lib/ headers include (size_t comes
 * from vmlinux.h, included first). */
#ifndef IOMT_BPF_STDDEF_H
#define IOMT_BPF_STDDEF_H
#ifndef NULL
#define NULL ((void *)0)
#endif
#endif
