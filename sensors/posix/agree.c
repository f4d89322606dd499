/* SPDX-License-Identifier: MIT */
/* One seed-002 agreement on the wire, device side (see agree.h). */

#include "agree.h"
#include "hex.h"
#include "ct.h"
#include "iomt_err.h"
#include "sp800_185.h"

static const char fp_custom[] = "iomt/s2/sk-fingerprint";

int sensor_agree_m1(struct iomt_s2_device *dev, const uint8_t r1[IOMT_S2_RAND_LEN],
		    uint8_t frame[SENSOR_M1_FRAME_LEN])
{
	int err = iomt_s2_device_start(dev, r1, frame + IOMT_WIRE_HDR_LEN);

	if (err)
		return err;
	return iomt_wire_put_hdr(frame, IOMT_MSG_S2_M1, IOMT_S2_M1_LEN);
}

/* M4: finish on a copy, so the caller's device changes only once the
 * rotated state is on disk. A wrong d3 (stale M4, forgery) is ignored. */
static enum sensor_in input_m4(const struct iomt_s2_device *dev, const uint8_t *m4,
			       size_t len, struct iomt_s2_device *next,
			       uint8_t sk[IOMT_S2_KEY_LEN])
{
	*next = *dev;
	if (iomt_s2_device_finish(next, m4, len, sk) == IOMT_OK)
		return SENSOR_IN_DONE;
	iomt_s2_device_wipe(next);
	return SENSOR_IN_IGNORED;
}

/* DEV_ERR = code (1) || R1 (16): it counts only for the run with that R1,
 * so an error for an earlier (abandoned) run cannot stop this one. */
static enum sensor_in input_err(const struct iomt_s2_device *dev, const uint8_t *p,
				size_t len, uint8_t *code)
{
	/* iomt_wire_parse checked the exact size; keep the reads in bounds anyway. */
	if (len != IOMT_WIRE_S2_DEV_ERR_LEN || !iomt_ct_eq(p + 1, dev->r1, IOMT_S2_RAND_LEN))
		return SENSOR_IN_IGNORED;
	*code = p[0];
	if (p[0] == IOMT_S2_ERR_BUSY || p[0] == IOMT_S2_ERR_INTERNAL)
		return SENSOR_IN_RETRY;
	return SENSOR_IN_REFUSED;
}

enum sensor_in sensor_agree_input(const struct iomt_s2_device *dev, const uint8_t *dgram,
				  size_t len, struct iomt_s2_device *next,
				  uint8_t sk[IOMT_S2_KEY_LEN], uint8_t *code)
{
	const uint8_t *payload;
	size_t plen;
	uint8_t type;

	if (dev->state != IOMT_S2_DEV_AWAIT_M4)
		return SENSOR_IN_IGNORED;
	/* One frame per datagram, exact sizes: anything else is not ours. */
	if (iomt_wire_parse(dgram, len, &type, &payload, &plen) != IOMT_OK)
		return SENSOR_IN_IGNORED;
	if (type == IOMT_MSG_S2_M4)
		return input_m4(dev, payload, plen, next, sk);
	if (type == IOMT_MSG_S2_DEV_ERR)
		return input_err(dev, payload, plen, code);
	return SENSOR_IN_IGNORED;
}

uint32_t sensor_backoff_ms(uint32_t timeout_ms, unsigned attempt, uint32_t rnd)
{
	uint64_t d = timeout_ms ? timeout_ms : 1;
	unsigned i;

	for (i = 1; i < attempt && d < SENSOR_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > SENSOR_BACKOFF_MAX_MS)
		d = SENSOR_BACKOFF_MAX_MS;
	return (uint32_t)(d - d / 2 + rnd % (d / 2 + 1));
}

void sensor_sk_fingerprint(const uint8_t sk[IOMT_S2_KEY_LEN], char hex[SENSOR_FP_HEX_LEN])
{
	uint8_t fp[SENSOR_FP_LEN];

	iomt_kmac128(sk, IOMT_S2_KEY_LEN, fp_custom, sizeof(fp_custom) - 1, "", 0, fp,
		     sizeof(fp));
	iomt_hex_encode(fp, SENSOR_FP_LEN, hex);
}

const char *sensor_code_str(uint8_t code)
{
	switch (code) {
	case IOMT_S2_ERR_UNKNOWN_DEVICE:
		return "UNKNOWN_DEVICE (the TTP knows neither our current nor previous identity)";
	case IOMT_S2_ERR_UNKNOWN_MEC:
		return "UNKNOWN_MEC (the TTP does not know the MEC's identity)";
	case IOMT_S2_ERR_BAD_DEVICE:
		return "BAD_DEVICE (c1_i does not verify: wrong device key?)";
	case IOMT_S2_ERR_BAD_MEC:
		return "BAD_MEC (c1_m does not verify: the MEC's key is wrong)";
	case IOMT_S2_ERR_MALFORMED:
		return "MALFORMED (the MEC could not parse our M1)";
	case IOMT_S2_ERR_BUSY:
		return "BUSY (retry later)";
	case IOMT_S2_ERR_INTERNAL:
		return "INTERNAL (the TTP could not commit: retry later)";
	case IOMT_S2_ERR_DENIED:
		return "DENIED";
	}
	return "unknown error code";
}
