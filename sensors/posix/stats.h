/* SPDX-License-Identifier: MIT */
/* Counters and latencies of one `iomt-sensor run`, and its summary. */
#ifndef IOMT_SENSOR_STATS_H
#define IOMT_SENSOR_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Why a device stopped. */
enum sensor_fail {
	FAIL_NONE = 0,
	FAIL_STATE_READ,     /* not provisioned, or its record is damaged */
	FAIL_STATE_WRITE,    /* the rotated identity could not be persisted */
	FAIL_REFUSED,        /* S2_DEV_ERR with a hopeless code (see code) */
	FAIL_NO_ANSWER,      /* no M4 after every retry */
	FAIL_SOCKET,         /* no UDP socket */
	FAIL_INTERNAL,       /* lib/ refused a call: a bug */
	FAIL_INTERRUPTED,    /* SIGINT / SIGTERM */
};

struct run_stats {
	uint64_t ok, failed, retries, ignored;
	uint64_t cookies;            /* COOKIE_REPLYs taken (the M1 resent wrapped) */
	size_t devices;
	uint8_t *fail;           /* per device: enum sensor_fail */
	uint8_t *code;           /* per device: the DEV_ERR code for FAIL_REFUSED */
	uint32_t *lat_us;        /* per successful agreement, first M1 to persisted */
	size_t nlat, cap;
	uint64_t start_us, end_us;
};

int stats_init(struct run_stats *s, size_t devices, size_t agreements);
void stats_free(struct run_stats *s);
void stats_latency(struct run_stats *s, uint64_t us);
/* Records a device's failure (its agreement in progress counts as failed). */
void stats_fail(struct run_stats *s, size_t dev, enum sensor_fail why, uint8_t code);
size_t stats_devices_failed(const struct run_stats *s);

/* "agreements ok N, failed N, retries N, p50 X ms, p99 Y ms", or JSON. */
void stats_print(struct run_stats *s, int json, FILE *out);

#endif
