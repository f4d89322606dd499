/* SPDX-License-Identifier: MIT */
/* Audit log: fsync'ed JSON lines (see rt_audit.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_audit.h"
#include "rt_json.h"
#include "rt_log.h"

enum { AUDIT_STACK_BUF = 1024 };

static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;
static int audit_fd = -1;

/* A new file's directory entry is durable only once its directory is synced. */
static int sync_parent_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, err = 0;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

static int open_audit(const char *path)
{
	const int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY;
	int fd, err;

	fd = open(path, flags);
	if (fd >= 0 || errno != ENOENT)
		return fd < 0 ? -errno : fd;
	fd = open(path, flags | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -errno;
	err = sync_parent_dir(path);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int rt_audit_open(const char *path)
{
	int fd = open_audit(path);

	if (fd < 0) {
		rt_err("audit log %s: %s", path, strerror(-fd));
		return fd;
	}
	pthread_mutex_lock(&audit_lock);
	if (audit_fd >= 0)
		close(audit_fd);
	audit_fd = fd;
	pthread_mutex_unlock(&audit_lock);
	return 0;
}

void rt_audit_close(void)
{
	pthread_mutex_lock(&audit_lock);
	if (audit_fd >= 0)
		close(audit_fd);
	audit_fd = -1;
	pthread_mutex_unlock(&audit_lock);
}

/* Format the record into buf; returns its full length, or -EINVAL. */
static long format_record(char *buf, size_t cap, const char *ts, const char *event, va_list ap)
{
	struct rt_json j;
	const char *k, *v;

	rt_json_begin(&j, buf, cap);
	rt_json_str(&j, "ts", ts);
	rt_json_str(&j, "prog", rt_log_prog());
	rt_json_str(&j, "event", event);
	while ((k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		if (!v)
			return -EINVAL;
		rt_json_str(&j, k, v);
	}
	return (long)rt_json_end(&j);
}

static int write_record(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return fsync(fd) < 0 ? -errno : 0;
}

/* Called with audit_lock held. */
static int audit_locked(const char *event, va_list ap)
{
	char stack[AUDIT_STACK_BUF], ts[RT_LOG_TS_LEN], *buf = stack;
	long len;
	va_list again;
	int err;

	rt_log_timestamp(ts);
	va_copy(again, ap);
	len = format_record(stack, sizeof(stack), ts, event, ap);
	if (len >= (long)sizeof(stack)) {
		buf = malloc((size_t)len + 1);
		len = buf ? format_record(buf, (size_t)len + 1, ts, event, again) : -ENOMEM;
	}
	va_end(again);
	err = len < 0 ? (int)len : write_record(audit_fd, buf, (size_t)len);
	if (buf != stack)
		free(buf);
	return err;
}

int rt_audit_vwrite(const char *event, va_list ap)
{
	int err;

	if (!event)
		return -EINVAL;
	pthread_mutex_lock(&audit_lock);
	err = audit_fd < 0 ? -EBADF : audit_locked(event, ap);
	pthread_mutex_unlock(&audit_lock);
	if (err)
		rt_err("audit record '%s' not written: %s", event, strerror(-err));
	return err;
}

int rt_audit_write(const char *event, ...)
{
	va_list ap;
	int err;

	va_start(ap, event);
	err = rt_audit_vwrite(event, ap);
	va_end(ap);
	return err;
}
