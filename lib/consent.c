/* SPDX-License-Identifier: MIT */
/*
 * The PPD's bodies (lib/consent.h): PROVISION request and reply, the signed
 * consent request and the RELEASE reply. Exact sizes, every field checked
 * against the Conf it belongs to; integers big-endian (lib/codec.h).
 */
#include <string.h>
#include "consent.h"
#include "codec.h"
#include "ct.h"
#include "iomt_err.h"
#include "kdc.h"

_Static_assert((int)IOMT_CONSENT_NAME_LEN == (int)IOMT_KDC_NAME_LEN, "requester is a KDC name");
_Static_assert(IOMT_CONSENT_FIXED_LEN == 150, "consent fixed part");

/* A node is fine for a request iff it is in the Conf's tree, at or below
 * the epoch level, and inside the epoch it is given with (keytree.h: the
 * PPD never releases a key spanning epochs). */
static int node_in_epoch(const struct iomt_keytree_conf *c, const struct iomt_consent_node *n)
{
	struct iomt_keytree_shape sh;
	uint8_t id[IOMT_KEYTREE_NODE_LEN];
	uint64_t first, count;

	if (iomt_keytree_shape(c, &sh) || iomt_keytree_node_encode(c, &n->node, id))
		return 0;
	if (n->node.level < sh.epoch_level || n->epoch >= sh.epochs)
		return 0;
	if (iomt_keytree_node_range(c, &n->node, &first, &count))
		return 0;
	return first / sh.epoch_leaves == n->epoch;
}

static void put_node(struct iomt_wr *w, const struct iomt_keytree_conf *c,
		     const struct iomt_consent_node *n)
{
	uint8_t *p;

	iomt_wr_u32(w, n->epoch);
	p = iomt_wr_reserve(w, IOMT_KEYTREE_NODE_LEN);
	if (p && iomt_keytree_node_encode(c, &n->node, p) && !w->err)
		w->err = IOMT_EMALFORMED;
}

static void get_node(struct iomt_rd *r, const struct iomt_keytree_conf *c,
		     struct iomt_consent_node *n)
{
	const uint8_t *p;

	n->epoch = iomt_rd_u32(r);
	p = iomt_rd_ptr(r, IOMT_KEYTREE_NODE_LEN);
	if (!p)
		return;
	if ((iomt_keytree_node_decode(c, &n->node, p, IOMT_KEYTREE_NODE_LEN) ||
	     !node_in_epoch(c, n)) && !r->err)
		r->err = IOMT_EMALFORMED;
}

/* Every field of a request but the nodes and the note's bytes. */
static int fields_valid(const struct iomt_consent_req *q)
{
	return q->purpose >= 1 && q->purpose <= IOMT_PURPOSE_MAX && q->count >= 1 &&
	       q->count <= IOMT_CONSENT_MAX_NODES && q->from_ms <= q->to_ms &&
	       q->created_ms <= q->expires_ms && iomt_kdc_name_valid(q->requester) &&
	       !iomt_kdc_name_is_empty(q->requester);
}

/* 1 if a NUL byte is among s[0..n): the note is text (no memchr: lib/ links
 * nothing but mem{cpy,set,cmp,move} on the sensor). */
static int has_nul(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i])
			return 1;
	return 0;
}

int iomt_consent_encode(const struct iomt_consent_req *r, uint8_t *out, size_t cap,
			size_t *out_len)
{
	struct iomt_wr w;
	uint8_t *p;
	size_t n;

	if (out_len)
		*out_len = 0;
	if (!r || !out_len || (!out && cap))
		return IOMT_EINVAL;
	/* What the decoder refuses is never written: a zero key id included. */
	if (!fields_valid(r) || has_nul(r->note, r->note_len) ||
	    iomt_ct_is_zero(r->meta.key_id, IOMT_KEYTREE_ID_LEN))
		return IOMT_EMALFORMED;
	for (unsigned i = 0; i < r->count; i++)
		if (!node_in_epoch(&r->meta.conf, &r->nodes[i]))
			return IOMT_EMALFORMED;
	iomt_wr_init(&w, out, cap);
	iomt_wr_u8(&w, IOMT_CONSENT_VERSION);
	iomt_wr_bytes(&w, r->request_id, IOMT_CONSENT_ID_LEN);
	iomt_wr_u64(&w, r->created_ms);
	iomt_wr_u64(&w, r->expires_ms);
	iomt_wr_bytes(&w, r->requester, IOMT_CONSENT_NAME_LEN);
	iomt_wr_u8(&w, r->purpose);
	iomt_wr_u32(&w, r->decrypt_for_s);
	iomt_wr_u64(&w, r->from_ms);
	iomt_wr_u64(&w, r->to_ms);
	p = iomt_wr_reserve(&w, IOMT_KEYTREE_META_LEN);
	if (p && iomt_keytree_meta_encode(&r->meta, p))
		return IOMT_EMALFORMED;
	iomt_wr_u16(&w, r->count);
	for (unsigned i = 0; i < r->count; i++)
		put_node(&w, &r->meta.conf, &r->nodes[i]);
	iomt_wr_u8(&w, r->note_len);
	iomt_wr_bytes(&w, r->note, r->note_len);
	iomt_wr_bytes(&w, r->sig, IOMT_CONSENT_SIG_LEN);
	return iomt_wr_finish(&w, &n) ? IOMT_ESIZE : (*out_len = n, IOMT_OK);
}

int iomt_consent_decode(struct iomt_consent_req *r, const uint8_t *in, size_t len)
{
	struct iomt_rd rd;
	const uint8_t *p;
	size_t nodes_len;
	int err;

	if (!r || !in)
		return IOMT_EINVAL;
	memset(r, 0, sizeof(*r));
	/* Shorter than one node and no note, or longer than 64 and a full note. */
	if (len < IOMT_CONSENT_MIN_LEN || len > IOMT_CONSENT_MAX_LEN)
		return IOMT_ESIZE;
	iomt_rd_init(&rd, in, len);
	if (iomt_rd_u8(&rd) != IOMT_CONSENT_VERSION)
		return IOMT_EMALFORMED;
	iomt_rd_bytes(&rd, r->request_id, IOMT_CONSENT_ID_LEN);
	r->created_ms = iomt_rd_u64(&rd);
	r->expires_ms = iomt_rd_u64(&rd);
	iomt_rd_bytes(&rd, r->requester, IOMT_CONSENT_NAME_LEN);
	r->purpose = iomt_rd_u8(&rd);
	r->decrypt_for_s = iomt_rd_u32(&rd);
	r->from_ms = iomt_rd_u64(&rd);
	r->to_ms = iomt_rd_u64(&rd);
	p = iomt_rd_ptr(&rd, IOMT_KEYTREE_META_LEN);
	err = p ? iomt_keytree_meta_decode(&r->meta, p, IOMT_KEYTREE_META_LEN) : IOMT_ESIZE;
	if (err)
		goto bad;
	r->count = iomt_rd_u16(&rd);
	if (!fields_valid(r)) {
		err = IOMT_EMALFORMED;
		goto bad;
	}
	/* The count and the note length say how long the rest is. */
	nodes_len = (size_t)r->count * IOMT_CONSENT_NODE_ENTRY_LEN;
	if (iomt_rd_left(&rd) < nodes_len + 1 + IOMT_CONSENT_SIG_LEN ||
	    iomt_rd_left(&rd) != nodes_len + 1 + in[IOMT_CONSENT_FIXED_LEN + nodes_len] +
					 IOMT_CONSENT_SIG_LEN) {
		err = IOMT_ESIZE;
		goto bad;
	}
	for (unsigned i = 0; i < r->count; i++)
		get_node(&rd, &r->meta.conf, &r->nodes[i]);
	r->note_len = iomt_rd_u8(&rd);
	iomt_rd_bytes(&rd, r->note, r->note_len);
	r->note[r->note_len] = '\0';
	iomt_rd_bytes(&rd, r->sig, IOMT_CONSENT_SIG_LEN);
	err = iomt_rd_finish(&rd);
	if (!err && has_nul(r->note, r->note_len))
		err = IOMT_EMALFORMED;
	if (!err)
		return IOMT_OK;
bad:
	memset(r, 0, sizeof(*r));
	return err == IOMT_ESIZE ? IOMT_ESIZE : IOMT_EMALFORMED;
}

size_t iomt_consent_signed_len(size_t encoded_len)
{
	return encoded_len > IOMT_CONSENT_SIG_LEN ? encoded_len - IOMT_CONSENT_SIG_LEN : 0;
}

/* ---- PROVISION ---- */

int iomt_provision_req_encode(const uint8_t sensor_id[IOMT_KEYTREE_ID_LEN],
			      const struct iomt_keytree_conf *c,
			      uint8_t out[IOMT_PROVISION_REQ_LEN])
{
	static const uint8_t zero[IOMT_KEYTREE_ID_LEN];

	if (!c || !out)
		return IOMT_EINVAL;
	if (iomt_keytree_conf_encode(c, out + IOMT_KEYTREE_ID_LEN))
		return IOMT_EMALFORMED;
	memcpy(out, sensor_id ? sensor_id : zero, IOMT_KEYTREE_ID_LEN);
	return IOMT_OK;
}

int iomt_provision_req_decode(uint8_t sensor_id[IOMT_KEYTREE_ID_LEN],
			      struct iomt_keytree_conf *c, const uint8_t *in, size_t len)
{
	if (!sensor_id || !c || !in)
		return IOMT_EINVAL;
	memset(c, 0, sizeof(*c));
	if (len != IOMT_PROVISION_REQ_LEN)
		return IOMT_ESIZE;
	if (iomt_keytree_conf_decode(c, in + IOMT_KEYTREE_ID_LEN, IOMT_KEYTREE_CONF_LEN))
		return IOMT_EMALFORMED;
	memcpy(sensor_id, in, IOMT_KEYTREE_ID_LEN);
	return IOMT_OK;
}

int iomt_provision_rep_encode(const struct iomt_keytree_meta *m,
			      const uint8_t k_data0[IOMT_KEYTREE_KEY_LEN],
			      uint8_t out[IOMT_PROVISION_REP_LEN])
{
	if (!m || !k_data0 || !out)
		return IOMT_EINVAL;
	if (iomt_keytree_meta_encode(m, out) || iomt_ct_is_zero(m->key_id, IOMT_KEYTREE_ID_LEN))
		return IOMT_EMALFORMED;
	memcpy(out + IOMT_KEYTREE_META_LEN, k_data0, IOMT_KEYTREE_KEY_LEN);
	return IOMT_OK;
}

int iomt_provision_rep_decode(struct iomt_keytree_meta *m, uint8_t k_data0[IOMT_KEYTREE_KEY_LEN],
			      const uint8_t *in, size_t len)
{
	int err;

	if (!m || !k_data0 || !in)
		return IOMT_EINVAL;
	memset(m, 0, sizeof(*m));
	if (len != IOMT_PROVISION_REP_LEN)
		return IOMT_ESIZE;
	err = iomt_keytree_meta_decode(m, in, IOMT_KEYTREE_META_LEN);
	if (err)
		return err == IOMT_ESIZE ? IOMT_ESIZE : IOMT_EMALFORMED;
	memcpy(k_data0, in + IOMT_KEYTREE_META_LEN, IOMT_KEYTREE_KEY_LEN);
	return IOMT_OK;
}

/* ---- RELEASE ---- */

int iomt_release_encode(const uint8_t request_id[IOMT_CONSENT_ID_LEN],
			const struct iomt_consent_node *nodes,
			const uint8_t (*keys)[IOMT_KEYTREE_KEY_LEN], uint16_t count,
			uint8_t *out, size_t cap, size_t *out_len)
{
	struct iomt_wr w;
	size_t n;

	if (out_len)
		*out_len = 0;
	if (!request_id || !nodes || !keys || !out_len || (!out && cap))
		return IOMT_EINVAL;
	if (count < 1 || count > IOMT_CONSENT_MAX_NODES)
		return IOMT_EMALFORMED;
	iomt_wr_init(&w, out, cap);
	iomt_wr_bytes(&w, request_id, IOMT_CONSENT_ID_LEN);
	iomt_wr_u16(&w, count);
	for (unsigned i = 0; i < count; i++) {
		uint8_t *p;

		/* Node ids are written as they were asked for: no Conf here. */
		iomt_wr_u32(&w, nodes[i].epoch);
		p = iomt_wr_reserve(&w, IOMT_KEYTREE_NODE_LEN);
		if (p) {
			p[0] = nodes[i].node.level;
			for (unsigned j = 0; j < IOMT_KEYTREE_MAX_DEPTH; j++) {
				p[1 + 2 * j] = (uint8_t)(nodes[i].node.label[j] >> 8);
				p[2 + 2 * j] = (uint8_t)nodes[i].node.label[j];
			}
		}
		iomt_wr_bytes(&w, keys[i], IOMT_KEYTREE_KEY_LEN);
	}
	if (iomt_wr_finish(&w, &n)) {
		if (out)
			iomt_wipe(out, cap);
		return IOMT_ESIZE;
	}
	*out_len = n;
	return IOMT_OK;
}

int iomt_release_decode(const struct iomt_keytree_conf *c,
			uint8_t request_id[IOMT_CONSENT_ID_LEN], struct iomt_consent_node *nodes,
			uint8_t (*keys)[IOMT_KEYTREE_KEY_LEN], size_t cap, uint16_t *count,
			const uint8_t *in, size_t len)
{
	struct iomt_rd rd;
	uint16_t n;
	int err;

	if (!c || !request_id || !nodes || !keys || !count || !in)
		return IOMT_EINVAL;
	*count = 0;
	if (len < IOMT_CONSENT_ID_LEN + 2 + IOMT_RELEASE_KEY_ENTRY_LEN)
		return IOMT_ESIZE;
	iomt_rd_init(&rd, in, len);
	iomt_rd_bytes(&rd, request_id, IOMT_CONSENT_ID_LEN);
	n = iomt_rd_u16(&rd);
	if (n < 1 || n > IOMT_CONSENT_MAX_NODES)
		return IOMT_EMALFORMED;
	if (iomt_rd_left(&rd) != (size_t)n * IOMT_RELEASE_KEY_ENTRY_LEN)
		return IOMT_ESIZE;
	if (n > cap)
		return IOMT_ESIZE;
	for (unsigned i = 0; i < n; i++) {
		get_node(&rd, c, &nodes[i]);
		iomt_rd_bytes(&rd, keys[i], IOMT_KEYTREE_KEY_LEN);
	}
	err = iomt_rd_finish(&rd);
	if (err) {
		iomt_wipe(keys, (size_t)n * IOMT_KEYTREE_KEY_LEN);
		return err == IOMT_ESIZE ? IOMT_ESIZE : IOMT_EMALFORMED;
	}
	*count = n;
	return IOMT_OK;
}

void iomt_release_refusal_encode(const uint8_t request_id[IOMT_CONSENT_ID_LEN], uint8_t reason,
				 uint8_t out[IOMT_RELEASE_REFUSAL_LEN])
{
	memcpy(out, request_id, IOMT_CONSENT_ID_LEN);
	out[IOMT_CONSENT_ID_LEN] = reason;
}

int iomt_release_refusal_decode(uint8_t request_id[IOMT_CONSENT_ID_LEN], uint8_t *reason,
				const uint8_t *in, size_t len)
{
	if (!request_id || !reason || !in)
		return IOMT_EINVAL;
	if (len != IOMT_RELEASE_REFUSAL_LEN)
		return IOMT_ESIZE;
	/* An OK reason would say nothing: refusals carry 1..11. */
	if (in[IOMT_CONSENT_ID_LEN] < IOMT_RELEASE_R_PATIENT ||
	    in[IOMT_CONSENT_ID_LEN] > IOMT_RELEASE_R_INTERNAL)
		return IOMT_EMALFORMED;
	memcpy(request_id, in, IOMT_CONSENT_ID_LEN);
	*reason = in[IOMT_CONSENT_ID_LEN];
	return IOMT_OK;
}

const char *iomt_consent_purpose_name(unsigned purpose)
{
	static const char *const names[] = { "?", "treatment", "emergency", "research", "quality" };

	return purpose <= IOMT_PURPOSE_MAX ? names[purpose] : "?";
}

const char *iomt_release_reason_name(unsigned reason)
{
	static const char *const names[] = {
		"?", "patient", "policy", "timeout", "signature", "replay", "expired",
		"not_ours", "requester", "nodes", "malformed", "internal",
	};

	return reason <= IOMT_RELEASE_R_INTERNAL ? names[reason] : "?";
}
