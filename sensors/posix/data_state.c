/* SPDX-License-Identifier: MIT */
/* The sensor's write-ahead data-key state (see data_state.h). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "ct.h"
#include "data_state.h"
#include "iomt_err.h"
#include "lib/rt_log.h"

enum {
	OFF_META = 1,
	OFF_EPOCH = OFF_META + IOMT_KEYTREE_META_LEN,
	OFF_KDATA = OFF_EPOCH + 4,
	OFF_LEAF = OFF_KDATA + IOMT_KEYTREE_KEY_LEN,
	OFF_SEQ_HI = OFF_LEAF + 8,
};

_Static_assert(OFF_SEQ_HI + 4 == DATA_STATE_LEN, "data state layout");

static int encode(const struct data_state *s, uint8_t out[DATA_STATE_LEN])
{
	out[0] = DATA_STATE_VERSION;
	if (iomt_keytree_meta_encode(&s->meta, out + OFF_META))
		return -1;
	iomt_store_be32(out + OFF_EPOCH, s->ks.epoch);
	memcpy(out + OFF_KDATA, s->ks.k_data, IOMT_KEYTREE_KEY_LEN);
	iomt_store_be64(out + OFF_LEAF, s->leaf);
	iomt_store_be32(out + OFF_SEQ_HI, s->seq_hi);
	return 0;
}

static int decode(struct data_state *s, const uint8_t in[DATA_STATE_LEN])
{
	if (in[0] != DATA_STATE_VERSION ||
	    iomt_keytree_meta_decode(&s->meta, in + OFF_META, IOMT_KEYTREE_META_LEN) ||
	    iomt_keytree_sensor_init(&s->ks, &s->meta.conf, s->meta.key_id, in + OFF_KDATA,
				     iomt_load_be32(in + OFF_EPOCH)))
		return -1;
	s->leaf = iomt_load_be64(in + OFF_LEAF);
	s->seq_hi = iomt_load_be32(in + OFF_SEQ_HI);
	/* Everything below seq_hi may have been used before a crash. */
	s->seq = s->seq_hi;
	return 0;
}

/* The state as it stands, durable when it returns 0. */
static int persist(struct data_state *s)
{
	uint8_t rec[DATA_STATE_LEN];
	int r;

	if (s->fail_after >= 0 && s->writes >= (unsigned)s->fail_after) {
		rt_err("%s: cannot persist the data-key state: %s (test: --fail-persist-after "
		       "%d); no record is sealed under an unsaved state", s->path,
		       strerror(EIO), s->fail_after);
		return -1;
	}
	r = encode(s, rec) ? -EINVAL : rt_recfile_write(s->f, 0, rec);
	iomt_wipe(rec, sizeof(rec));
	if (r) {
		rt_err("%s: cannot persist the data-key state: %s; no record is sealed under "
		       "an unsaved state", s->path, strerror(-r));
		return -1;
	}
	s->writes++;
	return 0;
}

static int load(struct data_state *s)
{
	uint8_t rec[DATA_STATE_LEN];
	int r = rt_recfile_read(s->f, 0, rec);

	if (r == -ENOENT)
		return 0;	/* created, never written (a crash before the first write) */
	if (!r && decode(s, rec)) {
		rt_err("%s: the record is not a data-key state (damaged, or another version)",
		       s->path);
		r = -EINVAL;
	} else if (r) {
		rt_err("%s: cannot read the data-key state: %s", s->path, strerror(-r));
	}
	iomt_wipe(rec, sizeof(rec));
	return r ? -1 : 1;
}

int data_state_open(struct data_state *s, const char *path, int fail_after)
{
	size_t rec_len, nrec;
	int r;

	memset(s, 0, sizeof(*s));
	s->path = path;
	s->fail_after = fail_after;
	r = rt_recfile_stat(path, &rec_len, &nrec);
	if (r == 0 && (rec_len != DATA_STATE_LEN || nrec != 1)) {
		rt_err("%s: not a data-key state file (records of %zu bytes, %zu of them)", path,
		       rec_len, nrec);
		return -1;
	}
	if (r && r != -ENOENT) {
		rt_err("%s: cannot read the state file: %s", path, strerror(-r));
		return -1;
	}
	r = rt_recfile_open(path, DATA_STATE_LEN, 1, &s->f);
	if (r) {
		rt_err("%s: cannot %s the state file: %s", path,
		       r == -ENOENT || access(path, F_OK) ? "create" : "open", strerror(-r));
		return -1;
	}
	return load(s);
}

int data_state_init(struct data_state *s, const struct iomt_keytree_meta *m,
		    const uint8_t k_data0[IOMT_KEYTREE_KEY_LEN])
{
	s->meta = *m;
	if (iomt_keytree_sensor_init(&s->ks, &m->conf, m->key_id, k_data0, 0)) {
		rt_err("the data key's meta is not a valid key tree");
		return -1;
	}
	s->leaf = 0;
	s->seq = s->seq_hi = 0;
	return persist(s);
}

/* Moves the state to (epoch, leaf) and reserves seqs; persists if needed. */
static int advance(struct data_state *s, uint32_t epoch, uint64_t leaf)
{
	int dirty = 0;

	if (leaf < s->leaf) {
		rt_err("record time in leaf %" PRIu64 ", before the state's leaf %" PRIu64
		       ": the clock went back; refusing to reuse a leaf's sequence numbers",
		       leaf, s->leaf);
		return -1;
	}
	if (epoch > s->ks.epoch) {
		if (iomt_keytree_sensor_advance(&s->ks, epoch)) {
			rt_err("cannot move to epoch %" PRIu32, epoch);
			return -1;
		}
		rt_info("epoch %" PRIu32 ": K_data refreshed, the previous one wiped", epoch);
		dirty = 1;
	}
	if (leaf > s->leaf) {
		s->leaf = leaf;
		s->seq = s->seq_hi = 0;
	}
	if (s->seq == s->seq_hi) {
		if (s->seq_hi > UINT32_MAX - DATA_SEQ_BLOCK) {
			rt_err("leaf %" PRIu64 ": sequence numbers exhausted", leaf);
			return -1;
		}
		s->seq_hi += DATA_SEQ_BLOCK;
		dirty = 1;
	}
	return dirty ? persist(s) : 0;
}

int data_state_next(struct data_state *s, uint64_t t, struct iomt_record_hdr *h,
		    uint8_t k_enc[IOMT_KEYTREE_KEY_LEN])
{
	uint32_t epoch;
	uint64_t leaf;

	if (!s->ks.live || iomt_keytree_locate(&s->meta.conf, t, &epoch, &leaf)) {
		rt_err("time %" PRIu64 " is outside the key tree (before its start or past its "
		       "last leaf)", t);
		return -1;
	}
	if (advance(s, epoch, leaf))
		return -1;
	if (iomt_keytree_sensor_key(&s->ks, t, &epoch, &leaf, k_enc)) {
		rt_err("no record key for time %" PRIu64, t);
		return -1;
	}
	memcpy(h->key_id, s->meta.key_id, sizeof(h->key_id));
	h->epoch = epoch;
	h->leaf = leaf;
	h->seq = s->seq++;
	return 0;
}

void data_state_close(struct data_state *s)
{
	iomt_keytree_sensor_wipe(&s->ks);
	rt_recfile_close(s->f);
	s->f = NULL;
}
