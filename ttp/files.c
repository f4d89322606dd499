/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"

/* "path: reason"; returns r. */
static int fail(char *err, size_t errlen, int r, const char *path)
{
	snprintf(err, errlen, "%s: %s", path, strerror(-r));
	return r;
}

int ttp_file_read(const char *path, void *buf, size_t cap, size_t *len, char *err,
		  size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t got = 0;
	ssize_t n;
	char extra;

	if (fd < 0)
		return fail(err, errlen, -errno, path);
	while (got < cap && (n = read(fd, (char *)buf + got, cap - got)) > 0)
		got += (size_t)n;
	/* One byte more than the caller can take means the file is too big. */
	n = got == cap ? read(fd, &extra, 1) : 0;
	close(fd);
	if (n < 0)
		return fail(err, errlen, -errno, path);
	if (n > 0) {
		snprintf(err, errlen, "%s: larger than the %zu bytes expected", path, cap);
		return -EFBIG;
	}
	*len = got;
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int sync_dir_of(const char *path)
{
	char dir[TTP_PATH_MAX + 8];
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

int ttp_outfile_write(struct ttp_outfile *of, const char *path, const void *data, size_t len,
		      mode_t mode, char *err, size_t errlen)
{
	int fd, r;

	if (strlen(path) >= sizeof(of->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	snprintf(of->path, sizeof(of->path), "%s", path);
	snprintf(of->tmp, sizeof(of->tmp), "%s.tmp", path);
	unlink(of->tmp);
	fd = open(of->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return fail(err, errlen, -errno, of->tmp);
	r = write_all(fd, data, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (r) {
		unlink(of->tmp);
		return fail(err, errlen, r, of->tmp);
	}
	return 0;
}

int ttp_outfile_publish(struct ttp_outfile *of, char *err, size_t errlen)
{
	if (rename(of->tmp, of->path) < 0) {
		int r = -errno;

		unlink(of->tmp);
		return fail(err, errlen, r, of->path);
	}
	return sync_dir_of(of->path);
}

void ttp_outfile_discard(struct ttp_outfile *of)
{
	if (of->tmp[0])
		unlink(of->tmp);
}

int ttp_file_replace_text(const char *path, const char *text, mode_t mode)
{
	struct ttp_outfile of;
	char err[64];
	int r = ttp_outfile_write(&of, path, text, strlen(text), mode, err, sizeof(err));

	if (!r)
		r = ttp_outfile_publish(&of, err, sizeof(err));
	return r;
}

void ttp_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}
