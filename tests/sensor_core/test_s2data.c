/* SPDX-License-Identifier: MIT */
/*
 * sensors/core's phase-4 sender (sc_s2data.c) on a fake clock: frames the
 * MEC side of lib/s2_data opens, the counter from 1 per SK, SC_EREKEY at
 * the time and counter limits (and without a session), bad samples refused
 * without ending the session. The .c is included, as test_core.c does.
 */
#include "harness.h"
#include "../../sensors/core/sc_s2data.c"
#include "bytes.h"

static uint64_t f_now(void *ctx)
{
	return *(uint64_t *)ctx;
}

static int f_rng(void *ctx, uint8_t *out, size_t n)
{
	(void)ctx;
	memset(out, 0x5a, n);
	return 0;
}

static const struct sc_driver drv = { .rng = f_rng, .now_ms = f_now };

struct env {
	uint64_t now;
	struct sc c;
	struct sc_s2data d;
	struct iomt_s2_data_rx rx;
	uint8_t frame[SC_S2DATA_FRAME_MAX];
	size_t len;
};

static void env_init(struct env *e, uint8_t skbyte)
{
	uint8_t sk[16];

	memset(e, 0, sizeof(*e));
	memset(sk, skbyte, sizeof(sk));
	e->now = 5000;
	e->c.drv = &drv;
	e->c.ctx = &e->now;
	ASSERT_EQ(sc_s2data_start(&e->d, &e->c, sk), IOMT_OK);
	ASSERT_EQ(iomt_s2_data_rx_init(&e->rx, sk), IOMT_OK);
}

static int seal_one(struct env *e, uint16_t v)
{
	struct iomt_s2_sample s = { .kind = 1, .value = v, .t_ms = 123 };

	return sc_s2data_seal(&e->d, &e->c, &s, 1, e->frame, sizeof(e->frame), &e->len);
}

TEST(frames_open_at_the_mec_counter_from_one)
{
	static struct env e;
	struct iomt_s2_sample got[2];
	size_t n = 0;

	env_init(&e, 7);
	for (uint16_t i = 1; i <= 3; i++) {
		ASSERT_EQ(seal_one(&e, 800 + i), SC_SEND);
		ASSERT_EQ(iomt_load_be64(e.frame + 12), (uint64_t)i);
		ASSERT_EQ(iomt_s2_data_open(&e.rx, e.frame + 4, e.len - 4, got, 2, &n), IOMT_OK);
		ASSERT_EQ(got[0].value, 800 + i);
	}
	/* a new SK: a new handle, the counter from 1 again */
	env_init(&e, 8);
	ASSERT_EQ(seal_one(&e, 1), SC_SEND);
	ASSERT_EQ(iomt_load_be64(e.frame + 12), 1u);
}

TEST(time_limit_means_rekey_and_the_session_is_wiped)
{
	static struct env e;

	env_init(&e, 7);
	e.now += IOMT_S2_DATA_REKEY_AFTER_MS - 1;
	ASSERT_EQ(seal_one(&e, 1), SC_SEND);
	e.now += 1;
	ASSERT_EQ(seal_one(&e, 1), SC_EREKEY);
	ASSERT_EQ(e.d.tx.live, 0);
	ASSERT_EQ(e.d.tx.k.key[0] | e.d.tx.k.key[15], 0);
	e.now -= 10;	/* even with the clock back: the session stays over */
	ASSERT_EQ(seal_one(&e, 1), SC_EREKEY);
}

TEST(counter_limit_means_rekey)
{
	static struct env e;

	env_init(&e, 7);
	e.d.tx.counter = IOMT_S2_DATA_COUNTER_MAX - 1;
	ASSERT_EQ(seal_one(&e, 1), SC_SEND);
	ASSERT_EQ(seal_one(&e, 1), SC_EREKEY);
}

TEST(no_session_and_bad_input)
{
	static struct env e;
	struct iomt_s2_sample s = { .kind = 0, .value = 1, .t_ms = 1 };

	memset(&e, 0, sizeof(e));
	e.c.drv = &drv;
	e.c.ctx = &e.now;
	ASSERT_EQ(seal_one(&e, 1), SC_EREKEY);
	env_init(&e, 7);
	ASSERT_EQ(sc_s2data_seal(&e.d, &e.c, &s, 1, e.frame, sizeof(e.frame), &e.len), IOMT_EINVAL);
	s.kind = 2;
	ASSERT_EQ(sc_s2data_seal(&e.d, &e.c, &s, 1, e.frame, 10, &e.len), IOMT_ESIZE);
	ASSERT_EQ(sc_s2data_seal(NULL, &e.c, &s, 1, e.frame, 10, &e.len), IOMT_EINVAL);
	ASSERT_EQ(sc_s2data_start(&e.d, &e.c, NULL), IOMT_EINVAL);
	/* the session is still good */
	ASSERT_EQ(seal_one(&e, 1), SC_SEND);
	ASSERT_EQ(iomt_load_be64(e.frame + 12), 1u);
}
