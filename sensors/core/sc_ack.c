/* SPDX-License-Identifier: MIT */
/* The answer to a REC_PUT batch (see sc_ack.h). */
#include "ct.h"
#include "iomt_err.h"
#include "recbatch.h"
#include "sc.h"
#include "sc_ack.h"

int sc_batch_ack(const uint8_t *frame, size_t len, const uint8_t batch_id[8], uint8_t *status,
		 uint16_t *stored, uint16_t *dups)
{
	const uint8_t *p;
	uint8_t type, id[8];
	size_t n;

	if (!frame || !batch_id || !status || !stored || !dups)
		return IOMT_EINVAL;
	if (iomt_wire_parse(frame, len, &type, &p, &n) || type != IOMT_MSG_REC_ACK ||
	    iomt_rec_ack_decode(id, status, stored, dups, p, n) ||
	    !iomt_ct_eq(id, batch_id, sizeof(id)))
		return SC_IGNORED;
	if (*status == IOMT_REC_OK)
		return SC_DONE;
	return *status == IOMT_REC_MALFORMED ? SC_EREFUSED : SC_OK;
}
