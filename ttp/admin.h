/* SPDX-License-Identifier: MIT */
/*
 * 'iomt-ttp admin ...': bootstrap and phase-1 registration, working on the
 * database directly (SQLite serialises them with a running daemon, which
 * picks up new parties on first use). Every change is audit-logged before
 * it is committed (and its failure after); exit 0 on success, 1 on failure
 * with one line "iomt-ttp admin CMD: what failed", 2 on a usage error.
 */
#ifndef IOMT_TTP_ADMIN_H
#define IOMT_TTP_ADMIN_H
#include <stddef.h>

struct admin_opts {
	const char *config, *db, *ca_key, *ca_pub, *audit_log;
	const char *role, *id, *attr, *request, *out, *days;
	const char *name, *slots, *to_cert;
	char err[1024];
};

/* argv[0] is "admin". */
int ttp_admin_main(int argc, char **argv);

/* The commands (admin_*.c): 0, or non-zero with a message in o->err. */
int ttp_admin_init(struct admin_opts *o);
int ttp_admin_register_user(struct admin_opts *o);
int ttp_admin_revoke_user(struct admin_opts *o);
int ttp_admin_register_mec(struct admin_opts *o);
int ttp_admin_list(struct admin_opts *o);

/* Helpers shared by the commands. */
int ttp_admin_fail(struct admin_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Opens the audit log (o->audit_log, else beside the database): 0 or -1. */
int ttp_admin_audit_open(struct admin_opts *o);

#endif
