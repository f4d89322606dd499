/* SPDX-License-Identifier: MIT */
/*
 * Latency samples of a load generator and their percentiles, plus the
 * process's own CPU time: shared by iomt-load and tests/bench/kdc_load.
 *
 *   struct load_lat l = { 0 };
 *   load_lat_add(&l, 123.4);              microseconds; 0 or -ENOMEM
 *   load_lat_pct(&l, 0.99)                the 99th percentile (0 if none)
 *   load_lat_free(&l);
 */
#ifndef IOMT_LOAD_LAT_H
#define IOMT_LOAD_LAT_H

#include <stddef.h>

struct load_lat {
	double *v;
	size_t n, cap;
	int sorted;
};

int load_lat_add(struct load_lat *l, double us);
/* Sorts once (until the next add); p in 0..1, nearest rank. */
double load_lat_pct(struct load_lat *l, double p);
void load_lat_reset(struct load_lat *l);
void load_lat_free(struct load_lat *l);

/* CPU seconds (user + system) this process used so far. */
double load_cpu_s(void);

#endif
