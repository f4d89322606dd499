/* SPDX-License-Identifier: MIT */
/* 'iomt-kdc admin': options and the command table. */
#include <libgen.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "config.h"
#include "lib/rt_audit.h"
#include "lib/rt_log.h"

struct admin_cmd {
	const char *name;
	int (*run)(struct admin_opts *o);
	const char *required;   /* option names, space-separated */
	int positional;         /* 1: takes NAME */
	const char *usage;
};

static const struct admin_cmd cmds[] = {
	{ "init", kdc_admin_init, "db master", 0,
	  "init --db DB --master FILE\n"
	  "      Creates a new master key K_KDC (32 random bytes, FILE mode 0600) and the\n"
	  "      database schema with a fresh TGS key salt. Refuses to overwrite either." },
	{ "register", kdc_admin_register, "db kind", 1,
	  "register NAME --kind sensor|gateway|ppd|cloud [--patient P] --db DB\n"
	  "      Registers principal NAME (1..16 of [A-Za-z0-9._:-]) with a random salt,\n"
	  "      key version 1. Sensors, gateways and PPDs belong to patient P; the\n"
	  "      cloud store to none (no --patient). A name is registered once." },
	{ "rotate", kdc_admin_rotate, "db", 1,
	  "rotate NAME --db DB  |  rotate --tgs --db DB\n"
	  "      Key update: a new random salt and key version + 1, for NAME (its old\n"
	  "      key gets STALE_KEY, its TGTs from before are refused; export the new\n"
	  "      key) or for the TGS key (every TGT is refused: clients ask AS again)." },
	{ "revoke", kdc_admin_revoke, "db", 1,
	  "revoke NAME --db DB\n"
	  "      NAME gets no more tickets, and no ticket is issued for it." },
	{ "list", kdc_admin_list, "db", 0,
	  "list --db DB [--json]\n"
	  "      Principals (name, kind, patient, key version, status, dates) and the\n"
	  "      TGS key version; never a key or a salt." },
	{ "export-key", kdc_admin_export_key, "db master out", 1,
	  "export-key NAME --db DB --master FILE --out FILE [--passcode-file F]\n"
	  "      Writes NAME's current key K_D to a key file for bootstrapping: plain\n"
	  "      (near-field install), or wrapped under the passcode in F's first line\n"
	  "      (Argon2id + AES-128-CCM, for the smartphone path). Mode 0600." },
	{ NULL, NULL, NULL, 0, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: iomt-kdc admin COMMAND [NAME] [options]\n\n"
		"Every command takes --db DB (or --config FILE, the daemon's configuration,\n"
		"for db, master and audit_log; /etc/iomt/kdc.conf is read when neither --db\n"
		"nor --config is given). Changes are recorded in the audit log: --audit-log\n"
		"FILE, else the config's audit_log, else kdc-audit.log beside DB. The daemon\n"
		"may be running: it picks changes up within its reload_interval.\n\n");
	for (const struct admin_cmd *c = cmds; c->name; c++)
		fprintf(f, "  %s\n\n", c->usage);
}

int kdc_admin_fail(struct admin_opts *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->err, sizeof(o->err), fmt, ap);
	va_end(ap);
	return 1;
}

static const char **opt_slot(struct admin_opts *o, const char *name, size_t len)
{
	static const struct { const char *name; size_t off; } names[] = {
#define O(n, m) { n, offsetof(struct admin_opts, m) }
		O("config", config), O("db", db), O("master", master), O("audit-log", audit_log),
		O("patient", patient), O("kind", kind), O("out", out),
		O("passcode-file", passcode_file),
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
			return (const char **)(void *)((char *)o + names[i].off);
	return NULL;
}

/* NAME, --opt VALUE, --opt=VALUE, --tgs, --json: 0, or 2 with a message. */
static int parse(struct admin_opts *o, const struct admin_cmd *c, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq, **slot;
		size_t len;

		if (strncmp(a, "--", 2)) {
			if (!c->positional || o->name)
				return kdc_admin_fail(o, "unexpected argument '%s'", a) + 1;
			o->name = a;
			continue;
		}
		a += 2;
		if (!strcmp(a, "tgs") && !strcmp(c->name, "rotate")) {
			o->tgs = 1;
			continue;
		}
		if (!strcmp(a, "json") && !strcmp(c->name, "list")) {
			o->json = 1;
			continue;
		}
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		slot = opt_slot(o, a, len);
		if (!slot)
			return kdc_admin_fail(o, "unknown option '--%.*s'", (int)len, a) + 1;
		if (!eq && i + 1 >= argc)
			return kdc_admin_fail(o, "option '--%s' needs a value", a) + 1;
		*slot = eq ? eq + 1 : argv[++i];
	}
	return 0;
}

static int apply_config(struct admin_opts *o)
{
	static struct kdc_cfg cfg;
	char err[512];
	const char *path = o->config;

	if (!path && !o->db && access(KDC_DEFAULT_CONFIG, R_OK) == 0)
		path = KDC_DEFAULT_CONFIG;
	if (!path)
		return 0;
	if (rt_conf_defaults(kdc_conf_keys, &cfg, err, sizeof(err)) ||
	    rt_conf_load(path, kdc_conf_keys, &cfg, err, sizeof(err)))
		return kdc_admin_fail(o, "%s", err) + 1;
	o->db = o->db ? o->db : cfg.db;
	o->master = o->master ? o->master : cfg.master;
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
			return kdc_admin_fail(o, "missing --%s", n) + 1;
	}
	if (c->positional && !o->name && !o->tgs)
		return kdc_admin_fail(o, "missing NAME") + 1;
	if (o->tgs && o->name)
		return kdc_admin_fail(o, "give NAME or --tgs, not both") + 1;
	return 0;
}

int kdc_admin_audit_open(struct admin_opts *o)
{
	static char path[KDC_PATH_MAX + 32];
	char dir[KDC_PATH_MAX];
	int e;

	if (!o->audit_log) {
		snprintf(dir, sizeof(dir), "%s", o->db);
		snprintf(path, sizeof(path), "%s/kdc-audit.log", dirname(dir));
		o->audit_log = path;
	}
	e = rt_audit_open(o->audit_log);
	if (e)
		return kdc_admin_fail(o, "audit log %s: cannot open: %s", o->audit_log,
				      strerror(-e));
	return 0;
}

static const struct admin_cmd *find_cmd(const char *name)
{
	for (const struct admin_cmd *c = cmds; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static int wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	return 0;
}

int kdc_admin_main(int argc, char **argv)
{
	static struct admin_opts o;
	const struct admin_cmd *c;
	int r;

	rt_log_init("iomt-kdc");
	if (argc < 2 || !strcmp(argv[1], "help") || wants_help(2, argv)) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	c = find_cmd(argv[1]);
	if (!c) {
		fprintf(stderr, "iomt-kdc admin: unknown command '%s'\n\n", argv[1]);
		usage(stderr);
		return 2;
	}
	if (wants_help(argc - 2, argv + 2)) {
		printf("Usage: iomt-kdc admin %s\n", c->usage);
		return 0;
	}
	r = parse(&o, c, argc - 2, argv + 2);
	if (!r)
		r = apply_config(&o);
	if (!r)
		r = check_required(&o, c);
	if (r) {
		fprintf(stderr, "iomt-kdc admin %s: %s\nUsage: iomt-kdc admin %s\n", c->name, o.err,
			c->usage);
		return 2;
	}
	r = c->run(&o);
	rt_audit_close();
	if (r)
		fprintf(stderr, "iomt-kdc admin %s: %s\n", c->name, o.err);
	return r ? 1 : 0;
}
