/* SPDX-License-Identifier: MIT */
/* The relay's bounded, crash-safe, in-order spool file (spool.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "lib/rt_file.h"
#include "lib/rt_log.h"
#include "shake.h"
#include "spool.h"
#include "udp.h"

enum {
	KIND_BATCH = 1,
	KIND_DONE = 2,
	CHECK_LEN = 8,
	BODY_FIXED = 1 + 8,
	BODY_MAX = BODY_FIXED + 1 + GWD_SPOOL_ADDR_MAX + GWD_UDP_RX_BUF,
};

static const uint8_t magic[4] = { 'I', 'S', 'P', '1' };

static void check_of(const uint8_t *lenbody, size_t n, uint8_t out[CHECK_LEN])
{
	iomt_shake128(lenbody, n, out, CHECK_LEN);
}

/* ---- the entry table ---- */

static int entry_push(struct gwd_spool *s, const struct gwd_spool_entry *en)
{
	if (s->head && s->head == s->n) {
		s->head = s->n = s->cursor = 0;
	} else if (s->head > s->cap / 2) {
		memmove(s->e, s->e + s->head, (s->n - s->head) * sizeof(*s->e));
		s->n -= s->head;
		s->cursor -= s->cursor >= s->head ? s->head : s->cursor;
		s->head = 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		struct gwd_spool_entry *e = realloc(s->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		s->e = e;
		s->cap = cap;
	}
	s->e[s->n++] = *en;
	s->live++;
	return 0;
}

struct gwd_spool_entry *gwd_spool_find(struct gwd_spool *s, uint64_t seq)
{
	size_t lo = s->head, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->e[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->n && s->e[lo].seq == seq && !s->e[lo].done)
		return &s->e[lo];
	return NULL;
}

/* Drops done entries from the front; an empty spool empties its file. */
static int advance(struct gwd_spool *s)
{
	while (s->head < s->n && s->e[s->head].done)
		s->head++;
	if (s->cursor < s->head)
		s->cursor = s->head;
	if (s->live || !s->size)
		return 0;
	s->head = s->n = s->cursor = 0;
	if (ftruncate(s->fd, 0) || fdatasync(s->fd))
		return -errno;
	s->size = 0;
	return 0;
}

/* ---- frames ---- */

/* Writes one frame (body = kind | seq | rest) at the end: 0 or -errno. */
static int put_frame(int fd, uint64_t at, uint8_t kind, uint64_t seq, const uint8_t *rest,
		     size_t rlen, const uint8_t *tail, size_t tlen, size_t *written)
{
	uint8_t buf[4 + 4 + BODY_MAX + CHECK_LEN];
	size_t blen = BODY_FIXED + rlen + tlen, n = 8 + blen;
	ssize_t w;

	if (blen > BODY_MAX)
		return -EMSGSIZE;
	memcpy(buf, magic, 4);
	iomt_store_be32(buf + 4, (uint32_t)blen);
	buf[8] = kind;
	iomt_store_be64(buf + 9, seq);
	if (rlen)
		memcpy(buf + 8 + BODY_FIXED, rest, rlen);
	if (tlen)
		memcpy(buf + 8 + BODY_FIXED + rlen, tail, tlen);
	check_of(buf + 4, 4 + blen, buf + n);
	n += CHECK_LEN;
	w = pwrite(fd, buf, n, (off_t)at);
	if (w < 0)
		return -errno;
	if ((size_t)w != n)
		return -EIO;
	*written = n;
	return 0;
}

static int put_batch(struct gwd_spool *s, int fd, uint64_t at, uint64_t seq,
		     const struct gwd_addr *from, const uint8_t *payload, size_t len,
		     size_t *written)
{
	uint8_t rest[1 + GWD_SPOOL_ADDR_MAX] = { 0 };
	size_t alen = from->len <= GWD_SPOOL_ADDR_MAX ? from->len : 0;

	(void)s;
	rest[0] = (uint8_t)alen;
	memcpy(rest + 1, &from->ss, alen);
	return put_frame(fd, at, KIND_BATCH, seq, rest, 1 + alen, payload, len, written);
}

/* Replays the file; a torn or damaged tail is cut off. */
static int replay(struct gwd_spool *s)
{
	uint8_t buf[4 + 4 + BODY_MAX + CHECK_LEN], chk[CHECK_LEN];
	uint64_t off = 0, batches = 0, done = 0;
	struct stat st;

	if (fstat(s->fd, &st))
		return -errno;
	for (;;) {
		ssize_t r = pread(s->fd, buf, 8, (off_t)off);
		uint32_t blen;
		uint64_t seq;

		if (r == 0)
			break;
		if (r != 8 || memcmp(buf, magic, 4))
			goto torn;
		blen = iomt_load_be32(buf + 4);
		if (blen < BODY_FIXED || blen > BODY_MAX ||
		    pread(s->fd, buf + 8, blen + CHECK_LEN, (off_t)(off + 8)) !=
			    (ssize_t)(blen + CHECK_LEN))
			goto torn;
		check_of(buf + 4, 4 + blen, chk);
		if (memcmp(chk, buf + 8 + blen, CHECK_LEN))
			goto torn;
		seq = iomt_load_be64(buf + 9);
		if (buf[8] == KIND_BATCH) {
			struct gwd_spool_entry en = { .seq = seq };
			uint8_t alen = buf[8 + BODY_FIXED];

			if (alen > GWD_SPOOL_ADDR_MAX || BODY_FIXED + 1u + alen > blen ||
			    (s->n && seq <= s->e[s->n - 1].seq))
				goto torn;
			memcpy(&en.from.ss, buf + 8 + BODY_FIXED + 1, alen);
			en.from.len = alen;
			en.off = off + 8 + BODY_FIXED + 1 + alen;
			en.len = blen - BODY_FIXED - 1 - alen;
			if (en.len < sizeof(en.sensor_id))
				goto torn;
			memcpy(en.sensor_id, buf + 8 + BODY_FIXED + 1 + alen, sizeof(en.sensor_id));
			if (entry_push(s, &en))
				return -ENOMEM;
			if (seq >= s->next_seq)
				s->next_seq = seq + 1;
			batches++;
		} else if (buf[8] == KIND_DONE) {
			struct gwd_spool_entry *en = gwd_spool_find(s, seq);

			if (en) {
				en->done = 1;
				s->live--;
				done++;
			}
		} else {
			goto torn;
		}
		off += 8 + blen + CHECK_LEN;
	}
	s->size = off;
	goto out;
torn:
	rt_warn("spool %s: damaged or torn frame at byte %llu of %llu: cut there", s->path,
		(unsigned long long)off, (unsigned long long)st.st_size);
	if (ftruncate(s->fd, (off_t)off) || fdatasync(s->fd))
		return -errno;
	s->size = off;
out:
	if (batches)
		rt_info("spool %s: %zu batches still to deliver (%llu recorded, %llu done)",
			s->path, s->live, (unsigned long long)batches, (unsigned long long)done);
	return advance(s);
}

/* ---- open, close ---- */

int gwd_spool_open(struct gwd_spool *s, const char *dir, uint64_t max, char *err, size_t errlen)
{
	int e;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->max = max;
	s->next_seq = 1;
	if ((size_t)snprintf(s->path, sizeof(s->path), "%s/relay.spool", dir) >= sizeof(s->path))
		return rt_file_err(err, errlen, -ENAMETOOLONG, "spool_dir %s: too long", dir);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return rt_file_err(err, errlen, -errno, "spool_dir %s: %s", dir, strerror(errno));
	s->fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->fd < 0)
		return rt_file_err(err, errlen, -errno, "spool %s: %s", s->path, strerror(errno));
	if (flock(s->fd, LOCK_EX | LOCK_NB)) {
		e = errno == EWOULDBLOCK ? -EBUSY : -errno;
		gwd_spool_close(s);
		return rt_file_err(err, errlen, e, "spool %s: %s", s->path,
				   e == -EBUSY ? "in use by another daemon" : strerror(-e));
	}
	e = rt_file_sync_dir(s->path);
	if (!e)
		e = replay(s);
	if (e) {
		gwd_spool_close(s);
		return rt_file_err(err, errlen, e, "spool %s: %s", s->path, strerror(-e));
	}
	return 0;
}

void gwd_spool_close(struct gwd_spool *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->e);
	s->e = NULL;
	s->fd = -1;
	s->n = s->head = s->cap = s->live = 0;
}

/* ---- compaction ---- */

/* Copies the batches not done into a new file that replaces the old. */
static int compact(struct gwd_spool *s)
{
	char tmp[sizeof(s->path) + 8];
	uint8_t buf[GWD_UDP_RX_BUF];
	struct gwd_spool_entry *ne = calloc(s->cap ? s->cap : 1, sizeof(*ne));
	uint64_t at = 0;
	int fd, e = 0;
	size_t k = 0, w;

	if (!ne)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.new", s->path);
	unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		free(ne);
		return -errno;
	}
	for (size_t i = s->head; i < s->n && !e; i++) {
		struct gwd_spool_entry en = s->e[i];

		if (en.done)
			continue;
		e = gwd_spool_read(s, &s->e[i], buf);
		if (!e)
			e = put_batch(s, fd, at, en.seq, &en.from, buf, en.len, &w);
		if (e)
			break;
		en.off = at + w - CHECK_LEN - en.len;
		at += w;
		ne[k++] = en;
	}
	if (!e && (flock(fd, LOCK_EX | LOCK_NB) || fsync(fd) || rename(tmp, s->path)))
		e = -errno;
	if (!e)
		e = rt_file_sync_dir(s->path);
	if (e) {
		close(fd);
		unlink(tmp);
		free(ne);
		return e;	/* the old file and table stay as they were */
	}
	close(s->fd);
	s->fd = fd;
	free(s->e);
	s->e = ne;
	s->n = k;
	s->head = 0;
	/* The cursor restarts at the first batch not in flight. */
	s->cursor = 0;
	while (s->cursor < s->n && s->e[s->cursor].inflight)
		s->cursor++;
	rt_info("spool %s compacted: %llu -> %llu bytes, %zu batches", s->path,
		(unsigned long long)s->size, (unsigned long long)at, s->n);
	s->size = at;
	return 0;
}

/* ---- the relay's calls ---- */

int gwd_spool_append(struct gwd_spool *s, const struct gwd_addr *from, const uint8_t *payload,
		     size_t len)
{
	struct gwd_spool_entry en = { .seq = s->next_seq, .from = *from };
	size_t alen = from->len <= GWD_SPOOL_ADDR_MAX ? from->len : 0, w;
	uint64_t need = GWD_SPOOL_FRAME_OVERHEAD + BODY_FIXED + 1 + alen + len;
	int e;

	if (BODY_FIXED + 1 + alen + len > BODY_MAX || len < sizeof(en.sensor_id))
		return -EMSGSIZE;
	memcpy(en.sensor_id, payload, sizeof(en.sensor_id));
	if (s->size + need > s->max) {
		/* Room taken by done batches at the front is reclaimed first. */
		if (s->head >= s->n || s->e[s->head].off < s->size / 4 ||
		    (e = compact(s)) || s->size + need > s->max)
			return -ENOSPC;
	}
	e = put_batch(s, s->fd, s->size, en.seq, from, payload, len, &w);
	if (e) {
		/* A partial frame fails its check on replay; cut it now. */
		if (ftruncate(s->fd, (off_t)s->size))
			rt_warn("spool %s: cannot cut a failed write: %s", s->path,
				strerror(errno));
		return e;
	}
	en.off = s->size + w - CHECK_LEN - len;
	en.len = (uint32_t)len;
	en.from.len = (socklen_t)alen;
	e = entry_push(s, &en);
	if (e)
		return e;
	s->size += w;
	s->next_seq++;
	s->dirty = 1;
	return 0;
}

int gwd_spool_sync(struct gwd_spool *s)
{
	if (!s->dirty)
		return 0;
	s->dirty = 0;
	return fdatasync(s->fd) ? -errno : 0;
}

struct gwd_spool_entry *gwd_spool_next(struct gwd_spool *s)
{
	while (s->cursor < s->n && (s->e[s->cursor].done || s->e[s->cursor].inflight))
		s->cursor++;
	if (s->cursor == s->n)
		return NULL;
	s->e[s->cursor].inflight = 1;
	s->inflight++;
	return &s->e[s->cursor++];
}

int gwd_spool_read(struct gwd_spool *s, const struct gwd_spool_entry *en, uint8_t *buf)
{
	ssize_t r = pread(s->fd, buf, en->len, (off_t)en->off);

	if (r < 0)
		return -errno;
	return (size_t)r == en->len ? 0 : -EIO;
}

int gwd_spool_done(struct gwd_spool *s, struct gwd_spool_entry *en)
{
	size_t w;
	int e;

	if (en->inflight)
		s->inflight--;
	en->inflight = 0;
	en->done = 1;
	s->live--;
	e = put_frame(s->fd, s->size, KIND_DONE, en->seq, NULL, 0, NULL, 0, &w);
	if (!e)
		s->size += w;
	else if (ftruncate(s->fd, (off_t)s->size))
		rt_warn("spool %s: cannot cut a failed write: %s", s->path, strerror(errno));
	{
		int a = advance(s);

		return e ? e : a;
	}
}

void gwd_spool_requeue(struct gwd_spool *s, struct gwd_spool_entry *en)
{
	size_t i = (size_t)(en - s->e);

	if (!en->inflight)
		return;
	en->inflight = 0;
	s->inflight--;
	if (i < s->cursor)
		s->cursor = i;
}

void gwd_spool_requeue_all(struct gwd_spool *s)
{
	for (size_t i = s->head; i < s->n; i++)
		s->e[i].inflight = 0;
	s->inflight = 0;
	s->cursor = s->head;
}
