/* SPDX-License-Identifier: MIT */
/*
 * Delivering the analysis identifier ID_a to the MEC, confidentially, with
 * each M3 (docs/PROTOCOL.md §3.3). The MEC must group a device's data by
 * ID_a and learn nothing else that identifies the device or patient.
 *
 *   K_a = SHAKE128("iomt/s2/ida" || DK_m || R2 || DID_i, 128)
 *   box = AES-128-CCM(K_a, nonce = R2[0..13), aad = M3, ID_a), 8-byte tag
 *
 * DK_m is the MEC key of this run, known only to the MEC and the TTP; R2 is
 * fresh per run, so K_a and the nonce never repeat. Every field of the hash
 * input has a fixed length and position (a keyed sponge, like the scheme's
 * own H1/H2), the 59-byte input never has the length of an H1/H2 input, and
 * it is one Keccak permutation, batched on the TTP. 24 bytes = 192 bits,
 * counted apart from the paper's 2432.
 */
#ifndef IOMT_S2_IDA_H
#define IOMT_S2_IDA_H
#include <stddef.h>
#include <stdint.h>
#include "seed002.h"
#include "wire.h"

/* TTP side. */
int iomt_s2_ida_seal(const uint8_t dk_m[IOMT_S2_KEY_LEN], const uint8_t r2[IOMT_S2_RAND_LEN],
		     const uint8_t did_i[IOMT_S2_ID_LEN], const uint8_t m3[IOMT_S2_M3_LEN],
		     const uint8_t id_a[IOMT_S2_IDA_LEN], uint8_t box[IOMT_S2_IDA_BOX_LEN]);

/* n seals at once, the K_a derivations sharing Keccak lanes; status[i] is
 * the result of item i. IOMT_EINVAL for NULL arrays. */
int iomt_s2_ida_seal_batch(size_t n, const uint8_t *const dk_m[], const uint8_t *const r2[],
			   const uint8_t *const did_i[], const uint8_t *const m3[],
			   const uint8_t *const id_a[], uint8_t *const box[], int status[]);

/* MEC side; IOMT_EAUTH (and id_a zeroed) if the box does not verify. */
int iomt_s2_ida_open(const uint8_t dk_m[IOMT_S2_KEY_LEN], const uint8_t r2[IOMT_S2_RAND_LEN],
		     const uint8_t did_i[IOMT_S2_ID_LEN], const uint8_t m3[IOMT_S2_M3_LEN],
		     const uint8_t box[IOMT_S2_IDA_BOX_LEN], uint8_t id_a[IOMT_S2_IDA_LEN]);

/* n opens at once, the K_a derivations sharing Keccak lanes (the MEC's M3
 * batch); status[i] is the result of item i, id_a[i] zeroed unless it is
 * IOMT_OK. IOMT_EINVAL for NULL arrays. */
int iomt_s2_ida_open_batch(size_t n, const uint8_t *const dk_m[], const uint8_t *const r2[],
			   const uint8_t *const did_i[], const uint8_t *const m3[],
			   const uint8_t *const box[], uint8_t *const id_a[], int status[]);

#endif
