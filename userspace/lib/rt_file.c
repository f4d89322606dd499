/* SPDX-License-Identifier: MIT */
/* Small files: durable writes, atomic publication, whole reads (rt_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_file.h"

int rt_file_err(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

int rt_file_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

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

int rt_file_sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, r = 0;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	if (!slash)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int rt_file_create(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);
	int r = 0;

	if (fd < 0)
		return -errno;
	/* A private mode must hold whatever the umask. */
	if (!(mode & 077) && fchmod(fd, mode) < 0)
		r = -errno;
	if (!r)
		r = rt_file_write_all(fd, buf, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (r)
		unlink(path);
	return r;
}

int rt_file_publish(const char *path, const void *buf, size_t len, mode_t mode, unsigned flags)
{
	char tmp[PATH_MAX];
	int r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if ((flags & RT_FILE_NO_REPLACE) && access(path, F_OK) == 0)
		return -EEXIST;
	unlink(tmp);
	r = rt_file_create(tmp, buf, len, mode);
	if (r)
		return r;
	/* link, not rename, when an existing file must never be replaced. */
	if (flags & RT_FILE_NO_REPLACE)
		r = link(tmp, path) < 0 ? -errno : 0;
	else
		r = rename(tmp, path) < 0 ? -errno : 0;
	if (r || (flags & RT_FILE_NO_REPLACE))
		unlink(tmp);
	return r ? r : rt_file_sync_dir(path);
}

/* Opens path for reading; with RT_FILE_PRIVATE checks what it is first. */
static int open_checked(const char *path, unsigned flags, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 || !(flags & RT_FILE_PRIVATE))
		return fd < 0 ? rt_file_err(err, errlen, -errno, "%s: %s", path, strerror(errno))
			      : fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return rt_file_err(err, errlen, -EINVAL, "%s: not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return rt_file_err(err, errlen, -EPERM, "%s: mode %03o is too open (chmod 600 it)",
				   path, (unsigned)(st.st_mode & 0777));
	}
	return fd;
}

long rt_file_read(const char *path, void *buf, size_t cap, unsigned flags, char *err,
		  size_t errlen)
{
	uint8_t *b = buf, extra;
	size_t got = 0;
	ssize_t n = 0;
	int fd = open_checked(path, flags, err, errlen);

	if (fd < 0)
		return fd;
	while (got < cap && ((n = read(fd, b + got, cap - got)) > 0 || (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	/* One byte more than the caller can take means the file is too big. */
	if (n >= 0 && got == cap)
		n = read(fd, &extra, 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return rt_file_err(err, errlen, (int)n, "%s: %s", path, strerror((int)-n));
	if (got == cap && n > 0)
		return rt_file_err(err, errlen, -EFBIG, "%s: larger than the %zu bytes expected",
				   path, cap);
	return (long)got;
}
