/* SPDX-License-Identifier: MIT */
/*
 * ttp/s2_engine + ttp/s2_table without network or database: the published
 * vector through the engine, full agreements against lib's device and MEC,
 * the rotation rule (current, previous, replay, lost M3/M4), refusals that
 * change nothing, one party twice in a batch equal to one-by-one processing,
 * undo, the miss callback, and the DID index against a naive model.
 */
#include <errno.h>
#include <stdlib.h>

#include "harness.h"
#include "testutil.h"
#include "width_fixture.h"
#include "bytes.h"
#include "s2_ida.h"

#include "../../ttp/s2_table.c"
#include "../../ttp/s2_engine.c"

/* ---- randomness: seeded, or fixed R3, or failing ---- */

static struct tu_rng rng = { 0x5eed0002ULL };
static const uint8_t *fixed_r3;
static int random_fails;

static int test_random(void *buf, size_t len)
{
	if (random_fails)
		return -EIO;
	if (fixed_r3) {
		for (size_t i = 0; i < len; i += 16)
			memcpy((uint8_t *)buf + i, fixed_r3, 16);
		return 0;
	}
	tu_fill(&rng, buf, len);
	return 0;
}

static void rand16(uint8_t out[16])
{
	tu_fill(&rng, out, 16);
}

/* ---- parties on the device and MEC side ---- */

struct dev {
	struct iomt_s2_device d;
	uint8_t id_a[16];
};

struct mec {
	uint8_t did[16], dk[16];
	struct iomt_s2_mec_pending pend;
	uint8_t r2[16], used_dk[16];
};

static int64_t next_db_id = 1;

static void new_device(struct ttp_engine *e, struct dev *d)
{
	struct ttp_party p = { .db_id = next_db_id++, .kind = TTP_PARTY_DEVICE };

	rand16(p.did_cur);
	rand16(p.dk_cur);
	rand16(p.id_a);
	memcpy(d->id_a, p.id_a, 16);
	ASSERT_EQ(iomt_s2_device_init(&d->d, p.did_cur, p.dk_cur), IOMT_OK);
	ASSERT_EQ(ttp_table_add(ttp_engine_table(e), &p, NULL), 0);
}

static void new_mec(struct ttp_engine *e, struct mec *m)
{
	struct ttp_party p = { .db_id = next_db_id++, .kind = TTP_PARTY_MEC };

	rand16(p.did_cur);
	rand16(p.dk_cur);
	memcpy(m->did, p.did_cur, 16);
	memcpy(m->dk, p.dk_cur, 16);
	ASSERT_EQ(ttp_table_add(ttp_engine_table(e), &p, NULL), 0);
}

static struct ttp_engine *engine(void)
{
	struct ttp_engine_ops ops = { .random = test_random };
	struct ttp_engine *e;

	ASSERT_EQ(ttp_engine_new(&ops, &e), 0);
	return e;
}

/* Device start + MEC M2 -> an M2 frame payload with req_id. */
static void make_m2(struct dev *d, struct mec *m, uint32_t req_id, uint8_t payload[132])
{
	uint8_t r1[16], m1[64];

	rand16(r1);
	rand16(m->r2);
	ASSERT_EQ(iomt_s2_device_start(&d->d, r1, m1), IOMT_OK);
	memcpy(m->used_dk, m->dk, 16);
	iomt_store_be32(payload, req_id);
	ASSERT_EQ(iomt_s2_mec_m2(m->did, m->dk, m->r2, m1, 64, &m->pend, payload + 4), IOMT_OK);
}

/* MEC and device finish with the engine's M3: both SKs equal, ID_a opens,
 * and both adopt their next identity. */
static void complete(struct dev *d, struct mec *m, const struct ttp_m2_result *res,
		     uint32_t req_id)
{
	uint8_t sk_m[16], sk_d[16], m4[48], id_a[16], did_i[16];

	ASSERT_EQ(res->type, IOMT_MSG_S2_M3);
	ASSERT_EQ(res->len, IOMT_WIRE_S2_M3_LEN);
	ASSERT_EQ(iomt_load_be32(res->payload), req_id);
	memcpy(did_i, m->pend.did_i, 16);
	ASSERT_EQ(iomt_s2_ida_open(m->used_dk, m->r2, did_i, res->payload + 4, res->payload + 68,
				   id_a), IOMT_OK);
	ASSERT_MEMEQ(id_a, d->id_a, 16);
	ASSERT_EQ(iomt_s2_mec_finish(&m->pend, res->payload + 4, 64, sk_m, m4, m->did, m->dk),
		  IOMT_OK);
	ASSERT_EQ(iomt_s2_device_finish(&d->d, m4, 48, sk_d), IOMT_OK);
	ASSERT_MEMEQ(sk_m, sk_d, 16);
}

static void process1(struct ttp_engine *e, const uint8_t *payload, size_t len,
		     struct ttp_m2_result *res)
{
	struct ttp_m2_req req = { payload, len };

	ASSERT_EQ(ttp_engine_process(e, 1, &req, res), 0);
}

/* Where a DID sits in the table: 0 (absent), TTP_MATCH_CUR or _PREV. */
static int where(struct ttp_engine *e, const uint8_t *did)
{
	uint32_t idx;
	enum ttp_match m;

	return ttp_table_find(ttp_engine_table(e), did, &idx, &m) ? 0 : (int)m;
}

static void agree(struct ttp_engine *e, struct dev *d, struct mec *m)
{
	uint8_t p[132];
	struct ttp_m2_result res;

	make_m2(d, m, 7, p);
	process1(e, p, sizeof(p), &res);
	complete(d, m, &res, 7);
	ttp_engine_commit(e);
}

/* ---- the published vector ---- */

TEST(vector0_through_the_engine)
{
	uint8_t did_i[16], dk_i[16], did_m[16], dk_m[16], r3[16], m2[132], m3[64];
	uint8_t next_did_i[16], next_did_m[16];
	struct ttp_party dev = { .db_id = 1, .kind = TTP_PARTY_DEVICE };
	struct ttp_party mec = { .db_id = 2, .kind = TTP_PARTY_MEC };
	struct ttp_engine *e = engine();
	struct ttp_m2_result res;

	tu_hex("6ffa8b81a80d61b01deda3d1322ebb31", did_i, 16);
	tu_hex("7093de03128eb0343771606060fa9c5c", dk_i, 16);
	tu_hex("d561b45b4e04254a2ca90434f825dc7e", did_m, 16);
	tu_hex("18288a4461bce97f704f69668dfabda7", dk_m, 16);
	tu_hex("f7794d1d6de0c7dc2bdda586e3c21ef8", r3, 16);
	tu_hex("01020304"
	       "6ffa8b81a80d61b01deda3d1322ebb31a81547a4a2876fa32a3156fc08b92802"
	       "c26f1abb95fb18b55da3d60e10a3f8aba7c5748fd1fc806a8085e888c65109af"
	       "d561b45b4e04254a2ca90434f825dc7ebc38a6f4bd7b53ae789ae942bce0696a"
	       "06bb4ef3944bd31fb88556d923fe7056cde8a232dd72a81777346e32866634c1", m2, 132);
	tu_hex("b00d29442b8d79bd27bf3fa3524526ce52e60c77d2a93171c390bf0ed8fdace3"
	       "ba929df01960477fc570620a605d5dc85ecb5e20beac98317346834297c42bca", m3, 64);
	tu_hex("5fc84a46cd90f53428f64d94cde263a5", next_did_i, 16);
	tu_hex("7c8d546b107fba0d7581afd4742b19f7", next_did_m, 16);
	memcpy(dev.did_cur, did_i, 16);
	memcpy(dev.dk_cur, dk_i, 16);
	memcpy(mec.did_cur, did_m, 16);
	memcpy(mec.dk_cur, dk_m, 16);
	ASSERT_EQ(ttp_table_add(ttp_engine_table(e), &dev, NULL), 0);
	ASSERT_EQ(ttp_table_add(ttp_engine_table(e), &mec, NULL), 0);
	fixed_r3 = r3;
	process1(e, m2, sizeof(m2), &res);
	fixed_r3 = NULL;
	ASSERT_EQ(res.type, IOMT_MSG_S2_M3);
	ASSERT_EQ(iomt_load_be32(res.payload), 0x01020304u);
	ASSERT_MEMEQ(res.payload + 4, m3, 64);
	ASSERT_EQ(where(e, next_did_i), TTP_MATCH_CUR);
	ASSERT_EQ(where(e, did_i), TTP_MATCH_PREV);
	ASSERT_EQ(where(e, next_did_m), TTP_MATCH_CUR);
	ASSERT_EQ(where(e, did_m), TTP_MATCH_PREV);
	ttp_engine_free(e);
}

/* ---- agreements and the rotation rule ---- */

TEST(thousand_agreements_in_a_row)
{
	struct ttp_engine *e = engine();
	struct dev d;
	struct mec m;

	new_device(e, &d);
	new_mec(e, &m);
	for (int i = 0; i < 1000; i++)
		agree(e, &d, &m);
	ASSERT_EQ(where(e, d.d.did), TTP_MATCH_CUR);
	ASSERT_EQ(where(e, m.did), TTP_MATCH_CUR);
	ttp_engine_free(e);
}

TEST(lost_m3_both_come_back_with_previous)
{
	struct ttp_engine *e = engine();
	struct ttp_m2_result res;
	uint8_t p[132], old_dev[16], old_mec[16];
	struct dev d;
	struct mec m;

	new_device(e, &d);
	new_mec(e, &m);
	agree(e, &d, &m);
	memcpy(old_dev, d.d.did, 16);
	memcpy(old_mec, m.did, 16);
	/* Run A: the TTP rotates both; its M3 is lost. */
	make_m2(&d, &m, 1, p);
	process1(e, p, sizeof(p), &res);
	ASSERT_EQ(res.type, IOMT_MSG_S2_M3);
	ttp_engine_commit(e);
	ASSERT_EQ(where(e, old_dev), TTP_MATCH_PREV);
	/* Retry: device from AWAIT_M4, MEC with the slot's old pair. */
	make_m2(&d, &m, 2, p);
	process1(e, p, sizeof(p), &res);
	ASSERT_EQ(res.device_match, TTP_MATCH_PREV);
	ASSERT_EQ(res.mec_match, TTP_MATCH_PREV);
	complete(&d, &m, &res, 2);
	ttp_engine_commit(e);
	/* The previous pair is kept, the current one replaced. */
	ASSERT_EQ(where(e, old_dev), TTP_MATCH_PREV);
	ASSERT_EQ(where(e, d.d.did), TTP_MATCH_CUR);
	/* And a third run uses the current pairs. */
	make_m2(&d, &m, 3, p);
	process1(e, p, sizeof(p), &res);
	ASSERT_EQ(res.device_match, TTP_MATCH_CUR);
	complete(&d, &m, &res, 3);
	ttp_engine_free(e);
}

TEST(lost_m4_device_alone_comes_back_with_previous)
{
	struct ttp_engine *e = engine();
	struct ttp_m2_result res;
	uint8_t p[132], sk[16], m4[48];
	struct dev d;
	struct mec m;

	new_device(e, &d);
	new_mec(e, &m);
	make_m2(&d, &m, 1, p);
	process1(e, p, sizeof(p), &res);
	/* The MEC finishes and rotates; its M4 never reaches the device. */
	ASSERT_EQ(iomt_s2_mec_finish(&m.pend, res.payload + 4, 64, sk, m4, m.did, m.dk), IOMT_OK);
	ttp_engine_commit(e);
	make_m2(&d, &m, 2, p);
	process1(e, p, sizeof(p), &res);
	ASSERT_EQ(res.device_match, TTP_MATCH_PREV);
	ASSERT_EQ(res.mec_match, TTP_MATCH_CUR);
	complete(&d, &m, &res, 2);
	ttp_engine_commit(e);
	agree(e, &d, &m);
	ttp_engine_free(e);
}

TEST(replayed_m2_desynchronises_nobody)
{
	struct ttp_engine *e = engine();
	struct ttp_m2_result res, res2;
	uint8_t p[132];
	struct dev d;
	struct mec m;

	new_device(e, &d);
	new_mec(e, &m);
	make_m2(&d, &m, 9, p);
	process1(e, p, sizeof(p), &res);
	ttp_engine_commit(e);
	/* The same M2 again (an attacker, or the MEC's retry): both DIDs now
	 * match the previous pairs and the same next pairs are reinstalled. */
	process1(e, p, sizeof(p), &res2);
	ASSERT_EQ(res2.type, IOMT_MSG_S2_M3);
	ASSERT_EQ(res2.device_match, TTP_MATCH_PREV);
	ttp_engine_commit(e);
	complete(&d, &m, &res, 9);
	ASSERT_EQ(where(e, d.d.did), TTP_MATCH_CUR);
	ASSERT_EQ(where(e, m.did), TTP_MATCH_CUR);
	agree(e, &d, &m);
	agree(e, &d, &m);
	ttp_engine_free(e);
}

/* ---- refusals ---- */

/* Everything a party's table entry holds, to prove nothing moved. */
static void snapshot(struct ttp_engine *e, uint32_t n, struct ttp_party *out)
{
	for (uint32_t i = 0; i < n; i++)
		out[i] = *ttp_table_get(ttp_engine_table(e), i);
}

TEST(forged_c1_refused_and_nothing_changes)
{
	struct ttp_engine *e = engine();
	struct ttp_party before[2], after[2];
	struct ttp_m2_result res;
	uint8_t p[132], f[132], m1[64];
	struct dev d;
	struct mec m;

	new_device(e, &d);
	new_mec(e, &m);
	agree(e, &d, &m);
	snapshot(e, 2, before);
	make_m2(&d, &m, 5, p);
	memcpy(f, p, sizeof(f));
	memcpy(m1, p + 4, 64);
	m1[32] ^= 1;                /* c1_i: the MEC's c1_m covers M1, so redo it */
	ASSERT_EQ(iomt_s2_mec_m2(m.did, m.dk, m.r2, m1, 64, &m.pend, f + 4), IOMT_OK);
	process1(e, f, sizeof(f), &res);
	ASSERT_EQ(res.type, IOMT_MSG_S2_LINK_ERR);
	ASSERT_EQ(res.len, 5);
	ASSERT_EQ(res.payload[4], IOMT_S2_ERR_BAD_DEVICE);
	memcpy(f, p, sizeof(f));
	f[4 + 96 + 5] ^= 0x80;      /* c1_m */
	process1(e, f, sizeof(f), &res);
	ASSERT_EQ(res.payload[4], IOMT_S2_ERR_BAD_MEC);
	f[4 + 32] ^= 1;             /* both: the MEC's problem first */
	process1(e, f, sizeof(f), &res);
	ASSERT_EQ(res.payload[4], IOMT_S2_ERR_BAD_MEC);
	snapshot(e, 2, after);
	ASSERT_MEMEQ(before, after, sizeof(before));
	ASSERT_EQ(ttp_engine_dirty(e, &(const uint32_t *){ NULL }), 0);
	/* The genuine M2 still goes through. */
	memcpy(m1, p + 4, 64);
	ASSERT_EQ(iomt_s2_mec_m2(m.did, m.dk, m.r2, m1, 64, &m.pend, p + 4), IOMT_OK);
	process1(e, p, sizeof(p), &res);
	complete(&d, &m, &res, 5);
	ttp_engine_free(e);
}

TEST(unknown_identities_and_wrong_kinds)
{
	struct ttp_engine *e = engine();
	struct ttp_m2_result res;
	uint8_t p[132], f[132];
	struct dev d;
	struct mec m;

	new_device(e, &d);
	new_mec(e, &m);
	make_m2(&d, &m, 0xdeadbeef, p);
	memcpy(f, p, sizeof(f));
	f[4] ^= 1;
	process1(e, f, sizeof(f), &res);
	ASSERT_EQ(iomt_load_be32(res.payload), 0xdeadbeefu);
	ASSERT_EQ(res.payload[4], IOMT_S2_ERR_UNKNOWN_DEVICE);
	memcpy(f, p, sizeof(f));
	f[4 + 64] ^= 1;
	process1(e, f, sizeof(f), &res);
	ASSERT_EQ(res.payload[4], IOMT_S2_ERR_UNKNOWN_MEC);
	f[4] ^= 1;                  /* both unknown: the MEC first */
	process1(e, f, sizeof(f), &res);
	ASSERT_EQ(res.payload[4], IOMT_S2_ERR_UNKNOWN_MEC);
	/* A MEC's DID where a device's belongs, and the other way round. */
	memcpy(f, p, sizeof(f));
	memcpy(f + 4, m.did, 16);
	process1(e, f, sizeof(f), &res);
	ASSERT_EQ(res.payload[4], IOMT_S2_ERR_UNKNOWN_DEVICE);
	memcpy(f, p, sizeof(f));
	memcpy(f + 4 + 64, d.d.did, 16);
	process1(e, f, sizeof(f), &res);
	ASSERT_EQ(res.payload[4], IOMT_S2_ERR_UNKNOWN_MEC);
	/* Wrong sizes never reach the crypto. */
	process1(e, p, 131, &res);
	ASSERT_EQ(res.payload[4], IOMT_S2_ERR_MALFORMED);
	process1(e, p, 3, &res);
	ASSERT_EQ(res.type, IOMT_MSG_S2_LINK_ERR);
	ASSERT_EQ(res.payload[4], IOMT_S2_ERR_MALFORMED);
	process1(e, p, sizeof(p), &res);
	complete(&d, &m, &res, 0xdeadbeef);
	ttp_engine_free(e);
}

TEST(random_failure_is_internal_and_changes_nothing)
{
	struct ttp_engine *e = engine();
	struct ttp_m2_result res;
	uint8_t p[132];
	struct dev d;
	struct mec m;

	new_device(e, &d);
	new_mec(e, &m);
	make_m2(&d, &m, 1, p);
	random_fails = 1;
	process1(e, p, sizeof(p), &res);
	random_fails = 0;
	ASSERT_EQ(res.payload[4], IOMT_S2_ERR_INTERNAL);
	ASSERT_EQ(where(e, d.d.did), TTP_MATCH_CUR);
	process1(e, p, sizeof(p), &res);
	complete(&d, &m, &res, 1);
	ttp_engine_free(e);
}

TEST(null_arguments)
{
	struct ttp_engine_ops none = { 0 };
	struct ttp_engine *e;

	ASSERT_EQ(ttp_engine_new(&none, &e), -EINVAL);
	ASSERT_NULL(e);
	e = engine();
	ASSERT_EQ(ttp_engine_process(e, 1, NULL, NULL), -EINVAL);
	ASSERT_EQ(ttp_engine_process(e, 0, NULL, NULL), 0);
	ttp_engine_free(e);
	ttp_engine_free(NULL);
}

/* ---- batches ---- */

TEST(same_party_twice_in_one_batch)
{
	struct ttp_engine *e = engine();
	struct ttp_m2_result res[3];
	struct ttp_m2_req req[3];
	uint8_t p[3][132], first_did[16];
	struct dev d;
	struct mec m[3];

	new_device(e, &d);
	for (int i = 0; i < 3; i++)
		new_mec(e, &m[i]);
	memcpy(first_did, d.d.did, 16);
	/* The device retries twice through different slots before any reply. */
	for (int i = 0; i < 3; i++) {
		make_m2(&d, &m[i], (uint32_t)i, p[i]);
		req[i] = (struct ttp_m2_req){ p[i], 132 };
	}
	ASSERT_EQ(ttp_engine_process(e, 3, req, res), 0);
	ASSERT_EQ(res[0].device_match, TTP_MATCH_CUR);
	ASSERT_EQ(res[1].device_match, TTP_MATCH_PREV);
	ASSERT_EQ(res[2].device_match, TTP_MATCH_PREV);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(res[i].type, IOMT_MSG_S2_M3);
	ttp_engine_commit(e);
	/* Only the last run is pending at the device. */
	complete(&d, &m[2], &res[2], 2);
	ASSERT_EQ(where(e, d.d.did), TTP_MATCH_CUR);
	ASSERT_EQ(where(e, first_did), TTP_MATCH_PREV);
	agree(e, &d, &m[0]);
	ttp_engine_free(e);
}

/* Replays the items of one batch one by one on a second engine with the same
 * parties: the states must end equal, whatever repeats the batch holds. */
TEST_F(batch, equals_one_by_one)
{
	enum { NDEV = 6, NMEC = 4, N = 150 };
	struct ttp_engine *a = engine(), *b = engine();
	static struct ttp_m2_result ra[N], rb;
	static struct ttp_m2_req req[N];
	static uint8_t p[N][132];
	struct dev d[NDEV];
	struct mec m[NMEC];
	int refused = 0, prev = 0;

	for (int i = 0; i < NDEV; i++)
		new_device(a, &d[i]);
	for (int i = 0; i < NMEC; i++)
		new_mec(a, &m[i]);
	for (uint32_t i = 0; i < ttp_table_size(ttp_engine_table(a)); i++)
		ASSERT_EQ(ttp_table_add(ttp_engine_table(b), ttp_table_get(ttp_engine_table(a), i),
					NULL), 0);
	for (int i = 0; i < N; i++) {
		make_m2(&d[tu_next(&rng) % NDEV], &m[tu_next(&rng) % NMEC], (uint32_t)i, p[i]);
		if (i % 17 == 3)
			p[i][4 + 40] ^= 4;        /* some forged c1_i */
		req[i] = (struct ttp_m2_req){ p[i], 132 };
	}
	ASSERT_EQ(ttp_engine_process(a, N, req, ra), 0);
	for (int i = 0; i < N; i++) {
		process1(b, p[i], 132, &rb);
		ASSERT_EQ(ra[i].type, rb.type);
		ASSERT_EQ(ra[i].code, rb.code);
		ASSERT_EQ(ra[i].device_match, rb.device_match);
		ASSERT_EQ(ra[i].mec_match, rb.mec_match);
		refused += ra[i].code != 0;
		prev += ra[i].device_match == TTP_MATCH_PREV;
	}
	/* The batch did hold repeats (runs were split) and refusals. */
	ASSERT_GT(refused, 0);
	ASSERT_GT(prev, 0);
	for (uint32_t i = 0; i < NDEV + NMEC; i++)
		ASSERT_MEMEQ(ttp_table_get(ttp_engine_table(a), i),
			     ttp_table_get(ttp_engine_table(b), i), sizeof(struct ttp_party));
	ttp_engine_free(a);
	ttp_engine_free(b);
}

TEST_F(batch, two_hundred_distinct_pairs)
{
	enum { N = 200 };
	struct ttp_engine *e = engine();
	static struct ttp_m2_result res[N];
	static struct ttp_m2_req req[N];
	static uint8_t p[N][132];
	static struct dev d[N];
	static struct mec m[N];
	const uint32_t *dirty;

	for (int i = 0; i < N; i++) {
		new_device(e, &d[i]);
		new_mec(e, &m[i]);
	}
	for (int i = 0; i < N; i++) {
		make_m2(&d[i], &m[i], (uint32_t)(1000 + i), p[i]);
		req[i] = (struct ttp_m2_req){ p[i], 132 };
	}
	ASSERT_EQ(ttp_engine_process(e, N, req, res), 0);
	ASSERT_EQ(ttp_engine_dirty(e, &dirty), 2 * N);
	ttp_engine_commit(e);
	ASSERT_EQ(ttp_engine_dirty(e, &dirty), 0);
	for (int i = 0; i < N; i++)
		complete(&d[i], &m[i], &res[i], (uint32_t)(1000 + i));
	ttp_engine_free(e);
}

/* ---- undo ---- */

TEST(rollback_restores_the_last_commit)
{
	struct ttp_engine *e = engine();
	struct ttp_party before[3], after[3];
	struct ttp_m2_result res[2];
	struct ttp_m2_req req[2];
	uint8_t p[2][132];
	const uint32_t *dirty;
	struct dev d;
	struct mec m[2];

	new_device(e, &d);
	new_mec(e, &m[0]);
	new_mec(e, &m[1]);
	agree(e, &d, &m[0]);
	snapshot(e, 3, before);
	for (int i = 0; i < 2; i++) {
		make_m2(&d, &m[i], (uint32_t)i, p[i]);
		req[i] = (struct ttp_m2_req){ p[i], 132 };
	}
	ASSERT_EQ(ttp_engine_process(e, 2, req, res), 0);
	/* The device rotated twice, each MEC once: three parties, each once. */
	ASSERT_EQ(ttp_engine_dirty(e, &dirty), 3);
	ASSERT_EQ(ttp_engine_rollback(e), 0);
	ASSERT_EQ(ttp_engine_dirty(e, &dirty), 0);
	snapshot(e, 3, after);
	ASSERT_MEMEQ(before, after, sizeof(before));
	/* The same requests again, then the agreement completes. */
	ASSERT_EQ(ttp_engine_process(e, 2, req, res), 0);
	ttp_engine_commit(e);
	complete(&d, &m[1], &res[1], 1);
	agree(e, &d, &m[1]);
	ttp_engine_free(e);
}

/* ---- the miss callback ---- */

static struct ttp_party stored;
static int miss_calls, miss_result;

static int test_miss(void *arg, const uint8_t did[16], struct ttp_party *p)
{
	(void)arg;
	miss_calls++;
	if (miss_result)
		return miss_result;
	if (memcmp(did, stored.did_cur, 16) && !(stored.has_prev && !memcmp(did, stored.did_prev, 16)))
		return -ENOENT;
	*p = stored;
	return 0;
}

TEST(miss_callback_adds_parties_once)
{
	struct ttp_engine_ops ops = { .random = test_random, .miss = test_miss };
	struct ttp_engine *e;
	struct ttp_m2_result res;
	uint8_t p[132];
	struct dev d;
	struct mec m;

	ASSERT_EQ(ttp_engine_new(&ops, &e), 0);
	new_device(e, &d);
	/* The MEC slot exists only "in the database". */
	stored = (struct ttp_party){ .db_id = 999, .kind = TTP_PARTY_MEC };
	rand16(stored.did_cur);
	rand16(stored.dk_cur);
	memcpy(m.did, stored.did_cur, 16);
	memcpy(m.dk, stored.dk_cur, 16);
	make_m2(&d, &m, 1, p);
	miss_result = -EIO;
	process1(e, p, sizeof(p), &res);
	ASSERT_EQ(res.payload[4], IOMT_S2_ERR_INTERNAL);
	miss_result = 0;
	miss_calls = 0;
	process1(e, p, sizeof(p), &res);
	ASSERT_EQ(miss_calls, 1);
	ASSERT_EQ(res.mec, 999);
	complete(&d, &m, &res, 1);
	ttp_engine_commit(e);
	/* Now in memory: no more calls. The stale row (old identity) would be
	 * found by the callback, but memory is newer for a party it holds. */
	agree(e, &d, &m);
	ASSERT_EQ(miss_calls, 1);
	make_m2(&d, &m, 2, p);
	memcpy(p + 4 + 64, stored.did_cur, 16);
	process1(e, p, sizeof(p), &res);
	ASSERT_EQ(res.payload[4], IOMT_S2_ERR_UNKNOWN_MEC);
	ttp_engine_free(e);
}

/* ---- the table ---- */

TEST(table_refuses_duplicates_and_bad_parties)
{
	struct ttp_table *t;
	struct ttp_party p = { .db_id = 1, .kind = TTP_PARTY_DEVICE }, q;
	uint32_t idx;

	ASSERT_EQ(ttp_table_new(&t), 0);
	rand16(p.did_cur);
	ASSERT_EQ(ttp_table_add(t, &p, &idx), 0);
	ASSERT_EQ(idx, 0);
	q = p;
	q.db_id = 2;
	ASSERT_EQ(ttp_table_add(t, &q, NULL), -EEXIST);       /* same DID */
	rand16(q.did_cur);
	q.db_id = 1;
	ASSERT_EQ(ttp_table_add(t, &q, NULL), -EEXIST);       /* same row */
	q.db_id = 0;
	ASSERT_EQ(ttp_table_add(t, &q, NULL), -EINVAL);
	q.db_id = 2;
	q.kind = 3;
	ASSERT_EQ(ttp_table_add(t, &q, NULL), -EINVAL);
	q.kind = TTP_PARTY_MEC;
	q.has_prev = 1;
	memcpy(q.did_prev, q.did_cur, 16);
	ASSERT_EQ(ttp_table_add(t, &q, NULL), -EINVAL);
	rand16(q.did_prev);
	ASSERT_EQ(ttp_table_add(t, &q, NULL), 0);
	ASSERT_EQ(ttp_table_count(t, TTP_PARTY_MEC), 1);
	ASSERT_EQ(ttp_table_count(t, TTP_PARTY_DEVICE), 1);
	/* A replacement may not take another party's DID. */
	memcpy(q.did_cur, p.did_cur, 16);
	ASSERT_EQ(ttp_table_replace(t, 1, &q), -EEXIST);
	ASSERT_EQ(ttp_table_find_db(t, 2, &idx), 0);
	ASSERT_EQ(idx, 1);
	ASSERT_EQ(ttp_table_find_db(t, 3, &idx), -ENOENT);
	ttp_table_free(t);
}

/* Every DID of the model is where the model says (a helper of its own:
 * the harness's sigsetjmp and inlined locals do not mix). */
static __attribute__((noinline)) void check_model(const struct ttp_table *t,
						  const struct ttp_party *model, uint32_t n)
{
	uint32_t idx = 0;
	enum ttp_match m = 0;

	for (uint32_t i = 0; i < n; i++) {
		ASSERT_EQ(ttp_table_find(t, model[i].did_cur, &idx, &m), 0);
		ASSERT_EQ(idx, i);
		ASSERT_EQ(m, TTP_MATCH_CUR);
		if (!model[i].has_prev)
			continue;
		ASSERT_EQ(ttp_table_find(t, model[i].did_prev, &idx, &m), 0);
		ASSERT_EQ(idx, i);
		ASSERT_EQ(m, TTP_MATCH_PREV);
	}
}

/* Random adds and replacements against a plain array, with sequential DIDs
 * (the worst case for a weak hash) and many index rebuilds. */
TEST(table_index_against_a_naive_model)
{
	enum { N = 3000, OPS = 20000 };
	static struct ttp_party model[N];
	struct ttp_table *t;

	ASSERT_EQ(ttp_table_new(&t), 0);
	for (uint32_t i = 0; i < N; i++) {
		model[i] = (struct ttp_party){ .db_id = i + 1, .kind = TTP_PARTY_DEVICE };
		iomt_store_be32(model[i].did_cur + 12, 2 * i);
		ASSERT_EQ(ttp_table_add(t, &model[i], NULL), 0);
	}
	for (uint32_t k = 0; k < OPS; k++) {
		uint32_t i = (uint32_t)(tu_next(&rng) % N);
		struct ttp_party np = model[i];

		if (tu_next(&rng) & 1) {
			memcpy(np.did_prev, np.did_cur, 16);
			np.has_prev = 1;
		}
		iomt_store_be32(np.did_cur, k + 1);   /* unique: originals start with 0 */
		ASSERT_EQ(ttp_table_replace(t, i, &np), 0);
		model[i] = np;
		if (k % 5000 == 0)
			check_model(t, model, N);
	}
	check_model(t, model, N);
	ttp_table_free(t);
}
