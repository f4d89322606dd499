/* SPDX-License-Identifier: MIT */
/* Startup for the Cortex-M3 test image: a vector table (initial stack
 * pointer, reset and fault handlers), .data copied from flash, .bss zeroed,
 * then main(); and the semihosting calls (bkpt 0xab, ARM's semihosting
 * specification) that QEMU serves with -semihosting-config enable=on. */
#include <stdint.h>
#include "m3.h"

enum {
	SYS_WRITE0 = 0x04,
	SYS_EXIT = 0x18,
	ADP_STOPPED_APPLICATION_EXIT = 0x20026,
	ADP_STOPPED_RUNTIME_ERROR = 0x20023,
};

extern uint32_t _sidata, _sdata, _edata, _sbss;

void m3_reset(void) __attribute__((noreturn));
static void m3_fault(void) __attribute__((noreturn));

/* Entries 0..15: SP, reset, NMI, hard, MPU, bus, usage faults, reserved,
 * SVC, debug, reserved, PendSV, SysTick. No interrupt is enabled. */
__attribute__((section(".vectors"), used))
static void (*const m3_vectors[16])(void) = {
	(void (*)(void))(uintptr_t)&_estack, m3_reset,
	m3_fault, m3_fault, m3_fault, m3_fault, m3_fault, 0, 0, 0, 0,
	m3_fault, m3_fault, 0, m3_fault, m3_fault,
};

static int semihost(int op, const void *arg)
{
	register int r0 __asm__("r0") = op;
	register const void *r1 __asm__("r1") = arg;

	__asm__ __volatile__("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
	return r0;
}

void m3_puts(const char *s)
{
	semihost(SYS_WRITE0, s);
}

void m3_exit(int ok)
{
	/* 32-bit SYS_EXIT takes the reason itself: QEMU maps ApplicationExit
	 * to status 0 and any other reason to 1. */
	semihost(SYS_EXIT, (const void *)(uintptr_t)(ok ? ADP_STOPPED_APPLICATION_EXIT
							 : ADP_STOPPED_RUNTIME_ERROR));
	for (;;)
		;
}

__attribute__((noinline)) void m3_mark_begin(void)
{
	__asm__ __volatile__("" ::: "memory");
}

__attribute__((noinline)) void m3_mark_end(void)
{
	__asm__ __volatile__("" ::: "memory");
}

static void m3_fault(void)
{
	m3_puts("Bail out! fault exception\n");
	m3_exit(0);
}

void m3_reset(void)
{
	uint32_t *s = &_sidata, *d = &_sdata;

	while (d < &_edata)
		*d++ = *s++;
	for (d = &_sbss; d < &_ebss; d++)
		*d = 0;
	m3_exit(main() == 0);
}
