/* SPDX-License-Identifier: MIT */
/* iomt-ppd: the patient personal device, a table of subcommands. */
#include <stdio.h>
#include <string.h>

#include "lib/rt_cli.h"
#include "opts.h"

/* init, backup and restore take their options without the command's name. */
static int cmd_init(int argc, char **argv)
{
	return ppd_cmd_init(argc - 1, argv + 1);
}

static int cmd_backup(int argc, char **argv)
{
	return ppd_cmd_backup(argc - 1, argv + 1);
}

static int cmd_restore(int argc, char **argv)
{
	return ppd_cmd_restore(argc - 1, argv + 1);
}

static const struct rt_cli_cmd cmds[] = {
	{ "init", cmd_init,
	  "init --dir D [--passphrase-file F]\n"
	  "      Creates D/master.key (K_master, 32 random bytes, wrapped under the\n"
	  "      passphrase with Argon2id + AES-128-CCM) and the evidence log's P-256\n"
	  "      signing key D/evlog.key (0600) and D/evlog.pub. Never overwrites." },
	{ "serve", ppd_cmd_serve,
	  "serve [-c FILE] [--KEY VALUE ...]   (iomt-ppd serve --help: every key)\n"
	  "      The daemon: PROVISION for the patient's sensors, RELEASE on signed,\n"
	  "      approved consent requests, everything in the evidence log." },
	{ "log", ppd_cmd_log,
	  "log verify|show|export --log FILE --pub D/evlog.pub [--out FILE] [--json]\n"
	  "      Offline: verify the evidence log (exit 0 sound, 1 tampered), print its\n"
	  "      entries, or export a verified copy (or JSON lines)." },
	{ "backup", cmd_backup,
	  "backup --dir D --threshold t --shares n --out-dir O [--passphrase-file F]\n"
	  "      Writes n Shamir shares of K_master (O/share-i-of-n, 0600); any t rebuild it." },
	{ "restore", cmd_restore,
	  "restore --dir D --share F [--share F ...] [--passphrase-file F]\n"
	  "      Rebuilds D/master.key from t shares, wrapped under the passphrase;\n"
	  "      refuses a wrong, corrupted or insufficient set." },
	{ NULL },
};

static int usage(FILE *f, int status)
{
	fprintf(f, "Usage: iomt-ppd COMMAND [options]\n\n");
	for (const struct rt_cli_cmd *c = cmds; c->name; c++)
		fprintf(f, "  %s\n\n", c->usage);
	return status;
}

int main(int argc, char **argv)
{
	int r;

	if (argc < 2)
		return usage(stderr, 2);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return usage(stdout, 0);
	r = rt_cli_run(cmds, argc, argv);
	if (r != RT_CLI_NONE)
		return r;
	fprintf(stderr, "iomt-ppd: unknown command '%s'\n", argv[1]);
	return usage(stderr, 2);
}
