/* SPDX-License-Identifier: MIT */
/* Wire framing (datagrams and streams) and the ID_a box. */
#include <openssl/evp.h>
#include "harness.h"
#include "testutil.h"
#include "wire.h"
#include "kdc.h"
#include "s2_ida.h"
#include "iomt_err.h"
#include "ct.h"

static size_t frame(uint8_t *buf, uint8_t type, size_t plen, uint8_t fill)
{
	iomt_wire_put_hdr(buf, type, plen);
	memset(buf + IOMT_WIRE_HDR_LEN, fill, plen);
	return IOMT_WIRE_HDR_LEN + plen;
}

TEST(datagram_exact_sizes)
{
	static const uint8_t types[] = { IOMT_MSG_S2_M1, IOMT_MSG_S2_M4, IOMT_MSG_S2_DEV_ERR,
					 IOMT_MSG_S2_M2, IOMT_MSG_S2_M3, IOMT_MSG_S2_LINK_ERR,
					 IOMT_MSG_KDC_AS_REQ, IOMT_MSG_KDC_AS_REP,
					 IOMT_MSG_KDC_TGS_REQ, IOMT_MSG_KDC_TGS_REP,
					 IOMT_MSG_KDC_AP_REQ, IOMT_MSG_KDC_AP_REP, IOMT_MSG_KDC_ERR };
	uint8_t buf[300], type;
	const uint8_t *p;
	size_t plen;

	for (size_t i = 0; i < sizeof(types); i++) {
		size_t want = iomt_wire_fixed_len(types[i]);
		size_t n = frame(buf, types[i], want, 0xab);

		ASSERT_EQ(iomt_wire_parse(buf, n, &type, &p, &plen), IOMT_OK);
		ASSERT_EQ(type, types[i]);
		ASSERT_EQ(plen, want);
		ASSERT_TRUE(p == buf + IOMT_WIRE_HDR_LEN);
		/* one byte short or long, in the header and in the datagram */
		n = frame(buf, types[i], want - 1, 0);
		ASSERT_EQ(iomt_wire_parse(buf, n, &type, &p, &plen), IOMT_ESIZE);
		n = frame(buf, types[i], want + 1, 0);
		ASSERT_EQ(iomt_wire_parse(buf, n, &type, &p, &plen), IOMT_ESIZE);
		n = frame(buf, types[i], want, 0);
		ASSERT_EQ(iomt_wire_parse(buf, n - 1, &type, &p, &plen), IOMT_ESIZE);
		ASSERT_EQ(iomt_wire_parse(buf, n + 1, &type, &p, &plen), IOMT_ESIZE);
	}
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_S2_M1), 64);
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_S2_M2), 132);
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_S2_M3), 92);
	ASSERT_EQ(iomt_wire_fixed_len(IOMT_MSG_S2_M4), 48);
}

/* The KDC's types (lib/kdc.h, docs/PROTOCOL.md §5): fixed sizes equal to the
 * library's, 0x20..0x26 and no other type in that range. */
TEST(kdc_types_fixed_sizes)
{
	static const struct { uint8_t type; size_t len, kdc; } t[] = {
		{ IOMT_MSG_KDC_AS_REQ, IOMT_WIRE_KDC_AS_REQ_LEN, IOMT_KDC_AS_REQ_LEN },
		{ IOMT_MSG_KDC_AS_REP, IOMT_WIRE_KDC_AS_REP_LEN, IOMT_KDC_AS_REP_LEN },
		{ IOMT_MSG_KDC_TGS_REQ, IOMT_WIRE_KDC_TGS_REQ_LEN, IOMT_KDC_TGS_REQ_LEN },
		{ IOMT_MSG_KDC_TGS_REP, IOMT_WIRE_KDC_TGS_REP_LEN, IOMT_KDC_TGS_REP_LEN },
		{ IOMT_MSG_KDC_AP_REQ, IOMT_WIRE_KDC_AP_REQ_LEN, IOMT_KDC_AP_REQ_LEN },
		{ IOMT_MSG_KDC_AP_REP, IOMT_WIRE_KDC_AP_REP_LEN, IOMT_KDC_AP_REP_LEN },
		{ IOMT_MSG_KDC_ERR, IOMT_WIRE_KDC_ERR_LEN, IOMT_KDC_ERR_LEN },
	};
	static const size_t want[] = { 65, 167, 187, 167, 163, 37, 17 };
	uint8_t buf[400], type;
	const uint8_t *p;
	size_t plen, flen, n = 0;

	for (size_t i = 0; i < 7; i++) {
		ASSERT_EQ(t[i].type, 0x20 + i);
		ASSERT_EQ(t[i].len, want[i]);
		ASSERT_EQ(t[i].kdc, want[i]);
		ASSERT_EQ(iomt_wire_fixed_len(t[i].type), want[i]);
	}
	ASSERT_EQ(iomt_wire_fixed_len(0x1f), (size_t)-1);
	ASSERT_EQ(iomt_wire_fixed_len(0x27), (size_t)-1);
	/* A stream: AS_REQ then ERR, cut anywhere inside the first frame. */
	n = frame(buf, IOMT_MSG_KDC_AS_REQ, 65, 1);
	n += frame(buf + n, IOMT_MSG_KDC_ERR, 17, 2);
	for (size_t cut = 0; cut < 69; cut++)
		ASSERT_EQ(iomt_wire_next(buf, cut, &type, &p, &plen, &flen), IOMT_EPARTIAL);
	ASSERT_EQ(iomt_wire_next(buf, n, &type, &p, &plen, &flen), IOMT_OK);
	ASSERT_EQ(type, IOMT_MSG_KDC_AS_REQ);
	ASSERT_EQ(flen, 69);
	ASSERT_EQ(iomt_wire_next(buf + flen, n - flen, &type, &p, &plen, &flen), IOMT_OK);
	ASSERT_EQ(type, IOMT_MSG_KDC_ERR);
	ASSERT_EQ(plen, 17);
	/* An AS_REP announced with a TGS_REQ's size: refused from the header. */
	iomt_wire_put_hdr(buf, IOMT_MSG_KDC_AS_REP, 187);
	ASSERT_EQ(iomt_wire_next(buf, 4, &type, &p, &plen, &flen), IOMT_ESIZE);
}

TEST(datagram_rejects_garbage)
{
	uint8_t buf[100], type;
	const uint8_t *p;
	size_t plen, n = frame(buf, IOMT_MSG_S2_M1, 64, 1);

	ASSERT_EQ(iomt_wire_parse(buf, 3, &type, &p, &plen), IOMT_ESIZE);
	buf[0] = 2;
	ASSERT_EQ(iomt_wire_parse(buf, n, &type, &p, &plen), IOMT_EMALFORMED);
	buf[0] = IOMT_WIRE_VERSION;
	buf[1] = 0x7f;
	ASSERT_EQ(iomt_wire_parse(buf, n, &type, &p, &plen), IOMT_EMALFORMED);
	ASSERT_EQ(iomt_wire_put_hdr(buf, IOMT_MSG_S2_ANALYSIS_REQ, 65536), IOMT_ESIZE);
}

TEST(stream_frames_partial_and_corrupt)
{
	uint8_t buf[400], type;
	const uint8_t *p;
	size_t plen, flen, n;

	n = frame(buf, IOMT_MSG_S2_M2, 132, 2);
	n += frame(buf + n, IOMT_MSG_S2_LINK_ERR, 5, 3);
	for (size_t cut = 0; cut < 136; cut++)
		ASSERT_EQ(iomt_wire_next(buf, cut, &type, &p, &plen, &flen), IOMT_EPARTIAL);
	ASSERT_EQ(iomt_wire_next(buf, n, &type, &p, &plen, &flen), IOMT_OK);
	ASSERT_EQ(flen, 136);
	ASSERT_EQ(iomt_wire_next(buf + flen, n - flen, &type, &p, &plen, &flen), IOMT_OK);
	ASSERT_EQ(type, IOMT_MSG_S2_LINK_ERR);
	ASSERT_EQ(p[0], 3);
	/* A header announcing the wrong size is refused before its payload. */
	iomt_wire_put_hdr(buf, IOMT_MSG_S2_M2, 9000);
	ASSERT_EQ(iomt_wire_next(buf, 4, &type, &p, &plen, &flen), IOMT_ESIZE);
	/* Variable-size types wait for the whole payload. */
	n = frame(buf, IOMT_MSG_S2_ANALYSIS_REQ, 300, 4);
	ASSERT_EQ(iomt_wire_next(buf, n - 1, &type, &p, &plen, &flen), IOMT_EPARTIAL);
	ASSERT_EQ(iomt_wire_next(buf, n, &type, &p, &plen, &flen), IOMT_OK);
	ASSERT_EQ(plen, 300);
}

TEST(ida_box_round_trip_and_binding)
{
	struct tu_rng r = { 0x1da };
	uint8_t dk[16], r2[16], did[16], m3[64], ida[16], box[24], out[16];

	tu_fill(&r, dk, 16);
	tu_fill(&r, r2, 16);
	tu_fill(&r, did, 16);
	tu_fill(&r, m3, 64);
	tu_fill(&r, ida, 16);
	ASSERT_EQ(iomt_s2_ida_seal(dk, r2, did, m3, ida, box), IOMT_OK);
	ASSERT_TRUE(memcmp(box, ida, 16) != 0);
	ASSERT_EQ(iomt_s2_ida_open(dk, r2, did, m3, box, out), IOMT_OK);
	ASSERT_MEMEQ(out, ida, 16);
	/* Any other key, R2, DID_i, M3 or box byte: refused, output zeroed. */
	for (int which = 0; which < 5; which++) {
		uint8_t *v[] = { dk, r2, did, m3, box };

		v[which][which] ^= 0x40;
		memset(out, 0x55, 16);
		ASSERT_EQ(iomt_s2_ida_open(dk, r2, did, m3, box, out), IOMT_EAUTH);
		ASSERT_TRUE(iomt_ct_is_zero(out, 16));
		v[which][which] ^= 0x40;
	}
}

/* The documented construction, recomputed with OpenSSL: K_a = SHAKE128(
 * "iomt/s2/ida" || DK_m || R2 || DID_i, 128), box = CCM(K_a, R2[0..13), M3). */
TEST(ida_box_matches_documented_construction)
{
	struct tu_rng r = { 0x1db };
	uint8_t dk[16], r2[16], did[16], m3[64], ida[16], box[24], in[59], k[16], want[24];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n;

	tu_fill(&r, dk, 16);
	tu_fill(&r, r2, 16);
	tu_fill(&r, did, 16);
	tu_fill(&r, m3, 64);
	tu_fill(&r, ida, 16);
	ASSERT_EQ(iomt_s2_ida_seal(dk, r2, did, m3, ida, box), IOMT_OK);
	memcpy(in, "iomt/s2/ida", 11);
	memcpy(in + 11, dk, 16);
	memcpy(in + 27, r2, 16);
	memcpy(in + 43, did, 16);
	ASSERT_TRUE(md && c);
	ASSERT_EQ(EVP_DigestInit_ex(md, EVP_shake128(), NULL), 1);
	ASSERT_EQ(EVP_DigestUpdate(md, in, sizeof(in)), 1);
	ASSERT_EQ(EVP_DigestFinalXOF(md, k, 16), 1);
	ASSERT_EQ(EVP_EncryptInit_ex(c, EVP_aes_128_ccm(), NULL, NULL, NULL), 1);
	ASSERT_EQ(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 13, NULL), 1);
	ASSERT_EQ(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 8, NULL), 1);
	ASSERT_EQ(EVP_EncryptInit_ex(c, NULL, NULL, k, r2), 1);
	ASSERT_EQ(EVP_EncryptUpdate(c, NULL, &n, NULL, 16), 1);
	ASSERT_EQ(EVP_EncryptUpdate(c, NULL, &n, m3, 64), 1);
	ASSERT_EQ(EVP_EncryptUpdate(c, want, &n, ida, 16), 1);
	ASSERT_EQ(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 8, want + 16), 1);
	ASSERT_MEMEQ(box, want, 24);
	EVP_MD_CTX_free(md);
	EVP_CIPHER_CTX_free(c);
}

TEST(ida_seal_batch_equals_one_by_one)
{
	enum { N = 37 };
	struct tu_rng r = { 0x1dc };
	static uint8_t dk[N][16], r2[N][16], did[N][16], m3[N][64], ida[N][16], box[N][24];
	const uint8_t *pd[N], *pr[N], *pi[N], *pm[N], *pa[N];
	uint8_t *pb[N], one[24];
	int status[N];

	for (int i = 0; i < N; i++) {
		tu_fill(&r, dk[i], 16);
		tu_fill(&r, r2[i], 16);
		tu_fill(&r, did[i], 16);
		tu_fill(&r, m3[i], 64);
		tu_fill(&r, ida[i], 16);
		pd[i] = dk[i], pr[i] = r2[i], pi[i] = did[i], pm[i] = m3[i], pa[i] = ida[i];
		pb[i] = box[i];
	}
	ASSERT_EQ(iomt_s2_ida_seal_batch(N, pd, pr, pi, pm, pa, pb, status), IOMT_OK);
	for (int i = 0; i < N; i++) {
		ASSERT_EQ(status[i], IOMT_OK);
		ASSERT_EQ(iomt_s2_ida_seal(dk[i], r2[i], did[i], m3[i], ida[i], one), IOMT_OK);
		ASSERT_MEMEQ(box[i], one, 24);
	}
	ASSERT_EQ(iomt_s2_ida_seal_batch(1, NULL, pr, pi, pm, pa, pb, status), IOMT_EINVAL);
}
