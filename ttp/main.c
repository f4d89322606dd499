/* SPDX-License-Identifier: MIT */
/* iomt-ttp: the daemon, or 'iomt-ttp admin ...'. */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "config.h"
#include "daemon.h"
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

static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	return 0;
}

static int run_daemon(int argc, char **argv)
{
	static struct ttp_daemon d;
	char err[512];
	int r, rc;

	rt_log_init("iomt-ttp");
	r = rt_daemon_args(&ttp_daemon_info, &d.cfg, argc, argv, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "iomt-ttp: %s\n", err);
		return 2;
	}
	if (r == RT_DAEMON_EXIT) {
		if (wants_help(argc, argv))
			fputs(more_help, stdout);
		return 0;
	}
	if (rt_log_setup(d.cfg.log_level, d.cfg.log_json, d.cfg.log_file))
		return 1;
	r = ttp_daemon_init(&d);
	rc = r ? 1 : ttp_daemon_run(&d);
	if (r)
		rt_err("start-up failed: %s", strerror(-r));
	ttp_daemon_fini(&d);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "admin"))
		return ttp_admin_main(argc - 1, argv + 1);
	return run_daemon(argc, argv);
}
