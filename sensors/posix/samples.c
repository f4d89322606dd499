/* SPDX-License-Identifier: MIT */
/* The sample file of `iomt-sensor stream` (see samples.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/analysis.h"
#include "lib/rt_log.h"
#include "samples.h"

enum {
	SAMPLES_LINE_MAX = 256,
	SAMPLES_MAX = 1 << 24,          /* 112 MiB of samples: a file larger is a mistake */
};

/* A decimal number of 1..19 digits, no sign: 0, or -1. */
static int parse_dec(const char *f, uint64_t max, uint64_t *v)
{
	size_t i, n = strlen(f);

	if (!n || n > 19)
		return -1;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (f[i] < '0' || f[i] > '9')
			return -1;
		*v = *v * 10 + (uint64_t)(f[i] - '0');
	}
	return *v <= max ? 0 : -1;
}

/* Splits line into exactly three fields: 0, or -1 with why set. */
static int split(char *line, char *field[3], const char **why)
{
	size_t k = 0;
	char *p = line;

	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (k == 3) {
			*why = "extra text after the value";
			return -1;
		}
		field[k++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = 0;
	}
	if (k < 3) {
		*why = "expected 't_ms kind value'";
		return -1;
	}
	return 0;
}

static int parse_line(char *line, uint64_t prev_t, struct iomt_s2_sample *s, const char **why)
{
	char *f[3];
	uint64_t t, v;

	if (strchr(line, '\r')) {
		*why = "carriage return (use Unix line ends)";
		return -1;
	}
	if (split(line, f, why))
		return -1;
	if (parse_dec(f[0], INT64_MAX, &t)) {
		*why = "t_ms: expected a decimal number of milliseconds";
		return -1;
	}
	if (t < prev_t) {
		*why = "t_ms earlier than the previous sample's";
		return -1;
	}
	if (!strcmp(f[1], "rr")) {
		s->kind = AN_KIND_RR;
		if (parse_dec(f[2], 3000, &v) || v < 200) {
			*why = "rr: expected an RR interval of 200..3000 ms";
			return -1;
		}
	} else if (!strcmp(f[1], "spo2")) {
		s->kind = AN_KIND_SPO2;
		if (parse_dec(f[2], 1000, &v)) {
			*why = "spo2: expected 0..1000 (tenths of a percent)";
			return -1;
		}
	} else {
		*why = "kind: expected rr or spo2";
		return -1;
	}
	s->t_ms = t;
	s->value = (uint16_t)v;
	return 0;
}

static int grow(struct sample_list *l, size_t *cap)
{
	size_t c = *cap ? 2 * *cap : 1024;
	struct iomt_s2_sample *n;

	if (l->n < *cap)
		return 0;
	if (c > SAMPLES_MAX)
		c = SAMPLES_MAX;
	if (l->n >= c)
		return -1;
	n = realloc(l->s, c * sizeof(*n));
	if (!n)
		return -1;
	l->s = n;
	*cap = c;
	return 0;
}

static int read_all(FILE *f, const char *path, struct sample_list *l)
{
	char line[SAMPLES_LINE_MAX + 2];
	unsigned long no = 0;
	size_t cap = 0, len;
	const char *why = NULL;

	while (fgets(line, sizeof(line), f)) {
		no++;
		len = strlen(line);
		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		else if (!feof(f)) {
			rt_err("%s:%lu: line longer than %d characters", path, no, SAMPLES_LINE_MAX);
			return -1;
		}
		if (!len || line[0] == '#')
			continue;
		if (grow(l, &cap)) {
			rt_err("%s:%lu: more than %d samples (or out of memory)", path, no, SAMPLES_MAX);
			return -1;
		}
		if (parse_line(line, l->n ? l->s[l->n - 1].t_ms : 0, &l->s[l->n], &why)) {
			rt_err("%s:%lu: %s", path, no, why);
			return -1;
		}
		l->n++;
	}
	if (ferror(f)) {
		rt_err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (!l->n) {
		rt_err("%s: no samples", path);
		return -1;
	}
	return 0;
}

int samples_load(const char *path, struct sample_list *out)
{
	FILE *f = fopen(path, "r");
	int r;

	memset(out, 0, sizeof(*out));
	if (!f) {
		rt_err("%s: %s", path, strerror(errno));
		return -1;
	}
	r = read_all(f, path, out);
	fclose(f);
	if (r)
		samples_free(out);
	return r;
}

void samples_free(struct sample_list *l)
{
	free(l->s);
	l->s = NULL;
	l->n = 0;
}
