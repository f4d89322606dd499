/* SPDX-License-Identifier: MIT */
/* Group commit of REC_PUT batches (group.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "group.h"
#include "iomt_err.h"
#include "lib/rt_log.h"
#include "metrics.h"
#include "record.h"

int store_group_init(struct store_daemon *d)
{
	d->jobs = calloc((size_t)d->cfg.group_max, sizeof(*d->jobs));
	return d->jobs ? 0 : -ENOMEM;
}

void store_group_fini(struct store_daemon *d)
{
	free(d->jobs);
	d->jobs = NULL;
}

int store_group_check(const struct iomt_recbatch *b)
{
	struct iomt_keytree_shape sh;
	struct iomt_record_hdr h;
	int err = iomt_keytree_shape(&b->meta.conf, &sh);

	for (uint16_t i = 0; !err && i < b->count; i++) {
		err = iomt_record_parse(b->rec[i], b->len[i], &h);
		/* A leaf the tree does not have, or filed under another epoch:
		 * no key the PPD releases would ever open it. */
		if (!err && (h.leaf >= sh.span[0] || h.leaf / sh.epoch_leaves != h.epoch))
			err = IOMT_EMALFORMED;
	}
	return err;
}

/* Decodes and checks one payload into the next job. */
static void take(struct store_daemon *d, struct conn *c, const uint8_t *p, size_t len)
{
	static const uint8_t zero[8];
	struct store_job *j = &d->jobs[d->njobs++];
	int err;

	j->c = c;
	j->stored = j->duplicates = 0;
	j->decoded = 0;
	memcpy(j->batch_id, len >= 8 ? p : zero, 8);
	err = iomt_recbatch_decode(&j->b, p, len);
	if (!err)
		err = store_group_check(&j->b);
	if (err) {
		j->status = IOMT_REC_MALFORMED;
		rt_warn("conn %llu (%s): batch of %zu bytes refused: %s",
			(unsigned long long)c->id, c->peer, len, iomt_strerror(err));
		return;
	}
	j->decoded = 1;
	j->status = IOMT_REC_OK;
}

/* Round-robin: one frame per connection per round. */
static void collect(struct store_daemon *d)
{
	const uint8_t *p;
	size_t len;
	int took = 1;

	d->njobs = 0;
	while (took && d->njobs < (size_t)d->cfg.group_max) {
		took = 0;
		/* next first: a corrupt stream closes c, moving it to the dead list. */
		for (struct conn *c = d->conns, *next; c && d->njobs < (size_t)d->cfg.group_max;
		     c = next) {
			next = c->next;
			if (store_conn_next(d, c, &p, &len)) {
				take(d, c, p, len);
				took = 1;
			}
		}
	}
}

/* The transaction: 0 once committed, else -errno (rolled back). */
static int commit(struct store_daemon *d, size_t *n)
{
	int64_t now = store_unix_ms();
	int r = store_db_begin(d->db);

	*n = 0;
	if (r)
		return r;   /* no transaction to roll back */
	for (size_t i = 0; !r && i < d->njobs; i++) {
		struct store_job *j = &d->jobs[i];

		if (!j->decoded)
			continue;
		r = store_db_put(d->db, &j->b, now, &j->stored, &j->duplicates);
		if (r == -EEXIST) {
			/* Nothing of it was written: the rest of the group goes on. */
			rt_warn("conn %llu (%s): key id already held with another meta_Kdata:"
				" MALFORMED", (unsigned long long)j->c->id, j->c->peer);
			rt_metric_inc(&store_metrics.meta_conflicts);
			j->decoded = 0;
			j->status = IOMT_REC_MALFORMED;
			r = 0;
			continue;
		}
		++*n;
	}
	if (!r)
		r = store_db_commit(d->db);
	if (r && store_db_rollback(d->db))
		rt_warn("rollback failed: the next begin will say more");
	return r;
}

/* r: the commit's result. A database locked by someone else for longer
 * than the busy timeout is BUSY; any other failure INTERNAL. */
static void answer(struct store_daemon *d, int r)
{
	for (size_t i = 0; i < d->njobs; i++) {
		struct store_job *j = &d->jobs[i];

		if (j->decoded && r) {
			j->status = r == -EBUSY ? IOMT_REC_BUSY : IOMT_REC_INTERNAL;
			j->stored = j->duplicates = 0;
		}
		if (j->status == IOMT_REC_OK) {
			rt_metric_add(&store_metrics.records_stored, j->stored);
			rt_metric_add(&store_metrics.records_duplicate, j->duplicates);
		} else if (j->decoded || j->b.count) {
			rt_metric_add(&store_metrics.records_refused, j->b.count);
		}
		if (j->status == IOMT_REC_OK)
			rt_dbg("conn %llu: batch %02x%02x%02x%02x%02x%02x%02x%02x: %u stored,"
			       " %u duplicates", (unsigned long long)j->c->id, j->batch_id[0],
			       j->batch_id[1], j->batch_id[2], j->batch_id[3], j->batch_id[4],
			       j->batch_id[5], j->batch_id[6], j->batch_id[7], j->stored,
			       j->duplicates);
		store_conn_ack(j->c, j->batch_id, j->status, j->stored, j->duplicates);
	}
}

void store_group_run(struct store_daemon *d)
{
	int64_t t0, us;
	size_t n = 0;
	int r = 0, any = 0;

	collect(d);
	for (size_t i = 0; i < d->njobs; i++)
		any |= d->jobs[i].decoded;
	if (any) {
		t0 = store_mono_us();
		r = commit(d, &n);
		us = store_mono_us() - t0;
		rt_metric_inc(r ? &store_metrics.commits_failed : &store_metrics.commits_ok);
		rt_metric_add(&store_metrics.commit_batches, n);
		rt_metric_add(&store_metrics.commit_us, (uint64_t)us);
		rt_metric_set(&store_metrics.commit_last_us, (uint64_t)us);
		if (r)
			rt_err("group commit of %zu batches failed (%s): all answered %s", n,
			       strerror(-r), r == -EBUSY ? "BUSY" : "INTERNAL");
	}
	answer(d, r);
	d->more = 0;
	for (struct conn *c = d->conns, *next; c; c = next) {
		next = c->next;
		if (c->touched)
			store_conn_flush(d, c);
		if (!store_conn_finished(d, c) && c->state == CONN_OPEN &&
		    d->njobs == (size_t)d->cfg.group_max)
			d->more = 1;
	}
	d->njobs = 0;
}
