/* SPDX-License-Identifier: MIT */
/* Evidence log: frame encoding, the chain hash, file I/O (see rt_evlog_fmt.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "bytes.h"
#include "rt_evlog_fmt.h"
#include "rt_file.h"

const uint8_t evlog_magic[EVLOG_MAGIC_LEN] = { 'I', 'O', 'M', 'T', 'E', 'V', 'L', 'G' };

struct part {
	const void *p;
	size_t n;
};

/* SHA-256 over the concatenation of n parts; 0 or -EIO (libcrypto). */
static int sha256_parts(const struct part *parts, size_t n, uint8_t out[RT_EVLOG_HASH_LEN])
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = m && EVP_DigestInit_ex(m, EVP_sha256(), NULL) > 0;

	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(m, parts[i].p, parts[i].n) > 0;
	ok = ok && EVP_DigestFinal_ex(m, out, NULL) > 0;
	EVP_MD_CTX_free(m);
	return ok ? 0 : -EIO;
}

void evlog_frame_check(uint8_t kind, const uint8_t *body, uint32_t body_len,
		       uint8_t out[EVLOG_CHECK_LEN])
{
	uint8_t pre[EVLOG_FRAME_PRE], h[RT_EVLOG_HASH_LEN];
	const struct part parts[] = {
		{ EVLOG_FRAME_LABEL, sizeof(EVLOG_FRAME_LABEL) - 1 },
		{ pre, sizeof(pre) },
		{ body, body_len },
	};

	pre[0] = kind;
	iomt_store_be32(pre + 1, body_len);
	/* A libcrypto failure gives a check of zeros, which then fails to
	 * verify: reported as damage, never accepted. */
	if (sha256_parts(parts, 3, h))
		memset(h, 0, sizeof(h));
	memcpy(out, h, EVLOG_CHECK_LEN);
}

int rt_evlog_chain_hash(const uint8_t prev[RT_EVLOG_HASH_LEN], uint64_t seq, uint64_t time_ms,
			uint8_t type, const void *payload, size_t len,
			uint8_t out[RT_EVLOG_HASH_LEN])
{
	uint8_t fields[8 + 8 + 1 + 4];
	const struct part parts[] = {
		{ EVLOG_CHAIN_LABEL, sizeof(EVLOG_CHAIN_LABEL) - 1 },
		{ prev, RT_EVLOG_HASH_LEN },
		{ fields, sizeof(fields) },
		{ payload, len },
	};

	if (!prev || !out || len > RT_EVLOG_PAYLOAD_MAX || (!payload && len))
		return -EINVAL;
	iomt_store_be64(fields, seq);
	iomt_store_be64(fields + 8, time_ms);
	fields[16] = type;
	iomt_store_be32(fields + 17, (uint32_t)len);
	return sha256_parts(parts, len ? 4 : 3, out);
}

/* kind | body_len in front, check behind; body already in place. */
static void frame_seal(uint8_t *frame, uint8_t kind, uint32_t body_len)
{
	frame[0] = kind;
	iomt_store_be32(frame + 1, body_len);
	evlog_frame_check(kind, frame + EVLOG_FRAME_PRE, body_len,
			  frame + EVLOG_FRAME_PRE + body_len);
}

int evlog_entry_frame(uint8_t *out, uint64_t seq, uint64_t time_ms, uint8_t type,
		      const void *payload, size_t len, const uint8_t prev[RT_EVLOG_HASH_LEN],
		      uint8_t h[RT_EVLOG_HASH_LEN])
{
	uint8_t *body = out + EVLOG_FRAME_PRE;
	int r = rt_evlog_chain_hash(prev, seq, time_ms, type, payload, len, h);

	if (r)
		return r;
	iomt_store_be64(body, seq);
	iomt_store_be64(body + 8, time_ms);
	body[16] = type;
	iomt_store_be32(body + 17, (uint32_t)len);
	if (len)
		memcpy(body + EVLOG_ENTRY_OFF_PAYLOAD, payload, len);
	memcpy(body + EVLOG_ENTRY_OFF_PAYLOAD + len, h, RT_EVLOG_HASH_LEN);
	frame_seal(out, EVLOG_KIND_ENTRY, (uint32_t)(EVLOG_ENTRY_FIXED + len));
	return 0;
}

int evlog_head_frame(uint8_t *out, EVP_PKEY *key, const uint8_t log_id[RT_EVLOG_ID_LEN],
		     uint64_t seq, uint64_t time_ms, const uint8_t h[RT_EVLOG_HASH_LEN])
{
	uint8_t *body = out + EVLOG_FRAME_PRE;
	int r;

	iomt_store_be64(body, seq);
	iomt_store_be64(body + 8, time_ms);
	memcpy(body + 16, h, RT_EVLOG_HASH_LEN);
	r = evlog_sign(key, EVLOG_HEAD_LABEL, log_id, RT_EVLOG_ID_LEN, body, EVLOG_HEAD_SIGNED,
		       body + EVLOG_HEAD_SIGNED);
	if (!r)
		frame_seal(out, EVLOG_KIND_HEAD, EVLOG_HEAD_BODY);
	return r;
}

int evlog_header_build(uint8_t hdr[EVLOG_HDR_LEN], EVP_PKEY *key,
		       const uint8_t log_id[RT_EVLOG_ID_LEN], uint64_t created_ms)
{
	int r;

	memcpy(hdr, evlog_magic, EVLOG_MAGIC_LEN);
	iomt_store_be32(hdr + EVLOG_OFF_VERSION, EVLOG_VERSION);
	memcpy(hdr + EVLOG_OFF_LOG_ID, log_id, RT_EVLOG_ID_LEN);
	iomt_store_be64(hdr + EVLOG_OFF_CREATED, created_ms);
	r = rt_evlog_key_id(key, hdr + EVLOG_OFF_KEY_ID);
	if (!r)
		r = evlog_sign(key, EVLOG_HDR_LABEL, hdr, EVLOG_OFF_SIG, NULL, 0,
			       hdr + EVLOG_OFF_SIG);
	return r;
}

const char *rt_evlog_type_name(unsigned type)
{
	static const char *const names[] = {
		[RT_EVLOG_CONSENT_REQUEST] = "consent_request",
		[RT_EVLOG_DECISION] = "decision",
		[RT_EVLOG_KEY_RELEASE] = "key_release",
		[RT_EVLOG_REFUSED] = "refused",
		[RT_EVLOG_NOTE] = "note",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : NULL;
}

uint64_t evlog_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- file I/O ---- */

int evlog_read_fd(int fd, uint8_t **buf, size_t *len)
{
	struct stat st;
	size_t got = 0;
	uint8_t *b;

	*buf = NULL;
	*len = 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > SIZE_MAX - 1)
		return -EFBIG;
	b = malloc((size_t)st.st_size + 1);
	if (!b)
		return -ENOMEM;
	/* The size at the start: bytes appended meanwhile are not ours to judge. */
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, b + got, (size_t)st.st_size - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;

			free(b);
			return e;
		}
		if (n == 0)
			break; /* shrank under us: judge what is there */
		got += (size_t)n;
	}
	*buf = b;
	*len = got;
	return 0;
}

int evlog_read_path(const char *path, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r;

	*buf = NULL;
	*len = 0;
	if (fd < 0)
		return -errno;
	r = evlog_read_fd(fd, buf, len);
	close(fd);
	return r;
}

int evlog_write_all(int fd, const void *buf, size_t len)
{
	return rt_file_write_all(fd, buf, len);
}

int evlog_sync_parent(const char *path)
{
	return rt_file_sync_dir(path);
}

int evlog_write_new(const char *path, const void *buf, size_t len)
{
	int r = rt_file_create(path, buf, len, 0600);

	if (!r && (r = rt_file_sync_dir(path)))
		unlink(path);
	return r;
}
