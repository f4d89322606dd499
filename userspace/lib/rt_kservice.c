/* SPDX-License-Identifier: MIT */
/* AP service: verify a batch, record it durably, then build the replies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "rt_kservice.h"
#include "rt_log.h"
#include "rt_rng.h"

struct rt_kservice {
	struct rt_keyfile kf;			/* secret */
	struct rt_replay *replay;
	uint32_t skew_ms;
	size_t batch_max;
	/* One batch's arrays. */
	struct iomt_kdc_ap_result *res;		/* secret */
	int *code, *verdict;
	uint8_t (*rkey)[RT_REPLAY_KEY_LEN];
	uint64_t *exp;
	size_t *slot;				/* request index of rkey[j] */
	uint64_t count[RT_KSERVICE_NCODES];
	int failed;				/* the replay cache refused a write */
};

const char *rt_kservice_name_str(const uint8_t name[IOMT_KDC_NAME_LEN], char *buf, size_t len)
{
	size_t n = 0;

	while (n < IOMT_KDC_NAME_LEN && name[n] && n + 1 < len) {
		buf[n] = (char)name[n];
		n++;
	}
	if (len)
		buf[n] = '\0';
	return buf;
}

const char *rt_kservice_kind_str(uint8_t kind)
{
	static const char *const names[] = { "tgs", "sensor", "gateway", "ppd", "cloud" };

	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}

static void err_reply(struct rt_kservice_reply *rep, int code, const uint8_t ref[8],
		      uint64_t now_ms)
{
	rep->code = code;
	iomt_wire_put_hdr(rep->frame, IOMT_MSG_KDC_ERR, IOMT_KDC_ERR_LEN);
	iomt_kdc_err_build((uint8_t)code, ref, now_ms, rep->frame + IOMT_WIRE_HDR_LEN);
	rep->len = IOMT_WIRE_HDR_LEN + IOMT_KDC_ERR_LEN;
}

/* An AP_REP for a request that verified and is new: 0, or a code. */
static int ap_reply(struct rt_kservice_reply *rep, const struct iomt_kdc_ap_result *res)
{
	uint8_t rnd[IOMT_KDC_AP_REP_RAND];
	int r = rt_random(rnd, sizeof(rnd));

	if (r) {
		rt_err("no randomness for an AP_REP: %s", strerror(-r));
		return IOMT_KDC_ERR_INTERNAL;
	}
	r = iomt_kdc_ap_reply(res, rnd, rep->frame + IOMT_WIRE_HDR_LEN);
	iomt_wipe(rnd, sizeof(rnd));
	if (r)
		return r;
	iomt_wire_put_hdr(rep->frame, IOMT_MSG_KDC_AP_REP, IOMT_KDC_AP_REP_LEN);
	rep->len = IOMT_WIRE_HDR_LEN + IOMT_KDC_AP_REP_LEN;
	rep->code = 0;
	return 0;
}

/* The replay cache's word on the verified ones (s->code updated). */
static void replay_check(struct rt_kservice *s, size_t n, uint64_t now_ms)
{
	size_t k = 0;
	int r;

	for (size_t i = 0; i < n; i++) {
		if (s->code[i] != IOMT_KDC_OK)
			continue;
		memcpy(s->rkey[k], s->res[i].replay_key, RT_REPLAY_KEY_LEN);
		/* Valid until the authenticator leaves the skew window. */
		s->exp[k] = s->res[i].auth_ms + s->skew_ms + 1;
		s->slot[k++] = i;
	}
	if (!k)
		return;
	r = rt_replay_check_and_add_batch(s->replay, (const uint8_t(*)[RT_REPLAY_KEY_LEN])s->rkey,
					  s->exp, k, now_ms, s->verdict);
	for (size_t j = 0; j < k; j++) {
		int *c = &s->code[s->slot[j]];

		if (r)
			*c = IOMT_KDC_ERR_INTERNAL;
		else if (s->verdict[j] == RT_REPLAY_SEEN)
			*c = IOMT_KDC_ERR_REPLAY;
		else if (s->verdict[j] == RT_REPLAY_FULL)
			*c = IOMT_KDC_ERR_BUSY;
	}
	if (r) {
		rt_err("replay cache: %s: %zu AP requests refused (INTERNAL)", strerror(-r), k);
		s->failed = r != -ENOMEM;
	}
}

static void fill_peer(struct rt_kservice_peer *p, const struct iomt_kdc_ap_result *res)
{
	memcpy(p->cname, res->tkt.cname, sizeof(p->cname));
	p->ckind = res->tkt.ckind;
	memcpy(p->patient, res->tkt.patient, sizeof(p->patient));
	memcpy(p->session, res->session, sizeof(p->session));
	p->ticket_end_ms = res->tkt.issue_ms + (uint64_t)res->tkt.lifetime_s * 1000;
	p->auth_ms = res->auth_ms;
}

/* At most batch_max requests. */
static size_t one_batch(struct rt_kservice *s, const uint8_t *const *req, const size_t *len,
			size_t n, uint64_t now_ms, struct rt_kservice_reply *rep,
			struct rt_kservice_peer *peer)
{
	size_t ok = 0;

	iomt_kdc_ap_verify_batch(s->kf.key, s->kf.name, s->kf.kvno, req, len, n, now_ms,
				 s->skew_ms, s->res, s->code);
	replay_check(s, n, now_ms);
	for (size_t i = 0; i < n; i++) {
		int c = s->code[i];

		memset(&rep[i], 0, sizeof(rep[i]));
		if (c == IOMT_KDC_OK && (c = ap_reply(&rep[i], &s->res[i])) == IOMT_KDC_OK) {
			fill_peer(&peer[i], &s->res[i]);
			ok++;
		} else if (len[i] == IOMT_KDC_AP_REQ_LEN) {
			err_reply(&rep[i], c, s->res[i].ref, now_ms);
		} else {
			/* Wrong size: nothing to name it by, so no answer. */
			rep[i].code = c ? c : IOMT_KDC_ERR_MALFORMED;
		}
		s->count[rep[i].code < RT_KSERVICE_NCODES ? rep[i].code : IOMT_KDC_ERR_INTERNAL]++;
	}
	iomt_wipe(s->res, n * sizeof(*s->res));
	return ok;
}

size_t rt_kservice_batch(struct rt_kservice *s, const uint8_t *const *req, const size_t *len,
			 size_t n, uint64_t now_ms, struct rt_kservice_reply *rep,
			 struct rt_kservice_peer *peer)
{
	size_t ok = 0;

	for (size_t i = 0; i < n; i += s->batch_max) {
		size_t c = n - i < s->batch_max ? n - i : s->batch_max;

		ok += one_batch(s, req + i, len + i, c, now_ms, rep + i, peer + i);
	}
	return ok;
}

const uint8_t *rt_kservice_name(const struct rt_kservice *s)
{
	return s->kf.name;
}

int rt_kservice_failed(const struct rt_kservice *s)
{
	return s->failed;
}

uint64_t rt_kservice_count(const struct rt_kservice *s, int code)
{
	return code >= 0 && code < RT_KSERVICE_NCODES ? s->count[code] : 0;
}

void rt_kservice_replay_stats(const struct rt_kservice *s, struct rt_replay_stats *st)
{
	rt_replay_get_stats(s->replay, st);
}

static int alloc_batch(struct rt_kservice *s)
{
	size_t n = s->batch_max;

	s->res = calloc(n, sizeof(*s->res));
	s->code = calloc(n, sizeof(*s->code));
	s->verdict = calloc(n, sizeof(*s->verdict));
	s->rkey = calloc(n, sizeof(*s->rkey));
	s->exp = calloc(n, sizeof(*s->exp));
	s->slot = calloc(n, sizeof(*s->slot));
	return s->res && s->code && s->verdict && s->rkey && s->exp && s->slot ? 0 : -ENOMEM;
}

int rt_kservice_open(const struct rt_kservice_opts *o, uint64_t now_ms, struct rt_kservice **out,
		     char *err, size_t errlen)
{
	struct rt_kservice *s = calloc(1, sizeof(*s));
	size_t cap = o->replay_capacity ? o->replay_capacity : RT_KSERVICE_REPLAY_CAPACITY;
	char kerr[256];
	int r;

	*out = NULL;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->skew_ms = o->max_skew_ms ? o->max_skew_ms : RT_KSERVICE_SKEW_MS;
	s->batch_max = o->batch_max ? o->batch_max : RT_KSERVICE_BATCH;
	if (s->batch_max > RT_KSERVICE_BATCH_MAX)
		s->batch_max = RT_KSERVICE_BATCH_MAX;
	r = rt_keyfile_read(o->key_path, o->passcode, &s->kf, kerr, sizeof(kerr));
	if (r) {
		snprintf(err, errlen, "key file %s: %s", o->key_path, kerr);
	} else if ((r = alloc_batch(s))) {
		snprintf(err, errlen, "out of memory for batches of %zu", s->batch_max);
	} else if ((r = rt_replay_open(o->replay_path, cap, now_ms, &s->replay))) {
		snprintf(err, errlen, "replay cache %s: %s", o->replay_path ? o->replay_path : "",
			 r == -EBUSY	? "in use by another service"
			 : r == -EINVAL ? "bad path, not a replay cache, or more live entries "
					  "than its capacity (see the log)"
					: strerror(-r));
	}
	if (r) {
		rt_kservice_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void rt_kservice_close(struct rt_kservice *s)
{
	if (!s)
		return;
	rt_replay_close(s->replay);
	if (s->res)
		iomt_wipe(s->res, s->batch_max * sizeof(*s->res));
	free(s->res);
	free(s->code);
	free(s->verdict);
	free(s->rkey);
	free(s->exp);
	free(s->slot);
	rt_keyfile_wipe(&s->kf);
	iomt_wipe(s, sizeof(*s));
	free(s);
}
