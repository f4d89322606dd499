/* SPDX-License-Identifier: MIT */
/* The bare-metal test image's platform: startup (m3_start.c) and ARM
 * semihosting output, for QEMU's lm3s6965evb. Nothing here is part of lib/. */
#ifndef IOMT_M3_H
#define IOMT_M3_H
#include <stdint.h>

/* Linker-script symbols: end of .bss (stack paint starts here), top of SRAM. */
extern uint32_t _ebss, _estack;

/* Semihosting SYS_WRITE0: a NUL-terminated string on the host's stdout. */
void m3_puts(const char *s);
/* Semihosting SYS_EXIT: QEMU exits with status 0 if ok, else 1. */
void m3_exit(int ok) __attribute__((noreturn));

/* Instruction-count markers: empty, never inlined, so that a trace of the
 * executed instructions (tests/bench/bench_fw.sh) can find them by name. */
void m3_mark_begin(void);
void m3_mark_end(void);

int main(void);

#endif
