/* SPDX-License-Identifier: MIT */
/*
 * A replay cache for AP services that survives a restart: 16-byte keys (an
 * authenticator's tag) remembered until their expiry (Unix ms), held in an
 * in-memory open-addressing table of bounded capacity and backed by an
 * append-only file.
 *
 *   struct rt_replay *rc;
 *   rt_replay_open("/var/lib/iomt/replay.cache", 65536, now_ms, &rc);
 *   ... verify a batch of AP_REQs, then:
 *   r = rt_replay_check_and_add_batch(rc, keys, expire, n, now_ms, verdict);
 *   r == 0: verdict[i] is RT_REPLAY_NEW (accepted, on disk), RT_REPLAY_SEEN
 *           (a replay: refuse) or RT_REPLAY_FULL (no room: refuse, retry later)
 *   r < 0:  nothing may be accepted (the batch is not durable): answer INTERNAL
 *   ... only now send the replies.
 *
 * A key is NEW at most once while it has not expired, across restarts: every
 * NEW key of a batch is appended to the file and made durable by one
 * fdatasync before the call returns. A key repeated within one batch is NEW
 * the first time and SEEN after. A full cache never accepts silently: the
 * key is refused (RT_REPLAY_FULL) and counted; expired entries are swept
 * first to make room.
 *
 * File layout (integers big-endian): a 16-byte header, magic "IOMTRPLY" (8)
 * | version = 1 (4) | zero (4), then 32-byte records, key (16) | expiry (8)
 * | check (8) = SHAKE128("iomt/replay" || key || expiry)[0..8). On open,
 * records that expired are skipped, a record whose check fails is skipped
 * and counted (damaged), and a torn tail (a partial record, left by a crash
 * mid-append) is ignored; the file is then rewritten clean. When the file
 * holds more than twice as many records as live keys (and at least
 * RT_REPLAY_COMPACT_MIN), it is compacted: the live keys are written to a
 * new file, synced and renamed over the old one.
 *
 * The file is locked (flock): a second open, from any process, gets -EBUSY.
 * After a failed write or fdatasync the cache refuses every later batch with
 * -EIO until it is reopened (the page cache can no longer be trusted).
 * Functions return 0 or a negative errno and log (rt_err) why they failed.
 * Not thread-safe: one owner (a service's event loop).
 */
#ifndef IOMT_RT_REPLAY_H
#define IOMT_RT_REPLAY_H

#include <stddef.h>
#include <stdint.h>

enum {
	RT_REPLAY_KEY_LEN = 16,
	RT_REPLAY_HDR_LEN = 16,
	RT_REPLAY_REC_LEN = 16 + 8 + 8,
	RT_REPLAY_COMPACT_MIN = 256,		/* records before compaction is considered */
	RT_REPLAY_CAPACITY_MAX = 1 << 24,
};

enum rt_replay_verdict {
	RT_REPLAY_NEW = 0,	/* first sighting: remembered and durable */
	RT_REPLAY_SEEN = 1,	/* seen before and not expired: a replay */
	RT_REPLAY_FULL = 2,	/* not remembered: the cache is full of live keys */
};

struct rt_replay_stats {
	size_t live;		/* keys held (some may have expired since the last sweep) */
	size_t capacity;
	size_t file_records;	/* records in the file */
	uint64_t accepted, replays, full;
	uint64_t loaded, expired_on_load, damaged_on_load, torn_bytes;
	uint64_t compactions, syncs;
};

struct rt_replay;

/* Opens (or creates, 0600) the cache file at path and loads the keys that
 * have not expired at now_ms. capacity: live keys held (1..CAPACITY_MAX).
 * -EINVAL (bad arguments, not a replay file, more live keys on file than
 * capacity), -EBUSY (locked by another open), else -errno. */
int rt_replay_open(const char *path, size_t capacity, uint64_t now_ms, struct rt_replay **out);
void rt_replay_close(struct rt_replay *rc);

/* n keys with their expiry (Unix ms; a key whose expiry is <= now_ms is
 * refused as SEEN: it can no longer be valid). verdict[i] per key; 0 when
 * every NEW key is durable, else -errno (then no key of the batch may be
 * treated as accepted). */
int rt_replay_check_and_add_batch(struct rt_replay *rc, const uint8_t (*keys)[RT_REPLAY_KEY_LEN],
				  const uint64_t *expire_ms, size_t n, uint64_t now_ms,
				  int *verdict);
/* One key: RT_REPLAY_NEW/SEEN/FULL, or -errno. */
int rt_replay_check_and_add(struct rt_replay *rc, const uint8_t key[RT_REPLAY_KEY_LEN],
			    uint64_t expire_ms, uint64_t now_ms);

/* Drops expired keys now and compacts the file if it is mostly expired. */
int rt_replay_maintain(struct rt_replay *rc, uint64_t now_ms);
/* Rewrites the file with the live keys only (also done by maintain). */
int rt_replay_compact(struct rt_replay *rc, uint64_t now_ms);

void rt_replay_get_stats(const struct rt_replay *rc, struct rt_replay_stats *st);

#endif
