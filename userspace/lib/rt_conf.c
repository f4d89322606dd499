/* SPDX-License-Identifier: MIT */
/* Configuration files and flags over a keyword table (see rt_conf.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rt_conf.h"

enum { CONF_MSG_MAX = 512 };

struct loader {
	const char *path;
	const struct rt_conf_key *table;
	void *cfg;
	unsigned *seen;		/* line each key was set on; 0 = not yet */
	unsigned lineno;
	char msg[CONF_MSG_MAX];
};

static int say(struct loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records a message for the current line and returns -EINVAL. */
static int say(struct loader *ld, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ld->msg, sizeof(ld->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static char *skip_space(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static char *end_word(char *p)
{
	while (*p && *p != ' ' && *p != '\t')
		p++;
	return p;
}

const struct rt_conf_key *rt_conf_find(const struct rt_conf_key *table, const char *name)
{
	for (; table->name; table++)
		if (!strcasecmp(table->name, name))
			return table;
	return NULL;
}

/* A "quoted string" is unescaped in place (\" and \\); *pp moves past it. */
static int take_quoted(struct loader *ld, const struct rt_conf_key *k, char **pp, char **val)
{
	char *r = *pp + 1, *w = r;

	*val = r;
	for (; *r && *r != '"'; r++) {
		if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
			r++;
		*w++ = *r;
	}
	if (*r != '"')
		return say(ld, "%s: unterminated quoted value", k->name);
	*w = '\0';
	*pp = r + 1;
	return 0;
}

static int take_value(struct loader *ld, const struct rt_conf_key *k, char **pp, char **val)
{
	char *p = *pp;

	if (*p == '"')
		return take_quoted(ld, k, pp, val);
	*val = p;
	p = end_word(p);
	if (*p)
		*p++ = '\0';
	*pp = p;
	return 0;
}

/* Checks run in the order an operator would fix them: key, repeat, value. */
static int load_line(struct loader *ld, char *line)
{
	char *p = skip_space(line), *key, *val;
	const struct rt_conf_key *k;
	size_t idx;
	int r;

	if (!*p || *p == '#')
		return 0;
	key = p;
	p = end_word(p);
	if (*p)
		*p++ = '\0';
	k = rt_conf_find(ld->table, key);
	if (!k)
		return say(ld, "unknown key '%s'", key);
	idx = (size_t)(k - ld->table);
	if (ld->seen[idx])
		return say(ld, "duplicate key '%s' (first set on line %u)", k->name,
			   ld->seen[idx]);
	p = skip_space(p);
	if (!*p || *p == '#')
		return say(ld, "%s: missing value", k->name);
	r = take_value(ld, k, &p, &val);
	if (r)
		return r;
	p = skip_space(p);
	if (*p && *p != '#')
		return say(ld, "%s: trailing garbage '%s'", k->name, p);
	r = rt_conf_parse_value(k, val, ld->cfg, ld->msg, sizeof(ld->msg));
	if (!r)
		ld->seen[idx] = ld->lineno;
	return r;
}

/* Strips the line ending; rejects what a text line cannot hold. */
static int check_line(struct loader *ld, char *line, size_t n)
{
	if (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n && line[n - 1] == '\r')
		line[--n] = '\0';
	if (n > RT_CONF_LINE_MAX)
		return say(ld, "line too long (at most %d bytes)", RT_CONF_LINE_MAX);
	if (strlen(line) != n)
		return say(ld, "NUL byte in line");
	return 0;
}

static int load_stream(struct loader *ld, FILE *f, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int r = 0;

	while (!r && (n = getline(&line, &cap, f)) >= 0) {
		ld->lineno++;
		r = check_line(ld, line, (size_t)n);
		if (!r)
			r = load_line(ld, line);
		if (r)
			snprintf(err, errlen, "%s:%u: %s", ld->path, ld->lineno, ld->msg);
	}
	if (!r && ferror(f)) {
		r = -errno ? -errno : -EIO;
		snprintf(err, errlen, "%s: %s", ld->path, strerror(-r));
	}
	free(line);
	return r;
}

int rt_conf_load(const char *path, const struct rt_conf_key *table, void *cfg, char *err,
		 size_t errlen)
{
	struct loader ld = { .path = path, .table = table, .cfg = cfg };
	size_t nkeys = 0;
	FILE *f;
	int r;

	while (table[nkeys].name)
		nkeys++;
	ld.seen = calloc(nkeys + 1, sizeof(*ld.seen));
	if (!ld.seen) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	} else {
		r = load_stream(&ld, f, err, errlen);
		fclose(f);
	}
	free(ld.seen);
	return r;
}

int rt_conf_set(const struct rt_conf_key *table, void *cfg, const char *key, const char *value,
		char *err, size_t errlen)
{
	const struct rt_conf_key *k = rt_conf_find(table, key);

	if (!k) {
		snprintf(err, errlen, "unknown key '%s'", key);
		return -EINVAL;
	}
	if (!value) {
		snprintf(err, errlen, "%s: missing value", k->name);
		return -EINVAL;
	}
	return rt_conf_parse_value(k, value, cfg, err, errlen);
}

int rt_conf_defaults(const struct rt_conf_key *table, void *cfg, char *err, size_t errlen)
{
	char msg[CONF_MSG_MAX];
	int r = rt_conf_check_table(table, err, errlen);

	for (; !r && table->name; table++) {
		/* Zero first, so a reload forgets values the new file no longer sets. */
		memset((char *)cfg + table->offset, 0, table->size);
		if (!table->def)
			continue;
		r = rt_conf_parse_value(table, table->def, cfg, msg, sizeof(msg));
		if (r)
			snprintf(err, errlen, "internal error: default value of %s", msg);
	}
	return r;
}

void rt_conf_help(const struct rt_conf_key *table, FILE *out)
{
	const struct rt_conf_key *k;
	int wname = 0, wtype = 0, n;
	char type[96];

	for (k = table; k->name; k++) {
		rt_conf_type_name(k, type, sizeof(type));
		n = (int)strlen(k->name);
		wname = n > wname ? n : wname;
		n = (int)strlen(type);
		wtype = n > wtype ? n : wtype;
	}
	for (k = table; k->name; k++) {
		rt_conf_type_name(k, type, sizeof(type));
		fprintf(out, "  %-*s  %-*s  %s", wname, k->name, wtype, type,
			k->help ? k->help : "");
		if (k->def)
			fprintf(out, " (default %s)", k->def);
		fputc('\n', out);
	}
}

void rt_conf_dump(const struct rt_conf_key *table, const void *cfg, FILE *out)
{
	char val[RT_CONF_LINE_MAX];

	for (; table->name; table++) {
		rt_conf_format_value(table, cfg, val, sizeof(val));
		if (val[0])
			fprintf(out, "%s %s\n", table->name, val);
		else
			fprintf(out, "# %s (not set)\n", table->name);
	}
}
