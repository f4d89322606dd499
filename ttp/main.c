/* SPDX-License-Identifier: MIT */
/* iomt-ttp: 'iomt-ttp admin ...', else the daemon. */
#include <string.h>

#include "admin.h"
#include "config.h"
#include "daemon.h"
#include "lib/rt_cli.h"
#include "lib/rt_log.h"

static const char more_help[] =
	"\nSignals:\n"
	"  SIGTERM, SIGINT  stop: no new connections; the batch already received is\n"
	"                   processed and committed, M2s beyond it are answered BUSY,\n"
	"                   and replies are delivered for up to stop_timeout\n"
	"  SIGHUP           reopen log_file and audit_log (after rotation)\n"
	"\nAdministration (on the database; the daemon may be running):\n"
	"  iomt-ttp admin init --db DB --ca-key FILE --ca-pub FILE\n"
	"  iomt-ttp admin register-user --db DB --ca-key FILE --role ROLE --id NAME\n"
	"                               --request REQ --out ISSUED [--attr TEXT] [--days N]\n"
	"  iomt-ttp admin revoke-user --db DB --id NAME\n"
	"  iomt-ttp admin register-mec --db DB --name NAME --slots K --out FILE\n"
	"                              [--to-cert CERT --ca-pub FILE]\n"
	"  iomt-ttp admin list --db DB\n"
	"  iomt-ttp admin help          (every option explained)\n";

static int run_daemon(int argc, char **argv)
{
	static struct ttp_daemon d;
	int r = rt_cli_daemon_args(&ttp_daemon_info, &d.cfg, "iomt-ttp", more_help, argc, argv);
	int rc;

	if (r != RT_CLI_NONE)
		return r;
	if (rt_log_setup(d.cfg.log_level, d.cfg.log_json, d.cfg.log_file))
		return 1;
	r = ttp_daemon_init(&d);
	rc = r ? 1 : ttp_daemon_run(&d);
	if (r)
		rt_err("start-up failed: %s", strerror(-r));
	ttp_daemon_fini(&d);
	return rc;
}

static const struct rt_cli_cmd cmds[] = {
	{ "admin", ttp_admin_main, "admin COMMAND [OPTIONS]" },
	{ NULL },
};

int main(int argc, char **argv)
{
	return rt_cli_main(cmds, run_daemon, argc, argv);
}
