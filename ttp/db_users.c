/* SPDX-License-Identifier: MIT */
/* The TTP database: users (phase 1), analyses and the nonce cache (phase 2). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "db.h"

static const char *const role_names[] = {
	[ECQV_ROLE_PATIENT] = "patient",
	[ECQV_ROLE_DOCTOR] = "doctor",
	[ECQV_ROLE_MEC] = "mec",
};

uint8_t ttp_role_parse(const char *name)
{
	for (uint8_t r = ECQV_ROLE_PATIENT; r <= ECQV_ROLE_MEC; r++)
		if (!strcmp(name, role_names[r]))
			return r;
	return 0;
}

const char *ttp_role_name(uint8_t role)
{
	return role >= ECQV_ROLE_PATIENT && role <= ECQV_ROLE_MEC ? role_names[role] : NULL;
}

/* Runs a prepared statement to its end, then frees it: 0 or negative. */
static int run(struct rt_stmt *s, int r)
{
	if (!r)
		r = rt_stmt_step(s);
	if (r == RT_STMT_ROW)
		r = 0;
	rt_stmt_free(s);
	return r;
}

int ttp_db_add_user(struct ttp_db *db, struct ttp_user *u, int64_t now)
{
	struct rt_stmt *s;
	int r = rt_stmt_prepare(ttp_db_store(db),
				"INSERT INTO users (name, role, attributes, serial, cert, not_after,"
				" created) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id", &s);

	if (r)
		return r;
	r = rt_stmt_bind_text(s, 1, u->name);
	if (!r)
		r = rt_stmt_bind_text(s, 2, ttp_role_name(u->role));
	if (!r)
		r = rt_stmt_bind_text(s, 3, u->attr);
	/* Serials are 63-bit so they fit a signed INTEGER column. */
	if (!r)
		r = rt_stmt_bind_int(s, 4, (int64_t)(u->serial & INT64_MAX));
	if (!r)
		r = rt_stmt_bind_blob(s, 5, u->cert, ECQV_CERT_LEN);
	if (!r)
		r = rt_stmt_bind_int(s, 6, u->not_after);
	if (!r)
		r = rt_stmt_bind_int(s, 7, now);
	if (!r && (r = rt_stmt_step(s)) == RT_STMT_ROW) {
		u->id = rt_stmt_int(s, 0);
		r = 0;
	}
	rt_stmt_free(s);
	return r;
}

static int user_of_row(struct rt_stmt *s, struct ttp_user *u)
{
	size_t n;
	const void *cert = rt_stmt_blob(s, 5, &n);

	memset(u, 0, sizeof(*u));
	u->id = rt_stmt_int(s, 0);
	snprintf(u->name, sizeof(u->name), "%s", rt_stmt_text(s, 1));
	u->role = ttp_role_parse(rt_stmt_text(s, 2));
	snprintf(u->attr, sizeof(u->attr), "%s", rt_stmt_text(s, 3));
	u->serial = (uint64_t)rt_stmt_int(s, 4);
	u->not_after = rt_stmt_int(s, 6);
	u->revoked = rt_stmt_int(s, 7) != 0;
	/* A certificate is exactly its 125-byte record. */
	if (!cert || n != ECQV_CERT_LEN || !u->role)
		return -EPROTO;
	memcpy(u->cert, cert, ECQV_CERT_LEN);
	return 0;
}

int ttp_db_find_user(struct ttp_db *db, const char *name, struct ttp_user *u)
{
	struct rt_stmt *s;
	int r = rt_stmt_prepare(ttp_db_store(db),
				"SELECT id, name, role, attributes, serial, cert, not_after, revoked"
				" FROM users WHERE name = ?", &s);

	if (r)
		return r;
	r = rt_stmt_bind_text(s, 1, name);
	if (!r)
		r = rt_stmt_step(s);
	if (r == RT_STMT_ROW)
		r = user_of_row(s, u);
	else if (r == RT_STMT_DONE)
		r = -ENOENT;
	rt_stmt_free(s);
	return r;
}

int ttp_db_revoke_user(struct ttp_db *db, const char *name, int64_t now)
{
	struct ttp_user u;
	struct rt_stmt *s;
	int r = ttp_db_find_user(db, name, &u);

	if (!r && u.revoked)
		r = -EALREADY;
	if (!r)
		r = rt_stmt_prepare(ttp_db_store(db), "UPDATE users SET revoked = ? WHERE id = ?",
				    &s);
	if (r)
		return r;
	r = rt_stmt_bind_int(s, 1, now > 0 ? now : 1);
	if (!r)
		r = rt_stmt_bind_int(s, 2, u.id);
	return run(s, r);
}

int ttp_db_add_analysis(struct ttp_db *db, const uint8_t id_a[IOMT_S2_IDA_LEN],
			int64_t patient_id, const char *policy, int64_t now)
{
	struct rt_stmt *s;
	int r = rt_stmt_prepare(ttp_db_store(db),
				"INSERT INTO analyses (id_a, patient_id, policy, created)"
				" VALUES (?, ?, ?, ?)", &s);

	if (r)
		return r;
	r = rt_stmt_bind_blob(s, 1, id_a, IOMT_S2_IDA_LEN);
	if (!r)
		r = rt_stmt_bind_int(s, 2, patient_id);
	if (!r)
		r = rt_stmt_bind_text(s, 3, policy);
	if (!r)
		r = rt_stmt_bind_int(s, 4, now);
	return run(s, r);
}

int ttp_db_add_nonce(struct ttp_db *db, const uint8_t nonce[16], int64_t user_id,
		     int64_t expires)
{
	struct rt_stmt *s;
	int r = rt_stmt_prepare(ttp_db_store(db),
				"INSERT INTO nonces (nonce, user_id, expires) VALUES (?, ?, ?)", &s);

	if (r)
		return r;
	r = rt_stmt_bind_blob(s, 1, nonce, 16);
	if (!r)
		r = rt_stmt_bind_int(s, 2, user_id);
	if (!r)
		r = rt_stmt_bind_int(s, 3, expires);
	return run(s, r);
}

int ttp_db_purge_nonces(struct ttp_db *db, int64_t now)
{
	struct rt_stmt *s;
	int r = rt_stmt_prepare(ttp_db_store(db), "DELETE FROM nonces WHERE expires < ?", &s);

	if (r)
		return r;
	r = rt_stmt_bind_int(s, 1, now);
	return run(s, r);
}
