/* SPDX-License-Identifier: MIT */
/*
 * lib/kchan: a request to a KDC-authenticated service and its reply. Round
 * trip against the real AP verification, every byte of a request and of a
 * reply changed (refused), a reply moved to another request (refused),
 * the size rules, and the vector of docs/PROTOCOL.md §7.
 */
#include "harness.h"
#include "testutil.h"
#include "kchan.h"
#include "kdc_box.h"
#include "ct.h"
#include "wire.h"
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

enum { SKEW = 300000, LIFE = 3600, N = IOMT_KDC_NAME_LEN };
static const uint64_t T0 = 1767225600000ULL;

struct world {
	struct tu_rng rng;
	uint8_t cname[N], sname[N], patient[N], ks[16], kab[16];
	struct iomt_kdc_client c;
};

/* A client holding a ticket for the service (HAVE_TICKET), built with the
 * service side's own ticket sealing. */
static void world_init(struct world *w, uint64_t seed)
{
	struct iomt_kdc_ticket_info info;
	uint8_t box_nonce[IOMT_KDC_BOX_NONCE_LEN];

	memset(w, 0, sizeof(*w));
	w->rng.s = seed;
	tu_fill(&w->rng, w->ks, 16);
	tu_fill(&w->rng, w->kab, 16);
	tu_fill(&w->rng, box_nonce, sizeof(box_nonce));
	ASSERT_EQ(iomt_kdc_name_from_text(w->cname, "cloud-app"), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_name_from_text(w->sname, "ppd-alice"), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kdc_client_init(&w->c, w->cname, 1, w->kab), IOMT_KDC_OK);
	memset(&info, 0, sizeof(info));
	memcpy(info.key, w->kab, 16);
	memcpy(info.cname, w->cname, N);
	info.ckind = IOMT_KDC_KIND_CLOUD;
	info.issue_ms = T0;
	info.lifetime_s = LIFE;
	ASSERT_EQ(iomt_kdc_ticket_seal(w->ks, w->sname, 2, &info, box_nonce, w->c.ticket),
		  IOMT_KDC_OK);
	memcpy(w->c.sess_key, w->kab, 16);
	memcpy(w->c.target, w->sname, N);
	w->c.tkt_issue_ms = T0;
	w->c.tkt_life_s = LIFE;
	w->c.state = IOMT_KDC_C_HAVE_TICKET;
}

static size_t seal_req(struct world *w, uint8_t op, const uint8_t *body, size_t len,
		       uint8_t *out, size_t cap, uint8_t session[16])
{
	uint8_t rnd[IOMT_KCHAN_RAND];
	size_t n = 0;

	tu_fill(&w->rng, rnd, sizeof(rnd));
	ASSERT_EQ(iomt_kchan_req_seal(&w->c, T0 + 1000, op, body, len, rnd, out, cap, &n, session),
		  IOMT_KDC_OK);
	ASSERT_EQ(n, IOMT_KCHAN_REQ_OVERHEAD + len);
	ASSERT_EQ(w->c.state, IOMT_KDC_C_AP_SENT);
	return n;
}

/* The service: 0 and the body, or the first code that refused it. */
static int serve(struct world *w, const uint8_t *req, size_t len, struct iomt_kdc_ap_result *r,
		 uint8_t *body, size_t cap, size_t *blen)
{
	const uint8_t *ap, *box;
	size_t box_len;
	uint8_t op;
	int rc = iomt_kchan_req_split(req, len, &ap, &op, &box, &box_len);

	if (!rc)
		rc = iomt_kdc_ap_verify(w->ks, w->sname, 2, ap, IOMT_KDC_AP_REQ_LEN, T0 + 1000, SKEW,
					r);
	if (!rc)
		rc = iomt_kchan_req_open(r->session, op, box, box_len, body, cap, blen);
	return rc;
}

TEST(round_trip)
{
	static uint8_t req[IOMT_KCHAN_REQ_OVERHEAD + 300], rep[IOMT_KCHAN_REP_OVERHEAD + 200];
	uint8_t body[300], got[300], answer[200], back[200], session[16], nonce[13], status = 9;
	struct iomt_kdc_ap_result r;
	struct world w;
	size_t n, blen = 0, rlen, alen = 0;

	world_init(&w, 1);
	for (size_t len = 0; len <= sizeof(body); len += 37) {
		tu_fill(&w.rng, body, len);
		n = seal_req(&w, IOMT_KCHAN_OP_RELEASE, body, len, req, sizeof(req), session);
		ASSERT_EQ(serve(&w, req, n, &r, got, sizeof(got), &blen), IOMT_KDC_OK);
		ASSERT_EQ(blen, len);
		ASSERT_MEMEQ(got, body, len);
		/* Both ends derived the same session key. */
		ASSERT_MEMEQ(r.session, session, 16);
		tu_fill(&w.rng, answer, len % 200);
		tu_fill(&w.rng, nonce, sizeof(nonce));
		ASSERT_EQ(iomt_kchan_rep_seal(r.session, r.auth_nonce, IOMT_KCHAN_DENIED, nonce,
					      answer, len % 200, rep, sizeof(rep), &rlen),
			  IOMT_KDC_OK);
		ASSERT_EQ(rlen, IOMT_KCHAN_REP_OVERHEAD + len % 200);
		ASSERT_EQ(iomt_kchan_rep_open(&w.c, session, rep, rlen, &status, back, sizeof(back),
					      &alen), IOMT_KDC_OK);
		ASSERT_EQ(status, IOMT_KCHAN_DENIED);
		ASSERT_EQ(alen, len % 200);
		ASSERT_MEMEQ(back, answer, alen);
		ASSERT_EQ(w.c.state, IOMT_KDC_C_ESTABLISHED);
		ASSERT_MEMEQ(w.c.session, session, 16);
		/* The same reply a second time: the client is no longer waiting. */
		ASSERT_EQ(iomt_kchan_rep_open(&w.c, session, rep, rlen, &status, back, sizeof(back),
					      &alen), IOMT_KDC_ERR_STATE);
	}
}

TEST(request_every_byte_tampered_is_refused)
{
	static uint8_t req[IOMT_KCHAN_REQ_OVERHEAD + 41];
	uint8_t body[40], got[41], session[16];
	struct iomt_kdc_ap_result r;
	struct world w;
	size_t n, blen;

	world_init(&w, 2);
	tu_fill(&w.rng, body, sizeof(body));
	n = seal_req(&w, IOMT_KCHAN_OP_PROVISION, body, sizeof(body), req, sizeof(req), session);
	ASSERT_EQ(serve(&w, req, n, &r, got, sizeof(got), &blen), IOMT_KDC_OK);
	for (size_t i = 0; i < n; i++) {
		for (unsigned bit = 0; bit < 8; bit += 7) {
			req[i] ^= (uint8_t)(1u << bit);
			EXPECT_NE(serve(&w, req, n, &r, got, sizeof(got), &blen), IOMT_KDC_OK);
			req[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* Cut short or extended: refused too. */
	EXPECT_NE(serve(&w, req, n - 1, &r, got, sizeof(got), &blen), IOMT_KDC_OK);
	req[n] = 0;
	EXPECT_NE(serve(&w, req, n + 1, &r, got, sizeof(got), &blen), IOMT_KDC_OK);
}

TEST(reply_every_byte_tampered_is_refused)
{
	uint8_t rep[IOMT_KCHAN_REP_OVERHEAD + 33], answer[33], back[64], session[16], nonce[13];
	static uint8_t req[IOMT_KCHAN_REQ_OVERHEAD + 8];
	uint8_t got[8], status = 77;
	struct iomt_kdc_ap_result r;
	struct world w;
	size_t n, blen, rlen, alen;

	world_init(&w, 3);
	n = seal_req(&w, IOMT_KCHAN_OP_RELEASE, (const uint8_t *)"12345678", 8, req, sizeof(req),
		     session);
	ASSERT_EQ(serve(&w, req, n, &r, got, sizeof(got), &blen), IOMT_KDC_OK);
	tu_fill(&w.rng, answer, sizeof(answer));
	tu_fill(&w.rng, nonce, sizeof(nonce));
	ASSERT_EQ(iomt_kchan_rep_seal(r.session, r.auth_nonce, IOMT_KCHAN_OK, nonce, answer,
				      sizeof(answer), rep, sizeof(rep), &rlen), IOMT_KDC_OK);
	for (size_t i = 0; i < rlen; i++) {
		rep[i] ^= 0x01;
		EXPECT_EQ(iomt_kchan_rep_open(&w.c, session, rep, rlen, &status, back, sizeof(back),
					      &alen), IOMT_KDC_ERR_BAD_MAC);
		EXPECT_EQ(w.c.state, IOMT_KDC_C_AP_SENT);
		EXPECT_EQ(status, 77);
		rep[i] ^= 0x01;
	}
	EXPECT_NE(iomt_kchan_rep_open(&w.c, session, rep, rlen - 1, &status, back, sizeof(back),
				      &alen), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kchan_rep_open(&w.c, session, rep, rlen, &status, back, sizeof(back), &alen),
		  IOMT_KDC_OK);
	ASSERT_EQ(status, IOMT_KCHAN_OK);
}

TEST(reply_to_another_request_is_refused)
{
	static uint8_t req_a[IOMT_KCHAN_REQ_OVERHEAD + 4], req_b[IOMT_KCHAN_REQ_OVERHEAD + 4];
	uint8_t rep[IOMT_KCHAN_REP_OVERHEAD + 4], sa[16], sb[16], nonce[13] = { 0 }, got[4];
	uint8_t back[4], status;
	struct iomt_kdc_ap_result ra, rb;
	struct world w;
	size_t na, nb, blen, rlen, alen;

	world_init(&w, 4);
	na = seal_req(&w, IOMT_KCHAN_OP_RELEASE, (const uint8_t *)"aaaa", 4, req_a, sizeof(req_a), sa);
	ASSERT_EQ(serve(&w, req_a, na, &ra, got, sizeof(got), &blen), IOMT_KDC_OK);
	/* A retry: a fresh AP_REQ and a fresh session key. */
	nb = seal_req(&w, IOMT_KCHAN_OP_RELEASE, (const uint8_t *)"bbbb", 4, req_b, sizeof(req_b), sb);
	ASSERT_EQ(serve(&w, req_b, nb, &rb, got, sizeof(got), &blen), IOMT_KDC_OK);
	ASSERT_FALSE(iomt_ct_eq(sa, sb, 16));
	/* The late answer to A: its key is not the one in flight. */
	ASSERT_EQ(iomt_kchan_rep_seal(ra.session, ra.auth_nonce, IOMT_KCHAN_OK, nonce,
				      (const uint8_t *)"AAAA", 4, rep, sizeof(rep), &rlen), IOMT_KDC_OK);
	EXPECT_EQ(iomt_kchan_rep_open(&w.c, sa, rep, rlen, &status, back, 4, &alen),
		  IOMT_KDC_ERR_STATE);
	EXPECT_EQ(iomt_kchan_rep_open(&w.c, sb, rep, rlen, &status, back, 4, &alen),
		  IOMT_KDC_ERR_BAD_MAC);
	/* B's key with A's authenticator nonce in the aad. */
	ASSERT_EQ(iomt_kchan_rep_seal(rb.session, ra.auth_nonce, IOMT_KCHAN_OK, nonce,
				      (const uint8_t *)"BBBB", 4, rep, sizeof(rep), &rlen), IOMT_KDC_OK);
	EXPECT_EQ(iomt_kchan_rep_open(&w.c, sb, rep, rlen, &status, back, 4, &alen),
		  IOMT_KDC_ERR_BAD_MAC);
	/* A request body moved under another AP_REQ does not open. */
	memcpy(req_b + IOMT_KCHAN_REQ_OVERHEAD - IOMT_KDC_BOX_OVERHEAD - 1 + 1,
	       req_a + IOMT_KCHAN_REQ_OVERHEAD - IOMT_KDC_BOX_OVERHEAD, IOMT_KDC_BOX_OVERHEAD + 4);
	EXPECT_EQ(iomt_kchan_req_open(rb.session, IOMT_KCHAN_OP_RELEASE,
				      req_b + IOMT_KDC_AP_REQ_LEN + 1, nb - IOMT_KDC_AP_REQ_LEN - 1,
				      got, sizeof(got), &blen), IOMT_KDC_ERR_BAD_MAC);
	/* The right one opens. */
	ASSERT_EQ(iomt_kchan_rep_seal(rb.session, rb.auth_nonce, IOMT_KCHAN_REFUSED, nonce, NULL, 0,
				      rep, sizeof(rep), &rlen), IOMT_KDC_OK);
	ASSERT_EQ(iomt_kchan_rep_open(&w.c, sb, rep, rlen, &status, back, 4, &alen), IOMT_KDC_OK);
	ASSERT_EQ(status, IOMT_KCHAN_REFUSED);
	ASSERT_EQ(alen, 0);
}

TEST(sizes_and_states)
{
	static uint8_t big[IOMT_KCHAN_REQ_OVERHEAD + IOMT_KCHAN_REQ_BODY_MAX + 1];
	static uint8_t body[IOMT_KCHAN_REQ_BODY_MAX + 1];
	uint8_t rnd[IOMT_KCHAN_RAND] = { 0 }, s[16], got[8], st;
	const uint8_t *ap, *box;
	struct world w;
	size_t n, bl;
	uint8_t op;

	ASSERT_EQ(IOMT_KCHAN_REQ_OVERHEAD, 193);
	ASSERT_EQ(IOMT_KCHAN_REP_OVERHEAD, 30);
	ASSERT_EQ(IOMT_KCHAN_REQ_OVERHEAD + IOMT_KCHAN_REQ_BODY_MAX, 65535);
	world_init(&w, 5);
	/* op 0, a body over the maximum, a short buffer: refused, state kept. */
	EXPECT_EQ(iomt_kchan_req_seal(&w.c, T0, 0, body, 1, rnd, big, sizeof(big), &n, s),
		  IOMT_KDC_ERR_MALFORMED);
	EXPECT_EQ(iomt_kchan_req_seal(&w.c, T0, 1, body, IOMT_KCHAN_REQ_BODY_MAX + 1, rnd, big,
				      sizeof(big), &n, s), IOMT_KDC_ERR_MALFORMED);
	EXPECT_EQ(iomt_kchan_req_seal(&w.c, T0, 1, body, 10, rnd, big, IOMT_KCHAN_REQ_OVERHEAD + 9,
				      &n, s), IOMT_KDC_ERR_MALFORMED);
	EXPECT_EQ(w.c.state, IOMT_KDC_C_HAVE_TICKET);
	/* Past the ticket's life. */
	EXPECT_EQ(iomt_kchan_req_seal(&w.c, T0 + LIFE * 1000ULL + 1, 1, body, 1, rnd, big,
				      sizeof(big), &n, s), IOMT_KDC_ERR_EXPIRED);
	ASSERT_EQ(iomt_kchan_req_seal(&w.c, T0, 1, body, IOMT_KCHAN_REQ_BODY_MAX, rnd, big,
				      sizeof(big), &n, s), IOMT_KDC_OK);
	ASSERT_EQ(n, 65535);
	ASSERT_EQ(iomt_kchan_req_split(big, n, &ap, &op, &box, &bl), IOMT_KDC_OK);
	ASSERT_EQ(bl, 65535 - 164);
	ASSERT_EQ(iomt_kchan_req_split(big, IOMT_KCHAN_REQ_OVERHEAD - 1, &ap, &op, &box, &bl),
		  IOMT_KDC_ERR_MALFORMED);
	big[IOMT_KDC_AP_REQ_LEN] = 0;
	ASSERT_EQ(iomt_kchan_req_split(big, n, &ap, &op, &box, &bl), IOMT_KDC_ERR_MALFORMED);
	EXPECT_EQ(iomt_kchan_req_open(s, 1, box, IOMT_KDC_BOX_OVERHEAD - 1, got, sizeof(got), &bl),
		  IOMT_KDC_ERR_MALFORMED);
	EXPECT_EQ(iomt_kchan_req_open(s, 1, box, IOMT_KDC_BOX_OVERHEAD + 9, got, 8, &bl),
		  IOMT_KDC_ERR_MALFORMED);
	EXPECT_EQ(iomt_kchan_rep_open(&w.c, s, big, IOMT_KCHAN_REP_OVERHEAD - 1, &st, got, 8, &bl),
		  IOMT_KDC_ERR_MALFORMED);
	EXPECT_EQ(iomt_kchan_rep_open(&w.c, s, big, IOMT_KCHAN_REP_OVERHEAD + 9, &st, got, 8, &bl),
		  IOMT_KDC_ERR_MALFORMED);
	EXPECT_EQ(iomt_kchan_rep_seal(s, rnd, 0, rnd, body, IOMT_KCHAN_REP_BODY_MAX + 1, big,
				      sizeof(big), &n), IOMT_KDC_ERR_MALFORMED);
	EXPECT_EQ(iomt_kchan_rep_seal(s, rnd, 0, rnd, body, 10, big, IOMT_KCHAN_REP_OVERHEAD + 9,
				      &n), IOMT_KDC_ERR_MALFORMED);
	/* A client without a ticket builds nothing; one not waiting opens nothing. */
	world_init(&w, 6);
	w.c.state = IOMT_KDC_C_HAVE_TGT;
	EXPECT_EQ(iomt_kchan_req_seal(&w.c, T0, 1, body, 1, rnd, big, sizeof(big), &n, s),
		  IOMT_KDC_ERR_STATE);
	EXPECT_EQ(iomt_kchan_rep_open(&w.c, s, big, IOMT_KCHAN_REP_OVERHEAD, &st, got, 8, &bl),
		  IOMT_KDC_ERR_STATE);
	EXPECT_STREQ(iomt_kchan_strstatus(IOMT_KCHAN_DENIED), "denied by the patient");
}

/* docs/PROTOCOL.md §7.4: fixed inputs, fixed bytes. */
static const char vec_session[] = "653caa20f822f9ca982695eeda2898eb";
static const char vec_req_tail[] =
	"202122232425262728292a2b2c"                                        /* N_auth */
	"09d9fdb35f5fcf1142b5dc7654271a631ceb8f300094ca7f"                  /* cname || ts */
	"756d2d30f6d9447be3744651b3f351e4"                                  /* tag */
	"02"                                                                /* op */
	"2d2e2f30313233343536373839"                                        /* N */
	"e052134f7732798d26ba43204ee56d59"                                  /* body */
	"764f0c61284d0e625d20669f105b920b";                                 /* tag */
static const char vec_rep[] =
	"00"                                                                /* status */
	"404142434445464748494a4b4c"                                        /* N */
	"c81a92404b05289d6c2e24dfd5f9279d"                                  /* body */
	"55972a30c824615b623c6aa291981da4";                                 /* tag */

static void hexs(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

TEST(vector)
{
	struct iomt_kdc_client c;
	uint8_t rnd[IOMT_KCHAN_RAND], body[16], session[16], nonce[13], answer[16], back[16];
	uint8_t req[IOMT_KCHAN_REQ_OVERHEAD + 16], rep[IOMT_KCHAN_REP_OVERHEAD + 16], st;
	char hex[2 * sizeof(req) + 1];
	size_t n, rn, bl;

	memset(&c, 0, sizeof(c));
	ASSERT_EQ(iomt_kdc_name_from_text(c.cname, "cloud-app"), IOMT_KDC_OK);
	for (int i = 0; i < 16; i++) {
		c.sess_key[i] = (uint8_t)i;                 /* K_AB = 00 01 .. 0f */
		body[i] = (uint8_t)(0xb0 + i);
		answer[i] = (uint8_t)(0xf0 + i);
	}
	memset(c.ticket, 0x54, sizeof(c.ticket));           /* opaque to the client */
	c.tkt_issue_ms = T0;
	c.tkt_life_s = LIFE;
	c.state = IOMT_KDC_C_HAVE_TICKET;
	for (int i = 0; i < IOMT_KCHAN_RAND; i++)
		rnd[i] = (uint8_t)(0x20 + i);
	for (int i = 0; i < 13; i++)
		nonce[i] = (uint8_t)(0x40 + i);
	ASSERT_EQ(iomt_kchan_req_seal(&c, T0 + 1000, IOMT_KCHAN_OP_RELEASE, body, 16, rnd, req,
				      sizeof(req), &n, session), IOMT_KDC_OK);
	hexs(session, 16, hex);
	EXPECT_STREQ(hex, vec_session);
	hexs(req + IOMT_KDC_TICKET_LEN, n - IOMT_KDC_TICKET_LEN, hex);
	EXPECT_STREQ(hex, vec_req_tail);
	ASSERT_EQ(iomt_kchan_rep_seal(session, c.auth_nonce, IOMT_KCHAN_OK, nonce, answer, 16, rep,
				      sizeof(rep), &rn), IOMT_KDC_OK);
	hexs(rep, rn, hex);
	EXPECT_STREQ(hex, vec_rep);
	ASSERT_EQ(iomt_kchan_rep_open(&c, session, rep, rn, &st, back, 16, &bl), IOMT_KDC_OK);
	ASSERT_MEMEQ(back, answer, 16);
}


/* The source tree's docs/PROTOCOL.md ($IOMT_SRCDIR, else up from the
 * binary): NULL if not found. */
static const char *protocol_md(void)
{
	static char text[512 * 1024];
	char dir[PATH_MAX], path[PATH_MAX + 32];
	const char *env = getenv("IOMT_SRCDIR");
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	FILE *f = NULL;
	size_t len;

	if (env && *env) {
		snprintf(path, sizeof(path), "%s/docs/PROTOCOL.md", env);
		f = fopen(path, "r");
	}
	if (!f && n > 0) {
		dir[n] = '\0';
		for (char *slash; !f && (slash = strrchr(dir, '/')) && slash != dir;) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/docs/PROTOCOL.md", dir);
			f = fopen(path, "r");
		}
	}
	if (!f)
		return NULL;
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	return text;
}

TEST(vector_is_the_one_in_protocol_md)
{
	const char *doc = protocol_md(), *s7;
	static const char *const fields[] = {
		vec_session, "202122232425262728292a2b2c",
		"09d9fdb35f5fcf1142b5dc7654271a631ceb8f300094ca7f",
		"756d2d30f6d9447be3744651b3f351e4", "2d2e2f30313233343536373839",
		"e052134f7732798d26ba43204ee56d59", "764f0c61284d0e625d20669f105b920b",
		"404142434445464748494a4b4c", "c81a92404b05289d6c2e24dfd5f9279d",
		"55972a30c824615b623c6aa291981da4",
		"| 0x28 | KCHAN_REQ | client → service | 193 + body |",
		"| 0x29 | KCHAN_REP | service → client | 30 + body |",
	};
	char joined[2 * sizeof(vec_req_tail)];
	size_t n = 0;

	if (!doc)
		SKIP(return, "docs/PROTOCOL.md not found (set IOMT_SRCDIR)");
	s7 = strstr(doc, "\n## 7. ");
	ASSERT_NONNULL(s7);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!strstr(s7, fields[i]))
			TH_LOG("not in PROTOCOL.md §7: %s", fields[i]);
		EXPECT_NONNULL(strstr(s7, fields[i]));
	}
	/* And the fields above are the whole request tail of the test. */
	for (size_t i = 1; i <= 6; i++)
		n += (size_t)snprintf(joined + n, sizeof(joined) - n, "%s%s", fields[i],
				      i == 3 ? "02" : "");
	ASSERT_STREQ(joined, vec_req_tail);
	ASSERT_EQ(IOMT_MSG_KCHAN_REQ, 0x28);
	ASSERT_EQ(IOMT_MSG_KCHAN_REP, 0x29);
}
