/* SPDX-License-Identifier: MIT */
#include "wire.h"
#include "bytes.h"
#include "iomt_err.h"
#include "kdc.h"

_Static_assert((int)IOMT_WIRE_KDC_AS_REQ_LEN == (int)IOMT_KDC_AS_REQ_LEN &&
	       (int)IOMT_WIRE_KDC_AS_REP_LEN == (int)IOMT_KDC_AS_REP_LEN &&
	       (int)IOMT_WIRE_KDC_TGS_REQ_LEN == (int)IOMT_KDC_TGS_REQ_LEN &&
	       (int)IOMT_WIRE_KDC_TGS_REP_LEN == (int)IOMT_KDC_TGS_REP_LEN &&
	       (int)IOMT_WIRE_KDC_AP_REQ_LEN == (int)IOMT_KDC_AP_REQ_LEN &&
	       (int)IOMT_WIRE_KDC_AP_REP_LEN == (int)IOMT_KDC_AP_REP_LEN &&
	       (int)IOMT_WIRE_KDC_ERR_LEN == (int)IOMT_KDC_ERR_LEN, "KDC payload sizes");

size_t iomt_wire_fixed_len(uint8_t type)
{
	switch (type) {
	case IOMT_MSG_S2_M1: return IOMT_WIRE_S2_M1_LEN;
	case IOMT_MSG_S2_M4: return IOMT_WIRE_S2_M4_LEN;
	case IOMT_MSG_S2_DEV_ERR: return IOMT_WIRE_S2_DEV_ERR_LEN;
	case IOMT_MSG_S2_M2: return IOMT_WIRE_S2_M2_LEN;
	case IOMT_MSG_S2_M3: return IOMT_WIRE_S2_M3_LEN;
	case IOMT_MSG_S2_LINK_ERR: return IOMT_WIRE_S2_LINK_ERR_LEN;
	case IOMT_MSG_S2_USER_ERR: return IOMT_WIRE_S2_USER_ERR_LEN;
	case IOMT_MSG_KDC_AS_REQ: return IOMT_WIRE_KDC_AS_REQ_LEN;
	case IOMT_MSG_KDC_AS_REP: return IOMT_WIRE_KDC_AS_REP_LEN;
	case IOMT_MSG_KDC_TGS_REQ: return IOMT_WIRE_KDC_TGS_REQ_LEN;
	case IOMT_MSG_KDC_TGS_REP: return IOMT_WIRE_KDC_TGS_REP_LEN;
	case IOMT_MSG_KDC_AP_REQ: return IOMT_WIRE_KDC_AP_REQ_LEN;
	case IOMT_MSG_KDC_AP_REP: return IOMT_WIRE_KDC_AP_REP_LEN;
	case IOMT_MSG_KDC_ERR: return IOMT_WIRE_KDC_ERR_LEN;
	case IOMT_MSG_REC_ACK: return IOMT_WIRE_REC_ACK_LEN;
	case IOMT_MSG_COOKIE_REPLY: return IOMT_WIRE_COOKIE_REPLY_LEN;
	case IOMT_MSG_P5_ACCEPT: return IOMT_WIRE_P5_ACCEPT_LEN;
	case IOMT_MSG_P5_CONFIRM: return IOMT_WIRE_P5_CONFIRM_LEN;
	case IOMT_MSG_P6_ACK: return IOMT_WIRE_P6_ACK_LEN;
	case IOMT_MSG_P6_END: return IOMT_WIRE_P6_END_LEN;
	case IOMT_MSG_P6_NOTED: return IOMT_WIRE_P6_NOTED_LEN;
	case IOMT_MSG_P5_REQ:
	case IOMT_MSG_P5_RESULTS:
	case IOMT_MSG_P6_FETCH:
	case IOMT_MSG_P6_ALERT:
	case IOMT_MSG_P5_CHECK:
	case IOMT_MSG_P5_GRANT:
	case IOMT_MSG_P6_EMERG:
	case IOMT_MSG_P6_PARTIES:
	case IOMT_MSG_P6_DELIVERED:
	case IOMT_MSG_S2_ANALYSIS_REQ:
	case IOMT_MSG_S2_ANALYSIS_RESP:
	case IOMT_MSG_KCHAN_REQ:
	case IOMT_MSG_KCHAN_REP:
	case IOMT_MSG_REC_PUT:
	case IOMT_MSG_S2_DATA:
	case IOMT_MSG_COOKIE_WRAP:
		return 0;
	}
	return (size_t)-1;
}

int iomt_wire_put_hdr(uint8_t hdr[IOMT_WIRE_HDR_LEN], uint8_t type, size_t len)
{
	if (len > IOMT_WIRE_MAX_PAYLOAD)
		return IOMT_ESIZE;
	hdr[0] = IOMT_WIRE_VERSION;
	hdr[1] = type;
	iomt_store_be16(hdr + 2, (uint16_t)len);
	return IOMT_OK;
}

/* Checks a header whose payload length is plen. */
static int check_hdr(const uint8_t *hdr, size_t plen)
{
	size_t want = iomt_wire_fixed_len(hdr[1]);

	if (hdr[0] != IOMT_WIRE_VERSION || want == (size_t)-1)
		return IOMT_EMALFORMED;
	/* A fixed-size message of any other size is forged or truncated. */
	if (want && plen != want)
		return IOMT_ESIZE;
	return IOMT_OK;
}

int iomt_wire_parse(const uint8_t *buf, size_t len, uint8_t *type,
		    const uint8_t **payload, size_t *plen)
{
	size_t n;
	int err;

	if (len < IOMT_WIRE_HDR_LEN)
		return IOMT_ESIZE;
	n = iomt_load_be16(buf + 2);
	/* The datagram must be exactly the frame: no trailing bytes. */
	if (n != len - IOMT_WIRE_HDR_LEN)
		return IOMT_ESIZE;
	err = check_hdr(buf, n);
	if (err)
		return err;
	*type = buf[1];
	*payload = buf + IOMT_WIRE_HDR_LEN;
	*plen = n;
	return IOMT_OK;
}

int iomt_wire_next(const uint8_t *buf, size_t avail, uint8_t *type,
		   const uint8_t **payload, size_t *plen, size_t *frame_len)
{
	size_t n;
	int err;

	if (avail < IOMT_WIRE_HDR_LEN)
		return IOMT_EPARTIAL;
	n = iomt_load_be16(buf + 2);
	/* Reject a bad header before waiting for a payload it announces. */
	err = check_hdr(buf, n);
	if (err)
		return err;
	if (avail - IOMT_WIRE_HDR_LEN < n)
		return IOMT_EPARTIAL;
	*type = buf[1];
	*payload = buf + IOMT_WIRE_HDR_LEN;
	*plen = n;
	*frame_len = IOMT_WIRE_HDR_LEN + n;
	return IOMT_OK;
}
