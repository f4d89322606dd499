/* SPDX-License-Identifier: MIT */
/* A record's header, read without a key: which key would open it. Kept
 * apart from sealing and opening (record.c), so that a program that only
 * checks and relays records links no AES-CCM record code. */
#include <string.h>
#include "record.h"
#include "bytes.h"
#include "iomt_err.h"

int iomt_record_parse(const uint8_t *rec, size_t len, struct iomt_record_hdr *h)
{
	if (!h)
		return IOMT_EINVAL;
	memset(h, 0, sizeof(*h));
	if (!rec)
		return IOMT_EINVAL;
	/* Shorter than header + tag, or a body CCM's 2 length bytes cannot count. */
	if (len < IOMT_RECORD_OVERHEAD || len - IOMT_RECORD_OVERHEAD > IOMT_RECORD_MAX_DATA)
		return IOMT_ESIZE;
	/* Another version, or a leaf no tree has (the nonce holds 40 bits). */
	if (rec[0] != IOMT_RECORD_VERSION || (rec[21] | rec[22] | rec[23]))
		return IOMT_EMALFORMED;
	memcpy(h->key_id, rec + 1, sizeof(h->key_id));
	h->epoch = iomt_load_be32(rec + 17);
	h->leaf = iomt_load_be64(rec + 21);
	h->seq = iomt_load_be32(rec + 29);
	return IOMT_OK;
}
