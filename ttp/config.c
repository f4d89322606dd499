/* SPDX-License-Identifier: MIT */
#include <stddef.h>

#include "config.h"

#define K(name, type, member) name, type, RT_CONF_AT(struct ttp_cfg, member)

const struct rt_conf_key ttp_conf_keys[] = {
	{ K("db", RT_CONF_PATH, db), .def = "/var/lib/iomt/ttp.db",
	  .help = "SQLite database (create it with 'iomt-ttp admin init')" },
	{ K("listen", RT_CONF_ENDPOINT, listen), .def = "127.0.0.1:7402",
	  .help = "address for MEC links (S2_M2 in, S2_M3 out); port 0 = any" },
	{ K("user_listen", RT_CONF_ENDPOINT, user_listen), .def = "127.0.0.1:7403",
	  .help = "address for phase-2 user requests (S2_ANALYSIS_REQ)" },
	RT_DAEMON_KEY_METRICS(struct ttp_cfg),
	{ K("metrics_listen", RT_CONF_ENDPOINT, metrics_listen), .def = "127.0.0.1:9402",
	  .help = "address for GET /metrics (no authentication: keep it on loopback)" },
	{ K("ca_key", RT_CONF_PATH, ca_key), .def = "/etc/iomt/ttp-ca.key",
	  .help = "CA private key (PEM, mode 0600); the daemon uses only its public half" },
	{ K("ca_pub", RT_CONF_PATH, ca_pub),
	  .help = "CA public key (PEM); when set, the daemon never reads ca_key" },
	{ K("grant_key", RT_CONF_PATH, grant_key),
	  .help = "phases 5 and 6: P-256 key (PEM) signing grants and alert parties; "
		  "unset: ca_key, unless ca_pub is set" },
	{ K("log_level", RT_CONF_LOGLEVEL, log_level), .def = "info",
	  .help = "error, warn, info or debug (debug logs every agreement, never keys)" },
	RT_DAEMON_KEY_LOG_FILE(struct ttp_cfg),
	RT_DAEMON_KEY_LOG_JSON(struct ttp_cfg),
	{ K("audit_log", RT_CONF_PATH, audit_log), .def = "/var/lib/iomt/ttp-audit.log",
	  .help = "audit log (JSON lines, fsync'ed): admin actions, phase-2 decisions" },
	{ K("batch_max", RT_CONF_INT, batch_max), .min = 1, .max = TTP_BATCH_MAX, .def = "256",
	  .help = "most M2s processed and committed together" },
	{ K("max_links", RT_CONF_INT, max_links), .min = 1, .max = 65536, .def = "1024",
	  .help = "most MEC connections at once" },
	{ K("max_users", RT_CONF_INT, max_users), .min = 1, .max = 65536, .def = "256",
	  .help = "most phase-2 user connections at once" },
	{ K("user_timeout", RT_CONF_DURATION, user_timeout), .min = 100, .max = 3600000,
	  .def = "10s", .help = "time a user has to send its request" },
	{ K("stop_timeout", RT_CONF_DURATION, stop_timeout), .min = 0, .max = 600000,
	  .def = "2s", .help = "on SIGTERM, time left to deliver replies already computed" },
	{ K("user", RT_CONF_STRING, user),
	  .help = "drop privileges to this user after set-up (when started as root)" },
	RT_DAEMON_KEY_PIDFILE(struct ttp_cfg),
	{ K("port_file", RT_CONF_PATH, port_file),
	  .help = "write the bound ports here once listening (link=, user=, metrics=)" },
	{ .name = NULL },
};

const struct rt_daemon_info ttp_daemon_info = {
	.prog = "iomt-ttp",
	.version = TTP_VERSION,
	.summary = "Trusted third party of the 5G MEC scheme (seed 002): phase-1 registration\n"
		   "(admin commands), phase-2 analysis profiles, phase-3 key agreement.",
	.default_config = TTP_DEFAULT_CONFIG,
	.keys = ttp_conf_keys,
};
