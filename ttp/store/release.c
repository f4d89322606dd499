/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consent.h"
#include "ct.h"
#include "iomt_err.h"
#include "kchan.h"
#include "lib/rt_consent.h"
#include "lib/rt_kchan.h"
#include "lib/rt_rng.h"
#include "release.h"

static int build(const struct plan *p, const struct plan_req *q, const struct rt_kclient *k,
		 const struct release_opts *o, struct iomt_consent_req *r)
{
	uint64_t now = rt_kclient_now(k);
	size_t note = o->note ? strlen(o->note) : 0;

	memset(r, 0, sizeof(*r));
	if (note > IOMT_CONSENT_NOTE_MAX)
		return -E2BIG;
	memcpy(r->request_id, q->request_id, IOMT_CONSENT_ID_LEN);
	r->created_ms = now;
	r->expires_ms = now + STORE_CONSENT_TTL_MS;
	memcpy(r->requester, k->c.cname, IOMT_CONSENT_NAME_LEN);
	r->purpose = o->purpose;
	r->decrypt_for_s = o->decrypt_for_s;
	r->from_ms = q->from_s * 1000;
	r->to_ms = q->to_s * 1000;
	r->meta = p->trees[q->tree].meta;
	r->count = q->count;
	memcpy(r->nodes, q->nodes, q->count * sizeof(q->nodes[0]));
	r->note_len = (uint8_t)note;
	memcpy(r->note, o->note ? o->note : "", note);
	return 0;
}

/* Field by field: the structs have padding. */
static int same_nodes(const struct iomt_consent_node *a, const struct iomt_consent_node *b,
		      unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (a[i].epoch != b[i].epoch || a[i].node.level != b[i].node.level)
			return 0;
		for (unsigned k = 0; k < IOMT_KEYTREE_MAX_DEPTH; k++)
			if (a[i].node.label[k] != b[i].node.label[k])
				return 0;
	}
	return 1;
}

/* The OK body: our request id, exactly our nodes, in order. */
static int take_keys(const struct plan *p, struct plan_req *q, const uint8_t *body, size_t len,
		     char *err, size_t errlen)
{
	struct iomt_consent_node got[IOMT_CONSENT_MAX_NODES];
	uint8_t rid[IOMT_CONSENT_ID_LEN];
	uint16_t n = 0;
	int e = iomt_release_decode(&p->trees[q->tree].meta.conf, rid, got, q->keys,
				    IOMT_CONSENT_MAX_NODES, &n, body, len);

	if (e) {
		snprintf(err, errlen, "the PPD's release does not parse: %s", iomt_strerror(e));
		return -EPROTO;
	}
	if (!iomt_ct_eq(rid, q->request_id, sizeof(rid)) || n != q->count || !same_nodes(got, q->nodes, n)) {
		iomt_wipe(q->keys, sizeof(q->keys));
		snprintf(err, errlen, "the PPD released other nodes than were asked for");
		return -EPROTO;
	}
	q->released = 1;
	return 0;
}

static int refusal(struct plan_req *q, const uint8_t *body, size_t len, char *err, size_t errlen)
{
	uint8_t rid[IOMT_CONSENT_ID_LEN];

	if (iomt_release_refusal_decode(rid, &q->reason, body, len) ||
	    memcmp(rid, q->request_id, sizeof(rid))) {
		snprintf(err, errlen, "the PPD's refusal does not parse or names another request");
		q->reason = 0;
	}
	return 0;
}

int release_call(struct plan *p, struct plan_req *q, struct rt_kclient *k, EVP_PKEY *app_key,
		 const char *ppd_name, const char *addr, const struct release_opts *o, char *err,
		 size_t errlen)
{
	struct iomt_consent_req *r = malloc(sizeof(*r));
	uint8_t *buf = malloc(IOMT_CONSENT_MAX_LEN), *out = malloc(IOMT_KCHAN_REP_BODY_MAX);
	size_t len = 0, out_len = 0;
	uint8_t status = 0;
	int rc;

	rc = r && buf && out ? rt_random(q->request_id, sizeof(q->request_id)) : -ENOMEM;
	if (!rc)
		rc = build(p, q, k, o, r);
	if (!rc && iomt_consent_encode(r, buf, IOMT_CONSENT_MAX_LEN, &len))
		rc = -EINVAL;
	if (!rc)
		rc = rt_consent_sign(app_key, buf, len);
	if (rc) {
		snprintf(err, errlen, "cannot build the consent request: %s", strerror(-rc));
		goto out;
	}
	rc = rt_kclient_ticket(k, ppd_name);
	if (rc) {
		snprintf(err, errlen, "no ticket for %s: %s", ppd_name,
			 rc > 0 ? rt_kclient_error(k) : strerror(-rc));
		rc = rc > 0 ? -EACCES : rc;
		goto out;
	}
	rc = rt_kchan_call(k, addr, IOMT_KCHAN_OP_RELEASE, buf, len, &status, out,
			   IOMT_KCHAN_REP_BODY_MAX, &out_len, o->timeout_ms);
	if (rc) {
		snprintf(err, errlen, "%s (%s): %s", ppd_name, addr,
			 rc > 0 ? iomt_kdc_strcode(rc) : rt_kclient_error(k)[0] ?
			 rt_kclient_error(k) : strerror(-rc));
		rc = rc > 0 ? -EACCES : rc;
		goto out;
	}
	q->status = status;
	if (status == IOMT_KCHAN_OK)
		rc = take_keys(p, q, out, out_len, err, errlen);
	else if (status == IOMT_KCHAN_DENIED || status == IOMT_KCHAN_REFUSED)
		rc = refusal(q, out, out_len, err, errlen);
out:
	if (out)
		iomt_wipe(out, IOMT_KCHAN_REP_BODY_MAX);
	free(out);
	free(buf);
	free(r);
	return rc;
}
