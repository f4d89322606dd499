/* SPDX-License-Identifier: MIT */
/*
 * The iomt-ttp daemon: one thread, one epoll loop over non-blocking sockets.
 *
 *   loop pass:  epoll_wait -> accept / read / write / signals
 *               -> batch: every complete M2 of every MEC link (<= batch_max)
 *                  -> engine -> one transaction for every rotated party
 *                  -> commit -> replies, one write per link
 *
 * Nothing of a batch is sent before its commit; a failed commit rolls the
 * memory back and answers the whole batch LINK_ERR INTERNAL. Phase-2 user
 * connections (user.c) and the metrics listener share the loop.
 */
#ifndef IOMT_TTP_DAEMON_H
#define IOMT_TTP_DAEMON_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "config.h"
#include "db.h"
#include "s2_engine.h"

/* What an epoll event's data.ptr points to: the first member of each. */
enum ttp_watch_kind {
	TTP_W_SIGNAL = 1,
	TTP_W_LINK_LISTEN,
	TTP_W_USER_LISTEN,
	TTP_W_METRICS_LISTEN,
	TTP_W_LINK,
	TTP_W_USER,
};

struct ttp_watch {
	int fd;
	uint8_t kind;           /* enum ttp_watch_kind */
	uint32_t events;        /* epoll interest currently set */
};

enum { TTP_MISS_CACHE = 1024 };  /* DIDs known to be in no database row */

struct link;
struct user_conn;

struct ttp_daemon {
	struct ttp_cfg cfg;
	int ep;
	struct ttp_watch sig, link_listen, user_listen, metrics_listen;
	struct ttp_db *db;
	struct ttp_engine *engine;
	EVP_PKEY *ca_pub;
	EVP_PKEY *grant_key;            /* phases 5 and 6 (phase56.c); NULL = off */
	struct link *links;             /* open MEC links */
	struct link *dead;              /* closed this pass, freed at its end */
	int nlinks;
	struct user_conn *users;
	int nusers;
	uint64_t next_conn_id;
	int stopping;
	int fatal;                      /* memory no longer matches the database */
	int more;                       /* frames left over for the next pass */
	/* batch scratch, batch_max entries each */
	struct ttp_m2_req *req;
	struct ttp_m2_result *res;
	struct link **owner;
	uint8_t (*miss_cache)[IOMT_S2_ID_LEN];
	uint8_t *miss_used;
	int64_t next_purge;
};

/* Sets up everything from cfg (already parsed): 0 or -errno, logged. */
int ttp_daemon_init(struct ttp_daemon *d);
/* Runs until SIGTERM/SIGINT: 0 on a graceful stop, 1 on a fatal error. */
int ttp_daemon_run(struct ttp_daemon *d);
void ttp_daemon_fini(struct ttp_daemon *d);

/* epoll helpers shared by link.c and user.c. */
int ttp_watch_add(struct ttp_daemon *d, struct ttp_watch *w, uint32_t events);
void ttp_watch_set(struct ttp_daemon *d, struct ttp_watch *w, uint32_t events);
void ttp_watch_del(struct ttp_daemon *d, struct ttp_watch *w);

/* Monotonic milliseconds, and Unix seconds. */
int64_t ttp_now_ms(void);
int64_t ttp_unix_now(void);
/* "192.0.2.1:7000" of a connected socket's peer. */
void ttp_peer_name(int fd, char *buf, size_t len);

#endif
