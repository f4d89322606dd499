// SPDX-License-Identifier: MIT
/* "--name VALUE" options for iomt-user's subcommands. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "lib/rt_opts.h"
#include "user.h"

/* struct user_opt is struct rt_opt under its own name. */
_Static_assert(sizeof(struct user_opt) == sizeof(struct rt_opt) &&
		       offsetof(struct user_opt, value) == offsetof(struct rt_opt, value) &&
		       offsetof(struct user_opt, required) == offsetof(struct rt_opt, required),
	       "struct user_opt must match struct rt_opt");

/* "<pre><arg><post>", then the usage. */
static int usage_error(const char *usage, const char *pre, const char *arg, const char *post)
{
	user_fail("%s%s%s", pre, arg, post);
	fprintf(stderr, "%s", usage);
	return USER_EXIT_USAGE;
}

int user_opts_parse(int argc, char **argv, const struct user_opt *opts, const char *usage)
{
	const struct rt_opt *o = (const struct rt_opt *)opts;
	char err[512];
	int r = rt_opts_parse(argc, argv, o, err, sizeof(err));

	if (r == RT_OPTS_HELP) {
		printf("%s", usage);
		return USER_EXIT_OK;
	}
	if (r == RT_OPTS_BAD)
		return usage_error(usage, err, "", "");
	o = rt_opts_missing(o);
	return o ? usage_error(usage, "missing option '--", o->name, "'") : -1;
}
