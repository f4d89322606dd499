/* SPDX-License-Identifier: MIT */
/* The replay cache's append-only file: records, load, append, compaction. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "ct.h"
#include "rt_file.h"
#include "rt_log.h"
#include "rt_replay_int.h"
#include "shake.h"

static const uint8_t magic[8] = "IOMTRPLY";
enum {
	VERSION = 1,
	CHECK_LEN = 8,
	LOAD_CHUNK = 2048,	/* records per read on open */
};

static void rec_check(const uint8_t *key_exp, uint8_t out[CHECK_LEN])
{
	static const char dom[] = "iomt/replay";
	uint8_t in[sizeof(dom) - 1 + RT_REPLAY_KEY_LEN + 8];

	memcpy(in, dom, sizeof(dom) - 1);
	memcpy(in + sizeof(dom) - 1, key_exp, RT_REPLAY_KEY_LEN + 8);
	iomt_shake128(in, sizeof(in), out, CHECK_LEN);
}

void rt_replay_rec_encode(uint8_t rec[RT_REPLAY_REC_LEN], const uint8_t key[RT_REPLAY_KEY_LEN],
			  uint64_t exp)
{
	memcpy(rec, key, RT_REPLAY_KEY_LEN);
	iomt_store_be64(rec + RT_REPLAY_KEY_LEN, exp);
	rec_check(rec, rec + RT_REPLAY_KEY_LEN + 8);
}

static void hdr_encode(uint8_t hdr[RT_REPLAY_HDR_LEN])
{
	memset(hdr, 0, RT_REPLAY_HDR_LEN);
	memcpy(hdr, magic, sizeof(magic));
	iomt_store_be32(hdr + 8, VERSION);
}

static int open_locked(const char *path, int flags)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | flags, 0600);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	close(fd);
	return errno == EWOULDBLOCK ? -EBUSY : -errno;
}

/* A new (or torn-at-creation) file: the header, durable. */
static int init_file(struct rt_replay *rc)
{
	uint8_t hdr[RT_REPLAY_HDR_LEN];
	int r;

	hdr_encode(hdr);
	if (ftruncate(rc->fd, 0) || fdatasync(rc->fd))
		return -errno;
	r = rt_file_write_all(rc->fd, hdr, sizeof(hdr));
	if (!r && fdatasync(rc->fd))
		r = -errno;
	if (!r)
		r = rt_file_sync_dir(rc->path);
	if (r)
		rt_err("%s: cannot initialise the replay cache: %s", rc->path, strerror(-r));
	return r;
}

static int check_hdr(struct rt_replay *rc)
{
	uint8_t hdr[RT_REPLAY_HDR_LEN], want[RT_REPLAY_HDR_LEN];
	ssize_t n = pread(rc->fd, hdr, sizeof(hdr), 0);

	if (n != (ssize_t)sizeof(hdr)) {
		rt_err("%s: cannot read the header: %s", rc->path,
		       n < 0 ? strerror(errno) : "short");
		return n < 0 ? -errno : -EIO;
	}
	hdr_encode(want);
	if (memcmp(hdr, magic, sizeof(magic))) {
		rt_err("%s: not a replay cache file (bad magic)", rc->path);
		return -EINVAL;
	}
	if (memcmp(hdr, want, sizeof(want))) {
		rt_err("%s: replay cache version %u, this build reads version %u", rc->path,
		       iomt_load_be32(hdr + 8), VERSION);
		return -EINVAL;
	}
	return 0;
}

/* One record read on open: into the table unless expired or damaged. */
static int load_rec(struct rt_replay *rc, const uint8_t *rec, uint64_t now_ms)
{
	uint8_t check[CHECK_LEN];
	uint64_t exp = iomt_load_be64(rec + RT_REPLAY_KEY_LEN);

	rec_check(rec, check);
	if (!iomt_ct_eq(check, rec + RT_REPLAY_KEY_LEN + 8, CHECK_LEN)) {
		rc->st.damaged_on_load++;
		return 0;
	}
	if (exp <= now_ms) {
		rc->st.expired_on_load++;
		return 0;
	}
	rc->st.loaded++;
	rt_replay_tab_put(rc, rec, exp);
	if (rc->used > rc->capacity) {
		rt_err("%s: holds more live keys than the capacity (%zu): raise the capacity "
		       "(refusing to forget keys: that would accept replays)", rc->path,
		       rc->capacity);
		return -EINVAL;
	}
	return 0;
}

static int load(struct rt_replay *rc, off_t size, uint64_t now_ms)
{
	size_t nrec = (size_t)(size - RT_REPLAY_HDR_LEN) / RT_REPLAY_REC_LEN;
	off_t off = RT_REPLAY_HDR_LEN;
	uint8_t *buf = malloc(LOAD_CHUNK * RT_REPLAY_REC_LEN);
	int r = buf ? 0 : -ENOMEM;

	rc->st.torn_bytes = (uint64_t)(size - RT_REPLAY_HDR_LEN) % RT_REPLAY_REC_LEN;
	rc->st.file_records = nrec;
	while (!r && nrec) {
		size_t k = nrec < LOAD_CHUNK ? nrec : LOAD_CHUNK;
		ssize_t n = pread(rc->fd, buf, k * RT_REPLAY_REC_LEN, off);

		if (n != (ssize_t)(k * RT_REPLAY_REC_LEN)) {
			r = n < 0 ? -errno : -EIO;
			rt_err("%s: read: %s", rc->path, n < 0 ? strerror(errno) : "short");
			break;
		}
		for (size_t i = 0; !r && i < k; i++)
			r = load_rec(rc, buf + i * RT_REPLAY_REC_LEN, now_ms);
		off += n;
		nrec -= k;
	}
	free(buf);
	rc->st.live = rc->used;
	return r;
}

int rt_replay_file_open(struct rt_replay *rc, uint64_t now_ms)
{
	struct stat st;
	int r;

	rc->fd = open_locked(rc->path, O_CREAT);
	if (rc->fd < 0) {
		r = rc->fd;
		rt_err("%s: %s", rc->path,
		       r == -EBUSY ? "in use (locked by another open replay cache)" : strerror(-r));
		return r;
	}
	if (fstat(rc->fd, &st))
		return -errno;
	if (st.st_size < RT_REPLAY_HDR_LEN) {
		/* Empty, or torn while being created: no record was ever synced. */
		if (st.st_size)
			rt_warn("%s: header incomplete (%lld bytes): starting an empty cache",
				rc->path, (long long)st.st_size);
		return init_file(rc);
	}
	if ((r = check_hdr(rc)) || (r = load(rc, st.st_size, now_ms)))
		return r;
	if (rc->st.torn_bytes || rc->st.damaged_on_load)
		rt_warn("%s: ignored a torn tail of %llu bytes and %llu damaged records "
			"(a crash during a write): rewriting the file", rc->path,
			(unsigned long long)rc->st.torn_bytes,
			(unsigned long long)rc->st.damaged_on_load);
	rt_info("%s: %llu replay keys loaded (%llu expired)", rc->path,
		(unsigned long long)rc->st.loaded, (unsigned long long)rc->st.expired_on_load);
	if (rc->st.torn_bytes || rc->st.damaged_on_load ||
	    (rc->st.file_records >= RT_REPLAY_COMPACT_MIN && rc->st.file_records > 2 * rc->used))
		return rt_replay_file_compact(rc, now_ms);
	return 0;
}

int rt_replay_file_append(struct rt_replay *rc, const uint8_t *recs, size_t n)
{
	int r = rt_file_write_all(rc->fd, recs, n * RT_REPLAY_REC_LEN);

	if (!r && fdatasync(rc->fd))
		r = -errno;
	rc->st.syncs++;
	if (r) {
		rc->broken = 1;
		rt_err("%s: append: %s; no more batches until the cache is reopened", rc->path,
		       strerror(-r));
		return r;
	}
	rc->st.file_records += n;
	return 0;
}

/* The live keys into a new locked file beside the old one: its fd. */
static int write_live(struct rt_replay *rc, const char *tmp, uint64_t now_ms, size_t *nrec)
{
	uint8_t hdr[RT_REPLAY_HDR_LEN], rec[RT_REPLAY_REC_LEN];
	int fd = open_locked(tmp, O_CREAT | O_TRUNC), r;

	*nrec = 0;
	if (fd < 0)
		return fd;
	hdr_encode(hdr);
	r = rt_file_write_all(fd, hdr, sizeof(hdr));
	for (size_t i = 0; !r && i <= rc->mask; i++) {
		if (rc->tab[i].exp <= now_ms)
			continue;
		rt_replay_rec_encode(rec, rc->tab[i].key, rc->tab[i].exp);
		r = rt_file_write_all(fd, rec, sizeof(rec));
		(*nrec)++;
	}
	if (!r && fdatasync(fd))
		r = -errno;
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

int rt_replay_file_compact(struct rt_replay *rc, uint64_t now_ms)
{
	char tmp[PATH_MAX + 8];
	size_t nrec;
	int fd, r;

	snprintf(tmp, sizeof(tmp), "%s.tmp", rc->path);
	fd = write_live(rc, tmp, now_ms, &nrec);
	r = fd < 0 ? fd : 0;
	if (!r && rename(tmp, rc->path))
		r = -errno;
	if (r) {
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		/* The old file is intact and still ours: go on appending to it. */
		rt_err("%s: compaction failed: %s (the old file is kept)", rc->path, strerror(-r));
		return r;
	}
	if ((r = rt_file_sync_dir(rc->path)))
		rt_warn("%s: syncing the directory after compaction: %s", rc->path, strerror(-r));
	close(rc->fd);
	rc->fd = fd;
	rc->st.file_records = nrec;
	rc->st.compactions++;
	rt_dbg("%s: compacted to %zu live keys", rc->path, nrec);
	return 0;
}
