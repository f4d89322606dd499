/* SPDX-License-Identifier: MIT */
/*
 * The KDC's registration database (rt_store, SQLite today):
 *
 *   principals (name PRIMARY KEY, patient ('' for the cloud store), kind,
 *               salt, kvno, status, created, updated, key_ms)
 *   meta       (one row: the TGS key's salt and kvno, the master key's
 *               check value)
 *
 * No key is stored: K_D = iomt_kdc_device_key(K_KDC, name, salt) and K_TGS
 * = iomt_kdc_tgs_key(K_KDC, tgs_salt) are derived when needed, and K_KDC
 * lives in its own file. A key update draws a new salt and bumps kvno.
 * key_ms is when the salt last changed (Unix ms): TGTs issued before it are
 * refused. Functions return 0 or a negative errno; the store logs the
 * database's own message.
 */
#ifndef IOMT_KDC_DB_H
#define IOMT_KDC_DB_H
#include <stddef.h>
#include <stdint.h>

#include "kdc.h"
#include "lib/rt_store.h"

enum {
	KDC_DB_SCHEMA = 1,
	KDC_CHECK_LEN = 8,
	KDC_NAME_TEXT = IOMT_KDC_NAME_LEN + 1,
};

struct kdc_principal {
	uint8_t name[IOMT_KDC_NAME_LEN];
	uint8_t patient[IOMT_KDC_NAME_LEN];  /* zero for the cloud store */
	uint8_t salt[IOMT_KDC_SALT_LEN];
	uint32_t kvno;
	uint8_t kind;                        /* enum iomt_kdc_kind */
	uint8_t revoked;
	int64_t created, updated;            /* Unix s */
	int64_t key_ms;                      /* Unix ms of the last salt change */
};

struct kdc_meta {
	uint8_t tgs_salt[IOMT_KDC_SALT_LEN];
	uint32_t tgs_kvno;
	int64_t tgs_key_ms;
	uint8_t master_check[KDC_CHECK_LEN];
};

struct kdc_db;

/* Opens an initialised database (-ENOENT with "run admin init" in err
 * otherwise); create = 1 makes the schema instead, and refuses (-EEXIST) a
 * database that already has one. A newer schema is -EPROTO. */
int kdc_db_open(const char *path, int create, struct kdc_db **out, char *err, size_t errlen);
void kdc_db_close(struct kdc_db *db);
struct rt_store *kdc_db_store(struct kdc_db *db);

/* The meta row, written once by init. */
int kdc_db_init_meta(struct kdc_db *db, const struct kdc_meta *m);
int kdc_db_meta(struct kdc_db *db, struct kdc_meta *m);
/* Changes whenever another connection commits (PRAGMA data_version). */
int kdc_db_data_version(struct kdc_db *db, int64_t *v);

/* Calls fn for every principal, in one read transaction: fn's first
 * non-zero result, -EPROTO for a malformed row, or 0. */
int kdc_db_load(struct kdc_db *db, int (*fn)(void *arg, const struct kdc_principal *p),
		void *arg);
/* -ENOENT when absent. */
int kdc_db_find(struct kdc_db *db, const uint8_t name[IOMT_KDC_NAME_LEN],
		struct kdc_principal *p);
/* -EEXIST for a name taken. */
int kdc_db_insert(struct kdc_db *db, const struct kdc_principal *p);
/* New salt, kvno + 1, key_ms: -ENOENT, or -EALREADY for a revoked one. */
int kdc_db_rotate(struct kdc_db *db, const struct kdc_principal *p);
int kdc_db_rotate_tgs(struct kdc_db *db, const struct kdc_meta *m);
/* -ENOENT, -EALREADY (already revoked). */
int kdc_db_revoke(struct kdc_db *db, const uint8_t name[IOMT_KDC_NAME_LEN], int64_t now);

/* Zero-padded name <-> text; kinds <-> "sensor", "gateway", "ppd", "cloud". */
void kdc_name_text(const uint8_t name[IOMT_KDC_NAME_LEN], char out[KDC_NAME_TEXT]);
const char *kdc_kind_name(uint8_t kind);
uint8_t kdc_kind_parse(const char *text);

#endif
