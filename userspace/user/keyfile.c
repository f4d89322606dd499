// SPDX-License-Identifier: MIT
/*
 * The key file (docs/PROTOCOL.md §4.1), 161 bytes, mode 0600:
 *
 *   magic "IUK" (3) || version 1 (1) || certificate (125) || d_U (32, big-endian)
 *
 * and the CA public key file. Q_U is recomputed as d_U*G on load; with
 * CA.pem at hand it is also checked against the certificate.
 */
#define OPENSSL_API_COMPAT 0x30000000L
#define OPENSSL_NO_DEPRECATED

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "ct.h"
#include "iomt_err.h"
#include "lib/ecies.h"
#include "user.h"

static const uint8_t keyfile_magic[USER_KEYFILE_MAGIC_LEN] = { 'I', 'U', 'K',
							       USER_KEYFILE_VERSION };

enum { UNCOMPRESSED_LEN = 65 };

int key_pub33(const EVP_PKEY *key, uint8_t out[ECQV_POINT_LEN])
{
	uint8_t buf[UNCOMPRESSED_LEN];
	size_t len;

	if (!EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof(buf),
					     &len))
		return -1;
	if (len == ECQV_POINT_LEN) {
		memcpy(out, buf, ECQV_POINT_LEN);
		return 0;
	}
	if (len != UNCOMPRESSED_LEN || buf[0] != 0x04)
		return -1;
	out[0] = (uint8_t)(0x02 | (buf[UNCOMPRESSED_LEN - 1] & 1));
	memcpy(out + 1, buf + 1, ECQV_POINT_LEN - 1);
	return 0;
}

int keyfile_load(const char *path, struct user_key *k)
{
	uint8_t buf[USER_KEYFILE_LEN];
	const uint8_t *cert = buf + USER_KEYFILE_MAGIC_LEN, *d = cert + ECQV_CERT_LEN;
	int rc = -1;

	memset(k, 0, sizeof(*k));
	if (file_read_exact("key file", path, buf, sizeof(buf)))
		return -1;
	if (memcmp(buf, keyfile_magic, 3))
		user_fail("key file %s: not an iomt-user key file (bad magic)", path);
	else if (buf[3] != USER_KEYFILE_VERSION)
		user_fail("key file %s: version %u, this tool reads version %u", path, buf[3],
			  USER_KEYFILE_VERSION);
	else if (ecqv_cert_decode(&k->cert, cert, ECQV_CERT_LEN))
		user_fail("key file %s: its certificate is malformed", path);
	else if (ecies_key_from_scalar(d, &k->key))
		user_fail("key file %s: its private key is not a P-256 scalar", path);
	else
		rc = 0;
	iomt_wipe(buf, sizeof(buf));
	ERR_clear_error();
	return rc;
}

int keyfile_store(const char *path, const struct ecqv_cert *cert, EVP_PKEY *key)
{
	uint8_t buf[USER_KEYFILE_LEN];
	BIGNUM *d = NULL;
	int rc = -1;

	memcpy(buf, keyfile_magic, sizeof(keyfile_magic));
	if (ecqv_cert_encode(cert, buf + USER_KEYFILE_MAGIC_LEN) ||
	    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) ||
	    BN_bn2binpad(d, buf + USER_KEYFILE_MAGIC_LEN + ECQV_CERT_LEN, ECQV_SCALAR_LEN) !=
		    ECQV_SCALAR_LEN)
		user_fail("key file %s: cannot encode the key", path);
	else
		rc = file_create("key file", path, buf, sizeof(buf), 0600);
	BN_clear_free(d);
	iomt_wipe(buf, sizeof(buf));
	return rc;
}

void keyfile_free(struct user_key *k)
{
	EVP_PKEY_free(k->key);
	memset(k, 0, sizeof(*k));
}

void cert_window_explain(const struct ecqv_cert *cert, uint64_t now)
{
	char nb[32], na[32], t[32];

	time_format(nb, cert->not_before);
	time_format(na, cert->not_after);
	time_format(t, now);
	user_fail("certificate %s: valid from %s to %s, it is now %s",
		  now > cert->not_after ? "expired" : "not yet valid", nb, na, t);
}

int keyfile_check_cert(const struct user_key *k, const EVP_PKEY *ca_pub, uint64_t now)
{
	uint8_t want[ECQV_POINT_LEN], have[ECQV_POINT_LEN];
	EVP_PKEY *pub = NULL;
	int err = ecqv_public_from_cert(&k->cert, ca_pub, now, &pub);

	if (err == IOMT_ESTATE)
		cert_window_explain(&k->cert, now);
	else if (err)
		user_fail("cannot derive the public key from the certificate: %s",
			  iomt_strerror(err));
	else if (key_pub33(pub, want) || key_pub33(k->key, have) ||
		 !iomt_ct_eq(want, have, sizeof(want)))
		err = user_fail("the key file's private key does not belong to its "
				"certificate under this CA key (another CA.pem?)");
	EVP_PKEY_free(pub);
	return err ? -1 : 0;
}

static int pkey_is_p256(const EVP_PKEY *k)
{
	char name[64];
	size_t len;

	return EVP_PKEY_is_a(k, "EC") &&
	       EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name,
					      sizeof(name), &len) &&
	       OBJ_sn2nid(name) == NID_X9_62_prime256v1;
}

int ca_pub_load(const char *path, EVP_PKEY **pub)
{
	FILE *f = fopen(path, "re");

	*pub = NULL;
	if (!f) {
		user_fail("CA public key %s: %m", path);
		return -1;
	}
	*pub = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!*pub) {
		user_fail("CA public key %s: not a PEM public key (-----BEGIN PUBLIC KEY-----)",
			  path);
		return -1;
	}
	if (!pkey_is_p256(*pub)) {
		user_fail("CA public key %s: not a P-256 key", path);
		EVP_PKEY_free(*pub);
		*pub = NULL;
		return -1;
	}
	return 0;
}
