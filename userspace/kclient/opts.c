/* SPDX-License-Identifier: MIT */
/* "--name VALUE" options for iomt-kclient's subcommands. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kclient.h"
#include "lib/rt_opts.h"

/* struct kc_opt is struct rt_opt under its own name. */
_Static_assert(sizeof(struct kc_opt) == sizeof(struct rt_opt) &&
		       offsetof(struct kc_opt, value) == offsetof(struct rt_opt, value) &&
		       offsetof(struct kc_opt, required) == offsetof(struct rt_opt, required),
	       "struct kc_opt must match struct rt_opt");

static int usage_error(const char *usage, const char *pre, const char *arg, const char *post)
{
	kc_fail(KC_EXIT_USAGE, "%s%s%s", pre, arg, post);
	fprintf(stderr, "%s", usage);
	return KC_EXIT_USAGE;
}

int kc_opts_parse(int argc, char **argv, const struct kc_opt *opts, const char *usage)
{
	const struct rt_opt *o = (const struct rt_opt *)opts;
	char err[512];
	int r = rt_opts_parse(argc, argv, o, err, sizeof(err));

	if (r == RT_OPTS_HELP) {
		printf("%s", usage);
		return KC_EXIT_OK;
	}
	if (r == RT_OPTS_BAD)
		return usage_error(usage, err, "", "");
	o = rt_opts_missing(o);
	return o ? usage_error(usage, "option '--", o->name, "' is required") : -1;
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
