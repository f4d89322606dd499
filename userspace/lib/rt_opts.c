/* SPDX-License-Identifier: MIT */
/* A tool's "--name VALUE" options (see rt_opts.h). */
#include <stdio.h>
#include <string.h>

#include "rt_opts.h"

static const struct rt_opt *opt_find(const struct rt_opt *opts, const char *name, size_t len)
{
	for (; opts->name; opts++)
		if (strlen(opts->name) == len && !strncmp(opts->name, name, len))
			return opts;
	return NULL;
}

/* One argument at argv[*i]; consumes the value too. */
static int opt_one(int argc, char **argv, int *i, const struct rt_opt *opts, char *err,
		   size_t errlen)
{
	const char *arg = argv[*i], *eq;
	const struct rt_opt *o;

	if (strncmp(arg, "--", 2) || !arg[2]) {
		snprintf(err, errlen, "unexpected argument '%s'", arg);
		return RT_OPTS_BAD;
	}
	arg += 2;
	eq = strchr(arg, '=');
	o = opt_find(opts, arg, eq ? (size_t)(eq - arg) : strlen(arg));
	if (!o) {
		snprintf(err, errlen, "unknown option '%s'", argv[*i]);
		return RT_OPTS_BAD;
	}
	if (*o->value) {
		snprintf(err, errlen, "option '--%s' given twice", o->name);
		return RT_OPTS_BAD;
	}
	if (eq) {
		*o->value = eq + 1;
	} else {
		if (*i + 1 >= argc) {
			snprintf(err, errlen, "option '--%s' needs a value", o->name);
			return RT_OPTS_BAD;
		}
		*o->value = argv[++*i];
	}
	return RT_OPTS_GO;
}

int rt_opts_parse(int argc, char **argv, const struct rt_opt *opts, char *err, size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		int r;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return RT_OPTS_HELP;
		r = opt_one(argc, argv, &i, opts, err, errlen);
		if (r != RT_OPTS_GO)
			return r;
	}
	return RT_OPTS_GO;
}

const struct rt_opt *rt_opts_missing(const struct rt_opt *opts)
{
	for (; opts->name; opts++)
		if (opts->required && !*opts->value)
			return opts;
	return NULL;
}
