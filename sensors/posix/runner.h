/* SPDX-License-Identifier: MIT */
/*
 * `iomt-sensor run`: devices of the state file in slots, each slot one
 * device in flight with its own connected UDP socket, driven by an epoll
 * loop (run.c). Each slot runs sensors/core (sc.h) on the POSIX driver
 * (store.h): the core owns the agreement (M1, M4 / DEV_ERR, deadlines,
 * back-off, retries) and the write-ahead rule (the rotated identity is on
 * disk before SK is returned); the slot only adds what the tool needs:
 *
 *   FREE --acquire (sc_init)--> READY --rate token, sc_s2_start--> RUNNING
 *   RUNNING --SC_DONE--> READY (or FREE when all agreements are done)
 *   any --refused, no answer, storage error--> FREE (device failed)
 */
#ifndef IOMT_SENSOR_RUNNER_H
#define IOMT_SENSOR_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "run_opts.h"
#include "sc.h"
#include "stats.h"
#include "store.h"

enum slot_phase {
	SLOT_FREE,       /* no device */
	SLOT_READY,      /* between agreements: the next one waits for a rate token */
	SLOT_RUNNING,    /* the core's agreement in flight; deadline: the core's */
};

struct slot {
	enum slot_phase phase;
	int fd;
	size_t dev_idx;
	struct sc core;              /* the device: stored state and the run in flight */
	struct sensor_dev drv;       /* its driver context: the state file, its index */
	uint8_t busy_code;           /* the last answer was BUSY / INTERNAL (this code) */
	unsigned done;               /* agreements finished by this device */
	uint64_t deadline_us;
	uint64_t started_us;         /* the current agreement's first M1 */
};

struct runner {
	const struct run_opts *o;
	struct sensor_store state;
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
