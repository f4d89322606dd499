/* SPDX-License-Identifier: MIT */
/* 'iomt-gwd provision': strict parsing of the pool file, atomic state file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct.h"
#include "lib/rt_file.h"
#include "lib/rt_recfile.h"
#include "pool.h"
#include "hex.h"
#include "provision.h"
#include "secmem.h"

enum {
	LINE_MAX_LEN = 512,	/* a valid line is about 90 bytes */
	HEX_LEN = 2 * IOMT_S2_ID_LEN,
};

struct prov_slot {
	uint8_t pair[GWD_PAIR_LEN];	/* DID || DK (secret) */
	unsigned line;			/* 0: not listed */
};

struct prov {
	const char *path;
	struct prov_slot *slot;		/* GWD_POOL_MAX entries, secret memory */
	size_t n;			/* highest slot listed + 1 */
	char err[512];
};

static int fail(struct prov *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "path:line: message" (or "path: message" for line 0); always -EINVAL. */
static int fail(struct prov *p, unsigned line, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(p->err, sizeof(p->err), "%s:%u: %s", p->path, line, msg);
	else
		snprintf(p->err, sizeof(p->err), "%s: %s", p->path, msg);
	return -EINVAL;
}

/* Exactly 32 hex digits into 16 bytes; the value is never echoed. */
static int parse_hex16(struct prov *p, unsigned line, const char *name, const char *s, size_t len,
		       uint8_t out[16])
{
	if (len != HEX_LEN)
		return fail(p, line, "%s: expected %d hex digits, got %zu characters", name, HEX_LEN,
			    len);
	size_t bad = 0;

	if (iomt_hex_decode(s, len, out, HEX_LEN / 2, &bad))
		return fail(p, line, "%s: character %zu is not a hex digit", name, bad);
	return 0;
}

/* Decimal, no sign, no leading zero, below GWD_POOL_MAX. */
static int parse_slot(struct prov *p, unsigned line, const char *s, size_t len, size_t *slot)
{
	size_t v = 0;

	if (!len || len > 4 || (len > 1 && s[0] == '0'))
		goto bad;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		v = v * 10 + (size_t)(s[i] - '0');
	}
	if (v >= GWD_POOL_MAX)
		goto bad;
	*slot = v;
	return 0;
bad:
	return fail(p, line, "slot: '%.*s' is not a slot number 0..%d", (int)(len > 16 ? 16 : len),
		    s, GWD_POOL_MAX - 1);
}

/* The next blank-separated word of *cur: its start and length (0 at the end). */
static size_t next_word(const char **cur, const char **word)
{
	const char *s = *cur;
	size_t n = 0;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	while (s[n] && s[n] != ' ' && s[n] != '\t' && s[n] != '\r')
		n++;
	*word = s;
	*cur = s + n;
	return n;
}

/* The word "key=value" with the expected key: the value. */
static int field(struct prov *p, unsigned line, const char **cur, const char *key,
		 const char **val, size_t *vlen)
{
	const char *w;
	size_t n = next_word(cur, &w), klen = strlen(key);

	if (!n)
		return fail(p, line, "missing '%s=' (expected 'slot=N did=HEX dk=HEX')", key);
	if (n <= klen || strncmp(w, key, klen) || w[klen] != '=')
		return fail(p, line, "expected '%s=' here, got '%.*s' (line format: "
			    "'slot=N did=HEX dk=HEX')", key, (int)(n > 12 ? 12 : n), w);
	*val = w + klen + 1;
	*vlen = n - klen - 1;
	return 0;
}

static int record(struct prov *p, unsigned line, size_t slot, const uint8_t pair[GWD_PAIR_LEN])
{
	struct prov_slot *s = &p->slot[slot];

	if (s->line)
		return fail(p, line, "slot %zu listed twice (first on line %u)", slot, s->line);
	for (size_t i = 0; i < p->n; i++)
		if (p->slot[i].line && !memcmp(p->slot[i].pair, pair, IOMT_S2_ID_LEN))
			return fail(p, line, "slot %zu: did is the same as slot %zu's (line %u)",
				    slot, i, p->slot[i].line);
	memcpy(s->pair, pair, GWD_PAIR_LEN);
	s->line = line;
	if (slot + 1 > p->n)
		p->n = slot + 1;
	return 0;
}

static int parse_line(struct prov *p, unsigned line, const char *text)
{
	const char *cur = text, *v, *w;
	uint8_t pair[GWD_PAIR_LEN];
	size_t vlen, slot = 0;
	int r;

	if (!next_word(&cur, &w) || w[0] == '#')
		return 0;	/* blank or comment */
	cur = text;
	r = field(p, line, &cur, "slot", &v, &vlen);
	if (!r)
		r = parse_slot(p, line, v, vlen, &slot);
	if (!r)
		r = field(p, line, &cur, "did", &v, &vlen);
	if (!r)
		r = parse_hex16(p, line, "did", v, vlen, pair);
	if (!r)
		r = field(p, line, &cur, "dk", &v, &vlen);
	if (!r)
		r = parse_hex16(p, line, "dk", v, vlen, pair + IOMT_S2_ID_LEN);
	if (!r && next_word(&cur, &w))
		r = fail(p, line, "unexpected text after dk (line format: 'slot=N did=HEX dk=HEX')");
	if (!r)
		r = record(p, line, slot, pair);
	iomt_wipe(pair, sizeof(pair));
	return r;
}

/* One line into buf, without its newline: its length, -1 at the end of
 * the file, -2 on an error (*r set). */
static long read_line(struct prov *p, FILE *f, unsigned line, char *buf, size_t cap, int *r)
{
	size_t n = 0;
	int c;

	while ((c = getc(f)) != EOF && c != '\n') {
		if (c == '\0')
			*r = fail(p, line, "NUL byte: not a text file");
		else if (n + 1 == cap)
			*r = fail(p, line, "line longer than %zu bytes", cap - 1);
		if (*r)
			return -2;
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	if (c == EOF && ferror(f)) {
		*r = fail(p, line, "read error: %s", strerror(errno));
		return -2;
	}
	return c == EOF && n == 0 ? -1 : (long)n;
}

static int parse_file(struct prov *p)
{
	char *buf = gwd_secmem_alloc(LINE_MAX_LEN);
	FILE *f = fopen(p->path, "re");
	unsigned line = 0;
	int r = 0;

	if (!f || !buf) {
		r = fail(p, 0, "%s", strerror(errno));
		goto out;
	}
	while (!r && read_line(p, f, ++line, buf, LINE_MAX_LEN, &r) >= 0)
		r = parse_line(p, line, buf);
out:
	if (f)
		fclose(f);
	gwd_secmem_free(buf, LINE_MAX_LEN);
	return r;
}

/* Slots 0..N-1 without a gap. */
static int check_complete(struct prov *p)
{
	if (!p->n)
		return fail(p, 0, "no slots (expected lines 'slot=N did=HEX dk=HEX')");
	for (size_t i = 0; i < p->n; i++)
		if (!p->slot[i].line)
			return fail(p, 0, "slot %zu is missing (slots must be numbered 0..%zu "
				    "without gaps)", i, p->n - 1);
	return 0;
}

/* A running daemon holds its state file locked; replacing it under the
 * daemon would lose every rotation it writes from then on. */
static int state_in_use(const char *state)
{
	struct rt_recfile *f;
	size_t len, nrec;
	int r;

	if (rt_recfile_stat(state, &len, &nrec))
		return 0;
	r = rt_recfile_open(state, len, nrec, &f);
	if (!r)
		rt_recfile_close(f);
	return r == -EBUSY;
}

/* Written beside the target, then renamed over it: old or new, never half. */
static int write_state(struct prov *p, const char *state, int force, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	uint8_t (*pair)[GWD_PAIR_LEN] = gwd_secmem_alloc(p->n * GWD_PAIR_LEN);
	int r;

	if (!force && access(state, F_OK) == 0) {
		snprintf(err, errlen, "state file %s exists: it holds the slots' current "
			 "identities; refusing to overwrite (--force replaces it)", state);
		r = -EEXIST;
	} else if (state_in_use(state)) {
		snprintf(err, errlen, "state file %s is in use by a running iomt-gwd: stop it "
			 "first", state);
		r = -EBUSY;
	} else if (snprintf(tmp, sizeof(tmp), "%s.tmp", state) >= (int)sizeof(tmp) || !pair) {
		snprintf(err, errlen, "state file %s: path too long or out of memory", state);
		r = -ENAMETOOLONG;
	} else {
		for (size_t i = 0; i < p->n; i++)
			memcpy(pair[i], p->slot[i].pair, GWD_PAIR_LEN);
		unlink(tmp);
		r = gwd_pool_create(tmp, (const uint8_t (*)[GWD_PAIR_LEN])pair, p->n, err, errlen);
		if (!r) {
			r = rename(tmp, state) ? -errno : rt_file_sync_dir(state);
			if (r)
				snprintf(err, errlen, "state file %s: %s", state, strerror(-r));
		}
		if (r)
			unlink(tmp);
	}
	gwd_secmem_free(pair, p->n * GWD_PAIR_LEN);
	return r;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: iomt-gwd provision --pool FILE --state STATEFILE [--force]\n"
		"Imports a MEC provisioning file from the TTP admin into a new state file.\n"
		"FILE has one line per slot, slots numbered 0..N-1:\n"
		"  slot=<n> did=<32 hex digits> dk=<32 hex digits>\n"
		"Blank lines and lines starting with '#' are ignored. An existing STATEFILE\n"
		"holds the slots' current (rotated) identities and is replaced only with --force.\n");
}

struct prov_args {
	const char *pool, *state;
	int force, help;
};

static int parse_args(int argc, char *const argv[], struct prov_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		const char **dst = !strcmp(s, "--pool") ? &a->pool
				 : !strcmp(s, "--state") ? &a->state : NULL;

		if (dst && i + 1 < argc)
			*dst = argv[++i];
		else if (!strncmp(s, "--pool=", 7))
			a->pool = s + 7;
		else if (!strncmp(s, "--state=", 8))
			a->state = s + 8;
		else if (!strcmp(s, "--force"))
			a->force = 1;
		else if (!strcmp(s, "--help") || !strcmp(s, "-h"))
			a->help = 1;
		else {
			fprintf(stderr, "iomt-gwd provision: %s '%s' (try --help)\n",
				dst ? "missing value for" : "unknown argument", s);
			return -EINVAL;
		}
	}
	if (!a->help && (!a->pool || !a->state || !*a->pool || !*a->state)) {
		fprintf(stderr, "iomt-gwd provision: --pool FILE and --state STATEFILE are both "
			"required (try --help)\n");
		return -EINVAL;
	}
	return 0;
}

static void warn_mode(const char *path)
{
	struct stat st;

	if (!stat(path, &st) && (st.st_mode & 077))
		fprintf(stderr, "iomt-gwd provision: warning: %s is open to group or others "
			"(mode %03o): it holds keys; delete it once imported\n", path,
			(unsigned)(st.st_mode & 0777));
}

int gwd_provision_main(int argc, char *const argv[])
{
	struct prov_args a = { 0 };
	struct prov p = { 0 };
	char err[512];
	int r;

	if (parse_args(argc, argv, &a))
		return 2;
	if (a.help) {
		usage(stdout);
		return 0;
	}
	p.path = a.pool;
	p.slot = gwd_secmem_alloc(GWD_POOL_MAX * sizeof(*p.slot));
	if (!p.slot) {
		fprintf(stderr, "iomt-gwd provision: out of memory\n");
		return 1;
	}
	r = parse_file(&p);
	if (!r)
		r = check_complete(&p);
	if (r)
		fprintf(stderr, "iomt-gwd provision: %s\n", p.err);
	else if ((r = write_state(&p, a.state, a.force, err, sizeof(err))))
		fprintf(stderr, "iomt-gwd provision: %s\n", err);
	else
		printf("iomt-gwd: provisioned %zu slots into %s\n", p.n, a.state);
	if (!r)
		warn_mode(a.pool);
	gwd_secmem_free(p.slot, GWD_POOL_MAX * sizeof(*p.slot));
	return r ? 1 : 0;
}
