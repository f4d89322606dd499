/* SPDX-License-Identifier: MIT */
/* Phase 2: analysis requests from patients. */
#define OPENSSL_API_COMPAT 0x30000000L
#define OPENSSL_NO_DEPRECATED
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "ct.h"
#include "files.h"
#include "iomt_err.h"
#include "lib/rt_audit.h"
#include "lib/rt_log.h"
#include "lib/rt_rng.h"
#include "lib/s2_policy.h"
#include "metrics.h"
#include "phase2.h"

enum {
	/* A nonce is remembered as long as a request carrying it could still
	 * pass the ts check (ts up to 300 s ahead, accepted 300 s after). */
	NONCE_KEEP_S = 2 * S2_TS_SKEW_S,
};

/* What a granted request creates: secret until sealed. */
struct grant {
	uint8_t id_a[S2_ID_LEN];
	uint8_t did[S2_NDEVICES_MAX][S2_ID_LEN];
	uint8_t dk[S2_NDEVICES_MAX][S2_KEY_LEN];
	uint16_t n;
};

/* Why a request is refused: the code sent, the reason audited. */
struct verdict {
	uint8_t code;           /* 0 = granted, else enum iomt_s2_code */
	const char *why;
};

int ttp_subject_of_name(const char *name, uint8_t subject[ECQV_ID_LEN])
{
	if (!ttp_name_valid(name, ECQV_ID_LEN))
		return -EINVAL;
	memset(subject, 0, ECQV_ID_LEN);
	memcpy(subject, name, strlen(name));
	return 0;
}

int ttp_name_of_subject(const uint8_t subject[ECQV_ID_LEN], char name[ECQV_ID_LEN + 1])
{
	size_t n = 0;

	while (n < ECQV_ID_LEN && subject[n])
		n++;
	memcpy(name, subject, n);
	name[n] = '\0';
	/* Canonical: zero padding only, and a name we could have issued. */
	if (!iomt_ct_is_zero(subject + n, ECQV_ID_LEN - n) || !ttp_name_valid(name, ECQV_ID_LEN))
		return -EINVAL;
	return 0;
}

static struct verdict refused(uint8_t code, const char *why)
{
	return (struct verdict){ code, why };
}

static struct verdict of_parse_error(int err)
{
	switch (err) {
	case IOMT_EMALFORMED:
		return refused(IOMT_S2_ERR_MALFORMED, "malformed request");
	case IOMT_ESTATE:
		return refused(IOMT_S2_ERR_DENIED, "certificate outside its validity or stale ts");
	case IOMT_EAUTH:
		return refused(IOMT_S2_ERR_DENIED, "signature does not verify");
	}
	return refused(IOMT_S2_ERR_INTERNAL, "verification failed (libcrypto)");
}

/* The requester must be the registered, non-revoked patient whose
 * certificate this is, byte for byte (a re-issued or revoked one is not). */
static struct verdict check_requester(struct ttp_daemon *d, const struct s2_analysis_req *q,
				      struct ttp_user *u, char name[ECQV_ID_LEN + 1])
{
	uint8_t enc[ECQV_CERT_LEN];
	int r;

	if (ttp_name_of_subject(q->cert.subject, name))
		return refused(IOMT_S2_ERR_DENIED, "certificate subject is no user name");
	r = ttp_db_find_user(d->db, name, u);
	if (r == -ENOENT)
		return refused(IOMT_S2_ERR_DENIED, "unknown user");
	if (r)
		return refused(IOMT_S2_ERR_INTERNAL, "database error");
	if (u->revoked)
		return refused(IOMT_S2_ERR_DENIED, "user revoked");
	if (u->role != ECQV_ROLE_PATIENT)
		return refused(IOMT_S2_ERR_DENIED, "only patients create analyses");
	if (ecqv_cert_encode(&q->cert, enc) || !iomt_ct_eq(enc, u->cert, ECQV_CERT_LEN))
		return refused(IOMT_S2_ERR_DENIED, "not the certificate on record");
	return refused(0, NULL);
}

/* The answer sealed to the requester's key, before anything is stored. */
static int seal(struct ttp_daemon *d, const struct s2_analysis_req *q, const struct grant *g,
		struct ttp_phase2_reply *out)
{
	EVP_PKEY *pub = NULL;
	int r = ecqv_public_from_cert(&q->cert, d->ca_pub, (uint64_t)ttp_unix_now(), &pub);

	if (!r)
		r = s2_analysis_resp_seal(pub, q->nonce, g->id_a, g->n,
					  (const uint8_t(*)[S2_ID_LEN])g->did,
					  (const uint8_t(*)[S2_KEY_LEN])g->dk, out->payload, &out->len);
	EVP_PKEY_free(pub);
	return r;
}

static int store_devices(struct ttp_daemon *d, const struct grant *g, struct ttp_party *p,
			 int64_t now)
{
	int r = 0;

	for (uint16_t i = 0; !r && i < g->n; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].kind = TTP_PARTY_DEVICE;
		memcpy(p[i].id_a, g->id_a, S2_ID_LEN);
		memcpy(p[i].did_cur, g->did[i], S2_ID_LEN);
		memcpy(p[i].dk_cur, g->dk[i], S2_KEY_LEN);
		r = ttp_db_insert_party(d->db, &p[i], NULL, 0, now);
	}
	return r;
}

/* Nonce, analysis and devices in one transaction. */
static struct verdict store(struct ttp_daemon *d, const struct s2_analysis_req *q,
			    const struct ttp_user *u, const struct grant *g, struct ttp_party *p)
{
	int64_t now = ttp_unix_now();
	int r = ttp_db_begin(d->db);

	if (!r)
		r = ttp_db_add_nonce(d->db, q->nonce, u->id, now + NONCE_KEEP_S);
	if (r == -EEXIST) {
		ttp_db_rollback(d->db);
		return refused(IOMT_S2_ERR_DENIED, "nonce seen before (replay)");
	}
	if (!r)
		r = ttp_db_add_analysis(d->db, g->id_a, u->id, q->policy, now);
	if (!r)
		r = store_devices(d, g, p, now);
	if (!r)
		r = ttp_db_commit(d->db);
	else
		ttp_db_rollback(d->db);
	return r ? refused(IOMT_S2_ERR_INTERNAL, "database commit failed") : refused(0, NULL);
}

/* Devices go to memory after the commit; one that does not fit is loaded
 * from the database on its first agreement. */
static void remember(struct ttp_daemon *d, const struct ttp_party *p, uint16_t n)
{
	struct ttp_table *t = ttp_engine_table(d->engine);

	for (uint16_t i = 0; i < n; i++)
		if (ttp_table_add(t, &p[i], NULL))
			rt_warn("device #%lld not cached in memory", (long long)p[i].db_id);
	rt_metric_set(&ttp_metrics.devices, ttp_table_count(t, TTP_PARTY_DEVICE));
}

static struct verdict grant_and_store(struct ttp_daemon *d, const struct s2_analysis_req *q,
				      const struct ttp_user *u, struct ttp_phase2_reply *out,
				      char id_hex[2 * S2_ID_LEN + 1])
{
	static struct ttp_party p[S2_NDEVICES_MAX];
	struct grant g;
	struct verdict v = refused(IOMT_S2_ERR_INTERNAL, "no randomness");

	g.n = q->ndevices;
	/* The parser holds ndevices to 1..64; the arrays rely on it. */
	if (g.n < 1 || g.n > S2_NDEVICES_MAX)
		return refused(IOMT_S2_ERR_MALFORMED, "device count out of range");
	if (!rt_random(g.id_a, sizeof(g.id_a)) && !rt_random(g.did, sizeof(g.did)) &&
	    !rt_random(g.dk, sizeof(g.dk))) {
		v = seal(d, q, &g, out) ? refused(IOMT_S2_ERR_INTERNAL, "sealing failed")
					: store(d, q, u, &g, p);
	}
	if (!v.code)
		remember(d, p, g.n);
	iomt_hex_encode(g.id_a, sizeof(g.id_a), id_hex);
	iomt_wipe(&g, sizeof(g));
	iomt_wipe(p, sizeof(p));
	return v;
}

static void count(uint8_t code)
{
	if (!code)
		rt_metric_inc(&ttp_metrics.users_ok);
	else if (code == IOMT_S2_ERR_DENIED)
		rt_metric_inc(&ttp_metrics.users_denied);
	else if (code == IOMT_S2_ERR_MALFORMED)
		rt_metric_inc(&ttp_metrics.users_malformed);
	else
		rt_metric_inc(&ttp_metrics.users_internal);
}

/* A granted request is answered only once its record is on disk. */
static struct verdict audit(const struct verdict v, const char *peer, const char *user,
			    const struct s2_analysis_req *q, const char *id_hex)
{
	char n[8];

	if (v.code) {
		rt_info("phase 2 from %s (%s): refused: %s", peer, user[0] ? user : "?", v.why);
		rt_audit_write("analysis_denied", "peer", peer, "user", user, "reason", v.why,
			       NULL);
		return v;
	}
	snprintf(n, sizeof(n), "%u", q->ndevices);
	rt_info("phase 2 from %s (%s): analysis %s with %s devices", peer, user, id_hex, n);
	if (rt_audit_write("analysis_created", "peer", peer, "user", user, "id_a", id_hex,
			   "devices", n, "policy", q->policy, NULL)) {
		rt_err("analysis %s committed but not audited: not answered", id_hex);
		return refused(IOMT_S2_ERR_INTERNAL, "audit log write failed");
	}
	return v;
}

void ttp_phase2_handle(struct ttp_daemon *d, const uint8_t *p, size_t len, const char *peer,
		       struct ttp_phase2_reply *out)
{
	static struct s2_policy pol;
	struct s2_analysis_req q;
	struct ttp_user u;
	char name[ECQV_ID_LEN + 1] = "", id_hex[2 * S2_ID_LEN + 1] = "";
	struct verdict v;
	int r;

	memset(&q, 0, sizeof(q));
	r = s2_analysis_req_parse_verify(p, len, d->ca_pub, (uint64_t)ttp_unix_now(), &q);
	v = r ? of_parse_error(r) : check_requester(d, &q, &u, name);
	/* The policy decides phases 5 and 6: it must parse (s2_policy.h). */
	if (!v.code && s2_policy_parse(q.policy, &pol, NULL, 0))
		v = refused(IOMT_S2_ERR_MALFORMED, "policy does not parse");
	if (!v.code)
		v = grant_and_store(d, &q, &u, out, id_hex);
	v = audit(v, peer, name, &q, id_hex);
	count(v.code);
	if (v.code) {
		out->type = IOMT_MSG_S2_USER_ERR;
		out->len = IOMT_WIRE_S2_USER_ERR_LEN;
		out->payload[0] = v.code;
	} else {
		out->type = IOMT_MSG_S2_ANALYSIS_RESP;
	}
}
