/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct.h"
#include "files.h"
#include "shake.h"
#include "sp800_185.h"

void ppd_check(const char *custom, const uint8_t *p, size_t len, uint8_t out[PPD_CHECK_LEN])
{
	struct iomt_shake128 s;

	iomt_cshake128_init(&s, NULL, 0, custom, strlen(custom));
	iomt_shake128_absorb(&s, p, len);
	iomt_shake128_squeeze(&s, out, PPD_CHECK_LEN);
	iomt_shake128_wipe(&s);
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

int ppd_write_new(const char *path, const void *buf, size_t len)
{
	char tmp[PATH_MAX];
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (access(path, F_OK) == 0)
		return -EEXIST;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = fchmod(fd, 0600) < 0 ? -errno : 0;
	if (!r)
		r = write_all(fd, buf, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	/* link, not rename: an existing file is never replaced. */
	if (!r && link(tmp, path) < 0)
		r = -errno;
	unlink(tmp);
	return r ? r : sync_dir(path);
}

long ppd_read_private(const char *path, uint8_t *buf, size_t cap, char *err, size_t errlen)
{
	struct stat st;
	size_t got = 0;
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file", path);
		return -EINVAL;
	}
	if (st.st_mode & 077) {
		close(fd);
		snprintf(err, errlen, "%s: mode %03o is too open (chmod 600 it)", path,
			 (unsigned)(st.st_mode & 0777));
		return -EPERM;
	}
	while (got < cap && (n = read(fd, buf + got, cap - got)) > 0)
		got += (size_t)n;
	if (n >= 0 && got == cap) {
		uint8_t extra;

		n = read(fd, &extra, 1);
		if (n > 0) {
			close(fd);
			snprintf(err, errlen, "%s: too long", path);
			return -EFBIG;
		}
	}
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	return (long)got;
}

int ppd_passphrase_read(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
	long n = ppd_read_private(path, (uint8_t *)buf, cap - 1, err, errlen);
	char *nl;

	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	nl = memchr(buf, '\n', (size_t)n);
	if (nl)
		*nl = '\0';
	if (nl && nl > buf && nl[-1] == '\r')
		nl[-1] = '\0';
	if (!buf[0] || strlen(buf) != strcspn(buf, "\n")) {
		iomt_wipe(buf, cap);
		snprintf(err, errlen, "%s: the passphrase is empty", path);
		return -EINVAL;
	}
	return 0;
}
