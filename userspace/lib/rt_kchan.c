/* SPDX-License-Identifier: MIT */
/* A client call to a KDC-authenticated service over TCP (rt_kchan.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct.h"
#include "rt_kchan.h"
#include "rt_knet.h"
#include "rt_rng.h"
#include "wire.h"

enum {
	FRAME_MAX = IOMT_WIRE_HDR_LEN + IOMT_WIRE_MAX_PAYLOAD,
	CALL_TIMEOUT_MS = 10000,
};

/* One frame out, one frame back on a fresh connection: its length or -errno. */
static long exchange(struct rt_kclient *k, const char *service, const uint8_t *req, size_t len,
		     uint8_t *rep, size_t cap, unsigned timeout_ms)
{
	uint64_t deadline = rt_knet_mono_ms() + timeout_ms;
	struct sockaddr_storage ss;
	socklen_t slen;
	long n;
	int fd, r;

	r = rt_knet_resolve(service, &ss, &slen);
	if (r) {
		snprintf(k->err, sizeof(k->err), "%s: not a host:port address", service);
		return r;
	}
	fd = rt_knet_tcp_connect(&ss, slen, deadline);
	if (fd < 0) {
		snprintf(k->err, sizeof(k->err), "%s: cannot connect: %s", service, strerror(-fd));
		return fd;
	}
	r = rt_knet_send(fd, req, len);
	n = r ? r : rt_knet_recv_frame(fd, rep, cap, deadline);
	close(fd);
	if (n < 0)
		snprintf(k->err, sizeof(k->err), "%s: %s", service,
			 n == -ETIMEDOUT ? "no answer in time" : strerror((int)-n));
	return n;
}

/* The answer: a KCHAN_REP for our request, or an ERR naming it. */
static int answer(struct rt_kclient *k, const char *service, const uint8_t session[16],
		  const uint8_t *buf, size_t n, uint8_t *status, uint8_t *out, size_t cap,
		  size_t *out_len)
{
	const uint8_t *p;
	uint8_t type, code, ref[8];
	size_t plen;
	uint64_t t;
	int r;

	if (iomt_wire_parse(buf, n, &type, &p, &plen)) {
		snprintf(k->err, sizeof(k->err), "%s: not a frame", service);
		return -EPROTO;
	}
	if (type == IOMT_MSG_KDC_ERR) {
		if (iomt_kdc_err_parse(p, plen, &code, ref, &t) ||
		    !iomt_ct_eq(ref, k->c.auth_nonce, sizeof(ref))) {
			snprintf(k->err, sizeof(k->err), "%s: an error for another request", service);
			return -EPROTO;
		}
		k->last_code = code;
		k->peer_time_ms = t;
		snprintf(k->err, sizeof(k->err), "%s refused the request: %d (%s)", service, code,
			 iomt_kdc_strcode(code));
		return code ? code : -EPROTO;
	}
	if (type != IOMT_MSG_KCHAN_REP) {
		snprintf(k->err, sizeof(k->err), "%s: unexpected frame type 0x%02x", service, type);
		return -EPROTO;
	}
	r = iomt_kchan_rep_open(&k->c, session, p, plen, status, out, cap, out_len);
	if (r == IOMT_KDC_ERR_MALFORMED && plen >= IOMT_KCHAN_REP_OVERHEAD) {
		snprintf(k->err, sizeof(k->err), "%s: the answer (%zu bytes) does not fit", service,
			 plen - IOMT_KCHAN_REP_OVERHEAD);
		return -EMSGSIZE;
	}
	if (r) {
		snprintf(k->err, sizeof(k->err), "%s: the answer does not verify (%s)", service,
			 iomt_kdc_strcode(r));
		return -EPROTO;
	}
	k->last_code = 0;
	return 0;
}

int rt_kchan_call(struct rt_kclient *k, const char *service, uint8_t op, const uint8_t *body,
		  size_t len, uint8_t *status, uint8_t *out, size_t cap, size_t *out_len,
		  unsigned timeout_ms)
{
	uint8_t rnd[IOMT_KCHAN_RAND], session[IOMT_KDC_KEY_LEN];
	uint8_t *req = NULL, *rep = NULL;
	size_t plen = 0;
	long n;
	int r;

	if (!k || !service || !status || !out_len || (len && !body))
		return -EINVAL;
	*out_len = 0;
	k->err[0] = '\0';
	req = malloc(FRAME_MAX);
	rep = malloc(FRAME_MAX);
	r = req && rep ? rt_random(rnd, sizeof(rnd)) : -ENOMEM;
	if (!r) {
		r = iomt_kchan_req_seal(&k->c, rt_kclient_now(k), op, body, len, rnd,
					req + IOMT_WIRE_HDR_LEN, FRAME_MAX - IOMT_WIRE_HDR_LEN,
					&plen, session);
		if (r)
			snprintf(k->err, sizeof(k->err), "request not sent: %s (local check)",
				 iomt_kdc_strcode(r));
	}
	if (!r) {
		iomt_wire_put_hdr(req, IOMT_MSG_KCHAN_REQ, plen);
		n = exchange(k, service, req, IOMT_WIRE_HDR_LEN + plen, rep, FRAME_MAX,
			     timeout_ms ? timeout_ms : CALL_TIMEOUT_MS);
		r = n < 0 ? (int)n
			  : answer(k, service, session, rep, (size_t)n, status, out, cap, out_len);
	}
	iomt_wipe(session, sizeof(session));
	iomt_wipe(rnd, sizeof(rnd));
	if (req)
		iomt_wipe(req, FRAME_MAX);
	if (rep)
		iomt_wipe(rep, FRAME_MAX);
	free(req);
	free(rep);
	return r;
}
