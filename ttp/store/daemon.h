/* SPDX-License-Identifier: MIT */
/*
 * iomt-store serve: one thread, one epoll loop over non-blocking sockets.
 *
 *   loop pass:  epoll_wait -> accept / read / write / signals
 *               -> group: every complete REC_PUT of every connection
 *                  (<= group_max) -> decode and check each
 *                  -> one transaction for all of them -> COMMIT
 *                  -> REC_ACKs, one write per connection
 *
 * No ACK of a group is sent before its commit; a failed commit answers the
 * whole group INTERNAL, or BUSY when another writer held the database past
 * the busy timeout (nothing of it is stored). A malformed batch is
 * answered MALFORMED and stores nothing. A connection whose stream cannot
 * be parsed is closed.
 */
#ifndef IOMT_STORE_DAEMON_H
#define IOMT_STORE_DAEMON_H
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "recbatch.h"

enum store_watch_kind {
	STORE_W_SIGNAL = 1,
	STORE_W_LISTEN,
	STORE_W_METRICS,
	STORE_W_CONN,
};

/* What an epoll event's data.ptr points to: the first member of each. */
struct store_watch {
	int fd;
	uint8_t kind;           /* enum store_watch_kind */
	uint32_t events;        /* epoll interest currently set */
};

struct conn;

/* One batch of a group: where its ACK goes and what it says. */
struct store_job {
	struct conn *c;
	uint8_t batch_id[8];
	uint8_t status;          /* enum iomt_rec_status */
	uint16_t stored, duplicates;
	int decoded;             /* b holds the batch: to be committed */
	struct iomt_recbatch b;
};

struct store_daemon {
	struct store_cfg cfg;
	int ep;
	struct store_watch sig, listen, metrics;
	struct store_db *db;
	struct conn *conns;             /* open connections */
	struct conn *dead;              /* closed this pass, freed at its end */
	int nconns;
	uint64_t next_conn_id;
	int stopping;
	int fatal;
	int more;                       /* frames left over for the next pass */
	struct store_job *jobs;         /* group_max of them */
	size_t njobs;
};

int store_daemon_init(struct store_daemon *d);
/* Runs until SIGTERM/SIGINT: 0 on a graceful stop, 1 on a fatal error. */
int store_daemon_run(struct store_daemon *d);
void store_daemon_fini(struct store_daemon *d);

int store_watch_add(struct store_daemon *d, struct store_watch *w, uint32_t events);
void store_watch_set(struct store_daemon *d, struct store_watch *w, uint32_t events);
void store_watch_del(struct store_daemon *d, struct store_watch *w);

/* Monotonic milliseconds and microseconds, wall-clock milliseconds. */
int64_t store_mono_us(void);
int64_t store_mono_ms(void);
int64_t store_unix_ms(void);

#endif
