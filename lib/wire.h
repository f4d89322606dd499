/* SPDX-License-Identifier: MIT */
/*
 * Wire framing shared by every transport (UDP datagrams, TCP streams, BLE
 * SDUs): a 4-byte header, then the payload.
 *
 *   version (1) = 1 | type (1) | payload length (2, big-endian) | payload
 *
 * A datagram holds exactly one frame; a stream is a sequence of frames.
 * Fixed-size message types must carry exactly their size. Byte layouts and
 * the meaning of each type: docs/PROTOCOL.md §3 (KDC types: §5).
 */
#ifndef IOMT_WIRE_H
#define IOMT_WIRE_H
#include <stddef.h>
#include <stdint.h>

enum {
	IOMT_WIRE_VERSION = 1,
	IOMT_WIRE_HDR_LEN = 4,
	IOMT_WIRE_MAX_PAYLOAD = 65535,
	IOMT_WIRE_REQ_ID_LEN = 4,     /* MEC <-> TTP request id */
	IOMT_S2_IDA_LEN = 16,         /* ID_a: analysis identifier */
	IOMT_S2_IDA_BOX_LEN = 24,     /* AES-128-CCM(ID_a) + 8-byte tag */
};

enum iomt_msg_type {
	/* seed 002, device <-> MEC (UDP) */
	IOMT_MSG_S2_M1 = 0x01,        /* M1 (64) */
	IOMT_MSG_S2_M4 = 0x04,        /* M4 (48) */
	IOMT_MSG_S2_DEV_ERR = 0x05,   /* code (1) || R1 (16) */
	/* seed 002, MEC <-> TTP (TCP) */
	IOMT_MSG_S2_M2 = 0x02,        /* req_id (4) || M2 (128) */
	IOMT_MSG_S2_M3 = 0x03,        /* req_id (4) || M3 (64) || ID_a box (24) */
	IOMT_MSG_S2_LINK_ERR = 0x06,  /* req_id (4) || code (1) */
	/* seed 002 phase 2, user <-> TTP (TCP): variable size */
	IOMT_MSG_S2_ANALYSIS_REQ = 0x10,
	IOMT_MSG_S2_ANALYSIS_RESP = 0x11,
	IOMT_MSG_S2_USER_ERR = 0x12,  /* code (1) */
	/* platform key management (lib/kdc.h), client <-> KDC and service (UDP) */
	IOMT_MSG_KDC_AS_REQ = 0x20,
	IOMT_MSG_KDC_AS_REP = 0x21,
	IOMT_MSG_KDC_TGS_REQ = 0x22,
	IOMT_MSG_KDC_TGS_REP = 0x23,
	IOMT_MSG_KDC_AP_REQ = 0x24,
	IOMT_MSG_KDC_AP_REP = 0x25,
	IOMT_MSG_KDC_ERR = 0x26,      /* code (1) || ref (8) || server time (8) */
	/* a request to a KDC-authenticated service and its reply (lib/kchan.h,
	 * TCP or UDP): variable size */
	IOMT_MSG_KCHAN_REQ = 0x28,
	IOMT_MSG_KCHAN_REP = 0x29,
	/* data records, sensor -> gateway (UDP) -> cloud store (TCP), and the
	 * store's acknowledgement (lib/recbatch.h) */
	IOMT_MSG_REC_PUT = 0x30,      /* variable */
	IOMT_MSG_REC_ACK = 0x31,      /* batch id (8) || status (1) || stored (2) || duplicates (2) */
	/* under-load cookies (lib/cookie.h, docs/PROTOCOL.md § "Cookies and the
	 * ingress filter"), UDP */
	IOMT_MSG_COOKIE_REPLY = 0x60, /* gateway -> requester: cookie (16) */
	IOMT_MSG_COOKIE_WRAP = 0x61,  /* requester -> gateway: cookie (16) || one request frame */
	/* seed 002 phase 4, device -> MEC (UDP, lib/s2_data.h): variable size,
	 * handle (8) || counter (8) || AES-128-CCM samples || tag (8) */
	IOMT_MSG_S2_DATA = 0x40,
	/* seed 002 phases 5 and 6 (userspace/lib/s2_p56.h, docs/PROTOCOL.md §9),
	 * TCP. user <-> MEC: */
	/* user -> MEC: ID_a || E_U || nonce || ECIES box to the TTP of the
	 * certificate, ts and signature (269..333) */
	IOMT_MSG_P5_REQ = 0x48,
	IOMT_MSG_P5_ACCEPT = 0x4b,    /* MEC -> user: E_M || MEC cert || conf_M (174) */
	IOMT_MSG_P5_CONFIRM = 0x4c,   /* user -> MEC: conf_U (16) */
	IOMT_MSG_P5_RESULTS = 0x4d,   /* MEC -> user: sealed results (variable) */
	IOMT_MSG_P6_FETCH = 0x52,     /* user -> MEC: Q_U || ts || nonce, signed (66..130) */
	IOMT_MSG_P6_ALERT = 0x53,     /* MEC -> user: alert_id || ECIES box (variable) */
	IOMT_MSG_P6_ACK = 0x54,       /* user -> MEC: alert_id || tag (32) */
	IOMT_MSG_P6_END = 0x55,       /* MEC -> user: alerts sent (2) */
	/* MEC <-> TTP, on a MEC link; refusals are S2_LINK_ERR: */
	IOMT_MSG_P5_CHECK = 0x49,     /* MEC -> TTP: req_id || P5_REQ payload */
	IOMT_MSG_P5_GRANT = 0x4a,     /* TTP -> MEC: req_id || TTP-signed grant */
	IOMT_MSG_P6_EMERG = 0x50,     /* MEC -> TTP: req_id || MEC-signed notice */
	IOMT_MSG_P6_PARTIES = 0x51,   /* TTP -> MEC: req_id || TTP-signed Q_U, handle list */
	IOMT_MSG_P6_DELIVERED = 0x56, /* MEC -> TTP: req_id || MEC-signed report (handle) */
	IOMT_MSG_P6_NOTED = 0x57,     /* TTP -> MEC: req_id (4) */
};

/* Sizes of the fixed-size payloads. */
enum {
	IOMT_WIRE_S2_M1_LEN = 64,
	IOMT_WIRE_S2_M4_LEN = 48,
	IOMT_WIRE_S2_DEV_ERR_LEN = 17,
	IOMT_WIRE_S2_M2_LEN = 4 + 128,
	IOMT_WIRE_S2_M3_LEN = 4 + 64 + 24,
	IOMT_WIRE_S2_LINK_ERR_LEN = 5,
	IOMT_WIRE_S2_USER_ERR_LEN = 1,
	/* equal to lib/kdc.h's IOMT_KDC_*_LEN (checked by lib/wire.c) */
	IOMT_WIRE_KDC_AS_REQ_LEN = 65,
	IOMT_WIRE_KDC_AS_REP_LEN = 167,
	IOMT_WIRE_KDC_TGS_REQ_LEN = 187,
	IOMT_WIRE_KDC_TGS_REP_LEN = 167,
	IOMT_WIRE_KDC_AP_REQ_LEN = 163,
	IOMT_WIRE_KDC_AP_REP_LEN = 37,
	IOMT_WIRE_KDC_ERR_LEN = 17,
	IOMT_WIRE_REC_ACK_LEN = 13,
	IOMT_WIRE_COOKIE_REPLY_LEN = 16,
	IOMT_WIRE_P5_ACCEPT_LEN = 33 + 125 + 16,
	IOMT_WIRE_P5_CONFIRM_LEN = 16,
	IOMT_WIRE_P6_ACK_LEN = 32,
	IOMT_WIRE_P6_END_LEN = 2,
	IOMT_WIRE_P6_NOTED_LEN = 4,
};

/* Error codes carried by DEV_ERR, LINK_ERR and USER_ERR. They say what was
 * refused, never how close a guess was. */
enum iomt_s2_code {
	IOMT_S2_ERR_UNKNOWN_DEVICE = 1, /* DID_i is neither current nor previous */
	IOMT_S2_ERR_UNKNOWN_MEC = 2,    /* DID_m is neither current nor previous */
	IOMT_S2_ERR_BAD_DEVICE = 3,     /* c1_i does not verify */
	IOMT_S2_ERR_BAD_MEC = 4,        /* c1_m does not verify */
	IOMT_S2_ERR_MALFORMED = 5,      /* wrong size or unknown type */
	IOMT_S2_ERR_BUSY = 6,           /* overloaded or shutting down: retry later */
	IOMT_S2_ERR_INTERNAL = 7,       /* the TTP could not commit: retry later */
	IOMT_S2_ERR_DENIED = 8,         /* phase 2: signature, certificate or policy */
	IOMT_S2_ERR_NOT_ENTITLED = 9,   /* phases 5, 6: the analysis policy does not allow it */
	IOMT_S2_ERR_REVOKED = 10,       /* phases 5, 6: certificate revoked or not on record */
	IOMT_S2_ERR_REPLAY = 11,        /* phases 5, 6: nonce seen before */
	IOMT_S2_ERR_NO_ANALYSIS = 12,   /* phases 5, 6: no such ID_a */
};

/* Exact payload size of a fixed-size type; 0 for variable-size types;
 * -1 (as size_t) for an unknown type. */
size_t iomt_wire_fixed_len(uint8_t type);

/* Writes a header; IOMT_ESIZE if len exceeds IOMT_WIRE_MAX_PAYLOAD. */
int iomt_wire_put_hdr(uint8_t hdr[IOMT_WIRE_HDR_LEN], uint8_t type, size_t len);

/* A datagram: exactly one frame. Checks version, known type, the length
 * field against the datagram, and the exact size of fixed types.
 * IOMT_ESIZE / IOMT_EMALFORMED on failure. */
int iomt_wire_parse(const uint8_t *buf, size_t len, uint8_t *type,
		    const uint8_t **payload, size_t *plen);

/* A stream: the first frame of buf[0..avail). On success *frame_len is the
 * whole frame's length (header included). IOMT_EPARTIAL if more bytes are
 * needed, IOMT_EMALFORMED/IOMT_ESIZE if the stream is corrupt (close it). */
int iomt_wire_next(const uint8_t *buf, size_t avail, uint8_t *type,
		   const uint8_t **payload, size_t *plen, size_t *frame_len);

#endif
