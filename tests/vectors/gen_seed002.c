/* SPDX-License-Identifier: MIT */
/*
 * Writes tests/vectors/seed002_agreement.json: seed 002 key agreements
 * computed with lib/seed002 from fixed inputs. Vector N's seven inputs are
 * consecutive 16-byte pieces of SHAKE128("seed002 vector N", 896 bits), in
 * the order did_i dk_i r1 did_m dk_m r2 r3. Not built by default:
 *
 *   cc -O2 -Ilib tests/vectors/gen_seed002.c build/lib/libiomt.a -o /tmp/gen_seed002
 *   /tmp/gen_seed002 > tests/vectors/seed002_agreement.json
 *
 * tests/lib/test_seed002.c checks the file through every API and against
 * OpenSSL's SHAKE128, so the file is not merely self-consistent.
 */
#include <stdio.h>
#include <string.h>
#include "seed002.h"
#include "shake.h"
#include "iomt_err.h"

enum { VECTORS = 8 };

struct field {
	const char *name;
	const uint8_t *p;
	size_t len;
};

static void print_vector(const struct field *f, size_t n, int last)
{
	printf("  {\n");
	for (size_t i = 0; i < n; i++) {
		printf("    \"%s\": \"", f[i].name);
		for (size_t j = 0; j < f[i].len; j++)
			printf("%02x", f[i].p[j]);
		printf("\"%s\n", i + 1 < n ? "," : "");
	}
	printf("  }%s\n", last ? "" : ",");
}

/* One agreement through all three parties; 0 when every check held. */
static int vector(unsigned idx, int last)
{
	uint8_t in[7 * 16], m1[IOMT_S2_M1_LEN], m2[IOMT_S2_M2_LEN], m4[IOMT_S2_M4_LEN];
	uint8_t sk_m[16], sk_i[16], nd_m[16], nk_m[16], nd_i[16], nk_i[16];
	const uint8_t *did_i = in, *dk_i = in + 16, *r1 = in + 32, *did_m = in + 48,
		      *dk_m = in + 64, *r2 = in + 80, *r3 = in + 96;
	struct iomt_s2_device dev;
	struct iomt_s2_mec_pending pend;
	struct iomt_s2_ttp_out t;
	char label[64];
	unsigned bad;
	int n;

	n = snprintf(label, sizeof(label), "seed002 vector %u", idx);
	iomt_shake128(label, (size_t)n, in, sizeof(in));
	if (iomt_s2_device_init(&dev, did_i, dk_i) ||
	    iomt_s2_device_start(&dev, r1, m1) ||
	    iomt_s2_mec_m2(did_m, dk_m, r2, m1, sizeof(m1), &pend, m2) ||
	    iomt_s2_ttp_process(dk_i, dk_m, m2, sizeof(m2), r3, &t, &bad) ||
	    iomt_s2_mec_finish(&pend, t.m3, sizeof(t.m3), sk_m, m4, nd_m, nk_m) ||
	    iomt_s2_device_finish(&dev, m4, sizeof(m4), sk_i) ||
	    iomt_s2_device_identity(&dev, nd_i, nk_i))
		return 1;
	if (memcmp(sk_i, t.sk, 16) || memcmp(sk_m, t.sk, 16) ||
	    memcmp(nd_i, t.next_did_i, 16) || memcmp(nk_i, t.next_dk_i, 16) ||
	    memcmp(nd_m, t.next_did_m, 16) || memcmp(nk_m, t.next_dk_m, 16))
		return 1;

	const struct field f[] = {
		{ "did_i", did_i, 16 }, { "dk_i", dk_i, 16 }, { "r1", r1, 16 },
		{ "did_m", did_m, 16 }, { "dk_m", dk_m, 16 }, { "r2", r2, 16 },
		{ "r3", r3, 16 },
		{ "c1_i", m1 + 32, 32 }, { "c1_m", m2 + 96, 32 }, { "sk", t.sk, 16 },
		{ "d1", t.m3, 16 }, { "d2", t.m3 + 16, 16 }, { "d3", t.m3 + 32, 32 },
		{ "m1", m1, sizeof(m1) }, { "m2", m2, sizeof(m2) },
		{ "m3", t.m3, sizeof(t.m3) }, { "m4", m4, sizeof(m4) },
		{ "next_did_i", nd_i, 16 }, { "next_dk_i", nk_i, 16 },
		{ "next_did_m", nd_m, 16 }, { "next_dk_m", nk_m, 16 },
	};
	print_vector(f, sizeof(f) / sizeof(f[0]), last);
	return 0;
}

int main(void)
{
	printf("[\n");
	for (unsigned i = 0; i < VECTORS; i++)
		if (vector(i, i + 1 == VECTORS)) {
			fprintf(stderr, "gen_seed002: vector %u failed its own checks\n", i);
			return 1;
		}
	printf("]\n");
	return 0;
}
