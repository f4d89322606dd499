/* SPDX-License-Identifier: MIT */
#include <string.h>
#include "s2_ida.h"
#include "aes.h"
#include "ccm.h"
#include "ct.h"
#include "iomt_err.h"
#include "shake.h"

enum {
	NONCE_LEN = 13,
	TAG_LEN = 8,
	LABEL_LEN = 11,  /* "iomt/s2/ida" */
	KIN_LEN = LABEL_LEN + IOMT_S2_KEY_LEN + IOMT_S2_RAND_LEN + IOMT_S2_ID_LEN,
	CHUNK = 16,      /* seals per lib batch call: 2 x 8 lanes, ~1.5 KiB of stack */
};

static const char ida_label[LABEL_LEN + 1] = "iomt/s2/ida";

/* The K_a hash input: label || DK_m || R2 || DID_i (59 bytes). */
static void ida_input(uint8_t in[KIN_LEN], const uint8_t *dk_m, const uint8_t *r2,
		      const uint8_t *did_i)
{
	memcpy(in, ida_label, LABEL_LEN);
	memcpy(in + LABEL_LEN, dk_m, IOMT_S2_KEY_LEN);
	memcpy(in + LABEL_LEN + IOMT_S2_KEY_LEN, r2, IOMT_S2_RAND_LEN);
	memcpy(in + LABEL_LEN + IOMT_S2_KEY_LEN + IOMT_S2_RAND_LEN, did_i, IOMT_S2_ID_LEN);
}

static int seal_with(const uint8_t k[16], const uint8_t *r2, const uint8_t *m3,
		     const uint8_t *id_a, uint8_t *box)
{
	struct iomt_aes128 aes;
	int err = iomt_aes128_init(&aes, k);

	if (!err)
		err = iomt_ccm_encrypt(&aes, r2, NONCE_LEN, m3, IOMT_S2_M3_LEN, id_a,
				       IOMT_S2_IDA_LEN, box, box + IOMT_S2_IDA_LEN, TAG_LEN);
	iomt_aes128_wipe(&aes);
	return err;
}

int iomt_s2_ida_seal(const uint8_t dk_m[IOMT_S2_KEY_LEN], const uint8_t r2[IOMT_S2_RAND_LEN],
		     const uint8_t did_i[IOMT_S2_ID_LEN], const uint8_t m3[IOMT_S2_M3_LEN],
		     const uint8_t id_a[IOMT_S2_IDA_LEN], uint8_t box[IOMT_S2_IDA_BOX_LEN])
{
	int status, err;

	err = iomt_s2_ida_seal_batch(1, &dk_m, &r2, &did_i, &m3, &id_a, &box, &status);
	return err ? err : status;
}

/* The box keys of n <= CHUNK items in one lib batch: 0, or lib's error. */
static int chunk_keys(size_t n, const uint8_t *const dk_m[], const uint8_t *const r2[],
		      const uint8_t *const did_i[], uint8_t k[CHUNK][16])
{
	uint8_t in[CHUNK][KIN_LEN];
	/* Set whole: gcc -O1 cannot see that n <= CHUNK entries are all it reads. */
	const uint8_t *inp[CHUNK] = { NULL };
	uint8_t *kp[CHUNK] = { NULL };
	size_t len[CHUNK] = { 0 };
	int err;

	for (size_t i = 0; i < n; i++) {
		ida_input(in[i], dk_m[i], r2[i], did_i[i]);
		inp[i] = in[i];
		kp[i] = k[i];
		len[i] = KIN_LEN;
	}
	err = iomt_shake128_batch(inp, len, kp, 16, n);
	iomt_wipe(in, sizeof(in));
	return err;
}

static void seal_chunk(size_t n, const uint8_t *const dk_m[], const uint8_t *const r2[],
		       const uint8_t *const did_i[], const uint8_t *const m3[],
		       const uint8_t *const id_a[], uint8_t *const box[], int status[])
{
	uint8_t k[CHUNK][16];

	if (chunk_keys(n, dk_m, r2, did_i, k)) {
		for (size_t i = 0; i < n; i++)
			status[i] = IOMT_EINVAL;
	} else {
		for (size_t i = 0; i < n; i++)
			status[i] = seal_with(k[i], r2[i], m3[i], id_a[i], box[i]);
	}
	iomt_wipe(k, sizeof(k));
}

int iomt_s2_ida_seal_batch(size_t n, const uint8_t *const dk_m[], const uint8_t *const r2[],
			   const uint8_t *const did_i[], const uint8_t *const m3[],
			   const uint8_t *const id_a[], uint8_t *const box[], int status[])
{
	if (n && (!dk_m || !r2 || !did_i || !m3 || !id_a || !box || !status))
		return IOMT_EINVAL;
	for (size_t i = 0; i < n; i += CHUNK)
		seal_chunk(n - i < CHUNK ? n - i : CHUNK, dk_m + i, r2 + i, did_i + i, m3 + i,
			   id_a + i, box + i, status + i);
	return IOMT_OK;
}

static int open_with(const uint8_t k[16], const uint8_t *r2, const uint8_t *m3,
		     const uint8_t *box, uint8_t *id_a)
{
	struct iomt_aes128 aes;
	int err = iomt_aes128_init(&aes, k);

	if (!err)
		err = iomt_ccm_decrypt(&aes, r2, NONCE_LEN, m3, IOMT_S2_M3_LEN, box,
				       IOMT_S2_IDA_LEN, box + IOMT_S2_IDA_LEN, TAG_LEN, id_a);
	if (err)
		memset(id_a, 0, IOMT_S2_IDA_LEN);
	iomt_aes128_wipe(&aes);
	return err;
}

static void open_chunk(size_t n, const uint8_t *const dk_m[], const uint8_t *const r2[],
		       const uint8_t *const did_i[], const uint8_t *const m3[],
		       const uint8_t *const box[], uint8_t *const id_a[], int status[])
{
	uint8_t k[CHUNK][16];

	if (chunk_keys(n, dk_m, r2, did_i, k)) {
		for (size_t i = 0; i < n; i++) {
			memset(id_a[i], 0, IOMT_S2_IDA_LEN);
			status[i] = IOMT_EINVAL;
		}
	} else {
		for (size_t i = 0; i < n; i++)
			status[i] = open_with(k[i], r2[i], m3[i], box[i], id_a[i]);
	}
	iomt_wipe(k, sizeof(k));
}

int iomt_s2_ida_open_batch(size_t n, const uint8_t *const dk_m[], const uint8_t *const r2[],
			   const uint8_t *const did_i[], const uint8_t *const m3[],
			   const uint8_t *const box[], uint8_t *const id_a[], int status[])
{
	if (n && (!dk_m || !r2 || !did_i || !m3 || !box || !id_a || !status))
		return IOMT_EINVAL;
	for (size_t i = 0; i < n; i += CHUNK)
		open_chunk(n - i < CHUNK ? n - i : CHUNK, dk_m + i, r2 + i, did_i + i, m3 + i,
			   box + i, id_a + i, status + i);
	return IOMT_OK;
}

int iomt_s2_ida_open(const uint8_t dk_m[IOMT_S2_KEY_LEN], const uint8_t r2[IOMT_S2_RAND_LEN],
		     const uint8_t did_i[IOMT_S2_ID_LEN], const uint8_t m3[IOMT_S2_M3_LEN],
		     const uint8_t box[IOMT_S2_IDA_BOX_LEN], uint8_t id_a[IOMT_S2_IDA_LEN])
{
	int status, err;

	err = iomt_s2_ida_open_batch(1, &dk_m, &r2, &did_i, &m3, &box, &id_a, &status);
	return err ? err : status;
}
