/* SPDX-License-Identifier: MIT */
/* AES-128, encryption direction only (CTR and CBC-MAC, hence CCM, never need
 * the inverse cipher). A portable bitsliced implementation with no
 * secret-dependent lookups or branches, and an AES-NI one on x86-64 chosen at
 * run time. */
#ifndef IOMT_AES_H
#define IOMT_AES_H
#include <stddef.h>
#include <stdint.h>
#include "cpu.h"

enum {
	IOMT_AES_BLOCK_LEN = 16,
	IOMT_AES128_KEY_LEN = 16,
	IOMT_AES128_ROUNDS = 10,
};

/* 32-bit CPUs (the sensor firmware) keep only the key: each block expands
 * the round keys on the fly, one at a time, in lib/aes.c's small column-word
 * AES with a computed S-box (flash is the sensor's budget, issue 8). The
 * context is 16 bytes instead of 532 (a sensor's stack holds several). Where
 * aes.h is already included, a host may define IOMT_AES_32 to compile
 * lib/aes.c's 32-bit code with the host's context, its byte round keys
 * filled too (tests/lib/test_aes.c); IOMT_AES_KEY_ONLY says the context is
 * the 16-byte one. */
#if UINTPTR_MAX <= 0xffffffffu && !defined(IOMT_X86) && !defined(IOMT_AES_32)
#define IOMT_AES_32 1
#define IOMT_AES_KEY_ONLY 1
#endif

#ifdef IOMT_AES_KEY_ONLY
struct iomt_aes128 {
	uint8_t rk[1][IOMT_AES_BLOCK_LEN];  /* the key: round key 0 */
};
#else
struct iomt_aes128 {
#ifndef IOMT_AES_32
	/* Both forms of the round keys are kept, so the implementation can
	 * change (iomt_aes_set_hw) without re-keying. Round keys in bitsliced
	 * form: bit j of every byte of round key r, repeated for the two blocks
	 * a pass processes, in sk[r][j]. */
	uint32_t sk[IOMT_AES128_ROUNDS + 1][8];
#endif
	/* The round keys as bytes (FIPS 197 w[] order): for AES-NI, and the
	 * only form under IOMT_AES_32. */
	uint8_t rk[IOMT_AES128_ROUNDS + 1][IOMT_AES_BLOCK_LEN];
#ifndef IOMT_AES_32
	/* 1 if sk[] is filled. A context keyed while AES-NI is active gets only
	 * rk[] (AESKEYGENASSIST, ~40x cheaper than the bitsliced schedule); the
	 * portable path then slices rk[] on the fly, so any context still works
	 * with either implementation. */
	uint8_t sliced;
#endif
};
#endif

/* Expands key. Returns IOMT_EINVAL on NULL arguments. */
int iomt_aes128_init(struct iomt_aes128 *ctx, const uint8_t key[16]);

void iomt_aes128_encrypt(const struct iomt_aes128 *ctx, const uint8_t in[16], uint8_t out[16]);

/* nblocks independent blocks (ECB); in == out is allowed, other overlaps are
 * not. Batching lets both implementations work on blocks in parallel. */
void iomt_aes128_encrypt_blocks(const struct iomt_aes128 *ctx, const uint8_t *in, uint8_t *out,
				size_t nblocks);

void iomt_aes128_wipe(struct iomt_aes128 *ctx);

/* Tests and benchmarks: 0 = portable only, 1 = AES-NI when the CPU has it
 * (the default). Returns IOMT_EUNSUPP if 1 is asked for and AES-NI is absent,
 * IOMT_EINVAL for other values. Not thread-safe: call before starting threads. */
int iomt_aes_set_hw(int allow);

/* 1 if iomt_aes128_* currently run on AES-NI, else 0. */
int iomt_aes_hw_active(void);

#ifdef IOMT_X86
/* Internal: the AES-NI kernels in aes_aesni.c, called by aes.c only. */
/* rk: IOMT_AES128_ROUNDS + 1 round keys (a pointer, not an array parameter:
 * GCC 12 misreads 2-D array parameters under -Wstringop-overflow). */
void iomt_aes128_expand_aesni(const uint8_t *key, uint8_t (*rk)[IOMT_AES_BLOCK_LEN]);
void iomt_aes128_encrypt_blocks_aesni(const uint8_t rk[IOMT_AES128_ROUNDS + 1][16],
				      const uint8_t *in, uint8_t *out, size_t nblocks);
#endif

#endif
