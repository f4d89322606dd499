/* SPDX-License-Identifier: MIT */
/* 'iomt-ttp admin': options, the command table, and init. */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "admin.h"
#include "config.h"
#include "db.h"
#include "keys.h"
#include "lib/rt_audit.h"
#include "lib/rt_log.h"

struct admin_cmd {
	const char *name;
	int (*run)(struct admin_opts *o);
	const char *required;   /* option names, space-separated */
	const char *usage;
};

static const struct admin_cmd cmds[] = {
	{ "init", ttp_admin_init, "db ca-key ca-pub",
	  "init --db DB --ca-key FILE --ca-pub FILE\n"
	  "      Creates the database schema and a new P-256 CA key pair (the private\n"
	  "      key 0600, never over an existing file; the public key for users)." },
	{ "register-user", ttp_admin_register_user, "db ca-key role id request out",
	  "register-user --db DB --ca-key FILE --role patient|doctor|mec --id NAME\n"
	  "              [--attr TEXT] [--days N] --request REQ --out ISSUED\n"
	  "      Phase 1: issues an ECQV certificate for REQ (33 bytes, R_U from\n"
	  "      'iomt-user keygen'), valid from now for N days (365); writes ISSUED\n"
	  "      (157 bytes: certificate || r) and records the user. NAME is 1..16 of\n"
	  "      [A-Za-z0-9._@-] (the certificate subject); TEXT at most 32 bytes." },
	{ "revoke-user", ttp_admin_revoke_user, "db id",
	  "revoke-user --db DB --id NAME\n"
	  "      The user's certificate is no longer accepted for phase 2." },
	{ "register-mec", ttp_admin_register_mec, "db name slots out",
	  "register-mec --db DB --name NAME --slots K --out FILE\n"
	  "             [--to-cert CERT --ca-pub FILE]\n"
	  "      Creates K identity slots for MEC NAME and writes the provisioning file\n"
	  "      (lines 'slot=<n> did=<32 hex> dk=<32 hex>', mode 0600), or with\n"
	  "      --to-cert that text sealed (ECIES, no aad) to the key of CERT (the\n"
	  "      MEC's certificate: 125 bytes, or its 157-byte ISSUED file)." },
	{ "list", ttp_admin_list, "db",
	  "list --db DB\n"
	  "      Users, analyses and party counts (never keys)." },
	{ NULL, NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: iomt-ttp admin COMMAND [options]\n\n"
		"Every command takes --db DB (or --config FILE, the daemon's configuration,\n"
		"for db, ca_key, ca_pub and audit_log; /etc/iomt/ttp.conf is read when\n"
		"neither --db nor --config is given). Changes are recorded in the audit log:\n"
		"--audit-log FILE, else the config's audit_log, else ttp-audit.log beside DB.\n\n");
	for (const struct admin_cmd *c = cmds; c->name; c++)
		fprintf(f, "  %s\n\n", c->usage);
}

int ttp_admin_fail(struct admin_opts *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->err, sizeof(o->err), fmt, ap);
	va_end(ap);
	return 1;
}

/* The option's slot in o, by its name with '-' or '_'. */
static const char **opt_slot(struct admin_opts *o, const char *name, size_t len)
{
	static const struct { const char *name; size_t off; } names[] = {
#define O(n, m) { n, offsetof(struct admin_opts, m) }
		O("config", config), O("db", db), O("ca-key", ca_key), O("ca-pub", ca_pub),
		O("audit-log", audit_log), O("role", role), O("id", id), O("attr", attr),
		O("request", request), O("out", out), O("days", days), O("name", name),
		O("slots", slots), O("to-cert", to_cert),
#undef O
	};
	char key[32];

	if (len >= sizeof(key))
		return NULL;
	for (size_t i = 0; i < len; i++)
		key[i] = name[i] == '_' ? '-' : name[i];
	key[len] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(key, names[i].name))
			return (const char **)((char *)o + names[i].off);
	return NULL;
}

/* --opt VALUE or --opt=VALUE: 0, or 2 with a message. */
static int parse(struct admin_opts *o, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq, **slot;
		size_t len;

		if (strncmp(a, "--", 2))
			return ttp_admin_fail(o, "unexpected argument '%s'", a) + 1;
		a += 2;
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		slot = opt_slot(o, a, len);
		if (!slot)
			return ttp_admin_fail(o, "unknown option '--%.*s'", (int)len, a) + 1;
		if (!eq && i + 1 >= argc)
			return ttp_admin_fail(o, "option '--%s' needs a value", a) + 1;
		*slot = eq ? eq + 1 : argv[++i];
	}
	return 0;
}

/* Values the daemon's configuration gives, where no option did. */
static int apply_config(struct admin_opts *o)
{
	static struct ttp_cfg cfg;
	char err[512];
	const char *path = o->config;

	if (!path && !o->db && access(TTP_DEFAULT_CONFIG, R_OK) == 0)
		path = TTP_DEFAULT_CONFIG;
	if (!path)
		return 0;
	if (rt_conf_defaults(ttp_conf_keys, &cfg, err, sizeof(err)) ||
	    rt_conf_load(path, ttp_conf_keys, &cfg, err, sizeof(err)))
		return ttp_admin_fail(o, "%s", err) + 1;
	o->db = o->db ? o->db : cfg.db;
	o->ca_key = o->ca_key ? o->ca_key : cfg.ca_key;
	o->ca_pub = o->ca_pub ? o->ca_pub : (cfg.ca_pub[0] ? cfg.ca_pub : NULL);
	o->audit_log = o->audit_log ? o->audit_log : cfg.audit_log;
	return 0;
}

static int check_required(struct admin_opts *o, const struct admin_cmd *c)
{
	char list[64], *save = NULL;

	snprintf(list, sizeof(list), "%s", c->required);
	for (char *n = strtok_r(list, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
		const char **slot = opt_slot(o, n, strlen(n));

		if (!*slot || !**slot)
			return ttp_admin_fail(o, "missing --%s", n) + 1;
	}
	return 0;
}

int ttp_admin_audit_open(struct admin_opts *o)
{
	static char path[TTP_PATH_MAX + 32];
	char dir[TTP_PATH_MAX];
	int e;

	if (!o->audit_log) {
		snprintf(dir, sizeof(dir), "%s", o->db);
		snprintf(path, sizeof(path), "%s/ttp-audit.log", dirname(dir));
		o->audit_log = path;
	}
	e = rt_audit_open(o->audit_log);
	if (e) {
		ttp_admin_fail(o, "audit log %s: cannot open: %s", o->audit_log, strerror(-e));
		return -1;
	}
	return 0;
}

static const struct admin_cmd *find_cmd(const char *name)
{
	for (const struct admin_cmd *c = cmds; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

int ttp_admin_main(int argc, char **argv)
{
	static struct admin_opts o;
	const struct admin_cmd *c;
	int r;

	rt_log_init("iomt-ttp");
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	c = find_cmd(argv[1]);
	if (!c) {
		fprintf(stderr, "iomt-ttp admin: unknown command '%s'\n\n", argv[1]);
		usage(stderr);
		return 2;
	}
	r = parse(&o, argc - 2, argv + 2);
	if (!r)
		r = apply_config(&o);
	if (!r)
		r = check_required(&o, c);
	if (r) {
		fprintf(stderr, "iomt-ttp admin %s: %s\nUsage: iomt-ttp admin %s\n", c->name, o.err,
			c->usage);
		return 2;
	}
	r = c->run(&o);
	rt_audit_close();
	if (r)
		fprintf(stderr, "iomt-ttp admin %s: %s\n", c->name, o.err);
	return r ? 1 : 0;
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
