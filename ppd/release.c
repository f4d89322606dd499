/* SPDX-License-Identifier: MIT */
/*
 * RELEASE: a cloud application's signed consent request, checked in a
 * fixed order (the first failure is the reason), logged, put to the
 * patient, and only then answered with node keys. Every refusal and every
 * decision is on disk in the evidence log before the reply leaves.
 */
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "lib/rt_consent.h"
#include "lib/rt_json.h"
#include "lib/rt_log.h"
#include "ppd.h"

enum { JSON_MAX = 8192, NODES_TEXT_MAX = IOMT_CONSENT_MAX_NODES * 64 + 1 };

struct rel {
	struct ppd *p;
	struct ppd_req *req;
	struct iomt_consent_req q;
	char id_hex[2 * IOMT_CONSENT_ID_LEN + 1];
	char requester[IOMT_KDC_NAME_LEN + 1];
};

/* "e:level/l0.l1...,..." for logs and evidence (never keys). */
static void nodes_text(const struct iomt_consent_req *q, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < q->count && n < cap; i++) {
		n += (size_t)snprintf(out + n, cap - n, "%s%u:%u", i ? "," : "", q->nodes[i].epoch,
				      q->nodes[i].node.level);
		for (unsigned l = 0; l < q->nodes[i].node.level && n < cap; l++)
			n += (size_t)snprintf(out + n, cap - n, "%c%u", l ? '.' : '/',
					      q->nodes[i].node.label[l]);
	}
}

static int refuse(struct rel *x, uint8_t reason, const char *detail)
{
	static char json[JSON_MAX], raw[2 * IOMT_CONSENT_MAX_LEN + 1];
	struct rt_json j;

	rt_warn("release request %s of %s refused: %s (%s)", x->id_hex[0] ? x->id_hex : "-",
		x->req->client, iomt_release_reason_name(reason), detail);
	iomt_hex_encode(x->req->body, x->req->len < IOMT_CONSENT_MAX_LEN ? x->req->len
								 : IOMT_CONSENT_MAX_LEN, raw);
	rt_json_begin(&j, json, sizeof(json));
	rt_json_str(&j, "op", "release");
	rt_json_str(&j, "reason", iomt_release_reason_name(reason));
	rt_json_str(&j, "detail", detail);
	rt_json_str(&j, "client", x->req->client);
	rt_json_str(&j, "request_id", x->id_hex);
	rt_json_str(&j, "requester", x->requester);
	rt_json_str(&j, "request", raw);
	rt_json_end(&j);
	if (ppd_evidence(x->p, RT_EVLOG_REFUSED, json))
		return IOMT_KCHAN_INTERNAL;
	if (reason == IOMT_RELEASE_R_MALFORMED)
		return IOMT_KCHAN_MALFORMED;
	iomt_release_refusal_encode(x->q.request_id, reason, x->req->out);
	x->req->out_len = IOMT_RELEASE_REFUSAL_LEN;
	return IOMT_KCHAN_REFUSED;
}

/* Some node's time span must meet [from, to]: the node is what the
 * requester asked the patient about, not a key for other times. */
static int node_in_range(const struct iomt_consent_req *q, const struct iomt_consent_node *n)
{
	const struct iomt_keytree_conf *c = &q->meta.conf;
	uint64_t first, count;
	unsigned __int128 start, end;

	if (iomt_keytree_node_range(c, &n->node, &first, &count))
		return 0;
	start = ((unsigned __int128)c->epoch_start + (unsigned __int128)first * c->leaf_period_s) * 1000;
	end = start + (unsigned __int128)count * c->leaf_period_s * 1000;
	return start <= q->to_ms && end > q->from_ms;
}

/* Checks in the documented order: the first that fails is the reason. */
static int check(struct rel *x, const char **detail)
{
	const struct ppd_cfg *cfg = x->p->cfg;
	const struct iomt_consent_req *q = &x->q;
	uint64_t now = x->req->now_ms;
	EVP_PKEY *pub;
	int v;

	if (x->req->peer->ckind != IOMT_KDC_KIND_CLOUD)
		return *detail = "client is not a cloud application", IOMT_RELEASE_R_REQUESTER;
	if (!iomt_ct_eq(q->requester, x->req->peer->cname, IOMT_KDC_NAME_LEN))
		return *detail = "requester is not the authenticated client", IOMT_RELEASE_R_REQUESTER;
	pub = ppd_requesters_find(&x->p->rq, q->requester);
	if (!pub)
		return *detail = "unknown requester", IOMT_RELEASE_R_SIGNATURE;
	if (!rt_consent_verify(pub, x->req->body, x->req->len))
		return *detail = "signature does not verify", IOMT_RELEASE_R_SIGNATURE;
	if (q->created_ms > now + cfg->max_skew)
		return *detail = "created in the future", IOMT_RELEASE_R_EXPIRED;
	if (now >= q->expires_ms)
		return *detail = "expired", IOMT_RELEASE_R_EXPIRED;
	if (q->expires_ms - q->created_ms > cfg->max_validity)
		return *detail = "valid for longer than max_validity", IOMT_RELEASE_R_EXPIRED;
	v = rt_replay_check_and_add(x->p->seen, q->request_id, q->expires_ms, now);
	if (v < 0 || v == RT_REPLAY_FULL)
		return *detail = v < 0 ? "request id cache write failed" : "request id cache full",
		       IOMT_RELEASE_R_INTERNAL;
	if (v == RT_REPLAY_SEEN)
		return *detail = "request id seen before", IOMT_RELEASE_R_REPLAY;
	if (!iomt_ct_eq(q->meta.ppd_id, x->p->id, IOMT_KDC_NAME_LEN))
		return *detail = "meta_Kdata names another PPD", IOMT_RELEASE_R_NOT_OURS;
	for (unsigned i = 0; i < q->count; i++)
		if (!node_in_range(q, &q->nodes[i]))
			return *detail = "a node lies outside the time range", IOMT_RELEASE_R_NODES;
	return 0;
}

static int log_decision(struct rel *x, const struct ppd_decision *d)
{
	static char json[JSON_MAX];
	struct rt_json j;

	rt_json_begin(&j, json, sizeof(json));
	rt_json_str(&j, "request_id", x->id_hex);
	rt_json_str(&j, "requester", x->requester);
	rt_json_str(&j, "purpose", iomt_consent_purpose_name(x->q.purpose));
	rt_json_str(&j, "decision", d->approve ? "approve" : "deny");
	if (!d->approve)
		rt_json_str(&j, "reason", iomt_release_reason_name(d->reason));
	rt_json_str(&j, "by", d->by);
	rt_json_int(&j, "rule", d->rule);
	rt_json_end(&j);
	return ppd_evidence(x->p, RT_EVLOG_DECISION, json);
}

static int log_release(struct rel *x)
{
	static char json[JSON_MAX], nodes[NODES_TEXT_MAX];
	struct rt_json j;

	nodes_text(&x->q, nodes, sizeof(nodes));
	rt_json_begin(&j, json, sizeof(json));
	rt_json_str(&j, "request_id", x->id_hex);
	rt_json_str(&j, "requester", x->requester);
	rt_json_int(&j, "count", x->q.count);
	rt_json_str(&j, "nodes", nodes);
	rt_json_int(&j, "decrypt_for_s", x->q.decrypt_for_s);
	rt_json_end(&j);
	return ppd_evidence(x->p, RT_EVLOG_KEY_RELEASE, json);
}

/* Node keys: K_data_0 from K_master and the meta, forward to each epoch
 * (restarting only when an earlier epoch follows a later one). */
static int derive(struct ppd *p, const struct iomt_consent_req *q,
		  uint8_t (*keys)[IOMT_KEYTREE_KEY_LEN])
{
	uint8_t k0[IOMT_KEYTREE_KEY_LEN], ke[IOMT_KEYTREE_KEY_LEN];
	uint32_t at = 0;
	int err = iomt_keytree_data_key0(p->kmaster, &q->meta, k0);

	memcpy(ke, k0, sizeof(ke));
	for (unsigned i = 0; !err && i < q->count; i++) {
		uint32_t e = q->nodes[i].epoch;

		if (e < at) {
			memcpy(ke, k0, sizeof(ke));
			at = 0;
		}
		for (; !err && at < e; at++)
			err = iomt_keytree_refresh(ke, ke);
		if (!err)
			err = iomt_keytree_node_key(&q->meta.conf, e, ke, &q->nodes[i].node, keys[i]);
	}
	iomt_wipe(k0, sizeof(k0));
	iomt_wipe(ke, sizeof(ke));
	return err;
}

int ppd_release(struct ppd *p, struct ppd_req *req)
{
	static struct rel x;
	static uint8_t keys[IOMT_CONSENT_MAX_NODES][IOMT_KEYTREE_KEY_LEN];
	struct ppd_decision d;
	const char *detail = "";
	size_t n;
	int reason, status;

	memset(&x, 0, sizeof(x));
	x.p = p;
	x.req = req;
	if (iomt_consent_decode(&x.q, req->body, req->len))
		return refuse(&x, IOMT_RELEASE_R_MALFORMED, "the consent request does not parse");
	iomt_hex_encode(x.q.request_id, IOMT_CONSENT_ID_LEN, x.id_hex);
	ppd_name(x.q.requester, x.requester);
	reason = check(&x, &detail);
	if (reason == IOMT_RELEASE_R_INTERNAL) {
		refuse(&x, (uint8_t)reason, detail);
		req->out_len = 0;
		return IOMT_KCHAN_INTERNAL;
	}
	if (reason)
		return refuse(&x, (uint8_t)reason, detail);
	/* The signed request itself, as received: the requester's own words. */
	if (rt_evlog_append(p->log, RT_EVLOG_CONSENT_REQUEST, req->body, req->len, NULL)) {
		rt_err("evidence log: cannot append the consent request: nothing is released");
		return IOMT_KCHAN_INTERNAL;
	}
	ppd_decide(p, &x.q, &d);
	if (log_decision(&x, &d))
		return IOMT_KCHAN_INTERNAL;
	if (!d.approve) {
		rt_info("release request %s of %s: denied (%s, by %s)", x.id_hex, x.requester,
			iomt_release_reason_name(d.reason), d.by);
		iomt_release_refusal_encode(x.q.request_id, d.reason, req->out);
		req->out_len = IOMT_RELEASE_REFUSAL_LEN;
		return IOMT_KCHAN_DENIED;
	}
	status = IOMT_KCHAN_INTERNAL;
	if (!derive(p, &x.q, keys) && !log_release(&x) &&
	    !iomt_release_encode(x.q.request_id, x.q.nodes, (const uint8_t (*)[16])keys, x.q.count,
				 req->out, PPD_REPLY_MAX, &n)) {
		req->out_len = n;
		status = IOMT_KCHAN_OK;
		rt_info("release request %s of %s: %u node keys released (by %s)", x.id_hex,
			x.requester, x.q.count, d.by);
	}
	iomt_wipe(keys, sizeof(keys));
	return status;
}
