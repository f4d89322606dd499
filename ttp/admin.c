/* SPDX-License-Identifier: MIT */
/* 'iomt-ttp admin': options, the command table, and init. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "admin.h"
#include "config.h"
#include "db.h"
#include "keys.h"
#include "lib/rt_admin.h"
#include "lib/rt_audit.h"

static const struct rt_admin_cmd cmds[] = {
	{ "init", "db ca-key ca-pub", 0,
	  "init --db DB --ca-key FILE --ca-pub FILE\n"
	  "      Creates the database schema and a new P-256 CA key pair (the private\n"
	  "      key 0600, never over an existing file; the public key for users)." },
	{ "register-user", "db ca-key role id request out", 0,
	  "register-user --db DB --ca-key FILE --role patient|doctor|mec --id NAME\n"
	  "              [--attr TEXT] [--days N] --request REQ --out ISSUED\n"
	  "      Phase 1: issues an ECQV certificate for REQ (33 bytes, R_U from\n"
	  "      'iomt-user keygen'), valid from now for N days (365); writes ISSUED\n"
	  "      (157 bytes: certificate || r) and records the user. NAME is 1..16 of\n"
	  "      [A-Za-z0-9._@-] (the certificate subject); TEXT at most 32 bytes." },
	{ "revoke-user", "db id", 0,
	  "revoke-user --db DB --id NAME\n"
	  "      The user's certificate is no longer accepted for phase 2." },
	{ "register-mec", "db name slots out", 0,
	  "register-mec --db DB --name NAME --slots K --out FILE\n"
	  "             [--to-cert CERT --ca-pub FILE]\n"
	  "      Creates K identity slots for MEC NAME and writes the provisioning file\n"
	  "      (lines 'slot=<n> did=<32 hex> dk=<32 hex>', mode 0600), or with\n"
	  "      --to-cert that text sealed (ECIES, no aad) to the key of CERT (the\n"
	  "      MEC's certificate: 125 bytes, or its 157-byte ISSUED file)." },
	{ "list", "db", 0,
	  "list --db DB\n"
	  "      Users, analyses and party counts (never keys)." },
	{ NULL, NULL, 0, NULL },
};

/* In the order of cmds. */
static int (*const run[])(struct admin_opts *o) = {
	ttp_admin_init, ttp_admin_register_user, ttp_admin_revoke_user, ttp_admin_register_mec,
	ttp_admin_list,
};
_Static_assert(sizeof(run) / sizeof(run[0]) == sizeof(cmds) / sizeof(cmds[0]) - 1,
	       "one run function per command");

#define O(n, m) { n, offsetof(struct admin_opts, m) }
static const struct rt_admin_opt opts[] = {
	O("config", config), O("db", db), O("ca-key", ca_key), O("ca-pub", ca_pub),
	O("audit-log", audit_log), O("role", role), O("id", id), O("attr", attr),
	O("request", request), O("out", out), O("days", days), O("name", name),
	O("slots", slots), O("to-cert", to_cert),
	{ NULL, 0 },
};
#undef O

static void from_config(void *opts_, const void *cfg_)
{
	struct admin_opts *o = opts_;
	const struct ttp_cfg *cfg = cfg_;

	o->db = o->db ? o->db : cfg->db;
	o->ca_key = o->ca_key ? o->ca_key : cfg->ca_key;
	o->ca_pub = o->ca_pub ? o->ca_pub : (cfg->ca_pub[0] ? cfg->ca_pub : NULL);
	o->audit_log = o->audit_log ? o->audit_log : cfg->audit_log;
}

static struct ttp_cfg cfg;

static const struct rt_admin spec = {
	.prog = "iomt-ttp",
	.intro = "COMMAND [options]\n\n"
		 "Every command takes --db DB (or --config FILE, the daemon's configuration,\n"
		 "for db, ca_key, ca_pub and audit_log; /etc/iomt/ttp.conf is read when\n"
		 "neither --db nor --config is given). Changes are recorded in the audit log:\n"
		 "--audit-log FILE, else the config's audit_log, else ttp-audit.log beside DB.\n\n",
	.cmds = cmds,
	.opts = opts,
	.err_off = offsetof(struct admin_opts, err),
	.errlen = sizeof(((struct admin_opts *)0)->err),
	.default_config = TTP_DEFAULT_CONFIG,
	.conf_keys = ttp_conf_keys,
	.cfg = &cfg,
	.from_config = from_config,
};

int ttp_admin_fail(struct admin_opts *o, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = rt_admin_vfail(o->err, sizeof(o->err), fmt, ap);
	va_end(ap);
	return r;
}

int ttp_admin_audit_open(struct admin_opts *o)
{
	return rt_admin_audit_open(&o->audit_log, o->db, "ttp-audit.log", o->err,
				   sizeof(o->err)) ? -1 : 0;
}

int ttp_admin_main(int argc, char **argv)
{
	static struct admin_opts o;
	int code, i = rt_admin_begin(&spec, &o, argc, argv, &code);

	return i < 0 ? code : rt_admin_end(&spec, &o, i, run[i](&o));
}

/* ---- init ---- */

static int keys_absent(struct admin_opts *o)
{
	if (access(o->ca_key, F_OK) == 0)
		return ttp_admin_fail(o, "%s exists: refusing to replace a CA key", o->ca_key);
	if (access(o->ca_pub, F_OK) == 0)
		return ttp_admin_fail(o, "%s exists: refusing to replace a CA key", o->ca_pub);
	return 0;
}

int ttp_admin_init(struct admin_opts *o)
{
	struct ttp_db *db = NULL;
	EVP_PKEY *ca = NULL;
	int r = keys_absent(o);

	if (!r && ttp_db_open(o->db, 1, &db, o->err, sizeof(o->err)))
		r = 1;
	if (!r && ttp_admin_audit_open(o))
		r = 1;
	if (!r && ttp_key_generate(&ca))
		r = ttp_admin_fail(o, "cannot generate the CA key");
	if (!r && rt_audit_write("admin_init", "db", o->db, "ca_key", o->ca_key, "ca_pub",
				 o->ca_pub, NULL))
		r = ttp_admin_fail(o, "audit log %s: write failed", o->audit_log);
	if (!r && (ttp_key_write_private(o->ca_key, ca, o->err, sizeof(o->err)) ||
		   ttp_key_write_public(o->ca_pub, ca, o->err, sizeof(o->err)))) {
		unlink(o->ca_key);
		r = 1;
	}
	if (!r)
		printf("initialised %s (schema %d); CA key %s, public key %s\n", o->db,
		       TTP_DB_SCHEMA, o->ca_key, o->ca_pub);
	EVP_PKEY_free(ca);
	ttp_db_close(db);
	return r;
}
