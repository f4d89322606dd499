/* SPDX-License-Identifier: MIT */
#include <string.h>
#include "s2_ida.h"
#include "aes.h"
#include "ccm.h"
#include "ct.h"
#include "iomt_err.h"
#include "sp800_185.h"

enum { NONCE_LEN = 13, TAG_LEN = 8 };

static const char ida_custom[] = "iomt/s2/ida";

static int ida_key(const uint8_t *dk_m, const uint8_t *r2, const uint8_t *did_i,
		   struct iomt_aes128 *aes)
{
	uint8_t msg[IOMT_S2_RAND_LEN + IOMT_S2_ID_LEN], k[16];
	int err;

	memcpy(msg, r2, IOMT_S2_RAND_LEN);
	memcpy(msg + IOMT_S2_RAND_LEN, did_i, IOMT_S2_ID_LEN);
	err = iomt_kmac128(dk_m, IOMT_S2_KEY_LEN, ida_custom, sizeof(ida_custom) - 1,
			   msg, sizeof(msg), k, sizeof(k));
	if (!err)
		err = iomt_aes128_init(aes, k);
	iomt_wipe(k, sizeof(k));
	return err;
}

int iomt_s2_ida_seal(const uint8_t dk_m[IOMT_S2_KEY_LEN], const uint8_t r2[IOMT_S2_RAND_LEN],
		     const uint8_t did_i[IOMT_S2_ID_LEN], const uint8_t m3[IOMT_S2_M3_LEN],
		     const uint8_t id_a[IOMT_S2_IDA_LEN], uint8_t box[IOMT_S2_IDA_BOX_LEN])
{
	struct iomt_aes128 aes;
	int err = ida_key(dk_m, r2, did_i, &aes);

	if (!err)
		err = iomt_ccm_encrypt(&aes, r2, NONCE_LEN, m3, IOMT_S2_M3_LEN, id_a,
				       IOMT_S2_IDA_LEN, box, box + IOMT_S2_IDA_LEN, TAG_LEN);
	iomt_aes128_wipe(&aes);
	return err;
}

int iomt_s2_ida_open(const uint8_t dk_m[IOMT_S2_KEY_LEN], const uint8_t r2[IOMT_S2_RAND_LEN],
		     const uint8_t did_i[IOMT_S2_ID_LEN], const uint8_t m3[IOMT_S2_M3_LEN],
		     const uint8_t box[IOMT_S2_IDA_BOX_LEN], uint8_t id_a[IOMT_S2_IDA_LEN])
{
	struct iomt_aes128 aes;
	int err = ida_key(dk_m, r2, did_i, &aes);

	if (!err)
		err = iomt_ccm_decrypt(&aes, r2, NONCE_LEN, m3, IOMT_S2_M3_LEN, box,
				       IOMT_S2_IDA_LEN, box + IOMT_S2_IDA_LEN, TAG_LEN, id_a);
	if (err)
		memset(id_a, 0, IOMT_S2_IDA_LEN);
	iomt_aes128_wipe(&aes);
	return err;
}
