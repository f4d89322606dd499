/* SPDX-License-Identifier: MIT */
/* Crash-safe A/B record file (see rt_recfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
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
#include "rt_recfile.h"
#include "shake.h"

enum {
	RF_VERSION = 1,
	RF_MAGIC_LEN = 8,
	RF_HDR_BODY = 24,        /* magic (8), version (4), rec_len (4), nrec (8) */
	RF_CHECK_LEN = 16,
	RF_SEQ_LEN = 8,
	RF_HDR_LEN = RF_HDR_BODY + RF_CHECK_LEN,
	RF_IDX_LEN = 8,          /* the record index, hashed before a copy */
	RF_BUF_LEN = RF_IDX_LEN + RT_RECFILE_BLOCK,
	RF_WCHUNK = 16,          /* copies built and hashed together (Keccak lanes) */
};

static const uint8_t rf_magic[RF_MAGIC_LEN] = { 'I', 'O', 'M', 'T', 'R', 'E', 'C', 'F' };

struct rt_recfile {
	int fd;
	int broken;              /* an fdatasync failed: no more writes */
	size_t rec_len, nrec;
	size_t copy_len;         /* seq + payload + check */
	char *path;
	pthread_mutex_t lock;
	/* Per record, learnt by its first read or write since open: seq << 1
	 * | copy of the newest valid copy, NEWEST_NONE if neither copy is
	 * valid, 0 if not known yet. The file is locked, so nothing else
	 * changes it: a write needs neither to read nor to hash the copies. */
	uint64_t *newest;
	uint8_t *seen;           /* write_many's scratch: one bit per record */
	uint8_t *wbuf;           /* RF_WCHUNK x (index room + copy), wiped after use */
};

/* "seq 0 in copy B": the next write goes to copy A with seq 1. */
#define NEWEST_NONE ((uint64_t)1)
/* Larger seqs (only a crafted file has them) are not remembered. */
#define NEWEST_SEQ_MAX ((UINT64_MAX >> 1) - 1)

enum copy_kind {
	COPY_EMPTY,              /* all zero: never written */
	COPY_VALID,              /* check verifies, seq >= 1 */
	COPY_BAD,                /* damaged, or torn by a crash mid-write */
};

struct copy_info {
	enum copy_kind kind;
	uint64_t seq;
};

/* ---- file offsets and check values ---- */

static off_t copy_offset(size_t idx, int copy)
{
	return (off_t)RT_RECFILE_BLOCK * (off_t)(1 + 2 * idx + (size_t)copy);
}

static off_t file_size(size_t nrec)
{
	return copy_offset(nrec, 0);
}

/* check = SHAKE128(index || seq || payload)[0..16). b holds RF_IDX_LEN
 * bytes of room (the index goes there), then body = seq || payload. One
 * message of lib's batch API, so that iomt-gwd --baseline (its override)
 * hashes it too. */
static void copy_check(size_t idx, uint8_t *b, size_t body_len, uint8_t check[RF_CHECK_LEN])
{
	const uint8_t *in = b;
	size_t len = RF_IDX_LEN + body_len;

	iomt_store_be64(b, (uint64_t)idx);
	/* Cannot fail: every pointer is set. */
	(void)iomt_shake128_batch(&in, &len, &check, RF_CHECK_LEN, 1);
}

static void header_build(uint8_t hdr[RF_HDR_LEN], size_t rec_len, size_t nrec)
{
	memcpy(hdr, rf_magic, RF_MAGIC_LEN);
	iomt_store_be32(hdr + 8, RF_VERSION);
	iomt_store_be32(hdr + 12, (uint32_t)rec_len);
	iomt_store_be64(hdr + 16, (uint64_t)nrec);
	iomt_shake128(hdr, RF_HDR_BODY, hdr + RF_HDR_BODY, RF_CHECK_LEN);
}

/* ---- plain I/O ---- */

static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the file ends early: truncated behind our back */
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

static int pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- creating and checking the file ---- */

/* Header, then zeroed (sparse) records, then fsync. */
static int fill_new(int fd, size_t rec_len, size_t nrec)
{
	uint8_t hdr[RF_HDR_LEN];
	int r;

	header_build(hdr, rec_len, nrec);
	r = pwrite_full(fd, hdr, sizeof(hdr), 0);
	if (!r && ftruncate(fd, file_size(nrec)) < 0)
		r = -errno;
	if (!r && fsync(fd) < 0)
		r = -errno;
	return r;
}

/* Built whole under a temporary name, then linked into place: an open never
 * sees half a header. EEXIST means someone created it first: use theirs. */
static int create_file(const char *path, size_t rec_len, size_t nrec)
{
	char tmp[PATH_MAX];
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0)
		return -errno;
	r = fill_new(fd, rec_len, nrec);
	close(fd);
	if (!r && link(tmp, path) < 0 && errno != EEXIST)
		r = -errno;
	unlink(tmp);
	if (!r)
		r = rt_file_sync_dir(path);
	return r;
}

static int open_or_create(const char *path, size_t rec_len, size_t nrec)
{
	const int flags = O_RDWR | O_CLOEXEC | O_NOCTTY;
	int fd = open(path, flags), r;

	if (fd >= 0 || errno != ENOENT)
		return fd < 0 ? -errno : fd;
	r = create_file(path, rec_len, nrec);
	if (r)
		return r;
	fd = open(path, flags);
	return fd < 0 ? -errno : fd;
}

/* Reads and checks the header; its shape into *rec_len, *nrec. */
static int read_header(int fd, const char *path, size_t *rec_len, size_t *nrec)
{
	uint8_t hdr[RF_HDR_LEN], want[RF_CHECK_LEN];
	uint64_t n;
	uint32_t v, len;

	if (pread_full(fd, hdr, sizeof(hdr), 0)) {
		rt_err("%s: too short for a record file header", path);
		return -EINVAL;
	}
	if (memcmp(hdr, rf_magic, RF_MAGIC_LEN)) {
		rt_err("%s: not a record file (bad magic)", path);
		return -EINVAL;
	}
	iomt_shake128(hdr, RF_HDR_BODY, want, sizeof(want));
	if (!iomt_ct_eq(want, hdr + RF_HDR_BODY, RF_CHECK_LEN)) {
		rt_err("%s: record file header is damaged (check value)", path);
		return -EINVAL;
	}
	v = iomt_load_be32(hdr + 8);
	len = iomt_load_be32(hdr + 12);
	n = iomt_load_be64(hdr + 16);
	if (v != RF_VERSION) {
		rt_err("%s: record file version %u, this build reads version %u", path, v, RF_VERSION);
		return -EINVAL;
	}
	if (!len || len > RT_RECFILE_MAX_REC_LEN || !n || n > RT_RECFILE_MAX_NREC) {
		rt_err("%s: header gives %llu records of %u bytes: out of range", path,
		       (unsigned long long)n, len);
		return -EINVAL;
	}
	*rec_len = len;
	*nrec = (size_t)n;
	return 0;
}

static int check_shape(int fd, const char *path, size_t rec_len, size_t nrec)
{
	size_t have_len, have_n;
	struct stat st;
	int r = read_header(fd, path, &have_len, &have_n);

	if (r)
		return r;
	if (have_len != rec_len || have_n != nrec) {
		rt_err("%s: holds %zu records of %zu bytes, expected %zu records of %zu bytes",
		       path, have_n, have_len, nrec, rec_len);
		return -EINVAL;
	}
	if (fstat(fd, &st) < 0) {
		rt_err("%s: fstat: %m", path);
		return -errno;
	}
	if (st.st_size != file_size(nrec)) {
		rt_err("%s: size %lld bytes, expected %lld for %zu records (truncated?)", path,
		       (long long)st.st_size, (long long)file_size(nrec), nrec);
		return -EINVAL;
	}
	return 0;
}

static int lock_file(int fd, const char *path)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK) {
		rt_err("%s: in use (locked by another open record file)", path);
		return -EBUSY;
	}
	return -errno;
}

static int new_handle(int fd, const char *path, size_t rec_len, size_t nrec,
		      struct rt_recfile **out)
{
	struct rt_recfile *f = calloc(1, sizeof(*f));

	size_t stride = RF_IDX_LEN + RF_SEQ_LEN + rec_len + RF_CHECK_LEN;

	if (!f || !(f->path = strdup(path)) || !(f->newest = calloc(nrec, sizeof(*f->newest))) ||
	    !(f->seen = calloc((nrec + 7) / 8, 1)) || !(f->wbuf = calloc(RF_WCHUNK, stride))) {
		if (f) {
			free(f->path);
			free(f->newest);
			free(f->seen);
		}
		free(f);
		return -ENOMEM;
	}
	f->fd = fd;
	f->rec_len = rec_len;
	f->nrec = nrec;
	f->copy_len = RF_SEQ_LEN + rec_len + RF_CHECK_LEN;
	pthread_mutex_init(&f->lock, NULL);
	*out = f;
	return 0;
}

int rt_recfile_open(const char *path, size_t rec_len, size_t nrec, struct rt_recfile **out)
{
	int fd, r;

	if (out)
		*out = NULL;
	if (!path || !out || !rec_len || rec_len > RT_RECFILE_MAX_REC_LEN || !nrec ||
	    nrec > RT_RECFILE_MAX_NREC) {
		rt_err("record file %s: bad arguments (%zu records of %zu bytes)",
		       path ? path : "(null)", nrec, rec_len);
		return -EINVAL;
	}
	fd = open_or_create(path, rec_len, nrec);
	if (fd < 0) {
		rt_err("%s: cannot open record file: %s", path, strerror(-fd));
		return fd;
	}
	r = lock_file(fd, path);
	if (!r)
		r = check_shape(fd, path, rec_len, nrec);
	if (!r)
		r = new_handle(fd, path, rec_len, nrec, out);
	if (r)
		close(fd);
	return r;
}

int rt_recfile_stat(const char *path, size_t *rec_len, size_t *nrec)
{
	int fd, r;

	if (!path || !rec_len || !nrec)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = read_header(fd, path, rec_len, nrec);
	close(fd);
	return r;
}

void rt_recfile_close(struct rt_recfile *f)
{
	if (!f)
		return;
	close(f->fd);
	pthread_mutex_destroy(&f->lock);
	free(f->path);
	free(f->newest);
	free(f->seen);
	free(f->wbuf);
	free(f);
}

/* ---- the two copies of a record ---- */

/* b: RF_IDX_LEN bytes of room, then the copy. */
static enum copy_kind classify(const struct rt_recfile *f, size_t idx, uint8_t *b,
			       uint64_t *seq)
{
	size_t body = RF_SEQ_LEN + f->rec_len;
	const uint8_t *copy = b + RF_IDX_LEN;
	uint8_t want[RF_CHECK_LEN];
	int ok;

	*seq = 0;
	if (iomt_ct_is_zero(copy, f->copy_len))
		return COPY_EMPTY;
	copy_check(idx, b, body, want);
	ok = iomt_ct_eq(want, copy + body, RF_CHECK_LEN);
	if (!ok || !iomt_load_be64(copy))
		return COPY_BAD;
	*seq = iomt_load_be64(copy);
	return COPY_VALID;
}

/* Both copies of record idx into buf[0] and buf[1] (after RF_IDX_LEN bytes
 * of room), classified. */
static int load_copies(struct rt_recfile *f, size_t idx, uint8_t buf[2][RF_BUF_LEN],
		       struct copy_info ci[2])
{
	int c, r;

	for (c = 0; c < 2; c++) {
		r = pread_full(f->fd, buf[c] + RF_IDX_LEN, f->copy_len, copy_offset(idx, c));
		if (r) {
			rt_err("%s: record %zu: read: %s", f->path, idx, strerror(-r));
			return r;
		}
		ci[c].kind = classify(f, idx, buf[c], &ci[c].seq);
	}
	return 0;
}

/* The valid copy with the higher seq, or -1 if neither is valid. */
static int newest(const struct copy_info ci[2])
{
	if (ci[0].kind == COPY_VALID && ci[1].kind == COPY_VALID)
		return ci[1].seq > ci[0].seq;
	if (ci[0].kind == COPY_VALID)
		return 0;
	return ci[1].kind == COPY_VALID ? 1 : -1;
}

/* What the copies on disk say of record idx, for the next write. */
static void remember(struct rt_recfile *f, size_t idx, int best, const struct copy_info ci[2])
{
	if (best < 0)
		f->newest[idx] = NEWEST_NONE;
	else if (ci[best].seq <= NEWEST_SEQ_MAX)
		f->newest[idx] = ci[best].seq << 1 | (uint64_t)best;
	else
		f->newest[idx] = 0;
}

static int no_valid_copy(const struct rt_recfile *f, size_t idx, const struct copy_info ci[2])
{
	if (ci[0].kind == COPY_EMPTY && ci[1].kind == COPY_EMPTY)
		return -ENOENT;
	if (ci[0].kind == COPY_EMPTY || ci[1].kind == COPY_EMPTY) {
		rt_warn("%s: record %zu: its only copy is damaged (first write torn by a crash?): "
			"treated as never written", f->path, idx);
		return -ENOENT;
	}
	rt_err("%s: record %zu: both copies are damaged (check values do not verify)", f->path,
	       idx);
	return -EIO;
}

static int read_locked(struct rt_recfile *f, size_t idx, void *rec)
{
	uint8_t buf[2][RF_BUF_LEN];
	struct copy_info ci[2];
	int r = load_copies(f, idx, buf, ci), best;

	if (!r) {
		best = newest(ci);
		remember(f, idx, best, ci);
		if (best >= 0)
			memcpy(rec, buf[best] + RF_IDX_LEN + RF_SEQ_LEN, f->rec_len);
		else
			r = no_valid_copy(f, idx, ci);
	}
	iomt_wipe(buf[0], RF_IDX_LEN + f->copy_len);
	iomt_wipe(buf[1], RF_IDX_LEN + f->copy_len);
	return r;
}

int rt_recfile_read(struct rt_recfile *f, size_t idx, void *rec)
{
	int r;

	if (!f || !rec || idx >= f->nrec)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	r = read_locked(f, idx, rec);
	pthread_mutex_unlock(&f->lock);
	return r;
}

/* ---- writing ---- */

/* The newest copy of record idx as newest[] holds it, read from disk the
 * first time: 0, or -errno. */
static int learn(struct rt_recfile *f, size_t idx)
{
	uint8_t buf[2][RF_BUF_LEN];
	struct copy_info ci[2];
	int r;

	if (f->newest[idx])
		return 0;
	r = load_copies(f, idx, buf, ci);
	if (!r)
		remember(f, idx, newest(ci), ci);
	iomt_wipe(buf[0], RF_IDX_LEN + f->copy_len);
	iomt_wipe(buf[1], RF_IDX_LEN + f->copy_len);
	if (!r && !f->newest[idx]) {
		rt_err("%s: record %zu: sequence number exhausted", f->path, idx);
		r = -EOVERFLOW;
	}
	return r;
}

/* newest[] of a record once a write to it is durable: the other copy,
 * one seq higher. */
static uint64_t after_write(uint64_t n)
{
	return ((n >> 1) + 1) << 1 | (~n & 1);
}

/* Writes each rec over the older (or a damaged or empty) copy of its
 * record, seq one above the newest valid one; n <= RF_WCHUNK, the check
 * values computed together. Not yet durable: the caller syncs, then moves
 * newest[] on (after_write); until then a failed write is simply redone
 * over the same copy, the newest valid one untouched. */
static int stage_chunk(struct rt_recfile *f, const size_t *idx, const void *const *recs,
		       size_t n)
{
	size_t stride = RF_IDX_LEN + f->copy_len, body = RF_SEQ_LEN + f->rec_len;
	size_t len[RF_WCHUNK];
	const uint8_t *in[RF_WCHUNK];
	uint8_t *check[RF_WCHUNK];
	int r = 0;

	for (size_t i = 0; !r && i < n; i++)
		r = learn(f, idx[i]);
	for (size_t i = 0; !r && i < n; i++) {
		uint8_t *b = f->wbuf + i * stride;

		iomt_store_be64(b, (uint64_t)idx[i]);
		iomt_store_be64(b + RF_IDX_LEN, after_write(f->newest[idx[i]]) >> 1);
		memcpy(b + RF_IDX_LEN + RF_SEQ_LEN, recs[i], f->rec_len);
		in[i] = b;
		len[i] = RF_IDX_LEN + body;
		check[i] = b + RF_IDX_LEN + body;
	}
	/* check = SHAKE128(index || seq || payload)[0..16), as copy_check;
	 * cannot fail: every pointer is set. */
	if (!r)
		(void)iomt_shake128_batch(in, len, check, RF_CHECK_LEN, n);
	for (size_t i = 0; !r && i < n; i++) {
		int target = (int)(after_write(f->newest[idx[i]]) & 1);

		r = pwrite_full(f->fd, f->wbuf + i * stride + RF_IDX_LEN, f->copy_len,
				copy_offset(idx[i], target));
		if (r)
			rt_err("%s: record %zu: write: %s", f->path, idx[i], strerror(-r));
	}
	iomt_wipe(f->wbuf, n * stride);
	return r;
}

static int stage_many(struct rt_recfile *f, const size_t *idx, const void *const *recs,
		      size_t n)
{
	int r = 0;

	for (size_t i = 0; !r && i < n; i += RF_WCHUNK)
		r = stage_chunk(f, idx + i, recs + i, n - i < RF_WCHUNK ? n - i : RF_WCHUNK);
	return r;
}

/* After a failed fdatasync the kernel may have dropped the dirty pages and
 * reported it once: nothing written since can be trusted, so stop. */
static int sync_data(struct rt_recfile *f)
{
	if (fdatasync(f->fd) == 0)
		return 0;
	f->broken = errno;
	rt_err("%s: fdatasync: %s; no more writes until the file is reopened", f->path,
	       strerror(errno));
	return -EIO;
}

static int writable(struct rt_recfile *f)
{
	if (!f->broken)
		return 0;
	rt_err("%s: an earlier fdatasync failed (%s): reopen the file", f->path,
	       strerror(f->broken));
	return -EIO;
}

int rt_recfile_write(struct rt_recfile *f, size_t idx, const void *rec)
{
	int r;

	if (!f || !rec || idx >= f->nrec)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	r = writable(f);
	if (!r)
		r = stage_many(f, &idx, &rec, 1);
	if (!r)
		r = sync_data(f);
	if (!r)
		f->newest[idx] = after_write(f->newest[idx]);
	pthread_mutex_unlock(&f->lock);
	return r;
}

/* Every index in range, every record present, no index twice (the second
 * write would go to the copy the first one just made the newer). */
static int check_many(struct rt_recfile *f, const size_t *idx, const void *const *recs,
		      size_t n)
{
	uint8_t *seen = f->seen;
	size_t i;
	int r = 0;

	for (i = 0; !r && i < n; i++) {
		if (idx[i] >= f->nrec || !recs[i])
			r = -EINVAL;
		else if (seen[idx[i] / 8] & (1u << (idx[i] % 8)))
			r = -EINVAL;
		else
			seen[idx[i] / 8] |= (uint8_t)(1u << (idx[i] % 8));
	}
	if (r == -EINVAL)
		rt_err("%s: write_many: item %zu: index out of range, repeated, or no record",
		       f->path, i - 1);
	/* Back to all zero for the next call: the bits set are those of
	 * the in-range items before the one refused. */
	for (size_t j = 0; j < i; j++)
		if (idx[j] < f->nrec)
			seen[idx[j] / 8] = 0;
	return r;
}

int rt_recfile_write_many(struct rt_recfile *f, const size_t *idx, const void *const *recs,
			  size_t n)
{
	size_t i;
	int r;

	if (!f || (n && (!idx || !recs)))
		return -EINVAL;
	if (!n)
		return 0;
	pthread_mutex_lock(&f->lock);
	r = writable(f);
	if (!r)
		r = check_many(f, idx, recs, n);
	if (!r)
		r = stage_many(f, idx, recs, n);
	if (!r)
		r = sync_data(f);
	for (i = 0; !r && i < n; i++)
		f->newest[idx[i]] = after_write(f->newest[idx[i]]);
	pthread_mutex_unlock(&f->lock);
	return r;
}
