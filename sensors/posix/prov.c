/* SPDX-License-Identifier: MIT */
/* The device provisioning file (see prov.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ct.h"
#include "lib/rt_log.h"
#include "hex.h"
#include "prov.h"

enum { HEX16_LEN = 2 * IOMT_S2_ID_LEN };

/* The next word of *cur (spaces/tabs between words): its start and length. */
static size_t next_word(const char **cur, const char **word)
{
	const char *p = *cur;
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	while (p[n] && p[n] != ' ' && p[n] != '\t')
		n++;
	*word = p;
	*cur = p + n;
	return n;
}

/* "key=" and exactly 32 hex digits into out (16 bytes); the digits are
 * never quoted back, they may be a key. */
static int field(const char **cur, const char *key, uint8_t out[IOMT_S2_ID_LEN], char *err,
		 size_t errlen)
{
	size_t klen = strlen(key), n, i;
	const char *w;

	n = next_word(cur, &w);
	if (n <= klen || strncmp(w, key, klen) || w[klen] != '=') {
		snprintf(err, errlen, "expected '%s=<32 hex digits>' (line format: "
			 "'did=HEX dk=HEX')", key);
		return -1;
	}
	w += klen + 1;
	n -= klen + 1;
	if (n != HEX16_LEN) { /* 128-bit DID and DK: exactly 16 bytes */
		snprintf(err, errlen, "%s: %zu hex digits, need %d", key, n, HEX16_LEN);
		return -1;
	}
	if (iomt_hex_decode(w, n, out, HEX16_LEN / 2, &i)) {
		snprintf(err, errlen, "%s: not a hex digit at position %zu", key, i);
		return -1;
	}
	return 0;
}

int sensor_prov_parse_line(const char *line, struct sensor_prov *dev, char *err, size_t errlen)
{
	const char *cur = line, *w;
	struct sensor_prov d;
	int r;

	if (!next_word(&cur, &w) || w[0] == '#')
		return 0; /* blank or comment */
	cur = line;
	r = field(&cur, "did", d.did, err, errlen);
	if (!r)
		r = field(&cur, "dk", d.dk, err, errlen);
	if (!r && next_word(&cur, &w)) {
		snprintf(err, errlen, "unexpected text after dk (line format: 'did=HEX dk=HEX')");
		r = -1;
	}
	if (!r)
		*dev = d;
	iomt_wipe(&d, sizeof(d));
	return r ? -1 : 1;
}

/* A second device with the same DID or DK: a copy-paste error, never valid. */
static int duplicate(const struct sensor_prov *devs, size_t n, const struct sensor_prov *d,
		     char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const char *what = !memcmp(devs[i].did, d->did, IOMT_S2_ID_LEN) ? "did"
				 : !memcmp(devs[i].dk, d->dk, IOMT_S2_KEY_LEN) ? "dk" : NULL;

		if (what) {
			snprintf(err, errlen, "duplicate %s (same as device %zu)", what, i);
			return -1;
		}
	}
	return 0;
}

struct prov_reader {
	const char *path;
	FILE *f;
	unsigned line;
	struct sensor_prov *devs;
	size_t n, cap;
};

static int add_device(struct prov_reader *p, const struct sensor_prov *d, char *err,
		      size_t errlen)
{
	struct sensor_prov *grown;

	if (duplicate(p->devs, p->n, d, err, errlen))
		return -1;
	if (p->n == SENSOR_PROV_MAX) {
		snprintf(err, errlen, "more than %d devices", SENSOR_PROV_MAX);
		return -1;
	}
	if (p->n == p->cap) {
		/* calloc + copy rather than realloc: the old block holds keys to wipe. */
		size_t cap = p->cap ? 2 * p->cap : 64;

		grown = calloc(cap, sizeof(*grown));
		if (!grown) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (p->n)
			memcpy(grown, p->devs, p->n * sizeof(*grown));
		sensor_prov_free(p->devs, p->n);
		p->devs = grown;
		p->cap = cap;
	}
	p->devs[p->n++] = *d;
	return 0;
}

/* One physical line into buf without its newline: 1, 0 at the end, -1. */
static int read_line(struct prov_reader *p, char buf[SENSOR_PROV_LINE_MAX], char *err,
		     size_t errlen)
{
	size_t len;

	if (!fgets(buf, SENSOR_PROV_LINE_MAX, p->f))
		return 0;
	p->line++;
	len = strlen(buf);
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (!feof(p->f)) {
		snprintf(err, errlen, "line longer than %d characters", SENSOR_PROV_LINE_MAX - 2);
		return -1;
	}
	if (strlen(buf) != len || strchr(buf, '\r')) {
		snprintf(err, errlen, "NUL or carriage return in the line");
		return -1;
	}
	return 1;
}

static int read_all(struct prov_reader *p, char *err, size_t errlen)
{
	char buf[SENSOR_PROV_LINE_MAX];
	struct sensor_prov d;
	int r;

	while ((r = read_line(p, buf, err, errlen)) > 0) {
		r = sensor_prov_parse_line(buf, &d, err, errlen);
		if (r > 0)
			r = add_device(p, &d, err, errlen);
		if (r < 0)
			break;
	}
	iomt_wipe(buf, sizeof(buf));
	iomt_wipe(&d, sizeof(d));
	if (!r && ferror(p->f)) {
		snprintf(err, errlen, "read error: %s", strerror(errno));
		r = -1;
	}
	return r;
}

static void warn_if_shared(const char *path, FILE *f)
{
	struct stat st;

	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		rt_warn("%s: readable by group or others (mode %03o): it holds device keys",
			path, (unsigned)(st.st_mode & 0777));
}

int sensor_prov_read(const char *path, struct sensor_prov **devs, size_t *n)
{
	struct prov_reader p = { .path = path };
	char err[256];
	int r;

	p.f = fopen(path, "re");
	if (!p.f) {
		rt_err("%s: cannot open the provisioning file: %m", path);
		return -1;
	}
	warn_if_shared(path, p.f);
	r = read_all(&p, err, sizeof(err));
	fclose(p.f);
	if (r < 0)
		rt_err("%s:%u: %s", path, p.line, err);
	else if (!p.n)
		rt_err("%s: no devices (expected lines 'did=HEX dk=HEX')", path);
	if (r < 0 || !p.n) {
		sensor_prov_free(p.devs, p.n);
		return -1;
	}
	*devs = p.devs;
	*n = p.n;
	return 0;
}

void sensor_prov_free(struct sensor_prov *devs, size_t n)
{
	if (!devs)
		return;
	iomt_wipe(devs, n * sizeof(*devs));
	free(devs);
}
