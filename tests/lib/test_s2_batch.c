/* SPDX-License-Identifier: MIT */
/* The MEC's batch forms at every Keccak width: iomt_s2_data_keys_init_batch
 * against iomt_s2_data_keys_init (and the docs/PROTOCOL.md §8.4 handle),
 * iomt_s2_ida_open_batch against iomt_s2_ida_open with some boxes
 * tampered, batch sizes 1..40 (across the 16-item chunks), and their
 * argument errors. */
#include "harness.h"
#include "iomt_err.h"
#include "s2_data.h"
#include "s2_ida.h"
#include "testutil.h"
#include "width_fixture.h"

enum { NMAX = 40 };

TEST_F(batch, data_keys_match_one_by_one)
{
	static uint8_t sk[NMAX][IOMT_S2_KEY_LEN];
	struct iomt_s2_data_keys got[NMAX], want;
	const uint8_t *skp[NMAX];
	struct iomt_s2_data_kdf kdf;
	struct tu_rng r = { 0x5332 + self->width };
	uint8_t h[8];

	ASSERT_EQ(iomt_s2_data_kdf_init(&kdf), IOMT_OK);
	for (size_t n = 0; n <= NMAX; n++) {
		for (size_t i = 0; i < n; i++) {
			tu_fill(&r, sk[i], sizeof(sk[i]));
			skp[i] = sk[i];
		}
		ASSERT_EQ(iomt_s2_data_keys_init_batch(&kdf, n, skp, got), IOMT_OK);
		for (size_t i = 0; i < n; i++) {
			ASSERT_EQ(iomt_s2_data_keys_init(&want, sk[i]), IOMT_OK);
			ASSERT_MEMEQ(&got[i], &want, sizeof(want));
		}
	}
	/* The §8.4 vector's SK = 00..0f. */
	for (int i = 0; i < IOMT_S2_KEY_LEN; i++)
		sk[0][i] = (uint8_t)i;
	ASSERT_EQ(iomt_s2_data_keys_init_batch(&kdf, 1, skp, got), IOMT_OK);
	tu_hex("a10d95d25d5740f3", h, sizeof(h));
	ASSERT_MEMEQ(got[0].handle, h, sizeof(h));
}

TEST(data_keys_batch_errors)
{
	struct iomt_s2_data_keys k[2], zero;
	struct iomt_s2_data_kdf kdf;
	uint8_t sk[IOMT_S2_KEY_LEN] = { 1 };
	const uint8_t *skp[2] = { sk, NULL };

	memset(&zero, 0, sizeof(zero));
	ASSERT_EQ(iomt_s2_data_kdf_init(NULL), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_data_kdf_init(&kdf), IOMT_OK);
	ASSERT_EQ(iomt_s2_data_keys_init_batch(&kdf, 0, NULL, NULL), IOMT_OK);
	ASSERT_EQ(iomt_s2_data_keys_init_batch(&kdf, 1, skp, NULL), IOMT_EINVAL);
	memset(k, 0xaa, sizeof(k));
	ASSERT_EQ(iomt_s2_data_keys_init_batch(NULL, 1, skp, k), IOMT_EINVAL);
	ASSERT_MEMEQ(&k[0], &zero, sizeof(zero));
	memset(k, 0xaa, sizeof(k));
	ASSERT_EQ(iomt_s2_data_keys_init_batch(&kdf, 1, NULL, k), IOMT_EINVAL);
	ASSERT_MEMEQ(&k[0], &zero, sizeof(zero));
	/* One NULL SK: nothing derived, every entry wiped. */
	memset(k, 0xaa, sizeof(k));
	ASSERT_EQ(iomt_s2_data_keys_init_batch(&kdf, 2, skp, k), IOMT_EINVAL);
	ASSERT_MEMEQ(&k[0], &zero, sizeof(zero));
	ASSERT_MEMEQ(&k[1], &zero, sizeof(zero));
}

struct ida_case {
	uint8_t dk[IOMT_S2_KEY_LEN], r2[IOMT_S2_RAND_LEN], did[IOMT_S2_ID_LEN];
	uint8_t m3[IOMT_S2_M3_LEN], id_a[IOMT_S2_IDA_LEN], box[IOMT_S2_IDA_BOX_LEN];
	uint8_t got[IOMT_S2_IDA_LEN];
};

TEST_F(batch, ida_open_matches_one_by_one)
{
	static struct ida_case c[NMAX];
	const uint8_t *dk[NMAX], *r2[NMAX], *did[NMAX], *m3[NMAX], *box[NMAX], *ida[NMAX];
	uint8_t *got[NMAX], *boxw[NMAX], zero[IOMT_S2_IDA_LEN] = { 0 }, one[IOMT_S2_IDA_LEN];
	int status[NMAX], st[NMAX];
	struct tu_rng r = { 0x1da + self->width };

	for (size_t n = 1; n <= NMAX; n++) {
		for (size_t i = 0; i < n; i++) {
			tu_fill(&r, &c[i], sizeof(c[i]));
			dk[i] = c[i].dk;
			r2[i] = c[i].r2;
			did[i] = c[i].did;
			m3[i] = c[i].m3;
			ida[i] = c[i].id_a;
			box[i] = c[i].box;
			boxw[i] = c[i].box;
			got[i] = c[i].got;
		}
		ASSERT_EQ(iomt_s2_ida_seal_batch(n, dk, r2, did, m3, ida, boxw, st), IOMT_OK);
		/* Every third item tampered: a box, an M3 or a key byte. */
		for (size_t i = 2; i < n; i += 3) {
			ASSERT_EQ(st[i], IOMT_OK);
			if (i % 2)
				c[i].box[tu_next(&r) % IOMT_S2_IDA_BOX_LEN] ^= 0x10;
			else
				c[i].m3[tu_next(&r) % IOMT_S2_M3_LEN] ^= 0x01;
		}
		ASSERT_EQ(iomt_s2_ida_open_batch(n, dk, r2, did, m3, box, got, status), IOMT_OK);
		for (size_t i = 0; i < n; i++) {
			int want = iomt_s2_ida_open(dk[i], r2[i], did[i], m3[i], box[i], one);

			ASSERT_EQ(status[i], want);
			ASSERT_EQ(status[i], i >= 2 && i % 3 == 2 ? IOMT_EAUTH : IOMT_OK);
			ASSERT_MEMEQ(c[i].got, status[i] ? zero : c[i].id_a, IOMT_S2_IDA_LEN);
			ASSERT_MEMEQ(one, c[i].got, IOMT_S2_IDA_LEN);
		}
	}
}

TEST(ida_open_batch_errors)
{
	const uint8_t *p[1] = { (const uint8_t *)"x" };
	uint8_t out[IOMT_S2_IDA_LEN], *o[1] = { out };
	int status[1];

	ASSERT_EQ(iomt_s2_ida_open_batch(0, NULL, NULL, NULL, NULL, NULL, NULL, NULL), IOMT_OK);
	ASSERT_EQ(iomt_s2_ida_open_batch(1, NULL, p, p, p, p, o, status), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_ida_open_batch(1, p, p, p, p, NULL, o, status), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_ida_open_batch(1, p, p, p, p, p, NULL, status), IOMT_EINVAL);
	ASSERT_EQ(iomt_s2_ida_open_batch(1, p, p, p, p, p, o, NULL), IOMT_EINVAL);
}
