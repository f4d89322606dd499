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
#include "iomt_err.h"
#include "lib/rt_log.h"
#include "recbatch.h"
#include "sc.h"
#include "sc_ack.h"
#include "store.h"
#include "wire.h"

enum {
	DATA_TEXT_MAX = 64,
	DATA_DGRAM_MAX = 65535,
};

struct data_run {
	const struct data_opts *o;
	struct sensor_store store;
	struct sensor_dev dev;		/* the core's driver context: device 0 of store */
	struct sc core;			/* sensors/core: the data-key state, sealing */
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

	int r = sc_batch_open(&d->core, d->dgram, sizeof(d->dgram), d->id, &used);

	if (r == SC_ERNG) {
		rt_err("no randomness for a batch id");
		return -1;
	}
	if (r) {
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

/* One datagram from the gateway: the answer to our batch, or noise (the
 * core's sc_batch_ack decides which). */
static enum ack_result on_datagram(struct data_run *d, const uint8_t *buf, size_t len)
{
	uint8_t status = 0;
	uint16_t stored = 0, dups = 0;

	switch (sc_batch_ack(buf, len, d->id, &status, &stored, &dups)) {
	case SC_DONE:
		if ((unsigned)stored + dups != d->count)
			rt_warn("REC_ACK OK counts %u stored + %u duplicates for %u records",
				stored, dups, d->count);
		d->acked += d->count;
		d->stored += stored;
		d->dups += dups;
		rt_dbg("batch of %u acknowledged: %u stored, %u duplicates", d->count, stored,
		       dups);
		return ACK_DONE;
	case SC_EREFUSED:
		rt_err("the store refused a batch of %u records as malformed", d->count);
		d->errors += d->count;
		return ACK_DONE;
	case SC_OK:
		rt_dbg("REC_ACK %s: resending later",
		       status == IOMT_REC_BUSY ? "BUSY" : status == IOMT_REC_INTERNAL ? "INTERNAL"
											 : "UNREACHABLE");
		return ACK_RETRY;
	default:
		rt_dbg("ignored a %zu-byte datagram that is not our batch's REC_ACK", len);
		return ACK_NONE;
	}
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
	sc_batch_close(d->dgram, d->used);
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

/* The core seals (moving epoch, leaf and seq reservation forward, stored
 * first when they must be); here only what went wrong is said. */
static int seal(struct data_run *d, uint64_t t, const char *text, size_t tlen, uint8_t *rec,
		size_t cap, size_t *rlen, struct iomt_record_hdr *h)
{
	uint32_t before = d->core.ks.epoch, epoch;
	uint64_t leaf;
	int r = iomt_keytree_locate(&d->core.meta.conf, t, &epoch, &leaf);

	if (r) {
		rt_err("time %" PRIu64 " is outside the key tree (before its start or past its "
		       "last leaf)", t);
		return -1;
	}
	r = sc_data_seal(&d->core, t, (const uint8_t *)text, tlen, rec, cap, rlen, h);
	if (r == SC_ECLOCK)
		rt_err("record time in leaf %" PRIu64 ", before the state's leaf %" PRIu64
		       ": the clock went back; refusing to reuse a leaf's sequence numbers",
		       leaf, d->core.leaf);
	else if (r == SC_ESTORE || r == SC_EFAILED)
		rt_err("%s: cannot persist the data-key state: %s; no record is sealed under "
		       "an unsaved state", d->o->state, strerror(d->dev.err));
	else if (r)
		rt_err("sealing a record: %s", iomt_strerror(r));
	if (r)
		return -1;
	if (epoch != before)
		rt_info("epoch %" PRIu32 ": K_data refreshed, the previous one wiped", epoch);
	return 0;
}

/* Seals record i into the batch, sending the batch first when it is full. */
static int one_record(struct data_run *d, uint64_t i)
{
	uint8_t rec[IOMT_RECORD_OVERHEAD + DATA_TEXT_MAX];
	char text[DATA_TEXT_MAX];
	struct iomt_record_hdr h;
	uint64_t t_ms = record_time(d->o, i);
	size_t tlen = measure(i, t_ms, text, sizeof(text)), rlen;
	int r;

	if (!batch_fits(d, IOMT_RECORD_OVERHEAD + tlen) && (batch_send(d) || batch_begin(d)))
		return -1;
	r = seal(d, t_ms / 1000, text, tlen, rec, sizeof(rec), &rlen, &h);
	iomt_wipe(text, sizeof(text));
	if (r)
		return -1;
	d->sealed++;
	rt_dbg("record epoch=%" PRIu32 " leaf=%" PRIu64 " seq=%" PRIu32, h.epoch, h.leaf, h.seq);
	return batch_add(d, rec, rlen);
}

static const char *key_id_hex(const uint8_t id[IOMT_KEYTREE_ID_LEN], char out[33])
{
	iomt_hex_encode(id, IOMT_KEYTREE_ID_LEN, out);
	return out;
}

/* The core: loaded from the state file, or given its first data key
 * (persisted by the core before any use). */
static int open_state(struct data_run *d, struct data_opts *o)
{
	const uint64_t t = o->ppd_timeout_ms / 4;
	const struct sc_conf conf = { (uint32_t)(t < 100 ? 100 : t), 3 };
	char hex[2 * IOMT_KEYTREE_ID_LEN + 1];
	int r;

	if (sensor_store_open_or_create(&d->store, o->state))
		return -1;
	d->store.fail_after = o->fail_persist_after;
	r = sensor_store_load(&d->store, &d->dev, 0, &d->core, &conf);
	if (r && r != SC_ENOSTATE) {
		rt_err("%s: the state cannot be loaded (%d)", o->state, r);
		return -1;
	}
	if (!d->core.has_data) {
		data_opts_default_start(o, (o->clock_start ? o->clock_start * 1000 : wall_ms()) /
					       1000);
		if (data_prov_get(o, &d->core, &d->dev))
			return -1;
		rt_info("data key provisioned and saved: key id %s",
			key_id_hex(d->core.meta.key_id, hex));
		return 0;
	}
	rt_info("%s: key id %s, epoch %" PRIu32 ", leaf %" PRIu64 ", resuming at seq %" PRIu32,
		o->state, key_id_hex(d->core.meta.key_id, hex), d->core.ks.epoch, d->core.leaf,
		d->core.seq);
	return 0;
}

static void close_state(struct data_run *d)
{
	sc_wipe(&d->core);
	sensor_store_close(&d->store);
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
	d.store.fd = -1;
	if (open_state(&d, &o)) {
		close_state(&d);
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
	close_state(&d);
	iomt_wipe(d.dgram, sizeof(d.dgram));
	return r || d.acked != d.sealed ? 1 : 0;
}
