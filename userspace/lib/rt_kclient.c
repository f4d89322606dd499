/* SPDX-License-Identifier: MIT */
/* The KDC client: lib's state machine over UDP/TCP with retries. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ct.h"
#include "hex.h"
#include "iomt_err.h"
#include "rt_kclient.h"
#include "rt_knet.h"
#include "rt_rng.h"
#include "sp800_185.h"
#include "wire.h"

enum step { STEP_AS, STEP_TGS, STEP_AP };

enum {
	RAND_LEN = 21,			/* the largest of the builders' needs */
	FRAME_MAX = IOMT_WIRE_HDR_LEN + IOMT_KDC_TGS_REQ_LEN,
	REPLY_MAX = 512,		/* larger than any reply: a bigger one is junk */
	TCP_WAIT_MULT = 4,		/* the TCP attempt waits this many timeouts */
};
_Static_assert((int)RAND_LEN >= (int)IOMT_KDC_AS_REQ_RAND &&
		       (int)RAND_LEN >= (int)IOMT_KDC_TGS_REQ_RAND &&
		       (int)RAND_LEN >= (int)IOMT_KDC_AP_REQ_RAND, "RAND_LEN");

static const char *const step_name[] = { "AS", "TGS", "AP" };

/* One exchange: what to send where, and what came back. */
struct xchg {
	enum step step;
	const uint8_t *target;			/* TGS */
	const struct sockaddr_storage *to;
	socklen_t tolen;
	char peer[96];				/* "KDC 127.0.0.1:7480" */
	uint8_t ref[8];				/* what an ERR for us names */
	struct iomt_kdc_client snap;		/* the state before the request */
	int invalid, last_invalid;		/* answers that did not verify */
	int res;
};

uint64_t rt_kclient_now(const struct rt_kclient *k)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + k->clock_offset_ms);
}

void rt_kclient_fingerprint(const uint8_t key[IOMT_KDC_KEY_LEN], char hex[RT_KCLIENT_FP_HEX])
{
	static const char custom[] = "iomt/kdc/session-fp";
	uint8_t fp[RT_KCLIENT_FP_LEN];

	iomt_kmac128(key, IOMT_KDC_KEY_LEN, custom, sizeof(custom) - 1, "", 0, fp, sizeof(fp));
	iomt_hex_encode(fp, sizeof(fp), hex);
}

/* A fresh request from the saved state into frame (*flen bytes): 0, a
 * code (> 0, refused locally) or -errno. */
static int build(struct rt_kclient *k, struct xchg *x, uint8_t frame[FRAME_MAX], size_t *flen)
{
	uint8_t rnd[RAND_LEN], *out = frame + IOMT_WIRE_HDR_LEN, type;
	uint64_t now = rt_kclient_now(k);
	size_t len;
	int r;

	k->c = x->snap;
	if ((r = rt_random(rnd, sizeof(rnd))))
		return r;
	if (x->step == STEP_AS) {
		r = iomt_kdc_client_as_req(&k->c, now, rnd, out);
		type = IOMT_MSG_KDC_AS_REQ, len = IOMT_KDC_AS_REQ_LEN;
		memcpy(x->ref, k->c.nonce, sizeof(x->ref));
	} else if (x->step == STEP_TGS) {
		r = iomt_kdc_client_tgs_req(&k->c, x->target, now, rnd, out);
		type = IOMT_MSG_KDC_TGS_REQ, len = IOMT_KDC_TGS_REQ_LEN;
		memcpy(x->ref, k->c.nonce, sizeof(x->ref));
	} else {
		r = iomt_kdc_client_ap_req(&k->c, now, rnd, out);
		type = IOMT_MSG_KDC_AP_REQ, len = IOMT_KDC_AP_REQ_LEN;
		memcpy(x->ref, k->c.auth_nonce, sizeof(x->ref));
	}
	iomt_wipe(rnd, sizeof(rnd));
	if (r)
		return r;
	iomt_wire_put_hdr(frame, type, len);
	*flen = IOMT_WIRE_HDR_LEN + len;
	return 0;
}

/* One received frame: 1 if it ends the exchange (x->res set), 0 if it is
 * not a valid answer to our request (ignored: anyone can send datagrams). */
static int on_reply(struct rt_kclient *k, struct xchg *x, const uint8_t *buf, size_t n)
{
	const uint8_t *p;
	uint8_t type, code, ref[8];
	size_t plen;
	uint64_t t;
	int r;

	if (iomt_wire_parse(buf, n, &type, &p, &plen)) {
		x->invalid++, x->last_invalid = IOMT_KDC_ERR_MALFORMED;
		return 0;
	}
	if (type == IOMT_MSG_KDC_ERR) {
		if (iomt_kdc_err_parse(p, plen, &code, ref, &t) ||
		    memcmp(ref, x->ref, sizeof(ref))) {
			x->invalid++, x->last_invalid = IOMT_KDC_ERR_WRONG_PRINCIPAL;
			return 0;
		}
		k->last_code = x->res = code ? code : IOMT_KDC_ERR_INTERNAL;
		k->peer_time_ms = t;
		return 1;
	}
	r = iomt_kdc_client_recv(&k->c, type, p, plen);
	if (r == IOMT_KDC_OK) {
		x->res = 0;
		return 1;
	}
	x->invalid++, x->last_invalid = r;
	return 0;
}

/* Up to 1 + retries UDP attempts with doubling waits: 1 when answered. */
static int over_udp(struct rt_kclient *k, struct xchg *x)
{
	uint8_t frame[FRAME_MAX], buf[REPLY_MAX];
	int fd = rt_knet_udp_connect(x->to, x->tolen), r;
	uint64_t wait = k->timeout_ms;
	size_t flen;

	if (fd < 0)
		return x->res = fd, 1;
	for (int attempt = 0; attempt <= k->retries; attempt++) {
		uint64_t deadline = rt_knet_mono_ms() + wait;
		long n;

		r = build(k, x, frame, &flen);
		/* ECONNREFUSED: an ICMP error left by an earlier attempt; nobody
		 * listens (yet): this attempt simply gets no answer. */
		if (!r && (r = rt_knet_send(fd, frame, flen)) == -ECONNREFUSED)
			r = 0;
		if (r) {
			close(fd);
			return x->res = r, 1;
		}
		while ((n = rt_knet_recv_datagram(fd, buf, sizeof(buf), deadline)) >= 0)
			if (on_reply(k, x, buf, (size_t)n)) {
				close(fd);
				return 1;
			}
		if (n != -ETIMEDOUT) {
			close(fd);
			return x->res = (int)n, 1;
		}
		/* Back-off: twice as long each time, within bounds. */
		wait *= 2;
		if (wait > RT_KCLIENT_WAIT_MAX_MS)
			wait = k->timeout_ms > RT_KCLIENT_WAIT_MAX_MS ? k->timeout_ms
								      : RT_KCLIENT_WAIT_MAX_MS;
	}
	close(fd);
	return 0;
}

/* One TCP attempt: 1 when answered (or failed for good), 0 on silence. */
static int over_tcp(struct rt_kclient *k, struct xchg *x)
{
	uint8_t frame[FRAME_MAX], buf[REPLY_MAX];
	uint64_t deadline = rt_knet_mono_ms() + (uint64_t)k->timeout_ms * TCP_WAIT_MULT;
	int fd = rt_knet_tcp_connect(x->to, x->tolen, deadline), done = 0, r;
	size_t flen;
	long n;

	if (fd < 0)
		return x->res = fd, 1;
	if ((r = build(k, x, frame, &flen)) || (r = rt_knet_send(fd, frame, flen))) {
		x->res = r;
		done = 1;
	} else if ((n = rt_knet_recv_frame(fd, buf, sizeof(buf), deadline)) >= 0) {
		done = on_reply(k, x, buf, (size_t)n);
	} else if (n != -ETIMEDOUT) {
		x->res = (int)n;
		done = 1;
	}
	close(fd);
	return done;
}

static void describe(struct rt_kclient *k, const struct xchg *x, int tcp_tried)
{
	const char *what = step_name[x->step];

	if (x->res > 0 && k->last_code == x->res) {
		int n = snprintf(k->err, sizeof(k->err), "%s refused the %s request: %d (%s)",
				 x->peer, what, x->res, iomt_kdc_strcode(x->res));

		if (x->res == IOMT_KDC_ERR_SKEW && n > 0 && (size_t)n < sizeof(k->err))
			snprintf(k->err + n, sizeof(k->err) - (size_t)n,
				 "; its clock is %+lld ms from ours",
				 (long long)(k->peer_time_ms - rt_kclient_now(k)));
	} else if (x->res > 0) {
		snprintf(k->err, sizeof(k->err), "%s request not sent: %s (local check)", what,
			 iomt_kdc_strcode(x->res));
	} else if (x->res == -EPROTO) {
		snprintf(k->err, sizeof(k->err),
			 "%s: %d answers to the %s request did not verify (last: %s): wrong key "
			 "file, or someone else is answering", x->peer, x->invalid, what,
			 iomt_kdc_strcode(x->last_invalid));
	} else if (x->res == -ETIMEDOUT) {
		snprintf(k->err, sizeof(k->err), "no answer from %s to the %s request (%d tries "
			 "over %s)", x->peer, what, k->retries + 1, tcp_tried ? "UDP and TCP" :
			 k->transport == RT_KCLIENT_TCP ? "TCP" : "UDP");
	} else {
		snprintf(k->err, sizeof(k->err), "%s request to %s: %s", what, x->peer,
			 strerror(-x->res));
	}
}

/* One exchange, from the saved state: 0, a code, or -errno. On failure the
 * state is what it was before. */
static int exchange(struct rt_kclient *k, struct xchg *x)
{
	int done = 0, tcp_tried = 0;

	x->snap = k->c;
	x->res = -ETIMEDOUT;
	if (x->step == STEP_AP || k->transport != RT_KCLIENT_TCP)
		done = over_udp(k, x);
	if (!done && x->step != STEP_AP && k->transport != RT_KCLIENT_UDP) {
		tcp_tried = k->transport == RT_KCLIENT_AUTO;
		done = over_tcp(k, x);
	}
	if (!done)
		x->res = x->invalid ? -EPROTO : -ETIMEDOUT;
	if (x->res) {
		k->c = x->snap;
		describe(k, x, tcp_tried);
	}
	iomt_wipe(&x->snap, sizeof(x->snap));
	return x->res;
}

static void kdc_exchange_init(struct rt_kclient *k, struct xchg *x, enum step step)
{
	char a[64] = "?", p[8] = "?";

	memset(x, 0, sizeof(*x));
	x->step = step;
	x->to = &k->kdc;
	x->tolen = k->kdc_len;
	getnameinfo((const struct sockaddr *)&k->kdc, k->kdc_len, a, sizeof(a), p, sizeof(p),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(x->peer, sizeof(x->peer),
		 k->kdc.ss_family == AF_INET6 ? "KDC [%s]:%s" : "KDC %s:%s", a, p);
}

static int tgt_valid(const struct rt_kclient *k)
{
	uint8_t s = k->c.state;

	if (s != IOMT_KDC_C_HAVE_TGT && s != IOMT_KDC_C_HAVE_TICKET && s != IOMT_KDC_C_ESTABLISHED)
		return 0;
	/* A little margin: a TGT about to expire would be refused in flight. */
	return rt_kclient_now(k) + 2000 < k->c.tgt_issue_ms + (uint64_t)k->c.tgt_life_s * 1000;
}

int rt_kclient_ticket(struct rt_kclient *k, const char *target)
{
	uint8_t t[IOMT_KDC_NAME_LEN];
	struct xchg x;
	int r, fresh = 0;

	k->last_code = 0;
	k->err[0] = '\0';
	if (!target || iomt_kdc_name_from_text(t, target)) {
		snprintf(k->err, sizeof(k->err), "target '%s': not a principal name (1-16 of "
			 "A-Z a-z 0-9 . _ : -)", target ? target : "");
		return -EINVAL;
	}
	if (!k->kdc_len) {
		snprintf(k->err, sizeof(k->err), "no KDC address");
		return -EINVAL;
	}
	for (;;) {
		if (!tgt_valid(k)) {
			kdc_exchange_init(k, &x, STEP_AS);
			if ((r = exchange(k, &x)))
				return r;
			fresh = 1;
		}
		kdc_exchange_init(k, &x, STEP_TGS);
		x.target = t;
		r = exchange(k, &x);
		/* The TGT ran out between our check and the KDC's: once more. */
		if (r != IOMT_KDC_ERR_EXPIRED || fresh)
			return r;
		k->c.state = IOMT_KDC_C_IDLE;
	}
}

int rt_kclient_ap(struct rt_kclient *k, const char *service)
{
	struct sockaddr_storage ss;
	struct xchg x;

	k->last_code = 0;
	k->err[0] = '\0';
	if (k->c.state != IOMT_KDC_C_HAVE_TICKET && k->c.state != IOMT_KDC_C_ESTABLISHED) {
		snprintf(k->err, sizeof(k->err), "no service ticket: get one first");
		return -EINVAL;
	}
	memset(&x, 0, sizeof(x));
	if (rt_knet_resolve(service, &ss, &x.tolen)) {
		snprintf(k->err, sizeof(k->err), "service '%s': expected HOST:PORT",
			 service ? service : "");
		return -EINVAL;
	}
	x.step = STEP_AP;
	x.to = &ss;
	snprintf(x.peer, sizeof(x.peer), "service %s", service);
	return exchange(k, &x);
}

void rt_kclient_session(const struct rt_kclient *k, struct rt_kclient_session *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->peer, k->c.target, sizeof(s->peer));
	s->ticket_issue_ms = k->c.tkt_issue_ms;
	s->ticket_lifetime_s = k->c.tkt_life_s;
	s->auth_ms = k->c.auth_ms;
	if (k->c.state == IOMT_KDC_C_ESTABLISHED)
		rt_kclient_fingerprint(k->c.session, s->fp);
}

const char *rt_kclient_error(const struct rt_kclient *k)
{
	return k->err[0] ? k->err : "no error";
}

int rt_kclient_init(struct rt_kclient *k, const struct rt_keyfile *kf,
		    const struct rt_kclient_opts *o)
{
	memset(k, 0, sizeof(*k));
	k->transport = o->transport;
	k->timeout_ms = o->timeout_ms ? o->timeout_ms : RT_KCLIENT_TIMEOUT_MS;
	k->retries = o->retries < 0 ? RT_KCLIENT_RETRIES : o->retries;
	k->clock_offset_ms = o->clock_offset_ms;
	if (o->kdc && rt_knet_resolve(o->kdc, &k->kdc, &k->kdc_len)) {
		snprintf(k->err, sizeof(k->err), "KDC '%s': expected HOST:PORT", o->kdc);
		return -EINVAL;
	}
	if (!iomt_kdc_name_valid(kf->name) ||
	    iomt_kdc_client_init(&k->c, kf->name, kf->kvno, kf->key) != IOMT_KDC_OK) {
		snprintf(k->err, sizeof(k->err), "key file: invalid principal name");
		iomt_wipe(k, sizeof(*k));
		return -EINVAL;
	}
	memcpy(k->patient, kf->patient, sizeof(k->patient));
	k->kind = kf->kind;
	return 0;
}

void rt_kclient_wipe(struct rt_kclient *k)
{
	iomt_kdc_client_wipe(&k->c);
	iomt_wipe(k, sizeof(*k));
}
