/* SPDX-License-Identifier: MIT */
/* Key fingerprints and refusal codes as text (see show.h). */
#include "hex.h"
#include "show.h"
#include "sp800_185.h"
#include "wire.h"

static const char fp_custom[] = "iomt/s2/sk-fingerprint";

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
