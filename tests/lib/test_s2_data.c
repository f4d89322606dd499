/* SPDX-License-Identifier: MIT */
/*
 * S2_DATA (docs/PROTOCOL.md §8): the §8.4 vector, recomputed here with
 * OpenSSL (KMAC-128, AES-128-CCM) from its definition and compared byte for
 * byte; round trips at the minimum and maximum sizes; every size around
 * them; every bit flip refused without moving the window; the replay
 * window; the sender's limits (counter, time, clock going back) and bad
 * samples, none of which uses up a counter.
 */
#include <openssl/evp.h>

#include "harness.h"
#include "ref.h"
#include "testutil.h"
#include "bytes.h"
#include "iomt_err.h"
#include "s2_data.h"
#include "wire.h"

/* The vector: SK = 00..0f, agreement at device time 1000 ms, first frame. */
static const struct iomt_s2_sample vec_samples[3] = {
	{ .kind = 1, .value = 812, .t_ms = 1700000000000ULL },
	{ .kind = 1, .value = 790, .t_ms = 1700000000812ULL },
	{ .kind = 2, .value = 975, .t_ms = 1700000001000ULL },
};
static const char vec_handle[] = "a10d95d25d5740f3";
static const char vec_pt[] = "0000018bcfe56800 01032c00000000 0103160000032c 0203cf000003e8";
static const char vec_frame[] =
	"01400035"
	"a10d95d25d5740f3" "0000000000000001"
	"e04cad527d0edb965e8805372250fa967546b0760d6f1f33dab1d4be3d"
	"eee0a198715b5293";

static void vec_sk(uint8_t sk[16])
{
	for (int i = 0; i < 16; i++)
		sk[i] = (uint8_t)i;
}

static void ossl_ccm8(const uint8_t key[16], const uint8_t nonce[13], const uint8_t *aad,
		      size_t alen, const uint8_t *pt, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, ok;

	ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_ccm(), NULL, NULL, NULL) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 13, NULL) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 8, NULL) == 1 &&
	     EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &n, NULL, (int)len) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &n, aad, (int)alen) == 1 &&
	     EVP_EncryptUpdate(c, out, &n, pt, (int)len) == 1 &&
	     EVP_EncryptFinal_ex(c, out + len, &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 8, out + len) == 1;
	EVP_CIPHER_CTX_free(c);
	ASSERT_TRUE(ok);
}

/* The frame of the vector, built from §8's definition with OpenSSL. */
static size_t ossl_frame(uint8_t *out)
{
	uint8_t sk[16], handle[8], d[21], nonce[13], b[8];
	struct cat pt = { .n = 0 }, aad = { .n = 0 };
	size_t plen;

	vec_sk(sk);
	ossl_kmac(sk, 16, "iomt/s2/handle", NULL, 0, handle, 8);
	ossl_kmac(sk, 16, "iomt/s2/data-key", NULL, 0, d, 21);
	iomt_store_be64(b, vec_samples[0].t_ms);
	cat_put(&pt, b, 8);
	for (int i = 0; i < 3; i++) {
		uint8_t s[7];

		s[0] = vec_samples[i].kind;
		iomt_store_be16(s + 1, vec_samples[i].value);
		iomt_store_be32(s + 3, (uint32_t)(vec_samples[i].t_ms - vec_samples[0].t_ms));
		cat_put(&pt, s, 7);
	}
	{
		uint8_t doc[64];

		ASSERT_EQ(tu_hex(vec_pt, doc, sizeof(doc)), pt.n);
		ASSERT_MEMEQ(pt.b, doc, pt.n);
	}
	plen = 16 + pt.n + 8;
	out[0] = 1;
	out[1] = 0x40;
	iomt_store_be16(out + 2, (uint16_t)plen);
	memcpy(out + 4, handle, 8);
	iomt_store_be64(out + 12, 1);
	cat_put(&aad, out, 20);
	memcpy(nonce, d + 16, 5);
	iomt_store_be64(nonce + 5, 1);
	ossl_ccm8(d, nonce, aad.b, aad.n, pt.b, pt.n, out + 20);
	return 4 + plen;
}

static void tx_rx(struct iomt_s2_data_tx *tx, struct iomt_s2_data_rx *rx)
{
	uint8_t sk[16];

	vec_sk(sk);
	ASSERT_EQ(iomt_s2_data_tx_init(tx, sk, 1000), IOMT_OK);
	ASSERT_EQ(iomt_s2_data_rx_init(rx, sk), IOMT_OK);
}

static size_t seal_n(struct iomt_s2_data_tx *tx, size_t n, uint8_t *out)
{
	struct iomt_s2_sample s[IOMT_S2_DATA_SAMPLES_MAX];
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		s[i] = (struct iomt_s2_sample){ .kind = (uint8_t)(1 + i % 2),
						.value = (uint16_t)(700 + i), .t_ms = 5000 + 10 * i };
	ASSERT_EQ(iomt_s2_data_seal(tx, 2000, s, n, out, 1500, &len), IOMT_OK);
	return len;
}

TEST(vector_matches_openssl_and_the_docs)
{
	struct iomt_s2_data_tx tx;
	struct iomt_s2_data_rx rx;
	struct iomt_s2_sample got[8];
	uint8_t mine[64], ref[64], doc[64], h[8], hd[8];
	size_t len = 0, rlen, dlen, n = 0;
	char hexbuf[160];

	tx_rx(&tx, &rx);
	ASSERT_EQ(iomt_s2_data_seal(&tx, 1000, vec_samples, 3, mine, sizeof(mine), &len), IOMT_OK);
	rlen = ossl_frame(ref);
	for (size_t i = 0; i < len; i++)
		snprintf(hexbuf + 2 * i, 3, "%02x", mine[i]);
	TH_LOG("frame %s", hexbuf);
	ASSERT_EQ(len, rlen);
	ASSERT_MEMEQ(mine, ref, len);
	dlen = tu_hex(vec_frame, doc, sizeof(doc));
	ASSERT_EQ(dlen, len);
	ASSERT_MEMEQ(mine, doc, len);
	ASSERT_EQ(len, (size_t)(4 + 16 + 8 + 3 * 7 + 8));
	ASSERT_EQ(tu_hex(vec_handle, hd, sizeof(hd)), (size_t)8);
	ASSERT_EQ(iomt_s2_data_handle((const uint8_t[16]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
							   12, 13, 14, 15 }, h), IOMT_OK);
	ASSERT_MEMEQ(h, hd, 8);
	ASSERT_MEMEQ(rx.k.handle, hd, 8);
	ASSERT_EQ(iomt_s2_data_open(&rx, mine + 4, len - 4, got, 8, &n), IOMT_OK);
	ASSERT_EQ(n, (size_t)3);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(got[i].kind, vec_samples[i].kind);
		EXPECT_EQ(got[i].value, vec_samples[i].value);
		EXPECT_EQ(got[i].t_ms, vec_samples[i].t_ms);
	}
}

TEST(sizes_fit_a_datagram_and_the_wire_takes_the_type)
{
	uint8_t frame[1500], t;
	const uint8_t *p;
	size_t plen;
	struct iomt_s2_data_tx tx;
	struct iomt_s2_data_rx rx;

	ASSERT_EQ(IOMT_S2_DATA_MIN_LEN, 39);
	ASSERT_EQ(IOMT_S2_DATA_MAX_LEN, 1432);
	/* 1500 - IPv6 40 - UDP 8 */
	ASSERT_LE(IOMT_WIRE_HDR_LEN + IOMT_S2_DATA_MAX_LEN, 1452);
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_S2_DATA), (size_t)0);
	tx_rx(&tx, &rx);
	ASSERT_EQ(seal_n(&tx, IOMT_S2_DATA_SAMPLES_MAX, frame), (size_t)(4 + 1432));
	ASSERT_EQ(iomt_wire_parse(frame, 4 + 1432, &t, &p, &plen), IOMT_OK);
	ASSERT_EQ(t, IOMT_MSG_S2_DATA);
	ASSERT_EQ(plen, (size_t)1432);
}

TEST(peek_takes_exactly_whole_sample_sizes)
{
	uint8_t buf[1500] = { 0 }, h[8];
	uint64_t ctr = 0;
	unsigned ok = 0;

	for (size_t len = 0; len <= 1500; len++) {
		int r = iomt_s2_data_peek(buf, len, h, &ctr);
		int want = len >= 39 && len <= 1432 && (len - 32) % 7 == 0;

		ASSERT_EQ(r, want ? IOMT_OK : IOMT_ESIZE);
		ok += want;
	}
	ASSERT_EQ(ok, 200u);
	iomt_store_be64(buf + 8, 0x0102030405060708ULL);
	memset(buf, 0xab, 8);
	ASSERT_EQ(iomt_s2_data_peek(buf, 39, h, &ctr), IOMT_OK);
	ASSERT_EQ(ctr, 0x0102030405060708ULL);
	ASSERT_EQ(h[7], 0xab);
	ASSERT_EQ(iomt_s2_data_peek(NULL, 39, h, &ctr), IOMT_EINVAL);
}

TEST(round_trip_min_and_max)
{
	static const size_t counts[] = { 1, 2, 57, IOMT_S2_DATA_SAMPLES_MAX };
	struct iomt_s2_sample got[IOMT_S2_DATA_SAMPLES_MAX];
	uint8_t frame[1500];
	struct iomt_s2_data_tx tx;
	struct iomt_s2_data_rx rx;

	tx_rx(&tx, &rx);
	for (size_t c = 0; c < 4; c++) {
		size_t len = seal_n(&tx, counts[c], frame), n = 0;

		ASSERT_EQ(len, 4 + 32 + 7 * counts[c]);
		ASSERT_EQ(iomt_load_be64(frame + 12), (uint64_t)(c + 1));
		ASSERT_EQ(iomt_s2_data_open(&rx, frame + 4, len - 4, got, counts[c], &n), IOMT_OK);
		ASSERT_EQ(n, counts[c]);
		ASSERT_EQ(got[n - 1].value, 700 + n - 1);
		ASSERT_EQ(got[n - 1].t_ms, 5000 + 10 * (n - 1));
		ASSERT_EQ(got[n - 1].kind, (uint8_t)(1 + (n - 1) % 2));
	}
	/* A caller's array too small for the frame: refused, window unchanged. */
	{
		size_t len = seal_n(&tx, 3, frame), n = 0;

		ASSERT_EQ(iomt_s2_data_open(&rx, frame + 4, len - 4, got, 2, &n), IOMT_EINVAL);
		ASSERT_EQ(iomt_s2_data_open(&rx, frame + 4, len - 4, got, 3, &n), IOMT_OK);
	}
}

TEST(every_bit_flip_is_refused_and_the_window_does_not_move)
{
	struct iomt_s2_sample got[4];
	uint8_t frame[64], bad[64];
	struct iomt_s2_data_tx tx;
	struct iomt_s2_data_rx rx;
	size_t len, n = 0;

	tx_rx(&tx, &rx);
	len = seal_n(&tx, 2, frame);
	for (size_t i = 4; i < len; i++)
		for (int b = 0; b < 8; b++) {
			int r;

			memcpy(bad, frame, len);
			bad[i] ^= (uint8_t)(1 << b);
			r = iomt_s2_data_open(&rx, bad + 4, len - 4, got, 4, &n);
			if (i < 12)
				ASSERT_EQ(r, IOMT_EINVAL);	/* another handle */
			else
				ASSERT_TRUE(r == IOMT_EAUTH || r == IOMT_EMALFORMED);
			ASSERT_EQ(rx.w.top, 0u);
		}
	/* A truncated or extended payload is a size error. */
	ASSERT_EQ(iomt_s2_data_open(&rx, frame + 4, len - 5, got, 4, &n), IOMT_ESIZE);
	ASSERT_EQ(iomt_s2_data_open(&rx, frame + 4, len - 4 + 7, got, 4, &n), IOMT_EAUTH);
	ASSERT_EQ(iomt_s2_data_open(&rx, frame + 4, len - 4, got, 4, &n), IOMT_OK);
	ASSERT_EQ(rx.w.top, 1u);
}

TEST(another_session_key_is_refused)
{
	struct iomt_s2_sample got[4];
	uint8_t frame[64], sk2[16];
	struct iomt_s2_data_tx tx;
	struct iomt_s2_data_rx rx, rx2;
	size_t len, n = 0;

	tx_rx(&tx, &rx);
	len = seal_n(&tx, 2, frame);
	vec_sk(sk2);
	sk2[15] ^= 1;
	ASSERT_EQ(iomt_s2_data_rx_init(&rx2, sk2), IOMT_OK);
	ASSERT_EQ(iomt_s2_data_open(&rx2, frame + 4, len - 4, got, 4, &n), IOMT_EINVAL);
	/* Same handle, other key: the tag. */
	memcpy(rx2.k.handle, rx.k.handle, 8);
	ASSERT_EQ(iomt_s2_data_open(&rx2, frame + 4, len - 4, got, 4, &n), IOMT_EAUTH);
	iomt_s2_data_rx_wipe(&rx2);
	ASSERT_TRUE(rx2.k.key[0] == 0 && rx2.w.top == 0);
}

TEST(replay_and_reordering)
{
	struct iomt_s2_sample got[4];
	uint8_t f[80][64];
	size_t len[80], n = 0;
	struct iomt_s2_data_tx tx;
	struct iomt_s2_data_rx rx;

	tx_rx(&tx, &rx);
	for (int i = 0; i < 80; i++)
		len[i] = seal_n(&tx, 1, f[i]);
	/* 70 first, then 10..69 in reverse (all within 64 of 70 from 7 on) */
	ASSERT_EQ(iomt_s2_data_open(&rx, f[69] + 4, len[69] - 4, got, 4, &n), IOMT_OK);
	ASSERT_EQ(iomt_s2_data_open(&rx, f[69] + 4, len[69] - 4, got, 4, &n), IOMT_ESTATE);
	for (int i = 68; i >= 6; i--)
		ASSERT_EQ(iomt_s2_data_open(&rx, f[i] + 4, len[i] - 4, got, 4, &n), IOMT_OK);
	/* counter 6 is 64 behind 70: outside the window */
	ASSERT_EQ(iomt_s2_data_open(&rx, f[5] + 4, len[5] - 4, got, 4, &n), IOMT_ESTATE);
	for (int i = 68; i >= 6; i -= 7)
		ASSERT_EQ(iomt_s2_data_open(&rx, f[i] + 4, len[i] - 4, got, 4, &n), IOMT_ESTATE);
	ASSERT_EQ(iomt_s2_data_open(&rx, f[79] + 4, len[79] - 4, got, 4, &n), IOMT_OK);
	ASSERT_EQ(iomt_s2_data_open(&rx, f[70] + 4, len[70] - 4, got, 4, &n), IOMT_OK);
	ASSERT_EQ(rx.w.top, 80u);
}

TEST(window_unit)
{
	struct iomt_s2_replay w;

	iomt_s2_replay_init(&w);
	ASSERT_EQ(iomt_s2_replay_check(&w, 0), IOMT_EMALFORMED);
	ASSERT_EQ(iomt_s2_replay_check(&w, IOMT_S2_DATA_COUNTER_MAX + 1), IOMT_EMALFORMED);
	ASSERT_EQ(iomt_s2_replay_check(&w, IOMT_S2_DATA_COUNTER_MAX), IOMT_OK);
	ASSERT_EQ(iomt_s2_replay_check(&w, 1), IOMT_OK);
	iomt_s2_replay_commit(&w, 1000);
	ASSERT_EQ(iomt_s2_replay_check(&w, 1000), IOMT_ESTATE);
	ASSERT_EQ(iomt_s2_replay_check(&w, 937), IOMT_OK);
	ASSERT_EQ(iomt_s2_replay_check(&w, 936), IOMT_ESTATE);
	iomt_s2_replay_commit(&w, 937);
	ASSERT_EQ(iomt_s2_replay_check(&w, 937), IOMT_ESTATE);
	/* a jump of exactly the window keeps nothing but the new top */
	iomt_s2_replay_commit(&w, 1064);
	ASSERT_EQ(w.bits, 1u);
	ASSERT_EQ(iomt_s2_replay_check(&w, 1001), IOMT_OK);
	ASSERT_EQ(iomt_s2_replay_check(&w, 1000), IOMT_ESTATE);
	/* a jump of 63 keeps the old top as the last bit */
	iomt_s2_replay_commit(&w, 1127);
	ASSERT_EQ(iomt_s2_replay_check(&w, 1064), IOMT_ESTATE);
	ASSERT_EQ(iomt_s2_replay_check(&w, 1065), IOMT_OK);
	/* committing below the window changes nothing */
	iomt_s2_replay_commit(&w, 5);
	ASSERT_EQ(w.top, 1127u);
}

TEST(sender_limits_force_a_rekey_and_use_no_counter)
{
	struct iomt_s2_sample s[2] = { { .kind = 1, .value = 800, .t_ms = 10 },
				       { .kind = 1, .value = 800, .t_ms = 20 } };
	struct iomt_s2_data_tx tx;
	struct iomt_s2_data_rx rx;
	uint8_t out[128], small[49];
	size_t len = 0;

	tx_rx(&tx, &rx);
	ASSERT_EQ(iomt_s2_data_tx_expired(&tx, 1000), 0);
	/* time: the limit is reached exactly REKEY_AFTER after the agreement */
	ASSERT_EQ(iomt_s2_data_seal(&tx, 1000 + IOMT_S2_DATA_REKEY_AFTER_MS - 1, s, 2, out,
				    sizeof(out), &len), IOMT_OK);
	ASSERT_EQ(iomt_s2_data_seal(&tx, 1000 + IOMT_S2_DATA_REKEY_AFTER_MS, s, 2, out,
				    sizeof(out), &len), IOMT_ESTATE);
	ASSERT_EQ(iomt_s2_data_tx_expired(&tx, 1000 + IOMT_S2_DATA_REKEY_AFTER_MS), 1);
	/* a clock that went back is not trusted either */
	ASSERT_EQ(iomt_s2_data_seal(&tx, 999, s, 2, out, sizeof(out), &len), IOMT_ESTATE);
	ASSERT_EQ(tx.counter, 1u);
	/* bad arguments: nothing used up */
	ASSERT_EQ(iomt_s2_data_seal(&tx, 1000, s, 0, out, sizeof(out), &len), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_data_seal(&tx, 1000, s, IOMT_S2_DATA_SAMPLES_MAX + 1, out, sizeof(out),
				    &len), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_data_seal(&tx, 1000, s, 2, small, sizeof(small), &len), IOMT_ESIZE);
	ASSERT_EQ(iomt_s2_data_seal(&tx, 1000, s, 2, out, 50, &len), IOMT_OK);
	s[1].kind = 0;
	ASSERT_EQ(iomt_s2_data_seal(&tx, 1000, s, 2, out, sizeof(out), &len), IOMT_EINVAL);
	s[1].kind = 2;
	s[1].t_ms = 9;	/* before the first sample */
	ASSERT_EQ(iomt_s2_data_seal(&tx, 1000, s, 2, out, sizeof(out), &len), IOMT_EINVAL);
	s[1].t_ms = 10 + 0x100000000ULL;	/* dt does not fit 32 bits */
	ASSERT_EQ(iomt_s2_data_seal(&tx, 1000, s, 2, out, sizeof(out), &len), IOMT_EINVAL);
	s[1].t_ms = 10 + 0xffffffffULL;
	ASSERT_EQ(iomt_s2_data_seal(&tx, 1000, s, 2, out, sizeof(out), &len), IOMT_OK);
	ASSERT_EQ(tx.counter, 3u);
	/* counter: the last allowed one, then stop */
	tx.counter = IOMT_S2_DATA_COUNTER_MAX - 1;
	ASSERT_EQ(iomt_s2_data_seal(&tx, 1000, s, 2, out, sizeof(out), &len), IOMT_OK);
	ASSERT_EQ(iomt_load_be64(out + 12), IOMT_S2_DATA_COUNTER_MAX);
	ASSERT_EQ(iomt_s2_data_seal(&tx, 1000, s, 2, out, sizeof(out), &len), IOMT_ESTATE);
	iomt_s2_data_tx_wipe(&tx);
	ASSERT_EQ(iomt_s2_data_seal(&tx, 1000, s, 2, out, sizeof(out), &len), IOMT_ESTATE);
}

TEST(authenticated_kind_zero_is_malformed)
{
	/* Only a broken sender seals kind 0: build it by hand. */
	struct iomt_s2_sample got[4];
	uint8_t sk[16], frame[64], nonce[13], pt[15] = { 0 };
	struct iomt_s2_data_rx rx;
	size_t n = 0;

	vec_sk(sk);
	ASSERT_EQ(iomt_s2_data_rx_init(&rx, sk), IOMT_OK);
	frame[0] = 1;
	frame[1] = 0x40;
	iomt_store_be16(frame + 2, 39);
	memcpy(frame + 4, rx.k.handle, 8);
	iomt_store_be64(frame + 12, 1);
	memcpy(nonce, rx.k.salt, 5);
	iomt_store_be64(nonce + 5, 1);
	ossl_ccm8(rx.k.key, nonce, frame, 20, pt, 15, frame + 20);
	ASSERT_EQ(iomt_s2_data_open(&rx, frame + 4, 39, got, 4, &n), IOMT_EMALFORMED);
	ASSERT_EQ(rx.w.top, 0u);
	pt[8] = 2;
	ossl_ccm8(rx.k.key, nonce, frame, 20, pt, 15, frame + 20);
	ASSERT_EQ(iomt_s2_data_open(&rx, frame + 4, 39, got, 4, &n), IOMT_OK);
}
