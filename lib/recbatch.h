/* SPDX-License-Identifier: MIT */
/*
 * Batches of sealed data records (lib/record.h) on their way from a sensor,
 * through a gateway that only relays them (it holds no data key), to the
 * cloud store, and the store's acknowledgement.
 *
 * REC_PUT = batch id (8) || meta_Kdata (78) || count (2, 1..IOMT_RECBATCH_MAX)
 *           || count x (length (2) || record)
 * REC_ACK = batch id (8) || status (1) || stored (2) || duplicates (2)   13
 *
 * Every record of a batch is under the key tree meta_Kdata names (its
 * header's key id equals meta's). The batch id is the sender's: the sensor
 * picks it, the gateway replaces it with its own on the upstream link and
 * puts the sensor's back in the ACK. The store acknowledges only after the
 * batch is committed; a record it already holds (same key id, epoch, leaf,
 * seq) is counted as a duplicate, so a retried batch is harmless.
 * Byte layouts: docs/PROTOCOL.md §7.
 */
#ifndef IOMT_RECBATCH_H
#define IOMT_RECBATCH_H

#include <stddef.h>
#include <stdint.h>
#include "keytree.h"

enum {
	IOMT_RECBATCH_HDR_LEN = 8 + IOMT_KEYTREE_META_LEN + 2,   /* 88 */
	IOMT_RECBATCH_MAX = 256,                                /* records per batch */
	IOMT_REC_ACK_LEN = 13,
};

enum iomt_rec_status {
	IOMT_REC_OK = 0,          /* committed (stored + duplicates = count) */
	IOMT_REC_MALFORMED = 1,   /* the batch does not parse: nothing stored */
	IOMT_REC_BUSY = 2,        /* retry later: nothing stored */
	IOMT_REC_INTERNAL = 3,    /* could not commit: nothing stored, retry */
	IOMT_REC_UNREACHABLE = 4, /* gateway: the store is down and the spool full */
};

struct iomt_recbatch {
	uint8_t batch_id[8];
	struct iomt_keytree_meta meta;
	uint16_t count;
	const uint8_t *rec[IOMT_RECBATCH_MAX];  /* point into the decoded buffer */
	uint16_t len[IOMT_RECBATCH_MAX];
};

/* Starts a batch in out (cap bytes): IOMT_ESIZE if cap < header. */
int iomt_recbatch_begin(uint8_t *out, size_t cap, const uint8_t batch_id[8],
			const struct iomt_keytree_meta *m, size_t *used);
/* Appends one record; IOMT_ESIZE if it does not fit cap (or the batch would
 * exceed IOMT_RECBATCH_MAX records or a 65535-byte payload), IOMT_EINVAL if
 * the record's key id is not the batch's. */
int iomt_recbatch_add(uint8_t *out, size_t cap, size_t *used, const uint8_t *rec, size_t len);
/* Decodes a whole REC_PUT payload, checking every length exactly and every
 * record header (lib/record.h iomt_record_parse, key id = meta's). */
int iomt_recbatch_decode(struct iomt_recbatch *b, const uint8_t *in, size_t len);

void iomt_rec_ack_encode(const uint8_t batch_id[8], uint8_t status, uint16_t stored,
			 uint16_t duplicates, uint8_t out[IOMT_REC_ACK_LEN]);
int iomt_rec_ack_decode(uint8_t batch_id[8], uint8_t *status, uint16_t *stored,
			uint16_t *duplicates, const uint8_t *in, size_t len);

#endif
