/* SPDX-License-Identifier: MIT */
/*
 * The front of every program's main: a table of subcommands, and the
 * command line of a daemon with its extra --help text.
 *
 *   static const struct rt_cli_cmd cmds[] = {
 *           { "admin", kdc_admin_main, "admin COMMAND ..." },
 *           { NULL },
 *   };
 *   return rt_cli_main(cmds, run_daemon, argc, argv);
 *   (no command named: run_daemon(argc, argv), the daemon itself; a
 *   program without one calls rt_cli_run and handles RT_CLI_NONE)
 *   r = rt_cli_daemon_args(&kdc_daemon_info, &cfg, "iomt-kdc", more_help, argc, argv);
 *   if (r != RT_CLI_NONE) return r;                 (2 usage, 0 --help ...)
 */
#ifndef IOMT_RT_CLI_H
#define IOMT_RT_CLI_H

#include <stddef.h>

#include "rt_daemon.h"

enum { RT_CLI_NONE = -1 };      /* no command ran / go on */

struct rt_cli_cmd {
	const char *name;                       /* NULL ends a table */
	int (*fn)(int argc, char **argv);       /* argv[0] is the command's name */
	const char *usage;                      /* for the program's help */
};

/* The command argv[1] names, run with (argc - 1, argv + 1): its exit status.
 * RT_CLI_NONE when argc < 2 or no command has that name. */
int rt_cli_run(const struct rt_cli_cmd *cmds, int argc, char **argv);

/* rt_cli_run, else fallback(argc, argv) (a daemon given no command). */
int rt_cli_main(const struct rt_cli_cmd *cmds, int (*fallback)(int argc, char **argv), int argc,
		char **argv);

/* 1 when -h or --help is among argv[1..argc). */
int rt_cli_wants_help(int argc, char **argv);

/* A daemon's command line (rt_daemon_args) after rt_log_init(log_name):
 * RT_CLI_NONE when cfg is ready; else the exit status: 2 after an error
 * ("PROG: ..." on stderr, PROG = info->prog), 0 after --help (more_help
 * printed after the keys), --version or --check. */
int rt_cli_daemon_args(const struct rt_daemon_info *info, void *cfg, const char *log_name,
		       const char *more_help, int argc, char **argv);

#endif
