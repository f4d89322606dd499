/* SPDX-License-Identifier: MIT */
/*
 * Minimal JSON writer for log and audit records: one flat object of string
 * and integer fields.
 *
 * Strings are escaped to pure ASCII: '"' '\\' and the short escapes \b \f \n
 * \r \t, other control characters and DEL as \u00XX, well-formed UTF-8 as
 * \uXXXX (surrogate pairs above U+FFFF), and every byte that is not part of
 * well-formed UTF-8 (overlong forms, surrogates, stray continuation bytes,
 * code points above U+10FFFF) as \ufffd. The output is therefore valid JSON
 * whatever bytes a peer managed to put into a field, and cannot carry
 * terminal escape sequences into an operator's shell.
 *
 * Writers count like snprintf: rt_json.len is the length the whole record
 * needs; when it is >= the buffer size the buffer holds a cut prefix and the
 * caller retries with a larger one (rt_audit) or sized it so that cannot
 * happen (rt_log).
 */
#ifndef IOMT_RT_JSON_H
#define IOMT_RT_JSON_H

#include <stddef.h>
#include <stdint.h>

struct rt_json {
	char *buf;
	size_t cap;
	size_t len;	/* bytes needed so far, excluding the NUL */
	int fields;	/* fields written, to place the commas */
};

/* Escape src (no quotes added); returns the escaped length, writes what fits. */
size_t rt_json_escape(char *dst, size_t cap, const char *src);

/* Worst-case escaped length of n input bytes ("\u0001" for each). */
#define RT_JSON_ESCAPED_MAX(n) ((n) * 6)

void rt_json_begin(struct rt_json *j, char *buf, size_t cap);
void rt_json_str(struct rt_json *j, const char *key, const char *val);
void rt_json_int(struct rt_json *j, const char *key, long long val);
/* Closes the object and appends '\n'; returns j->len. */
size_t rt_json_end(struct rt_json *j);

static inline int rt_json_fits(const struct rt_json *j)
{
	return j->len < j->cap;
}

#endif
