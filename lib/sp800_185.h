/* SPDX-License-Identifier: MIT */
/* cSHAKE128 and KMAC128 (NIST SP 800-185). */
#ifndef IOMT_SP800_185_H
#define IOMT_SP800_185_H
#include <stddef.h>
#include <stdint.h>
#include "shake.h"

/* cSHAKE128(X, L, N, S): function name N and customisation S; with both empty
 * it is SHAKE128. Continue with iomt_shake128_absorb/_squeeze. */
int iomt_cshake128_init(struct iomt_shake128 *s, const void *n, size_t nlen,
			const void *custom, size_t customlen);

/* KMAC128(K, X, L, S). init + update... + final (fixed output length L, which
 * is bound into the result) or final_xof (KMACXOF128, L = 0 encoded). */
int iomt_kmac128_init(struct iomt_shake128 *s, const void *key, size_t keylen,
		      const void *custom, size_t customlen);
int iomt_kmac128_update(struct iomt_shake128 *s, const void *msg, size_t len);
int iomt_kmac128_final(struct iomt_shake128 *s, void *out, size_t outlen);
int iomt_kmac128_final_xof(struct iomt_shake128 *s, void *out, size_t outlen);

/* One-shot KMAC128; the context is wiped. */
int iomt_kmac128(const void *key, size_t keylen, const void *custom, size_t customlen,
		 const void *msg, size_t msglen, void *out, size_t outlen);

#endif
