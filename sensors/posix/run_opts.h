/* SPDX-License-Identifier: MIT */
/* Options of `iomt-sensor run` (the rt_conf keyword table and its checks). */
#ifndef IOMT_SENSOR_RUN_OPTS_H
#define IOMT_SENSOR_RUN_OPTS_H

#include <stdint.h>

#include "net.h"

enum { RUN_OPTS_PATH_MAX = 4096 };

struct run_opts {
	char state[RUN_OPTS_PATH_MAX];
	char mec[256];
	int devices;           /* 0: every device of the state file */
	int agreements;        /* per device */
	int concurrency;       /* devices in flight at once */
	uint64_t timeout_ms;   /* wait for M4 */
	int retries;           /* fresh runs after the first, per agreement */
	char rate[32];         /* new agreements per second, "0" = no limit */
	char drop_m4[32];      /* test: probability of ignoring an M4 */
	int corrupt_m1;        /* test: flip a bit of c1 in every M1 */
	int json;
	int log_level;
	/* derived */
	double rate_per_s;
	uint32_t drop_m4_ppm;  /* parts per million */
	struct sensor_addr mec_addr;
};

/* 0: run; 1: a query (--help) was answered; -1: bad usage, logged. */
int run_opts_parse(struct run_opts *o, int argc, char *const argv[]);
/* --rate: "200", "200/s", "12.5/s" (0: no limit), what is counted named in
 * the error ("agreements", "frames"): 0, or -1 after logging why. Shared
 * with `iomt-sensor stream` (stream_opts.c). */
int run_opts_parse_rate(const char *text, const char *what, double *out);

#endif
