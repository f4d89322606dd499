/* SPDX-License-Identifier: MIT */
/*
 * The junk and flood modes (fire and forget, for the ingress filter's
 * tests): junk = random datagrams, 1..600 bytes, a third of them with a
 * valid header whose length or type is wrong; flood = frames of one type
 * (--flood-type) with its exact size and random content: they pass every
 * size check and cost the daemon real work before they fail.
 */
#include <string.h>

#include "lib/rt_rng.h"
#include "modes.h"
#include "wire.h"

void load_junk_bytes(void *p, size_t n)
{
	static uint64_t x;
	uint8_t *b = p;

	if (!x && (rt_random(&x, sizeof(x)) || !x))
		x = 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (uint8_t)(x >> 32);
	}
}

static int junk_init(struct load_run *r, struct load_slot *s)
{
	(void)r;
	s->ready = 1;
	return 0;
}

static long junk_next(struct load_run *r, struct load_slot *s, uint8_t *buf, size_t cap,
		      const struct sockaddr_storage **to, socklen_t *tolen)
{
	uint16_t n;

	(void)r, (void)s, (void)to, (void)tolen;
	load_junk_bytes(&n, sizeof(n));
	n = (uint16_t)(1 + n % 600);
	if (n > cap)
		n = (uint16_t)cap;
	load_junk_bytes(buf, n);
	if (n >= IOMT_WIRE_HDR_LEN && buf[0] % 3 == 0) {
		/* A real header, a length that does not match its type. */
		static const uint8_t types[] = { IOMT_MSG_S2_M1, IOMT_MSG_KDC_AP_REQ,
						 IOMT_MSG_REC_PUT, 0x7f };

		iomt_wire_put_hdr(buf, types[buf[1] % sizeof(types)], n - IOMT_WIRE_HDR_LEN + 1);
	}
	return n;
}

static long flood_next(struct load_run *r, struct load_slot *s, uint8_t *buf, size_t cap,
		       const struct sockaddr_storage **to, socklen_t *tolen)
{
	const struct load_args *a = r->mctx;
	size_t len = a->flood_type == IOMT_MSG_S2_M1 ? IOMT_WIRE_S2_M1_LEN
						      : IOMT_WIRE_KDC_AP_REQ_LEN;

	(void)s, (void)to, (void)tolen;
	if (IOMT_WIRE_HDR_LEN + len > cap)
		return -1;
	load_junk_bytes(buf + IOMT_WIRE_HDR_LEN, len);
	iomt_wire_put_hdr(buf, a->flood_type, len);
	return (long)(IOMT_WIRE_HDR_LEN + len);
}

static enum load_verdict no_reply(struct load_run *r, struct load_slot *s, const uint8_t *buf,
				  size_t len)
{
	(void)r, (void)s, (void)buf, (void)len;
	return LOAD_IGNORE;
}

const struct load_mode load_mode_junk = {
	.name = "junk", .fire_and_forget = 1,
	.init = junk_init, .next = junk_next, .reply = no_reply,
};

const struct load_mode load_mode_flood = {
	.name = "flood", .fire_and_forget = 1,
	.init = junk_init, .next = flood_next, .reply = no_reply,
};
