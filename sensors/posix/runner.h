/* SPDX-License-Identifier: MIT */
/*
 * `iomt-sensor run`: devices of the state file in slots, each slot one
 * device in flight with its own connected UDP socket, driven by an epoll
 * loop (run.c) through the per-slot state machine (slot.c):
 *
 *   FREE --acquire--> READY --rate token--> AWAIT_M4 --M4, persisted--> READY
 *                                            |   ^                     (or FREE
 *                            timeout or BUSY v   | fresh M1             when all
 *                                          BACKOFF                      agreements
 *   any --refused, no answer, state error--> FREE (device failed)       are done)
 *
 * A device's rotated state is written to the state file before the
 * agreement counts as done or its session key is used (write-ahead).
 */
#ifndef IOMT_SENSOR_RUNNER_H
#define IOMT_SENSOR_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/rt_recfile.h"
#include "run_opts.h"
#include "seed002.h"
#include "stats.h"

enum slot_phase {
	SLOT_FREE,       /* no device */
	SLOT_READY,      /* between agreements: the next one waits for a rate token */
	SLOT_AWAIT_M4,   /* M1 sent; deadline: stop waiting */
	SLOT_BACKOFF,    /* deadline: send a fresh M1 */
};

struct slot {
	enum slot_phase phase;
	int fd;
	size_t dev_idx;
	struct iomt_s2_device dev;   /* the persisted state, plus the pending run */
	unsigned done;               /* agreements finished by this device */
	unsigned attempt;            /* retries used by the current agreement */
	uint64_t deadline_us;
	uint64_t started_us;         /* the current agreement's first M1 */
};

struct runner {
	const struct run_opts *o;
	struct rt_recfile *state;
	size_t ndev, next_dev;       /* devices to simulate, next one to take */
	struct slot *slots;
	size_t nslots, active;
	int ep;                      /* epoll */
	uint64_t next_token_us;      /* rate limit: when the next agreement may start */
	struct run_stats st;
};

/* Loads the runner's next device into a free slot: 0, or -1 if that device
 * failed (recorded) and the slot stays free. */
int slot_acquire(struct runner *r, struct slot *s, uint64_t now);
/* The slot's deadline has passed. */
void slot_due(struct runner *r, struct slot *s, uint64_t now);
/* Its socket is readable: handles every queued datagram. */
void slot_readable(struct runner *r, struct slot *s, uint64_t now);
/* Ends the device's turn (wipes its keys, closes its socket). */
void slot_release(struct runner *r, struct slot *s);

#endif
