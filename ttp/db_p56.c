/* SPDX-License-Identifier: MIT */
/* The TTP database for phases 5 and 6: analyses by ID_a, users in turn. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "phase56.h"

int ttp_db_find_analysis(struct ttp_db *db, const uint8_t id_a[16], int64_t *patient_id,
			 char *policy, size_t cap)
{
	struct rt_stmt *s;
	int r = rt_stmt_prepare(ttp_db_store(db),
				"SELECT patient_id, policy FROM analyses WHERE id_a = ?", &s);

	if (r)
		return r;
	r = rt_stmt_bind_blob(s, 1, id_a, 16);
	if (!r)
		r = rt_stmt_step(s);
	if (r == RT_STMT_ROW) {
		*patient_id = rt_stmt_int(s, 0);
		snprintf(policy, cap, "%s", rt_stmt_text(s, 1) ? rt_stmt_text(s, 1) : "");
		r = 0;
	} else if (r == RT_STMT_DONE) {
		r = -ENOENT;
	}
	rt_stmt_free(s);
	return r;
}

int ttp_db_each_user(struct ttp_db *db, int with_revoked,
		     int (*fn)(void *arg, const struct ttp_user *u), void *arg)
{
	struct rt_stmt *s;
	struct ttp_user u;
	int r = rt_stmt_prepare(ttp_db_store(db),
				with_revoked ? "SELECT id, name, role, attributes, cert FROM users"
					       " ORDER BY id"
					     : "SELECT id, name, role, attributes, cert FROM users"
					       " WHERE revoked = 0 OR revoked IS NULL ORDER BY id",
				&s);

	if (r)
		return r;
	while ((r = rt_stmt_step(s)) == RT_STMT_ROW) {
		size_t n;
		const void *cert = rt_stmt_blob(s, 4, &n);

		memset(&u, 0, sizeof(u));
		u.id = rt_stmt_int(s, 0);
		snprintf(u.name, sizeof(u.name), "%s", rt_stmt_text(s, 1));
		u.role = ttp_role_parse(rt_stmt_text(s, 2));
		snprintf(u.attr, sizeof(u.attr), "%s", rt_stmt_text(s, 3));
		if (!cert || n != ECQV_CERT_LEN)
			continue;
		memcpy(u.cert, cert, ECQV_CERT_LEN);
		r = fn(arg, &u);
		if (r)
			break;
	}
	if (r == RT_STMT_DONE)
		r = 0;
	rt_stmt_free(s);
	return r;
}
