/* SPDX-License-Identifier: MIT */
/* shake128_batch_ns_per_hash and shake128_scalar_ns_per_hash against
 * OpenSSL EVP called once per hash. Workload: SHAKE128 of a 48-byte message
 * to 80 bytes (a device-side seed-002 H1: DID || DK || R1 -> c1..c4). */
#include <openssl/evp.h>
#include "bench.h"
#include "shake.h"

enum { MSG = 48, OUT = 80, BATCH = 64 };

static uint8_t msgs[BATCH][MSG], outs[BATCH][OUT];

/* Baseline as an application typically writes it: a context reused across
 * calls (no allocation per hash), one Init/Update/FinalXOF per hash. */
static void run_openssl(void *arg, size_t iters)
{
	EVP_MD_CTX *c = arg;

	for (size_t i = 0; i < iters; i++) {
		uint8_t *m = msgs[i % BATCH];

		if (!EVP_DigestInit_ex(c, EVP_shake128(), NULL) || !EVP_DigestUpdate(c, m, MSG) ||
		    !EVP_DigestFinalXOF(c, outs[i % BATCH], OUT)) {
			fprintf(stderr, "bench: OpenSSL SHAKE128 failed\n");
			exit(1);
		}
	}
	bench_use(outs);
}

static void run_scalar(void *arg, size_t iters)
{
	(void)arg;
	for (size_t i = 0; i < iters; i++)
		iomt_shake128(msgs[i % BATCH], MSG, outs[i % BATCH], OUT);
	bench_use(outs);
}

static const uint8_t *in_p[BATCH];
static uint8_t *out_p[BATCH];
static size_t in_len[BATCH];

static void run_batch(void *arg, size_t iters)
{
	(void)arg;
	for (size_t i = 0; i < iters; i++)
		if (iomt_shake128_batch(in_p, in_len, out_p, OUT, BATCH)) {
			fprintf(stderr, "bench: batch failed\n");
			exit(1);
		}
	bench_use(outs);
}

int main(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct bench_case c[3] = {
		{ "openssl_evp", run_openssl, ctx, 1, 0 },
		{ "shake128_scalar", run_scalar, NULL, 1, 0 },
		{ "shake128_batch", run_batch, NULL, BATCH, 0 },
	};

	if (!ctx)
		return 1;
	for (int i = 0; i < BATCH; i++) {
		for (int j = 0; j < MSG; j++)
			msgs[i][j] = (uint8_t)(i * 31 + j);
		in_p[i] = msgs[i];
		out_p[i] = outs[i];
		in_len[i] = MSG;
	}
	fprintf(stderr, "bench: SHAKE128 48 -> 80 bytes, Keccak batch width %u\n",
		iomt_keccak_batch_width());
	bench_compare(c, 3, 21, 20);
	bench_row_ns("shake128_batch_ns_per_hash", c[2].ns_per_op, "openssl_evp_ns_per_hash",
		     c[0].ns_per_op);
	bench_row_ns("shake128_scalar_ns_per_hash", c[1].ns_per_op, "openssl_evp_ns_per_hash",
		     c[0].ns_per_op);
	EVP_MD_CTX_free(ctx);
	return 0;
}
