/* SPDX-License-Identifier: MIT */
/*
 * Sensor data records: AES-128-CCM under the leaf key K_enc of the data-key
 * tree (keytree.h), the header authenticated as AAD.
 *
 *   record = header (33) || ciphertext (len) || tag (16)
 *   header = version 1 (1) || key id (16) || epoch (4) || leaf (8) || seq (4)
 *   nonce  = epoch (4) || leaf, low 40 bits (5) || seq (4)
 *
 * (key id, epoch, leaf, seq) names the record; the sensor never seals two
 * records with one (leaf, seq) and the caller persists seq across reboots.
 * Layout and why the nonce never repeats: docs/PROTOCOL.md section 6.5.
 */
#ifndef IOMT_RECORD_H
#define IOMT_RECORD_H
#include <stddef.h>
#include <stdint.h>

enum {
	IOMT_RECORD_VERSION = 1,
	IOMT_RECORD_HDR_LEN = 33,
	IOMT_RECORD_TAG_LEN = 16,
	IOMT_RECORD_NONCE_LEN = 13,
	IOMT_RECORD_OVERHEAD = IOMT_RECORD_HDR_LEN + IOMT_RECORD_TAG_LEN,
	IOMT_RECORD_MAX_DATA = 65535,  /* a 13-byte CCM nonce leaves 2 length bytes */
};

struct iomt_record_hdr {
	uint8_t key_id[16];
	uint32_t epoch;
	uint64_t leaf;      /* < IOMT_KEYTREE_MAX_LEAVES (2^40) */
	uint32_t seq;       /* per-leaf record counter */
};

/* The nonce of a header; IOMT_EINVAL for a leaf of 2^40 or more. */
int iomt_record_nonce(const struct iomt_record_hdr *h, uint8_t nonce[IOMT_RECORD_NONCE_LEN]);

/* Seals data[0..len) into out: len + IOMT_RECORD_OVERHEAD bytes, in *out_len.
 * data may be out + IOMT_RECORD_HDR_LEN (in place); no other overlap.
 * IOMT_ESIZE for len above IOMT_RECORD_MAX_DATA or a short cap, IOMT_EINVAL
 * for NULLs or a leaf of 2^40 or more. */
int iomt_record_seal(const uint8_t k_enc[16], const struct iomt_record_hdr *h,
		     const uint8_t *data, size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Reads the header, unauthenticated: which key opens this record.
 * IOMT_ESIZE if len cannot be a record, IOMT_EMALFORMED for another version
 * or a leaf of 2^40 or more. */
int iomt_record_parse(const uint8_t *rec, size_t len, struct iomt_record_hdr *h);

/* Checks and decrypts a record into data (rec + IOMT_RECORD_HDR_LEN allowed:
 * in place); *data_len = len - IOMT_RECORD_OVERHEAD. Errors of
 * iomt_record_parse, IOMT_ESIZE for a short cap, IOMT_EAUTH if the tag does
 * not verify under k_enc (wrong key, another tree, or any byte changed): then
 * data[0..len - IOMT_RECORD_OVERHEAD) is zeroed. *h is zeroed on every error. */
int iomt_record_open(const uint8_t k_enc[16], const uint8_t *rec, size_t len,
		     struct iomt_record_hdr *h, uint8_t *data, size_t cap, size_t *data_len);

#endif
