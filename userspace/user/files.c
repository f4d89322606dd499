// SPDX-License-Identifier: MIT
/*
 * Files for iomt-user: whole-file reads with size checks, no-clobber atomic
 * creation with a mode, and shredding the request secret.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct.h"
#include "lib/rt_file.h"
#include "user.h"

enum { PATH_MAX_LEN = 4096 };

static int read_all(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == cap) {
			uint8_t extra;

			/* One byte more tells "exactly cap" from "too big". */
			n = read(fd, &extra, 1);
			if (n != 0) {
				errno = n > 0 ? EFBIG : errno;
				return -1;
			}
			break;
		}
	}
	*len = got;
	return 0;
}

int file_read(const char *what, const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int rc;

	if (fd < 0) {
		user_fail("%s %s: %m", what, path);
		return -1;
	}
	rc = read_all(fd, buf, cap, len);
	if (rc && errno == EFBIG)
		user_fail("%s %s: larger than %zu bytes: not a %s", what, path, cap, what);
	else if (rc)
		user_fail("%s %s: %m", what, path);
	close(fd);
	if (rc)
		iomt_wipe(buf, cap);
	return rc;
}

int file_read_exact(const char *what, const char *path, uint8_t *buf, size_t len)
{
	size_t got;

	if (file_read(what, path, buf, len, &got))
		return -1;
	/* Every file of ours has one size; another is a different file. */
	if (got != len) {
		iomt_wipe(buf, len);
		user_fail("%s %s: %zu bytes, expected exactly %zu", what, path, got, len);
		return -1;
	}
	return 0;
}

/* tmp: a new file next to path, mode 0600 until the final fchmod; on
 * failure nothing is left behind. */
static int tmp_fill(char *tmp, const void *buf, size_t len, unsigned mode)
{
	int fd = mkostemp(tmp, O_CLOEXEC);
	int rc, saved;

	if (fd < 0)
		return -1;
	rc = rt_file_write_all(fd, buf, len) || fchmod(fd, (mode_t)mode) || fsync(fd) ? -1 : 0;
	if (close(fd))
		rc = -1;
	if (rc) {
		saved = errno;
		file_shred(tmp);
		errno = saved;
	}
	return rc;
}

int file_create(const char *what, const char *path, const void *buf, size_t len, unsigned mode)
{
	char tmp[PATH_MAX_LEN];
	int rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= sizeof(tmp)) {
		user_fail("%s %s: path too long", what, path);
		return -1;
	}
	rc = tmp_fill(tmp, buf, len, mode);
	if (rc) {
		user_fail("%s %s: cannot write: %m", what, path);
		return -1;
	}
	/* link(2), unlike rename(2), refuses to replace an existing file. */
	rc = link(tmp, path);
	if (rc && errno == EEXIST)
		user_fail("%s %s exists: not overwriting it", what, path);
	else if (rc)
		user_fail("%s %s: %m", what, path);
	if (rc)
		file_shred(tmp);
	else
		unlink(tmp);
	return rc;
}

int file_shred(const char *path)
{
	static const uint8_t zero[512];
	struct stat st;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	int rc = -1;

	if (fd < 0)
		return -1;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode)) {
		off_t left = st.st_size;

		rc = 0;
		while (left > 0 && !rc) {
			size_t n = left < (off_t)sizeof(zero) ? (size_t)left : sizeof(zero);

			rc = rt_file_write_all(fd, zero, n);
			left -= (off_t)n;
		}
		rc = rc || fsync(fd) ? -1 : 0;
	}
	close(fd);
	return rc || unlink(path) ? -1 : 0;
}

int path_join(char *out, size_t cap, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap) {
		user_fail("%s/%s: path too long", dir, name);
		return -1;
	}
	return 0;
}
