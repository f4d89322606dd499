/* SPDX-License-Identifier: MIT */
/*
 * The store's database (rt_store: SQLite, WAL, synchronous FULL):
 *
 *   metas   (key_id PK, meta blob, ppd_id, sensor_id, first_seen)
 *   records (key_id, epoch, leaf, seq, recv_ms, record blob,
 *            PRIMARY KEY (key_id, epoch, leaf, seq))
 *
 * Records are stored sealed, exactly as the sensor made them: the store
 * holds no data key. A record already held (same name) is a duplicate and
 * is left as it is (INSERT OR IGNORE), so a retried batch is harmless.
 */
#ifndef IOMT_STORE_DB_H
#define IOMT_STORE_DB_H
#include <stddef.h>
#include <stdint.h>

#include "keytree.h"
#include "recbatch.h"

enum { STORE_DB_SCHEMA = 1 };

struct store_db;

/* Opens (creating when create is set, else -ENOENT for a missing file) and
 * brings the schema up to date: 0 or -errno with a message in err. */
int store_db_open(const char *path, int create, struct store_db **out, char *err,
		  size_t errlen);
void store_db_close(struct store_db *db);

int store_db_begin(struct store_db *db);
int store_db_commit(struct store_db *db);
int store_db_rollback(struct store_db *db);

/*
 * Inside a transaction: b's meta (first time its key id is seen) and every
 * record. 0 with *stored and *duplicates; -EEXIST when the key id is held
 * with another meta_Kdata (nothing of b written); other -errno: the
 * transaction is spoiled and must be rolled back.
 */
int store_db_put(struct store_db *db, const struct iomt_recbatch *b, int64_t now_ms,
		 uint16_t *stored, uint16_t *duplicates);

/* One stored record, as selection hands it out (pointers valid during the
 * callback only). */
struct store_row {
	struct iomt_keytree_meta meta;
	uint32_t epoch;
	uint64_t leaf;
	uint32_t seq;
	int64_t recv_ms;
	const uint8_t *rec;
	size_t len;
};

/* Filters: NULL = any. */
struct store_filter {
	const uint8_t *key_id;      /* 16 bytes */
	const uint8_t *sensor_id;   /* 16 bytes */
};

/* Calls fn for every record matching f, ordered by key id, epoch, leaf and
 * seq; stops at fn's first nonzero result and returns it. 0 or -errno. */
int store_db_select(struct store_db *db, const struct store_filter *f,
		    int (*fn)(void *arg, const struct store_row *row), void *arg);

/* Records held (tests and logs). */
int64_t store_db_count(struct store_db *db);

#endif
