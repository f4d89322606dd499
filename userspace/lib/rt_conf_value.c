/* SPDX-License-Identifier: MIT */
/* Configuration values: parsing and printing each rt_conf_type. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>

#include "rt_conf.h"
#include "rt_log.h"

static int fail(char *err, size_t errlen, const struct rt_conf_key *k, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Writes "key: message" and returns -EINVAL, so callers can "return fail(...)". */
static int fail(char *err, size_t errlen, const struct rt_conf_key *k, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!errlen)
		return -EINVAL;
	n = snprintf(err, errlen, "%s: ", k->name);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Member size each type writes; 0 for strings, which need at least 2 bytes. */
static size_t member_size(enum rt_conf_type type)
{
	switch (type) {
	case RT_CONF_STRING:
	case RT_CONF_PATH:
		return 0;
	case RT_CONF_INT:
	case RT_CONF_BOOL:
	case RT_CONF_LOGLEVEL:
		return sizeof(int);
	case RT_CONF_SIZE:
	case RT_CONF_DURATION:
		return sizeof(uint64_t);
	case RT_CONF_ENDPOINT:
		return sizeof(struct rt_endpoint);
	}
	return SIZE_MAX;
}

/* Catches a table entry whose type does not match its member's declaration. */
static int check_entry(const struct rt_conf_key *k, char *err, size_t errlen)
{
	size_t want = member_size(k->type);

	if (want == SIZE_MAX || (want && k->size != want) || (!want && k->size < 2))
		return fail(err, errlen, k, "table entry does not match its member (internal error)");
	return 0;
}

int rt_conf_check_table(const struct rt_conf_key *table, char *err, size_t errlen)
{
	const struct rt_conf_key *k, *o;
	int r;

	for (k = table; k->name; k++) {
		r = check_entry(k, err, errlen);
		if (r)
			return r;
		for (o = table; o != k; o++)
			if (!strcasecmp(o->name, k->name))
				return fail(err, errlen, k, "listed twice in the table (internal error)");
	}
	return 0;
}

/* Decimal digits only (no sign, space or base prefix); -ERANGE on overflow.
 * *end is set past the digits whatever the result. */
static int parse_digits(const char *s, uint64_t *v, const char **end)
{
	uint64_t x = 0;
	int r = 0;

	if (*s < '0' || *s > '9')
		r = -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			r = -ERANGE;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	*end = s;
	return r;
}

static int parse_int(const struct rt_conf_key *k, const char *val, int *out, char *err,
		     size_t errlen)
{
	long long lo = k->min, hi = k->max, v;
	const char *p = val + (*val == '-'), *end = p;
	uint64_t u = 0;
	int r;

	if (!lo && !hi)
		lo = INT_MIN, hi = INT_MAX;
	r = parse_digits(p, &u, &end);
	if (r == -EINVAL || *end)
		return fail(err, errlen, k, "'%s' is not an integer", val);
	if (r == -ERANGE || u > (uint64_t)LLONG_MAX)
		return fail(err, errlen, k, "%s is out of range %lld..%lld", val, lo, hi);
	v = p != val ? -(long long)u : (long long)u;
	if (v < lo || v > hi || v < INT_MIN || v > INT_MAX)
		return fail(err, errlen, k, "%s is out of range %lld..%lld", val, lo, hi);
	*out = (int)v;
	return 0;
}

struct unit {
	const char *suffix;
	uint64_t mult;
};

/* Binary units: buffer and queue sizes are counted in pages and KiB. */
static const struct unit size_units[] = {
	{ "", 1 }, { "k", 1ull << 10 }, { "K", 1ull << 10 }, { "M", 1ull << 20 },
	{ "G", 1ull << 30 }, { NULL, 0 },
};

/* A bare number is seconds, as in sshd_config. */
static const struct unit duration_units[] = {
	{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { NULL, 0 },
};

/* Largest unit that divides v exactly: 1073741824 -> "1G", 90000 ms -> "90s". */
static void format_units(char *buf, size_t len, uint64_t v, const struct unit *units)
{
	const struct unit *u, *best = NULL;

	for (u = units; u->suffix; u++)
		if (u->suffix[0] && v % u->mult == 0 && (!best || u->mult > best->mult))
			best = u;
	if (!v && units == duration_units)
		snprintf(buf, len, "0s");
	else if (!best || !v)
		snprintf(buf, len, "%" PRIu64, v);
	else
		snprintf(buf, len, "%" PRIu64 "%s", v / best->mult, best->suffix);
}

static void format_range(char *buf, size_t len, const struct rt_conf_key *k,
			 const struct unit *units)
{
	char lo[32], hi[32];

	format_units(lo, sizeof(lo), (uint64_t)k->min, units);
	format_units(hi, sizeof(hi), (uint64_t)k->max, units);
	snprintf(buf, len, "%s..%s", lo, hi);
}

static int parse_scaled(const struct rt_conf_key *k, const char *val, const struct unit *units,
			uint64_t *out, char *err, size_t errlen)
{
	const char *what = units == size_units ? "a size (a number with optional k, M or G)"
					       : "a duration (a number with ms, s, m or h)";
	const struct unit *u;
	const char *end;
	char range[80];
	uint64_t v;
	int r = parse_digits(val, &v, &end);

	for (u = units; u->suffix; u++)
		if (!strcmp(end, u->suffix))
			break;
	if (r == -EINVAL || !u->suffix)
		return fail(err, errlen, k, "'%s' is not %s", val, what);
	if (r == -ERANGE || v > UINT64_MAX / u->mult)
		return fail(err, errlen, k, "%s is too large", val);
	v *= u->mult;
	if (k->min || k->max) {
		format_range(range, sizeof(range), k, units);
		if (v < (uint64_t)k->min || v > (uint64_t)k->max)
			return fail(err, errlen, k, "%s is out of range %s", val, range);
	}
	*out = v;
	return 0;
}

static int parse_bool(const struct rt_conf_key *k, const char *val, int *out, char *err,
		      size_t errlen)
{
	static const char *const words[] = { "no", "yes", "false", "true", "off", "on", "0", "1" };
	unsigned i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!strcasecmp(val, words[i])) {
			*out = (int)(i & 1);
			return 0;
		}
	}
	return fail(err, errlen, k, "'%s' is not a boolean (yes or no)", val);
}

static int parse_string(const struct rt_conf_key *k, const char *val, char *dst, char *err,
			size_t errlen)
{
	size_t n = strlen(val);

	if (k->type == RT_CONF_PATH && val[0] != '/')
		return fail(err, errlen, k, "'%s' is not an absolute path", val);
	if (n >= k->size)
		return fail(err, errlen, k, "value is too long (at most %zu bytes)", k->size - 1);
	memcpy(dst, val, n + 1);
	return 0;
}

static int parse_endpoint(const struct rt_conf_key *k, const char *val,
			  struct rt_endpoint *out, char *err, size_t errlen)
{
	int r = rt_endpoint_parse(val, out);

	if (r == -ERANGE)
		return fail(err, errlen, k, "port %s is out of range 0..65535",
			    strrchr(val, ':') + 1);
	if (r)
		return fail(err, errlen, k,
			    "'%s' is not an ip:port endpoint (like 192.0.2.1:7000 or [2001:db8::1]:7000)",
			    val);
	return 0;
}

static int parse_level(const struct rt_conf_key *k, const char *val, int *out, char *err,
		       size_t errlen)
{
	enum rt_log_level level;

	if (rt_log_level_parse(val, &level))
		return fail(err, errlen, k, "'%s' is not a log level (error, warn, info or debug)",
			    val);
	*out = (int)level;
	return 0;
}

/* Every parser writes its own copy; the member changes only on success. */
union conf_value {
	int i;
	uint64_t u;
	struct rt_endpoint ep;
};

int rt_conf_parse_value(const struct rt_conf_key *k, const char *val, void *cfg, char *err,
			size_t errlen)
{
	char *member = (char *)cfg + k->offset;
	union conf_value v;
	int r = check_entry(k, err, errlen);

	if (r)
		return r;
	switch (k->type) {
	case RT_CONF_STRING:
	case RT_CONF_PATH:
		return parse_string(k, val, member, err, errlen);
	case RT_CONF_INT:
		r = parse_int(k, val, &v.i, err, errlen);
		break;
	case RT_CONF_BOOL:
		r = parse_bool(k, val, &v.i, err, errlen);
		break;
	case RT_CONF_LOGLEVEL:
		r = parse_level(k, val, &v.i, err, errlen);
		break;
	case RT_CONF_SIZE:
		r = parse_scaled(k, val, size_units, &v.u, err, errlen);
		break;
	case RT_CONF_DURATION:
		r = parse_scaled(k, val, duration_units, &v.u, err, errlen);
		break;
	case RT_CONF_ENDPOINT:
		r = parse_endpoint(k, val, &v.ep, err, errlen);
		break;
	}
	if (!r)
		memcpy(member, &v, k->size);
	return r;
}

/* Strings that would not read back as one word are quoted. */
static void format_string(char *buf, size_t len, const char *s)
{
	size_t n = 0;

	if (*s && !strpbrk(s, " \t#\"\\")) {
		snprintf(buf, len, "%s", s);
		return;
	}
	if (len < 3) {
		if (len)
			buf[0] = '\0';
		return;
	}
	buf[n++] = '"';
	for (; *s && n + 3 < len; s++) {
		if (*s == '"' || *s == '\\')
			buf[n++] = '\\';
		buf[n++] = *s;
	}
	buf[n++] = '"';
	buf[n] = '\0';
}

void rt_conf_format_value(const struct rt_conf_key *k, const void *cfg, char *buf, size_t len)
{
	const char *member = (const char *)cfg + k->offset;
	union conf_value v;

	if (check_entry(k, NULL, 0)) {
		snprintf(buf, len, "?");
		return;
	}
	if (k->type == RT_CONF_STRING || k->type == RT_CONF_PATH) {
		format_string(buf, len, member);
		return;
	}
	memcpy(&v, member, k->size);
	switch (k->type) {
	case RT_CONF_INT:
		snprintf(buf, len, "%d", v.i);
		break;
	case RT_CONF_BOOL:
		snprintf(buf, len, "%s", v.i ? "yes" : "no");
		break;
	case RT_CONF_LOGLEVEL:
		snprintf(buf, len, "%s", rt_log_level_name((enum rt_log_level)v.i));
		break;
	case RT_CONF_SIZE:
		format_units(buf, len, v.u, size_units);
		break;
	case RT_CONF_DURATION:
		format_units(buf, len, v.u, duration_units);
		break;
	default:
		rt_endpoint_str(&v.ep, buf, len);
		break;
	}
}

void rt_conf_type_name(const struct rt_conf_key *k, char *buf, size_t len)
{
	static const char *const names[] = {
		[RT_CONF_STRING] = "string", [RT_CONF_PATH] = "path", [RT_CONF_INT] = "int",
		[RT_CONF_BOOL] = "bool", [RT_CONF_SIZE] = "size", [RT_CONF_DURATION] = "duration",
		[RT_CONF_ENDPOINT] = "ip:port", [RT_CONF_LOGLEVEL] = "level",
	};
	const char *name = (unsigned)k->type <= RT_CONF_LOGLEVEL ? names[k->type] : "?";
	char range[80];

	if (!k->min && !k->max) {
		snprintf(buf, len, "%s", name);
		return;
	}
	if (k->type == RT_CONF_INT)
		snprintf(range, sizeof(range), "%lld..%lld", k->min, k->max);
	else if (k->type == RT_CONF_SIZE)
		format_range(range, sizeof(range), k, size_units);
	else if (k->type == RT_CONF_DURATION)
		format_range(range, sizeof(range), k, duration_units);
	else
		range[0] = '\0';
	snprintf(buf, len, "%s%s%s", name, range[0] ? " " : "", range);
}

static int set_addr(struct rt_endpoint *ep, const char *host, int v6, uint16_t port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ep->addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ep->addr;

	memset(ep, 0, sizeof(*ep));
	if (v6) {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		ep->len = sizeof(*sin6);
	} else {
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		ep->len = sizeof(*sin);
	}
	return 0;
}

int rt_endpoint_parse(const char *text, struct rt_endpoint *ep)
{
	char host[INET6_ADDRSTRLEN];
	const char *h = text, *colon, *end;
	size_t hlen;
	uint64_t port;
	int r, v6 = *text == '[';

	if (v6) {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = text + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strchr(text, ':');
		/* A second colon is an IPv6 address missing its brackets. */
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL;
		hlen = (size_t)(colon - text);
	}
	if (!hlen || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	r = parse_digits(colon + 1, &port, &end);
	if (r == -EINVAL || *end)
		return -EINVAL;
	if (r || port > 65535)
		return -ERANGE;
	return set_addr(ep, host, v6, (uint16_t)port);
}

uint16_t rt_endpoint_port(const struct rt_endpoint *ep)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ep->addr;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ep->addr;

	if (ep->addr.ss_family == AF_INET6)
		return ntohs(sin6->sin6_port);
	if (ep->addr.ss_family == AF_INET)
		return ntohs(sin->sin_port);
	return 0;
}

const char *rt_endpoint_str(const struct rt_endpoint *ep, char *buf, size_t len)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ep->addr;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ep->addr;
	char host[INET6_ADDRSTRLEN];

	if (ep->addr.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, rt_endpoint_port(ep));
	} else if (ep->addr.ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, rt_endpoint_port(ep));
	} else if (len) {
		buf[0] = '\0';
	}
	return buf;
}
