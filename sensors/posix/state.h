/* SPDX-License-Identifier: MIT */
/*
 * The sensor's state file: an rt_recfile (crash-safe A/B records) with one
 * record per device, the device's iomt_s2_device_export() blob (98 bytes:
 * DID, DK and any pending run). Record i is line i of the provisioning file
 * (comments and blank lines not counted). It holds device keys: mode 0600.
 */
#ifndef IOMT_SENSOR_STATE_H
#define IOMT_SENSOR_STATE_H

#include <stddef.h>

#include "lib/rt_recfile.h"
#include "prov.h"
#include "seed002.h"

/* Creates path with devs as fresh IDLE devices, all or nothing: built under
 * a temporary name, synced, then linked into place. An existing path is
 * refused (-EEXIST): overwriting a device's identity desynchronises it. */
int sensor_state_create(const char *path, const struct sensor_prov *devs, size_t n);

/* Opens an existing state file; *n is its number of devices. */
int sensor_state_open(const char *path, struct rt_recfile **f, size_t *n);

/* Device idx: 0, or -1 after logging why (never provisioned, damaged). */
int sensor_state_load(struct rt_recfile *f, const char *path, size_t idx,
		      struct iomt_s2_device *dev);

/* Durable when it returns 0; -errno after logging otherwise. */
int sensor_state_save(struct rt_recfile *f, const char *path, size_t idx,
		      const struct iomt_s2_device *dev);

#endif
