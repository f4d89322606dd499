/* SPDX-License-Identifier: MIT */
/* The data-key tree: Conf rules and layouts, the PROTOCOL.md section 6 worked
 * vector, every KMAC step against OpenSSL's KMAC-128, small trees
 * exhaustively, the refresh (one way, forward only) and the sensor state. */
#include <stdlib.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include "harness.h"
#include "testutil.h"
#include "ref.h"
#include "keytree.h"
#include "record.h"
#include "ct.h"
#include "iomt_err.h"

#define unhex(s, out) tu_hex(s, out, sizeof(out))

/* ---- OpenSSL reference: every key of the schedule from scratch ---- */

static void ref_refresh(const uint8_t in[16], uint8_t out[16])
{
	ossl_kmac(in, 16, "iomt/keytree/refresh", (const uint8_t *)"", 0, out, 16);
}

/* Mixed-radix digits of leaf, least significant level first. */
static void ref_digits(const struct iomt_keytree_conf *c, uint64_t leaf, uint16_t label[6])
{
	memset(label, 0, 6 * sizeof(label[0]));
	for (int i = c->depth - 1; i >= 0; i--) {
		label[i] = (uint16_t)(leaf % c->arity[i]);
		leaf /= c->arity[i];
	}
}

/* Key of the node at `level` on path label[] from the key of the root. */
static void ref_node(const uint8_t root[16], const uint16_t *label, unsigned level, uint8_t out[16])
{
	uint8_t k[16], msg[3];

	memcpy(k, root, 16);
	for (unsigned l = 1; l <= level; l++) {
		msg[0] = (uint8_t)l;
		msg[1] = (uint8_t)(label[l - 1] >> 8);
		msg[2] = (uint8_t)label[l - 1];
		ossl_kmac(k, 16, "iomt/keytree/node", msg, 3, k, 16);
	}
	memcpy(out, k, 16);
}

static void ref_data_key(const uint8_t k0[16], uint32_t e, uint8_t out[16])
{
	memcpy(out, k0, 16);
	while (e--)
		ref_refresh(out, out);
}

/* ---- shared set-up ---- */

/* The worked vector's schedule: one year from 2025-01-01T00:00:00Z in days
 * -> hours -> 5-minute leaves, a refresh every day (PROTOCOL.md 6.7). */
static const struct iomt_keytree_conf year = {
	.version = 1, .epoch_start = 1735689600, .leaf_period_s = 300, .depth = 3,
	.arity = { 366, 24, 12 }, .refresh_period_s = 86400,
};

/* Small: 2 x 3 x 2 = 12 leaves of 7 s, an epoch per level-1 node (6 leaves). */
static const struct iomt_keytree_conf small = {
	.version = 1, .epoch_start = 1000, .leaf_period_s = 7, .depth = 3,
	.arity = { 2, 3, 2 }, .refresh_period_s = 42,
};

static void seq_bytes(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

static void worked_meta(struct iomt_keytree_meta *m)
{
	memset(m, 0, sizeof(*m));
	seq_bytes(m->key_id, 16, 0xa0);
	m->conf = year;
	seq_bytes(m->sensor_id, 16, 0xb0);
	seq_bytes(m->ppd_id, 16, 0xc0);
}

/* ---- Conf ---- */

TEST(conf_layout_and_round_trip)
{
	uint8_t enc[IOMT_KEYTREE_CONF_LEN], want[IOMT_KEYTREE_CONF_LEN], again[IOMT_KEYTREE_CONF_LEN];
	struct iomt_keytree_conf c;

	ASSERT_EQ(unhex("01 0000000067748580 0000012c 03 016e 0018 000c 0000 0000 0000 00015180",
			want), sizeof(want));
	ASSERT_EQ(iomt_keytree_conf_encode(&year, enc), IOMT_OK);
	ASSERT_MEMEQ(enc, want, sizeof(want));
	ASSERT_EQ(iomt_keytree_conf_decode(&c, enc, sizeof(enc)), IOMT_OK);
	ASSERT_EQ(iomt_keytree_conf_encode(&c, again), IOMT_OK);
	ASSERT_MEMEQ(again, want, sizeof(want));
	ASSERT_EQ(c.epoch_start, year.epoch_start);
	ASSERT_EQ(c.arity[2], 12);
	ASSERT_EQ(c.refresh_period_s, 86400);
}

/* Each mutation breaks exactly one rule of PROTOCOL.md 6.1. */
TEST(conf_rejects_each_broken_rule)
{
	struct bad { const char *why; struct iomt_keytree_conf c; };
	static const struct bad bad[] = {
		{ "version 0", { 0, 0, 1, 1, { 2 }, 0 } },
		{ "version 2", { 2, 0, 1, 1, { 2 }, 0 } },
		{ "depth 0", { 1, 0, 1, 0, { 0 }, 0 } },
		{ "depth 7", { 1, 0, 1, 7, { 2, 2, 2, 2, 2, 2 }, 0 } },
		{ "leaf period 0", { 1, 0, 0, 1, { 2 }, 0 } },
		{ "arity 1", { 1, 0, 1, 2, { 2, 1 }, 0 } },
		{ "arity 0 in use", { 1, 0, 1, 2, { 0, 2 }, 0 } },
		{ "unused arity set", { 1, 0, 1, 1, { 2, 2 }, 0 } },
		{ "unused last arity set", { 1, 0, 1, 5, { 2, 2, 2, 2, 2, 2 }, 0 } },
		{ "2^40 + leaves", { 1, 0, 1, 3, { 65535, 65535, 257 }, 0 } },
		{ "end after 2^64 - 1", { 1, UINT64_MAX - 5, 1, 1, { 6 }, 0 } },
		{ "end overflows 64 bits", { 1, 0, UINT32_MAX, 4, { 1024, 1024, 1024, 1024 }, 0 } },
		{ "refresh not a subtree (7 h)", { 1, 0, 300, 3, { 366, 24, 12 }, 7 * 3600 } },
		{ "refresh not a leaf multiple", { 1, 0, 300, 3, { 366, 24, 12 }, 450 } },
		{ "refresh longer than the tree", { 1, 0, 300, 2, { 24, 12 }, 2 * 86400 } },
		{ "more than 2^32 epochs", { 1, 0, 1, 3, { 65535, 65535, 2 }, 1 } },
		{ "2^32 + 2^22 epochs", { 1, 0, 1, 4, { 1024, 1024, 1025, 4 }, 1 } },
	};
	struct iomt_keytree_shape sh;
	uint8_t enc[IOMT_KEYTREE_CONF_LEN];
	struct iomt_keytree_conf c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (iomt_keytree_shape(&bad[i].c, &sh) != IOMT_EMALFORMED)
			TH_LOG("accepted: %s", bad[i].why);
		ASSERT_EQ(iomt_keytree_shape(&bad[i].c, &sh), IOMT_EMALFORMED);
		ASSERT_EQ(iomt_keytree_conf_encode(&bad[i].c, enc), IOMT_EMALFORMED);
	}
	/* The same rules on the wire: corrupt a valid encoding byte by byte. */
	ASSERT_EQ(iomt_keytree_conf_encode(&year, enc), IOMT_OK);
	enc[13] = 4;  /* depth 4 with arity[3] = 0 */
	ASSERT_EQ(iomt_keytree_conf_decode(&c, enc, sizeof(enc)), IOMT_EMALFORMED);
	ASSERT_EQ(c.depth, 0);  /* zeroed on error */
	ASSERT_EQ(iomt_keytree_conf_encode(&year, enc), IOMT_OK);
	enc[29] ^= 1;       /* refresh 86401 s */
	ASSERT_EQ(iomt_keytree_conf_decode(&c, enc, sizeof(enc)), IOMT_EMALFORMED);
	ASSERT_EQ(iomt_keytree_conf_encode(&year, enc), IOMT_OK);
	ASSERT_EQ(iomt_keytree_conf_decode(&c, enc, sizeof(enc) - 1), IOMT_ESIZE);
	ASSERT_EQ(iomt_keytree_conf_decode(&c, enc, sizeof(enc) + 1), IOMT_ESIZE);
	ASSERT_EQ(iomt_keytree_conf_decode(NULL, enc, sizeof(enc)), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_conf_decode(&c, NULL, sizeof(enc)), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_conf_encode(&year, NULL), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_shape(NULL, &sh), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_shape(&year, NULL), IOMT_EINVAL);
}

/* The limits themselves are accepted. */
TEST(conf_accepts_the_limits)
{
	static const struct iomt_keytree_conf ok[] = {
		/* exactly 2^40 leaves */
		{ 1, 0, 1, 4, { 1024, 1024, 1024, 1024 }, 0 },
		/* exactly 2^32 epochs of one leaf */
		{ 1, 0, 1, 4, { 1024, 1024, 1024, 4 }, 1 },
		/* ends at 2^64 - 1 exactly */
		{ 1, UINT64_MAX - 6, 1, 1, { 6 }, 6 },
		/* six levels of arity 2, refresh every leaf */
		{ 1, 0, 1, 6, { 2, 2, 2, 2, 2, 2 }, 1 },
	};
	struct iomt_keytree_conf c = { 1, 0, 1, 2, { 65535, 65535 }, 1 };
	struct iomt_keytree_shape sh;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ASSERT_EQ(iomt_keytree_shape(&ok[i], &sh), IOMT_OK);
	ASSERT_EQ(iomt_keytree_shape(&ok[0], &sh), IOMT_OK);
	ASSERT_EQ(sh.span[0], IOMT_KEYTREE_MAX_LEAVES);
	ASSERT_EQ(iomt_keytree_shape(&ok[1], &sh), IOMT_OK);
	ASSERT_EQ(sh.epochs, (uint64_t)1 << 32);
	/* 65535^2 < 2^32 epochs of one leaf each */
	ASSERT_EQ(iomt_keytree_shape(&c, &sh), IOMT_OK);
	ASSERT_EQ(sh.epochs, 65535ull * 65535);
	ASSERT_EQ(sh.epoch_level, 2);
	ASSERT_EQ(iomt_keytree_shape(&ok[3], &sh), IOMT_OK);
	ASSERT_EQ(sh.epoch_level, 6);
	ASSERT_EQ(sh.epochs, 64);
}

/* The calendar examples of PROTOCOL.md 6.1, as documented. */
TEST(calendar_examples)
{
	struct ex {
		struct iomt_keytree_conf c;
		uint64_t leaves, epochs;
		unsigned epoch_level;
	};
	static const struct ex ex[] = {
		/* one day: hour -> 5 min, never refreshed */
		{ { 1, 1735689600, 300, 2, { 24, 12 }, 0 }, 288, 1, 0 },
		/* one day: hourly refresh */
		{ { 1, 1735689600, 300, 2, { 24, 12 }, 3600 }, 288, 24, 1 },
		/* a (leap) year: day -> hour -> 5 min, daily refresh */
		{ { 1, 1735689600, 300, 3, { 366, 24, 12 }, 86400 }, 105408, 366, 1 },
		/* 52 weeks -> day -> hour -> 5 min, weekly refresh */
		{ { 1, 1735516800, 300, 4, { 52, 7, 24, 12 }, 604800 }, 104832, 52, 1 },
		/* 30 days -> hour -> minute -> second, hourly refresh */
		{ { 1, 1735689600, 1, 4, { 30, 24, 60, 60 }, 3600 }, 2592000, 720, 2 },
	};
	struct iomt_keytree_shape sh;

	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		ASSERT_EQ(iomt_keytree_shape(&ex[i].c, &sh), IOMT_OK);
		EXPECT_EQ(sh.span[0], ex[i].leaves);
		EXPECT_EQ(sh.epochs, ex[i].epochs);
		EXPECT_EQ(sh.epoch_level, ex[i].epoch_level);
		EXPECT_EQ(sh.epoch_leaves * ex[i].epochs, ex[i].leaves);
		EXPECT_EQ(sh.span[ex[i].c.depth], 1);
	}
}

/* ---- meta_Kdata and K_data_0 ---- */

TEST(meta_layout_and_rejects_zero_key_id)
{
	uint8_t enc[IOMT_KEYTREE_META_LEN], want[IOMT_KEYTREE_META_LEN];
	struct iomt_keytree_meta m, back;

	worked_meta(&m);
	ASSERT_EQ(unhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
			"0100000000677485800000012c03016e0018000c00000000000000015180"
			"b0b1b2b3b4b5b6b7b8b9babbbcbdbebf c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", want),
		  sizeof(want));
	ASSERT_EQ(iomt_keytree_meta_encode(&m, enc), IOMT_OK);
	ASSERT_MEMEQ(enc, want, sizeof(want));
	ASSERT_EQ(iomt_keytree_meta_decode(&back, enc, sizeof(enc)), IOMT_OK);
	ASSERT_MEMEQ(back.key_id, m.key_id, 16);
	ASSERT_MEMEQ(back.sensor_id, m.sensor_id, 16);
	ASSERT_MEMEQ(back.ppd_id, m.ppd_id, 16);
	ASSERT_EQ(back.conf.arity[0], 366);

	/* Absent identities (zero) are fine; a zero key id is not. */
	memset(m.sensor_id, 0, 16);
	memset(m.ppd_id, 0, 16);
	ASSERT_EQ(iomt_keytree_meta_encode(&m, enc), IOMT_OK);
	memset(m.key_id, 0, 16);
	ASSERT_EQ(iomt_keytree_meta_encode(&m, enc), IOMT_EMALFORMED);
	memset(enc, 0, 16);
	ASSERT_EQ(iomt_keytree_meta_decode(&back, enc, sizeof(enc)), IOMT_EMALFORMED);
	ASSERT_TRUE(iomt_ct_is_zero(&back, sizeof(back)));
	/* A bad Conf inside, and wrong sizes. */
	ASSERT_EQ(iomt_keytree_meta_encode(&m, want), IOMT_EMALFORMED);
	worked_meta(&m);
	m.conf.depth = 2;
	ASSERT_EQ(iomt_keytree_meta_encode(&m, enc), IOMT_EMALFORMED);
	want[16 + 13] = 0;  /* depth 0 on the wire */
	ASSERT_EQ(iomt_keytree_meta_decode(&back, want, sizeof(want)), IOMT_EMALFORMED);
	ASSERT_EQ(iomt_keytree_meta_decode(&back, enc, sizeof(enc) - 1), IOMT_ESIZE);
	ASSERT_EQ(iomt_keytree_meta_decode(&back, NULL, sizeof(enc)), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_meta_encode(NULL, enc), IOMT_EINVAL);
}

TEST(data_key0_matches_openssl_and_binds_every_field)
{
	struct tu_rng r = { 0x6b64617461 };
	struct iomt_keytree_meta m;
	uint8_t km[32], meta[IOMT_KEYTREE_META_LEN], got[16], want[16], base[16];

	for (int i = 0; i < 64; i++) {
		worked_meta(&m);
		tu_fill(&r, km, sizeof(km));
		tu_fill(&r, m.key_id, 16);
		tu_fill(&r, m.sensor_id, 16);
		tu_fill(&r, m.ppd_id, 16);
		m.key_id[0] |= 1;
		ASSERT_EQ(iomt_keytree_meta_encode(&m, meta), IOMT_OK);
		ossl_kmac(km, 32, "iomt/keytree/data-key", meta, sizeof(meta), want, 16);
		ASSERT_EQ(iomt_keytree_data_key0(km, &m, got), IOMT_OK);
		ASSERT_MEMEQ(got, want, 16);
	}
	/* Each field of meta_Kdata and K_master changes the key. */
	worked_meta(&m);
	seq_bytes(km, 32, 0);
	ASSERT_EQ(iomt_keytree_data_key0(km, &m, base), IOMT_OK);
	m.key_id[15] ^= 1;
	ASSERT_EQ(iomt_keytree_data_key0(km, &m, got), IOMT_OK);
	EXPECT_FALSE(iomt_ct_eq(got, base, 16));
	worked_meta(&m);
	m.conf.leaf_period_s = 600;
	m.conf.refresh_period_s = 2 * 86400;
	ASSERT_EQ(iomt_keytree_data_key0(km, &m, got), IOMT_OK);
	EXPECT_FALSE(iomt_ct_eq(got, base, 16));
	worked_meta(&m);
	m.sensor_id[0] ^= 1;
	ASSERT_EQ(iomt_keytree_data_key0(km, &m, got), IOMT_OK);
	EXPECT_FALSE(iomt_ct_eq(got, base, 16));
	worked_meta(&m);
	m.ppd_id[0] ^= 1;
	ASSERT_EQ(iomt_keytree_data_key0(km, &m, got), IOMT_OK);
	EXPECT_FALSE(iomt_ct_eq(got, base, 16));
	worked_meta(&m);
	km[31] ^= 1;
	ASSERT_EQ(iomt_keytree_data_key0(km, &m, got), IOMT_OK);
	EXPECT_FALSE(iomt_ct_eq(got, base, 16));
	ASSERT_EQ(iomt_keytree_data_key0(NULL, &m, got), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_data_key0(km, NULL, got), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_data_key0(km, &m, NULL), IOMT_EINVAL);
	memset(m.key_id, 0, 16);
	ASSERT_EQ(iomt_keytree_data_key0(km, &m, got), IOMT_EMALFORMED);
}

/* ---- the worked vector of PROTOCOL.md 6.8 ---- */

TEST(protocol_md_worked_vector)
{
	static const char pt[] = "hr=072;spo2=98";
	struct iomt_keytree_meta m;
	struct iomt_keytree_node day, hour, leaf_node, back;
	struct iomt_keytree_sensor s;
	struct iomt_record_hdr h;
	uint8_t km[32], k0[16], k1[16], day_key[16], hour_key[16], kenc[16], id[13];
	uint8_t want[64], ref[16], rec[64], out[32], nonce[13];
	uint16_t label[6];
	uint64_t t = 1735689600ull + 86400 + 13 * 3600 + 7 * 300 + 42, leaf;
	uint32_t e;
	size_t len;

	worked_meta(&m);
	seq_bytes(km, 32, 0);

	ASSERT_EQ(iomt_keytree_data_key0(km, &m, k0), IOMT_OK);
	ASSERT_EQ(unhex("17b06c322f058f5a6566721953b4c634", want), 16);
	ASSERT_MEMEQ(k0, want, 16);
	ASSERT_EQ(iomt_keytree_data_key(&year, k0, 1, k1), IOMT_OK);
	ASSERT_EQ(unhex("26c17a1e2905c0d6b39b39bd6f1cb615", want), 16);
	ASSERT_MEMEQ(k1, want, 16);
	ref_refresh(k0, ref);
	ASSERT_MEMEQ(ref, k1, 16);

	ASSERT_EQ(iomt_keytree_locate(&year, t, &e, &leaf), IOMT_OK);
	ASSERT_EQ(e, 1);
	ASSERT_EQ(leaf, 451);  /* 1 * 288 + 13 * 12 + 7 */
	ref_digits(&year, leaf, label);
	ASSERT_EQ(label[0], 1);
	ASSERT_EQ(label[1], 13);
	ASSERT_EQ(label[2], 7);

	/* The day (epoch 1) and hour-13 nodes, from K_data_1. */
	ASSERT_EQ(iomt_keytree_node_of(&year, leaf, 1, &day), IOMT_OK);
	ASSERT_EQ(iomt_keytree_node_encode(&year, &day, id), IOMT_OK);
	ASSERT_EQ(unhex("01 0001 0000 0000 0000 0000 0000", want), 13);
	ASSERT_MEMEQ(id, want, 13);
	ASSERT_EQ(iomt_keytree_node_key(&year, 1, k1, &day, day_key), IOMT_OK);
	ASSERT_EQ(unhex("2ef7b590ffe9e2e71e09a7e20ef7cd8b", want), 16);
	ASSERT_MEMEQ(day_key, want, 16);
	ref_node(k1, label, 1, ref);
	ASSERT_MEMEQ(ref, day_key, 16);

	ASSERT_EQ(iomt_keytree_node_of(&year, leaf, 2, &hour), IOMT_OK);
	ASSERT_EQ(iomt_keytree_node_encode(&year, &hour, id), IOMT_OK);
	ASSERT_EQ(unhex("02 0001 000d 0000 0000 0000 0000", want), 13);
	ASSERT_MEMEQ(id, want, 13);
	ASSERT_EQ(iomt_keytree_node_decode(&year, &back, id, 13), IOMT_OK);
	ASSERT_MEMEQ(&back, &hour, sizeof(back));
	ASSERT_EQ(iomt_keytree_node_key(&year, 1, k1, &hour, hour_key), IOMT_OK);
	ASSERT_EQ(unhex("1963a687851d98539e6450d668a310b5", want), 16);
	ASSERT_MEMEQ(hour_key, want, 16);
	ref_node(k1, label, 2, ref);
	ASSERT_MEMEQ(ref, hour_key, 16);

	/* K_enc: from the hour key (cloud), from K_data_1 (PPD), by the sensor. */
	ASSERT_EQ(iomt_keytree_leaf_key(&year, &hour, hour_key, 1, leaf, kenc), IOMT_OK);
	ASSERT_EQ(unhex("ff9874f74c8dbb657f97a6f6e9751f37", want), 16);
	ASSERT_MEMEQ(kenc, want, 16);
	ref_node(k1, label, 3, ref);
	ASSERT_MEMEQ(ref, kenc, 16);
	ASSERT_EQ(iomt_keytree_node_of(&year, leaf, 3, &leaf_node), IOMT_OK);
	ASSERT_EQ(iomt_keytree_node_encode(&year, &leaf_node, id), IOMT_OK);
	ASSERT_EQ(unhex("03 0001 000d 0007 0000 0000 0000", want), 13);
	ASSERT_MEMEQ(id, want, 13);
	ASSERT_EQ(iomt_keytree_node_key(&year, 1, k1, &leaf_node, ref), IOMT_OK);
	ASSERT_MEMEQ(ref, kenc, 16);
	ASSERT_EQ(iomt_keytree_sensor_init(&s, &year, m.key_id, k0, 0), IOMT_OK);
	ASSERT_EQ(iomt_keytree_sensor_key(&s, t, &e, &leaf, ref), IOMT_OK);
	ASSERT_MEMEQ(ref, kenc, 16);
	ASSERT_EQ(s.epoch, 1);
	ASSERT_MEMEQ(s.k_data, k1, 16);
	iomt_keytree_sensor_wipe(&s);

	/* The record: seq 5, 14 bytes of data. */
	memcpy(h.key_id, m.key_id, 16);
	h.epoch = e;
	h.leaf = leaf;
	h.seq = 5;
	ASSERT_EQ(iomt_record_nonce(&h, nonce), IOMT_OK);
	ASSERT_EQ(unhex("00000001 00000001c3 00000005", want), 13);
	ASSERT_MEMEQ(nonce, want, 13);
	ASSERT_EQ(iomt_record_seal(kenc, &h, (const uint8_t *)pt, 14, rec, sizeof(rec), &len),
		  IOMT_OK);
	ASSERT_EQ(len, 63);
	ASSERT_EQ(unhex("01 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 00000001 00000000000001c3 00000005"
			"9df87603cac8a84241721f82ac84 285b2d6a6ebd1e816cbec2f62e023d80", want), 63);
	ASSERT_MEMEQ(rec, want, 63);
	ASSERT_EQ(iomt_record_open(kenc, rec, len, &h, out, sizeof(out), &len), IOMT_OK);
	ASSERT_EQ(len, 14);
	ASSERT_MEMEQ(out, pt, 14);
}

/* ---- time, nodes and keys on small trees, exhaustively ---- */

TEST(locate_every_second)
{
	struct iomt_keytree_shape sh;
	uint64_t leaf, end;
	uint32_t e;

	ASSERT_EQ(iomt_keytree_shape(&small, &sh), IOMT_OK);
	ASSERT_EQ(sh.span[0], 12);
	ASSERT_EQ(sh.epochs, 2);
	end = small.epoch_start + 12 * small.leaf_period_s;
	for (uint64_t t = small.epoch_start - 20; t < end + 20; t++) {
		int err = iomt_keytree_locate(&small, t, &e, &leaf);

		if (t < small.epoch_start || t >= end) {
			ASSERT_EQ(err, IOMT_EINVAL);
			continue;
		}
		ASSERT_EQ(err, IOMT_OK);
		ASSERT_EQ(leaf, (t - small.epoch_start) / 7);
		/* e = (t - epoch_start) / refresh_period_s */
		ASSERT_EQ(e, (t - small.epoch_start) / 42);
	}
	ASSERT_EQ(iomt_keytree_locate(&small, UINT64_MAX, &e, &leaf), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_locate(&small, 0, &e, &leaf), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_locate(&small, 1000, NULL, &leaf), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_locate(&small, 1000, &e, NULL), IOMT_EINVAL);
}

/* Every node of a tree, as (level, first leaf): all nodes of all levels. */
struct all_nodes {
	struct iomt_keytree_node n[64];
	size_t count;
};

static void list_nodes(const struct iomt_keytree_conf *c, struct all_nodes *a)
{
	struct iomt_keytree_shape sh;

	ASSERT_EQ(iomt_keytree_shape(c, &sh), IOMT_OK);
	a->count = 0;
	for (unsigned lvl = 0; lvl <= c->depth; lvl++)
		for (uint64_t f = 0; f < sh.span[0]; f += sh.span[lvl]) {
			ASSERT_LT(a->count, 64);
			ASSERT_EQ(iomt_keytree_node_of(c, f, lvl, &a->n[a->count]), IOMT_OK);
			a->count++;
		}
}

FIXTURE(tree) {
	struct all_nodes nodes;
	struct iomt_keytree_shape sh;
	uint8_t k0[16];
};
FIXTURE_VARIANT(tree) {
	struct iomt_keytree_conf c;
};
/* epochs = level-1 nodes; the whole tree; every leaf; arity-3 root; depth 1 */
FIXTURE_VARIANT_ADD(tree, epoch_level_1) { .c = { 1, 1000, 7, 3, { 2, 3, 2 }, 42 } };
FIXTURE_VARIANT_ADD(tree, no_refresh) { .c = { 1, 50, 1, 3, { 3, 2, 2 }, 0 } };
FIXTURE_VARIANT_ADD(tree, refresh_every_leaf) { .c = { 1, 0, 5, 2, { 3, 4 }, 5 } };
FIXTURE_VARIANT_ADD(tree, epoch_level_2) { .c = { 1, 9, 2, 4, { 2, 2, 3, 2 }, 12 } };
FIXTURE_VARIANT_ADD(tree, depth_1) { .c = { 1, 0, 60, 1, { 16 }, 0 } };
FIXTURE_SETUP(tree)
{
	list_nodes(&variant->c, &self->nodes);
	ASSERT_EQ(iomt_keytree_shape(&variant->c, &self->sh), IOMT_OK);
	seq_bytes(self->k0, 16, 0x40);
}
FIXTURE_TEARDOWN(tree)
{
}

TEST_F(tree, node_ids_and_ranges)
{
	const struct iomt_keytree_conf *c = &variant->c;
	struct iomt_keytree_node back, bad;
	uint8_t id[13];
	uint64_t first, count;

	for (size_t i = 0; i < self->nodes.count; i++) {
		const struct iomt_keytree_node *n = &self->nodes.n[i];
		uint16_t label[6];

		ASSERT_EQ(iomt_keytree_node_encode(c, n, id), IOMT_OK);
		ASSERT_EQ(id[0], n->level);
		ASSERT_EQ(iomt_keytree_node_decode(c, &back, id, sizeof(id)), IOMT_OK);
		ASSERT_MEMEQ(&back, n, sizeof(back));
		ASSERT_EQ(iomt_keytree_node_range(c, n, &first, &count), IOMT_OK);
		ASSERT_EQ(count, self->sh.span[n->level]);
		/* the labels are the leading mixed-radix digits of every leaf under it */
		for (uint64_t l = first; l < first + count; l++) {
			ref_digits(c, l, label);
			ASSERT_MEMEQ(label, n->label, n->level * sizeof(label[0]));
		}
		/* decode rejects: a level too deep, a label too big, a stray label */
		id[0] = (uint8_t)(c->depth + 1);
		ASSERT_EQ(iomt_keytree_node_decode(c, &back, id, sizeof(id)), IOMT_EMALFORMED);
		ASSERT_TRUE(iomt_ct_is_zero(&back, sizeof(back)));
		if (n->level) {
			bad = *n;
			bad.label[n->level - 1] = c->arity[n->level - 1];
			ASSERT_EQ(iomt_keytree_node_encode(c, &bad, id), IOMT_EMALFORMED);
			ASSERT_EQ(iomt_keytree_node_range(c, &bad, &first, &count), IOMT_EMALFORMED);
		}
		if (n->level < 6) {
			bad = *n;
			bad.label[n->level] = 1;
			ASSERT_EQ(iomt_keytree_node_encode(c, &bad, id), IOMT_EMALFORMED);
			ASSERT_EQ(iomt_keytree_node_encode(c, n, id), IOMT_OK);
			id[1 + 2 * n->level + 1] = 1;
			ASSERT_EQ(iomt_keytree_node_decode(c, &back, id, sizeof(id)),
				  IOMT_EMALFORMED);
		}
	}
	ASSERT_EQ(iomt_keytree_node_decode(c, &back, id, 12), IOMT_ESIZE);
	ASSERT_EQ(iomt_keytree_node_decode(c, &back, id, 14), IOMT_ESIZE);
	ASSERT_EQ(iomt_keytree_node_of(c, self->sh.span[0], c->depth, &back), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_node_of(c, 0, c->depth + 1u, &back), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_node_range(c, &self->nodes.n[0], NULL, &count), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_node_encode(c, NULL, id), IOMT_EINVAL);
}

/* Every node key from K_data_e equals the OpenSSL chain; every leaf key
 * derived from every node holding it equals the direct one; every other
 * (node, leaf) and (epoch, node) pair is refused; all leaf keys differ. */
TEST_F_TIMEOUT(tree, keys_against_openssl, 120)
{
	const struct iomt_keytree_conf *c = &variant->c;
	uint8_t kd[16], nk[16], got[16], want[16];
	static uint8_t leaf_keys[64][16];
	uint64_t nleaves = self->sh.span[0];

	ASSERT_LE(nleaves, 64);
	for (uint32_t e = 0; e < self->sh.epochs; e++) {
		ref_data_key(self->k0, e, kd);
		ASSERT_EQ(iomt_keytree_data_key(c, self->k0, e, got), IOMT_OK);
		ASSERT_MEMEQ(got, kd, 16);
		for (size_t i = 0; i < self->nodes.count; i++) {
			const struct iomt_keytree_node *n = &self->nodes.n[i];
			uint64_t first, count;
			int in_epoch;

			ASSERT_EQ(iomt_keytree_node_range(c, n, &first, &count), IOMT_OK);
			in_epoch = n->level >= self->sh.epoch_level &&
				   first / self->sh.epoch_leaves == e;
			if (!in_epoch) {
				ASSERT_EQ(iomt_keytree_node_key(c, e, kd, n, nk), IOMT_EINVAL);
				continue;
			}
			ASSERT_EQ(iomt_keytree_node_key(c, e, kd, n, nk), IOMT_OK);
			ref_node(kd, n->label, n->level, want);
			ASSERT_MEMEQ(nk, want, 16);
			for (uint64_t l = 0; l < nleaves; l++) {
				uint16_t label[6];
				uint32_t le = (uint32_t)(l / self->sh.epoch_leaves);
				int err = iomt_keytree_leaf_key(c, n, nk, le, l, got);

				if (l < first || l >= first + count) {
					ASSERT_EQ(err, IOMT_EINVAL);
					continue;
				}
				ASSERT_EQ(err, IOMT_OK);
				ref_digits(c, l, label);
				ref_node(kd, label, c->depth, want);
				ASSERT_MEMEQ(got, want, 16);
				memcpy(leaf_keys[l], got, 16);
				/* the header's epoch must be the leaf's */
				ASSERT_EQ(iomt_keytree_leaf_key(c, n, nk, le + 1, l, got), IOMT_EINVAL);
			}
		}
	}
	/* Leaf keys are pairwise distinct (each leaf under its own epoch's key). */
	for (uint64_t a = 0; a < nleaves; a++)
		for (uint64_t b = a + 1; b < nleaves; b++)
			ASSERT_FALSE(iomt_ct_eq(leaf_keys[a], leaf_keys[b], 16));
	/* Beyond the last epoch, past the last leaf. */
	ASSERT_EQ(iomt_keytree_data_key(c, self->k0, (uint32_t)self->sh.epochs, got), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_leaf_key(c, &self->nodes.n[0], kd, 0, nleaves, got), IOMT_EINVAL);
}

/* The sensor's K_enc for every second of the tree equals the PPD's. */
TEST_F(tree, sensor_matches_ppd_every_second)
{
	const struct iomt_keytree_conf *c = &variant->c;
	struct iomt_keytree_sensor s;
	struct iomt_keytree_node n;
	uint8_t id[16], kd[16], got[16], want[16];
	uint64_t end = c->epoch_start + self->sh.span[0] * c->leaf_period_s, leaf;
	uint32_t e;

	seq_bytes(id, 16, 1);
	ASSERT_EQ(iomt_keytree_sensor_init(&s, c, id, self->k0, 0), IOMT_OK);
	for (uint64_t t = c->epoch_start; t < end; t++) {
		ASSERT_EQ(iomt_keytree_sensor_key(&s, t, &e, &leaf, got), IOMT_OK);
		ASSERT_EQ(leaf, (t - c->epoch_start) / c->leaf_period_s);
		ASSERT_EQ(e, leaf / self->sh.epoch_leaves);
		ASSERT_EQ(s.epoch, e);
		ASSERT_EQ(iomt_keytree_data_key(c, self->k0, e, kd), IOMT_OK);
		ASSERT_MEMEQ(s.k_data, kd, 16);
		ASSERT_EQ(iomt_keytree_node_of(c, leaf, c->depth, &n), IOMT_OK);
		ASSERT_EQ(iomt_keytree_node_key(c, e, kd, &n, want), IOMT_OK);
		ASSERT_MEMEQ(got, want, 16);
	}
	ASSERT_EQ(iomt_keytree_sensor_key(&s, end, &e, &leaf, got), IOMT_EINVAL);
	iomt_keytree_sensor_wipe(&s);
}

/* ---- refresh: one way, forward only ---- */

TEST(refresh_matches_openssl)
{
	struct iomt_keytree_shape sh;
	uint8_t k0[16], k[16], want[16];

	seq_bytes(k0, 16, 0x77);
	ASSERT_EQ(iomt_keytree_shape(&year, &sh), IOMT_OK);
	memcpy(want, k0, 16);
	for (uint32_t e = 0; e < sh.epochs; e++) {
		ASSERT_EQ(iomt_keytree_data_key(&year, k0, e, k), IOMT_OK);
		ASSERT_MEMEQ(k, want, 16);
		ref_refresh(want, want);
	}
	ASSERT_EQ(iomt_keytree_data_key(&year, k0, 366, k), IOMT_EINVAL);
	/* In place, and out-of-place gives the same. */
	ASSERT_EQ(iomt_keytree_refresh(k0, want), IOMT_OK);
	memcpy(k, k0, 16);
	ASSERT_EQ(iomt_keytree_refresh(k, k), IOMT_OK);
	ASSERT_MEMEQ(k, want, 16);
	/* data_key may write over its input */
	memcpy(k, k0, 16);
	ASSERT_EQ(iomt_keytree_data_key(&year, k, 1, k), IOMT_OK);
	ASSERT_MEMEQ(k, want, 16);
	ASSERT_EQ(iomt_keytree_refresh(NULL, k), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_refresh(k, NULL), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_data_key(&year, NULL, 0, k), IOMT_EINVAL);
}

/* 1 if needle[0..16) occurs anywhere in hay[0..n). */
static int contains(const void *hay, size_t n, const uint8_t needle[16])
{
	const uint8_t *h = hay;

	for (size_t i = 0; i + 16 <= n; i++)
		if (!memcmp(h + i, needle, 16))
			return 1;
	return 0;
}

/* What the sensor holds after a refresh: the new key only. Every key the
 * API derives from K_data_e+1 is none of epoch e's. */
TEST(refresh_is_one_way)
{
	struct iomt_keytree_sensor s, before;
	struct iomt_keytree_shape sh;
	struct iomt_keytree_node n;
	uint8_t id[16], k0[16], k[16], leafkeys[12][16];

	/* Only one secret field, of one key. */
	ASSERT_EQ(sizeof(s.k_data), 16);
	seq_bytes(k0, 16, 0x10);
	seq_bytes(id, 16, 0x20);
	ASSERT_EQ(iomt_keytree_shape(&small, &sh), IOMT_OK);
	ASSERT_EQ(iomt_keytree_sensor_init(&s, &small, id, k0, 0), IOMT_OK);
	ASSERT_EQ(iomt_keytree_sensor_advance(&s, 1), IOMT_OK);
	ASSERT_FALSE(contains(&s, sizeof(s), k0));
	ASSERT_EQ(iomt_keytree_data_key(&small, k0, 1, k), IOMT_OK);
	ASSERT_MEMEQ(s.k_data, k, 16);

	/* Epoch 0's leaf keys (0..5) against everything derivable from K_data_1:
	 * its refreshes, every node key of epoch 1, every leaf key of epoch 1. */
	for (uint64_t l = 0; l < 12; l++) {
		uint32_t e = (uint32_t)(l / 6);
		uint8_t kd[16];

		ASSERT_EQ(iomt_keytree_data_key(&small, k0, e, kd), IOMT_OK);
		ASSERT_EQ(iomt_keytree_node_of(&small, l, 3, &n), IOMT_OK);
		ASSERT_EQ(iomt_keytree_node_key(&small, e, kd, &n, leafkeys[l]), IOMT_OK);
	}
	for (uint64_t l = 6; l < 12; l++)
		for (unsigned lvl = 1; lvl <= 3; lvl++) {
			ASSERT_EQ(iomt_keytree_node_of(&small, l, lvl, &n), IOMT_OK);
			ASSERT_EQ(iomt_keytree_node_key(&small, 1, s.k_data, &n, k), IOMT_OK);
			ASSERT_FALSE(iomt_ct_eq(k, k0, 16));
			for (int j = 0; j < 6; j++)
				ASSERT_FALSE(iomt_ct_eq(k, leafkeys[j], 16));
		}
	/* K_data_1 cannot produce epoch 0's nodes at all: the PPD function
	 * refuses a node of another epoch, and epoch 0 is before it. */
	ASSERT_EQ(iomt_keytree_node_of(&small, 0, 3, &n), IOMT_OK);
	ASSERT_EQ(iomt_keytree_node_key(&small, 1, s.k_data, &n, k), IOMT_EINVAL);
	/* And no backward step exists: advancing to 0 fails, state unchanged. */
	before = s;
	ASSERT_EQ(iomt_keytree_sensor_advance(&s, 0), IOMT_ESTATE);
	ASSERT_MEMEQ(&s, &before, sizeof(s));
	iomt_keytree_sensor_wipe(&s);
	ASSERT_TRUE(iomt_ct_is_zero(&s, sizeof(s)));
}

TEST(sensor_never_goes_backwards)
{
	struct iomt_keytree_sensor s, before;
	uint8_t id[16], k0[16], k[16], kd[16];
	uint64_t leaf;
	uint32_t e;
	/* day 3, hour 2 of the year tree */
	uint64_t t3 = year.epoch_start + 3 * 86400 + 2 * 3600;

	seq_bytes(id, 16, 0xa0);
	seq_bytes(k0, 16, 0x00);
	ASSERT_EQ(iomt_keytree_sensor_init(&s, &year, id, k0, 0), IOMT_OK);
	ASSERT_EQ(iomt_keytree_sensor_key(&s, t3, &e, &leaf, k), IOMT_OK);
	ASSERT_EQ(e, 3);
	ASSERT_EQ(s.epoch, 3);
	/* An earlier record time in the same epoch is fine (leaves, not time,
	 * are the unit of the tree); an earlier epoch is refused. */
	ASSERT_EQ(iomt_keytree_sensor_key(&s, t3 - 3600, &e, &leaf, k), IOMT_OK);
	before = s;
	memset(k, 0x5a, sizeof(k));
	ASSERT_EQ(iomt_keytree_sensor_key(&s, t3 - 3 * 3600, &e, &leaf, k), IOMT_ESTATE);
	ASSERT_MEMEQ(&s, &before, sizeof(s));
	ASSERT_EQ(iomt_keytree_sensor_advance(&s, 2), IOMT_ESTATE);
	ASSERT_MEMEQ(&s, &before, sizeof(s));
	/* Outside the tree: refused without moving (a clock far in the future
	 * must not burn every key). */
	ASSERT_EQ(iomt_keytree_sensor_key(&s, year.epoch_start + 366 * 86400, &e, &leaf, k),
		  IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_sensor_key(&s, 0, &e, &leaf, k), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_sensor_advance(&s, 366), IOMT_EINVAL);
	ASSERT_MEMEQ(&s, &before, sizeof(s));
	/* Same epoch is a no-op; a jump forward skips straight there. */
	ASSERT_EQ(iomt_keytree_sensor_advance(&s, 3), IOMT_OK);
	ASSERT_MEMEQ(&s, &before, sizeof(s));
	ASSERT_EQ(iomt_keytree_sensor_advance(&s, 365), IOMT_OK);
	ASSERT_EQ(iomt_keytree_data_key(&year, k0, 365, kd), IOMT_OK);
	ASSERT_MEMEQ(s.k_data, kd, 16);
	ASSERT_EQ(iomt_keytree_sensor_key(&s, year.epoch_start + 366 * 86400 - 1, &e, &leaf, k),
		  IOMT_OK);
	ASSERT_EQ(leaf, 366 * 288 - 1);
	/* Wiped: nothing works any more. */
	iomt_keytree_sensor_wipe(&s);
	ASSERT_EQ(iomt_keytree_sensor_key(&s, t3, &e, &leaf, k), IOMT_ESTATE);
	ASSERT_EQ(iomt_keytree_sensor_advance(&s, 365), IOMT_ESTATE);
	iomt_keytree_sensor_wipe(NULL);
}

/* A sensor provisioned mid-life with K_data_e starts there. */
TEST(sensor_init_at_epoch_and_errors)
{
	struct iomt_keytree_sensor s;
	struct iomt_keytree_conf bad = year;
	uint8_t id[16], k0[16], k5[16], k[16], want[16];
	uint64_t leaf;
	uint32_t e;

	seq_bytes(id, 16, 0xa0);
	seq_bytes(k0, 16, 0x00);
	ASSERT_EQ(iomt_keytree_data_key(&year, k0, 5, k5), IOMT_OK);
	ASSERT_EQ(iomt_keytree_sensor_init(&s, &year, id, k5, 5), IOMT_OK);
	ASSERT_MEMEQ(s.key_id, id, 16);
	ASSERT_EQ(iomt_keytree_sensor_key(&s, year.epoch_start + 4 * 86400, &e, &leaf, k),
		  IOMT_ESTATE);
	ASSERT_EQ(iomt_keytree_sensor_key(&s, year.epoch_start + 5 * 86400, &e, &leaf, k),
		  IOMT_OK);
	ASSERT_EQ(leaf, 5 * 288);
	{
		struct iomt_keytree_node n;

		ASSERT_EQ(iomt_keytree_node_of(&year, leaf, 3, &n), IOMT_OK);
		ASSERT_EQ(iomt_keytree_node_key(&year, 5, k5, &n, want), IOMT_OK);
		ASSERT_MEMEQ(k, want, 16);
	}
	ASSERT_EQ(iomt_keytree_sensor_init(&s, &year, id, k0, 366), IOMT_EINVAL);
	ASSERT_TRUE(iomt_ct_is_zero(&s, sizeof(s)));
	bad.refresh_period_s = 1;
	ASSERT_EQ(iomt_keytree_sensor_init(&s, &bad, id, k0, 0), IOMT_EMALFORMED);
	memset(id, 0, 16);
	ASSERT_EQ(iomt_keytree_sensor_init(&s, &year, id, k0, 0), IOMT_EMALFORMED);
	ASSERT_EQ(iomt_keytree_sensor_init(&s, &year, NULL, k0, 0), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_sensor_init(&s, &year, k0, NULL, 0), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_sensor_init(NULL, &year, k0, k0, 0), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_sensor_key(&s, year.epoch_start, &e, &leaf, k), IOMT_ESTATE);
	ASSERT_EQ(iomt_keytree_sensor_key(&s, year.epoch_start, NULL, &leaf, k), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_sensor_advance(NULL, 0), IOMT_EINVAL);
}

/* ---- PPD and cloud derivation errors ---- */

TEST(node_and_leaf_key_errors)
{
	struct iomt_keytree_node n, day2;
	struct iomt_keytree_conf bad = year;
	uint8_t k[16], out[16];

	seq_bytes(k, 16, 3);
	/* The root spans every epoch of a refreshed tree: never handed out. */
	memset(&n, 0, sizeof(n));
	ASSERT_EQ(iomt_keytree_node_key(&year, 0, k, &n, out), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_leaf_key(&year, &n, k, 0, 0, out), IOMT_EINVAL);
	/* Day 2's node under epoch 1's key. */
	ASSERT_EQ(iomt_keytree_node_of(&year, 2 * 288, 1, &day2), IOMT_OK);
	ASSERT_EQ(iomt_keytree_node_key(&year, 1, k, &day2, out), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_node_key(&year, 2, k, &day2, out), IOMT_OK);
	/* A leaf of day 3 from day 2's key; a leaf past the tree. */
	ASSERT_EQ(iomt_keytree_leaf_key(&year, &day2, out, 3, 3 * 288, k), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_leaf_key(&year, &day2, out, 366, 366 * 288, k), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_leaf_key(&year, &day2, out, 2, 2 * 288 + 287, k), IOMT_OK);
	/* Malformed nodes, a bad Conf, NULLs. */
	n = day2;
	n.label[0] = 366;
	ASSERT_EQ(iomt_keytree_node_key(&year, 2, k, &n, out), IOMT_EMALFORMED);
	ASSERT_EQ(iomt_keytree_leaf_key(&year, &n, k, 2, 2 * 288, out), IOMT_EMALFORMED);
	n = day2;
	n.level = 4;
	ASSERT_EQ(iomt_keytree_node_key(&year, 2, k, &n, out), IOMT_EMALFORMED);
	bad.version = 0;
	ASSERT_EQ(iomt_keytree_node_key(&bad, 2, k, &day2, out), IOMT_EMALFORMED);
	ASSERT_EQ(iomt_keytree_leaf_key(&bad, &day2, k, 2, 2 * 288, out), IOMT_EMALFORMED);
	ASSERT_EQ(iomt_keytree_node_key(&year, 2, NULL, &day2, out), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_node_key(&year, 2, k, NULL, out), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_node_key(&year, 2, k, &day2, NULL), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_leaf_key(&year, &day2, NULL, 2, 2 * 288, out), IOMT_EINVAL);
	ASSERT_EQ(iomt_keytree_leaf_key(&year, &day2, k, 2, 2 * 288, NULL), IOMT_EINVAL);
}
