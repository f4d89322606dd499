/* SPDX-License-Identifier: MIT */
/*
 * iomt-sensor stream --state STATEFILE --mec HOST:PORT [--device I]
 *     (--samples FILE | --synthetic PROFILE [--seed N] [--duration D] [--t0 MS])
 *     [--batch N] [--span D] [--rate R/s] [--rekey-frames N] [--json]
 *
 * Phase 4 (PROTOCOL.md §8) by one device of a state file: a seed-002
 * agreement with the MEC (sensors/core, the rotated identity on disk
 * before SK is used), then the measurements in S2_DATA frames sealed by the
 * core (sc_s2data_seal) under that SK; a new agreement (fresh SK, handle,
 * counter from 1) whenever the core says the session is over (SC_EREKEY) or
 * after --rekey-frames frames. Prints one summary line (or JSON); exit
 * status 0 if every sample was sent, 1 otherwise, 2 for bad usage.
 */
#ifndef IOMT_SENSOR_STREAM_H
#define IOMT_SENSOR_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "samples.h"
#include "sc.h"
#include "store.h"
#include "stream_opts.h"

struct streamer {
	const struct stream_opts *o;
	struct sensor_store state;
	struct sensor_dev drv;
	struct sc core;              /* the device: stored identity, the agreement in flight */
	struct sc_s2data data;       /* the data session under the current SK (RAM only) */
	int live;                    /* data holds a session */
	int fd, sfd;                 /* the socket to the MEC; the signalfd */
	int stop;                    /* SIGINT / SIGTERM seen */
	/* the samples: a file's, or the generator's */
	struct sample_list list;
	size_t pos;
	struct synth gen;
	struct iomt_s2_sample next;
	int has_next;
	/* counts */
	uint64_t frames, samples, session_frames, send_errors;
	unsigned agreements;
	uint64_t start_us, next_frame_us, next_progress_us;
};

/* One agreement (sensors/core over the socket): 0 with sk set (the new
 * identity already on disk), or -1 after logging. */
int stream_agree(struct streamer *s, uint8_t sk[IOMT_S2_KEY_LEN]);
/* Sleeps until `until_us` (CLOCK_MONOTONIC) unless a stop signal comes:
 * 0, or -1 when stopped. */
int stream_wait(struct streamer *s, uint64_t until_us);
/* 1 if SIGINT / SIGTERM came (a look at the signalfd, no waiting). */
int stream_stopped(struct streamer *s);

/* argv[0] is "stream". */
int sensor_stream_main(int argc, char *const argv[]);

#endif
