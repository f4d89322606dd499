/* SPDX-License-Identifier: MIT */
/*
 * Seed 002: symmetric-key key agreement for 5G MEC remote patient monitoring
 * (IoT device i, MEC node m, trusted third party TTP), phase 3, exactly as
 * published: SHAKE128 and XOR only, dynamic identities rotated every run.
 *
 *   H1(M) = SHAKE128(M, 640) = c1 (32 bytes) || c2 || c3 || c4 (16 each)
 *   H2(M) = SHAKE128(M, 256)
 *
 *   device:  H1(DID_i || DK_i || R1)                   M1 = DID_i || R1 || c1_i
 *   MEC:     H1(DID_m || DK_m || R2 || M1)             M2 = M1 || DID_m || R2 || c1_m
 *   TTP:     checks both c1, SK = s_i ^ s_m ^ R3       M3 = d1 || d2 || d3
 *            (s = c2 ^ c3 ^ c4, d1 = s_i ^ R3, d2 = s_m ^ R3, d3 = H2(SK || R1))
 *   MEC:     SK = s_m ^ d1, checks d3                  M4 = d2 || d3
 *   device:  SK = s_i ^ d2, checks d3
 *   each party's next (DID, DK) is its (c2, c3).
 *
 * Messages carry no header here (the daemons add the wire header). Every
 * parser takes an exact size. On any failure nothing is written: neither the
 * state object nor any output. Buffers passed to one call must not overlap.
 * Byte layouts, state machines and a test vector: docs/PROTOCOL.md §2.
 */
#ifndef IOMT_SEED002_H
#define IOMT_SEED002_H
#include <stddef.h>
#include <stdint.h>

enum {
	IOMT_S2_ID_LEN = 16,      /* DID: 128-bit dynamic identity */
	IOMT_S2_KEY_LEN = 16,     /* DK, SK: 128-bit keys */
	IOMT_S2_RAND_LEN = 16,    /* R1, R2, R3 */
	IOMT_S2_C1_LEN = 32,      /* c1: 256-bit check value */
	IOMT_S2_C_LEN = 16,       /* c2, c3, c4 */
	IOMT_S2_H1_LEN = 80,      /* 640 bits */
	IOMT_S2_D_LEN = 16,       /* d1, d2 */
	IOMT_S2_D3_LEN = 32,      /* 256 bits */
	IOMT_S2_M1_LEN = 64,      /* 512 bits */
	IOMT_S2_M2_LEN = 128,     /* 1024 bits */
	IOMT_S2_M3_LEN = 64,      /* 512 bits */
	IOMT_S2_M4_LEN = 48,      /* 384 bits */
	IOMT_S2_PAYLOAD_BITS = 2432, /* M1..M4: the paper's Table 2 */
	IOMT_S2_DEVICE_BLOB_LEN = 98, /* iomt_s2_device_export() */
};

/* ---- message codecs ---- */

struct iomt_s2_m1 {
	uint8_t did_i[IOMT_S2_ID_LEN];
	uint8_t r1[IOMT_S2_RAND_LEN];
	uint8_t c1_i[IOMT_S2_C1_LEN];
};

/* M2 starts with M1, unchanged. */
struct iomt_s2_m2 {
	struct iomt_s2_m1 m1;
	uint8_t did_m[IOMT_S2_ID_LEN];
	uint8_t r2[IOMT_S2_RAND_LEN];
	uint8_t c1_m[IOMT_S2_C1_LEN];
};

struct iomt_s2_m3 {
	uint8_t d1[IOMT_S2_D_LEN];
	uint8_t d2[IOMT_S2_D_LEN];
	uint8_t d3[IOMT_S2_D3_LEN];
};

struct iomt_s2_m4 {
	uint8_t d2[IOMT_S2_D_LEN];
	uint8_t d3[IOMT_S2_D3_LEN];
};

/* IOMT_ESIZE unless len is exactly the message's size; IOMT_EINVAL on NULL. */
int iomt_s2_m1_parse(struct iomt_s2_m1 *m, const uint8_t *buf, size_t len);
int iomt_s2_m2_parse(struct iomt_s2_m2 *m, const uint8_t *buf, size_t len);
int iomt_s2_m3_parse(struct iomt_s2_m3 *m, const uint8_t *buf, size_t len);
int iomt_s2_m4_parse(struct iomt_s2_m4 *m, const uint8_t *buf, size_t len);
void iomt_s2_m1_build(const struct iomt_s2_m1 *m, uint8_t buf[IOMT_S2_M1_LEN]);
void iomt_s2_m2_build(const struct iomt_s2_m2 *m, uint8_t buf[IOMT_S2_M2_LEN]);
void iomt_s2_m3_build(const struct iomt_s2_m3 *m, uint8_t buf[IOMT_S2_M3_LEN]);
void iomt_s2_m4_build(const struct iomt_s2_m4 *m, uint8_t buf[IOMT_S2_M4_LEN]);

/* The two identities in an M2, for the TTP's table look-up. */
int iomt_s2_m2_dids(const uint8_t *m2, size_t m2_len, uint8_t did_i[IOMT_S2_ID_LEN],
		    uint8_t did_m[IOMT_S2_ID_LEN]);

/* ---- device ---- */

enum iomt_s2_device_state {
	IOMT_S2_DEV_EMPTY = 0,    /* zeroed or wiped: refuses every step */
	IOMT_S2_DEV_IDLE,         /* holds (DID, DK), no run under way */
	IOMT_S2_DEV_AWAIT_M4,     /* M1 sent, waiting for M4 */
};

/* Plain data (no pointers): it may be copied, or saved with _export(). */
struct iomt_s2_device {
	uint8_t did[IOMT_S2_ID_LEN];     /* current identity */
	uint8_t dk[IOMT_S2_KEY_LEN];     /* current key (secret) */
	uint8_t r1[IOMT_S2_RAND_LEN];    /* AWAIT_M4: this run's R1 */
	uint8_t c2[IOMT_S2_C_LEN];       /* AWAIT_M4: this run's H1 output (secret) */
	uint8_t c3[IOMT_S2_C_LEN];
	uint8_t c4[IOMT_S2_C_LEN];
	uint32_t state;                  /* enum iomt_s2_device_state */
};

/* Registration (phase 2): (DID, DK) as given by the TTP; state IDLE. */
int iomt_s2_device_init(struct iomt_s2_device *dev, const uint8_t did[IOMT_S2_ID_LEN],
			const uint8_t dk[IOMT_S2_KEY_LEN]);
/* Builds M1 with a fresh R1. From IDLE, or from AWAIT_M4 as a retry: the
 * earlier run is forgotten, and its M4 will no longer be accepted. */
int iomt_s2_device_start(struct iomt_s2_device *dev, const uint8_t r1[IOMT_S2_RAND_LEN],
			 uint8_t m1[IOMT_S2_M1_LEN]);
/* AWAIT_M4 only. Checks d3 and only then writes SK, rotates (DID, DK) and
 * returns to IDLE. IOMT_EAUTH / IOMT_ESIZE leave the run pending, so the
 * genuine M4 or a retry still works. */
int iomt_s2_device_finish(struct iomt_s2_device *dev, const uint8_t *m4, size_t m4_len,
			  uint8_t sk[IOMT_S2_KEY_LEN]);
/* Drops a pending run (AWAIT_M4 -> IDLE); the identity is kept. */
int iomt_s2_device_abort(struct iomt_s2_device *dev);
/* Current (DID, DK), in any state but EMPTY; dk may be NULL. */
int iomt_s2_device_identity(const struct iomt_s2_device *dev, uint8_t did[IOMT_S2_ID_LEN],
			    uint8_t dk[IOMT_S2_KEY_LEN]);
/*
 * Everything a device must persist, pending run included, in a fixed
 * byte-order-free layout (version 1, state, DID, DK, R1, c2, c3, c4; see
 * PROTOCOL.md §2.5). It holds DK and the pending c values: store it as a
 * secret. Import checks the size (IOMT_ESIZE) and the version, state and
 * zeroed idle fields (IOMT_EMALFORMED) and leaves dev alone on failure.
 */
int iomt_s2_device_export(const struct iomt_s2_device *dev,
			  uint8_t blob[IOMT_S2_DEVICE_BLOB_LEN]);
int iomt_s2_device_import(struct iomt_s2_device *dev, const uint8_t *blob, size_t len);
void iomt_s2_device_wipe(struct iomt_s2_device *dev);

/* ---- MEC node ---- */

enum iomt_s2_mec_state {
	IOMT_S2_MEC_EMPTY = 0,    /* unused, finished or wiped */
	IOMT_S2_MEC_AWAIT_M3,     /* M2 sent to the TTP, waiting for M3 */
};

/*
 * One agreement in flight at the MEC. It records the (DID_m, DK_m) it was
 * computed with because the scheme rotates the MEC's identity every run
 * while a MEC runs many agreements at once: finish returns the identity this
 * run leads to, and which one the MEC adopts (and which ones the TTP will
 * still accept) is the daemon's policy, not this file's. Plain data.
 */
struct iomt_s2_mec_pending {
	uint8_t did_i[IOMT_S2_ID_LEN];   /* the device's identity, to match M3 */
	uint8_t r1[IOMT_S2_RAND_LEN];
	uint8_t did_m[IOMT_S2_ID_LEN];   /* identity used for this run */
	uint8_t dk_m[IOMT_S2_KEY_LEN];   /* its key (secret) */
	uint8_t c2[IOMT_S2_C_LEN];       /* H1 output (secret) */
	uint8_t c3[IOMT_S2_C_LEN];
	uint8_t c4[IOMT_S2_C_LEN];
	uint32_t state;                  /* enum iomt_s2_mec_state */
};

/* M1 -> M2 and a new pending run (pending is overwritten only on success).
 * The MEC cannot check c1_i (it has no DK_i): the TTP does. */
int iomt_s2_mec_m2(const uint8_t did_m[IOMT_S2_ID_LEN], const uint8_t dk_m[IOMT_S2_KEY_LEN],
		   const uint8_t r2[IOMT_S2_RAND_LEN], const uint8_t *m1, size_t m1_len,
		   struct iomt_s2_mec_pending *pending, uint8_t m2[IOMT_S2_M2_LEN]);
/* n of the above with batched SHAKE128; item i uses did_m[i], dk_m[i] (the
 * same pointers may repeat). status[i] is item i's result; the return value
 * is IOMT_EINVAL for a NULL array or pointer, else IOMT_OK. */
int iomt_s2_mec_m2_batch(size_t n, const uint8_t *const did_m[], const uint8_t *const dk_m[],
			 const uint8_t *const r2[], const uint8_t *const m1[],
			 const size_t m1_len[], struct iomt_s2_mec_pending *const pending[],
			 uint8_t *const m2[], int status[]);
/* AWAIT_M3 only. Checks d3 and only then writes SK, M4 for the device and
 * this run's next (DID_m, DK_m), and wipes pending (EMPTY). IOMT_EAUTH /
 * IOMT_ESIZE leave pending as it was. */
int iomt_s2_mec_finish(struct iomt_s2_mec_pending *pending, const uint8_t *m3, size_t m3_len,
		       uint8_t sk[IOMT_S2_KEY_LEN], uint8_t m4[IOMT_S2_M4_LEN],
		       uint8_t next_did_m[IOMT_S2_ID_LEN], uint8_t next_dk_m[IOMT_S2_KEY_LEN]);

struct iomt_s2_mec_out {
	uint8_t sk[IOMT_S2_KEY_LEN];
	uint8_t m4[IOMT_S2_M4_LEN];
	uint8_t next_did_m[IOMT_S2_ID_LEN];
	uint8_t next_dk_m[IOMT_S2_KEY_LEN];
};

/* n of iomt_s2_mec_finish with batched SHAKE128; per-item status. A pending
 * listed twice finishes once; the second gets IOMT_ESTATE. */
int iomt_s2_mec_finish_batch(size_t n, struct iomt_s2_mec_pending *const pending[],
			     const uint8_t *const m3[], const size_t m3_len[],
			     struct iomt_s2_mec_out out[], int status[]);

/* ---- TTP ---- */

/* Which check value failed, as a mask (both may). */
enum iomt_s2_bad {
	IOMT_S2_BAD_NONE = 0,
	IOMT_S2_BAD_DEVICE = 1,   /* c1_i: wrong DK_i for DID_i, or forged */
	IOMT_S2_BAD_MEC = 2,      /* c1_m: wrong DK_m for DID_m, or forged */
};

struct iomt_s2_ttp_out {
	uint8_t m3[IOMT_S2_M3_LEN];
	uint8_t sk[IOMT_S2_KEY_LEN];          /* the TTP knows SK too: wipe it */
	uint8_t next_did_i[IOMT_S2_ID_LEN];   /* (c2_i, c3_i) */
	uint8_t next_dk_i[IOMT_S2_KEY_LEN];
	uint8_t next_did_m[IOMT_S2_ID_LEN];   /* (c2_m, c3_m) */
	uint8_t next_dk_m[IOMT_S2_KEY_LEN];
};

/*
 * The caller has looked up DK_i and DK_m by the identities in M2
 * (iomt_s2_m2_dids; current or previous key: the daemon's table). Both c1
 * are recomputed and compared in constant time; IOMT_EAUTH sets *bad (may
 * be NULL) to the failing party or parties, and then out is not written.
 */
int iomt_s2_ttp_process(const uint8_t dk_i[IOMT_S2_KEY_LEN], const uint8_t dk_m[IOMT_S2_KEY_LEN],
			const uint8_t *m2, size_t m2_len, const uint8_t r3[IOMT_S2_RAND_LEN],
			struct iomt_s2_ttp_out *out, unsigned *bad);
/* n of the above: the 2n H1 and n H2 batched. status[i], bad[i] (bad may be
 * NULL) per item; returns IOMT_EINVAL for a NULL array or pointer. */
int iomt_s2_ttp_process_batch(size_t n, const uint8_t *const dk_i[], const uint8_t *const dk_m[],
			      const uint8_t *const m2[], const size_t m2_len[],
			      const uint8_t *const r3[], struct iomt_s2_ttp_out out[],
			      int status[], unsigned bad[]);

#endif
