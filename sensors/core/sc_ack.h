/* SPDX-License-Identifier: MIT */
/*
 * The answer to a REC_PUT batch (sc_batch_open / sc_batch_close): which
 * REC_ACK settles the batch in flight, and how. A batch is forgotten only
 * after OK, or MALFORMED (no resend can cure it); BUSY, INTERNAL and
 * UNREACHABLE (and silence) call for the same batch, unchanged, later.
 */
#ifndef SENSOR_CORE_SC_ACK_H
#define SENSOR_CORE_SC_ACK_H
#include <stddef.h>
#include <stdint.h>

/* One received frame: SC_DONE (REC_ACK OK for batch_id: *stored and *dups
 * set), SC_EREFUSED (MALFORMED: count the batch's records as errors),
 * SC_OK (BUSY, INTERNAL or UNREACHABLE: resend later), SC_IGNORED (not a
 * REC_ACK, or one for another batch: a late answer). *status: the code. */
int sc_batch_ack(const uint8_t *frame, size_t len, const uint8_t batch_id[8], uint8_t *status,
		 uint16_t *stored, uint16_t *dups);

#endif
