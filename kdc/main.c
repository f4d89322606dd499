/* SPDX-License-Identifier: MIT */
/* iomt-kdc: 'iomt-kdc admin ...', else the daemon. */
#include "admin.h"
#include "config.h"
#include "daemon.h"
#include "lib/rt_cli.h"
#include "lib/rt_log.h"

static const char more_help[] =
	"\nProcesses (kdc/README.md): a keeper holding K_KDC, the registrations, the\n"
	"database and the audit log, and a network process holding only the sockets;\n"
	"if either ends, the other does.\n"
	"\nSignals (to the keeper, whose pid the pidfile holds):\n"
	"  SIGTERM, SIGINT  stop: nothing new is read; the batch in hand is decided,\n"
	"                   audited and answered, requests left on TCP streams get\n"
	"                   BUSY, replies are delivered for up to stop_timeout; exit 0\n"
	"  SIGHUP           reopen log_file and audit_log, reload the registrations\n"
	"\nAdministration (on the database; the daemon may be running):\n"
	"  iomt-kdc admin init --db DB --master FILE\n"
	"  iomt-kdc admin register NAME --kind sensor|gateway|ppd|cloud [--patient P] --db DB\n"
	"  iomt-kdc admin rotate NAME --db DB  |  rotate --tgs --db DB\n"
	"  iomt-kdc admin revoke NAME --db DB\n"
	"  iomt-kdc admin list --db DB [--json]\n"
	"  iomt-kdc admin export-key NAME --db DB --master FILE --out FILE [--passcode-file F]\n"
	"  iomt-kdc admin help          (every option explained)\n";

static int run_daemon(int argc, char **argv)
{
	static struct kdc_cfg cfg;
	int r = rt_cli_daemon_args(&kdc_daemon_info, &cfg, "iomt-kdc", more_help, argc, argv);

	if (r != RT_CLI_NONE)
		return r;
	if (rt_log_setup(cfg.log_level, cfg.log_json, cfg.log_file))
		return 1;
	return kdc_daemon_main(&cfg);
}

static const struct rt_cli_cmd cmds[] = {
	{ "admin", kdc_admin_main, "admin COMMAND [OPTIONS]" },
	{ NULL },
};

int main(int argc, char **argv)
{
	return rt_cli_main(cmds, run_daemon, argc, argv);
}
