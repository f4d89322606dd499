// SPDX-License-Identifier: MIT
/*
 * iomt-user: registration (seed 002 phase 1) and analysis set-up (phase 2)
 * for patients, doctors and MEC operators. A table of subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "user.h"

static const struct user_cmd cmds[] = {
	{ "keygen", cmd_keygen, "phase 1: make a registration request (REQ, REQ.secret)" },
	{ "finish", cmd_finish, "phase 1: turn the TTP's answer into a key file" },
	{ "show", cmd_show, "print a key file's certificate and public key" },
	{ "create-analysis", cmd_create_analysis,
	  "phase 2: ask the TTP for an analysis and its device keys" },
	{ "unseal", cmd_unseal, "open a file sealed to this key (MEC provisioning)" },
	{ "request", cmd_request, "phase 5: an analysis's results from the MEC" },
	{ "alerts", cmd_alerts, "phase 6: receive and acknowledge pending emergency alerts" },
};

static void usage(FILE *f, const char *prog)
{
	fprintf(f, "Usage: %s <command> [options]\n\n", prog);
	fprintf(f, "Commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-16s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n'%s <command> --help' describes a command's options.\n", prog);
}

int main(int argc, char **argv)
{
	const char *prog = "iomt-user";

	if (argc < 2) {
		usage(stderr, prog);
		return USER_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout, prog);
		return USER_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[1], cmds[i].name)) {
			user_set_cmd(cmds[i].name);
			return cmds[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "%s: unknown command '%s'\n\n", prog, argv[1]);
	usage(stderr, prog);
	return USER_EXIT_USAGE;
}
