/* SPDX-License-Identifier: MIT */
/* iomt-store: a table of subcommands. */
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "decrypt.h"
#include "keygen.h"
#include "lib/rt_cli.h"
#include "lib/rt_log.h"
#include "query.h"

static int cmd_serve(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct rt_cli_cmd cmds[] = {
	{ "serve", cmd_serve, "serve [-c FILE] [--KEY VALUE ...]   the daemon (serve --help)" },
	{ "query", store_query_main,
	  "query --db F [--sensor HEX|--key-id HEX] [--from T --to T]" },
	{ "decrypt", store_decrypt_main,
	  "decrypt --db F --kdc HOST:PORT --key CLOUD_KEYFILE --app-key APP.pem\n"
	  "          --ppd NAME=HOST:PORT [--sensor HEX|--key-id HEX] --from T --to T\n"
	  "          --purpose treatment|emergency|research|quality --decrypt-for 1h\n"
	  "          [--note TEXT] [--cover exact|single] [--out FILE]" },
	{ "keygen", store_keygen_main, "keygen --out APP.pem --pub APP.pub.pem" },
	{ "help", cmd_help, "help" },
	{ NULL },
};

static const char more_help[] =
	"\nSignals:\n"
	"  SIGTERM, SIGINT  stop: no new connections, nothing more is read; every\n"
	"                   whole batch already received is committed and its ACK\n"
	"                   delivered for up to stop_timeout\n"
	"  SIGHUP           reopen log_file (after rotation)\n"
	"\nOther commands: iomt-store help\n";

static int cmd_serve(int argc, char **argv)
{
	static struct store_daemon d;
	int r = rt_cli_daemon_args(&store_daemon_info, &d.cfg, "iomt-store", more_help, argc, argv);
	int rc;

	if (r != RT_CLI_NONE)
		return r;
	if (rt_log_setup(d.cfg.log_level, d.cfg.log_json, d.cfg.log_file))
		return 1;
	r = store_daemon_init(&d);
	rc = r ? 1 : store_daemon_run(&d);
	if (r)
		rt_err("start-up failed: %s", strerror(-r));
	store_daemon_fini(&d);
	return rc;
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("usage: iomt-store COMMAND [OPTIONS]\n\n");
	for (const struct rt_cli_cmd *c = cmds; c->name; c++)
		printf("  iomt-store %s\n", c->usage);
	printf("\nTimes T: Unix seconds, or UTC as 2026-12-07T16:00:00Z.\n"
	       "decrypt exit status: 0 all decrypted, 1 error, 2 usage, 3 denied or refused,\n"
	       "4 some records did not open.\n");
	return 0;
}

int main(int argc, char **argv)
{
	int r;

	if (argc < 2) {
		cmd_help(argc, argv);
		return 2;
	}
	r = rt_cli_run(cmds, argc, argv);
	if (r != RT_CLI_NONE)
		return r;
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return cmd_help(argc, argv);
	fprintf(stderr, "iomt-store: unknown command '%s' (try 'iomt-store help')\n", argv[1]);
	return 2;
}
