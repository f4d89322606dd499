/* SPDX-License-Identifier: MIT */
/*
 * Shamir secret sharing over GF(2^8), one polynomial per byte of
 * secret || check. Arithmetic is constant time: multiplication is
 * shift-and-masked-xor and inversion is exponentiation, with no table and no
 * branch on secret data. Share x coordinates are public, so loops and the
 * duplicate check may depend on them.
 */
#include <string.h>
#include "shamir.h"
#include "sp800_185.h"
#include "ct.h"
#include "iomt_err.h"

enum { SHAMIR_VALUE_MAX = IOMT_SHAMIR_MAX_SECRET + IOMT_SHAMIR_CHECK_LEN };

static const char check_custom[] = "iomt/shamir/check";

uint8_t iomt_gf256_mul(uint8_t a, uint8_t b)
{
	uint8_t r = 0;

	for (unsigned i = 0; i < 8; i++) {
		/* Add a when the low bit of b is set; the mask is 0x00 or 0xff. */
		r ^= a & (uint8_t)-(b & 1);
		/* a *= x, reducing by 0x11b when bit 7 falls off. */
		a = (uint8_t)((a << 1) ^ (0x1b & -(a >> 7)));
		b >>= 1;
	}
	return r;
}

uint8_t iomt_gf256_inv(uint8_t a)
{
	uint8_t r = a;

	/* The multiplicative group has order 255, so a^254 = a^-1 (and 0 -> 0).
	 * Each step makes r = a^(2^k - 1); six of them reach a^127. */
	for (unsigned k = 0; k < 6; k++)
		r = iomt_gf256_mul(iomt_gf256_mul(r, r), a);
	return iomt_gf256_mul(r, r);
}

size_t iomt_shamir_share_len(size_t secret_len)
{
	if (secret_len < 1 || secret_len > IOMT_SHAMIR_MAX_SECRET)
		return 0;
	return 1 + secret_len + IOMT_SHAMIR_CHECK_LEN;
}

size_t iomt_shamir_rand_len(size_t secret_len, unsigned t)
{
	if (secret_len < 1 || secret_len > IOMT_SHAMIR_MAX_SECRET ||
	    t < 1 || t > IOMT_SHAMIR_MAX_SHARES)
		return 0;
	return (t - 1) * (secret_len + IOMT_SHAMIR_CHECK_LEN);
}

static int check_value(const uint8_t *secret, size_t len,
		       uint8_t check[IOMT_SHAMIR_CHECK_LEN])
{
	/* An empty message, but a real pointer: nothing to absorb from NULL. */
	return iomt_kmac128(secret, len, check_custom, sizeof(check_custom) - 1,
			    "", 0, check, IOMT_SHAMIR_CHECK_LEN);
}

/*
 * One share: y[j] = f_j(x) = v[j] + sum_k c_k[j] x^k, where coefficient k of
 * byte j is rnd[(k - 1) * vlen + j]; Horner's rule from the top coefficient.
 */
static void eval_share(const uint8_t *v, size_t vlen, const uint8_t *rnd,
		       unsigned t, uint8_t x, uint8_t *share)
{
	share[0] = x;
	for (size_t j = 0; j < vlen; j++) {
		uint8_t y = 0;

		for (unsigned k = t - 1; k >= 1; k--)
			y = iomt_gf256_mul(y, x) ^ rnd[(size_t)(k - 1) * vlen + j];
		share[1 + j] = iomt_gf256_mul(y, x) ^ v[j];
	}
}

int iomt_shamir_split(const uint8_t *secret, size_t secret_len, unsigned t, unsigned n,
		      const uint8_t *rnd, size_t rnd_len, uint8_t *shares)
{
	uint8_t v[SHAMIR_VALUE_MAX];
	size_t vlen = secret_len + IOMT_SHAMIR_CHECK_LEN;
	int err;

	if (t < 1 || t > n || n > IOMT_SHAMIR_MAX_SHARES || !secret || !shares)
		return IOMT_EINVAL;
	if (secret_len < 1 || secret_len > IOMT_SHAMIR_MAX_SECRET)
		return IOMT_ESIZE;
	/* Exactly the coefficients needed: a short buffer would reuse or read past them. */
	if (rnd_len != iomt_shamir_rand_len(secret_len, t))
		return IOMT_ESIZE;
	if (!rnd && rnd_len)
		return IOMT_EINVAL;

	memcpy(v, secret, secret_len);
	err = check_value(v, secret_len, v + secret_len);
	if (err)
		goto out;
	for (unsigned i = 0; i < n; i++)
		eval_share(v, vlen, rnd, t, (uint8_t)(i + 1), shares + i * (1 + vlen));
out:
	iomt_wipe(v, sizeof(v));
	return err;
}

/* x = 0 would be f(0) itself, and a repeated x makes the interpolation singular. */
static int check_xs(const uint8_t *shares, size_t nshares, size_t share_len)
{
	uint8_t seen[256 / 8] = { 0 };

	for (size_t i = 0; i < nshares; i++) {
		uint8_t x = shares[i * share_len];

		if (x == 0 || (seen[x >> 3] >> (x & 7)) & 1)
			return IOMT_EMALFORMED;
		seen[x >> 3] |= (uint8_t)(1 << (x & 7));
	}
	return IOMT_OK;
}

/* Lagrange weight of share i at 0: prod_{j != i} x_j / (x_j - x_i), and
 * subtraction is xor in GF(2^8). */
static uint8_t lagrange_at_zero(const uint8_t *shares, size_t nshares,
				size_t share_len, size_t i)
{
	uint8_t xi = shares[i * share_len], num = 1, den = 1;

	for (size_t j = 0; j < nshares; j++) {
		uint8_t xj = shares[j * share_len];

		if (j == i)
			continue;
		num = iomt_gf256_mul(num, xj);
		den = iomt_gf256_mul(den, xj ^ xi);
	}
	return iomt_gf256_mul(num, iomt_gf256_inv(den));
}

/* v = sum_i w_i * y_i over every share; v must start zeroed. */
static void interpolate(const uint8_t *shares, size_t nshares, size_t share_len,
			uint8_t *v)
{
	for (size_t i = 0; i < nshares; i++) {
		const uint8_t *y = shares + i * share_len + 1;
		uint8_t w = lagrange_at_zero(shares, nshares, share_len, i);

		for (size_t j = 0; j < share_len - 1; j++)
			v[j] ^= iomt_gf256_mul(w, y[j]);
	}
}

int iomt_shamir_combine(const uint8_t *shares, size_t nshares, size_t share_len,
			uint8_t *secret)
{
	uint8_t v[SHAMIR_VALUE_MAX] = { 0 }, check[IOMT_SHAMIR_CHECK_LEN];
	size_t secret_len;
	int err;

	if (share_len < 1 + 1 + IOMT_SHAMIR_CHECK_LEN ||
	    share_len > 1 + SHAMIR_VALUE_MAX)
		return IOMT_ESIZE;
	if (!secret)
		return IOMT_EINVAL;
	secret_len = share_len - 1 - IOMT_SHAMIR_CHECK_LEN;

	if (!shares || nshares > IOMT_SHAMIR_MAX_SHARES) {
		err = IOMT_EINVAL;	/* more than 255 shares cannot have distinct x */
		goto out;
	}
	if (nshares == 0) {
		err = IOMT_ESHARES;
		goto out;
	}
	err = check_xs(shares, nshares, share_len);
	if (err)
		goto out;

	interpolate(shares, nshares, share_len, v);
	err = check_value(v, secret_len, check);
	if (err)
		goto out;
	/* Branch only on the verdict, which the caller learns anyway. */
	if (!iomt_ct_eq(check, v + secret_len, IOMT_SHAMIR_CHECK_LEN)) {
		err = IOMT_ESHARES;
		goto out;
	}
	memcpy(secret, v, secret_len);
out:
	if (err)
		iomt_wipe(secret, secret_len);
	iomt_wipe(v, sizeof(v));
	iomt_wipe(check, sizeof(check));
	return err;
}
