// SPDX-License-Identifier: MIT
/* iomt-user finish: certificate reception (SEC 4 section 3.6) into a key file. */
#include <stdio.h>

#include <openssl/evp.h>

#include "ct.h"
#include "iomt_err.h"
#include "lib/ecies.h"
#include "user.h"

static const char usage[] =
	"Usage: iomt-user finish --request REQ --issued ISSUED --ca-pub CA.pem --out KEYFILE\n"
	"\n"
	"Phase 1 (registration), last step. ISSUED is the TTP's answer to REQ: the\n"
	"125-byte certificate followed by the 32-byte r (157 bytes). Computes\n"
	"d_U = e*k_U + r from REQ.secret, keeps it only if d_U*G equals the public\n"
	"key the certificate gives under CA.pem (SEC 4's check), writes KEYFILE\n"
	"(certificate and d_U, mode 0600) and then wipes REQ.secret.\n";

struct finish_in {
	struct ecqv_request req;
	struct ecqv_cert cert;
	uint8_t issued[USER_ISSUED_LEN];
	EVP_PKEY *ca_pub;
};

static void finish_in_wipe(struct finish_in *in)
{
	EVP_PKEY_free(in->ca_pub);
	iomt_wipe(in, sizeof(*in));
}

/* REQ.secret must be the k_U of REQ: a mix-up is named before any maths. */
static int secret_matches(const struct ecqv_request *req, const char *secret)
{
	uint8_t ru[ECQV_POINT_LEN];
	EVP_PKEY *k = NULL;
	int ok = !ecies_key_from_scalar(req->k, &k) && !key_pub33(k, ru) &&
		 iomt_ct_eq(ru, req->ru, sizeof(ru));

	EVP_PKEY_free(k);
	if (!ok)
		user_fail("%s does not hold the secret of this request", secret);
	return ok ? 0 : -1;
}

static int finish_read(struct finish_in *in, const char *req, const char *issued,
		       const char *ca, const char *secret)
{
	if (file_read_exact("request", req, in->req.ru, sizeof(in->req.ru)) ||
	    file_read_exact("request secret", secret, in->req.k, sizeof(in->req.k)) ||
	    secret_matches(&in->req, secret) ||
	    file_read_exact("issued certificate", issued, in->issued, sizeof(in->issued)) ||
	    ca_pub_load(ca, &in->ca_pub))
		return -1;
	if (ecqv_cert_decode(&in->cert, in->issued, ECQV_CERT_LEN)) {
		user_fail("issued certificate %s: the certificate is malformed", issued);
		return -1;
	}
	return 0;
}

static void finish_explain(int err, const struct finish_in *in, const char *issued,
			  uint64_t now)
{
	if (err == IOMT_EAUTH)
		user_fail("SEC 4 key check failed (d_U*G != Q_U): %s was altered, answers "
			  "another request, or CA.pem is not the issuing CA's key", issued);
	else if (err == IOMT_ESTATE)
		cert_window_explain(&in->cert, now);
	else if (err == IOMT_EMALFORMED)
		user_fail("issued certificate %s: r or P_U is not valid", issued);
	else
		user_fail("cannot reconstruct the key: %s", iomt_strerror(err));
}

static void finish_report(const struct ecqv_cert *c, const char *out)
{
	char subject[2 * ECQV_ID_LEN + 1], nb[32], na[32];

	id_format(subject, c->subject);
	time_format(nb, c->not_before);
	time_format(na, c->not_after);
	printf("registered %s (%s), valid %s to %s; key in %s\n", subject,
	       role_name(c->role), nb, na, out);
}

int cmd_finish(int argc, char **argv)
{
	const char *req = NULL, *issued = NULL, *ca = NULL, *out = NULL;
	const struct user_opt opts[] = { { "request", &req, 1 }, { "issued", &issued, 1 },
					  { "ca-pub", &ca, 1 }, { "out", &out, 1 },
					  { NULL, NULL, 0 } };
	struct finish_in in = { 0 };
	char secret[4096];
	EVP_PKEY *key = NULL;
	uint64_t now = user_now();
	int rc = user_opts_parse(argc, argv, opts, usage), err;

	if (rc >= 0)
		return rc;
	if ((size_t)snprintf(secret, sizeof(secret), "%s.secret", req) >= sizeof(secret))
		return user_fail("%s: path too long", req);
	rc = USER_EXIT_FAIL;
	if (finish_read(&in, req, issued, ca, secret))
		goto out;
	err = ecqv_reconstruct_private(&in.req, &in.cert, in.issued + ECQV_CERT_LEN, in.ca_pub,
				       now, &key);
	if (err) {
		finish_explain(err, &in, issued, now);
		goto out;
	}
	if (keyfile_store(out, &in.cert, key))
		goto out;
	if (file_shred(secret)) {
		user_fail("%s written, but %s could not be wiped (%m): remove it", out, secret);
		goto out;
	}
	finish_report(&in.cert, out);
	rc = USER_EXIT_OK;
out:
	EVP_PKEY_free(key);
	finish_in_wipe(&in);
	return rc;
}
