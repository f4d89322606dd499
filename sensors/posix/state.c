/* SPDX-License-Identifier: MIT */
/* The sensor's state file over rt_recfile (see state.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct.h"
#include "iomt_err.h"
#include "lib/rt_file.h"
#include "lib/rt_log.h"
#include "state.h"

enum { BLOB_LEN = IOMT_S2_DEVICE_BLOB_LEN };

/* Every device's blob, written with one fdatasync. */
static int fill(struct rt_recfile *f, const struct sensor_prov *devs, size_t n)
{
	uint8_t *blobs = calloc(n, BLOB_LEN);
	const void **recs = calloc(n, sizeof(*recs));
	size_t *idx = calloc(n, sizeof(*idx)), i;
	struct iomt_s2_device dev;
	int r = blobs && recs && idx ? 0 : -ENOMEM;

	for (i = 0; !r && i < n; i++) {
		if (iomt_s2_device_init(&dev, devs[i].did, devs[i].dk) ||
		    iomt_s2_device_export(&dev, blobs + i * BLOB_LEN))
			r = -EINVAL;
		recs[i] = blobs + i * BLOB_LEN;
		idx[i] = i;
	}
	if (!r)
		r = rt_recfile_write_many(f, idx, recs, n);
	iomt_s2_device_wipe(&dev);
	if (blobs)
		iomt_wipe(blobs, n * BLOB_LEN);
	free(blobs);
	free(recs);
	free(idx);
	return r;
}

static int build_tmp(const char *tmp, const struct sensor_prov *devs, size_t n)
{
	struct rt_recfile *f;
	int r;

	if (unlink(tmp) < 0 && errno != ENOENT) /* left over by a crash */
		return -errno;
	r = rt_recfile_open(tmp, BLOB_LEN, n, &f);
	if (r)
		return r;
	r = fill(f, devs, n);
	rt_recfile_close(f);
	return r;
}

int sensor_state_create(const char *path, const struct sensor_prov *devs, size_t n)
{
	char tmp[PATH_MAX];
	int r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.provisioning", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (access(path, F_OK) == 0) {
		rt_err("%s: state file exists: refusing to overwrite device identities "
		       "(remove it to provision again)", path);
		return -EEXIST;
	}
	r = build_tmp(tmp, devs, n);
	if (!r && link(tmp, path) < 0)
		r = -errno;
	if (r == -EEXIST)
		rt_err("%s: state file appeared meanwhile: not overwritten", path);
	else if (r)
		rt_err("%s: cannot create the state file: %s", path, strerror(-r));
	unlink(tmp);
	if (!r)
		r = rt_file_sync_dir(path);
	return r;
}

int sensor_state_open(const char *path, struct rt_recfile **f, size_t *n)
{
	size_t rec_len;
	int r = rt_recfile_stat(path, &rec_len, n);

	if (r == -ENOENT)
		rt_err("%s: no such state file (run 'iomt-sensor provision' first)", path);
	else if (r == 0 && rec_len != BLOB_LEN)
		rt_err("%s: records of %zu bytes, not device states (%d bytes)", path, rec_len,
		       BLOB_LEN);
	else if (r)
		rt_err("%s: cannot read the state file: %s", path, strerror(-r));
	if (r || rec_len != BLOB_LEN)
		return r ? r : -EINVAL;
	return rt_recfile_open(path, BLOB_LEN, *n, f);
}

int sensor_state_load(struct rt_recfile *f, const char *path, size_t idx,
		      struct iomt_s2_device *dev)
{
	uint8_t blob[BLOB_LEN];
	int r = rt_recfile_read(f, idx, blob);

	if (r == -ENOENT)
		rt_err("%s: device %zu was never provisioned (state file incomplete)", path, idx);
	else if (r)
		rt_err("%s: device %zu: state unreadable: %s", path, idx, strerror(-r));
	else if (iomt_s2_device_import(dev, blob, sizeof(blob)) != IOMT_OK) {
		rt_err("%s: device %zu: state record is not a device state", path, idx);
		r = -EINVAL;
	}
	iomt_wipe(blob, sizeof(blob));
	return r ? -1 : 0;
}

int sensor_state_save(struct rt_recfile *f, const char *path, size_t idx,
		      const struct iomt_s2_device *dev)
{
	uint8_t blob[BLOB_LEN];
	int r = iomt_s2_device_export(dev, blob) == IOMT_OK ? 0 : -EINVAL;

	if (!r)
		r = rt_recfile_write(f, idx, blob);
	if (r)
		rt_err("%s: device %zu: cannot persist the new identity: %s", path, idx,
		       strerror(-r));
	iomt_wipe(blob, sizeof(blob));
	return r;
}
