/* SPDX-License-Identifier: MIT */
/* Keccak-f[1600] entry points: scalar (portable, or its BMI2 build; on
 * 32-bit CPUs the bit-interleaved code of keccak32.c) and the batched x4/x8
 * dispatch to the SIMD kernels. */
#include "keccak.h"
#include "keccak_impl.h"
#include "iomt_err.h"
#include "ct.h"

#if defined(IOMT_X86) || !defined(IOMT_KECCAK_32)
#include "keccak_perm.h"
#endif

#ifdef IOMT_X86
void iomt_keccak_f1600_portable(uint64_t st[IOMT_KECCAK_WORDS])
{
	keccak_perm(st);
}

/* Set on first use: the BMI2 build of the same permutation when the CPU has it. */
static void (*keccak_scalar)(uint64_t st[IOMT_KECCAK_WORDS]);

void iomt_keccak_force_32(int on)
{
	keccak_scalar = on ? iomt_keccak_f1600_32 : NULL;
}
#endif

void iomt_keccak_f1600(uint64_t st[IOMT_KECCAK_WORDS])
{
#ifdef IOMT_X86
	if (!keccak_scalar)
		keccak_scalar = iomt_cpu_has_bmi2() ? iomt_keccak_f1600_bmi2 : keccak_perm;
	keccak_scalar(st);
#elif defined(IOMT_KECCAK_32)
	iomt_keccak_f1600_32(st);
#else
	keccak_perm(st);
#endif
}

/* Portable batch: permute each interleaved instance with the scalar code. */
static void keccak_xn_portable(uint64_t *st, unsigned n)
{
	uint64_t one[IOMT_KECCAK_WORDS];

	for (unsigned l = 0; l < n; l++) {
		for (unsigned w = 0; w < IOMT_KECCAK_WORDS; w++)
			one[w] = st[w * n + l];
		iomt_keccak_f1600(one);
		for (unsigned w = 0; w < IOMT_KECCAK_WORDS; w++)
			st[w * n + l] = one[w];
	}
	iomt_wipe(one, sizeof(one));
}

/* Width limit set by iomt_keccak_set_width(); 0 = not yet probed. */
static unsigned keccak_width;

static unsigned keccak_probe(void)
{
#ifdef IOMT_X86
	if (iomt_cpu_has_avx512())
		return 8;
	if (iomt_cpu_has_avx2())
		return 4;
#endif
	return 1;
}

unsigned iomt_keccak_batch_width(void)
{
	if (!keccak_width)
		keccak_width = keccak_probe();
	return keccak_width;
}

int iomt_keccak_set_width(unsigned width)
{
	if (width != 1 && width != 4 && width != 8)
		return IOMT_EINVAL;
	if (width > keccak_probe())
		return IOMT_EUNSUPP;
	keccak_width = width;
	return IOMT_OK;
}

void iomt_keccak_f1600_x4(uint64_t st[IOMT_KECCAK_WORDS * 4])
{
#ifdef IOMT_X86
	if (iomt_keccak_batch_width() >= 4) {
		iomt_keccak_f1600_x4_avx2(st);
		return;
	}
#endif
	keccak_xn_portable(st, 4);
}

void iomt_keccak_f1600_x8(uint64_t st[IOMT_KECCAK_WORDS * 8])
{
#ifdef IOMT_X86
	unsigned w = iomt_keccak_batch_width();

	if (w >= 8) {
		iomt_keccak_f1600_x8_avx512(st);
		return;
	}
	if (w >= 4) {
		/* Two AVX2 halves: de-interleave 8 lanes into 2 x 4. */
		uint64_t h[2][IOMT_KECCAK_WORDS * 4];

		for (unsigned i = 0; i < IOMT_KECCAK_WORDS; i++)
			for (unsigned l = 0; l < 4; l++) {
				h[0][i * 4 + l] = st[i * 8 + l];
				h[1][i * 4 + l] = st[i * 8 + 4 + l];
			}
		iomt_keccak_f1600_x4_avx2(h[0]);
		iomt_keccak_f1600_x4_avx2(h[1]);
		for (unsigned i = 0; i < IOMT_KECCAK_WORDS; i++)
			for (unsigned l = 0; l < 4; l++) {
				st[i * 8 + l] = h[0][i * 4 + l];
				st[i * 8 + 4 + l] = h[1][i * 4 + l];
			}
		iomt_wipe(h, sizeof(h));
		return;
	}
#endif
	keccak_xn_portable(st, 8);
}
