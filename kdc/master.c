/* SPDX-License-Identifier: MIT */
/* The master key file (see master.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct.h"
#include "lib/rt_rng.h"
#include "master.h"
#include "sp800_185.h"

static const uint8_t magic[8] = { 'I', 'O', 'M', 'T', 'K', 'D', 'C', 'M' };
static const char check_custom[] = "iomt/kdc/master-check";

void kdc_master_check(const uint8_t key[IOMT_KDC_MASTER_LEN], uint8_t out[KDC_CHECK_LEN])
{
	iomt_kmac128(key, IOMT_KDC_MASTER_LEN, check_custom, sizeof(check_custom) - 1, NULL, 0,
		     out, KDC_CHECK_LEN);
}

static int sync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	int fd, r = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int kdc_master_create(const char *path, uint8_t key[IOMT_KDC_MASTER_LEN], char *err,
		      size_t errlen)
{
	uint8_t b[KDC_MASTER_FILE_LEN] = { 0 };
	ssize_t n = -1;
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path,
			 r == -EEXIST ? "exists: refusing to replace a master key" : strerror(-r));
		return r;
	}
	r = rt_random(key, IOMT_KDC_MASTER_LEN);
	if (!r) {
		memcpy(b, magic, sizeof(magic));
		b[8] = 1;
		memcpy(b + 12, key, IOMT_KDC_MASTER_LEN);
		kdc_master_check(key, b + 44);
		r = fchmod(fd, 0600) < 0 ? -errno : 0;
	}
	if (!r)
		n = write(fd, b, sizeof(b));
	if (!r && n != (ssize_t)sizeof(b))
		r = n < 0 ? -errno : -EIO;
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r)
		r = sync_dir_of(path);
	iomt_wipe(b, sizeof(b));
	if (r) {
		unlink(path);
		iomt_wipe(key, IOMT_KDC_MASTER_LEN);
		snprintf(err, errlen, "%s: cannot write the master key: %s", path, strerror(-r));
	}
	return r;
}

int kdc_master_read(const char *path, uint8_t key[IOMT_KDC_MASTER_LEN], char *err,
		    size_t errlen)
{
	uint8_t b[KDC_MASTER_FILE_LEN + 1], check[KDC_CHECK_LEN];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r = 0;

	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "master key %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		r = -EINVAL, snprintf(err, errlen, "master key %s: not a regular file", path);
	else if (st.st_mode & 077)
		r = -EPERM, snprintf(err, errlen, "master key %s: mode %03o is too open (chmod 600)",
				     path, (unsigned)(st.st_mode & 0777));
	n = r ? 0 : read(fd, b, sizeof(b));
	close(fd);
	if (!r && (n != KDC_MASTER_FILE_LEN || memcmp(b, magic, sizeof(magic)) || b[8] != 1))
		r = -EBADMSG, snprintf(err, errlen, "master key %s: not a version-1 master key file",
				       path);
	if (!r) {
		kdc_master_check(b + 12, check);
		if (!iomt_ct_eq(check, b + 44, KDC_CHECK_LEN))
			r = -EBADMSG, snprintf(err, errlen, "master key %s: corrupted (check value)",
					       path);
	}
	if (!r)
		memcpy(key, b + 12, IOMT_KDC_MASTER_LEN);
	iomt_wipe(b, sizeof(b));
	return r;
}

int kdc_master_load(const char *path, struct kdc_db *db, uint8_t key[IOMT_KDC_MASTER_LEN],
		    char *err, size_t errlen)
{
	uint8_t check[KDC_CHECK_LEN];
	struct kdc_meta m;
	int r = kdc_master_read(path, key, err, errlen);

	if (r)
		return r;
	r = kdc_db_meta(db, &m);
	if (r) {
		snprintf(err, errlen, "cannot read the database's meta row: %s", strerror(-r));
	} else {
		kdc_master_check(key, check);
		if (!iomt_ct_eq(check, m.master_check, KDC_CHECK_LEN))
			r = -EKEYREJECTED, snprintf(err, errlen, "master key %s does not belong to "
						    "this database", path);
	}
	if (r)
		iomt_wipe(key, IOMT_KDC_MASTER_LEN);
	return r;
}
