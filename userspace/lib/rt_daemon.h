/* SPDX-License-Identifier: MIT */
/*
 * What every iomt daemon shares: the same command line, signals delivered
 * to the event loop as a file descriptor, and a pidfile.
 *
 *   struct kdc_cfg cfg;
 *   char err[512];
 *   int r = rt_daemon_args(&kdc_info, &cfg, argc, argv, err, sizeof(err));
 *   if (r < 0) { fprintf(stderr, "iomt-kdc: %s\n", err); return 2; }
 *   if (r == RT_DAEMON_EXIT) return 0;             (--help, --version, --check)
 *   sfd = rt_daemon_signals();                     (before any thread starts)
 *   ... watch sfd in the loop; on readable: ev = rt_daemon_signal_read(sfd);
 *   if (ev & RT_SIG_STOP) stop; if (ev & RT_SIG_RELOAD) re-run rt_daemon_args
 *   into a fresh struct with the same argv, and apply what may change.
 *
 * Command line, the same for every daemon:
 *   -c FILE, --config FILE   config file (else info->default_config, if it exists)
 *   --set KEY=VALUE          any key of the table; overrides the file
 *   --KEY VALUE, --KEY=VALUE the same per key ('-' and '_' alike; a bare
 *                            --KEY sets a bool key to yes)
 *   -t, --check              load everything, print the effective config, exit
 *   -h, --help / -V, --version
 * Defaults, then the file, then the flags in order: the command line wins
 * wherever it appears. Errors say where: "iomt.conf:3: port: ..." for the
 * file, "command line: port: ..." for flags.
 */
#ifndef IOMT_RT_DAEMON_H
#define IOMT_RT_DAEMON_H

#include <stddef.h>
#include <stdio.h>

#include "rt_conf.h"

struct rt_daemon_info {
	const char *prog;		/* "iomt-kdc" */
	const char *version;		/* "0.1.0" */
	const char *summary;		/* one line for --help */
	const char *default_config;	/* "/etc/iomt/kdc.conf", or NULL */
	const struct rt_conf_key *keys;
	FILE *out;			/* for --help/--version/--check; NULL = stdout */
};

enum {
	RT_DAEMON_RUN = 0,	/* cfg is ready: start */
	RT_DAEMON_EXIT = 1,	/* a query was answered: exit 0 */
};

/* Rows every daemon's key table shares, for a cfg struct T with members of
 * these names (struct rt_conf_key initialisers). */
#define RT_DAEMON_KEY_METRICS(T)                                         \
	{ "metrics", RT_CONF_BOOL, RT_CONF_AT(T, metrics), .def = "yes", \
	  .help = "serve Prometheus metrics on metrics_listen" }
#define RT_DAEMON_KEY_LOG_FILE(T) \
	{ "log_file", RT_CONF_PATH, RT_CONF_AT(T, log_file), .help = "log file (default: stderr)" }
#define RT_DAEMON_KEY_LOG_JSON(T) \
	{ "log_json", RT_CONF_BOOL, RT_CONF_AT(T, log_json), .def = "no", .help = "log as JSON lines" }
#define RT_DAEMON_KEY_PIDFILE(T)                            \
	{ "pidfile", RT_CONF_PATH, RT_CONF_AT(T, pidfile), \
	  .help = "pidfile, kept locked while running" }

/* RT_DAEMON_RUN, RT_DAEMON_EXIT, or a negative errno with a message in err. */
int rt_daemon_args(const struct rt_daemon_info *info, void *cfg, int argc, char *const argv[],
		   char *err, size_t errlen);

/* The same for a tool that takes a daemon's command line: an error is
 * logged (rt_err) and gives -1; else RT_DAEMON_RUN or RT_DAEMON_EXIT. */
int rt_daemon_args_log(const struct rt_daemon_info *info, void *cfg, int argc,
		       char *const argv[]);

/* Signal events. */
enum {
	RT_SIG_STOP = 1 << 0,	/* SIGTERM, SIGINT: shut down gracefully */
	RT_SIG_RELOAD = 1 << 1,	/* SIGHUP: reload configuration, reopen logs */
};

/*
 * Blocks SIGTERM, SIGINT and SIGHUP and returns a non-blocking signalfd for
 * them (or -errno); ignores SIGPIPE so a vanished peer is an EPIPE, not death.
 * Call before creating threads: they inherit the mask.
 */
int rt_daemon_signals(void);
/* Drains the signalfd: the RT_SIG_* events that arrived, or 0. */
unsigned rt_daemon_signal_read(int sfd);
/* The RT_SIG_* event a signal number stands for (0 for others). */
unsigned rt_daemon_signal_event(int signo);
/* For a forked child about to exec: the default mask and SIGPIPE again. */
void rt_daemon_signals_restore(void);

/*
 * Writes our pid to path and keeps it locked while we live: a second
 * instance gets -EBUSY (logged with the running pid); a stale file left by a
 * crash is simply taken over. Put it in a directory the daemon's user owns
 * (/run/iomt) so that rt_pidfile_remove() still works after rt_priv_drop().
 */
int rt_pidfile_write(const char *path);
void rt_pidfile_remove(void);

#endif
