/* SPDX-License-Identifier: MIT */
/* "--name VALUE" options for iomt-kclient's subcommands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kclient.h"

static const struct kc_opt *opt_find(const struct kc_opt *opts, const char *name, size_t len)
{
	for (; opts->name; opts++)
		if (strlen(opts->name) == len && !strncmp(opts->name, name, len))
			return opts;
	return NULL;
}

static int usage_error(const char *usage, const char *pre, const char *arg, const char *post)
{
	kc_fail(KC_EXIT_USAGE, "%s%s%s", pre, arg, post);
	fprintf(stderr, "%s", usage);
	return KC_EXIT_USAGE;
}

/* One argument at argv[*i]; consumes the value too. -1 or an exit status. */
static int opt_one(int argc, char **argv, int *i, const struct kc_opt *opts, const char *usage)
{
	const char *arg = argv[*i], *eq;
	const struct kc_opt *o;

	if (strncmp(arg, "--", 2) || !arg[2])
		return usage_error(usage, "unexpected argument '", arg, "'");
	arg += 2;
	eq = strchr(arg, '=');
	o = opt_find(opts, arg, eq ? (size_t)(eq - arg) : strlen(arg));
	if (!o)
		return usage_error(usage, "unknown option '", argv[*i], "'");
	if (*o->value)
		return usage_error(usage, "option '--", o->name, "' given twice");
	if (eq) {
		*o->value = eq + 1;
	} else {
		if (*i + 1 >= argc)
			return usage_error(usage, "option '--", o->name, "' needs a value");
		*o->value = argv[++*i];
	}
	return -1;
}

int kc_opts_parse(int argc, char **argv, const struct kc_opt *opts, const char *usage)
{
	for (int i = 1; i < argc; i++) {
		int rc;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("%s", usage);
			return KC_EXIT_OK;
		}
		rc = opt_one(argc, argv, &i, opts, usage);
		if (rc >= 0)
			return rc;
	}
	for (; opts->name; opts++)
		if (opts->required && !*opts->value)
			return usage_error(usage, "option '--", opts->name, "' is required");
	return -1;
}

int kc_opt_uint(const char *name, const char *text, unsigned long def, unsigned long max,
		unsigned long *out)
{
	char *end;

	if (!text) {
		*out = def;
		return 0;
	}
	errno = 0;
	*out = strtoul(text, &end, 10);
	if (!*text || *end || errno || *out > max || text[0] == '-') {
		kc_fail(KC_EXIT_USAGE, "--%s: '%s' is not a number in 0..%lu", name, text, max);
		return -1;
	}
	return 0;
}
