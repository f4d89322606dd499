/* SPDX-License-Identifier: MIT */
/*
 * Evidence log verification (docs/EVLOG.md, "Verification"): one pass over
 * the whole file in memory, stopping at the first thing wrong, which the
 * report names with its seq, offset and kind. Also the exports, which write
 * exactly the bytes that verified.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "rt_evlog_fmt.h"

struct frame {
	uint8_t kind;
	uint32_t body_len;
	const uint8_t *body;
	size_t len;		/* whole frame */
};

struct walk {
	const uint8_t *buf;
	size_t len;
	EVP_PKEY *pub;
	rt_evlog_walk_fn fn;
	void *arg;
	struct rt_evlog_report *rep;
	uint64_t next_seq;	/* the seq the next entry must have */
	uint64_t unsigned_n;	/* entries since the last head */
	uint8_t h[RT_EVLOG_HASH_LEN]; /* of the last entry; zeros before seq 0 */
};

const char *rt_evlog_status_name(enum rt_evlog_status st)
{
	static const char *const names[] = {
		[RT_EVLOG_OK] = "ok",
		[RT_EVLOG_E_IO] = "unreadable",
		[RT_EVLOG_E_HEADER] = "not an evidence log",
		[RT_EVLOG_E_WRONG_KEY] = "wrong key",
		[RT_EVLOG_E_BAD_SIGNATURE] = "bad signature",
		[RT_EVLOG_E_BAD_FRAME] = "damaged record",
		[RT_EVLOG_E_TRUNCATED] = "truncated not at the tail",
		[RT_EVLOG_E_TORN_TAIL] = "torn tail",
		[RT_EVLOG_E_GAP] = "gap",
		[RT_EVLOG_E_REORDER] = "reorder",
		[RT_EVLOG_E_HASH_MISMATCH] = "hash mismatch",
		[RT_EVLOG_E_HEAD_MISMATCH] = "head mismatch",
		[RT_EVLOG_E_UNSIGNED_TAIL] = "unsigned tail",
	};

	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

static int status_errno(enum rt_evlog_status st)
{
	switch (st) {
	case RT_EVLOG_OK:
		return 0;
	case RT_EVLOG_E_IO:
		return -EIO;
	case RT_EVLOG_E_HEADER:
		return -EINVAL;
	case RT_EVLOG_E_WRONG_KEY:
		return -EKEYREJECTED;
	default:
		return -EBADMSG;
	}
}

/* Records the failure (the first one only) and returns its errno. */
__attribute__((format(printf, 5, 6)))
static int fail(struct walk *w, enum rt_evlog_status st, uint64_t seq, size_t off,
		const char *fmt, ...)
{
	struct rt_evlog_report *rep = w->rep;
	int n = snprintf(rep->detail, sizeof(rep->detail), "%s: ", rt_evlog_status_name(st));
	va_list ap;

	rep->status = st;
	rep->seq = seq;
	rep->offset = off;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(rep->detail))
		vsnprintf(rep->detail + n, sizeof(rep->detail) - (size_t)n, fmt, ap);
	va_end(ap);
	return status_errno(st);
}

/* ---- frames ---- */

/* 1 if a whole frame with a good check value and a consistent shape starts
 * at off (a head's body is 112 bytes, an entry's len field agrees). */
static int frame_at(const uint8_t *buf, size_t len, size_t off, struct frame *f)
{
	uint8_t check[EVLOG_CHECK_LEN];
	uint64_t need;

	if (off > len || len - off < EVLOG_FRAME_OVERHEAD)
		return 0;
	f->kind = buf[off];
	f->body_len = iomt_load_be32(buf + off + 1);
	f->body = buf + off + EVLOG_FRAME_PRE;
	need = (uint64_t)EVLOG_FRAME_OVERHEAD + f->body_len;
	if (need > len - off)
		return 0;
	f->len = (size_t)need;
	if (f->kind == EVLOG_KIND_HEAD) {
		if (f->body_len != EVLOG_HEAD_BODY)
			return 0;
	} else if (f->kind == EVLOG_KIND_ENTRY) {
		if (f->body_len < EVLOG_ENTRY_FIXED ||
		    f->body_len - EVLOG_ENTRY_FIXED > RT_EVLOG_PAYLOAD_MAX ||
		    iomt_load_be32(f->body + 17) != f->body_len - EVLOG_ENTRY_FIXED)
			return 0;
	} else {
		return 0;
	}
	evlog_frame_check(f->kind, f->body, f->body_len, check);
	return memcmp(check, f->body + f->body_len, EVLOG_CHECK_LEN) == 0;
}

/* The first offset after off where a good frame starts, or 0. */
static size_t next_good_frame(const struct walk *w, size_t off)
{
	struct frame f;

	for (size_t o = off + 1; o + EVLOG_FRAME_OVERHEAD <= w->len; o++)
		if (frame_at(w->buf, w->len, o, &f))
			return o;
	return 0;
}

/* Whether the good frame at next is the head written in the same append as
 * the entry that should be at off, ending the file: the pages of one write
 * may reach the disk out of order, so a crash can keep the head and lose
 * part of its entry. Only the key holder makes such a head. */
static int head_of_torn_append(const struct walk *w, size_t next)
{
	return w->len - next == EVLOG_HEAD_FRAME && w->buf[next] == EVLOG_KIND_HEAD &&
	       iomt_load_be64(w->buf + next + EVLOG_FRAME_PRE) == w->next_seq;
}

/*
 * No good frame at off. At the end of the file, with nothing good after
 * it, that is what a crash during an append leaves (open repairs it).
 * Anywhere else it is damage: a good frame beginning inside this one's
 * declared extent means bytes were taken out (or the length changed).
 */
static int bad_frame(struct walk *w, size_t off)
{
	uint64_t end = UINT64_MAX;
	size_t next = next_good_frame(w, off);

	if (w->len - off >= EVLOG_FRAME_PRE)
		end = off + (uint64_t)EVLOG_FRAME_OVERHEAD + iomt_load_be32(w->buf + off + 1);
	if (!next || head_of_torn_append(w, next))
		return fail(w, RT_EVLOG_E_TORN_TAIL, w->next_seq, off,
			    "last %zu bytes (from offset %zu) are not a whole record: a crash "
			    "during an append, or the tail damaged; open repairs this",
			    w->len - off, off);
	if (next < end)
		return fail(w, RT_EVLOG_E_TRUNCATED, w->next_seq, off,
			    "record at offset %zu declares %" PRIu64 " bytes but the next "
			    "record starts after %zu: bytes removed (or its length changed)",
			    off, end == UINT64_MAX ? 0 : end - off, next - off);
	return fail(w, RT_EVLOG_E_BAD_FRAME, w->next_seq, off,
		    "record at offset %zu (before entry %" PRIu64 ") fails its check value: "
		    "bytes changed", off, w->next_seq);
}

/* ---- entries and heads ---- */

/* Whether an entry with this seq appears in a good frame after off. */
static int seq_later(const struct walk *w, size_t off, uint64_t seq)
{
	struct frame f;

	while (off < w->len && frame_at(w->buf, w->len, off, &f)) {
		if (f.kind == EVLOG_KIND_ENTRY && iomt_load_be64(f.body) == seq)
			return 1;
		off += f.len;
	}
	return 0;
}

static int out_of_sequence(struct walk *w, size_t off, size_t after, uint64_t seq)
{
	uint64_t want = w->next_seq;

	if (seq < want)
		return fail(w, RT_EVLOG_E_REORDER, seq, off,
			    "entry %" PRIu64 " at offset %zu comes after entry %" PRIu64
			    ": duplicated or reordered", seq, off, want - 1);
	if (seq_later(w, after, want))
		return fail(w, RT_EVLOG_E_REORDER, want, off,
			    "entry %" PRIu64 " at offset %zu where entry %" PRIu64
			    " belongs, which comes later: reordered", seq, off, want);
	return fail(w, RT_EVLOG_E_GAP, want, off,
		    "entry %" PRIu64 " at offset %zu follows entry %s%" PRIu64
		    ": entries %" PRIu64 "..%" PRIu64 " missing", seq, off,
		    want ? "" : "(none) ", want ? want - 1 : 0, want, seq - 1);
}

static int on_entry(struct walk *w, size_t off, const struct frame *f)
{
	const uint8_t *b = f->body;
	uint64_t seq = iomt_load_be64(b), t = iomt_load_be64(b + 8);
	size_t plen = f->body_len - EVLOG_ENTRY_FIXED;
	const uint8_t *payload = b + EVLOG_ENTRY_OFF_PAYLOAD, *stored = payload + plen;
	uint8_t h[RT_EVLOG_HASH_LEN];
	struct rt_evlog_item it;

	if (seq != w->next_seq)
		return out_of_sequence(w, off, off + f->len, seq);
	if (!b[16])
		return fail(w, RT_EVLOG_E_BAD_FRAME, seq, off,
			    "entry %" PRIu64 " has type 0, which no writer uses", seq);
	if (rt_evlog_chain_hash(w->h, seq, t, b[16], payload, plen, h))
		return fail(w, RT_EVLOG_E_IO, seq, off, "libcrypto failed");
	if (memcmp(h, stored, sizeof(h)))
		return fail(w, RT_EVLOG_E_HASH_MISMATCH, seq, off,
			    "entry %" PRIu64 " at offset %zu: its content and the previous "
			    "hash do not give its stored hash", seq, off);
	memcpy(w->h, h, sizeof(h));
	memcpy(w->rep->last_hash, h, sizeof(h));
	w->next_seq++;
	w->unsigned_n++;
	w->rep->entries++;
	w->rep->valid_len = off + f->len;
	if (!w->fn)
		return 0;
	it = (struct rt_evlog_item){ .kind = RT_EVLOG_ENTRY, .seq = seq, .time_ms = t,
				     .offset = off, .type = b[16], .payload = payload,
				     .len = plen, .hash = stored };
	return w->fn(&it, w->arg);
}

static int on_head(struct walk *w, size_t off, const struct frame *f)
{
	const uint8_t *b = f->body;
	uint64_t seq = iomt_load_be64(b), last = w->next_seq - 1;
	struct rt_evlog_item it;

	if (seq >= w->next_seq)
		return fail(w, RT_EVLOG_E_GAP, w->next_seq, off,
			    "head at offset %zu signs entry %" PRIu64 " but entries from %" PRIu64
			    " are missing", off, seq, w->next_seq);
	if (!w->unsigned_n)
		return fail(w, RT_EVLOG_E_HEAD_MISMATCH, seq, off,
			    "head at offset %zu follows no new entry (duplicated or moved)", off);
	if (seq != last || memcmp(b + 16, w->h, RT_EVLOG_HASH_LEN))
		return fail(w, RT_EVLOG_E_HEAD_MISMATCH, seq, off,
			    "head at offset %zu names entry %" PRIu64 " and a hash that are not "
			    "the chain's (last entry %" PRIu64 ")", off, seq, last);
	if (!evlog_verify(w->pub, EVLOG_HEAD_LABEL, w->rep->log_id, RT_EVLOG_ID_LEN, b,
			  EVLOG_HEAD_SIGNED, b + EVLOG_HEAD_SIGNED))
		return fail(w, RT_EVLOG_E_BAD_SIGNATURE, seq, off,
			    "head at offset %zu over entry %" PRIu64 " is not signed by this key",
			    off, seq);
	w->unsigned_n = 0;
	w->rep->heads++;
	w->rep->signed_seq = seq;
	w->rep->signed_len = w->rep->valid_len = off + f->len;
	if (!w->fn)
		return 0;
	it = (struct rt_evlog_item){ .kind = RT_EVLOG_HEAD, .seq = seq,
				     .time_ms = iomt_load_be64(b + 8), .offset = off,
				     .hash = b + 16, .sig = b + EVLOG_HEAD_SIGNED };
	return w->fn(&it, w->arg);
}

static int check_header(struct walk *w)
{
	const uint8_t *hdr = w->buf;
	uint8_t want[RT_EVLOG_HASH_LEN];
	uint32_t v;

	if (w->len < EVLOG_HDR_LEN || memcmp(hdr, evlog_magic, EVLOG_MAGIC_LEN))
		return fail(w, RT_EVLOG_E_HEADER, RT_EVLOG_NO_SEQ, 0,
			    "no evidence log header (magic IOMTEVLG, %d bytes)", EVLOG_HDR_LEN);
	v = iomt_load_be32(hdr + EVLOG_OFF_VERSION);
	if (v != EVLOG_VERSION)
		return fail(w, RT_EVLOG_E_HEADER, RT_EVLOG_NO_SEQ, EVLOG_OFF_VERSION,
			    "format version %u, this build reads %d", v, EVLOG_VERSION);
	memcpy(w->rep->log_id, hdr + EVLOG_OFF_LOG_ID, RT_EVLOG_ID_LEN);
	memcpy(w->rep->key_id, hdr + EVLOG_OFF_KEY_ID, RT_EVLOG_HASH_LEN);
	w->rep->created_ms = iomt_load_be64(hdr + EVLOG_OFF_CREATED);
	if (rt_evlog_key_id(w->pub, want))
		return fail(w, RT_EVLOG_E_WRONG_KEY, RT_EVLOG_NO_SEQ, 0,
			    "the verification key is not a P-256 key");
	if (memcmp(want, hdr + EVLOG_OFF_KEY_ID, RT_EVLOG_HASH_LEN))
		return fail(w, RT_EVLOG_E_WRONG_KEY, RT_EVLOG_NO_SEQ, EVLOG_OFF_KEY_ID,
			    "the log names signing key %02x%02x%02x%02x..., not this one "
			    "(%02x%02x%02x%02x...)", hdr[EVLOG_OFF_KEY_ID],
			    hdr[EVLOG_OFF_KEY_ID + 1], hdr[EVLOG_OFF_KEY_ID + 2],
			    hdr[EVLOG_OFF_KEY_ID + 3], want[0], want[1], want[2], want[3]);
	if (!evlog_verify(w->pub, EVLOG_HDR_LABEL, hdr, EVLOG_OFF_SIG, NULL, 0,
			  hdr + EVLOG_OFF_SIG))
		return fail(w, RT_EVLOG_E_BAD_SIGNATURE, RT_EVLOG_NO_SEQ, 0,
			    "the header's signature does not verify");
	w->rep->signed_len = w->rep->valid_len = EVLOG_HDR_LEN;
	return 0;
}

int evlog_check_buf(const uint8_t *buf, size_t len, EVP_PKEY *pub, rt_evlog_walk_fn fn,
		    void *arg, struct rt_evlog_report *rep)
{
	struct walk w = { .buf = buf, .len = len, .pub = pub, .fn = fn, .arg = arg, .rep = rep };
	size_t off = EVLOG_HDR_LEN;
	struct frame f;
	int r;

	memset(rep, 0, sizeof(*rep));
	rep->seq = rep->signed_seq = RT_EVLOG_NO_SEQ;
	rep->file_len = len;
	r = check_header(&w);
	while (!r && off < len) {
		if (!frame_at(buf, len, off, &f))
			return bad_frame(&w, off);
		r = f.kind == EVLOG_KIND_ENTRY ? on_entry(&w, off, &f) : on_head(&w, off, &f);
		off += f.len;
	}
	if (!r && w.unsigned_n)
		return fail(&w, RT_EVLOG_E_UNSIGNED_TAIL, w.next_seq - w.unsigned_n,
			    rep->signed_len,
			    "entries %" PRIu64 "..%" PRIu64 " are covered by no signed head "
			    "(appended without the key?)", w.next_seq - w.unsigned_n,
			    w.next_seq - 1);
	if (!r)
		snprintf(rep->detail, sizeof(rep->detail), "ok: %" PRIu64 " entries, %" PRIu64
			 " heads", rep->entries, rep->heads);
	return r;
}

/* ---- files ---- */

static int load_and_check(const char *path, EVP_PKEY *pub, rt_evlog_walk_fn fn, void *arg,
			  struct rt_evlog_report *rep, uint8_t **buf, size_t *len)
{
	int r;

	memset(rep, 0, sizeof(*rep));
	rep->seq = rep->signed_seq = RT_EVLOG_NO_SEQ;
	if (!path || !pub)
		return -EINVAL;
	r = evlog_read_path(path, buf, len);
	if (r) {
		rep->status = RT_EVLOG_E_IO;
		snprintf(rep->detail, sizeof(rep->detail), "unreadable: %s: %s", path,
			 strerror(-r));
		return r;
	}
	return evlog_check_buf(*buf, *len, pub, fn, arg, rep);
}

int rt_evlog_walk_file(const char *path, EVP_PKEY *pub, rt_evlog_walk_fn fn, void *arg,
		       struct rt_evlog_report *rep)
{
	uint8_t *buf = NULL;
	size_t len;
	int r = rep ? load_and_check(path, pub, fn, arg, rep, &buf, &len) : -EINVAL;

	free(buf);
	return r;
}

int rt_evlog_verify_file(const char *path, EVP_PKEY *pub, struct rt_evlog_report *rep)
{
	return rt_evlog_walk_file(path, pub, NULL, NULL, rep);
}

int rt_evlog_export(const char *src, EVP_PKEY *pub, const char *dst,
		    struct rt_evlog_report *rep)
{
	uint8_t *buf = NULL;
	size_t len;
	int r = rep && dst ? load_and_check(src, pub, NULL, NULL, rep, &buf, &len) : -EINVAL;

	if (!r)
		r = evlog_write_new(dst, buf, len);
	free(buf);
	return r;
}

/* ---- JSON lines ---- */

static void put_hex(FILE *out, const char *key, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	fprintf(out, ",\"%s\":\"", key);
	for (size_t i = 0; i < n; i++) {
		putc(digits[p[i] >> 4], out);
		putc(digits[p[i] & 15], out);
	}
	putc('"', out);
}

static int json_item(const struct rt_evlog_item *it, void *arg)
{
	FILE *out = arg;
	const char *name;

	fprintf(out, "{\"rec\":\"%s\",\"seq\":%" PRIu64 ",\"time_ms\":%" PRIu64,
		it->kind == RT_EVLOG_ENTRY ? "entry" : "head", it->seq, it->time_ms);
	if (it->kind == RT_EVLOG_ENTRY) {
		name = rt_evlog_type_name(it->type);
		fprintf(out, ",\"type\":%u,\"type_name\":", it->type);
		if (name)
			fprintf(out, "\"%s\"", name);
		else
			fputs("null", out);
		fprintf(out, ",\"len\":%zu", it->len);
		put_hex(out, "payload", it->payload, it->len);
	}
	put_hex(out, "hash", it->hash, RT_EVLOG_HASH_LEN);
	if (it->kind == RT_EVLOG_HEAD)
		put_hex(out, "sig", it->sig, RT_EVLOG_SIG_LEN);
	fputs("}\n", out);
	return 0;
}

static void json_header(FILE *out, const uint8_t *hdr)
{
	fprintf(out, "{\"evlog\":%d,\"created_ms\":%" PRIu64, EVLOG_VERSION,
		iomt_load_be64(hdr + EVLOG_OFF_CREATED));
	put_hex(out, "log_id", hdr + EVLOG_OFF_LOG_ID, RT_EVLOG_ID_LEN);
	put_hex(out, "key_id", hdr + EVLOG_OFF_KEY_ID, RT_EVLOG_HASH_LEN);
	put_hex(out, "sig", hdr + EVLOG_OFF_SIG, RT_EVLOG_SIG_LEN);
	fputs("}\n", out);
}

int rt_evlog_export_json(const char *path, EVP_PKEY *pub, FILE *out,
			 struct rt_evlog_report *rep)
{
	struct rt_evlog_report again;
	uint8_t *buf = NULL;
	size_t len;
	int r = rep && out ? load_and_check(path, pub, NULL, NULL, rep, &buf, &len) : -EINVAL;

	/* Only a log that verified whole is written: the walk repeats over the
	 * same bytes in memory, so it cannot fail now. */
	if (!r) {
		json_header(out, buf);
		r = evlog_check_buf(buf, len, pub, json_item, out, &again);
	}
	if (!r && (fflush(out) || ferror(out)))
		r = -EIO;
	free(buf);
	return r;
}
