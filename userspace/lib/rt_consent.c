/* SPDX-License-Identifier: MIT */
/* ECDSA P-256 signatures of consent requests, and P-256 key files
 * (rt_consent.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "consent.h"
#include "ecqv.h"
#include "rt_consent.h"
#include "rt_evlog.h"
#include "rt_file.h"

enum {
	SCALAR_LEN = 32,
	DER_SIG_MAX = 80,
};

int rt_consent_keygen(EVP_PKEY **out)
{
	if (!out)
		return -EINVAL;
	*out = EVP_EC_gen("P-256");
	ERR_clear_error();
	return *out ? 0 : -ENOMEM;
}

/* A new file (O_EXCL) with mode, the PEM of key, synced. */
static int write_pem(const char *path, EVP_PKEY *key, int private, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	FILE *f;
	int ok, r;

	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0 || !(f = fdopen(fd, "w"))) {
		r = -errno;
		close(fd);
		unlink(path);
		return r;
	}
	ok = private ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
		     : PEM_write_PUBKEY(f, key);
	ERR_clear_error();
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	r = ok ? 0 : (errno ? -errno : -EIO);
	if (fclose(f) && !r)
		r = -errno;
	if (r)
		unlink(path);
	return r;
}

int rt_consent_key_write(EVP_PKEY *key, const char *priv_path, const char *pub_path)
{
	int r;

	if (!key || !priv_path)
		return -EINVAL;
	r = write_pem(priv_path, key, 1, 0600);
	if (!r && pub_path) {
		r = write_pem(pub_path, key, 0, 0644);
		if (r)
			unlink(priv_path);
	}
	return r;
}

int rt_consent_key_load(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	struct stat st;
	EVP_PKEY *k;
	FILE *f;

	if (!path || !out)
		return rt_file_err(err, errlen, -EINVAL, "no key file given");
	*out = NULL;
	f = fopen(path, "re");
	if (!f)
		return rt_file_err(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
		fclose(f);
		return rt_file_err(err, errlen, -EPERM,
				   "%s: mode %03o is too open for a private key (chmod 600 it)",
				   path, (unsigned)(st.st_mode & 0777));
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!k || !ecqv_pkey_is_p256(k)) {
		EVP_PKEY_free(k);
		return rt_file_err(err, errlen, -EINVAL, "%s: not a P-256 private key (PEM)", path);
	}
	*out = k;
	return 0;
}

int rt_consent_pub_load(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	int r;

	if (!path || !out)
		return rt_file_err(err, errlen, -EINVAL, "no key file given");
	r = rt_evlog_pub_load(path, out);
	if (r)
		return rt_file_err(err, errlen, r, "%s: %s", path,
				   r == -EINVAL ? "not a P-256 public key" : strerror(-r));
	return 0;
}

int rt_consent_sign(EVP_PKEY *key, uint8_t *enc, size_t len)
{
	size_t n = iomt_consent_signed_len(len), dlen = DER_SIG_MAX;
	EVP_MD_CTX *m;
	uint8_t der[DER_SIG_MAX];
	const unsigned char *p = der;
	ECDSA_SIG *s = NULL;
	int r = -EIO;

	if (!key || !enc || !n || !ecqv_pkey_is_p256(key))
		return -EINVAL;
	m = EVP_MD_CTX_new();
	/* OpenSSL gives DER; the request carries r || s, always 64 bytes. */
	if (m && EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, key) > 0 &&
	    EVP_DigestSign(m, der, &dlen, enc, n) > 0 &&
	    (s = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) &&
	    BN_bn2binpad(ECDSA_SIG_get0_r(s), enc + n, SCALAR_LEN) == SCALAR_LEN &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(s), enc + n + SCALAR_LEN, SCALAR_LEN) == SCALAR_LEN)
		r = 0;
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(m);
	ERR_clear_error();
	return r;
}

int rt_consent_verify(EVP_PKEY *pub, const uint8_t *enc, size_t len)
{
	size_t n = iomt_consent_signed_len(len);
	EVP_MD_CTX *m;
	ECDSA_SIG *s;
	BIGNUM *r, *sv;
	unsigned char *der = NULL;
	int dlen = -1, ok = 0;

	if (!pub || !enc || !n || !ecqv_pkey_is_p256(pub))
		return 0;
	m = EVP_MD_CTX_new();
	s = ECDSA_SIG_new();
	r = BN_bin2bn(enc + n, SCALAR_LEN, NULL);
	sv = BN_bin2bn(enc + n + SCALAR_LEN, SCALAR_LEN, NULL);
	if (s && r && sv && ECDSA_SIG_set0(s, r, sv)) {
		r = sv = NULL; /* owned by s now */
		dlen = i2d_ECDSA_SIG(s, &der);
	}
	/* Verify checks 0 < r, s < n itself. */
	if (m && dlen > 0 && EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, pub) > 0)
		ok = EVP_DigestVerify(m, der, (size_t)dlen, enc, n) == 1;
	OPENSSL_free(der);
	BN_free(r);
	BN_free(sv);
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(m);
	ERR_clear_error();
	return ok;
}
