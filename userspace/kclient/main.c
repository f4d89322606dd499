/* SPDX-License-Identifier: MIT */
/*
 * iomt-kclient: get tickets from the KDC, authenticate to services (the AP
 * exchange), and run a minimal AP service. A table of subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "kclient.h"
#include "lib/rt_log.h"

static const struct kc_cmd cmds[] = {
	{ "ticket", cmd_ticket, "AS + TGS: get a ticket for a target, print its facts" },
	{ "ap", cmd_ap, "AS + TGS + AP: authenticate to a service, print the session fingerprint" },
	{ "serve", cmd_serve, "a UDP AP service with a durable replay cache" },
};

static void usage(FILE *f, const char *prog)
{
	fprintf(f, "Usage: %s <command> [options]\n\n", prog);
	fprintf(f, "Commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n'%s <command> --help' describes a command's options.\n"
		   "No command ever prints a key: sessions are shown by fingerprint, the first\n"
		   "8 bytes of KMAC128(session key, \"\", 64, \"iomt/kdc/session-fp\").\n\n"
		   "Exit status: 0 done, 1 refused by the KDC or service (its code is printed),\n"
		   "2 usage, 3 key file (missing, corrupted, passcode needed or wrong),\n"
		   "4 no answer in time, 5 other failure (answers that do not verify, ...).\n",
		prog);
}

int main(int argc, char **argv)
{
	const char *prog = "iomt-kclient";

	rt_log_init(prog);
	if (argc < 2) {
		usage(stderr, prog);
		return KC_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout, prog);
		return KC_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[1], cmds[i].name)) {
			kc_set_cmd(cmds[i].name);
			return cmds[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "%s: unknown command '%s'\n\n", prog, argv[1]);
	usage(stderr, prog);
	return KC_EXIT_USAGE;
}
