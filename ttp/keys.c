/* SPDX-License-Identifier: MIT */
/* Pinned like ecqv.c: a deprecated call fails to compile. */
#define OPENSSL_API_COMPAT 0x30000000L
#define OPENSSL_NO_DEPRECATED
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "keys.h"

int ttp_key_generate(EVP_PKEY **out)
{
	*out = EVP_EC_gen("P-256");
	return *out ? 0 : -EIO;
}

static int is_p256(EVP_PKEY *k)
{
	char group[32];
	size_t len = 0;

	return EVP_PKEY_is_a(k, "EC") &&
	       EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
					      sizeof(group), &len) &&
	       !strcmp(group, "prime256v1");
}

static int write_pem(const char *path, EVP_PKEY *key, int private, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		      private ? 0600 : 0644);
	FILE *f;
	int ok;

	if (fd < 0) {
		int r = -errno;

		snprintf(err, errlen, "%s: %s%s", path, strerror(-r),
			 r == -EEXIST ? " (refusing to overwrite a key)" : "");
		return r;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(path);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	ok = private ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
		     : PEM_write_PUBKEY(f, key);
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0 || !ok) {
		unlink(path);
		snprintf(err, errlen, "%s: cannot write the key", path);
		return -EIO;
	}
	return 0;
}

int ttp_key_write_private(const char *path, EVP_PKEY *key, char *err, size_t errlen)
{
	return write_pem(path, key, 1, err, errlen);
}

int ttp_key_write_public(const char *path, EVP_PKEY *key, char *err, size_t errlen)
{
	return write_pem(path, key, 0, err, errlen);
}

/* A private key others may read is refused, as OpenSSH refuses one. */
static int private_mode_ok(FILE *f, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fileno(f), &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return 0;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: mode %04o lets others read the CA key (chmod 600 it)",
			 path, (unsigned)(st.st_mode & 07777));
		return 0;
	}
	return 1;
}

static int read_pem(const char *path, int private, EVP_PKEY **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *k = NULL;

	*out = NULL;
	if (!f) {
		int r = -errno;

		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (private && !private_mode_ok(f, path, err, errlen)) {
		fclose(f);
		return -EPERM;
	}
	k = private ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!k || !is_p256(k)) {
		snprintf(err, errlen, "%s: not a PEM P-256 %s key", path,
			 private ? "private" : "public");
		EVP_PKEY_free(k);
		return -EINVAL;
	}
	*out = k;
	return 0;
}

int ttp_key_read_private(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	return read_pem(path, 1, out, err, errlen);
}

int ttp_key_read_public(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	return read_pem(path, 0, out, err, errlen);
}

/* Through the SubjectPublicKeyInfo encoding: the copy has no private part. */
int ttp_key_public_of(EVP_PKEY *key, EVP_PKEY **out)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int len = i2d_PUBKEY(key, &der);

	*out = NULL;
	if (len <= 0)
		return -ENOMEM;
	p = der;
	*out = d2i_PUBKEY(NULL, &p, len);
	OPENSSL_free(der);
	return *out ? 0 : -ENOMEM;
}
