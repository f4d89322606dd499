/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "select.h"

int store_parse_time(const char *s, uint64_t *unix_s)
{
	struct tm tm = { 0 };
	const char *end;
	char *e;
	time_t t;

	if (!s || !*s)
		return -EINVAL;
	if (strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		*unix_s = strtoull(s, &e, 10);
		return errno || *e ? -EINVAL : 0;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -EINVAL;
	t = timegm(&tm);
	if (t < 0)
		return -EINVAL;
	*unix_s = (uint64_t)t;
	return 0;
}

int store_parse_id(const char *s, uint8_t out[IOMT_KEYTREE_ID_LEN])
{
	size_t bad;

	return iomt_hex_decode(s, strlen(s), out, IOMT_KEYTREE_ID_LEN, &bad) ? -EINVAL : 0;
}

const char *store_fmt_time(uint64_t unix_s, char buf[STORE_TIME_TEXT])
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, STORE_TIME_TEXT, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, STORE_TIME_TEXT, "%llu", (unsigned long long)unix_s);
	return buf;
}

void store_leaf_range(const struct iomt_keytree_conf *c, uint64_t leaf, uint64_t *start,
		      uint64_t *end)
{
	*start = c->epoch_start + leaf * c->leaf_period_s;
	*end = *start + c->leaf_period_s;
}

int store_leaf_selected(const struct iomt_keytree_conf *c, uint64_t leaf, uint64_t from,
			uint64_t to)
{
	uint64_t start, end;

	store_leaf_range(c, leaf, &start, &end);
	return end > from && start <= to;
}
