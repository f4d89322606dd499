/* SPDX-License-Identifier: MIT */
/* BPF build only: the <stdint.h> that lib/ headers include. vmlinux.h
 * (included first) already defines the fixed-width types; the C library's
 * would redefine them with other base types. */
#ifndef IOMT_BPF_STDINT_H
#define IOMT_BPF_STDINT_H
#define UINT64_MAX 0xffffffffffffffffULL
#define UINT32_MAX 0xffffffffU
#define UINTPTR_MAX UINT64_MAX
#define SIZE_MAX UINT64_MAX
#endif
