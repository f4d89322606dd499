/* SPDX-License-Identifier: MIT */
/*
 * lib/consent: PROVISION bodies, the signed consent request and the
 * RELEASE reply. Round trips, every truncation and extension refused,
 * every invalid field refused (nodes checked against the Conf's tree and
 * their epoch).
 */
#include "harness.h"
#include "testutil.h"
#include "consent.h"
#include "iomt_err.h"
#include "kdc.h"

/* One day, hour -> 5 min, hourly refresh: epochs are the 24 hour nodes. */
static const struct iomt_keytree_conf day = {
	.version = 1, .epoch_start = 1735689600, .leaf_period_s = 300, .depth = 2,
	.arity = { 24, 12 }, .refresh_period_s = 3600,
};

static struct iomt_consent_node node(uint32_t epoch, uint8_t level, uint16_t l0, uint16_t l1)
{
	struct iomt_consent_node n = { .epoch = epoch, .node = { .level = level } };

	n.node.label[0] = l0;
	n.node.label[1] = l1;
	return n;
}

static void request(struct iomt_consent_req *q, unsigned count, unsigned note_len, uint64_t seed)
{
	struct tu_rng rng = { seed };

	memset(q, 0, sizeof(*q));
	tu_fill(&rng, q->request_id, sizeof(q->request_id));
	q->created_ms = 1735700000000ULL;
	q->expires_ms = q->created_ms + 600000;
	ASSERT_EQ(iomt_kdc_name_from_text(q->requester, "cloud-app"), 0);
	q->purpose = IOMT_PURPOSE_TREATMENT;
	q->decrypt_for_s = 86400;
	q->from_ms = 1735689600000ULL;
	q->to_ms = q->from_ms + 86400000ULL - 1;
	tu_fill(&rng, q->meta.key_id, sizeof(q->meta.key_id));
	q->meta.conf = day;
	memcpy(q->meta.sensor_id, "sensor-1", 8);
	memcpy(q->meta.ppd_id, "ppd-alice", 9);
	q->count = (uint16_t)count;
	for (unsigned i = 0; i < count; i++)
		q->nodes[i] = i % 2 ? node(i % 24, 2, (uint16_t)(i % 24), (uint16_t)(i % 12))
				    : node(i % 24, 1, (uint16_t)(i % 24), 0);
	q->note_len = (uint8_t)note_len;
	for (unsigned i = 0; i < note_len; i++)
		q->note[i] = (char)('a' + i % 26);
	tu_fill(&rng, q->sig, sizeof(q->sig));
}

static size_t encode(const struct iomt_consent_req *q, uint8_t *out)
{
	size_t n = 0;

	ASSERT_EQ(iomt_consent_encode(q, out, IOMT_CONSENT_MAX_LEN + 1, &n), IOMT_OK);
	return n;
}

TEST(sizes)
{
	ASSERT_EQ(IOMT_CONSENT_FIXED_LEN, 150);
	ASSERT_EQ(IOMT_CONSENT_MIN_LEN, 150 + 17 + 1 + 64);
	ASSERT_EQ(IOMT_CONSENT_MAX_LEN, 150 + 64 * 17 + 1 + 255 + 64);
	ASSERT_EQ(IOMT_PROVISION_REQ_LEN, 46);
	ASSERT_EQ(IOMT_PROVISION_REP_LEN, 94);
	ASSERT_EQ(IOMT_RELEASE_KEY_ENTRY_LEN, 33);
	ASSERT_EQ(iomt_consent_signed_len(300), 236);
	ASSERT_EQ(iomt_consent_signed_len(64), 0);
}

TEST(consent_round_trip)
{
	static uint8_t buf[IOMT_CONSENT_MAX_LEN + 1], again[IOMT_CONSENT_MAX_LEN + 1];
	static struct iomt_consent_req q, d;
	const unsigned counts[] = { 1, 2, 17, 64 }, notes[] = { 0, 1, 80, 255 };

	for (unsigned c = 0; c < 4; c++)
		for (unsigned t = 0; t < 4; t++) {
			size_t n, m;

			request(&q, counts[c], notes[t], c * 4 + t);
			n = encode(&q, buf);
			ASSERT_EQ(n, IOMT_CONSENT_FIXED_LEN + counts[c] * 17 + 1 + notes[t] + 64);
			ASSERT_EQ(iomt_consent_decode(&d, buf, n), IOMT_OK);
			ASSERT_MEMEQ(d.request_id, q.request_id, 16);
			ASSERT_EQ(d.created_ms, q.created_ms);
			ASSERT_EQ(d.expires_ms, q.expires_ms);
			ASSERT_MEMEQ(d.requester, q.requester, 16);
			ASSERT_EQ(d.purpose, q.purpose);
			ASSERT_EQ(d.decrypt_for_s, q.decrypt_for_s);
			ASSERT_EQ(d.from_ms, q.from_ms);
			ASSERT_EQ(d.to_ms, q.to_ms);
			ASSERT_MEMEQ(d.meta.key_id, q.meta.key_id, 16);
			ASSERT_EQ(d.count, q.count);
			for (unsigned i = 0; i < q.count; i++) {
				ASSERT_EQ(d.nodes[i].epoch, q.nodes[i].epoch);
				ASSERT_EQ(d.nodes[i].node.level, q.nodes[i].node.level);
				ASSERT_MEMEQ(d.nodes[i].node.label, q.nodes[i].node.label,
					     sizeof(q.nodes[i].node.label));
			}
			ASSERT_EQ(d.note_len, q.note_len);
			ASSERT_MEMEQ(d.note, q.note, q.note_len);
			ASSERT_EQ(d.note[d.note_len], '\0');
			ASSERT_MEMEQ(d.sig, q.sig, 64);
			ASSERT_EQ(iomt_consent_encode(&d, again, sizeof(again), &m), IOMT_OK);
			ASSERT_EQ(m, n);
			ASSERT_MEMEQ(again, buf, n);
			/* A short buffer. */
			ASSERT_EQ(iomt_consent_encode(&q, again, n - 1, &m), IOMT_ESIZE);
		}
}

TEST(consent_every_truncation_and_extension_refused)
{
	static uint8_t buf[IOMT_CONSENT_MAX_LEN + 2];
	static struct iomt_consent_req q, d;
	const unsigned shapes[][2] = { { 1, 0 }, { 3, 10 }, { 64, 255 } };

	for (unsigned s = 0; s < 3; s++) {
		size_t n;

		request(&q, shapes[s][0], shapes[s][1], 100 + s);
		n = encode(&q, buf);
		for (size_t len = 0; len < n; len++)
			EXPECT_NE(iomt_consent_decode(&d, buf, len), IOMT_OK);
		buf[n] = 0;
		buf[n + 1] = 0;
		EXPECT_NE(iomt_consent_decode(&d, buf, n + 1), IOMT_OK);
		EXPECT_NE(iomt_consent_decode(&d, buf, n + 2), IOMT_OK);
		EXPECT_EQ(iomt_consent_decode(&d, buf, n), IOMT_OK);
	}
}

/* Changes one field of a valid encoding, expects the decoder to refuse. */
static void refused_at(const uint8_t *good, size_t n, size_t off, const void *val, size_t len)
{
	static uint8_t b[IOMT_CONSENT_MAX_LEN];
	static struct iomt_consent_req d;

	memcpy(b, good, n);
	memcpy(b + off, val, len);
	if (iomt_consent_decode(&d, b, n) != IOMT_EMALFORMED)
		TH_LOG("field at offset %zu (%zu bytes) not refused", off, len);
	EXPECT_EQ(iomt_consent_decode(&d, b, n), IOMT_EMALFORMED);
	/* Nothing is left behind from a refused request. */
	EXPECT_EQ(d.count, 0);
}

TEST(consent_invalid_fields_refused)
{
	static uint8_t buf[IOMT_CONSENT_MAX_LEN + 1];
	static struct iomt_consent_req q, bad;
	const uint8_t two = 2, zero = 0, five = 5, x41 = 0x41;
	const uint8_t c65[2] = { 0, 65 }, c0[2] = { 0, 0 };
	const uint8_t future[8] = { 0xff, 0, 0, 0, 0, 0, 0, 0 };
	const uint8_t zero16[16] = { 0 }, bad_name[2] = { ' ', 0 };
	const uint8_t ep5[4] = { 0, 0, 0, 5 }, ep24[4] = { 0, 0, 0, 24 };
	const uint8_t lvl0[1] = { 0 }, lvl3[1] = { 3 }, l24[2] = { 0, 24 }, l12[2] = { 0, 12 };
	const size_t req = 33, purpose = 49, from = 54, to = 62, meta = 70, count = 148, n0 = 150;
	size_t n, m;

	request(&q, 3, 5, 7);
	n = encode(&q, buf);
	ASSERT_EQ(buf[purpose], IOMT_PURPOSE_TREATMENT);
	refused_at(buf, n, 0, &two, 1);                 /* version */
	refused_at(buf, n, purpose, &zero, 1);          /* purpose 0 .. */
	refused_at(buf, n, purpose, &five, 1);          /* .. and past the last */
	refused_at(buf, n, req, zero16, 16);            /* empty requester */
	refused_at(buf, n, req, bad_name, 2);           /* not a name */
	refused_at(buf, n, from, future, 8);            /* from > to */
	refused_at(buf, n, to, zero16, 8);              /* to < from */
	refused_at(buf, n, 17, future, 8);              /* created > expires */
	refused_at(buf, n, meta, zero16, 16);           /* meta: zero key id */
	refused_at(buf, n, meta + 16, &two, 1);         /* meta: Conf version */
	refused_at(buf, n, n0, ep5, 4);                 /* node 0 (hour 0) in epoch 5 */
	refused_at(buf, n, n0, ep24, 4);                /* no epoch 24 */
	refused_at(buf, n, n0 + 4, lvl0, 1);            /* the root spans every epoch */
	refused_at(buf, n, n0 + 4, lvl3, 1);            /* deeper than the tree */
	refused_at(buf, n, n0 + 17 + 5, l24, 2);        /* label past arity[0] */
	refused_at(buf, n, n0 + 17 + 7, l12, 2);        /* label past arity[1] */
	refused_at(buf, n, n0 + 3 * 17 + 1 + 2, "\0", 1); /* NUL in the note */
	/* The count must match the length: ESIZE, as a truncation is. */
	{
		static uint8_t b[IOMT_CONSENT_MAX_LEN];
		static struct iomt_consent_req d;

		memcpy(b, buf, n);
		memcpy(b + count, c65, 2);
		EXPECT_NE(iomt_consent_decode(&d, b, n), IOMT_OK);
		memcpy(b + count, c0, 2);
		EXPECT_NE(iomt_consent_decode(&d, b, n), IOMT_OK);
		memcpy(b, buf, n);
		b[n0 + 3 * 17] = x41;                   /* note length past the end */
		EXPECT_EQ(iomt_consent_decode(&d, b, n), IOMT_ESIZE);
	}
	/* The encoder refuses the same things. */
	bad = q; bad.purpose = 0;
	EXPECT_EQ(iomt_consent_encode(&bad, buf, sizeof(buf), &m), IOMT_EMALFORMED);
	bad = q; bad.count = 0;
	EXPECT_EQ(iomt_consent_encode(&bad, buf, sizeof(buf), &m), IOMT_EMALFORMED);
	bad = q; bad.count = 65;
	EXPECT_EQ(iomt_consent_encode(&bad, buf, sizeof(buf), &m), IOMT_EMALFORMED);
	bad = q; bad.from_ms = bad.to_ms + 1;
	EXPECT_EQ(iomt_consent_encode(&bad, buf, sizeof(buf), &m), IOMT_EMALFORMED);
	bad = q; bad.note[2] = '\0';
	EXPECT_EQ(iomt_consent_encode(&bad, buf, sizeof(buf), &m), IOMT_EMALFORMED);
	bad = q; bad.nodes[1].epoch = 2;
	EXPECT_EQ(iomt_consent_encode(&bad, buf, sizeof(buf), &m), IOMT_EMALFORMED);
	bad = q; bad.nodes[0].node.level = 0;
	EXPECT_EQ(iomt_consent_encode(&bad, buf, sizeof(buf), &m), IOMT_EMALFORMED);
	bad = q; bad.meta.conf.depth = 0;
	EXPECT_EQ(iomt_consent_encode(&bad, buf, sizeof(buf), &m), IOMT_EMALFORMED);
	bad = q; memset(bad.meta.key_id, 0, 16);
	EXPECT_EQ(iomt_consent_encode(&bad, buf, sizeof(buf), &m), IOMT_EMALFORMED);
	bad = q; memset(bad.requester, 0, 16);
	EXPECT_EQ(iomt_consent_encode(&bad, buf, sizeof(buf), &m), IOMT_EMALFORMED);
}

TEST(consent_without_refresh_allows_the_root)
{
	static uint8_t buf[IOMT_CONSENT_MAX_LEN + 1];
	static struct iomt_consent_req q, d;
	size_t n;

	request(&q, 1, 0, 9);
	q.meta.conf.refresh_period_s = 0;         /* one epoch: the whole tree */
	q.nodes[0] = node(0, 0, 0, 0);
	n = encode(&q, buf);
	ASSERT_EQ(iomt_consent_decode(&d, buf, n), IOMT_OK);
	q.nodes[0] = node(1, 1, 3, 0);            /* there is no epoch 1 */
	ASSERT_EQ(iomt_consent_encode(&q, buf, sizeof(buf), &n), IOMT_EMALFORMED);
}

TEST(provision_round_trip_and_refusals)
{
	uint8_t req[IOMT_PROVISION_REQ_LEN + 1], rep[IOMT_PROVISION_REP_LEN + 1], id[16], k[16];
	uint8_t sensor[16] = "sensor-1", k0[16];
	struct iomt_keytree_conf c, bad = day;
	struct iomt_keytree_meta m = { .conf = day }, d;

	ASSERT_EQ(iomt_provision_req_encode(sensor, &day, req), IOMT_OK);
	ASSERT_EQ(iomt_provision_req_decode(id, &c, req, IOMT_PROVISION_REQ_LEN), IOMT_OK);
	ASSERT_MEMEQ(id, sensor, 16);
	ASSERT_EQ(c.leaf_period_s, 300);
	ASSERT_EQ(c.refresh_period_s, 3600);
	/* No I_sensor: sixteen zeros. */
	ASSERT_EQ(iomt_provision_req_encode(NULL, &day, req), IOMT_OK);
	ASSERT_EQ(iomt_provision_req_decode(id, &c, req, IOMT_PROVISION_REQ_LEN), IOMT_OK);
	for (int i = 0; i < 16; i++)
		ASSERT_EQ(id[i], 0);
	for (size_t len = 0; len <= sizeof(req); len++)
		if (len != IOMT_PROVISION_REQ_LEN)
			EXPECT_EQ(iomt_provision_req_decode(id, &c, req, len), IOMT_ESIZE);
	bad.refresh_period_s = 1000;              /* not one node of a level */
	EXPECT_EQ(iomt_provision_req_encode(sensor, &bad, req), IOMT_EMALFORMED);
	ASSERT_EQ(iomt_provision_req_encode(sensor, &day, req), IOMT_OK);
	req[16 + 13] = 9;                          /* depth 9 */
	EXPECT_EQ(iomt_provision_req_decode(id, &c, req, IOMT_PROVISION_REQ_LEN), IOMT_EMALFORMED);

	memset(m.key_id, 0x5a, 16);
	memcpy(m.sensor_id, sensor, 16);
	memcpy(m.ppd_id, "ppd-alice", 9);
	memset(k0, 0xc3, 16);
	ASSERT_EQ(iomt_provision_rep_encode(&m, k0, rep), IOMT_OK);
	ASSERT_EQ(iomt_provision_rep_decode(&d, k, rep, IOMT_PROVISION_REP_LEN), IOMT_OK);
	ASSERT_MEMEQ(k, k0, 16);
	ASSERT_MEMEQ(d.key_id, m.key_id, 16);
	ASSERT_MEMEQ(d.ppd_id, m.ppd_id, 16);
	for (size_t len = 0; len <= sizeof(rep); len++)
		if (len != IOMT_PROVISION_REP_LEN)
			EXPECT_EQ(iomt_provision_rep_decode(&d, k, rep, len), IOMT_ESIZE);
	memset(rep, 0, 16);                        /* zero key id */
	EXPECT_EQ(iomt_provision_rep_decode(&d, k, rep, IOMT_PROVISION_REP_LEN), IOMT_EMALFORMED);
	memset(m.key_id, 0, 16);
	EXPECT_EQ(iomt_provision_rep_encode(&m, k0, rep), IOMT_EMALFORMED);
}

TEST(release_round_trip_and_refusals)
{
	static struct iomt_consent_node nodes[64], got[64];
	static uint8_t keys[64][16], back[64][16], buf[16 + 2 + 64 * 33 + 1];
	uint8_t id[16], rid[16], reason;
	uint16_t count;
	size_t n;

	memset(id, 0x77, 16);
	for (unsigned i = 0; i < 64; i++) {
		nodes[i] = node(i % 24, 2, (uint16_t)(i % 24), (uint16_t)(i % 12));
		memset(keys[i], (int)i, 16);
	}
	for (uint16_t c = 1; c <= 64; c = (uint16_t)(c * 2)) {
		ASSERT_EQ(iomt_release_encode(id, nodes, (const uint8_t (*)[16])keys, c, buf,
					      sizeof(buf), &n), IOMT_OK);
		ASSERT_EQ(n, 18 + (size_t)c * 33);
		ASSERT_EQ(iomt_release_decode(&day, rid, got, back, 64, &count, buf, n), IOMT_OK);
		ASSERT_EQ(count, c);
		ASSERT_MEMEQ(rid, id, 16);
		ASSERT_MEMEQ(back, keys, (size_t)c * 16);
		for (unsigned i = 0; i < c; i++)
			ASSERT_EQ(got[i].node.label[1], nodes[i].node.label[1]);
		for (size_t len = 0; len < n; len++)
			EXPECT_NE(iomt_release_decode(&day, rid, got, back, 64, &count, buf, len),
				  IOMT_OK);
		buf[n] = 0;
		EXPECT_NE(iomt_release_decode(&day, rid, got, back, 64, &count, buf, n + 1), IOMT_OK);
		/* Fewer slots than keys. */
		if (c > 1)
			EXPECT_EQ(iomt_release_decode(&day, rid, got, back, c - 1u, &count, buf, n),
				  IOMT_ESIZE);
	}
	ASSERT_EQ(iomt_release_encode(id, nodes, (const uint8_t (*)[16])keys, 0, buf, sizeof(buf),
				      &n), IOMT_EMALFORMED);
	ASSERT_EQ(iomt_release_encode(id, nodes, (const uint8_t (*)[16])keys, 2, buf, 50, &n),
		  IOMT_ESIZE);
	/* A node the Conf does not have. */
	nodes[0] = node(3, 2, 3, 12);
	ASSERT_EQ(iomt_release_encode(id, nodes, (const uint8_t (*)[16])keys, 1, buf, sizeof(buf),
				      &n), IOMT_OK);
	EXPECT_EQ(iomt_release_decode(&day, rid, got, back, 64, &count, buf, n), IOMT_EMALFORMED);

	iomt_release_refusal_encode(id, IOMT_RELEASE_R_REPLAY, buf);
	ASSERT_EQ(iomt_release_refusal_decode(rid, &reason, buf, IOMT_RELEASE_REFUSAL_LEN), IOMT_OK);
	ASSERT_EQ(reason, IOMT_RELEASE_R_REPLAY);
	ASSERT_MEMEQ(rid, id, 16);
	EXPECT_EQ(iomt_release_refusal_decode(rid, &reason, buf, 16), IOMT_ESIZE);
	EXPECT_EQ(iomt_release_refusal_decode(rid, &reason, buf, 18), IOMT_ESIZE);
	buf[16] = 0;
	EXPECT_EQ(iomt_release_refusal_decode(rid, &reason, buf, 17), IOMT_EMALFORMED);
	buf[16] = 12;
	EXPECT_EQ(iomt_release_refusal_decode(rid, &reason, buf, 17), IOMT_EMALFORMED);
	EXPECT_STREQ(iomt_release_reason_name(IOMT_RELEASE_R_TIMEOUT), "timeout");
	EXPECT_STREQ(iomt_consent_purpose_name(IOMT_PURPOSE_RESEARCH), "research");
}
