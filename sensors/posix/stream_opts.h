/* SPDX-License-Identifier: MIT */
/* Options of `iomt-sensor stream` (the rt_conf keyword table and its checks). */
#ifndef IOMT_SENSOR_STREAM_OPTS_H
#define IOMT_SENSOR_STREAM_OPTS_H

#include <stdint.h>

#include "lib/synth.h"
#include "net.h"

enum { STREAM_OPTS_PATH_MAX = 4096 };

struct stream_opts {
	char state[STREAM_OPTS_PATH_MAX];
	char mec[256];
	int device;            /* index in the state file */
	char samples[STREAM_OPTS_PATH_MAX];
	char synthetic[32];    /* a synth.h profile */
	char seed[32];
	uint64_t duration_ms;  /* synthetic: device time covered */
	char t0[32];           /* synthetic: first sample's time, UNIX ms ("" = now) */
	int batch;             /* samples per frame, at most */
	uint64_t span_ms;      /* device time per frame, at most (0: no limit) */
	char rate[32];         /* frames per second, "0" = as fast as possible */
	int rekey_frames;      /* a new agreement after this many frames (0: the core's limit) */
	uint64_t timeout_ms;   /* wait for M4 */
	int retries;
	uint64_t progress_ms;  /* a progress line this often (0: none) */
	int json;
	int log_level;
	/* derived */
	double rate_per_s;
	enum synth_profile profile;
	uint64_t seed_v, t0_ms;
	struct sensor_addr mec_addr;
};

/* 0: run; 1: a query (--help) was answered; -1: bad usage, logged. */
int stream_opts_parse(struct stream_opts *o, int argc, char *const argv[]);

#endif
