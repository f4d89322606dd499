/* SPDX-License-Identifier: MIT */
/* The persisted state: two slots written alternately (see sc.h). */
#include <string.h>
#include "bytes.h"
#include "ct.h"
#include "iomt_err.h"
#include "sc.h"
#include "shake.h"

enum {
	OFF_GEN = 1,
	OFF_S2 = OFF_GEN + 4,
	OFF_HAS_DATA = OFF_S2 + IOMT_S2_DEVICE_BLOB_LEN,
	OFF_META = OFF_HAS_DATA + 1,
	OFF_EPOCH = OFF_META + IOMT_KEYTREE_META_LEN,
	OFF_KDATA = OFF_EPOCH + 4,
	OFF_LEAF = OFF_KDATA + IOMT_KEYTREE_KEY_LEN,
	OFF_SEQ_HI = OFF_LEAF + 8,
	OFF_CHECK = OFF_SEQ_HI + 4,
};

_Static_assert(OFF_CHECK + SC_CHECK_LEN == SC_STATE_LEN, "state layout");

static const char check_dom[] = "iomt/sensor-core/state";

static void check(const uint8_t *buf, uint8_t out[SC_CHECK_LEN])
{
	struct iomt_shake128 s;

	iomt_shake128_init(&s);
	iomt_shake128_absorb(&s, check_dom, sizeof(check_dom) - 1);
	iomt_shake128_absorb(&s, buf, OFF_CHECK);
	iomt_shake128_squeeze(&s, out, SC_CHECK_LEN);
	iomt_shake128_wipe(&s);
}

/* The stored identity: the run in flight, if any, dropped (sc.h). */
static __attribute__((noinline)) int export_idle(const struct iomt_s2_device *id,
						 uint8_t out[IOMT_S2_DEVICE_BLOB_LEN])
{
	struct iomt_s2_device d = *id;
	int r;

	if (d.state == IOMT_S2_DEV_AWAIT_M4)
		iomt_s2_device_abort(&d);
	r = iomt_s2_device_export(&d, out);
	iomt_s2_device_wipe(&d);
	return r;
}

int sc_state_encode(const struct sc *c, uint32_t gen, uint8_t out[SC_STATE_LEN])
{
	memset(out, 0, SC_STATE_LEN);
	out[0] = SC_STATE_VERSION;
	iomt_store_be32(out + OFF_GEN, gen);
	if (c->has_id && export_idle(&c->id, out + OFF_S2))
		return IOMT_ESTATE;
	if (c->has_data) {
		out[OFF_HAS_DATA] = 1;
		if (iomt_keytree_meta_encode(&c->meta, out + OFF_META))
			return IOMT_EMALFORMED;
		iomt_store_be32(out + OFF_EPOCH, c->ks.epoch);
		memcpy(out + OFF_KDATA, c->ks.k_data, IOMT_KEYTREE_KEY_LEN);
		iomt_store_be64(out + OFF_LEAF, c->leaf);
		iomt_store_be32(out + OFF_SEQ_HI, c->seq_hi);
	}
	check(out, out + OFF_CHECK);
	return IOMT_OK;
}

/* A slot that read_slot passed into c, which sc_init has just zeroed: c
 * is left empty (keys wiped) unless every field decodes. */
static int decode(struct sc *c, const uint8_t in[SC_STATE_LEN])
{
	int has_id = !iomt_ct_is_zero(in + OFF_S2, IOMT_S2_DEVICE_BLOB_LEN);

	if (in[OFF_HAS_DATA] > 1)
		return IOMT_EMALFORMED;
	if (has_id && iomt_s2_device_import(&c->id, in + OFF_S2, IOMT_S2_DEVICE_BLOB_LEN))
		goto bad;
	/* A run pending when stored restarts from the stored identity. */
	if (has_id && c->id.state == IOMT_S2_DEV_AWAIT_M4)
		iomt_s2_device_abort(&c->id);
	if (in[OFF_HAS_DATA] &&
	    (iomt_keytree_meta_decode(&c->meta, in + OFF_META, IOMT_KEYTREE_META_LEN) ||
	     iomt_keytree_sensor_init(&c->ks, &c->meta.conf, c->meta.key_id, in + OFF_KDATA,
				      iomt_load_be32(in + OFF_EPOCH))))
		goto bad;
	c->has_id = (uint8_t)has_id;
	c->has_data = in[OFF_HAS_DATA];
	if (c->has_data) {
		c->leaf = iomt_load_be64(in + OFF_LEAF);
		/* Everything below seq_hi may have been used before the reboot. */
		c->seq = c->seq_hi = iomt_load_be32(in + OFF_SEQ_HI);
	}
	c->gen = iomt_load_be32(in + OFF_GEN);
	return IOMT_OK;
bad:
	sc_wipe(c);	/* its flags and phase are still sc_init's zeros */
	iomt_wipe(&c->meta, sizeof(c->meta));
	return IOMT_EMALFORMED;
}

/* Read slot into buf and check its check value and version. */
static int read_slot(struct sc *c, unsigned slot, uint8_t buf[SC_STATE_LEN], uint32_t *gen)
{
	uint8_t want[SC_CHECK_LEN];

	if (c->drv->store_read(c->ctx, slot, buf, SC_STATE_LEN))
		return 0;
	check(buf, want);
	*gen = iomt_load_be32(buf + OFF_GEN);
	return iomt_ct_eq(want, buf + OFF_CHECK, SC_CHECK_LEN) && buf[0] == SC_STATE_VERSION;
}

int sc_init(struct sc *c, const struct sc_driver *drv, void *ctx, const struct sc_conf *conf)
{
	uint8_t buf[SC_STATE_LEN];
	uint32_t gen[2] = { 0, 0 };
	int good[2];
	unsigned i, first;

	if (!c || !drv || !drv->rng || !drv->store_read || !drv->store_write || !drv->now_ms ||
	    !conf)
		return IOMT_EINVAL;
	memset(c, 0, sizeof(*c));
	c->drv = drv;
	c->ctx = ctx;
	c->conf = *conf;
	for (i = 0; i < 2; i++)
		good[i] = read_slot(c, i, buf, &gen[i]);
	/* The newer of two good slots first (serial-number order: gen wraps). */
	first = good[0] && good[1] ? (int32_t)(gen[1] - gen[0]) > 0 : !good[0];
	for (i = 0; i < 2; i++) {
		unsigned slot = first ^ i;

		if (good[slot] && read_slot(c, slot, buf, &gen[slot]) && !decode(c, buf)) {
			iomt_wipe(buf, sizeof(buf));
			return SC_OK;
		}
	}
	iomt_wipe(buf, sizeof(buf));
	return SC_ENOSTATE;
}

int sc_persist(struct sc *c)
{
	uint8_t buf[SC_STATE_LEN];
	uint32_t gen = c->gen + 1;
	int r = sc_state_encode(c, gen, buf);

	/* The slot not holding the last good state: a torn write keeps it. */
	if (!r)
		r = c->drv->store_write(c->ctx, gen & 1, buf, sizeof(buf)) ? SC_ESTORE : SC_OK;
	iomt_wipe(buf, sizeof(buf));
	if (r) {
		sc_wipe(c);
		c->failed = 1;
		return SC_ESTORE;
	}
	c->gen = gen;
	return SC_OK;
}

int sc_provision_s2(struct sc *c, const uint8_t did[IOMT_S2_ID_LEN],
		    const uint8_t dk[IOMT_S2_KEY_LEN])
{
	int r;

	if (c->failed)
		return SC_EFAILED;
	if (c->phase != SC_S2_IDLE)
		return SC_EBUSY;
	r = iomt_s2_device_init(&c->id, did, dk);
	if (r)
		return r;
	c->has_id = 1;
	return sc_persist(c);
}

void sc_wipe(struct sc *c)
{
	iomt_s2_device_wipe(&c->id);
	iomt_keytree_sensor_wipe(&c->ks);
	c->has_id = c->has_data = 0;
	c->phase = SC_S2_IDLE;
}
