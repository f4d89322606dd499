/* SPDX-License-Identifier: MIT */
/* rt_keyfile: both forms round trip; every damage and misuse is named. */
#include <errno.h>
#include <sys/stat.h>

#include "harness.h"
#include "kdc.h"
#include "lib/rt_keyfile.h"
#include "rt_test.h"

FIXTURE(keyfile) {
	char dir[64], path[128];
	struct rt_keyfile kf;
	char err[256];
};

FIXTURE_SETUP(keyfile)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "keyfile"), 0);
	snprintf(self->path, sizeof(self->path), "%s/s1.key", self->dir);
	ASSERT_EQ(iomt_kdc_name_from_text(self->kf.name, "sensor-1"), 0);
	ASSERT_EQ(iomt_kdc_name_from_text(self->kf.patient, "alice"), 0);
	self->kf.kind = IOMT_KDC_KIND_SENSOR;
	self->kf.kvno = 0x01020304;
	for (int i = 0; i < IOMT_KDC_KEY_LEN; i++)
		self->kf.key[i] = (uint8_t)(0xa0 + i);
}

FIXTURE_TEARDOWN(keyfile)
{
	rt_test_rmtree(self->dir);
}

static long file_bytes(const char *path, uint8_t *b, size_t cap)
{
	return rt_test_read(path, (char *)b, cap);
}

static void put_bytes(const char *path, const uint8_t *b, size_t len)
{
	ASSERT_EQ(rt_test_write(path, (const char *)b, len), 0);
	ASSERT_EQ(chmod(path, 0600), 0);
}

TEST_F(keyfile, plain_round_trip)
{
	struct rt_keyfile got;
	struct stat st;

	ASSERT_EQ(rt_keyfile_write(self->path, &self->kf, NULL), 0);
	ASSERT_EQ(stat(self->path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_EQ(st.st_size, RT_KEYFILE_PLAIN_LEN);
	ASSERT_EQ(rt_keyfile_read(self->path, NULL, &got, self->err, sizeof(self->err)), 0);
	ASSERT_MEMEQ(&got, &self->kf, sizeof(got));
	/* A passcode offered for a plain file does no harm. */
	ASSERT_EQ(rt_keyfile_read(self->path, "unused", &got, self->err, sizeof(self->err)), 0);
	ASSERT_MEMEQ(got.key, self->kf.key, IOMT_KDC_KEY_LEN);
	rt_keyfile_wipe(&got);
	for (size_t i = 0; i < sizeof(got); i++)
		ASSERT_EQ(((uint8_t *)&got)[i], 0);
}

TEST_F(keyfile, passcode_round_trip_and_wrong_passcode)
{
	struct rt_keyfile got;
	uint8_t b[256];

	ASSERT_EQ(rt_keyfile_write(self->path, &self->kf, "correct horse"), 0);
	ASSERT_EQ(file_bytes(self->path, b, sizeof(b)), RT_KEYFILE_PASSCODE_LEN);
	/* The key is nowhere in the clear. */
	for (size_t i = 0; i + IOMT_KDC_KEY_LEN <= RT_KEYFILE_PASSCODE_LEN; i++)
		ASSERT_NE(memcmp(b + i, self->kf.key, IOMT_KDC_KEY_LEN), 0);
	ASSERT_EQ(rt_keyfile_read(self->path, "correct horse", &got, self->err,
				  sizeof(self->err)), 0);
	ASSERT_MEMEQ(&got, &self->kf, sizeof(got));
	ASSERT_EQ(rt_keyfile_read(self->path, "correct horsf", &got, self->err,
				  sizeof(self->err)), -EKEYREJECTED);
	ASSERT_NONNULL(strstr(self->err, "wrong passcode"));
	for (size_t i = 0; i < sizeof(got); i++)
		ASSERT_EQ(((uint8_t *)&got)[i], 0);
	ASSERT_EQ(rt_keyfile_read(self->path, NULL, &got, self->err, sizeof(self->err)), -ENOKEY);
	ASSERT_NONNULL(strstr(self->err, "passcode is needed"));
}

TEST_F(keyfile, two_writes_differ_in_salt_and_nonce)
{
	uint8_t a[256], b[256];
	char other[160];

	snprintf(other, sizeof(other), "%s/again.key", self->dir);
	ASSERT_EQ(rt_keyfile_write(self->path, &self->kf, "pin"), 0);
	ASSERT_EQ(rt_keyfile_write(other, &self->kf, "pin"), 0);
	ASSERT_EQ(file_bytes(self->path, a, sizeof(a)), RT_KEYFILE_PASSCODE_LEN);
	ASSERT_EQ(file_bytes(other, b, sizeof(b)), RT_KEYFILE_PASSCODE_LEN);
	ASSERT_MEMEQ(a, b, 60);                   /* header and parameters */
	ASSERT_NE(memcmp(a + 60, b + 60, 16), 0); /* salt */
}

TEST_F(keyfile, cloud_has_no_patient_and_others_need_one)
{
	struct rt_keyfile got;

	self->kf.kind = IOMT_KDC_KIND_CLOUD;
	ASSERT_EQ(rt_keyfile_write(self->path, &self->kf, NULL), -EINVAL);
	memset(self->kf.patient, 0, sizeof(self->kf.patient));
	ASSERT_EQ(rt_keyfile_write(self->path, &self->kf, NULL), 0);
	ASSERT_EQ(rt_keyfile_read(self->path, NULL, &got, self->err, sizeof(self->err)), 0);
	ASSERT_EQ(got.kind, IOMT_KDC_KIND_CLOUD);
	self->kf.kind = IOMT_KDC_KIND_PPD;
	ASSERT_EQ(rt_keyfile_write(self->path, &self->kf, NULL), -EINVAL);
	self->kf.kind = 9;
	ASSERT_EQ(rt_keyfile_write(self->path, &self->kf, NULL), -EINVAL);
	ASSERT_EQ(rt_keyfile_write(self->path, &self->kf, ""), -EINVAL);
}

/* Flip each byte in turn: every one is caught, none as "wrong passcode". */
static void every_byte_is_checked(FIXTURE_DATA(keyfile) *self, const char *pass, long len)
{
	uint8_t b[256], bad[256];
	struct rt_keyfile got;

	ASSERT_EQ(file_bytes(self->path, b, sizeof(b)), len);
	for (long i = 0; i < len; i++) {
		int r;

		memcpy(bad, b, (size_t)len);
		bad[i] ^= 0x40;
		put_bytes(self->path, bad, (size_t)len);
		r = rt_keyfile_read(self->path, pass, &got, self->err, sizeof(self->err));
		/* Magic, version and form make it another format; the rest is damage. */
		if (i < 10) {
			ASSERT_EQ(r, -EINVAL);
		} else {
			if (r != -EBADMSG)
				TH_LOG("byte %ld: %d %s", i, r, self->err);
			ASSERT_EQ(r, -EBADMSG);
			ASSERT_NONNULL(strstr(self->err, "corrupted"));
		}
	}
}

TEST_F(keyfile, a_corrupted_plain_file_is_refused)
{
	ASSERT_EQ(rt_keyfile_write(self->path, &self->kf, NULL), 0);
	every_byte_is_checked(self, NULL, RT_KEYFILE_PLAIN_LEN);
}

TEST_F(keyfile, a_corrupted_passcode_file_is_refused)
{
	ASSERT_EQ(rt_keyfile_write(self->path, &self->kf, "1234"), 0);
	every_byte_is_checked(self, "1234", RT_KEYFILE_PASSCODE_LEN);
}

TEST_F(keyfile, truncated_and_extended_files)
{
	uint8_t b[256];
	struct rt_keyfile got;

	ASSERT_EQ(rt_keyfile_write(self->path, &self->kf, NULL), 0);
	ASSERT_EQ(file_bytes(self->path, b, sizeof(b)), RT_KEYFILE_PLAIN_LEN);
	for (size_t n = 48; n < RT_KEYFILE_PLAIN_LEN; n += 7) {
		put_bytes(self->path, b, n);
		ASSERT_EQ(rt_keyfile_read(self->path, NULL, &got, self->err, sizeof(self->err)),
			  -EBADMSG);
		ASSERT_NONNULL(strstr(self->err, "truncated"));
	}
	b[RT_KEYFILE_PLAIN_LEN] = 0;
	put_bytes(self->path, b, RT_KEYFILE_PLAIN_LEN + 1);
	ASSERT_EQ(rt_keyfile_read(self->path, NULL, &got, self->err, sizeof(self->err)), -EBADMSG);
	ASSERT_NONNULL(strstr(self->err, "too long"));
	put_bytes(self->path, b, 5);
	ASSERT_EQ(rt_keyfile_read(self->path, NULL, &got, self->err, sizeof(self->err)), -EINVAL);
	ASSERT_NONNULL(strstr(self->err, "not an iomt key file"));
	put_bytes(self->path, b, 0);
	ASSERT_EQ(rt_keyfile_read(self->path, NULL, &got, self->err, sizeof(self->err)), -EINVAL);
}

TEST_F(keyfile, missing_file_and_open_modes)
{
	struct rt_keyfile got;
	char missing[160];

	snprintf(missing, sizeof(missing), "%s/nope.key", self->dir);
	ASSERT_EQ(rt_keyfile_read(missing, NULL, &got, self->err, sizeof(self->err)), -ENOENT);
	ASSERT_NONNULL(strstr(self->err, "no such file"));
	ASSERT_EQ(rt_keyfile_write(self->path, &self->kf, NULL), 0);
	ASSERT_EQ(chmod(self->path, 0640), 0);
	ASSERT_EQ(rt_keyfile_read(self->path, NULL, &got, self->err, sizeof(self->err)), -EPERM);
	ASSERT_NONNULL(strstr(self->err, "too open"));
	ASSERT_EQ(chmod(self->path, 0604), 0);
	ASSERT_EQ(rt_keyfile_read(self->path, NULL, &got, self->err, sizeof(self->err)), -EPERM);
	ASSERT_EQ(chmod(self->path, 0400), 0);
	ASSERT_EQ(rt_keyfile_read(self->path, NULL, &got, self->err, sizeof(self->err)), 0);
	/* A write replaces the file whatever its mode, and leaves nothing beside it. */
	ASSERT_EQ(chmod(self->path, 0644), 0);
	umask(0);
	ASSERT_EQ(rt_keyfile_write(self->path, &self->kf, NULL), 0);
	ASSERT_EQ(rt_keyfile_read(self->path, NULL, &got, self->err, sizeof(self->err)), 0);
	ASSERT_EQ(rt_keyfile_write("/nonexistent-dir/x.key", &self->kf, NULL), -ENOENT);
}
