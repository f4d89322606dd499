/* SPDX-License-Identifier: MIT */
/* The POSIX driver of sensors/core and the state file (see store.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/rt_file.h"
#include "lib/rt_log.h"
#include "lib/rt_rng.h"
#include "store.h"

/* ---- the test hook ---- */

enum hook_mode { HOOK_NONE, HOOK_FAIL, HOOK_EXIT, HOOK_TORN, HOOK_AFTER };

static enum hook_mode hook_mode;
static unsigned long hook_at, hook_count;
static int hook_read;

static void hook_load(void)
{
	static const char *const names[] = { "", "fail:", "exit:", "torn:", "after:" };
	const char *v = getenv("IOMT_SENSOR_TEST_WRITE");

	hook_read = 1;
	if (!v)
		return;
	for (unsigned m = HOOK_FAIL; m <= HOOK_AFTER; m++) {
		size_t n = strlen(names[m]);

		if (!strncmp(v, names[m], n)) {
			hook_mode = (enum hook_mode)m;
			hook_at = strtoul(v + n, NULL, 10);
		}
	}
	if (hook_mode == HOOK_NONE || !hook_at)
		rt_warn("IOMT_SENSOR_TEST_WRITE='%s': expected fail|exit|torn|after:N (N >= 1)", v);
}

/* The hook's verdict for this write: a mode to act on, or HOOK_NONE. */
static enum hook_mode hook_this_write(void)
{
	if (!hook_read)
		hook_load();
	if (hook_mode == HOOK_NONE)
		return HOOK_NONE;
	return ++hook_count == hook_at ? hook_mode : HOOK_NONE;
}

static void power_cut(void)
{
	_exit(137);
}

/* ---- the driver ---- */

static int drv_rng(void *ctx, uint8_t *out, size_t n)
{
	(void)ctx;
	return rt_random(out, n) ? -1 : 0;
}

static uint64_t drv_now_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static off_t slot_off(const struct sensor_dev *d, unsigned slot)
{
	return (off_t)(d->idx * SENSOR_DEV_BYTES + slot * SC_STATE_LEN);
}

static int drv_read(void *ctx, unsigned slot, uint8_t *buf, size_t len)
{
	struct sensor_dev *d = ctx;

	if (slot > 1 || len != SC_STATE_LEN || d->idx >= d->st->ndev)
		return -1;
	return pread(d->st->fd, buf, len, slot_off(d, slot)) == (ssize_t)len ? 0 : -1;
}

static int full_pwrite(int fd, const uint8_t *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int drv_write(void *ctx, unsigned slot, const uint8_t *buf, size_t len)
{
	struct sensor_dev *d = ctx;
	struct sensor_store *st = d->st;
	enum hook_mode m = hook_this_write();
	int r;

	if (slot > 1 || len != SC_STATE_LEN || d->idx >= st->ndev) {
		d->err = EINVAL;
		return -1;
	}
	if (m == HOOK_EXIT)
		power_cut();
	if (m == HOOK_FAIL || (st->fail_after >= 0 && st->writes >= (unsigned)st->fail_after)) {
		d->err = EIO;
		return -1;
	}
	if (m == HOOK_TORN) {
		full_pwrite(st->fd, buf, len / 2, slot_off(d, slot));
		fdatasync(st->fd);
		power_cut();
	}
	r = full_pwrite(st->fd, buf, len, slot_off(d, slot));
	if (!r && !st->nosync && fdatasync(st->fd))
		r = -errno;
	if (r) {
		d->err = -r;
		return -1;
	}
	st->writes++;
	if (m == HOOK_AFTER)
		power_cut();
	return 0;
}

const struct sc_driver sensor_driver = { drv_rng, drv_read, drv_write, drv_now_ms };

/* ---- the file ---- */

static int lock_and_size(struct sensor_store *s)
{
	struct stat st;

	if (flock(s->fd, LOCK_EX | LOCK_NB)) {
		if (errno == EWOULDBLOCK) {
			rt_err("%s: in use by another iomt-sensor", s->path);
			return -EBUSY;
		}
		rt_err("%s: cannot lock the state file: %s", s->path, strerror(errno));
		return -errno;
	}
	if (fstat(s->fd, &st)) {
		rt_err("%s: %s", s->path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || !st.st_size || st.st_size % SENSOR_DEV_BYTES) {
		rt_err("%s: not a sensor state file (%lld bytes; a state file holds two %d-byte "
		       "slots per device)", s->path, (long long)st.st_size, SC_STATE_LEN);
		return -EINVAL;
	}
	if (st.st_mode & 077)
		rt_warn("%s: group or others may read it, and it holds device keys (chmod 600)",
			s->path);
	s->ndev = (size_t)st.st_size / SENSOR_DEV_BYTES;
	return 0;
}

static void store_init(struct sensor_store *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->path = path;
	s->fail_after = -1;
}

int sensor_store_open(struct sensor_store *s, const char *path)
{
	int r;

	store_init(s, path);
	s->fd = open(path, O_RDWR | O_CLOEXEC);
	if (s->fd < 0) {
		r = -errno;
		if (r == -ENOENT)
			rt_err("%s: no such state file (run 'iomt-sensor provision' first)", path);
		else
			rt_err("%s: cannot open the state file: %s", path, strerror(-r));
		return r;
	}
	r = lock_and_size(s);
	if (r)
		sensor_store_close(s);
	return r;
}

/* A new file of n empty devices (all zero: no slot checks). */
static int create(struct sensor_store *s, const char *path, size_t n, int excl)
{
	int r = 0;

	s->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : 0), 0600);
	if (s->fd < 0)
		return -errno;
	if (ftruncate(s->fd, (off_t)(n * SENSOR_DEV_BYTES)))
		r = -errno;
	if (!r && fsync(s->fd))
		r = -errno;
	if (r) {
		close(s->fd);
		s->fd = -1;
		unlink(path);
	}
	return r;
}

int sensor_store_open_or_create(struct sensor_store *s, const char *path)
{
	int r;

	store_init(s, path);
	if (access(path, F_OK) == 0)
		return sensor_store_open(s, path);
	r = create(s, path, 1, 1);
	if (!r)
		r = rt_file_sync_dir(path);
	if (r) {
		rt_err("%s: cannot create the state file: %s", path, strerror(-r));
		sensor_store_close(s);
		return r;
	}
	r = lock_and_size(s);
	if (r)
		sensor_store_close(s);
	return r;
}

int sensor_store_create_tmp(struct sensor_store *s, const char *tmp, size_t n)
{
	store_init(s, tmp);
	if (unlink(tmp) < 0 && errno != ENOENT) /* left over by a crash */
		return -errno;
	s->nosync = 1;
	s->ndev = n;
	return create(s, tmp, n, 1);
}

int sensor_store_commit(struct sensor_store *s, const char *tmp, const char *path)
{
	int r = fsync(s->fd) ? -errno : 0;

	if (!r && link(tmp, path) < 0)
		r = -errno;
	if (!r)
		r = rt_file_sync_dir(path);
	return r;
}

void sensor_store_close(struct sensor_store *s)
{
	if (s->fd >= 0)
		close(s->fd);	/* also drops the lock */
	s->fd = -1;
}

int sensor_store_load(struct sensor_store *s, struct sensor_dev *d, size_t idx, struct sc *c,
		      const struct sc_conf *conf)
{
	d->st = s;
	d->idx = idx;
	d->err = 0;
	return sc_init(c, &sensor_driver, d, conf);
}
