/* SPDX-License-Identifier: MIT */
/* BPF build only: the <string.h> lib/bytes.h includes, on clang builtins
 * (fixed sizes, so they become plain loads and stores). */
#ifndef IOMT_BPF_STRING_H
#define IOMT_BPF_STRING_H
#define memcpy __builtin_memcpy
#define memset __builtin_memset
#define memcmp __builtin_memcmp
#endif
