/* SPDX-License-Identifier: MIT */
/*
 * Writes tests/vectors/kdc.json: whole AS, TGS and AP exchanges computed
 * with lib/kdc from fixed inputs. Vector N's random-looking inputs are
 * consecutive pieces of SHAKE128("kdc vector N", 232 bytes), in the order
 * kkdc (32) salt_c salt_s salt_tgs (16 each) rnd_as_req (21) rnd_as_rep (42)
 * rnd_tgs_req (21) rnd_tgs_rep (42) rnd_ap_req (13) rnd_ap_rep (13); names,
 * kinds, key versions, times and lifetimes come from the table below. Not
 * built by default:
 *
 *   cc -O2 -Ilib tests/vectors/gen_kdc.c build/lib/libiomt.a -o /tmp/gen_kdc
 *   /tmp/gen_kdc > tests/vectors/kdc.json
 *
 * tests/lib/test_kdc.c re-derives every message with lib/kdc and rebuilds it
 * from the inputs with OpenSSL (AES-128-CCM, KMAC-128): the file is right,
 * not merely self-consistent.
 */
#include <stdio.h>
#include <string.h>
#include "kdc.h"
#include "shake.h"
#include "bytes.h"
#include "wire.h"

enum { SEED_LEN = 32 + 3 * 16 + 21 + 42 + 21 + 42 + 13 + 13 };

static const struct {
	const char *cname, *cpatient, *sname, *spatient;
	uint8_t ckind, skind;
} cases[] = {
	{ "sensor-0001", "patient-42", "gw-0007", "patient-42",
	  IOMT_KDC_KIND_SENSOR, IOMT_KDC_KIND_GATEWAY },
	{ "ppd-0003", "patient-7", "cloud-1", "",
	  IOMT_KDC_KIND_PPD, IOMT_KDC_KIND_CLOUD },
	{ "cloud-1", "", "sensor-0002", "patient-7",
	  IOMT_KDC_KIND_CLOUD, IOMT_KDC_KIND_SENSOR },
	{ "gw-0007", "patient-42", "ppd-0009", "patient-42",
	  IOMT_KDC_KIND_GATEWAY, IOMT_KDC_KIND_PPD },
};
enum { VECTORS = sizeof(cases) / sizeof(cases[0]) };

struct field {
	const char *name;
	const uint8_t *p;
	size_t len;
};

static void print_vector(const struct field *f, size_t n, int last)
{
	printf("  {\n");
	for (size_t i = 0; i < n; i++) {
		printf("    \"%s\": \"", f[i].name);
		for (size_t j = 0; j < f[i].len; j++)
			printf("%02x", f[i].p[j]);
		printf("\"%s\n", i + 1 < n ? "," : "");
	}
	printf("  }%s\n", last ? "" : ",");
}

struct vec {
	uint8_t seed[SEED_LEN];
	uint8_t cname[16], cpatient[16], sname[16], spatient[16], patient[16];
	uint8_t ckind, skind, kvno_c[4], kvno_s[4], kvno_tgs[4];
	uint8_t t_as[8], t_tgs[8], t_ap[8], life_tgt[4], life_tkt[4];
	uint8_t k_c[16], k_s[16], k_tgs[16], kcv_c[8], kcv_s[8], kcv_tgs[8];
	uint8_t as_req[IOMT_KDC_AS_REQ_LEN], as_rep[IOMT_KDC_AS_REP_LEN];
	uint8_t tgs_req[IOMT_KDC_TGS_REQ_LEN], tgs_rep[IOMT_KDC_TGS_REP_LEN];
	uint8_t ap_req[IOMT_KDC_AP_REQ_LEN], ap_rep[IOMT_KDC_AP_REP_LEN];
	uint8_t session[16], err[IOMT_KDC_ERR_LEN];
};

/* The whole exchange through the client, the KDC and the service. */
static int run(struct vec *v, uint64_t t_as, uint32_t kc, uint32_t ks, uint32_t kt)
{
	const uint8_t *kkdc = v->seed, *salt_c = v->seed + 32, *salt_s = v->seed + 48,
		      *salt_tgs = v->seed + 64, *r_asq = v->seed + 80, *r_asp = r_asq + 21,
		      *r_tgq = r_asp + 42, *r_tgp = r_tgq + 21, *r_apq = r_tgp + 42,
		      *r_app = r_apq + 13;
	uint64_t t_tgs = t_as + 1500, t_ap = t_as + 2750;
	uint32_t life_tgt = 36000, life_tkt = 3600, skew = 300000;
	struct iomt_kdc_client c;
	struct iomt_kdc_tgs_req tr;
	struct iomt_kdc_ap_result ar;
	struct iomt_kdc_grant g;

	iomt_store_be32(v->kvno_c, kc);
	iomt_store_be32(v->kvno_s, ks);
	iomt_store_be32(v->kvno_tgs, kt);
	iomt_store_be64(v->t_as, t_as);
	iomt_store_be64(v->t_tgs, t_tgs);
	iomt_store_be64(v->t_ap, t_ap);
	iomt_store_be32(v->life_tgt, life_tgt);
	iomt_store_be32(v->life_tkt, life_tkt);
	iomt_kdc_device_key(kkdc, v->cname, salt_c, v->k_c);
	iomt_kdc_device_key(kkdc, v->sname, salt_s, v->k_s);
	iomt_kdc_tgs_key(kkdc, salt_tgs, v->k_tgs);
	iomt_kdc_key_check(v->k_c, v->kcv_c);
	iomt_kdc_key_check(v->k_s, v->kcv_s);
	iomt_kdc_key_check(v->k_tgs, v->kcv_tgs);

	memset(&g, 0, sizeof(g));
	g.skey = v->k_tgs;
	g.sname = iomt_kdc_tgs_name;
	g.skvno = kt;
	memcpy(g.cname, v->cname, 16);
	g.ckind = v->ckind;
	memcpy(g.patient, v->cpatient, 16);
	g.now_ms = t_as;
	g.lifetime_s = life_tgt;
	if (iomt_kdc_client_init(&c, v->cname, kc, v->k_c) ||
	    iomt_kdc_client_as_req(&c, t_as, r_asq, v->as_req) ||
	    iomt_kdc_as_reply(v->k_c, v->as_req, sizeof(v->as_req), skew, &g, r_asp, v->as_rep) ||
	    iomt_kdc_client_recv(&c, IOMT_MSG_KDC_AS_REP, v->as_rep, sizeof(v->as_rep)) ||
	    iomt_kdc_client_tgs_req(&c, v->sname, t_tgs, r_tgq, v->tgs_req) ||
	    iomt_kdc_tgs_req_open(v->k_tgs, kt, v->tgs_req, sizeof(v->tgs_req), t_tgs, skew, &tr) ||
	    iomt_kdc_policy(tr.tgt.cname, tr.tgt.ckind, tr.tgt.patient, tr.target, v->skind,
			    v->spatient, v->patient))
		return 1;
	g.skey = v->k_s;
	g.sname = v->sname;
	g.skvno = ks;
	memcpy(g.patient, v->patient, 16);
	g.now_ms = t_tgs;
	g.lifetime_s = life_tkt;
	if (iomt_kdc_tgs_reply(&tr, &g, r_tgp, v->tgs_rep) ||
	    iomt_kdc_client_recv(&c, IOMT_MSG_KDC_TGS_REP, v->tgs_rep, sizeof(v->tgs_rep)) ||
	    iomt_kdc_client_ap_req(&c, t_ap, r_apq, v->ap_req) ||
	    iomt_kdc_ap_verify(v->k_s, v->sname, ks, v->ap_req, sizeof(v->ap_req), t_ap, skew, &ar) ||
	    iomt_kdc_ap_reply(&ar, r_app, v->ap_rep) ||
	    iomt_kdc_client_recv(&c, IOMT_MSG_KDC_AP_REP, v->ap_rep, sizeof(v->ap_rep)) ||
	    c.state != IOMT_KDC_C_ESTABLISHED || memcmp(c.session, ar.session, 16))
		return 1;
	memcpy(v->session, c.session, 16);
	iomt_kdc_err_build(IOMT_KDC_ERR_POLICY, r_tgq, t_tgs, v->err);
	return 0;
}

static int vector(unsigned idx, int last)
{
	static struct vec v;
	char label[64];
	int n = snprintf(label, sizeof(label), "kdc vector %u", idx);
	const uint8_t *s = v.seed;

	memset(&v, 0, sizeof(v));
	iomt_shake128(label, (size_t)n, v.seed, sizeof(v.seed));
	v.ckind = cases[idx].ckind;
	v.skind = cases[idx].skind;
	if (iomt_kdc_name_from_text(v.cname, cases[idx].cname) ||
	    iomt_kdc_name_from_text(v.sname, cases[idx].sname) ||
	    (*cases[idx].cpatient && iomt_kdc_name_from_text(v.cpatient, cases[idx].cpatient)) ||
	    (*cases[idx].spatient && iomt_kdc_name_from_text(v.spatient, cases[idx].spatient)) ||
	    run(&v, 1767225600000ULL + 60000ULL * idx, 1 + idx, 3 + idx, 2 + idx))
		return 1;

	const struct field f[] = {
		{ "kkdc", s, 32 }, { "salt_c", s + 32, 16 }, { "salt_s", s + 48, 16 },
		{ "salt_tgs", s + 64, 16 },
		{ "cname", v.cname, 16 }, { "ckind", &v.ckind, 1 }, { "cpatient", v.cpatient, 16 },
		{ "sname", v.sname, 16 }, { "skind", &v.skind, 1 }, { "spatient", v.spatient, 16 },
		{ "kvno_c", v.kvno_c, 4 }, { "kvno_s", v.kvno_s, 4 }, { "kvno_tgs", v.kvno_tgs, 4 },
		{ "t_as", v.t_as, 8 }, { "t_tgs", v.t_tgs, 8 }, { "t_ap", v.t_ap, 8 },
		{ "life_tgt", v.life_tgt, 4 }, { "life_tkt", v.life_tkt, 4 },
		{ "rnd_as_req", s + 80, 21 }, { "rnd_as_rep", s + 101, 42 },
		{ "rnd_tgs_req", s + 143, 21 }, { "rnd_tgs_rep", s + 164, 42 },
		{ "rnd_ap_req", s + 206, 13 }, { "rnd_ap_rep", s + 219, 13 },
		{ "k_c", v.k_c, 16 }, { "k_s", v.k_s, 16 }, { "k_tgs", v.k_tgs, 16 },
		{ "kcv_c", v.kcv_c, 8 }, { "kcv_s", v.kcv_s, 8 }, { "kcv_tgs", v.kcv_tgs, 8 },
		{ "patient", v.patient, 16 },
		{ "as_req", v.as_req, sizeof(v.as_req) }, { "as_rep", v.as_rep, sizeof(v.as_rep) },
		{ "tgs_req", v.tgs_req, sizeof(v.tgs_req) },
		{ "tgs_rep", v.tgs_rep, sizeof(v.tgs_rep) },
		{ "ap_req", v.ap_req, sizeof(v.ap_req) }, { "ap_rep", v.ap_rep, sizeof(v.ap_rep) },
		{ "session", v.session, 16 }, { "err", v.err, sizeof(v.err) },
	};
	print_vector(f, sizeof(f) / sizeof(f[0]), last);
	return 0;
}

int main(void)
{
	printf("[\n");
	for (unsigned i = 0; i < VECTORS; i++)
		if (vector(i, i + 1 == VECTORS)) {
			fprintf(stderr, "gen_kdc: vector %u failed its own checks\n", i);
			return 1;
		}
	printf("]\n");
	return 0;
}
