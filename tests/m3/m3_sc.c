/* SPDX-License-Identifier: MIT */
/* The "core only" link of the sensor core (sensors/core, sc.h) with lib/:
 * every device-side entry point of sc.h reachable, through a driver that
 * keeps its two state slots in RAM, so that tests/bench/bench_fw.sh can size
 * what a sensor's firmware carries. Linked, never run: inputs come through
 * volatile pointers so nothing is folded away. Built only when
 * sensors/core/sc.h exists. */
#include <stdint.h>
#include <string.h>
#include "m3.h"
#include "sc.h"
#include "sc_prov.h"

static int m3_sc_rng(void *ctx, uint8_t *out, size_t n)
{
	(void)ctx;
	memset(out, 0x5a, n);
	return 0;
}

static int m3_sc_read(void *ctx, unsigned s, uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)s;
	memset(buf, 0xff, len);
	return 1;	/* empty: an erased flash page */
}

static int m3_sc_write(void *ctx, unsigned s, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)s;
	(void)buf;
	return len == SC_STATE_LEN ? 0 : -1;
}

static uint64_t m3_sc_now(void *ctx)
{
	(void)ctx;
	return 0;
}

static const struct sc_driver m3_sc_driver = { m3_sc_rng, m3_sc_read, m3_sc_write, m3_sc_now };
static const struct sc_conf m3_sc_conf = { 2000, 3 };
/* The core's RAM: its state, the provisioning state while a data key is
 * fetched, and the one frame buffer the radio and the core share. */
static struct sc core;
static struct sc_prov prov;
static uint8_t frame[256];
/* The harness's inputs and outputs, one symbol that tests/bench/bench_fw.sh
 * leaves out of fw_core_ram_bytes: a firmware keeps them in flash or in its
 * application (KDC name and key, PPD name, wanted schedule, the DID/DK of
 * seed-002 provisioning, the fallback data key, the sample, SK, the record
 * header). */
struct m3_sc_fixture {
	uint8_t id[IOMT_S2_ID_LEN + IOMT_S2_KEY_LEN], sk[IOMT_S2_KEY_LEN];
	uint8_t k0[IOMT_KEYTREE_KEY_LEN], data[32];
	uint8_t name[IOMT_KDC_NAME_LEN], key[IOMT_KDC_KEY_LEN];
	struct iomt_keytree_meta meta;
	struct iomt_record_hdr hdr;
	struct iomt_keytree_conf want;
} m3_sc_fixture;
#define F m3_sc_fixture
uint8_t *volatile m3_sc_io[7] = { F.id, F.sk, frame, F.k0, F.data, F.name, F.key };

/* The first data key over the KDC and the PPD's channel (sc_prov.h). */
static int provision_data_key(void)
{
	size_t len = 0;
	int rc = sc_prov_start(&core, &prov, m3_sc_io[5], 1, m3_sc_io[6], m3_sc_io[5], &F.want, 0,
			       m3_sc_io[2], sizeof(frame), &len);

	while (rc >= 0 && rc != SC_DONE) {
		rc = sc_prov_input(&core, &prov, 0, m3_sc_io[2], len, m3_sc_io[2], sizeof(frame),
				   &len);
		if (rc == SC_OK || rc == SC_IGNORED)
			rc = sc_prov_poll(&core, &prov, 0, m3_sc_io[2], sizeof(frame), &len);
	}
	sc_prov_wipe(&prov);
	return rc;
}

int main(void)
{
	size_t len = 0, used = 0;
	uint8_t bid[8];
	int rc;

	rc = sc_init(&core, &m3_sc_driver, 0, &m3_sc_conf);
	if (rc == SC_ENOSTATE)
		rc = sc_provision_s2(&core, m3_sc_io[0], m3_sc_io[0] + IOMT_S2_ID_LEN);
	if (rc < 0 || sc_s2_start(&core, m3_sc_io[2], sizeof(frame), &len) < 0)
		return 1;
	while (sc_s2_input(&core, m3_sc_io[2], len, m3_sc_io[1]) != SC_DONE)
		if (sc_s2_poll(&core, m3_sc_io[2], sizeof(frame), &len) < 0 || !sc_s2_deadline(&core))
			return 1;
	if (provision_data_key() < 0 && sc_data_provision(&core, &F.meta, m3_sc_io[3]) < 0)
		return 1;
	if (sc_data_tick(&core, 1) < 0 ||
	    sc_batch_open(&core, m3_sc_io[2], sizeof(frame), bid, &used) < 0 ||
	    sc_data_seal(&core, 1, m3_sc_io[4], sizeof(F.data), m3_sc_io[2] + used,
			 sizeof(frame) - used, &len, &F.hdr) < 0)
		return 1;
	return sc_batch_close(m3_sc_io[2], used + len) < 0;
}
