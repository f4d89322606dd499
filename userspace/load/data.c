/* SPDX-License-Identifier: MIT */
/*
 * The data mode: every sensor streams REC_PUT batches (lib/recbatch.h) of
 * --records sealed records to the relay role and waits for its REC_ACK.
 * The run plays one PPD: a fresh random K_master and key id, one data key
 * tree (lib/keytree.h); each record is sealed for real (lib/record.h) under
 * a unique (epoch, leaf, seq), so the store stores each once. OK completes
 * an exchange; BUSY / UNREACHABLE are refusals; MALFORMED / INTERNAL are
 * errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "keytree.h"
#include "lib/rt_rng.h"
#include "modes.h"
#include "recbatch.h"
#include "record.h"
#include "wire.h"

struct data_state {
	struct iomt_keytree_meta meta;
	struct iomt_record_hdr h;
	uint8_t kenc[IOMT_KEYTREE_KEY_LEN];
	uint32_t seq;
	uint64_t batch;
	int ready;
};

struct data_slot {
	uint8_t id[8];		/* the batch in flight */
};

static struct data_state ds;

static struct iomt_keytree_conf conf = {
	.version = 1, .leaf_period_s = 60, .depth = 3,
	.arity = { 16, 24, 60 }, .refresh_period_s = 3600,
};

/* One key tree for the run, the current leaf's key. */
static int data_setup(void)
{
	uint8_t master[IOMT_KEYTREE_MASTER_LEN], k0[IOMT_KEYTREE_KEY_LEN];
	struct iomt_keytree_sensor s;
	uint64_t t = (uint64_t)time(NULL), leaf;
	uint32_t epoch;
	int bad;

	/* The tree starts now: one epoch, the sensor at its first key. */
	conf.epoch_start = t - t % 60;

	if (rt_random(master, sizeof(master)) || rt_random(ds.meta.key_id, sizeof(ds.meta.key_id)))
		return -1;
	ds.meta.key_id[0] |= 1;
	ds.meta.conf = conf;
	memcpy(ds.meta.sensor_id, "iomt-load", 9);
	memcpy(ds.meta.ppd_id, "iomt-load", 9);
	bad = iomt_keytree_data_key0(master, &ds.meta, k0) ||
	      iomt_keytree_sensor_init(&s, &conf, ds.meta.key_id, k0, 0) ||
	      iomt_keytree_sensor_key(&s, t, &epoch, &leaf, ds.kenc);
	iomt_keytree_sensor_wipe(&s);
	memset(master, 0, sizeof(master));
	memset(k0, 0, sizeof(k0));
	if (bad)
		return -1;
	memcpy(ds.h.key_id, ds.meta.key_id, sizeof(ds.h.key_id));
	ds.h.epoch = epoch;
	ds.h.leaf = leaf;
	if (rt_random(&ds.batch, sizeof(ds.batch)))
		return -1;
	ds.ready = 1;
	return 0;
}

static int data_init(struct load_run *r, struct load_slot *s)
{
	(void)r;
	if (!ds.ready && data_setup()) {
		fprintf(stderr, "iomt-load: data: cannot make a data key\n");
		return -1;
	}
	s->m = calloc(1, sizeof(struct data_slot));
	s->ready = 1;
	return s->m ? 0 : -1;
}

static long data_next(struct load_run *r, struct load_slot *s, uint8_t *buf, size_t cap,
		      const struct sockaddr_storage **to, socklen_t *tolen)
{
	const struct load_args *a = r->mctx;
	struct data_slot *d = s->m;
	uint8_t rec[64];
	size_t used, rlen, room = cap - IOMT_WIRE_HDR_LEN;
	char text[32];

	(void)to, (void)tolen;
	iomt_store_be64(d->id, ds.batch++);
	if (iomt_recbatch_begin(buf + IOMT_WIRE_HDR_LEN, room, d->id, &ds.meta, &used))
		return -1;
	for (unsigned i = 0; i < a->records; i++) {
		int n = snprintf(text, sizeof(text), "hr=%u", 60 + (ds.seq % 40));

		ds.h.seq = ds.seq++;
		if (iomt_record_seal(ds.kenc, &ds.h, (const uint8_t *)text, (size_t)n, rec,
				     sizeof(rec), &rlen) ||
		    iomt_recbatch_add(buf + IOMT_WIRE_HDR_LEN, room, &used, rec, rlen)) {
			load_note(r, "data: %u records do not fit one datagram", a->records);
			return -1;
		}
	}
	iomt_wire_put_hdr(buf, IOMT_MSG_REC_PUT, used);
	return (long)(IOMT_WIRE_HDR_LEN + used);
}

static enum load_verdict data_reply(struct load_run *r, struct load_slot *s, const uint8_t *buf,
				    size_t len)
{
	struct data_slot *d = s->m;
	const uint8_t *p;
	size_t plen;
	uint8_t type, id[8], status;
	uint16_t stored, dups;

	if (iomt_wire_parse(buf, len, &type, &p, &plen) || type != IOMT_MSG_REC_ACK ||
	    iomt_rec_ack_decode(id, &status, &stored, &dups, p, plen) || memcmp(id, d->id, 8))
		return LOAD_IGNORE;
	if (status == IOMT_REC_OK)
		return LOAD_DONE;
	if (status == IOMT_REC_BUSY || status == IOMT_REC_UNREACHABLE)
		return LOAD_REFUSED;
	load_note(r, "data: REC_ACK status %u", status);
	return LOAD_FAIL;
}

const struct load_mode load_mode_data = {
	.name = "data", .init = data_init, .next = data_next, .reply = data_reply,
};
