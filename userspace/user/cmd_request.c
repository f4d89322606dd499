// SPDX-License-Identifier: MIT
/*
 * iomt-user request: seed 002 phase 5 from the patient's or doctor's side.
 * A P5_REQ (ID_a, a fresh ephemeral key E_U, a nonce; the certificate, ts
 * and signature sealed to the TTP's grant key, so the MEC never reads who
 * asks) to the MEC, which asks the TTP; then the key agreement with the MEC (P5_ACCEPT, P5_CONFIRM) and
 * the analysis's results, sealed under the agreed key, each one checked
 * against the MEC's signature. docs/PROTOCOL.md §9.
 */
#define OPENSSL_API_COMPAT 0x30000000L
#define OPENSSL_NO_DEPRECATED
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bytes.h"
#include "ct.h"
#include "iomt_err.h"
#include "lib/analysis.h"
#include "lib/rt_rng.h"
#include "lib/s2_p56.h"
#include "lib/s2_result.h"
#include "user.h"
#include "wire.h"

static const char usage[] =
	"Usage: iomt-user request --mec HOST:PORT --key KEYFILE --ca-pub CA.pem\n"
	"                         --analysis ID_A [--ttp-pub TTP.pem] [--out FILE]\n"
	"                         [--timeout SECONDS] [--save-request FILE]\n"
	"\n"
	"Phase 5: asks the MEC for the results of analysis ID_A (32 hex digits). The\n"
	"request is signed with KEYFILE and its certificate travels sealed to the TTP\n"
	"(its grant public key, --ttp-pub, default CA.pem): the MEC forwards it\n"
	"unread and has the TTP check the certificate and the analysis policy. Then\n"
	"both sides agree on a key (ephemeral ECDH bound to the MEC's certificate and\n"
	"our public key, with key confirmation) and the results come sealed under\n"
	"it. Each result's MEC signature is verified and printed; --out writes the\n"
	"results (count, then length-prefixed result || signature records) to FILE.\n"
	"A refusal prints why and exits 1. --save-request (tests) also writes the\n"
	"P5_REQ frame sent, header included, to FILE.\n";

enum { FRAME_CAP = IOMT_WIRE_HDR_LEN + P56_RESULTS_PT_MAX + P56_TAG_LEN };

struct req {
	const char *mec, *key_path, *ca_path, *ttp_path, *analysis, *out, *timeout, *save;
	unsigned long timeout_s;
	struct user_key key;
	EVP_PKEY *ca_pub, *ttp_pub, *e_u, *e_m, *q_m;
	uint8_t id_a[P56_ID_LEN];
	uint8_t msg[P56_REQ_MAX];
	size_t msg_len;
	struct ecqv_cert mec_cert;
	struct p56_keys k;
};

static int args(struct req *q, uint64_t now)
{
	size_t bad = 0;

	q->timeout_s = USER_TIMEOUT_S;
	if (q->timeout && parse_uint(q->timeout, 1, 600, &q->timeout_s))
		return user_fail("--timeout %s: expected seconds, 1..600", q->timeout);
	if (iomt_hex_decode(q->analysis, strlen(q->analysis), q->id_a, sizeof(q->id_a), &bad))
		return user_fail("--analysis %s: expected 32 hex digits", q->analysis);
	if (keyfile_load(q->key_path, &q->key) || ca_pub_load(q->ca_path, &q->ca_pub) ||
	    ca_pub_load(q->ttp_path ? q->ttp_path : q->ca_path, &q->ttp_pub) ||
	    keyfile_check_cert(&q->key, q->ca_pub, now))
		return USER_EXIT_FAIL;
	return 0;
}

static int build(struct req *q, uint64_t now)
{
	uint8_t nonce[P56_NONCE_LEN], eph[P56_PT_LEN];
	int err;

	q->e_u = ecies_ephemeral();
	if (!q->e_u || ecies_point_of(q->e_u, eph) || rt_random(nonce, sizeof(nonce)))
		return user_fail("no ephemeral key or nonce (getrandom/libcrypto failed)");
	err = p56_req_build(q->key.key, &q->key.cert, q->ttp_pub, now, nonce, q->id_a, eph,
			    q->msg, sizeof(q->msg), &q->msg_len);
	if (err)
		return user_fail("cannot sign the request: %s", iomt_strerror(err));
	return 0;
}

static int save_request(const struct req *q)
{
	uint8_t frame[IOMT_WIRE_HDR_LEN + P56_REQ_MAX];

	iomt_wire_put_hdr(frame, IOMT_MSG_P5_REQ, q->msg_len);
	memcpy(frame + IOMT_WIRE_HDR_LEN, q->msg, q->msg_len);
	return file_create("request", q->save, frame, IOMT_WIRE_HDR_LEN + q->msg_len, 0600)
		       ? USER_EXIT_FAIL
		       : 0;
}

/* P5_ACCEPT: the MEC's certificate and key confirmation. */
static int accept_take(struct req *q, const uint8_t *p, uint64_t now)
{
	uint8_t th[P56_HASH_LEN];
	char who[2 * ECQV_ID_LEN + 1];

	if (ecqv_cert_decode(&q->mec_cert, p + P56_PT_LEN, ECQV_CERT_LEN) ||
	    q->mec_cert.role != ECQV_ROLE_MEC)
		return user_fail("the MEC's certificate is malformed or not a MEC's");
	if (ecqv_public_from_cert(&q->mec_cert, q->ca_pub, now, &q->q_m)) {
		cert_window_explain(&q->mec_cert, now);
		return user_fail("the MEC's certificate is not valid under %s", q->ca_path);
	}
	if (ecies_key_from_point(p, &q->e_m))
		return user_fail("the MEC's ephemeral key is not a point of P-256");
	if (p56_transcript(q->msg, q->msg_len, p, p + P56_PT_LEN, th) ||
	    p56_keys_user(q->key.key, q->e_u, q->q_m, q->e_m, th, &q->k))
		return user_fail("the key agreement failed (libcrypto)");
	if (!iomt_ct_eq(q->k.conf_m, p + P56_PT_LEN + ECQV_CERT_LEN, P56_TAG_LEN)) {
		id_format(who, q->mec_cert.subject);
		return user_fail("MEC %s failed key confirmation: it does not hold the key of "
				 "its certificate", who);
	}
	return 0;
}

static const char *verdict_name(uint8_t v)
{
	return v == AN_VERDICT_NORMAL ? "normal" : v == AN_VERDICT_SUSPECT ? "suspect"
		: v == AN_VERDICT_EMERGENCY ? "EMERGENCY" : "?";
}

/* Each record: result (54) || MEC signature. */
static int results_print(struct req *q, const uint8_t *pt, size_t len)
{
	size_t off = 2;
	uint16_t n = iomt_load_be16(pt);
	char who[2 * ECQV_ID_LEN + 1];

	id_format(who, q->mec_cert.subject);
	printf("analysis %s: %u results from MEC %s\n", q->analysis, n, who);
	for (uint16_t i = 0; i < n; i++) {
		struct an_result r;
		const struct analysis_ops *ops;
		size_t rl;

		if (off + 2 > len || (rl = iomt_load_be16(pt + off)) < AN_RESULT_LEN + 8 ||
		    off + 2 + rl > len)
			return user_fail("result %u is truncated", i);
		if (s2_result_verify(q->q_m, q->id_a, pt + off + 2, pt + off + 2 + AN_RESULT_LEN,
				     rl - AN_RESULT_LEN))
			return user_fail("result %u: the MEC's signature does not verify", i);
		if (an_result_decode(pt + off + 2, &r)) {
			printf("  %u: (undecodable result) signature ok\n", i);
		} else {
			ops = an_find(r.analysis);
			printf("  %u: %s %s window %llu..%llu ms, %u samples, metrics %lld %lld "
			       "%lld %lld; signature ok\n", i, ops ? ops->name : "?",
			       verdict_name(r.verdict), (unsigned long long)r.win_start_ms,
			       (unsigned long long)r.win_end_ms, r.n_samples,
			       (long long)r.metric[0], (long long)r.metric[1],
			       (long long)r.metric[2], (long long)r.metric[3]);
		}
		off += 2 + rl;
	}
	if (off != len)
		return user_fail("%zu bytes after the last result", len - off);
	return 0;
}

static int exchange(struct req *q, uint64_t now)
{
	static uint8_t buf[FRAME_CAP], pt[P56_RESULTS_PT_MAX];
	const uint8_t *p;
	size_t plen;
	uint8_t type;
	int ms = (int)q->timeout_s * 1000, fd = net_connect(q->mec, ms), rc;

	if (fd < 0)
		return USER_EXIT_FAIL;
	rc = net_send_frame(fd, IOMT_MSG_P5_REQ, q->msg, q->msg_len, ms) ||
	     net_recv_frame(fd, buf, sizeof(buf), &type, &p, &plen, ms);
	if (!rc && type == IOMT_MSG_S2_USER_ERR && plen == 1)
		rc = user_fail("refused: %s", p56_code_text(p[0]));
	else if (!rc && (type != IOMT_MSG_P5_ACCEPT || plen != P56_ACCEPT_LEN))
		rc = user_fail("the MEC answered with message type 0x%02x, not P5_ACCEPT", type);
	if (!rc)
		rc = accept_take(q, p, now);
	if (!rc)
		rc = net_send_frame(fd, IOMT_MSG_P5_CONFIRM, q->k.conf_u, P56_TAG_LEN, ms) ||
		     net_recv_frame(fd, buf, sizeof(buf), &type, &p, &plen, ms);
	if (!rc && (type != IOMT_MSG_P5_RESULTS || plen < P56_TAG_LEN + 2))
		rc = user_fail("the MEC answered with message type 0x%02x, not P5_RESULTS", type);
	if (!rc && p56_results_open(&q->k, p, plen, pt))
		rc = user_fail("the results do not open under the agreed key");
	close(fd);
	if (!rc)
		rc = results_print(q, pt, plen - P56_TAG_LEN);
	if (!rc && q->out)
		rc = file_create("results", q->out, pt, plen - P56_TAG_LEN, 0600);
	iomt_wipe(pt, sizeof(pt));
	return rc ? USER_EXIT_FAIL : 0;
}

int cmd_request(int argc, char **argv)
{
	static struct req q;
	const struct user_opt opts[] = {
		{ "mec", &q.mec, 1 }, { "key", &q.key_path, 1 }, { "ca-pub", &q.ca_path, 1 },
		{ "analysis", &q.analysis, 1 }, { "ttp-pub", &q.ttp_path, 0 }, { "out", &q.out, 0 },
		{ "timeout", &q.timeout, 0 }, { "save-request", &q.save, 0 }, { NULL, NULL, 0 } };
	uint64_t now = user_now();
	int rc = user_opts_parse(argc, argv, opts, usage);

	if (rc >= 0)
		return rc;
	rc = args(&q, now);
	if (!rc)
		rc = build(&q, now);
	if (!rc && q.save)
		rc = save_request(&q);
	if (!rc)
		rc = exchange(&q, now);
	keyfile_free(&q.key);
	EVP_PKEY_free(q.ca_pub);
	EVP_PKEY_free(q.ttp_pub);
	EVP_PKEY_free(q.e_u);
	EVP_PKEY_free(q.e_m);
	EVP_PKEY_free(q.q_m);
	iomt_wipe(&q, sizeof(q));
	return rc;
}
