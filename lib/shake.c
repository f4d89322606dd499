/* SPDX-License-Identifier: MIT */
/* SHAKE128 sponge (FIPS 202): rate 168 bytes, capacity 256 bits. */
#include <string.h>
#include "shake.h"
#include "bytes.h"
#include "ct.h"
#include "iomt_err.h"
#include "keccak_impl.h"
#include "keccak_lanes.h"

enum { RATE = IOMT_SHAKE128_RATE, RATE_WORDS = IOMT_SHAKE128_RATE / 8 };

void iomt_shake128_init(struct iomt_shake128 *s)
{
	memset(s, 0, sizeof(*s));
	s->dsbyte = 0x1f;
}

/* The context's lanes: as FIPS 202 has them, or on 32-bit CPUs
 * bit-interleaved (lib/keccak32.c), converted only where bytes go in or
 * come out, not at every permutation. */
#ifdef IOMT_KECCAK_32
static inline uint64_t lane_in(uint64_t x) { return iomt_keccak_ilv(x); }
static inline uint64_t lane_out(uint64_t x) { return iomt_keccak_deilv(x); }
static inline void permute(uint64_t *st) { iomt_keccak_f1600_32i(st); }
/* The whole-block paths below only go faster: the lane-at-a-time path gives
 * the same bytes, and a 32-bit firmware keeps the flash (tests/lib/test_shake.c
 * checks both builds against each other). */
enum { WHOLE_BLOCKS = 0 };
#else
enum { WHOLE_BLOCKS = 1 };
static inline uint64_t lane_in(uint64_t x) { return x; }
static inline uint64_t lane_out(uint64_t x) { return x; }
static inline void permute(uint64_t *st) { iomt_keccak_f1600(st); }
#endif

static inline void xor_byte(uint64_t *st, unsigned pos, uint8_t b)
{
	st[pos / 8] ^= lane_in((uint64_t)b << (8 * (pos % 8)));
}

static void xor_block(uint64_t *st, const uint8_t *p)
{
	for (unsigned i = 0; i < RATE_WORDS; i++)
		st[i] ^= lane_in(iomt_load_le64(p + 8 * i));
}

int iomt_shake128_absorb(struct iomt_shake128 *s, const void *in, size_t len)
{
	const uint8_t *p = in;

	if (s->squeezing)
		return IOMT_ESTATE;
	while (len) {
		if (WHOLE_BLOCKS && s->pos == 0 && len >= RATE) {
			xor_block(s->st, p);
			permute(s->st);
			p += RATE;
			len -= RATE;
			continue;
		}
		if (s->pos % 8 == 0 && len >= 8) {
			s->st[s->pos / 8] ^= lane_in(iomt_load_le64(p));
			s->pos += 8;
			p += 8;
			len -= 8;
		} else {
			xor_byte(s->st, s->pos++, *p++);
			len--;
		}
		/* Permute eagerly on a full block: an empty block never waits. */
		if (s->pos == RATE) {
			permute(s->st);
			s->pos = 0;
		}
	}
	return IOMT_OK;
}

static void finalize(struct iomt_shake128 *s)
{
	xor_byte(s->st, s->pos, s->dsbyte);
	xor_byte(s->st, RATE - 1, 0x80);
	permute(s->st);
	s->pos = 0;
	s->squeezing = 1;
}

void iomt_shake128_squeeze(struct iomt_shake128 *s, void *out, size_t len)
{
	uint8_t *o = out;

	if (!s->squeezing)
		finalize(s);
	while (len) {
		if (s->pos == RATE) {
			permute(s->st);
			s->pos = 0;
		}
		if (WHOLE_BLOCKS && s->pos == 0 && len >= RATE) {
			for (unsigned i = 0; i < RATE_WORDS; i++)
				iomt_store_le64(o + 8 * i, lane_out(s->st[i]));
			o += RATE;
			len -= RATE;
			s->pos = RATE;
			continue;
		}
		if (s->pos % 8 == 0 && len >= 8) {
			iomt_store_le64(o, lane_out(s->st[s->pos / 8]));
			s->pos += 8;
			o += 8;
			len -= 8;
			continue;
		}
		*o++ = (uint8_t)(lane_out(s->st[s->pos / 8]) >> (8 * (s->pos % 8)));
		s->pos++;
		len--;
	}
}

void iomt_shake128_pad_block(struct iomt_shake128 *s)
{
	if (s->pos && !s->squeezing) {
		permute(s->st);
		s->pos = 0;
	}
}

void iomt_shake128_wipe(struct iomt_shake128 *s)
{
	iomt_wipe(s, sizeof(*s));
}

/* ---- one-shot and batch: whole messages, word-wise sponge ----
 * Only where SIMD batches exist (IOMT_X86): elsewhere the batch width is
 * always 1 and the one-shot runs on the incremental context, so that a
 * firmware's stack never holds sponge_lanes' eight interleaved states. */
#ifdef IOMT_X86

/* XORs a message's final block (tail < RATE bytes) and the SHAKE padding
 * into lane l, word by word: no padded copy of the block is made. */
static void absorb_final(uint64_t *st, unsigned width, unsigned l,
			 const uint8_t *p, size_t tail)
{
	size_t w = 0, rem = tail % 8;
	uint64_t last = 0;

	for (; w < tail / 8; w++)
		st[w * width + l] ^= iomt_load_le64(p + 8 * w);
	for (size_t k = 0; k < rem; k++)
		last |= (uint64_t)p[8 * w + k] << (8 * k);
	st[w * width + l] ^= last ^ (uint64_t)0x1f << (8 * rem);
	st[(RATE_WORDS - 1) * width + l] ^= 0x8000000000000000ULL;
}

/* Hashes lanes in[0..g) (g <= width; width 1, 4 or 8) in interleaved states,
 * all lanes with the same number of absorbed blocks. */
static void sponge_lanes(const uint8_t *const in[], const size_t inlen[],
			 uint8_t *const out[], size_t outlen, unsigned g,
			 unsigned width, size_t blocks)
{
	uint64_t st[IOMT_KECCAK_WORDS * IOMT_KECCAK_BATCH_MAX];
	size_t words = (size_t)IOMT_KECCAK_WORDS * width;

	memset(st, 0, words * sizeof(uint64_t));
	for (size_t b = 0; b < blocks; b++) {
		for (unsigned l = 0; l < g; l++) {
			const uint8_t *p = inlen[l] ? in[l] + b * RATE : NULL;

			if (b + 1 < blocks)
				for (unsigned i = 0; i < RATE_WORDS; i++)
					st[i * width + l] ^= iomt_load_le64(p + 8 * i);
			else
				absorb_final(st, width, l, p, inlen[l] - b * RATE);
		}
		iomt_keccak_permute_n(st, width);
	}
	iomt_keccak_squeeze_lanes(st, width, g, out, outlen);
	iomt_wipe(st, words * sizeof(uint64_t));
}

void iomt_shake128(const void *in, size_t inlen, void *out, size_t outlen)
{
	const uint8_t *i = in;
	uint8_t *o = out;

	sponge_lanes(&i, &inlen, &o, outlen, 1, 1, inlen / RATE + 1);
}
#else
void iomt_shake128(const void *in, size_t inlen, void *out, size_t outlen)
{
	struct iomt_shake128 s;

	iomt_shake128_init(&s);
	(void)iomt_shake128_absorb(&s, in, inlen);
	iomt_shake128_squeeze(&s, out, outlen);
	iomt_shake128_wipe(&s);
}
#endif

static iomt_shake128_fn batch_override;

void iomt_shake128_batch_override(iomt_shake128_fn fn)
{
	batch_override = fn;
}

int iomt_shake128_batch(const uint8_t *const in[], const size_t inlen[],
			uint8_t *const out[], size_t outlen, size_t n)
{
	unsigned width = iomt_keccak_batch_width();
	size_t i = 0;

	if (n && (!in || !inlen || !out))
		return IOMT_EINVAL;
	for (size_t k = 0; k < n; k++)
		if ((!in[k] && inlen[k]) || (!out[k] && outlen))
			return IOMT_EINVAL;
	if (batch_override) {
		for (size_t k = 0; k < n; k++)
			batch_override(in[k], inlen[k], out[k], outlen);
		return IOMT_OK;
	}
	while (i < n) {
		size_t blocks = inlen[i] / RATE + 1;
		unsigned g = 1;

		/* Group consecutive messages needing the same number of blocks. */
		while (width > 1 && g < width && i + g < n && inlen[i + g] / RATE + 1 == blocks)
			g++;
		if (g == 1)
			iomt_shake128(in[i], inlen[i], out[i], outlen);
#ifdef IOMT_X86
		else
			sponge_lanes(in + i, inlen + i, out + i, outlen, g,
				     g <= 4 ? 4 : width, blocks);
#endif
		i += g;
	}
	return IOMT_OK;
}
