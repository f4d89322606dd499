/* SPDX-License-Identifier: MIT */
/* Evidence log writer: open (verify, repair the tail), append, sign heads
 * (see rt_evlog.h and docs/EVLOG.md). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "ecqv.h"
#include "rt_evlog_fmt.h"
#include "rt_log.h"
#include "rt_rng.h"

enum { CUT_NAME_TRIES = 100 };

struct rt_evlog {
	pthread_mutex_t lock;
	int fd;
	int broken;		/* errno of a failure that left the file in doubt */
	char *path;
	char *cut_path;		/* where open saved the bytes it cut, or NULL */
	uint64_t cut_bytes;
	EVP_PKEY *key;
	struct rt_evlog_opts opts;
	uint8_t log_id[RT_EVLOG_ID_LEN];
	uint8_t h[RT_EVLOG_HASH_LEN];	/* of the last entry; zeros when none */
	uint64_t next_seq;
	uint64_t heads;
	uint64_t unsigned_n;	/* entries since the last head */
	uint64_t end;		/* file size as this handle left it */
};

static uint64_t now_ms(const struct rt_evlog *log)
{
	return log->opts.now_ms ? log->opts.now_ms(log->opts.now_arg) : evlog_now_ms();
}

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- creating ---- */

/* Header built and synced under a temporary name, then linked into place:
 * an open never sees half a header. EEXIST: someone created it first. */
static int create_log(const char *path, EVP_PKEY *key, uint64_t created)
{
	uint8_t hdr[EVLOG_HDR_LEN], id[RT_EVLOG_ID_LEN];
	char tmp[PATH_MAX];
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	r = rt_random(id, sizeof(id));
	if (!r)
		r = evlog_header_build(hdr, key, id, created);
	if (r)
		return r;
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0)
		return -errno;
	r = evlog_write_all(fd, hdr, sizeof(hdr));
	if (!r && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (!r && link(tmp, path) < 0 && errno != EEXIST)
		r = -errno;
	unlink(tmp);
	if (!r)
		r = evlog_sync_parent(path);
	return r;
}

static int open_or_create(struct rt_evlog *log)
{
	const int flags = O_RDWR | O_APPEND | O_CLOEXEC | O_NOCTTY;
	int fd = open(log->path, flags), r;

	if (fd >= 0 || errno != ENOENT)
		return fd < 0 ? -errno : fd;
	r = create_log(log->path, log->key, now_ms(log));
	if (r)
		return r;
	fd = open(log->path, flags);
	return fd < 0 ? -errno : fd;
}

/* ---- appending ---- */

/* One write of whole frames at the end, then fsync. A failed write is
 * taken back (truncate to where it began); when that, or the fsync, fails
 * the file is in doubt and the handle stops. */
static int write_frames(struct rt_evlog *log, const uint8_t *buf, size_t n)
{
	struct stat st;
	int r;

	if (log->broken) {
		rt_err("%s: an earlier failure (%s) left the log in doubt: reopen it", log->path,
		       strerror(log->broken));
		return -EIO;
	}
	if (fstat(log->fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size != log->end) {
		/* Our h_prev would not follow what is there now. */
		log->broken = EBADMSG;
		rt_err("%s: %lld bytes, but this handle left %" PRIu64 ": written behind its "
		       "back; no more appends until reopened", log->path,
		       (long long)st.st_size, log->end);
		return -EBADMSG;
	}
	r = evlog_write_all(log->fd, buf, n);
	if (r) {
		rt_err("%s: append of %zu bytes: %s", log->path, n, strerror(-r));
		if (ftruncate(log->fd, (off_t)log->end) < 0) {
			log->broken = errno;
			rt_err("%s: cannot take back the partial append: %m; reopen the log",
			       log->path);
		}
		return r;
	}
	if (fsync(log->fd) < 0) {
		/* The kernel may have dropped the pages and said so once. */
		log->broken = errno;
		rt_err("%s: fsync: %m; no more appends until reopened", log->path);
		return -EIO;
	}
	log->end += n;
	return 0;
}

static int sign_locked(struct rt_evlog *log)
{
	uint8_t frame[EVLOG_HEAD_FRAME];
	int r;

	if (!log->unsigned_n)
		return 0;
	r = evlog_head_frame(frame, log->key, log->log_id, log->next_seq - 1, now_ms(log),
			     log->h);
	if (r)
		rt_err("%s: cannot sign a head: libcrypto failed", log->path);
	if (!r)
		r = write_frames(log, frame, sizeof(frame));
	if (!r) {
		log->unsigned_n = 0;
		log->heads++;
	}
	return r;
}

static int append_locked(struct rt_evlog *log, uint8_t type, const void *payload, size_t len,
			 uint64_t *seq_out)
{
	const uint64_t seq = log->next_seq, t = now_ms(log);
	const unsigned every = log->opts.sign_every;
	const int due = every != RT_EVLOG_SIGN_ON_DEMAND && log->unsigned_n + 1 >= every;
	const size_t elen = evlog_entry_frame_len(len);
	const size_t n = elen + (due ? EVLOG_HEAD_FRAME : 0);
	uint8_t h[RT_EVLOG_HASH_LEN], *buf;
	int r;

	if (seq == RT_EVLOG_NO_SEQ)
		return -EOVERFLOW;
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	/* Entry and head in one write: a crash leaves a prefix of both, which
	 * open cuts off, as the caller never heard back. */
	r = evlog_entry_frame(buf, seq, t, type, payload, len, log->h, h);
	if (!r && due)
		r = evlog_head_frame(buf + elen, log->key, log->log_id, seq, t, h);
	if (r)
		rt_err("%s: cannot build entry %" PRIu64 ": libcrypto failed", log->path, seq);
	if (!r)
		r = write_frames(log, buf, n);
	free(buf);
	if (r)
		return r;
	memcpy(log->h, h, sizeof(h));
	log->next_seq++;
	log->unsigned_n = due ? 0 : log->unsigned_n + 1;
	log->heads += (uint64_t)due;
	if (seq_out)
		*seq_out = seq;
	return 0;
}

int rt_evlog_append(struct rt_evlog *log, uint8_t type, const void *payload, size_t len,
		    uint64_t *seq_out)
{
	int r;

	if (!log || !type || len > RT_EVLOG_PAYLOAD_MAX || (!payload && len))
		return -EINVAL;
	pthread_mutex_lock(&log->lock);
	r = append_locked(log, type, payload, len, seq_out);
	pthread_mutex_unlock(&log->lock);
	return r;
}

int rt_evlog_sign(struct rt_evlog *log)
{
	int r;

	if (!log)
		return -EINVAL;
	pthread_mutex_lock(&log->lock);
	r = sign_locked(log);
	pthread_mutex_unlock(&log->lock);
	return r;
}

/* ---- opening: verify, and repair only the tail ---- */

/* Saves buf[0..n) to "<path>.cut-<ms>" (or .cut-<ms>.<i>) before it is cut. */
static int save_cut(struct rt_evlog *log, const uint8_t *buf, size_t n)
{
	size_t cap = strlen(log->path) + 48;
	uint64_t t = evlog_now_ms();
	int r = -EEXIST;

	log->cut_path = malloc(cap);
	if (!log->cut_path)
		return -ENOMEM;
	for (int i = 0; r == -EEXIST && i < CUT_NAME_TRIES; i++) {
		if (i)
			snprintf(log->cut_path, cap, "%s.cut-%" PRIu64 ".%d", log->path, t, i);
		else
			snprintf(log->cut_path, cap, "%s.cut-%" PRIu64, log->path, t);
		r = evlog_write_new(log->cut_path, buf, n);
	}
	if (r) {
		free(log->cut_path);
		log->cut_path = NULL;
	}
	return r;
}

/* Cuts the file to len bytes, the rest having been saved first: bytes are
 * never dropped without a copy. */
static int cut_tail(struct rt_evlog *log, const uint8_t *buf, size_t file_len, size_t len,
		    const struct rt_evlog_report *rep, char *err, size_t errlen)
{
	int r = save_cut(log, buf + len, file_len - len);

	if (r) {
		set_err(err, errlen, "%s: %s; cannot save the tail before cutting it: %s",
			log->path, rep->detail, strerror(-r));
		return r;
	}
	if (ftruncate(log->fd, (off_t)len) < 0 || fsync(log->fd) < 0) {
		r = -errno;
		set_err(err, errlen, "%s: cannot cut the tail: %s", log->path, strerror(errno));
		return r;
	}
	log->cut_bytes = file_len - len;
	rt_warn("%s: %s; cut %zu bytes at offset %zu (saved in %s)", log->path, rep->detail,
		file_len - len, len, log->cut_path);
	return 0;
}

static void take_state(struct rt_evlog *log, const struct rt_evlog_report *rep, size_t len)
{
	uint64_t covered = rep->signed_seq == RT_EVLOG_NO_SEQ ? 0 : rep->signed_seq + 1;

	memcpy(log->log_id, rep->log_id, sizeof(log->log_id));
	memcpy(log->h, rep->last_hash, sizeof(log->h));
	log->next_seq = rep->entries;
	log->heads = rep->heads;
	log->unsigned_n = rep->entries - covered;
	log->end = len;
}

static int load_state(struct rt_evlog *log, char *err, size_t errlen)
{
	struct rt_evlog_report rep;
	uint8_t *buf = NULL;
	size_t len = 0, keep;
	int r = evlog_read_fd(log->fd, &buf, &len), tail;

	if (r) {
		set_err(err, errlen, "%s: cannot read: %s", log->path, strerror(-r));
		return r;
	}
	r = evlog_check_buf(buf, len, log->key, NULL, NULL, &rep);
	tail = rep.status == RT_EVLOG_E_TORN_TAIL || rep.status == RT_EVLOG_E_UNSIGNED_TAIL;
	keep = (size_t)(log->opts.adopt_unsigned ? rep.valid_len : rep.signed_len);
	if (r && tail && keep < len) {
		r = cut_tail(log, buf, len, keep, &rep, err, errlen);
		if (!r)
			r = evlog_check_buf(buf, keep, log->key, NULL, NULL, &rep);
		len = keep;
	}
	if (r && rep.status == RT_EVLOG_E_UNSIGNED_TAIL && log->opts.adopt_unsigned) {
		rt_warn("%s: %s; signing them as asked (adopt_unsigned)", log->path, rep.detail);
		r = 0;
	}
	if (r && !err[0])
		set_err(err, errlen, "%s: %s", log->path, rep.detail);
	if (!r)
		take_state(log, &rep, len);
	free(buf);
	return r;
}

static int lock_file(struct rt_evlog *log, char *err, size_t errlen)
{
	if (flock(log->fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK) {
		set_err(err, errlen, "%s: in use (open elsewhere)", log->path);
		return -EBUSY;
	}
	set_err(err, errlen, "%s: flock: %s", log->path, strerror(errno));
	return -errno;
}

static int check_open_args(const char *path, EVP_PKEY *key, struct rt_evlog **out, char *err,
			   size_t errlen)
{
	if (!path || !out) {
		set_err(err, errlen, "evidence log: no path or handle");
		return -EINVAL;
	}
	if (!ecqv_pkey_is_p256(key) || !evlog_has_private(key)) {
		set_err(err, errlen, "%s: the signing key is not a P-256 key pair", path);
		return -EINVAL;
	}
	return 0;
}

static struct rt_evlog *new_handle(const char *path, EVP_PKEY *key,
				   const struct rt_evlog_opts *opts)
{
	struct rt_evlog *log = calloc(1, sizeof(*log));

	if (!log || !(log->path = strdup(path))) {
		free(log);
		return NULL;
	}
	log->fd = -1;
	if (opts)
		log->opts = *opts;
	if (!log->opts.sign_every)
		log->opts.sign_every = 1;
	EVP_PKEY_up_ref(key);
	log->key = key;
	pthread_mutex_init(&log->lock, NULL);
	return log;
}

static void free_handle(struct rt_evlog *log)
{
	if (log->fd >= 0)
		close(log->fd);
	EVP_PKEY_free(log->key);
	pthread_mutex_destroy(&log->lock);
	free(log->cut_path);
	free(log->path);
	free(log);
}

int rt_evlog_open(const char *path, EVP_PKEY *sign_key, const struct rt_evlog_opts *opts,
		  struct rt_evlog **out, char *err, size_t errlen)
{
	char none[1];
	struct rt_evlog *log;
	int r;

	if (!err || !errlen) {
		err = none;
		errlen = sizeof(none);
	}
	err[0] = '\0';
	if (out)
		*out = NULL;
	r = check_open_args(path, sign_key, out, err, errlen);
	if (r)
		return r;
	log = new_handle(path, sign_key, opts);
	if (!log)
		return -ENOMEM;
	log->fd = open_or_create(log);
	if (log->fd < 0) {
		r = log->fd;
		set_err(err, errlen, "%s: cannot open: %s", path, strerror(-r));
	}
	if (!r)
		r = lock_file(log, err, errlen);
	if (!r)
		r = load_state(log, err, errlen);
	if (!r && log->unsigned_n && log->opts.adopt_unsigned)
		r = sign_locked(log);
	if (r) {
		rt_err("evidence log %s", err[0] ? err : strerror(-r));
		free_handle(log);
		return r;
	}
	*out = log;
	return 0;
}

/* ---- the rest ---- */

void rt_evlog_stats(struct rt_evlog *log, struct rt_evlog_stats *st)
{
	pthread_mutex_lock(&log->lock);
	st->next_seq = log->next_seq;
	st->heads = log->heads;
	st->unsigned_entries = log->unsigned_n;
	st->cut_bytes = log->cut_bytes;
	st->cut_path = log->cut_path;
	memcpy(st->log_id, log->log_id, sizeof(st->log_id));
	memcpy(st->last_hash, log->h, sizeof(st->last_hash));
	pthread_mutex_unlock(&log->lock);
}

int rt_evlog_export_log(struct rt_evlog *log, const char *dst)
{
	struct rt_evlog_report rep;
	int r;

	if (!log || !dst)
		return -EINVAL;
	pthread_mutex_lock(&log->lock);
	r = rt_evlog_export(log->path, log->key, dst, &rep);
	pthread_mutex_unlock(&log->lock);
	if (r)
		rt_err("%s: export to %s: %s", log->path, dst,
		       rep.status ? rep.detail : strerror(-r));
	return r;
}

int rt_evlog_close(struct rt_evlog *log)
{
	int r = 0;

	if (!log)
		return 0;
	pthread_mutex_lock(&log->lock);
	if (log->unsigned_n && !log->broken)
		r = sign_locked(log);
	pthread_mutex_unlock(&log->lock);
	free_handle(log);
	return r;
}
