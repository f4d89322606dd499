/* SPDX-License-Identifier: MIT */
/*
 * The device side of one seed-002 agreement on the wire: M1 out, M4 or
 * S2_DEV_ERR in. Every protocol computation is lib/seed002's; this file only
 * frames, matches and classifies. No OS calls, no allocation, no I/O: it is
 * the part that moves to sensors/core/ with the firmware.
 *
 * Write-ahead rule: sensor_agree_input() never touches the caller's device.
 * On SENSOR_IN_DONE it hands back the rotated device in *next and the session
 * key; the caller persists *next, and only once that is durable adopts it and
 * uses the key. If persisting fails the key is wiped unused, and the stored
 * (old) identity is still one the TTP accepts (as its previous one).
 */
#ifndef IOMT_SENSOR_AGREE_H
#define IOMT_SENSOR_AGREE_H

#include <stddef.h>
#include <stdint.h>

#include "seed002.h"
#include "wire.h"

enum {
	SENSOR_M1_FRAME_LEN = IOMT_WIRE_HDR_LEN + IOMT_WIRE_S2_M1_LEN,    /* 68 */
	SENSOR_MAX_DGRAM = 512,          /* larger than any frame we accept */
	SENSOR_FP_LEN = 8,               /* SK fingerprint */
	SENSOR_FP_HEX_LEN = 2 * SENSOR_FP_LEN + 1,
	SENSOR_BACKOFF_MAX_MS = 5000,    /* ceiling of the exponential back-off */
};

/* What an incoming datagram means for the device's run in flight. */
enum sensor_in {
	SENSOR_IN_IGNORED,   /* not for this run: malformed, stale, other R1, bad d3 */
	SENSOR_IN_DONE,      /* M4 verified: persist *next, then use sk */
	SENSOR_IN_RETRY,     /* DEV_ERR BUSY or INTERNAL for this run: back off, retry */
	SENSOR_IN_REFUSED,   /* DEV_ERR 1-4 (or unknown) for this run: stop the device */
};

/* Starts a fresh run (from IDLE, or from AWAIT_M4 as a retry) with r1 and
 * writes the S2_M1 frame. IOMT_* error from lib/ otherwise. */
int sensor_agree_m1(struct iomt_s2_device *dev, const uint8_t r1[IOMT_S2_RAND_LEN],
		    uint8_t frame[SENSOR_M1_FRAME_LEN]);

/* Classifies one datagram for dev's pending run; see enum sensor_in. On
 * SENSOR_IN_DONE, *next is dev rotated and sk holds the session key; on
 * SENSOR_IN_RETRY / _REFUSED, *code is the DEV_ERR code. */
enum sensor_in sensor_agree_input(const struct iomt_s2_device *dev, const uint8_t *dgram,
				  size_t len, struct iomt_s2_device *next,
				  uint8_t sk[IOMT_S2_KEY_LEN], uint8_t *code);

/* Delay before retry number attempt (1, 2, ...): timeout * 2^(attempt-1),
 * at most SENSOR_BACKOFF_MAX_MS, of which the upper half is random
 * ("equal jitter", from rnd) so that devices that failed together spread. */
uint32_t sensor_backoff_ms(uint32_t timeout_ms, unsigned attempt, uint32_t rnd);

/* First 8 bytes of KMAC128(SK, "", 64, "iomt/s2/sk-fingerprint"), as hex:
 * safe to log, names the key without revealing it. */
void sensor_sk_fingerprint(const uint8_t sk[IOMT_S2_KEY_LEN], char hex[SENSOR_FP_HEX_LEN]);

/* "BAD_DEVICE (c1_i does not verify: wrong key?)" and the like. */
const char *sensor_code_str(uint8_t code);

#endif
