/* SPDX-License-Identifier: MIT */
/*
 * Shamir secret sharing over GF(2^8) (AES polynomial x^8 + x^4 + x^3 + x + 1),
 * t-of-n with 1 <= t <= n <= 255, in constant time.
 *
 * The value shared is secret || check, with check the first
 * IOMT_SHAMIR_CHECK_LEN bytes of KMAC128(key = secret,
 * custom = "iomt/shamir/check", msg = empty), so a wrong, short, mixed or
 * corrupted share set is detected instead of yielding a wrong secret.
 */
#ifndef IOMT_SHAMIR_H
#define IOMT_SHAMIR_H
#include <stddef.h>
#include <stdint.h>

enum {
	IOMT_SHAMIR_CHECK_LEN = 8,
	IOMT_SHAMIR_MAX_SECRET = 64,
	IOMT_SHAMIR_MAX_SHARES = 255,
};

/* Share layout: x (1 byte, 1..255) || y (secret_len + IOMT_SHAMIR_CHECK_LEN bytes). */
size_t iomt_shamir_share_len(size_t secret_len);

/* Bytes of randomness split needs: (t - 1) * (secret_len + IOMT_SHAMIR_CHECK_LEN). */
size_t iomt_shamir_rand_len(size_t secret_len, unsigned t);

/*
 * Splits secret into n shares, any t of which recover it; share i (0-based)
 * has x = i + 1. rnd must be exactly iomt_shamir_rand_len() uniformly random
 * bytes: they become the polynomial coefficients, so the caller wipes them.
 * IOMT_EINVAL for t or n out of range or a NULL pointer, IOMT_ESIZE for
 * secret_len outside 1..IOMT_SHAMIR_MAX_SECRET or a wrong rnd_len.
 */
int iomt_shamir_split(const uint8_t *secret, size_t secret_len, unsigned t, unsigned n,
		      const uint8_t *rnd, size_t rnd_len, uint8_t *shares);

/*
 * Recovers the secret (share_len - 1 - IOMT_SHAMIR_CHECK_LEN bytes) from
 * nshares shares laid out back to back. Interpolates at 0 through ALL of
 * them, so an inconsistent extra share is caught too. IOMT_ESIZE for a
 * share_len that fits no secret, IOMT_EINVAL for a NULL pointer or more than
 * 255 shares, IOMT_EMALFORMED for a zero or duplicate x, IOMT_ESHARES for no
 * shares or a check value that does not verify. On every error after
 * share_len is known, secret is wiped.
 */
int iomt_shamir_combine(const uint8_t *shares, size_t nshares, size_t share_len,
			uint8_t *secret);

/* GF(2^8) arithmetic, constant time; exported for tests. inv(0) = 0. */
uint8_t iomt_gf256_mul(uint8_t a, uint8_t b);
uint8_t iomt_gf256_inv(uint8_t a);

#endif
