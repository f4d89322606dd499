/* SPDX-License-Identifier: MIT */
/* 'iomt-ttp admin register-mec': a MEC's pool of identity slots (§3.5). */
#define OPENSSL_API_COMPAT 0x30000000L
#define OPENSSL_NO_DEPRECATED
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#include "admin.h"
#include "ct.h"
#include "db.h"
#include "files.h"
#include "iomt_err.h"
#include "keys.h"
#include "lib/ecies.h"
#include "lib/rt_audit.h"
#include "lib/rt_rng.h"
#include "phase2.h"

enum {
	SLOTS_MAX = 4096,
	/* "slot=4095 did=<32> dk=<32>\n" */
	LINE_MAX_LEN = 5 + 4 + 5 + 32 + 4 + 32 + 1,
	CERT_FILE_MAX = ECQV_CERT_LEN + ECQV_SCALAR_LEN,
};

/* The slots and their file: secret until written, then wiped. */
struct pool {
	long n;
	struct ttp_party *slot;
	char *text;
	size_t len;
	uint8_t *box;
	size_t box_len;
	struct ttp_outfile of;
};

static int parse_slots(struct admin_opts *o, long *n)
{
	char *end;

	errno = 0;
	*n = strtol(o->slots, &end, 10);
	if (errno || *end || end == o->slots || *n < 1 || *n > SLOTS_MAX)
		return ttp_admin_fail(o, "--slots: '%s' is not a count in 1..%d", o->slots,
				      SLOTS_MAX);
	return 0;
}

static int make_pool(struct admin_opts *o, struct pool *p)
{
	char did[33], dk[33];

	p->slot = calloc((size_t)p->n, sizeof(*p->slot));
	p->text = malloc((size_t)p->n * LINE_MAX_LEN + 1);
	if (!p->slot || !p->text)
		return ttp_admin_fail(o, "out of memory");
	for (long i = 0; i < p->n; i++) {
		struct ttp_party *s = &p->slot[i];

		s->kind = TTP_PARTY_MEC;
		if (rt_random(s->did_cur, sizeof(s->did_cur)) || rt_random(s->dk_cur, sizeof(s->dk_cur)))
			return ttp_admin_fail(o, "no randomness");
		iomt_hex_encode(s->did_cur, sizeof(s->did_cur), did);
		iomt_hex_encode(s->dk_cur, sizeof(s->dk_cur), dk);
		p->len += (size_t)sprintf(p->text + p->len, "slot=%ld did=%s dk=%s\n", i, did, dk);
	}
	iomt_wipe(dk, sizeof(dk));
	return 0;
}

/* The MEC's public key from its certificate (125 bytes, or ISSUED: 157),
 * which must be the one on record for a registered, non-revoked MEC user. */
static int cert_key(struct admin_opts *o, struct ttp_db *db, EVP_PKEY **pub)
{
	uint8_t buf[CERT_FILE_MAX];
	char name[ECQV_ID_LEN + 1];
	struct ecqv_cert c;
	struct ttp_user u;
	EVP_PKEY *ca = NULL;
	size_t len = 0;
	int e;

	if (ttp_file_read(o->to_cert, buf, sizeof(buf), &len, o->err, sizeof(o->err)))
		return 1;
	if (len != ECQV_CERT_LEN && len != CERT_FILE_MAX)
		return ttp_admin_fail(o, "%s: %zu bytes, expected a certificate (%d) or an ISSUED "
				      "file (%d)", o->to_cert, len, ECQV_CERT_LEN, CERT_FILE_MAX);
	if (ecqv_cert_decode(&c, buf, ECQV_CERT_LEN))
		return ttp_admin_fail(o, "%s: not a valid certificate", o->to_cert);
	if (c.role != ECQV_ROLE_MEC)
		return ttp_admin_fail(o, "%s: not a MEC's certificate", o->to_cert);
	if (ttp_name_of_subject(c.subject, name) || ttp_db_find_user(db, name, &u) ||
	    u.revoked || !iomt_ct_eq(u.cert, buf, ECQV_CERT_LEN))
		return ttp_admin_fail(o, "%s: not the certificate of a registered, non-revoked "
				      "MEC user", o->to_cert);
	if (ttp_key_read_public(o->ca_pub, &ca, o->err, sizeof(o->err)))
		return 1;
	e = ecqv_public_from_cert(&c, ca, (uint64_t)time(NULL), pub);
	EVP_PKEY_free(ca);
	if (e)
		return ttp_admin_fail(o, "%s: %s", o->to_cert, e == IOMT_ESTATE ?
				      "certificate outside its validity window" :
				      "no public key (wrong --ca-pub?)");
	return 0;
}

static int seal(struct admin_opts *o, struct ttp_db *db, struct pool *p)
{
	EVP_PKEY *pub = NULL;
	int e;

	/* ECIES with CCM carries at most 65535 bytes. */
	if (p->len > ECIES_PT_MAX)
		return ttp_admin_fail(o, "%ld slots do not fit one sealed file (at most %d bytes)",
				      p->n, ECIES_PT_MAX);
	if (cert_key(o, db, &pub))
		return 1;
	p->box_len = p->len + ECIES_OVERHEAD;
	p->box = malloc(p->box_len);
	e = p->box ? ecies_seal(pub, NULL, 0, (const uint8_t *)p->text, p->len, p->box) : -1;
	EVP_PKEY_free(pub);
	return e ? ttp_admin_fail(o, "sealing failed") : 0;
}

static int store(struct admin_opts *o, struct ttp_db *db, struct pool *p)
{
	int64_t now = (int64_t)time(NULL);
	int e = ttp_db_begin(db);

	for (long i = 0; !e && i < p->n; i++)
		e = ttp_db_insert_party(db, &p->slot[i], o->name, (int)i, now);
	e = e ? (ttp_db_rollback(db), e) : ttp_db_commit(db);
	if (!e)
		return 0;
	ttp_admin_fail(o, "%s: %s", o->db, e == -EEXIST ? "MEC name already registered"
						    : strerror(-e));
	rt_audit_write("admin_register_mec_failed", "mec", o->name, "reason", o->err, NULL);
	return 1;
}

static int check(struct admin_opts *o, struct ttp_db *db, struct pool *p)
{
	int64_t have;

	if (!ttp_name_valid(o->name, TTP_NAME_MAX))
		return ttp_admin_fail(o, "--name: '%s' is not 1..%d characters of [A-Za-z0-9._@-]",
				      o->name, TTP_NAME_MAX);
	if (parse_slots(o, &p->n))
		return 1;
	if (o->to_cert && !o->ca_pub)
		return ttp_admin_fail(o, "--to-cert needs --ca-pub");
	have = ttp_db_mec_slots(db, o->name);
	if (have)
		return ttp_admin_fail(o, have > 0 ? "MEC '%s' is already registered" :
				      "MEC '%s': database error", o->name);
	return 0;
}

static void pool_free(struct pool *p)
{
	if (p->slot)
		iomt_wipe(p->slot, (size_t)p->n * sizeof(*p->slot));
	if (p->text)
		iomt_wipe(p->text, p->len);
	free(p->slot);
	free(p->text);
	free(p->box);
}

int ttp_admin_register_mec(struct admin_opts *o)
{
	struct pool p = { 0 };
	struct ttp_db *db = NULL;
	char n[16];
	int r = ttp_db_open(o->db, 0, &db, o->err, sizeof(o->err)) ? 1 : 0;

	r = r || check(o, db, &p) || make_pool(o, &p) || (o->to_cert && seal(o, db, &p));
	r = r || ttp_admin_audit_open(o);
	if (!r && ttp_outfile_write(&p.of, o->out, p.box ? (const void *)p.box : p.text,
				    p.box ? p.box_len : p.len, 0600, o->err, sizeof(o->err)))
		r = 1;
	snprintf(n, sizeof(n), "%ld", p.n);
	if (!r && rt_audit_write("admin_register_mec", "mec", o->name, "slots", n, "sealed",
				 o->to_cert ? "yes" : "no", NULL))
		r = ttp_admin_fail(o, "audit log %s: write failed", o->audit_log);
	r = r || store(o, db, &p) || ttp_outfile_publish(&p.of, o->err, sizeof(o->err));
	if (r)
		ttp_outfile_discard(&p.of);
	else
		printf("registered MEC '%s' with %ld slots; provisioning file %s%s\n", o->name, p.n,
		       o->out, o->to_cert ? " (sealed)" : "");
	pool_free(&p);
	ttp_db_close(db);
	return r;
}
