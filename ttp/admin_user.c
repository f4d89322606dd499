/* SPDX-License-Identifier: MIT */
/* 'iomt-ttp admin register-user' (phase 1) and 'revoke-user'. */
#define OPENSSL_API_COMPAT 0x30000000L
#define OPENSSL_NO_DEPRECATED
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#include "admin.h"
#include "ct.h"
#include "db.h"
#include "files.h"
#include "iomt_err.h"
#include "keys.h"
#include "lib/rt_audit.h"
#include "lib/rt_rng.h"
#include "phase2.h"

enum {
	ISSUED_LEN = ECQV_CERT_LEN + ECQV_SCALAR_LEN,  /* 157: certificate || r */
	DAYS_MAX = 36500,
};

/* Everything a registration builds; r is secret-ish: wiped. */
struct reg {
	uint8_t ru[ECQV_POINT_LEN];
	struct ecqv_cert cert;
	uint8_t issued[ISSUED_LEN];
	struct ttp_user u;
	struct ttp_outfile of;
};

static int parse_days(struct admin_opts *o, long *days)
{
	char *end;

	*days = 365;
	if (!o->days)
		return 0;
	errno = 0;
	*days = strtol(o->days, &end, 10);
	if (errno || *end || end == o->days || *days < 1 || *days > DAYS_MAX)
		return ttp_admin_fail(o, "--days: '%s' is not a number of days in 1..%d", o->days,
				      DAYS_MAX);
	return 0;
}

/* The certificate template from the options (subject, role, attributes,
 * validity from now). */
static int template(struct admin_opts *o, struct reg *g)
{
	size_t alen = o->attr ? strlen(o->attr) : 0;
	uint64_t now = (uint64_t)time(NULL);
	long days;

	memset(&g->cert, 0, sizeof(g->cert));
	g->cert.role = ttp_role_parse(o->role);
	if (!g->cert.role)
		return ttp_admin_fail(o, "--role: '%s' is not patient, doctor or mec", o->role);
	if (ttp_subject_of_name(o->id, g->cert.subject))
		return ttp_admin_fail(o, "--id: '%s' is not 1..%d characters of [A-Za-z0-9._@-]",
				      o->id, ECQV_ID_LEN);
	/* The attribute field of a certificate holds 32 bytes. */
	if (alen > ECQV_ATTR_MAX)
		return ttp_admin_fail(o, "--attr: %zu bytes, at most %d", alen, ECQV_ATTR_MAX);
	for (size_t i = 0; i < alen; i++)
		if (o->attr[i] < 0x20 || o->attr[i] > 0x7e)
			return ttp_admin_fail(o, "--attr: printable ASCII only");
	if (parse_days(o, &days))
		return 1;
	memcpy(g->cert.attr, o->attr ? o->attr : "", alen);
	g->cert.attr_len = (uint8_t)alen;
	memcpy(g->cert.issuer, TTP_ISSUER_ID, ECQV_ID_LEN);
	if (rt_random(&g->cert.serial, sizeof(g->cert.serial)))
		return ttp_admin_fail(o, "no randomness for the serial");
	g->cert.serial &= INT64_MAX;  /* stored in a signed INTEGER column */
	g->cert.not_before = now;
	g->cert.not_after = now + (uint64_t)days * 86400;
	return 0;
}

static int read_request(struct admin_opts *o, struct reg *g)
{
	size_t len = 0;

	if (ttp_file_read(o->request, g->ru, sizeof(g->ru), &len, o->err, sizeof(o->err)))
		return 1;
	/* REQ is exactly R_U, a compressed point. */
	if (len != ECQV_POINT_LEN)
		return ttp_admin_fail(o, "%s: %zu bytes, expected %d (R_U from 'iomt-user keygen')",
				      o->request, len, ECQV_POINT_LEN);
	return 0;
}

static int issue(struct admin_opts *o, struct reg *g)
{
	EVP_PKEY *ca = NULL;
	int r = ttp_key_read_private(o->ca_key, &ca, o->err, sizeof(o->err)) ? 1 : 0;
	int e = r ? 0 : ecqv_ca_issue(ca, g->ru, &g->cert, g->issued + ECQV_CERT_LEN);

	EVP_PKEY_free(ca);
	if (r)
		return r;
	if (e == IOMT_EMALFORMED)
		return ttp_admin_fail(o, "%s: not a P-256 point (R_U)", o->request);
	if (e || ecqv_cert_encode(&g->cert, g->issued))
		return ttp_admin_fail(o, "issuing failed: %s", iomt_strerror(e));
	return 0;
}

/* Audit, then record: the record is evidence only once it is on disk. */
static int record(struct admin_opts *o, struct ttp_db *db, struct reg *g)
{
	char serial[24];
	int e;

	snprintf(serial, sizeof(serial), "%llu", (unsigned long long)g->cert.serial);
	snprintf(g->u.name, sizeof(g->u.name), "%s", o->id);
	snprintf(g->u.attr, sizeof(g->u.attr), "%s", o->attr ? o->attr : "");
	g->u.role = g->cert.role;
	g->u.serial = g->cert.serial;
	g->u.not_after = (int64_t)g->cert.not_after;
	memcpy(g->u.cert, g->issued, ECQV_CERT_LEN);
	if (rt_audit_write("admin_register_user", "user", o->id, "role", o->role, "serial", serial,
			   NULL))
		return ttp_admin_fail(o, "audit log %s: write failed", o->audit_log);
	e = ttp_db_begin(db);
	if (!e)
		e = ttp_db_add_user(db, &g->u, (int64_t)time(NULL));
	e = e ? (ttp_db_rollback(db), e) : ttp_db_commit(db);
	if (!e)
		return 0;
	if (e == -EEXIST)
		ttp_admin_fail(o, "user '%s' is already registered", o->id);
	else
		ttp_admin_fail(o, "%s: %s", o->db, strerror(-e));
	rt_audit_write("admin_register_user_failed", "user", o->id, "reason", o->err, NULL);
	return 1;
}

static int exists(struct admin_opts *o, struct ttp_db *db)
{
	struct ttp_user u;

	if (ttp_db_find_user(db, o->id, &u) == 0)
		return ttp_admin_fail(o, "user '%s' is already registered%s", o->id,
				      u.revoked ? " (revoked)" : "");
	return 0;
}

int ttp_admin_register_user(struct admin_opts *o)
{
	static struct reg g;
	struct ttp_db *db = NULL;
	int r = template(o, &g) || read_request(o, &g);

	if (!r && ttp_db_open(o->db, 0, &db, o->err, sizeof(o->err)))
		r = 1;
	r = r || exists(o, db) || ttp_admin_audit_open(o) || issue(o, &g);
	if (!r && ttp_outfile_write(&g.of, o->out, g.issued, sizeof(g.issued), 0600, o->err,
				    sizeof(o->err)))
		r = 1;
	r = r || record(o, db, &g);
	if (!r && ttp_outfile_publish(&g.of, o->err, sizeof(o->err)))
		r = 1;
	if (r)
		ttp_outfile_discard(&g.of);
	else
		printf("registered %s '%s' (serial %llu, valid for %s days); certificate in %s\n",
		       o->role, o->id, (unsigned long long)g.cert.serial, o->days ? o->days : "365",
		       o->out);
	iomt_wipe(&g, sizeof(g));
	ttp_db_close(db);
	return r;
}

int ttp_admin_revoke_user(struct admin_opts *o)
{
	struct ttp_db *db = NULL;
	int e, r = ttp_db_open(o->db, 0, &db, o->err, sizeof(o->err)) ? 1 : 0;

	if (!r && !ttp_name_valid(o->id, ECQV_ID_LEN))
		r = ttp_admin_fail(o, "--id: '%s' is not a user name", o->id);
	r = r || ttp_admin_audit_open(o);
	if (!r && rt_audit_write("admin_revoke_user", "user", o->id, NULL))
		r = ttp_admin_fail(o, "audit log %s: write failed", o->audit_log);
	if (!r && (e = ttp_db_revoke_user(db, o->id, (int64_t)time(NULL)))) {
		if (e == -ENOENT)
			r = ttp_admin_fail(o, "unknown user '%s'", o->id);
		else if (e == -EALREADY)
			r = ttp_admin_fail(o, "user '%s' is already revoked", o->id);
		else
			r = ttp_admin_fail(o, "%s: %s", o->db, strerror(-e));
		rt_audit_write("admin_revoke_user_failed", "user", o->id, "reason", o->err, NULL);
	}
	if (!r)
		printf("revoked user '%s'\n", o->id);
	ttp_db_close(db);
	return r;
}
