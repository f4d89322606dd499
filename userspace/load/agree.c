/* SPDX-License-Identifier: MIT */
/*
 * The agree mode: every sensor is one device of a provisioning file
 * (--prov, as `iomt-user create-analysis` writes it; parsed by
 * sensors/posix/prov.c, the same code as iomt-sensor's) and runs seed-002
 * agreements against the MEC role: M1 -> M4 (or S2_DEV_ERR), with the
 * device state machine of lib/seed002.h, which checks d3 and rotates the
 * device's identity after each agreement. S2_DEV_ERR BUSY is a refusal,
 * other codes are errors.
 *
 * Every agreement rotates the device's (DID, DK) at the TTP too (which
 * keeps the previous pair), so a second run must start from the rotated
 * identities: --prov-out FILE writes them (same format, 0600) at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sensors/posix/prov.h"
#include "ct.h"
#include "hex.h"
#include "lib/rt_file.h"
#include "modes.h"
#include "rnd.h"
#include "seed002.h"
#include "wire.h"

static struct sensor_prov *devs;
static size_t ndevs;

int load_agree_init(struct load_run *r, struct load_slot *s)
{
	const struct load_args *a = r->mctx;
	struct iomt_s2_device *d;

	if (!devs) {
		if (!a->prov) {
			fprintf(stderr, "iomt-load: agree needs --prov FILE\n");
			return -1;
		}
		if (sensor_prov_read(a->prov, &devs, &ndevs))
			return -1;	/* logged: FILE:LINE: ... */
	}
	if (s->idx >= ndevs) {
		fprintf(stderr, "iomt-load: --sensors %u but %s has %zu devices\n",
			r->o->sensors, a->prov, ndevs);
		return -1;
	}
	d = calloc(1, sizeof(*d));
	if (!d || iomt_s2_device_init(d, devs[s->idx].did, devs[s->idx].dk)) {
		free(d);
		return -1;
	}
	s->m = d;
	s->ready = 1;
	return 0;
}

static long agree_next(struct load_run *r, struct load_slot *s, uint8_t *buf, size_t cap,
		       const struct sockaddr_storage **to, socklen_t *tolen)
{
	struct iomt_s2_device *d = s->m;
	uint8_t r1[IOMT_S2_RAND_LEN];
	int rc;

	(void)to, (void)tolen;
	if (cap < IOMT_WIRE_HDR_LEN + IOMT_S2_M1_LEN)
		return -1;
	load_random(r1, sizeof(r1));
	/* From AWAIT_M4 (a timed-out run) this is a retry: the old run is dropped. */
	rc = iomt_s2_device_start(d, r1, buf + IOMT_WIRE_HDR_LEN);
	if (rc) {
		load_note(r, "agree: device %u: cannot build M1 (%d)", s->idx, rc);
		return -1;
	}
	iomt_wire_put_hdr(buf, IOMT_MSG_S2_M1, IOMT_S2_M1_LEN);
	return IOMT_WIRE_HDR_LEN + IOMT_S2_M1_LEN;
}

long load_agree_m1(struct load_run *r, struct load_slot *s, uint8_t *buf, size_t cap)
{
	return agree_next(r, s, buf, cap, NULL, NULL);
}

enum load_verdict load_agree_reply(struct load_run *r, struct load_slot *s, const uint8_t *buf,
				   size_t len, uint8_t sk[IOMT_S2_KEY_LEN])
{
	struct iomt_s2_device *d = s->m;
	uint8_t type;
	const uint8_t *p;
	size_t plen;
	int rc;

	if (iomt_wire_parse(buf, len, &type, &p, &plen))
		return LOAD_IGNORE;
	if (type == IOMT_MSG_S2_DEV_ERR && plen == IOMT_WIRE_S2_DEV_ERR_LEN) {
		if (!iomt_ct_eq(p + 1, d->r1, IOMT_S2_RAND_LEN))
			return LOAD_IGNORE;	/* about another run */
		iomt_s2_device_abort(d);
		if (p[0] == IOMT_S2_ERR_BUSY)
			return LOAD_REFUSED;
		load_note(r, "agree: device %u: S2_DEV_ERR code %u", s->idx, p[0]);
		return LOAD_FAIL;
	}
	if (type != IOMT_MSG_S2_M4)
		return LOAD_IGNORE;
	rc = iomt_s2_device_finish(d, p, plen, sk);
	if (rc) {
		iomt_wipe(sk, IOMT_S2_KEY_LEN);
		return LOAD_IGNORE;	/* d3 does not verify: not our M4 (a late one) */
	}
	return LOAD_DONE;
}

static enum load_verdict agree_reply(struct load_run *r, struct load_slot *s, const uint8_t *buf,
				     size_t len)
{
	uint8_t sk[IOMT_S2_KEY_LEN];
	enum load_verdict v = load_agree_reply(r, s, buf, len, sk);

	iomt_wipe(sk, sizeof(sk));
	return v;
}

/* The devices' current identities, in the provisioning file's format. */
int load_agree_save(struct load_run *r, const char *path)
{
	size_t n = r->o->sensors, cap = n * 80 + 1, used = 0;
	char *text = malloc(cap);
	int e;

	if (!text)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct iomt_s2_device *d = r->slot[i].m;
		char did[2 * IOMT_S2_ID_LEN + 1], dk[2 * IOMT_S2_KEY_LEN + 1];

		iomt_hex_encode(d->did, IOMT_S2_ID_LEN, did);
		iomt_hex_encode(d->dk, IOMT_S2_KEY_LEN, dk);
		used += (size_t)snprintf(text + used, cap - used, "did=%s dk=%s\n", did, dk);
		iomt_wipe(dk, sizeof(dk));
	}
	e = rt_file_publish(path, text, used, 0600, 0);
	iomt_wipe(text, used);
	free(text);
	if (e)
		fprintf(stderr, "iomt-load: --prov-out %s: %s\n", path, strerror(-e));
	return e ? -1 : 0;
}

const struct load_mode load_mode_agree = {
	.name = "agree", .init = load_agree_init, .next = agree_next, .reply = agree_reply,
};
