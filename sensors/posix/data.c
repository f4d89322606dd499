/* SPDX-License-Identifier: MIT */
/* `iomt-sensor data` (see data.h): measure, seal, batch, send, wait for ACK. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "hex.h"
#include "ct.h"
#include "data.h"
#include "data_opts.h"
#include "data_prov.h"
#include "data_state.h"
#include "iomt_err.h"
#include "lib/rt_log.h"
#include "lib/rt_rng.h"
#include "recbatch.h"
#include "wire.h"

enum {
	DATA_TEXT_MAX = 64,
	DATA_DGRAM_MAX = 65535,
};

struct data_run {
	const struct data_opts *o;
	struct data_state st;
	int fd;
	uint8_t dgram[DATA_DGRAM_MAX];	/* header || REC_PUT payload */
	size_t used;			/* payload bytes of the batch */
	uint16_t count;
	uint8_t id[8];
	/* summary */
	uint64_t sealed, sent, acked, stored, dups, errors, batches, resends;
};

/* ---- the clock and the measurement ---- */

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Record i's time (Unix ms): simulated, or the wall clock in real time. */
static uint64_t record_time(const struct data_opts *o, uint64_t i)
{
	struct timespec ts = { (time_t)(o->interval_ms / 1000),
			       (long)(o->interval_ms % 1000) * 1000000 };

	if (o->clock_start)
		return o->clock_start * 1000 + i * o->interval_ms;
	if (i)
		nanosleep(&ts, NULL);
	return wall_ms();
}

/* A synthetic heart rate: plausible, and different from record to record. */
static size_t measure(uint64_t i, uint64_t t_ms, char *text, size_t cap)
{
	int n = snprintf(text, cap, "hr=%u t=%" PRIu64, 60u + (unsigned)((i * 7) % 41), t_ms);

	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* ---- the batch ---- */

static int batch_begin(struct data_run *d)
{
	size_t used;

	if (rt_random(d->id, sizeof(d->id))) {
		rt_err("no randomness for a batch id");
		return -1;
	}
	if (iomt_recbatch_begin(d->dgram + IOMT_WIRE_HDR_LEN,
				sizeof(d->dgram) - IOMT_WIRE_HDR_LEN, d->id, &d->st.meta, &used)) {
		rt_err("cannot start a REC_PUT batch (bad meta_Kdata in the state)");
		return -1;
	}
	d->used = used;
	d->count = 0;
	return 0;
}

/* Room for one more record of rec_len bytes within --mtu and --batch? */
static int batch_fits(const struct data_run *d, size_t rec_len)
{
	return d->count < (unsigned)d->o->batch &&
	       IOMT_WIRE_HDR_LEN + d->used + 2 + rec_len <= (size_t)d->o->mtu;
}

static int batch_add(struct data_run *d, const uint8_t *rec, size_t len)
{
	size_t cap = (size_t)d->o->mtu - IOMT_WIRE_HDR_LEN;

	if (iomt_recbatch_add(d->dgram + IOMT_WIRE_HDR_LEN, cap, &d->used, rec, len)) {
		rt_err("a %zu-byte record does not fit a --mtu %d datagram", len, d->o->mtu);
		return -1;
	}
	d->count++;
	return 0;
}

/* ---- sending and the ACK ---- */

enum ack_result { ACK_NONE, ACK_DONE, ACK_RETRY };

/* One datagram from the gateway: the answer to our batch, or noise. */
static enum ack_result on_datagram(struct data_run *d, const uint8_t *buf, size_t len)
{
	const uint8_t *p;
	uint8_t type, id[8], status;
	uint16_t stored, dups;
	size_t plen;

	if (iomt_wire_parse(buf, len, &type, &p, &plen) || type != IOMT_MSG_REC_ACK ||
	    iomt_rec_ack_decode(id, &status, &stored, &dups, p, plen)) {
		rt_dbg("ignored a %zu-byte datagram that is not a REC_ACK", len);
		return ACK_NONE;
	}
	if (memcmp(id, d->id, sizeof(id))) {
		rt_dbg("ignored a REC_ACK for another batch (a late answer)");
		return ACK_NONE;
	}
	if (status == IOMT_REC_OK) {
		if ((unsigned)stored + dups != d->count)
			rt_warn("REC_ACK OK counts %u stored + %u duplicates for %u records",
				stored, dups, d->count);
		d->acked += d->count;
		d->stored += stored;
		d->dups += dups;
		rt_dbg("batch of %u acknowledged: %u stored, %u duplicates", d->count, stored,
		       dups);
		return ACK_DONE;
	}
	if (status == IOMT_REC_MALFORMED) {
		rt_err("the store refused a batch of %u records as malformed", d->count);
		d->errors += d->count;
		return ACK_DONE;
	}
	rt_dbg("REC_ACK %s: resending later",
	       status == IOMT_REC_BUSY ? "BUSY" : status == IOMT_REC_INTERNAL ? "INTERNAL"
										 : "UNREACHABLE");
	return ACK_RETRY;
}

/* Waits up to ms for our ACK. */
static enum ack_result wait_ack(struct data_run *d, unsigned ms)
{
	uint64_t end = sensor_now_us() + (uint64_t)ms * 1000;
	uint8_t buf[512];

	for (;;) {
		uint64_t now = sensor_now_us();
		struct pollfd pfd = { .fd = d->fd, .events = POLLIN };
		ssize_t n;
		enum ack_result a;

		if (now >= end)
			return ACK_NONE;
		if (poll(&pfd, 1, (int)((end - now + 999) / 1000)) <= 0)
			continue;
		while ((n = sensor_net_recv(d->fd, buf, sizeof(buf))) != -EAGAIN) {
			if (n == -ECONNREFUSED)
				return ACK_RETRY;	/* nobody on the gateway's port */
			if (n < 0)
				continue;	/* oversized: not an ACK */
			a = on_datagram(d, buf, (size_t)n);
			if (a != ACK_NONE)
				return a;
		}
	}
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Sends the batch until an ACK settles it: 0, or -1 (given up). */
static int batch_send(struct data_run *d)
{
	size_t len = IOMT_WIRE_HDR_LEN + d->used;
	unsigned wait = (unsigned)d->o->timeout_ms;

	if (!d->count)
		return 0;
	iomt_wire_put_hdr(d->dgram, IOMT_MSG_REC_PUT, d->used);
	d->batches++;
	d->sent += d->count;
	for (int attempt = 0; attempt <= d->o->retries; attempt++) {
		int r = sensor_net_send(d->fd, d->dgram, len);
		enum ack_result a = ACK_NONE;

		if (attempt)
			d->resends++;
		if (r && r != -ECONNREFUSED)
			rt_warn("sending a REC_PUT: %s", strerror(-r));
		if (!r)
			a = wait_ack(d, wait);
		if (a == ACK_DONE) {
			d->count = 0;	/* settled: forgotten */
			return 0;
		}
		if (a == ACK_RETRY || r)
			sleep_ms(wait);	/* the gateway answered: back off before resending */
		wait = wait * 2 < DATA_WAIT_MAX_MS ? wait * 2 : DATA_WAIT_MAX_MS;
	}
	rt_err("a batch of %u records got no ACK OK after %d resends: giving up", d->count,
	       d->o->retries);
	d->errors += d->count;
	d->count = 0;
	return -1;
}

/* ---- the run ---- */

/* Seals record i into the batch, sending the batch first when it is full. */
static int one_record(struct data_run *d, uint64_t i)
{
	uint8_t k_enc[IOMT_KEYTREE_KEY_LEN], rec[IOMT_RECORD_OVERHEAD + DATA_TEXT_MAX];
	char text[DATA_TEXT_MAX];
	struct iomt_record_hdr h;
	uint64_t t_ms = record_time(d->o, i);
	size_t tlen = measure(i, t_ms, text, sizeof(text)), rlen;
	int r;

	if (!batch_fits(d, IOMT_RECORD_OVERHEAD + tlen) && (batch_send(d) || batch_begin(d)))
		return -1;
	if (data_state_next(&d->st, t_ms / 1000, &h, k_enc))
		return -1;
	r = iomt_record_seal(k_enc, &h, (const uint8_t *)text, tlen, rec, sizeof(rec), &rlen);
	iomt_wipe(k_enc, sizeof(k_enc));
	iomt_wipe(text, sizeof(text));
	if (r) {
		rt_err("sealing a record: %s", iomt_strerror(r));
		return -1;
	}
	d->sealed++;
	rt_dbg("record epoch=%" PRIu32 " leaf=%" PRIu64 " seq=%" PRIu32, h.epoch, h.leaf, h.seq);
	return batch_add(d, rec, rlen);
}

static const char *key_id_hex(const uint8_t id[IOMT_KEYTREE_ID_LEN], char out[33])
{
	iomt_hex_encode(id, IOMT_KEYTREE_ID_LEN, out);
	return out;
}

/* The state: loaded, or made from a fresh data key persisted before use. */
static int open_state(struct data_run *d, struct data_opts *o)
{
	struct iomt_keytree_meta m;
	uint8_t k0[IOMT_KEYTREE_KEY_LEN];
	char hex[2 * IOMT_KEYTREE_ID_LEN + 1];
	int r = data_state_open(&d->st, o->state, o->fail_persist_after);

	if (r < 0)
		return -1;
	if (r == 0) {
		data_opts_default_start(o, (o->clock_start ? o->clock_start * 1000 : wall_ms()) /
					       1000);
		r = data_prov_get(o, &m, k0) ? -1 : data_state_init(&d->st, &m, k0);
		iomt_wipe(k0, sizeof(k0));
		if (r)
			return -1;
		rt_info("data key provisioned and saved: key id %s",
			key_id_hex(d->st.meta.key_id, hex));
		return 0;
	}
	rt_info("%s: key id %s, epoch %" PRIu32 ", leaf %" PRIu64 ", resuming at seq %" PRIu32,
		o->state, key_id_hex(d->st.meta.key_id, hex), d->st.ks.epoch, d->st.leaf,
		d->st.seq);
	return 0;
}

static void summary(const struct data_run *d)
{
	printf("records: sealed %" PRIu64 ", sent %" PRIu64 ", acked %" PRIu64
	       " (stored %" PRIu64 ", duplicates %" PRIu64 "), errors %" PRIu64
	       "; batches %" PRIu64 ", resends %" PRIu64 "\n",
	       d->sealed, d->sent, d->acked, d->stored, d->dups, d->errors, d->batches,
	       d->resends);
	fflush(stdout);
}

static int run(struct data_run *d)
{
	const struct data_opts *o = d->o;
	int r = 0;

	if (batch_begin(d))
		return -1;
	for (uint64_t i = 0; !r && i < (uint64_t)o->records; i++)
		r = one_record(d, i);
	/* What was sealed goes out even when a later record failed. */
	if (batch_send(d))
		r = -1;
	return r;
}

int sensor_data_main(int argc, char *const argv[])
{
	static struct data_opts o;
	static struct data_run d;
	int r = data_opts_parse(&o, argc, argv);

	if (r)
		return r > 0 ? 0 : 2;
	d.o = &o;
	d.fd = -1;
	if (open_state(&d, &o)) {
		data_state_close(&d.st);
		return 1;
	}
	d.fd = sensor_net_socket(&o.gw_addr);
	if (d.fd < 0) {
		rt_err("--gateway %s: %s", o.gateway, strerror(-d.fd));
		r = -1;
	} else {
		r = run(&d);
	}
	summary(&d);
	if (d.fd >= 0)
		close(d.fd);
	data_state_close(&d.st);
	iomt_wipe(d.dgram, sizeof(d.dgram));
	return r || d.acked != d.sealed ? 1 : 0;
}
