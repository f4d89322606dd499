/* SPDX-License-Identifier: MIT */
/*
 * One KCHAN request: the AP_REQ (rt_kservice: ticket, authenticator,
 * durable replay cache), the body opened under its session key, the
 * operation, and the reply sealed under the same key. Also PROVISION,
 * which keeps no per-sensor state: K_data_0 is recomputed from K_master
 * and meta_Kdata whenever needed.
 */
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "lib/rt_json.h"
#include "lib/rt_log.h"
#include "lib/rt_rng.h"
#include "metrics.h"
#include "ppd.h"
#include "wire.h"

/* A REFUSED entry for a PROVISION, and the status to answer. */
static int provision_refused(struct ppd *p, struct ppd_req *req, int status, const char *why)
{
	char json[512];
	struct rt_json j;

	rt_json_begin(&j, json, sizeof(json));
	rt_json_str(&j, "op", "provision");
	rt_json_str(&j, "client", req->client);
	rt_json_str(&j, "kind", rt_kservice_kind_str(req->peer->ckind));
	rt_json_str(&j, "reason", why);
	rt_json_end(&j);
	rt_warn("provision for %s refused: %s", req->client, why);
	return ppd_evidence(p, RT_EVLOG_REFUSED, json) ? IOMT_KCHAN_INTERNAL : status;
}

int ppd_provision(struct ppd *p, struct ppd_req *req)
{
	struct iomt_keytree_meta m;
	uint8_t sensor[IOMT_KEYTREE_ID_LEN], k0[IOMT_KEYTREE_KEY_LEN];
	char json[512], kid[2 * IOMT_KEYTREE_ID_LEN + 1];
	struct rt_json j;
	int status = IOMT_KCHAN_OK;

	/* Only the patient's own sensors get data keys. */
	if (req->peer->ckind != IOMT_KDC_KIND_SENSOR)
		return provision_refused(p, req, IOMT_KCHAN_REFUSED, "client is not a sensor");
	if (!iomt_ct_eq(req->peer->patient, p->patient, IOMT_KDC_NAME_LEN))
		return provision_refused(p, req, IOMT_KCHAN_REFUSED, "sensor of another patient");
	memset(&m, 0, sizeof(m));
	if (iomt_provision_req_decode(sensor, &m.conf, req->body, req->len))
		return provision_refused(p, req, IOMT_KCHAN_MALFORMED,
					 "malformed request (size or Conf)");
	/* I_sensor, when given, is the authenticated sensor and nobody else. */
	if (!iomt_ct_is_zero(sensor, sizeof(sensor)) &&
	    !iomt_ct_eq(sensor, req->peer->cname, IOMT_KDC_NAME_LEN))
		return provision_refused(p, req, IOMT_KCHAN_REFUSED,
					 "I_sensor is not the authenticated sensor");
	memcpy(m.sensor_id, sensor, sizeof(sensor));
	memcpy(m.ppd_id, p->id, sizeof(m.ppd_id));
	do {
		if (rt_random(m.key_id, sizeof(m.key_id)))
			return IOMT_KCHAN_INTERNAL;
	} while (iomt_ct_is_zero(m.key_id, sizeof(m.key_id)));
	iomt_hex_encode(m.key_id, sizeof(m.key_id), kid);
	rt_json_begin(&j, json, sizeof(json));
	rt_json_str(&j, "op", "provision");
	rt_json_str(&j, "sensor", req->client);
	rt_json_str(&j, "key_id", kid);
	rt_json_int(&j, "epoch_start", (long long)m.conf.epoch_start);
	rt_json_int(&j, "leaf_period_s", m.conf.leaf_period_s);
	rt_json_int(&j, "refresh_period_s", m.conf.refresh_period_s);
	rt_json_end(&j);
	/* On disk before the key leaves. */
	if (ppd_evidence(p, RT_EVLOG_NOTE, json))
		return IOMT_KCHAN_INTERNAL;
	if (iomt_keytree_data_key0(p->kmaster, &m, k0) ||
	    iomt_provision_rep_encode(&m, k0, req->out)) {
		status = IOMT_KCHAN_INTERNAL;
	} else {
		req->out_len = IOMT_PROVISION_REP_LEN;
		rt_info("provisioned %s: key id %s", req->client, kid);
	}
	iomt_wipe(k0, sizeof(k0));
	return status;
}

/* The framed, sealed reply. */
static void reply(const uint8_t session[IOMT_KDC_KEY_LEN], const uint8_t *auth_nonce,
		  int status, const uint8_t *body, size_t len, uint8_t *out, size_t cap,
		  size_t *out_len)
{
	uint8_t nonce[IOMT_KDC_BOX_NONCE_LEN];
	size_t plen;

	*out_len = 0;
	if (rt_random(nonce, sizeof(nonce)) || cap < IOMT_WIRE_HDR_LEN ||
	    iomt_kchan_rep_seal(session, auth_nonce, (uint8_t)status, nonce, body, len,
				out + IOMT_WIRE_HDR_LEN, cap - IOMT_WIRE_HDR_LEN, &plen)) {
		rt_err("cannot seal a reply");
		return;
	}
	iomt_wire_put_hdr(out, IOMT_MSG_KCHAN_REP, plen);
	*out_len = IOMT_WIRE_HDR_LEN + plen;
}

void ppd_handle(struct ppd *p, const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
		size_t *out_len)
{
	static uint8_t body[PPD_BODY_MAX], answer[PPD_REPLY_MAX];
	const uint8_t *ap, *box;
	const size_t ap_len = IOMT_KDC_AP_REQ_LEN;
	struct rt_kservice_reply rep;
	struct rt_kservice_peer peer;
	struct ppd_req req = { .peer = &peer, .body = body, .out = answer };
	size_t box_len;
	uint8_t op;
	int status;

	*out_len = 0;
	if (iomt_kchan_req_split(payload, len, &ap, &op, &box, &box_len)) {
		/* Too short to hold an AP_REQ: nothing to answer it by. */
		ppd_metrics_count(0, PPD_R_MALFORMED);
		return;
	}
	req.now_ms = ppd_now_ms();
	rt_kservice_batch(p->ks, &ap, &ap_len, 1, req.now_ms, &rep, &peer);
	if (rep.code) {
		ppd_metrics_count(op, PPD_R_UNAUTHENTICATED);
		rt_info("request refused before its body: %s", iomt_kdc_strcode(rep.code));
		if (rep.len <= cap) {
			memcpy(out, rep.frame, rep.len);
			*out_len = rep.len;
		}
		return;
	}
	ppd_name(peer.cname, req.client);
	if (iomt_kchan_req_open(peer.session, op, box, box_len, body, sizeof(body), &req.len)) {
		rt_warn("request of %s: the body does not open", req.client);
		status = IOMT_KCHAN_MALFORMED;
	} else if (op == IOMT_KCHAN_OP_PROVISION) {
		status = ppd_provision(p, &req);
	} else if (op == IOMT_KCHAN_OP_RELEASE) {
		status = ppd_release(p, &req);
	} else {
		rt_warn("request of %s: unknown operation %u", req.client, op);
		status = IOMT_KCHAN_MALFORMED;
	}
	if (status != IOMT_KCHAN_OK && status != IOMT_KCHAN_DENIED &&
	    status != IOMT_KCHAN_REFUSED)
		req.out_len = 0;
	reply(peer.session, ap + IOMT_KDC_TICKET_LEN, status, answer, req.out_len, out, cap,
	      out_len);
	ppd_metrics_count(op, ppd_metrics_result((unsigned)status));
	iomt_wipe(answer, sizeof(answer));
	iomt_wipe(body, req.len);
	iomt_wipe(&peer, sizeof(peer));
}
