/* SPDX-License-Identifier: MIT */
/* Subcommand tables and a daemon's command line (see rt_cli.h). */
#include <stdio.h>
#include <string.h>

#include "rt_cli.h"
#include "rt_log.h"

int rt_cli_run(const struct rt_cli_cmd *cmds, int argc, char **argv)
{
	if (argc < 2)
		return RT_CLI_NONE;
	for (const struct rt_cli_cmd *c = cmds; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->fn(argc - 1, argv + 1);
	return RT_CLI_NONE;
}

int rt_cli_main(const struct rt_cli_cmd *cmds, int (*fallback)(int argc, char **argv), int argc,
		char **argv)
{
	int r = rt_cli_run(cmds, argc, argv);

	return r != RT_CLI_NONE ? r : fallback(argc, argv);
}

int rt_cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	return 0;
}

int rt_cli_daemon_args(const struct rt_daemon_info *info, void *cfg, const char *log_name,
		       const char *more_help, int argc, char **argv)
{
	char err[512];
	int r;

	rt_log_init(log_name);
	r = rt_daemon_args(info, cfg, argc, argv, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", info->prog, err);
		return 2;
	}
	if (r == RT_DAEMON_EXIT) {
		if (more_help && rt_cli_wants_help(argc, argv))
			fputs(more_help, info->out ? info->out : stdout);
		return 0;
	}
	return RT_CLI_NONE;
}
