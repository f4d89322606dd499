/* SPDX-License-Identifier: MIT */
/*
 * The relay's on-disk spool: REC_PUT batches the store cannot take now
 * (its link is down, or the relay's pending table or link queue is full),
 * kept in arrival order until the store acknowledges them. Bounded in bytes
 * (spool_max): over the bound, append says -ENOSPC and the relay refuses
 * the batch explicitly.
 *
 * One append-only file, SPOOL_DIR/relay.spool (0600, locked: one daemon),
 * of framed records, integers big-endian:
 *
 *   frame  = magic "ISP1" (4) | body length (4) | body | check (8)
 *            check = SHAKE128(body length (4) | body)[0..8)
 *   body   = kind (1) | seq (8) | rest
 *     kind 1, a batch: addr length (1) | sender address (sockaddr, <= 28) |
 *            REC_PUT payload (the sensor's batch id first)
 *     kind 2, done:    nothing (the store acknowledged batch seq)
 *
 * Batches are numbered 1, 2, ... in arrival order. Opening replays the file:
 * a frame that does not check (a torn tail after a crash) ends it and the
 * file is cut there. gwd_spool_sync (fdatasync) makes the appended batches
 * durable; the relay syncs once per receive pass. A "done" frame is not
 * synced: losing one after a crash only resends a batch the store already
 * holds, which it counts as a duplicate (at-least-once to the store,
 * exactly-once stored). When every batch is done the file is truncated to
 * zero; when the bound is hit while done batches still use room at the
 * front, the live ones are copied to a new file (fsync, rename).
 *
 * Not thread-safe: the event loop's only.
 */
#ifndef IOMT_GWD_SPOOL_H
#define IOMT_GWD_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "role.h"

enum {
	GWD_SPOOL_FRAME_OVERHEAD = 4 + 4 + 8,
	GWD_SPOOL_ADDR_MAX = 28,	/* sockaddr_in6 */
};

struct gwd_spool_entry {
	uint64_t seq;
	uint8_t sensor_id[8];		/* the payload's first 8 bytes */
	uint64_t off;			/* of the payload in the file */
	uint32_t len;			/* payload bytes */
	uint8_t done, inflight;
	struct gwd_addr from;
};

struct gwd_spool {
	char path[4096];
	int fd, dirty;
	uint64_t size, max;		/* file bytes, bound */
	uint64_t next_seq;
	struct gwd_spool_entry *e;	/* entries [head, n) not yet done, in order */
	size_t head, n, cap, cursor;	/* cursor: the next to send */
	size_t live, inflight;
};

/* Opens or creates DIR/relay.spool and replays it: 0, or -errno with a
 * message in err (-EBUSY: another daemon holds it). */
int gwd_spool_open(struct gwd_spool *s, const char *dir, uint64_t max, char *err, size_t errlen);
void gwd_spool_close(struct gwd_spool *s);

/* Appends a batch (not durable until gwd_spool_sync): 0, -ENOSPC (over the
 * bound), -EMSGSIZE, or -errno of the write. */
int gwd_spool_append(struct gwd_spool *s, const struct gwd_addr *from, const uint8_t *payload,
		     size_t len);
/* fdatasync if anything was appended: 0 or -errno. */
int gwd_spool_sync(struct gwd_spool *s);

/* The oldest batch not done and not in flight, marked in flight; NULL if none. */
struct gwd_spool_entry *gwd_spool_next(struct gwd_spool *s);
/* Its payload into buf (len bytes): 0 or -errno. */
int gwd_spool_read(struct gwd_spool *s, const struct gwd_spool_entry *en, uint8_t *buf);
/* The entry of batch seq while not done, or NULL. */
struct gwd_spool_entry *gwd_spool_find(struct gwd_spool *s, uint64_t seq);
/* The store has it: records "done" (not synced); 0 or -errno. */
int gwd_spool_done(struct gwd_spool *s, struct gwd_spool_entry *en);
/* In-flight batches go back to be sent again (link lost, store BUSY). */
void gwd_spool_requeue(struct gwd_spool *s, struct gwd_spool_entry *en);
void gwd_spool_requeue_all(struct gwd_spool *s);

#endif
