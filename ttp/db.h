/* SPDX-License-Identifier: MIT */
/*
 * The TTP's database (rt_store, SQLite today): schema and every query.
 *
 *   users     (id, name UNIQUE, role, attributes, serial, cert, not_after,
 *              revoked, created)                       phase 1
 *   analyses  (id, id_a UNIQUE, patient_id -> users, policy, created)
 *   parties   (id, kind 1 device / 2 MEC slot, id_a -> analyses (devices),
 *              mec_name + slot UNIQUE (MEC slots), did_cur UNIQUE, dk_cur,
 *              did_prev UNIQUE, dk_prev, updated)       phases 2 and 3
 *   nonces    (nonce PRIMARY KEY, user_id, expires)     phase-2 replay cache
 *
 * DKs are stored as plain 16-byte blobs: the file is 0600 and SQLite's
 * secure_delete overwrites freed pages; encrypting them at rest (disk
 * encryption, or keys wrapped under a key outside the database) is future
 * work (docs/OPERATIONS.md). Functions return 0 or a negative errno; the
 * store logs the database's own message.
 */
#ifndef IOMT_TTP_DB_H
#define IOMT_TTP_DB_H
#include <stddef.h>
#include <stdint.h>

#include "lib/ecqv.h"
#include "lib/rt_store.h"
#include "s2_table.h"

enum {
	TTP_DB_SCHEMA = 1,
	TTP_NAME_MAX = 64,      /* MEC names */
	TTP_USER_NAME_MAX = ECQV_ID_LEN, /* user names are certificate subjects */
};

struct ttp_db;

/* Opens an existing, initialised database (create = 0: -ENOENT with "run
 * admin init" in err otherwise) or creates/initialises one (create = 1). An
 * older schema is migrated; a newer one is -EPROTO. */
int ttp_db_open(const char *path, int create, struct ttp_db **out, char *err, size_t errlen);
void ttp_db_close(struct ttp_db *db);
struct rt_store *ttp_db_store(struct ttp_db *db);

int ttp_db_begin(struct ttp_db *db);
int ttp_db_commit(struct ttp_db *db);
void ttp_db_rollback(struct ttp_db *db);

/* 1 if name is 1..max bytes of [A-Za-z0-9._@-], else 0. */
int ttp_name_valid(const char *name, size_t max);

/* ---- parties ---- */

/* Calls fn for every party; stops at fn's first non-zero result and returns
 * it. A row with a wrong-sized field is -EPROTO (message in err). */
int ttp_db_load_parties(struct ttp_db *db, int (*fn)(void *arg, const struct ttp_party *p),
			void *arg, char *err, size_t errlen);
/* The party holding did as current or previous identity: 0, -ENOENT. */
int ttp_db_find_party(struct ttp_db *db, const uint8_t did[IOMT_S2_ID_LEN], struct ttp_party *p);
/* Writes p's identities (by p->db_id): 0, or -ENOENT if the row is gone. */
int ttp_db_update_party(struct ttp_db *db, const struct ttp_party *p, int64_t now);
/* New rows; p->db_id receives the row id. mec_name NULL for a device. */
int ttp_db_insert_party(struct ttp_db *db, struct ttp_party *p, const char *mec_name, int slot,
			int64_t now);
/* Slots registered under a MEC name (0 if none). */
int64_t ttp_db_mec_slots(struct ttp_db *db, const char *name);

/* ---- users, analyses, nonces (db_users.c) ---- */

struct ttp_user {
	int64_t id;
	char name[TTP_USER_NAME_MAX + 1];
	uint8_t role;                       /* enum ecqv_role */
	char attr[ECQV_ATTR_MAX + 1];
	uint64_t serial;
	uint8_t cert[ECQV_CERT_LEN];
	int64_t not_after;
	int revoked;
};

/* "patient", "doctor", "mec" <-> ECQV_ROLE_*; 0 / NULL when unknown. */
uint8_t ttp_role_parse(const char *name);
const char *ttp_role_name(uint8_t role);

/* -EEXIST when the name is taken. */
int ttp_db_add_user(struct ttp_db *db, struct ttp_user *u, int64_t now);
int ttp_db_find_user(struct ttp_db *db, const char *name, struct ttp_user *u);
/* -ENOENT (no such user) or -EALREADY (already revoked). */
int ttp_db_revoke_user(struct ttp_db *db, const char *name, int64_t now);

int ttp_db_add_analysis(struct ttp_db *db, const uint8_t id_a[IOMT_S2_IDA_LEN],
			int64_t patient_id, const char *policy, int64_t now);
/* -EEXIST when the nonce was seen (a replay). */
int ttp_db_add_nonce(struct ttp_db *db, const uint8_t nonce[16], int64_t user_id,
		     int64_t expires);
int ttp_db_purge_nonces(struct ttp_db *db, int64_t now);

#endif
