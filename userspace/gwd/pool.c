/* SPDX-License-Identifier: MIT */
/* The identity pool: slot state machine over a crash-safe record file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bytes.h"
#include "ct.h"
#include "hook.h"
#include "lib/rt_log.h"
#include "lib/rt_recfile.h"
#include "metrics.h"
#include "pool.h"
#include "secmem.h"

static const char pool_magic[] = "IOMTGWD1";

enum {
	MAGIC_LEN = 8,
	HDR_REC = 0,		/* record 0 is the header; slot i is record 1 + i */
};

static void header_build(uint8_t rec[GWD_PAIR_LEN], size_t n)
{
	memset(rec, 0, GWD_PAIR_LEN);
	memcpy(rec, pool_magic, MAGIC_LEN);
	iomt_store_be32(rec + 8, GWD_POOL_VERSION);
	iomt_store_be32(rec + 12, (uint32_t)n);
}

/* The header must agree with the file's record count. */
static int header_parse(const uint8_t rec[GWD_PAIR_LEN], const char *path, size_t nrec,
			char *err, size_t errlen)
{
	uint32_t version = iomt_load_be32(rec + 8), count = iomt_load_be32(rec + 12);

	if (memcmp(rec, pool_magic, MAGIC_LEN)) {
		snprintf(err, errlen, "state file %s: not an iomt-gwd state file (bad magic)", path);
		return -EINVAL;
	}
	if (version != GWD_POOL_VERSION) {
		snprintf(err, errlen, "state file %s: version %u, this iomt-gwd reads version %d",
			 path, version, GWD_POOL_VERSION);
		return -EINVAL;
	}
	if (count != nrec - 1) {
		snprintf(err, errlen, "state file %s: header says %u slots, the file holds %zu",
			 path, count, nrec - 1);
		return -EINVAL;
	}
	return 0;
}

/* Record size and count: a header and 1..GWD_POOL_MAX slots of one pair. */
static int pool_shape(const char *path, size_t *nrec, char *err, size_t errlen)
{
	size_t rec_len;
	int r = rt_recfile_stat(path, &rec_len, nrec);

	if (r) {
		snprintf(err, errlen, "state file %s: %s", path,
			 r == -EINVAL ? "not a record file, or damaged" : strerror(-r));
		return r;
	}
	if (rec_len != GWD_PAIR_LEN || *nrec < 2 || *nrec > GWD_POOL_MAX + 1) {
		snprintf(err, errlen, "state file %s: %zu records of %zu bytes: not an iomt-gwd "
			 "state file", path, *nrec, rec_len);
		return -EINVAL;
	}
	return 0;
}

static int pool_recfile(struct gwd_pool *p, const char *path, size_t nrec, char *err,
			size_t errlen)
{
	int r = rt_recfile_open(path, GWD_PAIR_LEN, nrec, &p->rf);

	if (r == -EBUSY)
		snprintf(err, errlen, "state file %s is in use by another process (a second "
			 "iomt-gwd?)", path);
	else if (r)
		snprintf(err, errlen, "state file %s: cannot open: %s", path, strerror(-r));
	return r;
}

/* The daemon never creates the state file: only provisioning does. */
static int state_file_exists(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st)) {
		int e = errno;

		snprintf(err, errlen,
			 "state file %s: %s (create it with 'iomt-gwd provision --pool FILE --state %s')",
			 path, strerror(e), path);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "state file %s: not a regular file", path);
		return -EINVAL;
	}
	if (st.st_mode & 077)
		rt_warn("state file %s is open to group or others (mode %03o): it holds keys",
			path, (unsigned)(st.st_mode & 0777));
	return 0;
}

static void pool_gauges(const struct gwd_pool *p)
{
	rt_metric_set(&gwd_stats.slots_free, p->nfree);
	rt_metric_set(&gwd_stats.slots_busy, p->n - p->nfree);
}

static int pool_alloc(struct gwd_pool *p, size_t n)
{
	p->n = n;
	p->slot = gwd_secmem_alloc(n * sizeof(*p->slot));
	p->fifo = calloc(n, sizeof(*p->fifo));
	p->wr_idx = calloc(n, sizeof(*p->wr_idx));
	p->wr_rec = calloc(n, sizeof(*p->wr_rec));
	if (!p->slot || !p->fifo || !p->wr_idx || !p->wr_rec)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		p->fifo[i] = (uint16_t)i;
	p->head = 0;
	p->nfree = n;
	return 0;
}

static int pool_load(struct gwd_pool *p, const char *path, char *err, size_t errlen)
{
	uint8_t rec[GWD_PAIR_LEN];
	int r = 0;

	for (size_t i = 0; i < p->n && !r; i++) {
		r = rt_recfile_read(p->rf, 1 + i, rec);
		if (r) {
			snprintf(err, errlen, "state file %s: slot %zu: %s", path, i,
				 r == -ENOENT ? "never written (file incomplete)" : strerror(-r));
			break;
		}
		memcpy(p->slot[i].did, rec, IOMT_S2_ID_LEN);
		memcpy(p->slot[i].dk, rec + IOMT_S2_ID_LEN, IOMT_S2_KEY_LEN);
		p->slot[i].state = GWD_SLOT_FREE;
	}
	iomt_wipe(rec, sizeof(rec));
	return r;
}

int gwd_pool_open(struct gwd_pool *p, const char *path, char *err, size_t errlen)
{
	uint8_t hdr[GWD_PAIR_LEN];
	size_t nrec = 0;
	int r;

	memset(p, 0, sizeof(*p));
	r = state_file_exists(path, err, errlen);
	if (!r)
		r = pool_shape(path, &nrec, err, errlen);
	if (!r)
		r = pool_recfile(p, path, nrec, err, errlen);
	if (!r && (r = rt_recfile_read(p->rf, HDR_REC, hdr)))
		snprintf(err, errlen, "state file %s: no header: %s", path,
			 r == -ENOENT ? "not written by 'iomt-gwd provision'" : strerror(-r));
	if (!r)
		r = header_parse(hdr, path, nrec, err, errlen);
	if (!r && (r = pool_alloc(p, nrec - 1)))
		snprintf(err, errlen, "state file %s: out of memory for %zu slots", path, nrec - 1);
	if (!r)
		r = pool_load(p, path, err, errlen);
	if (r)
		gwd_pool_close(p);
	else
		pool_gauges(p);
	return r;
}

void gwd_pool_close(struct gwd_pool *p)
{
	if (p->rf)
		rt_recfile_close(p->rf);
	gwd_secmem_free(p->slot, p->n * sizeof(*p->slot));
	free(p->fifo);
	free(p->wr_idx);
	free(p->wr_rec);
	memset(p, 0, sizeof(*p));
}

int gwd_pool_take(struct gwd_pool *p, size_t *idx)
{
	size_t i;

	if (!p->nfree)
		return -EBUSY;
	i = p->fifo[p->head];
	p->head = (p->head + 1) % p->n;
	p->nfree--;
	p->slot[i].state = GWD_SLOT_AWAIT_M3;
	p->slot[i].seq++;
	*idx = i;
	pool_gauges(p);
	return 0;
}

void gwd_pool_release(struct gwd_pool *p, size_t idx)
{
	if (idx >= p->n || p->slot[idx].state != GWD_SLOT_AWAIT_M3) {
		rt_err("slot %zu released while not in use (internal error)", idx);
		return;
	}
	p->slot[idx].state = GWD_SLOT_FREE;
	p->fifo[(p->head + p->nfree) % p->n] = (uint16_t)idx;
	p->nfree++;
	pool_gauges(p);
}

static int pool_write(struct gwd_pool *p, size_t n)
{
	int r;

	gwd_hook_at(GWD_HOOK_KILL_BEFORE_PERSIST);
	if (gwd_hook_at(GWD_HOOK_FAIL_PERSIST))
		r = -EIO;
	else
		r = rt_recfile_write_many(p->rf, p->wr_idx, p->wr_rec, n);
	gwd_hook_at(GWD_HOOK_KILL_AFTER_PERSIST);
	return r;
}

int gwd_pool_commit(struct gwd_pool *p, const size_t *idx, const uint8_t (*pair)[GWD_PAIR_LEN],
		    size_t n)
{
	int r;

	if (n > p->n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (idx[i] >= p->n || p->slot[idx[i]].state != GWD_SLOT_AWAIT_M3)
			return -EINVAL;
		p->wr_idx[i] = 1 + idx[i];
		p->wr_rec[i] = pair[i];
	}
	r = pool_write(p, n);
	if (r)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct gwd_slot *s = &p->slot[idx[i]];

		memcpy(s->did, pair[i], IOMT_S2_ID_LEN);
		memcpy(s->dk, pair[i] + IOMT_S2_ID_LEN, IOMT_S2_KEY_LEN);
		gwd_pool_release(p, idx[i]);
	}
	return 0;
}

size_t gwd_pool_nfree(const struct gwd_pool *p)
{
	return p->nfree;
}

/* Slots first, the header last: a file without a header is refused. */
static int create_records(struct rt_recfile *rf, const uint8_t (*pair)[GWD_PAIR_LEN], size_t n)
{
	size_t *idx = calloc(n, sizeof(*idx));
	const void **rec = calloc(n, sizeof(*rec));
	uint8_t hdr[GWD_PAIR_LEN];
	int r = -ENOMEM;

	if (idx && rec) {
		for (size_t i = 0; i < n; i++) {
			idx[i] = 1 + i;
			rec[i] = pair[i];
		}
		r = rt_recfile_write_many(rf, idx, rec, n);
	}
	if (!r) {
		header_build(hdr, n);
		r = rt_recfile_write(rf, HDR_REC, hdr);
	}
	free(idx);
	free(rec);
	return r;
}

int gwd_pool_create(const char *path, const uint8_t (*pair)[GWD_PAIR_LEN], size_t n, char *err,
		    size_t errlen)
{
	struct rt_recfile *rf;
	int r;

	if (n == 0 || n > GWD_POOL_MAX) {
		snprintf(err, errlen, "%zu slots: a pool has 1..%d", n, GWD_POOL_MAX);
		return -EINVAL;
	}
	r = rt_recfile_open(path, GWD_PAIR_LEN, n + 1, &rf);
	if (r) {
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(-r));
		return r;
	}
	r = create_records(rf, pair, n);
	if (r)
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(-r));
	rt_recfile_close(rf);
	return r;
}
