/* SPDX-License-Identifier: MIT */
/* Internals shared by rt_replay.c (the table) and rt_replay_file.c (the
 * append-only file). Not installed, not for callers. */
#ifndef IOMT_RT_REPLAY_INT_H
#define IOMT_RT_REPLAY_INT_H

#include <limits.h>

#include "rt_replay.h"

struct rt_replay_ent {
	uint8_t key[RT_REPLAY_KEY_LEN];
	uint64_t exp;			/* Unix ms; 0 = empty slot */
};

struct rt_replay {
	char path[PATH_MAX];
	int fd;				/* O_APPEND, locked */
	int broken;			/* a write or sync failed: refuse until reopened */
	struct rt_replay_ent *tab;
	size_t mask;			/* table size - 1 (a power of two >= 2 * capacity) */
	size_t used;			/* occupied slots, expired ones included */
	size_t capacity;
	uint64_t min_exp;		/* no occupied slot expires before this */
	uint64_t seed[2];		/* hash key, random per open */
	uint64_t check_at;		/* file_records that trigger a compaction check */
	uint8_t *wbuf;			/* one batch's records */
	size_t wcap;
	struct rt_replay_stats st;
};

/* rt_replay.c */
/* Inserts (or extends) key without capacity checks: 0, or 1 if present. */
int rt_replay_tab_put(struct rt_replay *rc, const uint8_t key[RT_REPLAY_KEY_LEN], uint64_t exp);
/* Drops expired entries (rebuilds the table): 0 or -ENOMEM. */
int rt_replay_tab_sweep(struct rt_replay *rc, uint64_t now_ms);

/* rt_replay_file.c */
void rt_replay_rec_encode(uint8_t rec[RT_REPLAY_REC_LEN], const uint8_t key[RT_REPLAY_KEY_LEN],
			  uint64_t exp);
int rt_replay_file_open(struct rt_replay *rc, uint64_t now_ms);
int rt_replay_file_append(struct rt_replay *rc, const uint8_t *recs, size_t n);
int rt_replay_file_compact(struct rt_replay *rc, uint64_t now_ms);

#endif
