/* SPDX-License-Identifier: MIT */
/*
 * Evidence log internals shared by rt_evlog.c (the writer) and
 * rt_evlog_verify.c (the reader): the byte layout of docs/EVLOG.md as
 * constants, frame encoding, hashing, signatures, and file I/O helpers.
 * Not for callers outside the rt_evlog*.c files.
 *
 *   header (132)   magic "IOMTEVLG" | version (4) = 1 | log_id (16) |
 *                  created_ms (8) | key_id (32) | sig (64)
 *   frame          kind (1) | body_len (4) | body | check (8)
 *   entry body     seq (8) | time_ms (8) | type (1) | len (4) | payload | h (32)
 *   head body      seq (8) | time_ms (8) | h (32) | sig (64)
 *
 * Integers big-endian. check = SHA-256(FRAME_LABEL | kind | body_len | body)
 * truncated to 8 bytes; header sig over HDR_LABEL | header[0..68); head sig
 * over HEAD_LABEL | log_id | head body[0..48): ECDSA P-256 SHA-256, r | s.
 */
#ifndef IOMT_RT_EVLOG_FMT_H
#define IOMT_RT_EVLOG_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "rt_evlog.h"

#define EVLOG_CHAIN_LABEL "iomt/evlog/v1"
#define EVLOG_FRAME_LABEL "iomt/evlog/v1/frame"
#define EVLOG_HDR_LABEL "iomt/evlog/v1/file"
#define EVLOG_HEAD_LABEL "iomt/evlog/v1/head"

enum {
	EVLOG_VERSION = 1,
	EVLOG_MAGIC_LEN = 8,
	EVLOG_OFF_VERSION = 8,
	EVLOG_OFF_LOG_ID = 12,
	EVLOG_OFF_CREATED = 28,
	EVLOG_OFF_KEY_ID = 36,
	EVLOG_OFF_SIG = 68,		/* the signature covers everything before */
	EVLOG_HDR_LEN = 132,

	EVLOG_KIND_ENTRY = 'E',
	EVLOG_KIND_HEAD = 'H',
	EVLOG_FRAME_PRE = 5,		/* kind + body_len */
	EVLOG_CHECK_LEN = 8,
	EVLOG_FRAME_OVERHEAD = EVLOG_FRAME_PRE + EVLOG_CHECK_LEN,

	EVLOG_ENTRY_FIXED = 8 + 8 + 1 + 4 + RT_EVLOG_HASH_LEN,	/* body without payload: 53 */
	EVLOG_ENTRY_OFF_PAYLOAD = 21,
	EVLOG_HEAD_SIGNED = 8 + 8 + RT_EVLOG_HASH_LEN,		/* seq, time, h: 48 */
	EVLOG_HEAD_BODY = EVLOG_HEAD_SIGNED + RT_EVLOG_SIG_LEN,	/* 112 */
	EVLOG_HEAD_FRAME = EVLOG_FRAME_OVERHEAD + EVLOG_HEAD_BODY,	/* 125 */
};

extern const uint8_t evlog_magic[EVLOG_MAGIC_LEN];

static inline size_t evlog_entry_frame_len(size_t payload_len)
{
	return EVLOG_FRAME_OVERHEAD + EVLOG_ENTRY_FIXED + payload_len;
}

/* ---- encoding (rt_evlog_fmt.c) ---- */

void evlog_frame_check(uint8_t kind, const uint8_t *body, uint32_t body_len,
		       uint8_t out[EVLOG_CHECK_LEN]);
/* Writes the entry frame (evlog_entry_frame_len(len) bytes) and its h. */
int evlog_entry_frame(uint8_t *out, uint64_t seq, uint64_t time_ms, uint8_t type,
		      const void *payload, size_t len, const uint8_t prev[RT_EVLOG_HASH_LEN],
		      uint8_t h[RT_EVLOG_HASH_LEN]);
/* Writes a signed head frame (EVLOG_HEAD_FRAME bytes). */
int evlog_head_frame(uint8_t *out, EVP_PKEY *key, const uint8_t log_id[RT_EVLOG_ID_LEN],
		     uint64_t seq, uint64_t time_ms, const uint8_t h[RT_EVLOG_HASH_LEN]);
int evlog_header_build(uint8_t hdr[EVLOG_HDR_LEN], EVP_PKEY *key,
		       const uint8_t log_id[RT_EVLOG_ID_LEN], uint64_t created_ms);

/* ---- keys and signatures ---- */

/* The key's public point, uncompressed; -EINVAL unless a P-256 key. */
int evlog_key_point(const EVP_PKEY *key, uint8_t pt[RT_EVLOG_POINT_LEN]);
int evlog_has_private(const EVP_PKEY *key);
/* ECDSA P-256 SHA-256 over label | a | b, as r | s. */
int evlog_sign(EVP_PKEY *key, const char *label, const uint8_t *a, size_t alen,
	       const uint8_t *b, size_t blen, uint8_t sig[RT_EVLOG_SIG_LEN]);
/* 1 if it verifies, 0 if not. */
int evlog_verify(EVP_PKEY *pub, const char *label, const uint8_t *a, size_t alen,
		 const uint8_t *b, size_t blen, const uint8_t sig[RT_EVLOG_SIG_LEN]);

/* ---- verification core (rt_evlog_verify.c) ---- */

/* Verifies buf[0..len) (a whole file) against pub; rep filled. Returns 0,
 * fn's non-zero value, or the negative errno rt_evlog_verify_file gives. */
int evlog_check_buf(const uint8_t *buf, size_t len, EVP_PKEY *pub, rt_evlog_walk_fn fn,
		    void *arg, struct rt_evlog_report *rep);

/* ---- file I/O ---- */

/* The whole file behind fd (or path) into a malloc'ed *buf. */
int evlog_read_fd(int fd, uint8_t **buf, size_t *len);
int evlog_read_path(const char *path, uint8_t **buf, size_t *len);
int evlog_write_all(int fd, const void *buf, size_t len);
/* Creates path (O_EXCL, 0600) holding buf, synced with its directory. */
int evlog_write_new(const char *path, const void *buf, size_t len);
int evlog_sync_parent(const char *path);
uint64_t evlog_now_ms(void);

#endif
