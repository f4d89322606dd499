/* SPDX-License-Identifier: MIT */
/*
 * Evidence log: an append-only, hash-chained, signed file of what the PPD
 * did (consent requests received, the patient's decisions, key releases,
 * refused forgeries and replays), verifiable offline by anyone holding the
 * file and the log's P-256 public key. docs/EVLOG.md has every byte.
 *
 *   struct rt_evlog *log;
 *   rt_evlog_open("/var/lib/iomt/ppd/evidence.log", sign_key, NULL, &log, err, sizeof(err));
 *   rt_evlog_append(log, RT_EVLOG_CONSENT_REQUEST, req, req_len, &seq);  on disk and
 *   rt_evlog_append(log, RT_EVLOG_DECISION, json, json_len, &seq);       signed when 0
 *   rt_evlog_close(log);
 *
 *   rt_evlog_verify_file(path, pub, &rep);    offline: 0 if sound, else rep says where
 *
 * File: a signed header, then frames. An entry frame holds
 * seq | time_ms | type | len | payload | h, with
 *   h_i = SHA-256("iomt/evlog/v1" | h_{i-1} | seq | time_ms | type | len | payload),
 *   h_{-1} = 32 zero bytes;
 * a head frame holds seq | time_ms | h_seq | ECDSA-P256 signature, and
 * vouches for every entry up to seq. Each frame ends in a check value, so a
 * record torn by a power cut is told apart from one changed on purpose.
 *
 * Appends go through one O_APPEND write (entry, and its head when one is
 * due) and an fsync before returning: the caller may act on the entry (send
 * the answer, release the key) only once append returned 0. After a failed
 * write or fsync that could not be undone, the handle refuses every later
 * append (-EIO) until the log is reopened.
 *
 * Opening verifies the whole file (chain and every signature). Damage at
 * the very end of the file (a record torn by a crash, or entries that no
 * head signs) is cut off, after the bytes removed are saved to
 * "<path>.cut-<unix ms>" (0600), with a warning. Anything else wrong (a
 * changed byte, an entry removed, reordered or duplicated, a bad signature,
 * another key) is tampering: open fails with -EBADMSG (-EKEYREJECTED for
 * another key) and the file is left as it is, never repaired.
 *
 * Errors are negative errno values, and logged through rt_log. A handle is
 * safe to share between threads; an open log is locked (flock) against a
 * second open from any process (-EBUSY).
 */
#ifndef IOMT_RT_EVLOG_H
#define IOMT_RT_EVLOG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <openssl/types.h>

enum {
	RT_EVLOG_HASH_LEN = 32,			/* SHA-256 */
	RT_EVLOG_SIG_LEN = 64,			/* ECDSA r | s, 32 bytes each */
	RT_EVLOG_ID_LEN = 16,			/* random log id */
	RT_EVLOG_POINT_LEN = 65,		/* uncompressed SEC 1 P-256 point */
	RT_EVLOG_PAYLOAD_MAX = 16 << 20,	/* bytes of one entry's payload */
};

#define RT_EVLOG_NO_SEQ UINT64_MAX
#define RT_EVLOG_SIGN_ON_DEMAND UINT_MAX

/* Entry types. 0 is never valid; callers add their own from
 * RT_EVLOG_TYPE_USER up (the file stores one byte). */
enum rt_evlog_type {
	RT_EVLOG_CONSENT_REQUEST = 1,	/* signed request, as received */
	RT_EVLOG_DECISION = 2,		/* the patient's answer: prompt or policy */
	RT_EVLOG_KEY_RELEASE = 3,	/* a key handed out, and to whom */
	RT_EVLOG_REFUSED = 4,		/* a forged, replayed or malformed request */
	RT_EVLOG_NOTE = 5,		/* anything else worth keeping */
	RT_EVLOG_TYPE_USER = 64,
	RT_EVLOG_TYPE_MAX = 255,
};

/* Verification outcome: the first thing found wrong, in file order. */
enum rt_evlog_status {
	RT_EVLOG_OK = 0,
	RT_EVLOG_E_IO,		/* file unreadable (errno in the return value) */
	RT_EVLOG_E_HEADER,	/* not an evidence log, or another version */
	RT_EVLOG_E_WRONG_KEY,	/* the file names another signing key */
	RT_EVLOG_E_BAD_SIGNATURE, /* header or head signature does not verify */
	RT_EVLOG_E_BAD_FRAME,	/* a frame's bytes changed (check value), not at the end */
	RT_EVLOG_E_TRUNCATED,	/* bytes removed inside the file: a frame is cut short
				 * and another starts within it */
	RT_EVLOG_E_TORN_TAIL,	/* the last frame is incomplete or damaged (crash
				 * during an append?); open repairs this */
	RT_EVLOG_E_GAP,		/* an entry is missing */
	RT_EVLOG_E_REORDER,	/* entries out of order, or one duplicated */
	RT_EVLOG_E_HASH_MISMATCH, /* an entry does not give its stored chain hash */
	RT_EVLOG_E_HEAD_MISMATCH, /* a head names a seq or hash not in the chain */
	RT_EVLOG_E_UNSIGNED_TAIL, /* entries after the last signed head */
};

struct rt_evlog_report {
	enum rt_evlog_status status;
	uint64_t seq;		/* first bad seq, or RT_EVLOG_NO_SEQ */
	uint64_t offset;	/* file offset of the offending frame */
	uint64_t entries;	/* entries that verified, in order from seq 0 */
	uint64_t heads;		/* heads that verified */
	uint64_t signed_seq;	/* last seq covered by a good head, or RT_EVLOG_NO_SEQ */
	uint64_t signed_len;	/* file bytes up to the end of that head (or header) */
	uint64_t valid_len;	/* file bytes up to the end of the last good frame */
	uint64_t file_len;
	uint64_t created_ms;
	uint8_t log_id[RT_EVLOG_ID_LEN];
	uint8_t key_id[RT_EVLOG_HASH_LEN];
	uint8_t last_hash[RT_EVLOG_HASH_LEN]; /* h of the last good entry */
	char detail[256];	/* one line: what, where, why */
};

/* A verified record, as handed to a walk callback. */
enum rt_evlog_kind { RT_EVLOG_ENTRY = 1, RT_EVLOG_HEAD = 2 };

struct rt_evlog_item {
	enum rt_evlog_kind kind;
	uint64_t seq;		/* the entry's, or the last one the head covers */
	uint64_t time_ms;
	uint64_t offset;
	uint8_t type;		/* entries */
	const uint8_t *payload;	/* entries; valid during the callback only */
	size_t len;
	const uint8_t *hash;	/* h_seq */
	const uint8_t *sig;	/* heads: r | s */
};

/* Non-zero stops the walk, and is returned by it. */
typedef int (*rt_evlog_walk_fn)(const struct rt_evlog_item *it, void *arg);

struct rt_evlog_opts {
	/* A head after every sign_every appends; RT_EVLOG_SIGN_ON_DEMAND: only
	 * on rt_evlog_sign() and at close. 0 means the default, 1: every entry
	 * is signed before append returns, so nothing acknowledged is ever
	 * unsigned. */
	unsigned sign_every;
	/* At open, sign entries found after the last head instead of cutting
	 * them off. Meant for sign_every != 1, where a crash leaves
	 * acknowledged entries unsigned; it also signs whatever someone without
	 * the key appended while the log was closed. Default 0. */
	int adopt_unsigned;
	/* Clock for entries and heads (Unix ms); NULL: CLOCK_REALTIME. */
	uint64_t (*now_ms)(void *arg);
	void *now_arg;
};

struct rt_evlog_stats {
	uint64_t next_seq;	/* seq the next append gets */
	uint64_t heads;
	uint64_t unsigned_entries; /* appended since the last head */
	uint64_t cut_bytes;	/* removed at open (0: nothing was) */
	const char *cut_path;	/* where they were saved, or NULL; valid until close */
	uint8_t log_id[RT_EVLOG_ID_LEN];
	uint8_t last_hash[RT_EVLOG_HASH_LEN];
};

struct rt_evlog;

/*
 * Opens the log at path, creating it (0600, header signed) if absent.
 * sign_key: the log's P-256 key pair (the handle keeps a reference).
 * opts NULL or zeroed: defaults. err (may be NULL) gets a one-line reason on failure.
 * -EINVAL bad arguments or not an evidence log, -EKEYREJECTED the file is
 * another key's, -EBADMSG tampering found (see rt_evlog_verify_file),
 * -EBUSY open elsewhere, else -errno.
 */
int rt_evlog_open(const char *path, EVP_PKEY *sign_key, const struct rt_evlog_opts *opts,
		  struct rt_evlog **out, char *err, size_t errlen);

/* Appends one entry (type 1..255, len <= RT_EVLOG_PAYLOAD_MAX; payload may
 * be NULL when len is 0), and its head when due; on disk when it returns 0,
 * *seq_out (may be NULL) then holding its seq. -EIO after an earlier
 * failure that left the file in doubt; -EBADMSG if the file grew behind
 * the handle's back (then also refused until reopened). */
int rt_evlog_append(struct rt_evlog *log, uint8_t type, const void *payload, size_t len,
		    uint64_t *seq_out);

/* Signs a head over the last entry now, unless one already covers it. */
int rt_evlog_sign(struct rt_evlog *log);

void rt_evlog_stats(struct rt_evlog *log, struct rt_evlog_stats *st);

/* Verifies the log (under its lock, so it is whole) and copies it to dst,
 * created 0600 (not overwritten: -EEXIST). */
int rt_evlog_export_log(struct rt_evlog *log, const char *dst);

/* Signs any unsigned entries, then closes; the result of that signing.
 * NULL is fine. */
int rt_evlog_close(struct rt_evlog *log);

/* ---- offline: the file and the public key, nothing else ---- */

/*
 * 0 when every byte verifies: header signed by pub, chain unbroken from seq
 * 0, every head's signature good, the last entry covered by a head. Else
 * -EBADMSG (-EKEYREJECTED for another key, -EINVAL not an evidence log,
 * -errno unreadable) with rep->status and the rest saying what and where.
 */
int rt_evlog_verify_file(const char *path, EVP_PKEY *pub, struct rt_evlog_report *rep);

/* The same, calling fn for each entry and head in file order as it
 * verifies (for `log show`): whatever fn saw before a failure verified.
 * fn's non-zero return stops the walk and is returned. */
int rt_evlog_walk_file(const char *path, EVP_PKEY *pub, rt_evlog_walk_fn fn, void *arg,
		       struct rt_evlog_report *rep);

/* Verifies src and, only if it is sound, writes the very bytes verified to
 * dst (0600, new). */
int rt_evlog_export(const char *src, EVP_PKEY *pub, const char *dst,
		    struct rt_evlog_report *rep);

/* Verifies path and, only if it is sound, writes it to out as JSON lines
 * (one for the header, then one per entry and head, payloads in hex). */
int rt_evlog_export_json(const char *path, EVP_PKEY *pub, FILE *out,
			 struct rt_evlog_report *rep);

/* ---- keys and names ---- */

/* A P-256 public key from a file: PEM ("PUBLIC KEY"), or the 65-byte
 * uncompressed point raw or as 130 hex digits. */
int rt_evlog_pub_load(const char *path, EVP_PKEY **out);
/* From a 65-byte uncompressed or 33-byte compressed point. */
int rt_evlog_pub_from_point(const uint8_t *pt, size_t len, EVP_PKEY **out);
/* SHA-256 of the uncompressed point: the key id a log's header names. */
int rt_evlog_key_id(const EVP_PKEY *key, uint8_t id[RT_EVLOG_HASH_LEN]);

/* h_i from h_{i-1} and the entry (the chain step, for tools and tests). */
int rt_evlog_chain_hash(const uint8_t prev[RT_EVLOG_HASH_LEN], uint64_t seq, uint64_t time_ms,
			uint8_t type, const void *payload, size_t len,
			uint8_t out[RT_EVLOG_HASH_LEN]);

/* "consent_request", ..., or NULL for a caller's own type. */
const char *rt_evlog_type_name(unsigned type);
/* "ok", "hash mismatch", "bad signature", ... */
const char *rt_evlog_status_name(enum rt_evlog_status st);

#endif
