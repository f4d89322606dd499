/* SPDX-License-Identifier: MIT */
/*
 * The POSIX driver of sensors/core (struct sc_driver): getrandom for the
 * RNG, CLOCK_MONOTONIC for the clock, and the state file for storage.
 *
 * The state file is the core's storage image, device after device: device
 * i owns bytes [2i, 2i+2) * SC_STATE_LEN, slot 0 then slot 1, each slot
 * exactly what the core's sc_persist writes (sensors/core/sc_store.c:
 * versioned, numbered, checked). A one-device file (`iomt-sensor data`) is
 * byte for byte the two slots a firmware keeps in flash. A slot write is a
 * pwrite then fdatasync, and returns 0 only once both succeeded: the core
 * alternates slots, so a write torn by a crash leaves the other slot, and
 * the device its last good state. The file is mode 0600 (device keys) and
 * locked while open: a second iomt-sensor on the same file is refused.
 *
 * Test hook (the power-cut suites against the real daemons): the
 * environment variable IOMT_SENSOR_TEST_WRITE=MODE:N acts on this process's
 * N-th slot write (1 = the first): "fail" (EIO, nothing written), "exit"
 * (the process dies before writing), "torn" (half the slot written, then
 * death) or "after" (written and synced, then death). Death is _exit(137),
 * like a kill -9: nothing is flushed or wiped.
 */
#ifndef IOMT_SENSOR_STORE_H
#define IOMT_SENSOR_STORE_H

#include <stddef.h>

#include "sc.h"

enum { SENSOR_DEV_BYTES = 2 * SC_STATE_LEN };

struct sensor_store {
	int fd;
	const char *path;
	size_t ndev;
	int nosync;             /* provisioning a temporary file: one sync at the end */
	int fail_after;         /* test: slot writes after this many fail (EIO); -1 never */
	unsigned writes;        /* slot writes that succeeded */
};

/* The driver context of one device of a store. */
struct sensor_dev {
	struct sensor_store *st;
	size_t idx;
	int err;                /* errno of the last failed slot write */
};

extern const struct sc_driver sensor_driver;

/* Opens (and locks) an existing state file: 0, or -errno after logging. */
int sensor_store_open(struct sensor_store *s, const char *path);
/* Opens path, or creates it as one empty device (0600): 0 or -errno, logged. */
int sensor_store_open_or_create(struct sensor_store *s, const char *path);
/* Creates path.provisioning with n empty devices, unsynced (sensor_store_commit). */
int sensor_store_create_tmp(struct sensor_store *s, const char *tmp, size_t n);
/* Syncs the temporary file, links it to path (never over an existing file). */
int sensor_store_commit(struct sensor_store *s, const char *tmp, const char *path);
void sensor_store_close(struct sensor_store *s);

/* sc_init of device idx with the driver above. */
int sensor_store_load(struct sensor_store *s, struct sensor_dev *d, size_t idx, struct sc *c,
		      const struct sc_conf *conf);

#endif
