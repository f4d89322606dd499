/* SPDX-License-Identifier: MIT */
/*
 * KMAC128 (NIST SP 800-185) over many (key, message) pairs that share one
 * customisation string S, in the widest Keccak lanes available (8 with
 * AVX-512, 4 with AVX2, else one by one; lib/keccak.h).
 *
 * KMAC128(K, X, L, S) absorbs bytepad(encode_string("KMAC") ||
 * encode_string(S), 168) first: the same block(s) for every call with one
 * S. iomt_kmac128_pre_init absorbs them once; every batch call starts its
 * lanes from that state, so a short key and message cost two permutations
 * (key block, final block) instead of three.
 *
 * Hosts only (the gateway, tests): the firmware and the kernel module do
 * not link this file; they use lib/sp800_185.h.
 */
#ifndef IOMT_KMAC_BATCH_H
#define IOMT_KMAC_BATCH_H
#include <stddef.h>
#include <stdint.h>
#include "keccak.h"

/* The state after KMAC128's constant prefix for one S (no secret in it).
 * custom is kept by pointer (for the override below): it must outlive p. */
struct iomt_kmac128_pre {
	uint64_t st[IOMT_KECCAK_WORDS];		/* FIPS 202 lanes, at a block boundary */
	const uint8_t *custom;
	size_t customlen;
};

/* IOMT_EINVAL if custom is NULL with customlen > 0; IOMT_ESIZE if 8 *
 * customlen does not fit 64 bits. */
int iomt_kmac128_pre_init(struct iomt_kmac128_pre *p, const void *custom, size_t customlen);

/* out[i] = KMAC128(key[i], msg[i], 8 * outlen, S) for i < n, S that of pre.
 * Lengths may differ between items (items needing the same number of
 * blocks share lanes). IOMT_EINVAL for a NULL array, or a NULL pointer
 * with a non-zero length; IOMT_ESIZE for a length whose bit count does not
 * fit 64 bits; nothing is written then. */
int iomt_kmac128_batch(const struct iomt_kmac128_pre *pre, size_t n, const uint8_t *const key[],
		       const size_t keylen[], const uint8_t *const msg[], const size_t msglen[],
		       uint8_t *const out[], size_t outlen);

/* Benchmark baselines only (iomt-gwd --baseline): from now on
 * iomt_kmac128_batch computes item by item with fn (same arguments and
 * result as iomt_kmac128, e.g. OpenSSL's EVP_MAC KMAC-128); NULL restores
 * the batched lanes. Set it before any thread hashes. */
typedef int (*iomt_kmac128_fn)(const void *key, size_t keylen, const void *custom,
			       size_t customlen, const void *msg, size_t msglen, void *out,
			       size_t outlen);
void iomt_kmac128_batch_override(iomt_kmac128_fn fn);

#endif
