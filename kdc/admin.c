/* SPDX-License-Identifier: MIT */
/* 'iomt-kdc admin': options and the command table. */
#include <stdarg.h>
#include <stddef.h>

#include "admin.h"
#include "config.h"
#include "lib/rt_admin.h"

static const struct rt_admin_cmd cmds[] = {
	{ "init", "db master", 0,
	  "init --db DB --master FILE\n"
	  "      Creates a new master key K_KDC (32 random bytes, FILE mode 0600) and the\n"
	  "      database schema with a fresh TGS key salt. Refuses to overwrite either." },
	{ "register", "db kind", 1,
	  "register NAME --kind sensor|gateway|ppd|cloud [--patient P] --db DB\n"
	  "      Registers principal NAME (1..16 of [A-Za-z0-9._:-]) with a random salt,\n"
	  "      key version 1. Sensors, gateways and PPDs belong to patient P; the\n"
	  "      cloud store to none (no --patient). A name is registered once." },
	{ "rotate", "db", 1,
	  "rotate NAME --db DB  |  rotate --tgs --db DB\n"
	  "      Key update: a new random salt and key version + 1, for NAME (its old\n"
	  "      key gets STALE_KEY, its TGTs from before are refused; export the new\n"
	  "      key) or for the TGS key (every TGT is refused: clients ask AS again)." },
	{ "revoke", "db", 1,
	  "revoke NAME --db DB\n"
	  "      NAME gets no more tickets, and no ticket is issued for it." },
	{ "list", "db", 0,
	  "list --db DB [--json]\n"
	  "      Principals (name, kind, patient, key version, status, dates) and the\n"
	  "      TGS key version; never a key or a salt." },
	{ "export-key", "db master out", 1,
	  "export-key NAME --db DB --master FILE --out FILE [--passcode-file F]\n"
	  "      Writes NAME's current key K_D to a key file for bootstrapping: plain\n"
	  "      (near-field install), or wrapped under the passcode in F's first line\n"
	  "      (Argon2id + AES-128-CCM, for the smartphone path). Mode 0600." },
	{ NULL, NULL, 0, NULL },
};

/* In the order of cmds. */
static int (*const run[])(struct admin_opts *o) = {
	kdc_admin_init, kdc_admin_register, kdc_admin_rotate, kdc_admin_revoke, kdc_admin_list,
	kdc_admin_export_key,
};
_Static_assert(sizeof(run) / sizeof(run[0]) == sizeof(cmds) / sizeof(cmds[0]) - 1,
	       "one run function per command");

#define O(n, m) { n, offsetof(struct admin_opts, m) }
static const struct rt_admin_opt opts[] = {
	O("config", config), O("db", db), O("master", master), O("audit-log", audit_log),
	O("patient", patient), O("kind", kind), O("out", out), O("passcode-file", passcode_file),
	{ NULL, 0 },
};
#undef O

static const struct rt_admin_flag flags[] = {
	{ "tgs", "rotate", offsetof(struct admin_opts, tgs) },
	{ "json", "list", offsetof(struct admin_opts, json) },
	{ NULL, NULL, 0 },
};

static void from_config(void *opts_, const void *cfg_)
{
	struct admin_opts *o = opts_;
	const struct kdc_cfg *cfg = cfg_;

	o->db = o->db ? o->db : cfg->db;
	o->master = o->master ? o->master : cfg->master;
	o->audit_log = o->audit_log ? o->audit_log : cfg->audit_log;
}

/* NAME, or --tgs for rotate. */
static int check(void *opts_, const struct rt_admin_cmd *c, char *err, size_t errlen)
{
	struct admin_opts *o = opts_;

	if (c->positional && !o->name && !o->tgs)
		return rt_admin_fail(err, errlen, "missing NAME") + 1;
	if (o->tgs && o->name)
		return rt_admin_fail(err, errlen, "give NAME or --tgs, not both") + 1;
	return 0;
}

static struct kdc_cfg cfg;

static const struct rt_admin spec = {
	.prog = "iomt-kdc",
	.intro = "COMMAND [NAME] [options]\n\n"
		 "Every command takes --db DB (or --config FILE, the daemon's configuration,\n"
		 "for db, master and audit_log; /etc/iomt/kdc.conf is read when neither --db\n"
		 "nor --config is given). Changes are recorded in the audit log: --audit-log\n"
		 "FILE, else the config's audit_log, else kdc-audit.log beside DB. The daemon\n"
		 "may be running: it picks changes up within its reload_interval.\n\n",
	.cmds = cmds,
	.opts = opts,
	.flags = flags,
	.name_off = offsetof(struct admin_opts, name),
	.err_off = offsetof(struct admin_opts, err),
	.errlen = sizeof(((struct admin_opts *)0)->err),
	.default_config = KDC_DEFAULT_CONFIG,
	.conf_keys = kdc_conf_keys,
	.cfg = &cfg,
	.from_config = from_config,
	.check = check,
};

int kdc_admin_fail(struct admin_opts *o, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = rt_admin_vfail(o->err, sizeof(o->err), fmt, ap);
	va_end(ap);
	return r;
}

int kdc_admin_audit_open(struct admin_opts *o)
{
	return rt_admin_audit_open(&o->audit_log, o->db, "kdc-audit.log", o->err,
				   sizeof(o->err));
}

int kdc_admin_main(int argc, char **argv)
{
	static struct admin_opts o;
	int code, i = rt_admin_begin(&spec, &o, argc, argv, &code);

	return i < 0 ? code : rt_admin_end(&spec, &o, i, run[i](&o));
}
