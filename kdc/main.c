/* SPDX-License-Identifier: MIT */
/* iomt-kdc: the daemon, or 'iomt-kdc admin ...'. */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "config.h"
#include "daemon.h"
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

static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	return 0;
}

static int run_daemon(int argc, char **argv)
{
	static struct kdc_cfg cfg;
	char err[512];
	int r;

	rt_log_init("iomt-kdc");
	r = rt_daemon_args(&kdc_daemon_info, &cfg, argc, argv, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "iomt-kdc: %s\n", err);
		return 2;
	}
	if (r == RT_DAEMON_EXIT) {
		if (wants_help(argc, argv))
			fputs(more_help, stdout);
		return 0;
	}
	if (rt_log_setup(cfg.log_level, cfg.log_json, cfg.log_file))
		return 1;
	return kdc_daemon_main(&cfg);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "admin"))
		return kdc_admin_main(argc - 1, argv + 1);
	return run_daemon(argc, argv);
}
