/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "opts.h"

static const char **slot(struct ppd_opts *o, const char *name, size_t len)
{
	static const struct { const char *name; size_t off; } names[] = {
#define O(n, m) { n, offsetof(struct ppd_opts, m) }
		O("dir", dir), O("passphrase-file", passphrase_file), O("out-dir", out_dir),
		O("log", log), O("pub", pub), O("out", out), O("threshold", threshold),
		O("shares", shares),
#undef O
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == len && !memcmp(names[i].name, name, len))
			return (const char **)((char *)o + names[i].off);
	return NULL;
}

int ppd_fail(const struct ppd_opts *o, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", o->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int ppd_opts_parse(struct ppd_opts *o, const char *prog, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	o->prog = prog;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq, *val;
		const char **s;
		size_t len;

		if (!strcmp(a, "--json")) {
			o->json = 1;
			continue;
		}
		if (strncmp(a, "--", 2)) {
			ppd_fail(o, "unexpected argument '%s'", a);
			return -1;
		}
		a += 2;
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			ppd_fail(o, "--%s: missing value", a);
			return -1;
		}
		if (len == 5 && !memcmp(a, "share", 5)) {
			if (o->nshare == PPD_SHARES_MAX) {
				ppd_fail(o, "more than %d --share", PPD_SHARES_MAX);
				return -1;
			}
			o->share[o->nshare++] = val;
			continue;
		}
		s = slot(o, a, len);
		if (!s) {
			ppd_fail(o, "unknown option '--%.*s'", (int)len, a);
			return -1;
		}
		if (*s) {
			ppd_fail(o, "--%.*s given twice", (int)len, a);
			return -1;
		}
		*s = val;
	}
	return 0;
}

int ppd_opts_require(struct ppd_opts *o, const char *names)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", names);
	for (char *n = strtok_r(buf, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
		const char **s = slot(o, n, strlen(n));

		if (!strcmp(n, "share") ? !o->nshare : (!s || !*s)) {
			ppd_fail(o, "--%s is required", n);
			return -1;
		}
	}
	return 0;
}
