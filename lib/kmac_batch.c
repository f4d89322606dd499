/* SPDX-License-Identifier: MIT */
/* Batched KMAC128 from a cached customisation prefix (see kmac_batch.h). */
#include <string.h>
#include "kmac_batch.h"
#include "bytes.h"
#include "ct.h"
#include "iomt_err.h"
#include "keccak_impl.h"
#include "keccak_lanes.h"
#include "sp800_185.h"
#include "sp800_185_enc.h"

enum {
	RATE = IOMT_SHAKE128_RATE,
	RATE_WORDS = IOMT_SHAKE128_RATE / 8,
	ENC_MAX = IOMT_SP800_185_ENC_MAX,
	HDR_MAX = 2 + ENC_MAX,		/* left_encode(168) || left_encode(8 * keylen) */
};

static iomt_kmac128_fn kmac_override;

void iomt_kmac128_batch_override(iomt_kmac128_fn fn)
{
	kmac_override = fn;
}

int iomt_kmac128_pre_init(struct iomt_kmac128_pre *p, const void *custom, size_t customlen)
{
	struct iomt_shake128 s;
	int err;

	if (!p)
		return IOMT_EINVAL;
	err = iomt_cshake128_init(&s, "KMAC", 4, custom, customlen);
	if (!err) {
		/* The context's lanes are bit-interleaved on 32-bit CPUs: keep
		 * FIPS 202 lanes, as the batched permutations take them. */
		for (unsigned i = 0; i < IOMT_KECCAK_WORDS; i++)
#ifdef IOMT_KECCAK_32
			p->st[i] = iomt_keccak_deilv(s.st[i]);
#else
			p->st[i] = s.st[i];
#endif
		p->custom = custom;
		p->customlen = customlen;
	}
	iomt_shake128_wipe(&s);
	return err;
}

/*
 * What one item absorbs after the prefix, as a byte stream of whole blocks:
 *   [0, hlen)              left_encode(168) || left_encode(8 * keylen)
 *   [hlen, hlen + keylen)  key, then zeros to a block boundary (bytepad)
 *   [moff, moff + msglen)  msg
 *   then right_encode(8 * outlen), then the cSHAKE padding 0x04 .. 0x80.
 */
struct item {
	const uint8_t *key, *msg;
	size_t keylen, msglen, moff, end, blocks;
	uint8_t hdr[HDR_MAX], tail[ENC_MAX];
	unsigned hlen, tlen;
};

static void item_init(struct item *it, const uint8_t *key, size_t keylen, const uint8_t *msg,
		      size_t msglen, size_t outlen)
{
	it->key = key;
	it->keylen = keylen;
	it->msg = msg;
	it->msglen = msglen;
	it->hlen = iomt_sp800_185_encode(it->hdr, RATE, 0);
	it->hlen += iomt_sp800_185_encode(it->hdr + it->hlen, (uint64_t)keylen * 8, 0);
	it->moff = (it->hlen + keylen + RATE - 1) / RATE * RATE;
	it->tlen = iomt_sp800_185_encode(it->tail, (uint64_t)outlen * 8, 1);
	it->end = it->moff + msglen + it->tlen;
	it->blocks = it->end / RATE + 1;
}

/* The part of [at, at + len) that falls in the block starting at b0. */
static void put_seg(uint8_t blk[RATE], size_t b0, size_t at, const uint8_t *p, size_t len)
{
	size_t lo = at > b0 ? at : b0;
	size_t hi = at + len < b0 + RATE ? at + len : b0 + RATE;

	if (lo < hi)
		memcpy(blk + (lo - b0), p + (lo - at), hi - lo);
}

/* Block b of an item's stream into blk, the padding's first byte included
 * on the last block but not its final bit (the caller's). Returns how many
 * leading words of blk it wrote: the rest of the block is zero (a short
 * key's block is mostly bytepad's zeros). */
static unsigned item_block(const struct item *it, size_t b, uint8_t blk[RATE])
{
	size_t b0 = b * RATE;
	/* Key blocks end with the key; the message's last with 0x04. */
	size_t stop = b0 < it->moff ? it->hlen + it->keylen : it->end + 1;
	size_t used = stop - b0 < RATE ? stop - b0 : RATE;
	unsigned words = (unsigned)((used + 7) / 8);

	memset(blk, 0, words * 8u);
	put_seg(blk, b0, 0, it->hdr, it->hlen);
	put_seg(blk, b0, it->hlen, it->key, it->keylen);
	put_seg(blk, b0, it->moff, it->msg, it->msglen);
	put_seg(blk, b0, it->moff + it->msglen, it->tail, it->tlen);
	if (b + 1 == it->blocks)
		blk[it->end - b0] ^= 0x04;
	return words;
}

/* Items it[0..g) (g <= width; width 1, 4 or 8), all with the same number
 * of blocks, in interleaved states started from the prefix. */
static void kmac_lanes(const struct iomt_kmac128_pre *pre, const struct item *it,
		       uint8_t *const out[], size_t outlen, unsigned g, unsigned width)
{
	uint64_t st[IOMT_KECCAK_WORDS * IOMT_KECCAK_BATCH_MAX];
	uint8_t blk[RATE];
	size_t blocks = it[0].blocks;

	for (unsigned w = 0; w < IOMT_KECCAK_WORDS; w++)
		for (unsigned l = 0; l < width; l++)
			st[w * width + l] = pre->st[w];
	for (size_t b = 0; b < blocks; b++) {
		for (unsigned l = 0; l < g; l++) {
			unsigned words = item_block(&it[l], b, blk);

			for (unsigned i = 0; i < words; i++)
				st[i * width + l] ^= iomt_load_le64(blk + 8 * i);
			if (b + 1 == blocks)
				st[(RATE_WORDS - 1) * width + l] ^= 0x8000000000000000ULL;
		}
		iomt_keccak_permute_n(st, width);
	}
	iomt_keccak_squeeze_lanes(st, width, g, out, outlen);
	iomt_wipe(st, sizeof(uint64_t) * IOMT_KECCAK_WORDS * width);
	iomt_wipe(blk, sizeof(blk));
}

static int check_args(const struct iomt_kmac128_pre *pre, size_t n, const uint8_t *const key[],
		      const size_t keylen[], const uint8_t *const msg[], const size_t msglen[],
		      uint8_t *const out[], size_t outlen)
{
	if (!pre || (n && (!key || !keylen || !msg || !msglen || !out)))
		return IOMT_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if ((keylen[i] && !key[i]) || (msglen[i] && !msg[i]) || (outlen && !out[i]))
			return IOMT_EINVAL;
		if (iomt_sp800_185_bits_overflow(keylen[i]) ||
		    iomt_sp800_185_bits_overflow(msglen[i]))
			return IOMT_ESIZE;
	}
	return iomt_sp800_185_bits_overflow(outlen) ? IOMT_ESIZE : IOMT_OK;
}

int iomt_kmac128_batch(const struct iomt_kmac128_pre *pre, size_t n, const uint8_t *const key[],
		       const size_t keylen[], const uint8_t *const msg[], const size_t msglen[],
		       uint8_t *const out[], size_t outlen)
{
	struct item it[IOMT_KECCAK_BATCH_MAX];
	unsigned width = iomt_keccak_batch_width();
	size_t i = 0;
	int err = check_args(pre, n, key, keylen, msg, msglen, out, outlen);

	if (err)
		return err;
	if (kmac_override) {
		for (size_t k = 0; k < n && !err; k++)
			err = kmac_override(key[k], keylen[k], pre->custom, pre->customlen, msg[k],
					    msglen[k], out[k], outlen);
		return err;
	}
	while (i < n) {
		unsigned g = 1;

		item_init(&it[0], key[i], keylen[i], msg[i], msglen[i], outlen);
		/* Group consecutive items needing the same number of blocks. */
		while (width > 1 && g < width && i + g < n) {
			item_init(&it[g], key[i + g], keylen[i + g], msg[i + g], msglen[i + g],
				  outlen);
			if (it[g].blocks != it[0].blocks)
				break;
			g++;
		}
		kmac_lanes(pre, it, out + i, outlen, g, g == 1 ? 1 : g <= 4 ? 4 : width);
		i += g;
	}
	return IOMT_OK;
}
