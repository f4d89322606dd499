/* SPDX-License-Identifier: MIT */
/*
 * 'iomt-ppd serve': the command line, the sockets, and the split into two
 * processes in the OpenSSH manner (ppd/README.md):
 *
 *   clients <--TCP/UDP--> network process <--SEQPACKET--> keeper <--> DIR
 *                         (sockets only,     one message     (K_master, KDC key,
 *                          unprivileged)     each way)        evidence log, caches)
 *
 * The sockets are bound and the process forks before anything secret is
 * read, so the network process never had a key in its memory. If either
 * process ends, the other does.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc.h"
#include "keeper.h"
#include "lib/rt_cli.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "lib/rt_privsep.h"
#include "net.h"
#include "opts.h"
#include "ppd.h"
#include "sockets.h"

enum { STOP_WAIT_MS = 2000 };

struct net_arg {
	const struct ppd_cfg *cfg;
	struct ppd_sockets *s;
	int keep, ipc, sfd;     /* keep and sfd are the keeper's: closed at once */
};

static int net_main(void *arg)
{
	struct net_arg *a = arg;

	close(a->keep);
	close(a->sfd);
	return ppd_net_run(a->cfg, a->s, a->ipc);
}

int ppd_serve_main(const struct ppd_cfg *cfg)
{
	struct ppd_sockets s = { .tcp = -1, .udp = -1, .metrics = -1 };
	struct net_arg arg;
	int sv[2], sfd, r, st;
	pid_t pid;

	if (cfg->user[0] && !getpwnam(cfg->user)) {
		rt_err("user '%s': no such user", cfg->user);
		return 1;
	}
	sfd = rt_daemon_signals();
	if (sfd < 0 || ppd_sockets_open(cfg, &s) || rt_privsep_channel(sv, PPD_IPC_SOCKBUF)) {
		ppd_sockets_close(&s);
		return 1;
	}
	/* The network process never stays root: the configured user, else
	 * iomt, else nobody. */
	arg = (struct net_arg){ .cfg = cfg, .s = &s, .keep = sv[0], .ipc = sv[1], .sfd = sfd };
	pid = rt_privsep_fork("iomt-ppd-net", rt_privsep_user(cfg->user, PPD_DEFAULT_USER),
			      net_main, &arg);
	if (pid < 0)
		return 1;
	close(sv[1]);
	/* The keeper never touches the network (the port file needs the names). */
	{
		struct ppd_sockets names = s;

		ppd_sockets_close(&s);
		r = ppd_keeper_run(cfg, &names, sv[0], sfd);
	}
	/* The network process ends when its channel closes, once the reply in
	 * hand is delivered; it gets a little time for that. */
	close(sv[0]);
	close(sfd);
	for (int i = 0; i < STOP_WAIT_MS / 10 && waitpid(pid, &st, WNOHANG) == 0; i++)
		usleep(10000);
	if (waitpid(pid, &st, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	return r;
}

static const char more_help[] =
	"\nProcesses (ppd/README.md): a keeper holding K_master, the KDC key, the evidence\n"
	"log and the caches, and a network process holding only the sockets; if either\n"
	"ends, the other does.\n"
	"\nSignals (to the keeper, whose pid the pidfile holds):\n"
	"  SIGTERM, SIGINT  stop after the request in hand (an open question is refused)\n"
	"  SIGHUP           reload requesters and policy, reopen log_file\n"
	"\nFiles: requesters: 'NAME /path/app.pub.pem' per line; policy: lines\n"
	"  allow|deny|ask requester=NAME|* purpose=treatment|emergency|research|quality|*\n"
	"        [max_range=DURATION]\n"
	"  first match wins; no match: ask (a refusal when there is no prompt).\n";

int ppd_cmd_serve(int argc, char **argv)
{
	static struct ppd_cfg cfg;
	char err[512];
	int r = rt_cli_daemon_args(&ppd_daemon_info, &cfg, "iomt-ppd", more_help, argc, argv);

	if (r != RT_CLI_NONE)
		return r;
	if (ppd_cfg_finish(&cfg, err, sizeof(err))) {
		fprintf(stderr, "iomt-ppd serve: %s\n", err);
		return 2;
	}
	if (rt_log_setup(cfg.log_level, cfg.log_json, cfg.log_file))
		return 1;
	return ppd_serve_main(&cfg);
}
