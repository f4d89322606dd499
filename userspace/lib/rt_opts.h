/* SPDX-License-Identifier: MIT */
/*
 * "--name VALUE" and "--name=VALUE" options of a tool's subcommand, each
 * given at most once:
 *
 *   const char *key = NULL, *out = NULL;
 *   const struct rt_opt opts[] = { { "key", &key, 1 }, { "out", &out, 0 }, { NULL } };
 *   r = rt_opts_parse(argc, argv, opts, err, sizeof(err));
 *   RT_OPTS_HELP: print the usage; RT_OPTS_BAD: err says why;
 *   else rt_opts_missing(opts) is the first required option not given.
 */
#ifndef IOMT_RT_OPTS_H
#define IOMT_RT_OPTS_H

#include <stddef.h>

struct rt_opt {
	const char *name;       /* without the leading "--"; NULL ends a table */
	const char **value;     /* stays NULL when absent */
	int required;
};

enum {
	RT_OPTS_GO = -1,        /* every argument taken */
	RT_OPTS_HELP = 0,       /* -h or --help (before any error) */
	RT_OPTS_BAD = 1,        /* err: "unknown option '--x'", ... */
};

int rt_opts_parse(int argc, char **argv, const struct rt_opt *opts, char *err, size_t errlen);
/* The first required option whose value is NULL, or NULL. */
const struct rt_opt *rt_opts_missing(const struct rt_opt *opts);

#endif
