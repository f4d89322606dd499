/* SPDX-License-Identifier: MIT */
/* What the tool prints about keys and refusals: never a key itself. */
#ifndef IOMT_SENSOR_SHOW_H
#define IOMT_SENSOR_SHOW_H

#include <stdint.h>

#include "seed002.h"

enum {
	SENSOR_FP_LEN = 8,               /* SK fingerprint */
	SENSOR_FP_HEX_LEN = 2 * SENSOR_FP_LEN + 1,
};

/* First 8 bytes of KMAC128(SK, "", 64, "iomt/s2/sk-fingerprint"), as hex:
 * safe to log, names the key without revealing it. */
void sensor_sk_fingerprint(const uint8_t sk[IOMT_S2_KEY_LEN], char hex[SENSOR_FP_HEX_LEN]);

/* "BAD_DEVICE (c1_i does not verify: wrong key?)" and the like. */
const char *sensor_code_str(uint8_t code);

#endif
