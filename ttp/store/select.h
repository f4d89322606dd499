/* SPDX-License-Identifier: MIT */
/* What query and decrypt share: command-line values (times, ids) and which
 * stored records a time range selects. A record is selected when its leaf's
 * time interval [start, end) meets [from, to]. */
#ifndef IOMT_STORE_SELECT_H
#define IOMT_STORE_SELECT_H
#include <stddef.h>
#include <stdint.h>

#include "keytree.h"
#include "hex.h"

enum { STORE_TIME_TEXT = 24 };   /* "2026-12-07T16:00:00Z" + NUL */

/* Unix seconds, or UTC "YYYY-MM-DDTHH:MM:SSZ": 0 or -EINVAL. */
int store_parse_time(const char *s, uint64_t *unix_s);
/* 32 hex digits: 0 or -EINVAL. */
int store_parse_id(const char *s, uint8_t out[IOMT_KEYTREE_ID_LEN]);
const char *store_fmt_time(uint64_t unix_s, char buf[STORE_TIME_TEXT]);

/* The leaf's interval [*start, *end) in Unix seconds. */
void store_leaf_range(const struct iomt_keytree_conf *c, uint64_t leaf, uint64_t *start,
		      uint64_t *end);
/* The leaf's interval meets [from, to]. */
int store_leaf_selected(const struct iomt_keytree_conf *c, uint64_t leaf, uint64_t from,
			uint64_t to);

#endif
