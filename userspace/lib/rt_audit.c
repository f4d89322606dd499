/* SPDX-License-Identifier: MIT */
/* Audit log: fsync'ed JSON lines (see rt_audit.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rt_audit.h"
#include "rt_file.h"
#include "rt_json.h"
#include "rt_log.h"

enum { AUDIT_STACK_BUF = 1024 };

static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;
static int audit_fd = -1;

/* The group-commit state. Records are appended to cur under audit_lock;
 * rt_audit_detach() takes cur away as a numbered batch, and commits (write
 * + fdatasync) run in that order under commit_lock, outside audit_lock, so
 * appends for the next batch go on while one is synced. Buffers are
 * recycled: they grow to the largest batch and stay (no allocation per
 * record). Lock order: commit_lock, then audit_lock. */
struct rt_audit_batch {
	char *buf;
	size_t len, cap;
	uint64_t seq;
	struct rt_audit_batch *next;    /* spare list */
};

static pthread_mutex_t commit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t commit_turn = PTHREAD_COND_INITIALIZER;

static struct {
	struct rt_audit_batch *cur, *spare;
	uint64_t next_seq;              /* last seq handed out (audit_lock) */
	uint64_t done_seq;              /* last seq committed (commit_lock) */
	time_t sec;                     /* second the cached date prefix is for */
	char date[24];                  /* "2025-01-31T12:00:00" */
} pend;

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
	err = rt_file_sync_dir(path);
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
	pthread_mutex_lock(&commit_lock);
	pthread_mutex_lock(&audit_lock);
	if (audit_fd >= 0)
		close(audit_fd);
	audit_fd = fd;
	pthread_mutex_unlock(&audit_lock);
	pthread_mutex_unlock(&commit_lock);
	return 0;
}

static void batch_free(struct rt_audit_batch *b)
{
	if (b)
		free(b->buf);
	free(b);
}

void rt_audit_close(void)
{
	pthread_mutex_lock(&commit_lock);
	pthread_mutex_lock(&audit_lock);
	if (audit_fd >= 0)
		close(audit_fd);
	audit_fd = -1;
	batch_free(pend.cur);
	pend.cur = NULL;
	while (pend.spare) {
		struct rt_audit_batch *b = pend.spare;

		pend.spare = b->next;
		batch_free(b);
	}
	pthread_mutex_unlock(&audit_lock);
	pthread_mutex_unlock(&commit_lock);
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

static int write_record(int fd, const char *p, size_t n, int sync)
{
	int r = rt_file_write_all(fd, p, n);

	return !r && sync && fsync(fd) < 0 ? -errno : r;
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
	err = len < 0 ? (int)len : write_record(audit_fd, buf, (size_t)len, 1);
	if (buf != stack)
		free(buf);
	return err;
}

int rt_audit_vwrite(const char *event, va_list ap)
{
	int err;

	if (!event)
		return -EINVAL;
	/* Not in the middle of a group commit: a failed one is cut back. */
	pthread_mutex_lock(&commit_lock);
	pthread_mutex_lock(&audit_lock);
	err = audit_fd < 0 ? -EBADF : audit_locked(event, ap);
	pthread_mutex_unlock(&audit_lock);
	pthread_mutex_unlock(&commit_lock);
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

/* ---- group commit ---- */

/* rt_log_timestamp() with the date and time of day formatted once a second:
 * a batch of thousands of records costs one gmtime_r. */
static void batch_timestamp(char ts[RT_LOG_TS_LEN])
{
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	/* 19 characters + ".123Z" always fit RT_LOG_TS_LEN. */
	if (now.tv_sec != pend.sec || !pend.date[0]) {
		gmtime_r(&now.tv_sec, &tm);
		strftime(pend.date, sizeof(pend.date), "%Y-%m-%dT%H:%M:%S", &tm);
		pend.sec = now.tv_sec;
	}
	unsigned ms = (unsigned)(now.tv_nsec / 1000000) % 1000;
	size_t n = strlen(pend.date);

	memcpy(ts, pend.date, n);
	ts[n] = '.';
	ts[n + 1] = (char)('0' + ms / 100);
	ts[n + 2] = (char)('0' + ms / 10 % 10);
	ts[n + 3] = (char)('0' + ms % 10);
	ts[n + 4] = 'Z';
	ts[n + 5] = '\0';
}

/* Room for need bytes in cur (created, or taken from the spares). */
static int reserve(size_t need)
{
	struct rt_audit_batch *b = pend.cur;
	size_t cap;
	char *p;

	if (need > RT_AUDIT_BUF_MAX)
		return -ENOBUFS;
	if (!b) {
		b = pend.spare;
		if (b)
			pend.spare = b->next;
		else if (!(b = calloc(1, sizeof(*b))))
			return -ENOMEM;
		b->len = 0;
		pend.cur = b;
	}
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64 << 10;
	while (cap < need)
		cap *= 2;
	p = realloc(b->buf, cap);
	if (!p)
		return -ENOMEM;
	b->buf = p;
	b->cap = cap;
	return 0;
}

/* Called with audit_lock held. */
static int append_locked(const char *event, va_list ap)
{
	char ts[RT_LOG_TS_LEN];
	struct rt_audit_batch *b;
	size_t room;
	long len;
	va_list again;
	int err = reserve((pend.cur ? pend.cur->len : 0) + AUDIT_STACK_BUF);

	if (err)
		return err;
	b = pend.cur;
	batch_timestamp(ts);
	va_copy(again, ap);
	room = b->cap - b->len;
	len = format_record(b->buf + b->len, room, ts, event, ap);
	if (len >= (long)room) {
		err = reserve(b->len + (size_t)len + 1);
		if (!err)
			len = format_record(b->buf + b->len, (size_t)len + 1, ts, event, again);
	}
	va_end(again);
	if (err || len < 0)
		return err ? err : (int)len;
	b->len += (size_t)len;
	return 0;
}

int rt_audit_vappend(const char *event, va_list ap)
{
	int err;

	if (!event)
		return -EINVAL;
	pthread_mutex_lock(&audit_lock);
	err = audit_fd < 0 ? -EBADF : append_locked(event, ap);
	pthread_mutex_unlock(&audit_lock);
	if (err)
		rt_err("audit record '%s' not buffered: %s", event, strerror(-err));
	return err;
}

int rt_audit_append(const char *event, ...)
{
	va_list ap;
	int err;

	va_start(ap, event);
	err = rt_audit_vappend(event, ap);
	va_end(ap);
	return err;
}

int rt_audit_detach(struct rt_audit_batch **out)
{
	pthread_mutex_lock(&audit_lock);
	*out = NULL;
	if (pend.cur && pend.cur->len) {
		*out = pend.cur;
		pend.cur = NULL;
		(*out)->seq = ++pend.next_seq;
	}
	pthread_mutex_unlock(&audit_lock);
	return 0;
}

/* The batches b[0..n) written in order, then one fdatasync; on failure the
 * file is cut back to its old end, so it never ends in half a record.
 * commit_lock held. */
static int write_batches(struct rt_audit_batch *const *b, size_t n)
{
	off_t end;
	int err = 0;

	if (audit_fd < 0)
		return -EBADF;
	end = lseek(audit_fd, 0, SEEK_END);
	if (end < 0)
		return -errno;
	for (size_t i = 0; i < n && !err; i++)
		err = write_record(audit_fd, b[i]->buf, b[i]->len, 0);
	if (!err && fdatasync(audit_fd) < 0)
		err = -errno;
	if (err && ftruncate(audit_fd, end) < 0)
		rt_err("audit log: cannot cut back a failed flush: %m");
	return err;
}

/* Commits b[0..n), consecutive detached batches, as one write and sync. */
static int commit_run(struct rt_audit_batch *const *b, size_t n)
{
	size_t bytes = 0;
	int err;

	pthread_mutex_lock(&commit_lock);
	/* Batches reach the file in the order they were detached. */
	while (pend.done_seq + 1 != b[0]->seq)
		pthread_cond_wait(&commit_turn, &commit_lock);
	err = write_batches(b, n);
	pend.done_seq = b[n - 1]->seq;
	pthread_cond_broadcast(&commit_turn);
	pthread_mutex_unlock(&commit_lock);
	pthread_mutex_lock(&audit_lock);
	for (size_t i = 0; i < n; i++) {
		bytes += b[i]->len;
		b[i]->len = 0;
		b[i]->next = pend.spare;
		pend.spare = b[i];
	}
	pthread_mutex_unlock(&audit_lock);
	if (err)
		rt_err("audit log: %zu bytes of records not written: %s", bytes, strerror(-err));
	return err;
}

int rt_audit_commit_group(struct rt_audit_batch *const *b, size_t n)
{
	struct rt_audit_batch *run[RT_AUDIT_GROUP_MAX];
	size_t k = 0;
	int err = 0, r;

	/* Runs of consecutive batches share one sync; a gap (a batch another
	 * thread detached in between) ends a run, which commits in its turn. */
	for (size_t i = 0; i < n; i++) {
		if (!b[i])
			continue;
		if (k && (k == RT_AUDIT_GROUP_MAX || b[i]->seq != run[k - 1]->seq + 1)) {
			r = commit_run(run, k);
			err = err ? err : r;
			k = 0;
		}
		run[k++] = b[i];
	}
	if (k) {
		r = commit_run(run, k);
		err = err ? err : r;
	}
	return err;
}

int rt_audit_commit(struct rt_audit_batch *b)
{
	return rt_audit_commit_group(&b, 1);
}

int rt_audit_flush(void)
{
	struct rt_audit_batch *b;

	rt_audit_detach(&b);
	return rt_audit_commit(b);
}

size_t rt_audit_pending(void)
{
	size_t n;

	pthread_mutex_lock(&audit_lock);
	n = pend.cur ? pend.cur->len : 0;
	pthread_mutex_unlock(&audit_lock);
	return n;
}

void rt_audit_discard(void)
{
	pthread_mutex_lock(&audit_lock);
	if (pend.cur)
		pend.cur->len = 0;
	pthread_mutex_unlock(&audit_lock);
}
