/* SPDX-License-Identifier: MIT */
/* The 'iomt-kdc admin' commands (see admin.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "ct.h"
#include "db.h"
#include "hex.h"
#include "lib/rt_audit.h"
#include "lib/rt_json.h"
#include "lib/rt_keyfile.h"
#include "lib/rt_rng.h"
#include "master.h"

static int64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A principal's name from the command line: valid, and not the TGS's. */
static int name_arg(struct admin_opts *o, const char *what, const char *text, uint8_t *name)
{
	if (iomt_kdc_name_from_text(name, text))
		return kdc_admin_fail(o, "%s '%s': 1..16 of A-Z a-z 0-9 . _ : - expected", what,
				      text);
	if (!memcmp(name, iomt_kdc_tgs_name, IOMT_KDC_NAME_LEN))
		return kdc_admin_fail(o, "%s '%s' is reserved for the TGS", what, text);
	return 0;
}

static int open_db(struct admin_opts *o, struct kdc_db **db)
{
	return kdc_db_open(o->db, 0, db, o->err, sizeof(o->err)) ? 1 : 0;
}

/* Audit, then commit; a commit that fails after its record is written is
 * recorded as failed too. */
static int commit(struct admin_opts *o, struct kdc_db *db, const char *event, const char *name)
{
	if (rt_store_commit(kdc_db_store(db))) {
		rt_audit_write("admin_failed", "action", event, "name", name, NULL);
		return kdc_admin_fail(o, "%s: cannot commit", o->db);
	}
	return 0;
}

static int begin(struct admin_opts *o, struct kdc_db *db)
{
	if (kdc_admin_audit_open(o))
		return 1;
	if (rt_store_begin(kdc_db_store(db)))
		return kdc_admin_fail(o, "%s: cannot start a transaction (database busy?)", o->db);
	return 0;
}

/* ---- init ---- */

int kdc_admin_init(struct admin_opts *o)
{
	uint8_t key[IOMT_KDC_MASTER_LEN];
	struct kdc_meta m = { .tgs_kvno = 1 };
	struct kdc_db *db = NULL;
	int r = 0;

	if (access(o->master, F_OK) == 0)
		return kdc_admin_fail(o, "%s exists: refusing to replace a master key", o->master);
	if (access(o->db, F_OK) == 0)
		return kdc_admin_fail(o, "%s exists: refusing to overwrite a database", o->db);
	if (kdc_db_open(o->db, 1, &db, o->err, sizeof(o->err)))
		return 1;
	r = begin(o, db);
	if (!r && rt_random(m.tgs_salt, sizeof(m.tgs_salt)))
		r = kdc_admin_fail(o, "no randomness");
	if (!r && kdc_master_create(o->master, key, o->err, sizeof(o->err)))
		r = 1;
	if (!r) {
		kdc_master_check(key, m.master_check);
		iomt_wipe(key, sizeof(key));
		m.tgs_key_ms = unix_ms();
		if (kdc_db_init_meta(db, &m))
			r = kdc_admin_fail(o, "%s: cannot write the meta row", o->db);
	}
	if (!r && rt_audit_write("admin_init", "db", o->db, "master", o->master, NULL))
		r = kdc_admin_fail(o, "audit log %s: write failed", o->audit_log);
	if (!r)
		r = commit(o, db, "init", "");
	if (r) {
		rt_store_rollback(kdc_db_store(db));
		unlink(o->master);
	}
	kdc_db_close(db);
	if (r)
		unlink(o->db);
	else
		printf("initialised %s (schema %d) and master key %s (keep a backup offline)\n",
		       o->db, KDC_DB_SCHEMA, o->master);
	return r;
}

/* ---- register ---- */

static int register_args(struct admin_opts *o, struct kdc_principal *p)
{
	if (name_arg(o, "name", o->name, p->name))
		return 1;
	p->kind = kdc_kind_parse(o->kind);
	if (!p->kind)
		return kdc_admin_fail(o, "--kind '%s': sensor, gateway, ppd or cloud expected",
				      o->kind);
	if (p->kind == IOMT_KDC_KIND_CLOUD) {
		if (o->patient)
			return kdc_admin_fail(o, "the cloud store belongs to no patient: drop "
					      "--patient");
		return 0;
	}
	if (!o->patient || !o->patient[0])
		return kdc_admin_fail(o, "a %s belongs to a patient: --patient P is needed",
				      o->kind);
	return name_arg(o, "patient", o->patient, p->patient);
}

int kdc_admin_register(struct admin_opts *o)
{
	struct kdc_principal p = { .kvno = 1 };
	struct kdc_db *db = NULL;
	int r = register_args(o, &p), e;

	if (!r)
		r = open_db(o, &db);
	if (!r && rt_random(p.salt, sizeof(p.salt)))
		r = kdc_admin_fail(o, "no randomness");
	if (!r)
		r = begin(o, db);
	if (!r) {
		struct kdc_principal old;

		p.key_ms = unix_ms();
		p.created = p.updated = p.key_ms / 1000;
		/* Asked first, inside the transaction: a clear refusal, no SQL error. */
		e = kdc_db_find(db, p.name, &old) == 0 ? -EEXIST : kdc_db_insert(db, &p);
		if (e)
			r = kdc_admin_fail(o, e == -EEXIST ? "'%s' is already registered"
							   : "'%s': cannot insert", o->name);
	}
	if (!r && rt_audit_write("admin_register", "name", o->name, "kind", o->kind, "patient",
				 o->patient ? o->patient : "", "kvno", "1", NULL))
		r = kdc_admin_fail(o, "audit log %s: write failed", o->audit_log);
	if (!r)
		r = commit(o, db, "register", o->name);
	if (r && db)
		rt_store_rollback(kdc_db_store(db));
	if (!r)
		printf("registered %s (%s%s%s), key version 1\n", o->name, o->kind,
		       o->patient ? ", patient " : "", o->patient ? o->patient : "");
	kdc_db_close(db);
	return r;
}

/* ---- rotate, revoke ---- */

static int rotate_tgs(struct admin_opts *o, struct kdc_db *db)
{
	struct kdc_meta m;
	char kvno[16];
	int r = begin(o, db);

	if (!r && kdc_db_meta(db, &m))
		r = kdc_admin_fail(o, "%s: cannot read the meta row", o->db);
	if (!r && rt_random(m.tgs_salt, sizeof(m.tgs_salt)))
		r = kdc_admin_fail(o, "no randomness");
	if (!r) {
		m.tgs_kvno++;
		m.tgs_key_ms = unix_ms();
		snprintf(kvno, sizeof(kvno), "%u", m.tgs_kvno);
		if (kdc_db_rotate_tgs(db, &m))
			r = kdc_admin_fail(o, "%s: cannot update the TGS key", o->db);
	}
	if (!r && rt_audit_write("admin_rotate_tgs", "kvno", kvno, NULL))
		r = kdc_admin_fail(o, "audit log %s: write failed", o->audit_log);
	if (!r)
		r = commit(o, db, "rotate_tgs", "krbtgt");
	if (r)
		rt_store_rollback(kdc_db_store(db));
	else
		printf("rotated the TGS key: key version %u (every TGT before it is refused)\n",
		       m.tgs_kvno);
	return r;
}

static int rotate_one(struct admin_opts *o, struct kdc_db *db)
{
	struct kdc_principal p;
	char kvno[16];
	int r = name_arg(o, "name", o->name, p.name), e = 0;

	if (!r)
		r = begin(o, db);
	if (!r && (e = kdc_db_find(db, p.name, &p)))
		r = kdc_admin_fail(o, e == -ENOENT ? "'%s' is not registered"
						   : "'%s': cannot read it", o->name);
	if (!r && p.revoked)
		r = kdc_admin_fail(o, "'%s' is revoked", o->name);
	if (!r && rt_random(p.salt, sizeof(p.salt)))
		r = kdc_admin_fail(o, "no randomness");
	if (!r) {
		p.kvno++;
		p.key_ms = unix_ms();
		p.updated = p.key_ms / 1000;
		snprintf(kvno, sizeof(kvno), "%u", p.kvno);
		if (kdc_db_rotate(db, &p))
			r = kdc_admin_fail(o, "'%s': cannot update it", o->name);
	}
	if (!r && rt_audit_write("admin_rotate", "name", o->name, "kvno", kvno, NULL))
		r = kdc_admin_fail(o, "audit log %s: write failed", o->audit_log);
	if (!r)
		r = commit(o, db, "rotate", o->name);
	if (r && db)
		rt_store_rollback(kdc_db_store(db));
	if (!r)
		printf("rotated %s: key version %u (install it with 'export-key')\n", o->name,
		       p.kvno);
	return r;
}

int kdc_admin_rotate(struct admin_opts *o)
{
	struct kdc_db *db = NULL;
	int r = open_db(o, &db);

	if (!r)
		r = o->tgs ? rotate_tgs(o, db) : rotate_one(o, db);
	kdc_db_close(db);
	return r;
}

int kdc_admin_revoke(struct admin_opts *o)
{
	uint8_t name[IOMT_KDC_NAME_LEN];
	struct kdc_db *db = NULL;
	int r = name_arg(o, "name", o->name, name), e;

	if (!r)
		r = open_db(o, &db);
	if (!r)
		r = begin(o, db);
	if (!r && (e = kdc_db_revoke(db, name, unix_ms() / 1000)))
		r = kdc_admin_fail(o, e == -ENOENT ? "'%s' is not registered" : e == -EALREADY
				   ? "'%s' is already revoked" : "'%s': cannot revoke it", o->name);
	if (!r && rt_audit_write("admin_revoke", "name", o->name, NULL))
		r = kdc_admin_fail(o, "audit log %s: write failed", o->audit_log);
	if (!r)
		r = commit(o, db, "revoke", o->name);
	if (r && db)
		rt_store_rollback(kdc_db_store(db));
	if (!r)
		printf("revoked %s\n", o->name);
	kdc_db_close(db);
	return r;
}

/* ---- list ---- */

struct lister {
	int json, n;
};

static void date(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
}

static int list_row(void *arg, const struct kdc_principal *p)
{
	struct lister *l = arg;
	char name[KDC_NAME_TEXT], patient[KDC_NAME_TEXT], created[32], updated[32];

	kdc_name_text(p->name, name);
	kdc_name_text(p->patient, patient);
	date(p->created, created, sizeof(created));
	date(p->updated, updated, sizeof(updated));
	/* Names are of a character set JSON needs no escape for. */
	if (l->json)
		printf("%s\n    {\"name\":\"%s\",\"kind\":\"%s\",\"patient\":\"%s\",\"kvno\":%u,"
		       "\"status\":\"%s\",\"created\":\"%s\",\"updated\":\"%s\"}",
		       l->n ? "," : "", name, kdc_kind_name(p->kind), patient, p->kvno,
		       p->revoked ? "revoked" : "active", created, updated);
	else
		printf("%-16s %-8s %-16s %5u %-8s %s %s\n", name, kdc_kind_name(p->kind),
		       patient[0] ? patient : "-", p->kvno, p->revoked ? "revoked" : "active",
		       created, updated);
	l->n++;
	return 0;
}

int kdc_admin_list(struct admin_opts *o)
{
	struct lister l = { .json = o->json };
	struct kdc_db *db = NULL;
	struct kdc_meta m;
	int r = open_db(o, &db);

	if (!r && kdc_db_meta(db, &m))
		r = kdc_admin_fail(o, "%s: cannot read the meta row", o->db);
	if (!r) {
		if (l.json)
			printf("{\"tgs_kvno\":%u,\"principals\":[", m.tgs_kvno);
		else
			printf("%-16s %-8s %-16s %5s %-8s %-20s %s\n", "NAME", "KIND", "PATIENT",
			       "KVNO", "STATUS", "CREATED", "UPDATED");
		if (kdc_db_load(db, list_row, &l))
			r = kdc_admin_fail(o, "%s: cannot read the principals", o->db);
	}
	if (!r && l.json)
		printf("%s]}\n", l.n ? "\n  " : "");
	else if (!r)
		printf("%d principal%s; TGS key version %u\n", l.n, l.n == 1 ? "" : "s",
		       m.tgs_kvno);
	kdc_db_close(db);
	return r;
}

/* ---- export-key ---- */

/* The passcode: the file's first line, without its newline. */
static int read_passcode(struct admin_opts *o, char *buf, size_t cap)
{
	int fd = open(o->passcode_file, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return kdc_admin_fail(o, "--passcode-file %s: %s", o->passcode_file,
				      strerror(errno));
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return kdc_admin_fail(o, "--passcode-file %s: %s", o->passcode_file,
				      strerror(errno));
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0])
		return kdc_admin_fail(o, "--passcode-file %s: empty passcode", o->passcode_file);
	return 0;
}

static int export(struct admin_opts *o, struct kdc_db *db, const char *pass)
{
	uint8_t kkdc[IOMT_KDC_MASTER_LEN], kcv[8];
	struct rt_keyfile kf = { 0 };
	struct kdc_principal p;
	char kvno[16], kcvhex[17];
	int r = name_arg(o, "name", o->name, p.name), e;

	if (!r && (e = kdc_db_find(db, p.name, &p)))
		r = kdc_admin_fail(o, e == -ENOENT ? "'%s' is not registered"
						   : "'%s': cannot read it", o->name);
	if (!r && p.revoked)
		r = kdc_admin_fail(o, "'%s' is revoked: no key to export", o->name);
	if (!r && kdc_master_load(o->master, db, kkdc, o->err, sizeof(o->err)))
		r = 1;
	if (r)
		return r;
	memcpy(kf.name, p.name, sizeof(kf.name));
	memcpy(kf.patient, p.patient, sizeof(kf.patient));
	kf.kind = p.kind;
	kf.kvno = p.kvno;
	iomt_kdc_device_key(kkdc, p.name, p.salt, kf.key);
	iomt_wipe(kkdc, sizeof(kkdc));
	iomt_kdc_key_check(kf.key, kcv);
	iomt_hex_encode(kcv, sizeof(kcv), kcvhex);
	snprintf(kvno, sizeof(kvno), "%u", p.kvno);
	if (rt_audit_write("admin_export_key", "name", o->name, "kvno", kvno, "form",
			   pass ? "passcode" : "plain", "out", o->out, "kcv", kcvhex, NULL))
		r = kdc_admin_fail(o, "audit log %s: write failed", o->audit_log);
	if (!r && (e = rt_keyfile_write(o->out, &kf, pass)))
		r = kdc_admin_fail(o, "%s: cannot write the key file: %s", o->out, strerror(-e));
	rt_keyfile_wipe(&kf);
	if (!r)
		printf("wrote %s's key (version %s, check value %s) to %s (%s)\n", o->name, kvno,
		       kcvhex, o->out, pass ? "passcode-protected" : "plain: install near-field");
	return r;
}

int kdc_admin_export_key(struct admin_opts *o)
{
	char pass[1024];
	struct kdc_db *db = NULL;
	int r = o->passcode_file ? read_passcode(o, pass, sizeof(pass)) : 0;

	if (!r)
		r = open_db(o, &db);
	if (!r)
		r = kdc_admin_audit_open(o);
	if (!r)
		r = export(o, db, o->passcode_file ? pass : NULL);
	iomt_wipe(pass, sizeof(pass));
	kdc_db_close(db);
	return r;
}
