/* SPDX-License-Identifier: MIT */
/* 'iomt-ttp admin list': what the TTP holds, never a key or an identity. */
#include <stdio.h>
#include <time.h>

#include "admin.h"
#include "db.h"
#include "files.h"

static void date(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d", &tm))
		snprintf(buf, len, "?");
}

/* Runs sql and calls row() for each result row: 0 or negative. */
static int each(struct ttp_db *db, const char *sql, void (*row)(struct rt_stmt *s))
{
	struct rt_stmt *s;
	int r = rt_stmt_prepare(ttp_db_store(db), sql, &s);

	while (!r && (r = rt_stmt_step(s)) == RT_STMT_ROW) {
		row(s);
		r = 0;
	}
	rt_stmt_free(s);
	return r;
}

static void user_row(struct rt_stmt *s)
{
	char until[16];

	date(rt_stmt_int(s, 4), until, sizeof(until));
	printf("  %-16s %-8s serial %-20lld until %s%s%s%s\n", rt_stmt_text(s, 0),
	       rt_stmt_text(s, 1), (long long)rt_stmt_int(s, 3), until,
	       rt_stmt_int(s, 5) ? "  REVOKED" : "", rt_stmt_text(s, 2)[0] ? "  attr " : "",
	       rt_stmt_text(s, 2));
}

static void analysis_row(struct rt_stmt *s)
{
	char id[33], created[16];
	size_t n = 0;
	const void *p = rt_stmt_blob(s, 0, &n);

	if (p && n == 16)
		iomt_hex_encode(p, 16, id);
	else
		snprintf(id, sizeof(id), "(malformed)");
	date(rt_stmt_int(s, 3), created, sizeof(created));
	printf("  %s  patient %-16s %3lld devices  created %s  policy \"%s\"\n", id,
	       rt_stmt_text(s, 1), (long long)rt_stmt_int(s, 4), created, rt_stmt_text(s, 2));
}

static void mec_row(struct rt_stmt *s)
{
	printf("  %-24s %lld slots\n", rt_stmt_text(s, 0), (long long)rt_stmt_int(s, 1));
}

static void count_row(struct rt_stmt *s)
{
	printf("parties: %lld devices, %lld MEC slots\n", (long long)rt_stmt_int(s, 0),
	       (long long)rt_stmt_int(s, 1));
}

int ttp_admin_list(struct admin_opts *o)
{
	struct ttp_db *db = NULL;
	int r;

	if (ttp_db_open(o->db, 0, &db, o->err, sizeof(o->err)))
		return 1;
	printf("users:\n");
	r = each(db, "SELECT name, role, attributes, serial, not_after, revoked FROM users"
		 " ORDER BY name", user_row);
	if (!r)
		printf("analyses:\n");
	if (!r)
		r = each(db, "SELECT a.id_a, u.name, a.policy, a.created,"
			 " (SELECT count(*) FROM parties p WHERE p.id_a = a.id_a)"
			 " FROM analyses a JOIN users u ON u.id = a.patient_id ORDER BY a.id",
			 analysis_row);
	if (!r)
		printf("MECs:\n");
	if (!r)
		r = each(db, "SELECT mec_name, count(*) FROM parties WHERE kind = 2"
			 " GROUP BY mec_name ORDER BY mec_name", mec_row);
	if (!r)
		r = each(db, "SELECT (SELECT count(*) FROM parties WHERE kind = 1),"
			 " (SELECT count(*) FROM parties WHERE kind = 2)", count_row);
	ttp_db_close(db);
	return r ? ttp_admin_fail(o, "%s: cannot read the database", o->db) : 0;
}
