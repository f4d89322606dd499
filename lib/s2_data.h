/* SPDX-License-Identifier: MIT */
/*
 * Seed 002 phase 4: a device's measurements to the MEC under the agreed SK
 * (docs/PROTOCOL.md §8). One S2_DATA frame (0x40) per UDP datagram:
 *
 *   payload = handle (8) || counter (8, BE) || AES-128-CCM(pt) || tag (8)
 *   handle  = KMAC128(SK, "", 64, "iomt/s2/handle")
 *   K || salt = KMAC128(SK, "", 168, "iomt/s2/data-key")   (16 || 5 bytes)
 *   nonce   = salt (5) || counter (8, BE)                   (13 bytes)
 *   aad     = wire header (4) || handle (8) || counter (8)  (20 bytes)
 *   pt      = t0_ms (8, BE) || n x (kind (1) || value (2, BE) || dt_ms (4, BE))
 *
 * t0_ms is the device-clock time of the first sample; each sample's time is
 * t0_ms + dt_ms. The counter starts at 1 for every fresh SK and never goes
 * back, so (K, nonce) never repeats; the session's state is RAM-only on the
 * device (a reboot means a new agreement). The receiver keeps a 64-counter
 * sliding window: checked before, committed only after the tag verifies.
 * A sender stops (IOMT_ESTATE) at IOMT_S2_DATA_COUNTER_MAX frames or
 * IOMT_S2_DATA_REKEY_AFTER_MS after the agreement and runs a new one.
 */
#ifndef IOMT_S2_DATA_H
#define IOMT_S2_DATA_H
#include <stddef.h>
#include <stdint.h>
#include "aes.h"
#include "kmac_batch.h"
#include "seed002.h"
#include "wire.h"

enum {
	IOMT_S2_DATA_HANDLE_LEN = 8,
	IOMT_S2_DATA_CTR_LEN = 8,
	IOMT_S2_DATA_HDR_LEN = 16,              /* handle || counter: checked by XDP */
	IOMT_S2_DATA_SALT_LEN = 5,
	IOMT_S2_DATA_NONCE_LEN = 13,            /* salt || counter */
	IOMT_S2_DATA_TAG_LEN = 8,
	IOMT_S2_DATA_AAD_LEN = IOMT_WIRE_HDR_LEN + IOMT_S2_DATA_HDR_LEN,
	IOMT_S2_DATA_T0_LEN = 8,
	IOMT_S2_DATA_SAMPLE_LEN = 7,            /* kind || value || dt_ms */
	/* 1436-byte frames fit one IPv6 datagram on a 1500-byte MTU */
	IOMT_S2_DATA_SAMPLES_MAX = 200,
	IOMT_S2_DATA_OVERHEAD = IOMT_S2_DATA_HDR_LEN + IOMT_S2_DATA_T0_LEN + IOMT_S2_DATA_TAG_LEN,
	IOMT_S2_DATA_MIN_LEN = IOMT_S2_DATA_OVERHEAD + IOMT_S2_DATA_SAMPLE_LEN,        /* 39 */
	IOMT_S2_DATA_MAX_LEN = IOMT_S2_DATA_OVERHEAD +
			       IOMT_S2_DATA_SAMPLES_MAX * IOMT_S2_DATA_SAMPLE_LEN,     /* 1432 */
	IOMT_S2_DATA_PT_MAX = IOMT_S2_DATA_MAX_LEN - IOMT_S2_DATA_HDR_LEN - IOMT_S2_DATA_TAG_LEN,
	IOMT_S2_DATA_WINDOW = 64,               /* replay window, counters */
};

/* Rekey limits (the sender's; the MEC refuses counters above the first). */
#define IOMT_S2_DATA_COUNTER_MAX (1ULL << 24)
#define IOMT_S2_DATA_REKEY_AFTER_MS (50ULL * 60 * 1000)

/* One measurement. kind 0 is invalid; time is the device's clock, in ms. */
struct iomt_s2_sample {
	uint64_t t_ms;
	uint16_t value;
	uint8_t kind;
};

/* What both ends derive from SK (secret). The AES schedule is made per
 * frame (cheap with AES-NI or the 32-bit byte schedule), so a MEC holding
 * 64k sessions keeps 29 bytes each, not a 532-byte schedule. */
struct iomt_s2_data_keys {
	uint8_t handle[IOMT_S2_DATA_HANDLE_LEN];
	uint8_t key[IOMT_AES128_KEY_LEN];
	uint8_t salt[IOMT_S2_DATA_SALT_LEN];
};

/* The receiver's sliding window: top = highest counter accepted, bit i of
 * bits = counter top - i seen. */
struct iomt_s2_replay {
	uint64_t top;
	uint64_t bits;
};

/* The sender (device): RAM only. */
struct iomt_s2_data_tx {
	struct iomt_s2_data_keys k;
	uint64_t counter;                       /* last counter used; 0 = none */
	uint64_t created_ms;
	uint8_t live;
};

/* The receiver (MEC), one per session. */
struct iomt_s2_data_rx {
	struct iomt_s2_data_keys k;
	struct iomt_s2_replay w;
};

/* The session handle of SK (8 bytes). */
int iomt_s2_data_handle(const uint8_t sk[IOMT_S2_KEY_LEN],
			uint8_t handle[IOMT_S2_DATA_HANDLE_LEN]);
int iomt_s2_data_keys_init(struct iomt_s2_data_keys *k, const uint8_t sk[IOMT_S2_KEY_LEN]);

/* The MEC's batch form (hosts; lib/kmac_batch.h): both derivations'
 * customisation prefixes, absorbed once by iomt_s2_data_kdf_init (no
 * secret), then k[i] = iomt_s2_data_keys_init(sk[i]) for i < n with the
 * KMACs of many SKs sharing Keccak lanes. IOMT_EINVAL for a NULL pointer
 * (nothing derived then, k wiped). */
struct iomt_s2_data_kdf {
	struct iomt_kmac128_pre handle, key;
};
int iomt_s2_data_kdf_init(struct iomt_s2_data_kdf *kdf);
int iomt_s2_data_keys_init_batch(const struct iomt_s2_data_kdf *kdf, size_t n,
				 const uint8_t *const sk[], struct iomt_s2_data_keys k[]);

/* IOMT_OK if counter may be accepted; IOMT_EMALFORMED for 0 or a counter
 * above IOMT_S2_DATA_COUNTER_MAX; IOMT_ESTATE if already seen or older than
 * the window. Commit after the tag has verified. */
void iomt_s2_replay_init(struct iomt_s2_replay *w);
int iomt_s2_replay_check(const struct iomt_s2_replay *w, uint64_t counter);
void iomt_s2_replay_commit(struct iomt_s2_replay *w, uint64_t counter);

/* ---- device ---- */
int iomt_s2_data_tx_init(struct iomt_s2_data_tx *tx, const uint8_t sk[IOMT_S2_KEY_LEN],
			 uint64_t now_ms);
/* 1 when the session must end (counter or time limit): run a new agreement. */
int iomt_s2_data_tx_expired(const struct iomt_s2_data_tx *tx, uint64_t now_ms);
/*
 * One whole S2_DATA frame (wire header included) of samples s[0..n) into
 * out: 1 <= n <= IOMT_S2_DATA_SAMPLES_MAX, kinds non-zero, times no earlier
 * than s[0]'s and less than 2^32 ms after it (else IOMT_EINVAL); cap too
 * small: IOMT_ESIZE; a limit reached or no session: IOMT_ESTATE. The
 * counter is used up only on success.
 */
int iomt_s2_data_seal(struct iomt_s2_data_tx *tx, uint64_t now_ms,
		      const struct iomt_s2_sample *s, size_t n, uint8_t *out, size_t cap,
		      size_t *out_len);
void iomt_s2_data_tx_wipe(struct iomt_s2_data_tx *tx);

/* ---- MEC ---- */
int iomt_s2_data_rx_init(struct iomt_s2_data_rx *rx, const uint8_t sk[IOMT_S2_KEY_LEN]);
/* Size check and the clear fields of a payload: IOMT_ESIZE unless
 * IOMT_S2_DATA_MIN_LEN <= len <= IOMT_S2_DATA_MAX_LEN and the samples are
 * whole; handle and counter may be NULL. */
int iomt_s2_data_peek(const uint8_t *payload, size_t len,
		      uint8_t handle[IOMT_S2_DATA_HANDLE_LEN], uint64_t *counter);
/*
 * Opens a payload for this session: size (IOMT_ESIZE), handle (IOMT_EINVAL),
 * counter (iomt_s2_replay_check's codes), tag (IOMT_EAUTH), then sample
 * kinds (IOMT_EMALFORMED: kind 0). Only a frame that passes everything
 * moves the window. The samples go to out (cap >= their count), *n set.
 */
int iomt_s2_data_open(struct iomt_s2_data_rx *rx, const uint8_t *payload, size_t len,
		      struct iomt_s2_sample *out, size_t cap, size_t *n);
void iomt_s2_data_rx_wipe(struct iomt_s2_data_rx *rx);

#endif
