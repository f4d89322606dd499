/* SPDX-License-Identifier: MIT */
/* Sticky-error big-endian writer and reader (see codec.h). */
#include <string.h>
#include "codec.h"
#include "bytes.h"
#include "iomt_err.h"

/* Keep the first error: it is the one that explains the rest. */
static void wr_fail(struct iomt_wr *w, int err)
{
	if (w->err == IOMT_OK)
		w->err = err;
}

static void rd_fail(struct iomt_rd *r, int err)
{
	if (r->err == IOMT_OK)
		r->err = err;
}

void iomt_wr_init(struct iomt_wr *w, void *buf, size_t cap)
{
	w->buf = buf;
	w->cap = buf ? cap : 0;
	w->len = 0;
	w->err = (!buf && cap) ? IOMT_EINVAL : IOMT_OK;
}

uint8_t *iomt_wr_reserve(struct iomt_wr *w, size_t n)
{
	uint8_t *p;

	if (w->err)
		return NULL;
	/* cap - len cannot wrap (len <= cap); len + n could. */
	if (n > w->cap - w->len) {
		wr_fail(w, IOMT_ESIZE);
		return NULL;
	}
	if (!w->buf)
		return NULL;	/* n == 0 here; no pointer arithmetic on NULL */
	p = w->buf + w->len;
	w->len += n;
	return p;
}

void iomt_wr_u8(struct iomt_wr *w, uint8_t v)
{
	uint8_t *p = iomt_wr_reserve(w, 1);

	if (p)
		*p = v;
}

void iomt_wr_u16(struct iomt_wr *w, uint16_t v)
{
	uint8_t *p = iomt_wr_reserve(w, 2);

	if (p)
		iomt_store_be16(p, v);
}

void iomt_wr_u32(struct iomt_wr *w, uint32_t v)
{
	uint8_t *p = iomt_wr_reserve(w, 4);

	if (p)
		iomt_store_be32(p, v);
}

void iomt_wr_u64(struct iomt_wr *w, uint64_t v)
{
	uint8_t *p = iomt_wr_reserve(w, 8);

	if (p)
		iomt_store_be64(p, v);
}

void iomt_wr_bytes(struct iomt_wr *w, const void *p, size_t n)
{
	uint8_t *d;

	/* memcpy from NULL is undefined even for a caller's bug; record it. */
	if (!p && n) {
		wr_fail(w, IOMT_EINVAL);
		return;
	}
	d = iomt_wr_reserve(w, n);
	if (d && n)
		memcpy(d, p, n);
}

int iomt_wr_finish(const struct iomt_wr *w, size_t *len)
{
	if (w->err) {
		if (len)
			*len = 0;
		return w->err;
	}
	if (len)
		*len = w->len;
	return IOMT_OK;
}

void iomt_rd_init(struct iomt_rd *r, const void *buf, size_t len)
{
	r->buf = buf;
	r->len = buf ? len : 0;
	r->off = 0;
	r->err = (!buf && len) ? IOMT_EINVAL : IOMT_OK;
}

const uint8_t *iomt_rd_ptr(struct iomt_rd *r, size_t n)
{
	const uint8_t *p;

	if (r->err)
		return NULL;
	/* len - off cannot wrap (off <= len); off + n could. */
	if (n > r->len - r->off) {
		rd_fail(r, IOMT_ESIZE);
		return NULL;
	}
	if (!r->buf)
		return NULL;	/* n == 0 here; no pointer arithmetic on NULL */
	p = r->buf + r->off;
	r->off += n;
	return p;
}

uint8_t iomt_rd_u8(struct iomt_rd *r)
{
	const uint8_t *p = iomt_rd_ptr(r, 1);

	return p ? *p : 0;
}

uint16_t iomt_rd_u16(struct iomt_rd *r)
{
	const uint8_t *p = iomt_rd_ptr(r, 2);

	return p ? iomt_load_be16(p) : 0;
}

uint32_t iomt_rd_u32(struct iomt_rd *r)
{
	const uint8_t *p = iomt_rd_ptr(r, 4);

	return p ? iomt_load_be32(p) : 0;
}

uint64_t iomt_rd_u64(struct iomt_rd *r)
{
	const uint8_t *p = iomt_rd_ptr(r, 8);

	return p ? iomt_load_be64(p) : 0;
}

void iomt_rd_bytes(struct iomt_rd *r, void *out, size_t n)
{
	const uint8_t *p;

	if (!n)
		return;
	if (!out) {
		rd_fail(r, IOMT_EINVAL);
		return;
	}
	p = iomt_rd_ptr(r, n);
	/* Zero-fill on failure so a caller who skips the check reads no stale data. */
	if (p)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

size_t iomt_rd_left(const struct iomt_rd *r)
{
	/* 0 after an error, so a "while (left)" loop whose reads fail ends. */
	return r->err ? 0 : r->len - r->off;
}

int iomt_rd_finish(const struct iomt_rd *r)
{
	if (r->err)
		return r->err;
	/* Trailing bytes mean the peer's idea of the format differs from ours. */
	return r->off == r->len ? IOMT_OK : IOMT_ESIZE;
}
