/* SPDX-License-Identifier: MIT */
/* Key files, plain and passcode-wrapped (see rt_keyfile.h). */
#include <argon2.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "ccm.h"
#include "ct.h"
#include "rt_keyfile.h"
#include "rt_rng.h"
#include "sp800_185.h"

/*
 * Layout (docs/PROTOCOL.md, "Key files"); integers big-endian.
 *
 *   0  magic "IOMT-KEY" | 8 version 1 | 9 form | 10 kind | 11 zero
 *   12 kvno (4) | 16 name (16) | 32 patient (16)
 *   plain:    48 key (16) | 64 kcv (8) | 72 check (8)                 = 80
 *   passcode: 48 t (4) | 52 m KiB (4) | 56 p (4) | 60 salt (16)
 *             | 76 nonce (13) | 89 CCM(key || kcv) (24) | 113 tag (16)
 *             | 129 check (8)                                         = 137
 *
 * kcv = iomt_kdc_key_check(key); check = cSHAKE128(every byte before it,
 * 64, "", "iomt/keyfile/check"); the CCM associated data is bytes 0..76.
 */
enum {
	KF_VERSION = 1,
	KF_PLAIN = 1,
	KF_PASSCODE = 2,
	KF_HDR = 48,
	KF_CHECK_LEN = 8,
	KF_KCV_LEN = 8,
	KF_PARAMS = 48,
	KF_SALT = 60,
	KF_NONCE = 76,
	KF_CT = 89,
	KF_TAG = 113,
	KF_AAD_LEN = 76,
	KF_SALT_LEN = 16,
	KF_WRAP_PT = IOMT_KDC_KEY_LEN + KF_KCV_LEN,
	KF_T_MAX = 16,                      /* a file may not ask for more work */
	KF_M_MIN_KIB = 8 * 1024,
	KF_M_MAX_KIB = 1024 * 1024,
};

static const uint8_t kf_magic[8] = { 'I', 'O', 'M', 'T', '-', 'K', 'E', 'Y' };
static const char check_custom[] = "iomt/keyfile/check";

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

static void file_check(const uint8_t *p, size_t len, uint8_t out[KF_CHECK_LEN])
{
	struct iomt_shake128 s;

	iomt_cshake128_init(&s, NULL, 0, check_custom, sizeof(check_custom) - 1);
	iomt_shake128_absorb(&s, p, len);
	iomt_shake128_squeeze(&s, out, KF_CHECK_LEN);
	iomt_shake128_wipe(&s);
}

static int fields_valid(const struct rt_keyfile *kf)
{
	if (kf->kind < IOMT_KDC_KIND_SENSOR || kf->kind > IOMT_KDC_KIND_CLOUD)
		return 0;
	if (!iomt_kdc_name_valid(kf->name) || iomt_kdc_name_is_empty(kf->name))
		return 0;
	/* The cloud store belongs to no patient; everything else to one. */
	if (kf->kind == IOMT_KDC_KIND_CLOUD)
		return iomt_kdc_name_is_empty(kf->patient);
	return iomt_kdc_name_valid(kf->patient) && !iomt_kdc_name_is_empty(kf->patient);
}

static void put_header(uint8_t *b, const struct rt_keyfile *kf, uint8_t form)
{
	memcpy(b, kf_magic, sizeof(kf_magic));
	b[8] = KF_VERSION;
	b[9] = form;
	b[10] = kf->kind;
	b[11] = 0;
	iomt_store_be32(b + 12, kf->kvno);
	memcpy(b + 16, kf->name, IOMT_KDC_NAME_LEN);
	memcpy(b + 32, kf->patient, IOMT_KDC_NAME_LEN);
}

int rt_keyfile_kdf(const char *passcode, const uint8_t *salt, size_t salt_len, uint32_t t,
		   uint32_t m_kib, uint32_t p, uint8_t *out, size_t out_len)
{
	int r;

	if (!passcode || !salt || !out || !out_len)
		return -EINVAL;
	r = argon2id_hash_raw(t, m_kib, p, passcode, strlen(passcode), salt, salt_len, out,
			      out_len);
	if (r == ARGON2_OK)
		return 0;
	iomt_wipe(out, out_len);
	return r == ARGON2_MEMORY_ALLOCATION_ERROR ? -ENOMEM : -EINVAL;
}

static int wrap_key(const char *passcode, const uint8_t *salt, uint32_t t, uint32_t m,
		    uint32_t p, uint8_t key[IOMT_KDC_KEY_LEN])
{
	return rt_keyfile_kdf(passcode, salt, KF_SALT_LEN, t, m, p, key, IOMT_KDC_KEY_LEN);
}

/* The passcode form's body after the header: params, salt, nonce, box. */
static int seal(uint8_t *b, const struct rt_keyfile *kf, const char *passcode)
{
	uint8_t wk[IOMT_KDC_KEY_LEN], pt[KF_WRAP_PT];
	struct iomt_aes128 aes;
	int r;

	iomt_store_be32(b + KF_PARAMS, RT_KEYFILE_ARGON2_T);
	iomt_store_be32(b + KF_PARAMS + 4, RT_KEYFILE_ARGON2_M_KIB);
	iomt_store_be32(b + KF_PARAMS + 8, RT_KEYFILE_ARGON2_P);
	r = rt_random(b + KF_SALT, KF_SALT_LEN + IOMT_CCM_NONCE_MAX_LEN);
	if (!r)
		r = wrap_key(passcode, b + KF_SALT, RT_KEYFILE_ARGON2_T, RT_KEYFILE_ARGON2_M_KIB,
			     RT_KEYFILE_ARGON2_P, wk);
	if (r)
		return r;
	memcpy(pt, kf->key, IOMT_KDC_KEY_LEN);
	iomt_kdc_key_check(kf->key, pt + IOMT_KDC_KEY_LEN);
	iomt_aes128_init(&aes, wk);
	r = iomt_ccm_encrypt(&aes, b + KF_NONCE, IOMT_CCM_NONCE_MAX_LEN, b, KF_AAD_LEN, pt,
			     sizeof(pt), b + KF_CT, b + KF_TAG, IOMT_CCM_TAG_MAX_LEN) ? -EINVAL : 0;
	iomt_aes128_wipe(&aes);
	iomt_wipe(wk, sizeof(wk));
	iomt_wipe(pt, sizeof(pt));
	return r;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int sync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd, r = 0;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	strcpy(dir, path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Temporary file beside path, 0600 whatever the umask; fsync; rename. */
static int publish(const char *path, const uint8_t *b, size_t len)
{
	char tmp[PATH_MAX];
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = fchmod(fd, 0600) < 0 ? -errno : 0;
	if (!r)
		r = write_all(fd, b, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r) {
		unlink(tmp);
		return r;
	}
	return sync_dir(path);
}

int rt_keyfile_write(const char *path, const struct rt_keyfile *kf, const char *passcode)
{
	uint8_t b[RT_KEYFILE_PASSCODE_LEN];
	size_t len;
	int r = 0;

	if (!path || !kf || !fields_valid(kf) || (passcode && !passcode[0]))
		return -EINVAL;
	put_header(b, kf, passcode ? KF_PASSCODE : KF_PLAIN);
	if (passcode) {
		r = seal(b, kf, passcode);
		len = RT_KEYFILE_PASSCODE_LEN;
	} else {
		memcpy(b + KF_HDR, kf->key, IOMT_KDC_KEY_LEN);
		iomt_kdc_key_check(kf->key, b + KF_HDR + IOMT_KDC_KEY_LEN);
		len = RT_KEYFILE_PLAIN_LEN;
	}
	if (!r) {
		file_check(b, len - KF_CHECK_LEN, b + len - KF_CHECK_LEN);
		r = publish(path, b, len);
	}
	iomt_wipe(b, sizeof(b));
	return r;
}

/* ---- reading ---- */

/* The whole file (at most cap bytes, one more tells it is longer): its
 * length, or -errno. The mode is checked on the open file. */
static long slurp(const char *path, uint8_t *b, size_t cap, char *err, size_t errlen)
{
	struct stat st;
	size_t got = 0;
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return fail(err, errlen, -errno, "%s: %s", path,
			    errno == ENOENT ? "no such file" : strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, -EINVAL, "%s: not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return fail(err, errlen, -EPERM,
			    "%s: mode %03o is too open for a key file (chmod 600 it)", path,
			    (unsigned)(st.st_mode & 0777));
	}
	while (got < cap && (n = read(fd, b + got, cap - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (n < 0)
		return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	return (long)got;
}

static int open_passcode(const char *path, const uint8_t *b, const char *passcode,
			 uint8_t pt[KF_WRAP_PT], char *err, size_t errlen)
{
	uint32_t t = iomt_load_be32(b + KF_PARAMS), m = iomt_load_be32(b + KF_PARAMS + 4),
		 p = iomt_load_be32(b + KF_PARAMS + 8);
	uint8_t wk[IOMT_KDC_KEY_LEN];
	struct iomt_aes128 aes;
	int r;

	if (!passcode)
		return fail(err, errlen, -ENOKEY, "%s: the key is protected: a passcode is needed",
			    path);
	if (t < 1 || t > KF_T_MAX || m < KF_M_MIN_KIB || m > KF_M_MAX_KIB || p != 1)
		return fail(err, errlen, -EBADMSG, "%s: corrupted (Argon2 parameters)", path);
	r = wrap_key(passcode, b + KF_SALT, t, m, p, wk);
	if (r)
		return fail(err, errlen, r, "%s: Argon2id: %s", path, strerror(-r));
	iomt_aes128_init(&aes, wk);
	r = iomt_ccm_decrypt(&aes, b + KF_NONCE, IOMT_CCM_NONCE_MAX_LEN, b, KF_AAD_LEN, b + KF_CT,
			     KF_WRAP_PT, b + KF_TAG, IOMT_CCM_TAG_MAX_LEN, pt);
	iomt_aes128_wipe(&aes);
	iomt_wipe(wk, sizeof(wk));
	/* The checksum held, so a tag that fails means the passcode is wrong. */
	if (r)
		return fail(err, errlen, -EKEYREJECTED, "%s: wrong passcode", path);
	return 0;
}

static int parse(const char *path, const uint8_t *b, long len, const char *passcode,
		 struct rt_keyfile *kf, char *err, size_t errlen)
{
	uint8_t sum[KF_CHECK_LEN], kcv[KF_KCV_LEN], pt[KF_WRAP_PT];
	long want;
	int r;

	if (len < KF_HDR || memcmp(b, kf_magic, sizeof(kf_magic)))
		return fail(err, errlen, -EINVAL, "%s: not an iomt key file", path);
	if (b[8] != KF_VERSION)
		return fail(err, errlen, -EINVAL, "%s: key file version %u is not supported", path,
			    b[8]);
	if (b[9] != KF_PLAIN && b[9] != KF_PASSCODE)
		return fail(err, errlen, -EINVAL, "%s: unknown key file form %u", path, b[9]);
	want = b[9] == KF_PLAIN ? RT_KEYFILE_PLAIN_LEN : RT_KEYFILE_PASSCODE_LEN;
	if (len != want)
		return fail(err, errlen, -EBADMSG, "%s: corrupted (%s: %ld bytes, not %ld)", path,
			    len < want ? "truncated" : "too long", len, want);
	file_check(b, (size_t)want - KF_CHECK_LEN, sum);
	if (!iomt_ct_eq(sum, b + want - KF_CHECK_LEN, KF_CHECK_LEN))
		return fail(err, errlen, -EBADMSG, "%s: corrupted (checksum mismatch)", path);
	kf->kind = b[10];
	kf->kvno = iomt_load_be32(b + 12);
	memcpy(kf->name, b + 16, IOMT_KDC_NAME_LEN);
	memcpy(kf->patient, b + 32, IOMT_KDC_NAME_LEN);
	if (b[11] || !fields_valid(kf))
		return fail(err, errlen, -EBADMSG, "%s: corrupted (invalid name, patient or kind)",
			    path);
	if (b[9] == KF_PLAIN) {
		memcpy(pt, b + KF_HDR, KF_WRAP_PT);
	} else {
		r = open_passcode(path, b, passcode, pt, err, errlen);
		if (r)
			return r;
	}
	iomt_kdc_key_check(pt, kcv);
	r = iomt_ct_eq(kcv, pt + IOMT_KDC_KEY_LEN, KF_KCV_LEN);
	if (r)
		memcpy(kf->key, pt, IOMT_KDC_KEY_LEN);
	iomt_wipe(pt, sizeof(pt));
	return r ? 0 : fail(err, errlen, -EBADMSG, "%s: corrupted (key check value mismatch)", path);
}

int rt_keyfile_read(const char *path, const char *passcode, struct rt_keyfile *kf, char *err,
		    size_t errlen)
{
	uint8_t b[RT_KEYFILE_PASSCODE_LEN + 1];
	long len;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !kf)
		return fail(err, errlen, -EINVAL, "no key file given");
	memset(kf, 0, sizeof(*kf));
	len = slurp(path, b, sizeof(b), err, errlen);
	r = len < 0 ? (int)len : parse(path, b, len, passcode, kf, err, errlen);
	iomt_wipe(b, sizeof(b));
	if (r)
		rt_keyfile_wipe(kf);
	return r;
}

void rt_keyfile_wipe(struct rt_keyfile *kf)
{
	if (kf)
		iomt_wipe(kf, sizeof(*kf));
}
