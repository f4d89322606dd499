/* SPDX-License-Identifier: MIT */
/* Signing and verifying phase-4 results; the MEC's key file. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "ecies.h"
#include "iomt_err.h"
#include "rt_file.h"
#include "s2_p56.h"
#include "s2_result.h"

static void body(uint8_t out[S2_RESULT_BODY_LEN], const uint8_t id_a[IOMT_S2_IDA_LEN],
		 const uint8_t result[AN_RESULT_LEN])
{
	memcpy(out, id_a, IOMT_S2_IDA_LEN);
	memcpy(out + IOMT_S2_IDA_LEN, result, AN_RESULT_LEN);
}

int s2_result_sign(EVP_PKEY *key, const uint8_t id_a[IOMT_S2_IDA_LEN],
		   const uint8_t result[AN_RESULT_LEN], uint8_t sig[S2_RESULT_SIG_MAX],
		   size_t *sig_len)
{
	uint8_t b[S2_RESULT_BODY_LEN];

	if (!key || !id_a || !result || !sig || !sig_len)
		return IOMT_EINVAL;
	body(b, id_a, result);
	return p56_sign(key, S2_RESULT_LABEL, b, sizeof(b), sig, sig_len);
}

int s2_result_verify(EVP_PKEY *pub, const uint8_t id_a[IOMT_S2_IDA_LEN],
		     const uint8_t result[AN_RESULT_LEN], const uint8_t *sig, size_t sig_len)
{
	uint8_t b[S2_RESULT_BODY_LEN];

	if (!pub || !id_a || !result || !sig)
		return IOMT_EINVAL;
	if (sig_len == 0 || sig_len > S2_RESULT_SIG_MAX)
		return IOMT_EAUTH;
	body(b, id_a, result);
	return p56_verify(pub, S2_RESULT_LABEL, b, sizeof(b), sig, sig_len);
}

int s2_result_key_load(const char *path, struct ecqv_cert *cert, EVP_PKEY **key, char *err,
		       size_t errlen)
{
	static const uint8_t magic[4] = { 'I', 'U', 'K', 1 };
	uint8_t buf[S2_RESULT_KEYFILE_LEN + 1];
	long n = rt_file_read(path, buf, sizeof(buf), RT_FILE_PRIVATE, err, errlen);
	int r = 0;

	*key = NULL;
	if (n < 0)
		return (int)n;
	if (n != S2_RESULT_KEYFILE_LEN) {
		snprintf(err, errlen, "%s: %ld bytes, a key file has %d", path, n,
			 S2_RESULT_KEYFILE_LEN);
		r = -EINVAL;
	} else if (memcmp(buf, magic, sizeof(magic))) {
		snprintf(err, errlen, "%s: not a version-1 key file (iomt-user finish writes one)",
			 path);
		r = -EINVAL;
	} else if (ecqv_cert_decode(cert, buf + 4, ECQV_CERT_LEN)) {
		snprintf(err, errlen, "%s: its certificate is malformed", path);
		r = -EINVAL;
	} else if (ecies_key_from_scalar(buf + 4 + ECQV_CERT_LEN, key)) {
		snprintf(err, errlen, "%s: its private key is not a P-256 scalar", path);
		r = -EINVAL;
	}
	iomt_wipe(buf, sizeof(buf));
	return r;
}
