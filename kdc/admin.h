/* SPDX-License-Identifier: MIT */
/*
 * 'iomt-kdc admin ...': bootstrap and registration, on the database
 * directly while the daemon runs (SQLite serialises the writers; the
 * daemon's keeper notices each commit within reload_interval). Every change
 * is audit-logged before it is committed; exit 0 on success, 1 on failure
 * with one line "iomt-kdc admin CMD: what failed", 2 on a usage error.
 */
#ifndef IOMT_KDC_ADMIN_H
#define IOMT_KDC_ADMIN_H

struct admin_opts {
	const char *config, *db, *master, *audit_log;
	const char *name, *patient, *kind, *out, *passcode_file;
	int tgs, json;
	char err[1024];
};

/* argv[0] is "admin". */
int kdc_admin_main(int argc, char **argv);

/* The commands (admin_cmds.c): 0, or non-zero with a message in o->err. */
int kdc_admin_init(struct admin_opts *o);
int kdc_admin_register(struct admin_opts *o);
int kdc_admin_rotate(struct admin_opts *o);
int kdc_admin_revoke(struct admin_opts *o);
int kdc_admin_list(struct admin_opts *o);
int kdc_admin_export_key(struct admin_opts *o);

int kdc_admin_fail(struct admin_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Opens the audit log (o->audit_log, else kdc-audit.log beside the
 * database): 0 or 1 with a message. */
int kdc_admin_audit_open(struct admin_opts *o);

#endif
