/* SPDX-License-Identifier: MIT */
/*
 * `iomt-sensor data`: a sensor's data path (first paper, §IV). Each
 * measurement is sealed under the leaf key of the data-key tree
 * (sensors/core: write-ahead state, so no nonce is ever reused), records go
 * in REC_PUT batches (lib/recbatch.h, a random batch id) over UDP to the
 * gateway, which relays them to the store. A batch is resent, with the same
 * id and bytes, after no answer, BUSY, INTERNAL or UNREACHABLE (waits
 * doubling from --timeout up to DATA_WAIT_MAX_MS), and forgotten only
 * after an ACK OK (or MALFORMED: resending cannot help, counted as errors).
 * The summary on stdout: records sealed, sent, acked, duplicates, errors;
 * exit 0 only if every record was acknowledged.
 */
#ifndef IOMT_SENSOR_DATA_H
#define IOMT_SENSOR_DATA_H

enum {
	DATA_WAIT_MAX_MS = 4000,
};

int sensor_data_main(int argc, char *const argv[]);

#endif
