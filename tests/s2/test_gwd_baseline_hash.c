/* SPDX-License-Identifier: MIT */
/* iomt-gwd --baseline's hashing (userspace/gwd/baseline.h): once installed,
 * lib's SHAKE128 and KMAC128 batch APIs go through OpenSSL per call (seen
 * by a key length OpenSSL refuses and lib would take) and give the same
 * bytes as lib's own code. */
#include "harness.h"
#include "iomt_err.h"
#include "kmac_batch.h"
#include "s2_data.h"
#include "shake.h"
#include "sp800_185.h"
#include "testutil.h"

#include "gwd/baseline.c"

enum { N = 9 };

TEST(baseline_hashes_like_lib_through_openssl)
{
	static uint8_t msg[N][300], key[N][40], got[N][64], want[64];
	const uint8_t *mp[N], *kp[N];
	uint8_t *op[N];
	size_t ml[N], kl[N];
	struct iomt_kmac128_pre pre;
	struct iomt_s2_data_kdf kdf;
	struct iomt_s2_data_keys k[N], k1;
	struct tu_rng r = { 0xba5e };

	gwd_baseline_hash();
	ASSERT_EQ(iomt_kmac128_pre_init(&pre, "iomt/s2/handle", 14), IOMT_OK);
	for (size_t i = 0; i < N; i++) {
		ml[i] = tu_next(&r) % sizeof(msg[i]);
		kl[i] = 4 + tu_next(&r) % 36;
		tu_fill(&r, msg[i], ml[i]);
		tu_fill(&r, key[i], kl[i]);
		mp[i] = msg[i];
		kp[i] = key[i];
		op[i] = got[i];
	}
	ASSERT_EQ(iomt_shake128_batch(mp, ml, op, sizeof(want), N), IOMT_OK);
	for (size_t i = 0; i < N; i++) {
		iomt_shake128(msg[i], ml[i], want, sizeof(want));
		ASSERT_MEMEQ(got[i], want, sizeof(want));
	}
	ASSERT_EQ(iomt_kmac128_batch(&pre, N, kp, kl, mp, ml, op, 40), IOMT_OK);
	for (size_t i = 0; i < N; i++) {
		ASSERT_EQ(iomt_kmac128(key[i], kl[i], "iomt/s2/handle", 14, msg[i], ml[i], want,
				       40), IOMT_OK);
		ASSERT_MEMEQ(got[i], want, 40);
	}
	/* A 2-byte key: lib's KMAC takes it, OpenSSL's does not. */
	kl[3] = 2;
	ASSERT_EQ(iomt_kmac128_batch(&pre, N, kp, kl, mp, ml, op, 40), IOMT_EINVAL);
	/* The session keys, as the MEC derives them. */
	ASSERT_EQ(iomt_s2_data_kdf_init(&kdf), IOMT_OK);
	ASSERT_EQ(iomt_s2_data_keys_init_batch(&kdf, N, kp, k), IOMT_OK);
	for (size_t i = 0; i < N; i++) {
		ASSERT_EQ(iomt_s2_data_keys_init(&k1, key[i]), IOMT_OK);
		ASSERT_MEMEQ(&k[i], &k1, sizeof(k1));
	}
	iomt_shake128_batch_override(NULL);
	iomt_kmac128_batch_override(NULL);
	ASSERT_EQ(iomt_kmac128_batch(&pre, N, kp, kl, mp, ml, op, 40), IOMT_OK);
}
