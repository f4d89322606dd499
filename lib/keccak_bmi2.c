/* SPDX-License-Identifier: MIT */
/* The portable permutation compiled with BMI1/BMI2 (andn, rorx) and loop
 * unrolling; keccak.c selects it at run time when the CPU has BMI2. */
#include "keccak_impl.h"

#ifdef IOMT_X86
#include "keccak_perm.h"

void iomt_keccak_f1600_bmi2(uint64_t st[25])
{
	keccak_perm(st);
}
#endif
