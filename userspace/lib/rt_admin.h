/* SPDX-License-Identifier: MIT */
/*
 * The 'PROG admin COMMAND ...' front shared by the KDC and the TTP: a table
 * of commands, "--opt VALUE" / "--opt=VALUE" options ('-' or '_'), a NAME
 * for the commands that take one, a few per-command flags, the daemon's
 * configuration for the options not given, required options, the audit log
 * beside the database. The caller runs the command rt_admin_begin chose:
 *
 *   int code, i = rt_admin_begin(&spec, &o, argc, argv, &code);
 *   return i < 0 ? code : rt_admin_end(&spec, &o, i, run[i](&o));
 *
 * Exit status: 0 on success, 1 when the command fails (one line
 * "PROG admin CMD: what failed"), 2 on a usage error.
 */
#ifndef IOMT_RT_ADMIN_H
#define IOMT_RT_ADMIN_H

#include <stdarg.h>
#include <stddef.h>

#include "rt_conf.h"

struct rt_admin_cmd {
	const char *name;       /* NULL ends a table */
	const char *required;   /* option names, space-separated */
	int positional;         /* 1: takes NAME */
	const char *usage;
};

/* An option: the const char * at off in the caller's options. */
struct rt_admin_opt {
	const char *name;       /* "audit-log"; NULL ends a table */
	size_t off;
};

/* "--name" without a value, for command cmd only: sets the int at off to 1. */
struct rt_admin_flag {
	const char *name, *cmd; /* NULL name ends a table */
	size_t off;
};

struct rt_admin {
	const char *prog;                       /* "iomt-kdc" */
	const char *intro;                      /* the help before the command list */
	const struct rt_admin_cmd *cmds;
	const struct rt_admin_opt *opts;        /* "config" and "db" among them */
	const struct rt_admin_flag *flags;      /* or NULL */
	size_t name_off;                        /* NAME's const char * */
	size_t err_off, errlen;                 /* the message buffer in the options */
	/* The daemon's configuration: --config, else default_config when there
	 * is no --db and it is readable; loaded into cfg, then from_config
	 * fills the options the command line left unset. */
	const char *default_config;
	const struct rt_conf_key *conf_keys;
	void *cfg;
	void (*from_config)(void *o, const void *cfg);
	/* Usage checks beyond the required options (or NULL): 0, or 2 with a
	 * message (rt_admin_fail). */
	int (*check)(void *o, const struct rt_admin_cmd *c, char *err, size_t errlen);
};

/* Parses argv (argv[0] is "admin") into the options o: the index of the
 * command to run, or -1 with *code the exit status (0 after help, 2 after a
 * usage error, printed). */
int rt_admin_begin(const struct rt_admin *a, void *o, int argc, char **argv, int *code);
/* After command i returned r: closes the audit log, prints the failure: the
 * exit status. */
int rt_admin_end(const struct rt_admin *a, void *o, int i, int r);

/* The message into err: returns 1. */
int rt_admin_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int rt_admin_vfail(char *err, size_t errlen, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Opens the audit log *audit_log, else (and *audit_log then names it)
 * default_name beside the database db: 0, or 1 with a message. */
int rt_admin_audit_open(const char **audit_log, const char *db, const char *default_name,
			char *err, size_t errlen);

#endif
