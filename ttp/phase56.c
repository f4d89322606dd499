/* SPDX-License-Identifier: MIT */
/* Phases 5 and 6 at the TTP: access checks, grants, emergency parties. */
#define OPENSSL_API_COMPAT 0x30000000L
#define OPENSSL_NO_DEPRECATED
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "bytes.h"
#include "ct.h"
#include "hex.h"
#include "iomt_err.h"
#include "keys.h"
#include "lib/rt_audit.h"
#include "lib/rt_log.h"
#include "lib/rt_metrics.h"
#include "lib/s2_policy.h"
#include "link.h"
#include "phase2.h"
#include "phase56.h"

/* The answer to one frame: a reply payload (after req_id) or a code. */
struct p56_out {
	uint8_t type;
	uint8_t code;           /* 0 = reply */
	const char *why;
	size_t len;
	uint8_t buf[P56_PARTIES_MAX_LEN];
};

#define P56M(r) RT_COUNTER("iomt_ttp_p56_requests_total", "result=\"" r "\"", \
			   "Phase-5/6 frames from MECs, by outcome")
enum { M_GRANTED, M_DENIED, M_PARTIES, M_EMERG_DENIED, M_NOTED, M_NOTE_DENIED, M_N };
static struct rt_metric p56m[M_N] = {
	[M_GRANTED] = P56M("granted"), [M_DENIED] = P56M("denied"),
	[M_PARTIES] = P56M("parties"), [M_EMERG_DENIED] = P56M("emergency_denied"),
	[M_NOTED] = P56M("delivery_noted"), [M_NOTE_DENIED] = P56M("delivery_denied"),
};

static int metrics_register(void)
{
	struct rt_metric *list[M_N];

	for (int i = 0; i < M_N; i++)
		list[i] = &p56m[i];
	return rt_metrics_register_list(list, M_N);
}

int ttp_p56_init(struct ttp_daemon *d)
{
	const char *path = d->cfg.grant_key[0] ? d->cfg.grant_key
			   : (!d->cfg.ca_pub[0] ? d->cfg.ca_key : NULL);
	char err[512];

	if (metrics_register()) {
		rt_err("phases 5 and 6: metrics registration failed");
		return -EINVAL;
	}
	if (!path) {
		rt_info("phases 5 and 6 off: no grant_key (ca_pub is set, so ca_key is not read)");
		return 0;
	}
	if (ttp_key_read_private(path, &d->grant_key, err, sizeof(err))) {
		rt_err("grant_key: %s", err);
		return -EINVAL;
	}
	return 0;
}

int ttp_p56_claims(uint8_t type)
{
	return type == IOMT_MSG_P5_CHECK || type == IOMT_MSG_P6_EMERG ||
	       type == IOMT_MSG_P6_DELIVERED;
}

static void refuse(struct p56_out *o, uint8_t code, const char *why)
{
	o->code = code;
	o->why = why;
}

static void of_verify_error(struct p56_out *o, int err)
{
	if (err == IOMT_EMALFORMED || err == IOMT_ESIZE)
		refuse(o, IOMT_S2_ERR_MALFORMED, "malformed");
	else if (err == IOMT_ESTATE)
		refuse(o, IOMT_S2_ERR_DENIED, "certificate outside its validity or stale ts");
	else if (err == IOMT_EAUTH)
		refuse(o, IOMT_S2_ERR_DENIED, "signature does not verify");
	else
		refuse(o, IOMT_S2_ERR_INTERNAL, "verification failed (libcrypto)");
}

/* The signer is the user on record, not revoked, with exactly this certificate. */
static int on_record(struct ttp_daemon *d, const struct ecqv_cert *c,
		     const uint8_t enc[ECQV_CERT_LEN], struct ttp_user *u, char *name,
		     struct p56_out *o)
{
	int r;

	if (ttp_name_of_subject(c->subject, name)) {
		refuse(o, IOMT_S2_ERR_REVOKED, "certificate subject is no user name");
		return -1;
	}
	r = ttp_db_find_user(d->db, name, u);
	if (r == -ENOENT)
		refuse(o, IOMT_S2_ERR_REVOKED, "unknown user");
	else if (r)
		refuse(o, IOMT_S2_ERR_INTERNAL, "database error");
	else if (u->revoked)
		refuse(o, IOMT_S2_ERR_REVOKED, "user revoked");
	else if (!iomt_ct_eq(enc, u->cert, ECQV_CERT_LEN))
		refuse(o, IOMT_S2_ERR_REVOKED, "not the certificate on record");
	else
		return 0;
	return -1;
}

static int analysis(struct ttp_daemon *d, const uint8_t id_a[16], int64_t *owner,
		    struct s2_policy *pol, struct p56_out *o)
{
	static char text[S2_POLICY_MAX + 1];
	int r = ttp_db_find_analysis(d->db, id_a, owner, text, sizeof(text));

	if (r == -ENOENT)
		refuse(o, IOMT_S2_ERR_NO_ANALYSIS, "no such analysis");
	else if (r)
		refuse(o, IOMT_S2_ERR_INTERNAL, "database error");
	else if (s2_policy_parse(text, pol, NULL, 0))
		/* Phase 2 refuses such a policy; an old row may hold one. */
		refuse(o, IOMT_S2_ERR_NOT_ENTITLED, "analysis policy does not parse");
	else
		return 0;
	return -1;
}

/* The nonce, committed before the grant leaves. */
static int remember_nonce(struct ttp_daemon *d, const uint8_t nonce[16], int64_t user_id,
			  struct p56_out *o)
{
	int r = ttp_db_begin(d->db);

	if (!r)
		r = ttp_db_add_nonce(d->db, nonce, user_id, ttp_unix_now() + P56_NONCE_KEEP_S);
	if (r == -EEXIST) {
		ttp_db_rollback(d->db);
		refuse(o, IOMT_S2_ERR_REPLAY, "nonce seen before (replay)");
		return -1;
	}
	if (!r)
		r = ttp_db_commit(d->db);
	else
		ttp_db_rollback(d->db);
	if (r) {
		refuse(o, IOMT_S2_ERR_INTERNAL, "database commit failed");
		return -1;
	}
	return 0;
}

static void p5_check(struct ttp_daemon *d, const uint8_t *p, size_t len, struct p56_out *o,
		     char *user, char *id_hex)
{
	static struct s2_policy pol;
	struct p56_user_msg m;
	struct p56_grant g;
	struct ttp_user u;
	EVP_PKEY *q = NULL;
	uint64_t now = (uint64_t)ttp_unix_now();
	int64_t owner = 0;
	int err = p56_req_open(p, len, d->grant_key, d->ca_pub, now, &m, &q);

	if (err) {
		if (!p56_req_parse(p, len, &m))
			iomt_hex_encode(m.id_a, sizeof(m.id_a), id_hex);
		if (err == IOMT_EAUTH)
			refuse(o, IOMT_S2_ERR_DENIED, "the sealed part does not open (changed, or "
			       "sealed to another key) or its signature does not verify");
		else
			of_verify_error(o, err);
		return;
	}
	iomt_hex_encode(m.id_a, sizeof(m.id_a), id_hex);
	if (on_record(d, &m.cert, m.cert_enc, &u, user, o) ||
	    analysis(d, m.id_a, &owner, &pol, o))
		goto out;
	if (u.id != owner && !s2_policy_allows(&pol, S2_POLICY_READ, &m.cert)) {
		refuse(o, IOMT_S2_ERR_NOT_ENTITLED, "the analysis policy does not allow this user");
		goto out;
	}
	memset(&g, 0, sizeof(g));
	memcpy(g.id_a, m.id_a, sizeof(g.id_a));
	memcpy(g.nonce, m.nonce, sizeof(g.nonce));
	g.expires = now + P56_GRANT_LIFE_S;
	if (ecies_point_of(q, g.q_u) || p56_sha256(m.eph, sizeof(m.eph), g.h_eph) ||
	    p56_grant_build(d->grant_key, &g, o->buf, sizeof(o->buf), &o->len)) {
		refuse(o, IOMT_S2_ERR_INTERNAL, "signing the grant failed");
		goto out;
	}
	if (!remember_nonce(d, m.nonce, u.id, o)) {
		o->type = IOMT_MSG_P5_GRANT;
		o->why = u.id == owner ? "owner" : "read rule";
	}
out:
	EVP_PKEY_free(q);
}

struct collect {
	const struct s2_policy *pol;
	const EVP_PKEY *ca_pub;
	int64_t owner;
	uint64_t now;
	struct p56_parties *pa;
	char names[P56_PARTIES_MAX][ECQV_ID_LEN + 1];
	int overflow;
};

static int collect_one(void *arg, const struct ttp_user *u)
{
	struct collect *c = arg;
	struct ecqv_cert cert;
	EVP_PKEY *q = NULL;
	int bad;

	if (ecqv_cert_decode(&cert, u->cert, ECQV_CERT_LEN) || ecqv_cert_check_time(&cert, c->now))
		return 0;
	if (u->id != c->owner && !s2_policy_allows(c->pol, S2_POLICY_ALERT, &cert))
		return 0;
	if (c->pa->n == P56_PARTIES_MAX) {
		c->overflow = 1;
		return 0;
	}
	/* Q_U and an opaque handle: the MEC gets no certificate. */
	bad = ecqv_public_from_cert(&cert, c->ca_pub, c->now, &q) ||
	      ecies_point_of(q, c->pa->q_u[c->pa->n]) ||
	      p56_party_handle(c->pa->alert_id, u->cert, c->pa->handle[c->pa->n]);
	EVP_PKEY_free(q);
	if (bad) {
		rt_warn("user %s: no public key from the certificate on record: not alerted",
			u->name);
		return 0;
	}
	snprintf(c->names[c->pa->n], sizeof(c->names[0]), "%s", u->name);
	c->pa->n++;
	return 0;
}

static void p6_emerg(struct ttp_daemon *d, const uint8_t *p, size_t len, struct p56_out *o,
		     char *mec, char *id_hex, const char *peer)
{
	static struct s2_policy pol;
	static struct p56_emerg e;
	static struct p56_parties pa;
	static struct collect c;
	char alert_hex[2 * P56_ID_LEN + 1];
	struct ttp_user u;
	uint64_t now = (uint64_t)ttp_unix_now();
	int64_t owner = 0;
	int err = p56_emerg_verify(p, len, d->ca_pub, now, &e, NULL);

	if (err) {
		of_verify_error(o, err);
		return;
	}
	iomt_hex_encode(e.id_a, sizeof(e.id_a), id_hex);
	iomt_hex_encode(e.alert_id, sizeof(e.alert_id), alert_hex);
	if (on_record(d, &e.cert, e.cert_enc, &u, mec, o))
		return;
	if (u.role != ECQV_ROLE_MEC) {
		refuse(o, IOMT_S2_ERR_DENIED, "only MECs raise emergencies");
		return;
	}
	if (analysis(d, e.id_a, &owner, &pol, o))
		return;
	memset(&pa, 0, sizeof(pa));
	memcpy(pa.alert_id, e.alert_id, sizeof(pa.alert_id));
	pa.expires = now + 24 * 3600;
	memset(&c, 0, sizeof(c));
	c = (struct collect){ .pol = &pol, .ca_pub = d->ca_pub, .owner = owner, .now = now,
			      .pa = &pa };
	if (ttp_db_each_user(d->db, 0, collect_one, &c)) {
		refuse(o, IOMT_S2_ERR_INTERNAL, "database error");
		return;
	}
	if (!pa.n) {
		refuse(o, IOMT_S2_ERR_NOT_ENTITLED, "nobody is entitled to the alert");
		return;
	}
	if (c.overflow)
		rt_warn("emergency %s: more than %d entitled parties, the first %d alerted",
			alert_hex, P56_PARTIES_MAX, P56_PARTIES_MAX);
	if (rt_audit_write("p6_emergency", "peer", peer, "mec", mec, "id_a", id_hex, "alert",
			   alert_hex, NULL)) {
		refuse(o, IOMT_S2_ERR_INTERNAL, "audit log write failed");
		return;
	}
	for (uint8_t i = 0; i < pa.n; i++) {
		char handle[2 * P56_HANDLE_LEN + 1];

		iomt_hex_encode(pa.handle[i], P56_HANDLE_LEN, handle);
		if (rt_audit_write("p6_party", "alert", alert_hex, "user", c.names[i], "handle",
				   handle, "why", "owner or alert rule", NULL)) {
			refuse(o, IOMT_S2_ERR_INTERNAL, "audit log write failed");
			return;
		}
	}
	if (p56_parties_build(d->grant_key, &pa, o->buf, sizeof(o->buf), &o->len)) {
		refuse(o, IOMT_S2_ERR_INTERNAL, "signing the parties failed");
		return;
	}
	o->type = IOMT_MSG_P6_PARTIES;
	o->why = "parties sent";
}

/* The user whose handle for alert_id this is (users not revoked). */
struct by_handle {
	const uint8_t *alert_id, *handle;
	char *name;
};

static int match_handle(void *arg, const struct ttp_user *u)
{
	struct by_handle *b = arg;
	uint8_t h[P56_HANDLE_LEN];

	if (p56_party_handle(b->alert_id, u->cert, h) || !iomt_ct_eq(h, b->handle, sizeof(h)))
		return 0;
	snprintf(b->name, ECQV_ID_LEN + 1, "%s", u->name);
	return 1;
}

static void p6_delivered(struct ttp_daemon *d, const uint8_t *p, size_t len, struct p56_out *o,
			 char *mec, char *id_hex)
{
	struct p56_delivered dl;
	struct ttp_user u;
	char party[ECQV_ID_LEN + 1] = "?", handle[2 * P56_HANDLE_LEN + 1];
	struct by_handle b;
	int err = p56_delivered_verify(p, len, d->ca_pub, (uint64_t)ttp_unix_now(), &dl);

	if (err) {
		of_verify_error(o, err);
		return;
	}
	if (on_record(d, &dl.cert, dl.cert_enc, &u, mec, o))
		return;
	if (u.role != ECQV_ROLE_MEC) {
		refuse(o, IOMT_S2_ERR_DENIED, "only MECs report deliveries");
		return;
	}
	iomt_hex_encode(dl.alert_id, sizeof(dl.alert_id), id_hex);
	iomt_hex_encode(dl.handle, P56_HANDLE_LEN, handle);
	b = (struct by_handle){ .alert_id = dl.alert_id, .handle = dl.handle, .name = party };
	if (ttp_db_each_user(d->db, 1, match_handle, &b) < 0)
		rt_warn("delivery of %s: database error resolving the handle", id_hex);
	if (rt_audit_write("p6_delivered", "mec", mec, "alert", id_hex, "user", party, "handle",
			   handle, NULL)) {
		refuse(o, IOMT_S2_ERR_INTERNAL, "audit log write failed");
		return;
	}
	o->type = IOMT_MSG_P6_NOTED;
	o->len = 0;
	o->why = "noted";
}

static const char *event_of(uint8_t type, int ok)
{
	if (type == IOMT_MSG_P5_CHECK)
		return ok ? "p5_granted" : "p5_denied";
	if (type == IOMT_MSG_P6_EMERG)
		return ok ? "p6_parties" : "p6_emergency_denied";
	return ok ? "p6_noted" : "p6_delivered_denied";
}

void ttp_p56_handle(struct ttp_daemon *d, struct link *l, uint8_t type, const uint8_t *p,
		    size_t len)
{
	static struct p56_out o;
	char who[ECQV_ID_LEN + 1] = "", id_hex[2 * P56_ID_LEN + 1] = "", code[8];
	uint8_t reply[IOMT_WIRE_REQ_ID_LEN + P56_PARTIES_MAX_LEN];

	memset(&o, 0, sizeof(o));
	if (len < IOMT_WIRE_REQ_ID_LEN)
		refuse(&o, IOMT_S2_ERR_MALFORMED, "no req_id");
	else if (!d->grant_key)
		refuse(&o, IOMT_S2_ERR_INTERNAL, "no grant_key configured");
	else if (type == IOMT_MSG_P5_CHECK)
		p5_check(d, p + 4, len - 4, &o, who, id_hex);
	else if (type == IOMT_MSG_P6_EMERG)
		p6_emerg(d, p + 4, len - 4, &o, who, id_hex, l->peer);
	else
		p6_delivered(d, p + 4, len - 4, &o, who, id_hex);
	memset(reply, 0, IOMT_WIRE_REQ_ID_LEN);
	if (len >= IOMT_WIRE_REQ_ID_LEN)
		memcpy(reply, p, IOMT_WIRE_REQ_ID_LEN);
	snprintf(code, sizeof(code), "%u", o.code);
	rt_info("link %llu (%s): %s from %s: %s", (unsigned long long)l->id, l->peer,
		event_of(type, !o.code), who[0] ? who : "?", o.why ? o.why : "");
	if ((type != IOMT_MSG_P6_EMERG || o.code) &&
	    rt_audit_write(event_of(type, !o.code), "peer", l->peer, "user", who, "id", id_hex,
			   "code", code, "reason", o.why ? o.why : "", NULL) && !o.code) {
		/* A grant that is not audited is not given. */
		refuse(&o, IOMT_S2_ERR_INTERNAL, "audit log write failed");
	}
	rt_metric_inc(&p56m[(type == IOMT_MSG_P5_CHECK ? M_GRANTED : type == IOMT_MSG_P6_EMERG ? M_PARTIES
										       : M_NOTED) +
			     (o.code ? 1 : 0)]);
	l->reserved += LINK_REPLY_MAX;
	if (o.code) {
		reply[IOMT_WIRE_REQ_ID_LEN] = o.code;
		ttp_link_reply(l, IOMT_MSG_S2_LINK_ERR, reply, IOMT_WIRE_S2_LINK_ERR_LEN);
		return;
	}
	memcpy(reply + IOMT_WIRE_REQ_ID_LEN, o.buf, o.len);
	ttp_link_reply(l, o.type, reply, IOMT_WIRE_REQ_ID_LEN + o.len);
}
