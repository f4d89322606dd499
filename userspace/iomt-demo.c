/* SPDX-License-Identifier: MIT */
/*
 * iomt-demo: one seed-002 key agreement (5G MEC, phase 3) computed in this
 * process with lib/seed002 and fresh random values, printed step by step for
 * an operator: what each party computes and sends, the message sizes against
 * the paper's Table 2, the three session keys, the rotated identities.
 * Exit 0 when every check held; otherwise a message and exit 1.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include "seed002.h"
#include "ct.h"
#include "iomt_err.h"

static int fail(const char *what, int err)
{
	fprintf(stderr, "iomt-demo: %s: %s\n", what, iomt_strerror(err));
	return 1;
}

static int random_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("iomt-demo: getrandom");
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void hex(const char *label, const uint8_t *p, size_t n)
{
	printf("    %-7s", label);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

/* A message in 32-byte lines, with its size in bytes and bits. */
static void message(const char *name, const char *layout, const char *route,
		    const uint8_t *p, size_t n)
{
	printf("    %s = %s   %s, %zu bytes = %zu bits\n", name, layout, route, n, 8 * n);
	for (size_t i = 0; i < n; i += 32) {
		printf("      ");
		for (size_t j = i; j < n && j < i + 32; j++)
			printf("%02x", p[j]);
		printf("\n");
	}
}

static void step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void step(const char *fmt, ...)
{
	va_list ap;

	printf("\n");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* The TTP's view of one party: current and previous (DID, DK). */
struct ttp_entry {
	uint8_t did[16], dk[16], prev_did[16], prev_dk[16];
};

static const uint8_t *ttp_lookup(const struct ttp_entry *e, size_t n, const uint8_t *did)
{
	for (size_t i = 0; i < n; i++) {
		if (!memcmp(e[i].did, did, 16))
			return e[i].dk;
		if (!memcmp(e[i].prev_did, did, 16))
			return e[i].prev_dk;
	}
	return NULL;
}

static void ttp_rotate(struct ttp_entry *e, const uint8_t *did, const uint8_t *dk)
{
	memcpy(e->prev_did, e->did, 16);
	memcpy(e->prev_dk, e->dk, 16);
	memcpy(e->did, did, 16);
	memcpy(e->dk, dk, 16);
}

struct demo {
	struct iomt_s2_device dev;
	struct iomt_s2_mec_pending pend;
	struct iomt_s2_ttp_out t;
	struct ttp_entry table[2];	/* [0] the device, [1] the MEC */
	uint8_t did_i[16], dk_i[16], did_m[16], dk_m[16], r1[16], r2[16], r3[16];
	uint8_t m1[IOMT_S2_M1_LEN], m2[IOMT_S2_M2_LEN], m4[IOMT_S2_M4_LEN];
	uint8_t sk_i[16], sk_m[16], next_did_m[16], next_dk_m[16], did[16], dk[16];
	uint8_t look_i[16], look_m[16];
};

static int run(struct demo *d)
{
	const uint8_t *dk_i, *dk_m;
	uint8_t bad4[IOMT_S2_M4_LEN];
	unsigned bad;
	int err;

	if (random_bytes(d->did_i, 16) || random_bytes(d->dk_i, 16) ||
	    random_bytes(d->did_m, 16) || random_bytes(d->dk_m, 16) ||
	    random_bytes(d->r1, 16) || random_bytes(d->r2, 16) || random_bytes(d->r3, 16))
		return 1;

	printf("seed 002: symmetric-key 5G MEC key agreement (phase 3), in one process\n");
	printf("H1 = SHAKE128(., 640 bits) = c1(256) c2(128) c3(128) c4(128), H2 = SHAKE128(., 256 bits)\n");

	step("Registration (phase 2): the TTP gives each party a 128-bit identity and key");
	hex("DID_i", d->did_i, 16);
	hex("DK_i", d->dk_i, 16);
	hex("DID_m", d->did_m, 16);
	hex("DK_m", d->dk_m, 16);
	err = iomt_s2_device_init(&d->dev, d->did_i, d->dk_i);
	if (err)
		return fail("device registration", err);
	memcpy(d->table[0].did, d->did_i, 16);
	memcpy(d->table[0].dk, d->dk_i, 16);
	memcpy(d->table[1].did, d->did_m, 16);
	memcpy(d->table[1].dk, d->dk_m, 16);

	step("1. Device: (c1_i, c2_i, c3_i, c4_i) = H1(DID_i || DK_i || R1)");
	hex("R1", d->r1, 16);
	err = iomt_s2_device_start(&d->dev, d->r1, d->m1);
	if (err)
		return fail("device start", err);
	message("M1", "DID_i || R1 || c1_i", "device -> MEC", d->m1, sizeof(d->m1));

	step("2. MEC: (c1_m, c2_m, c3_m, c4_m) = H1(DID_m || DK_m || R2 || M1)");
	hex("R2", d->r2, 16);
	err = iomt_s2_mec_m2(d->did_m, d->dk_m, d->r2, d->m1, sizeof(d->m1), &d->pend, d->m2);
	if (err)
		return fail("MEC M2", err);
	message("M2", "M1 || DID_m || R2 || c1_m", "MEC -> TTP", d->m2, sizeof(d->m2));

	step("3. TTP: finds DK_i, DK_m by DID_i, DID_m; checks c1_i and c1_m; picks R3");
	err = iomt_s2_m2_dids(d->m2, sizeof(d->m2), d->look_i, d->look_m);
	if (err)
		return fail("TTP parsing M2", err);
	dk_i = ttp_lookup(d->table, 2, d->look_i);
	dk_m = ttp_lookup(d->table, 2, d->look_m);
	if (!dk_i || !dk_m)
		return fail("TTP look-up", IOMT_EAUTH);
	hex("R3", d->r3, 16);
	err = iomt_s2_ttp_process(dk_i, dk_m, d->m2, sizeof(d->m2), d->r3, &d->t, &bad);
	if (err)
		return fail(bad & IOMT_S2_BAD_DEVICE ? "TTP: device check value c1_i" :
			    "TTP: MEC check value c1_m", err);
	printf("    c1_i and c1_m verified; SK = c2_i^c3_i^c4_i ^ c2_m^c3_m^c4_m ^ R3\n");
	printf("    d1 = c2_i^c3_i^c4_i^R3, d2 = c2_m^c3_m^c4_m^R3, d3 = H2(SK || R1)\n");
	message("M3", "d1 || d2 || d3", "TTP -> MEC", d->t.m3, sizeof(d->t.m3));
	ttp_rotate(&d->table[0], d->t.next_did_i, d->t.next_dk_i);
	ttp_rotate(&d->table[1], d->t.next_did_m, d->t.next_dk_m);
	printf("    TTP tables: new (DID, DK) = (c2, c3) for both, previous kept\n");

	step("4. MEC: SK = c2_m^c3_m^c4_m ^ d1; checks d3 = H2(SK || R1)");
	err = iomt_s2_mec_finish(&d->pend, d->t.m3, sizeof(d->t.m3), d->sk_m, d->m4,
				 d->next_did_m, d->next_dk_m);
	if (err)
		return fail("MEC checking d3", err);
	printf("    d3 verified; (DID_m, DK_m) <- (c2_m, c3_m)\n");
	message("M4", "d2 || d3", "MEC -> device", d->m4, sizeof(d->m4));

	step("5. Device: SK = c2_i^c3_i^c4_i ^ d2; checks d3 = H2(SK || R1)");
	/* First a forged M4, to show it is refused and changes nothing. */
	memcpy(bad4, d->m4, sizeof(bad4));
	bad4[20] ^= 0x01;
	err = iomt_s2_device_finish(&d->dev, bad4, sizeof(bad4), d->sk_i);
	if (err != IOMT_EAUTH)
		return fail("device accepted a forged M4", err ? err : IOMT_EAUTH);
	printf("    (an M4 with one bit of d3 flipped: refused, %s; the run stays pending)\n",
	       iomt_strerror(err));
	err = iomt_s2_device_finish(&d->dev, d->m4, sizeof(d->m4), d->sk_i);
	if (err)
		return fail("device checking d3", err);
	printf("    d3 verified; (DID_i, DK_i) <- (c2_i, c3_i)\n");

	step("Result");
	hex("SK dev", d->sk_i, 16);
	hex("SK MEC", d->sk_m, 16);
	hex("SK TTP", d->t.sk, 16);
	if (!iomt_ct_eq(d->sk_i, d->sk_m, 16) || !iomt_ct_eq(d->sk_i, d->t.sk, 16))
		return fail("session keys differ", IOMT_EAUTH);
	printf("    the three session keys are equal\n");
	printf("    payload: M1 %d + M2 %d + M3 %d + M4 %d = %d bits (paper, Table 2: 2432)\n",
	       8 * IOMT_S2_M1_LEN, 8 * IOMT_S2_M2_LEN, 8 * IOMT_S2_M3_LEN, 8 * IOMT_S2_M4_LEN,
	       8 * (IOMT_S2_M1_LEN + IOMT_S2_M2_LEN + IOMT_S2_M3_LEN + IOMT_S2_M4_LEN));

	err = iomt_s2_device_identity(&d->dev, d->did, d->dk);
	if (err)
		return fail("device identity", err);
	if (memcmp(d->did, d->table[0].did, 16) || memcmp(d->dk, d->table[0].dk, 16) ||
	    memcmp(d->next_did_m, d->table[1].did, 16) ||
	    memcmp(d->next_dk_m, d->table[1].dk, 16) ||
	    !memcmp(d->did, d->did_i, 16) || !memcmp(d->next_did_m, d->did_m, 16))
		return fail("identities not rotated in step", IOMT_ESTATE);
	printf("    identities rotated, device and MEC in step with the TTP:\n");
	hex("DID_i", d->did_i, 16);
	hex("   ->", d->did, 16);
	hex("DID_m", d->did_m, 16);
	hex("   ->", d->next_did_m, 16);
	printf("\niomt-demo: key agreement succeeded\n");
	return 0;
}

int main(void)
{
	static struct demo d;
	int rc = run(&d);

	iomt_wipe(&d, sizeof(d));	/* keys, SKs, pending values */
	return rc;
}
