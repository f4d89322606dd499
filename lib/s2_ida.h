/* SPDX-License-Identifier: MIT */
/*
 * Delivering the analysis identifier ID_a to the MEC, confidentially, with
 * each M3 (docs/PROTOCOL.md §3.3). The MEC must group a device's data by
 * ID_a and learn nothing else that identifies the device or patient.
 *
 *   K_a = KMAC128(DK_m, R2 || DID_i, 128, "iomt/s2/ida")
 *   box = AES-128-CCM(K_a, nonce = R2[0..13), aad = M3, ID_a), 8-byte tag
 *
 * DK_m is the MEC key of this run, known only to the MEC and the TTP; R2 is
 * fresh per run, so K_a and the nonce never repeat. 24 bytes = 192 bits,
 * counted apart from the paper's 2432.
 */
#ifndef IOMT_S2_IDA_H
#define IOMT_S2_IDA_H
#include <stdint.h>
#include "seed002.h"
#include "wire.h"

/* TTP side. */
int iomt_s2_ida_seal(const uint8_t dk_m[IOMT_S2_KEY_LEN], const uint8_t r2[IOMT_S2_RAND_LEN],
		     const uint8_t did_i[IOMT_S2_ID_LEN], const uint8_t m3[IOMT_S2_M3_LEN],
		     const uint8_t id_a[IOMT_S2_IDA_LEN], uint8_t box[IOMT_S2_IDA_BOX_LEN]);

/* MEC side; IOMT_EAUTH (and id_a zeroed) if the box does not verify. */
int iomt_s2_ida_open(const uint8_t dk_m[IOMT_S2_KEY_LEN], const uint8_t r2[IOMT_S2_RAND_LEN],
		     const uint8_t did_i[IOMT_S2_ID_LEN], const uint8_t m3[IOMT_S2_M3_LEN],
		     const uint8_t box[IOMT_S2_IDA_BOX_LEN], uint8_t id_a[IOMT_S2_IDA_LEN]);

#endif
