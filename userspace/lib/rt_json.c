/* SPDX-License-Identifier: MIT */
/* Minimal JSON writer: escaping to ASCII and flat objects (see rt_json.h). */
#include <stdio.h>
#include <string.h>

#include "rt_json.h"

/* Append n bytes at *len, writing only what fits before the final NUL. */
static void put(char *dst, size_t cap, size_t *len, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, (*len)++)
		if (*len + 1 < cap)
			dst[*len] = s[i];
	if (cap)
		dst[*len < cap ? *len : cap - 1] = '\0';
}

/*
 * Length of the well-formed UTF-8 sequence starting at s, and its code
 * point; 0 if s does not start one. A NUL is never a continuation byte, so
 * this never reads past the end of the string.
 */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and values past Unicode are not text. */
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static size_t u_escape(char *out, uint32_t cp)
{
	snprintf(out, 7, "\\u%04x", (unsigned)cp);
	return 6;
}

/* Escape the unit (byte or UTF-8 sequence) at *sp into out; advance *sp. */
static size_t escape_unit(const unsigned char **sp, char out[16])
{
	static const char shorts[] = "\"\"\\\\\bb\ff\nn\rr\tt";
	const unsigned char *s = *sp;
	const char *e;
	uint32_t cp;
	size_t n;

	*sp = s + 1;
	for (e = shorts; *e; e += 2) {
		if (*s == (unsigned char)e[0]) {
			out[0] = '\\';
			out[1] = e[1];
			return 2;
		}
	}
	if (*s >= 0x20 && *s < 0x7f) {
		out[0] = (char)*s;
		return 1;
	}
	if (*s < 0x80)
		return u_escape(out, *s);
	n = utf8_seq(s, &cp);
	if (!n)
		return u_escape(out, 0xfffd);
	*sp = s + n;
	if (cp < 0x10000)
		return u_escape(out, cp);
	cp -= 0x10000;
	u_escape(out, 0xd800 | (cp >> 10));
	return 6 + u_escape(out + 6, 0xdc00 | (cp & 0x3ff));
}

size_t rt_json_escape(char *dst, size_t cap, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t len = 0;
	char unit[16];

	if (cap)
		dst[0] = '\0';
	while (*s) {
		size_t n = escape_unit(&s, unit);

		put(dst, cap, &len, unit, n);
	}
	return len;
}

static void raw(struct rt_json *j, const char *s)
{
	put(j->buf, j->cap, &j->len, s, strlen(s));
}

static void escaped(struct rt_json *j, const char *s)
{
	if (j->len < j->cap)
		j->len += rt_json_escape(j->buf + j->len, j->cap - j->len, s);
	else
		j->len += rt_json_escape(NULL, 0, s);
}

static void key(struct rt_json *j, const char *k)
{
	raw(j, j->fields++ ? ",\"" : "\"");
	escaped(j, k);
	raw(j, "\":");
}

void rt_json_begin(struct rt_json *j, char *buf, size_t cap)
{
	j->buf = buf;
	j->cap = cap;
	j->len = 0;
	j->fields = 0;
	raw(j, "{");
}

void rt_json_str(struct rt_json *j, const char *k, const char *val)
{
	key(j, k);
	raw(j, "\"");
	escaped(j, val);
	raw(j, "\"");
}

void rt_json_int(struct rt_json *j, const char *k, long long val)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", val);
	key(j, k);
	raw(j, num);
}

size_t rt_json_end(struct rt_json *j)
{
	raw(j, "}\n");
	return j->len;
}
