/* SPDX-License-Identifier: MIT */
#include <stddef.h>

#include "config.h"

#define K(name, type, member) name, type, RT_CONF_AT(struct kdc_cfg, member)

const struct rt_conf_key kdc_conf_keys[] = {
	{ K("db", RT_CONF_PATH, db), .def = "/var/lib/iomt/kdc.db",
	  .help = "SQLite registration database (create it with 'iomt-kdc admin init')" },
	{ K("master", RT_CONF_PATH, master), .def = "/etc/iomt/kdc-master.key",
	  .help = "K_KDC master key file (mode 0600; read by the keeper process only)" },
	{ K("listen", RT_CONF_ENDPOINT, listen), .def = "127.0.0.1:7480",
	  .help = "address for AS and TGS requests, UDP and TCP on the same port; port 0 = any" },
	RT_DAEMON_KEY_METRICS(struct kdc_cfg),
	{ K("metrics_listen", RT_CONF_ENDPOINT, metrics_listen), .def = "127.0.0.1:9480",
	  .help = "address for GET /metrics (no authentication: keep it on loopback)" },
	{ K("tgt_lifetime", RT_CONF_DURATION, tgt_lifetime), .min = 60000, .max = 7 * 86400000LL,
	  .def = "8h", .help = "lifetime of a ticket-granting ticket (AS)" },
	{ K("ticket_lifetime", RT_CONF_DURATION, ticket_lifetime), .min = 60000,
	  .max = 7 * 86400000LL, .def = "8h",
	  .help = "longest service ticket (TGS); never beyond the TGT's end" },
	{ K("max_skew", RT_CONF_DURATION, max_skew), .min = 1000, .max = 3600000, .def = "300s",
	  .help = "accepted clock difference of a client's timestamps" },
	{ K("batch_max", RT_CONF_INT, batch_max), .min = 1, .max = KDC_BATCH_MAX, .def = "512",
	  .help = "most requests handed to the keeper, audited and synced together" },
	{ K("max_conns", RT_CONF_INT, max_conns), .min = 1, .max = 65536, .def = "1024",
	  .help = "most TCP connections at once" },
	{ K("tcp_idle_timeout", RT_CONF_DURATION, tcp_idle_timeout), .min = 100,
	  .max = 3600000, .def = "30s", .help = "close a TCP connection idle this long" },
	{ K("reload_interval", RT_CONF_DURATION, reload_interval), .min = 10, .max = 60000,
	  .def = "100ms", .help = "how often the keeper checks the database for admin changes" },
	{ K("stop_timeout", RT_CONF_DURATION, stop_timeout), .min = 0, .max = 600000,
	  .def = "2s", .help = "on SIGTERM, time left to deliver replies already computed" },
	{ K("log_level", RT_CONF_LOGLEVEL, log_level), .def = "info",
	  .help = "error, warn, info or debug (never keys)" },
	RT_DAEMON_KEY_LOG_FILE(struct kdc_cfg),
	RT_DAEMON_KEY_LOG_JSON(struct kdc_cfg),
	{ K("audit_log", RT_CONF_PATH, audit_log), .def = "/var/lib/iomt/kdc-audit.log",
	  .help = "audit log (JSON lines, synced per batch): every issue and denial" },
	{ K("user", RT_CONF_STRING, user),
	  .help = "user both processes run as when started as root (default: iomt, if it exists)" },
	RT_DAEMON_KEY_PIDFILE(struct kdc_cfg),
	{ K("port_file", RT_CONF_PATH, port_file),
	  .help = "write the bound ports here once serving (udp=, tcp=, metrics=)" },
	{ .name = NULL },
};

const struct rt_daemon_info kdc_daemon_info = {
	.prog = "iomt-kdc",
	.version = KDC_VERSION,
	.summary = "Key distribution centre (AS + TGS) of the platform key management:\n"
		   "device keys derived from K_KDC, same-patient policy, audited issuance.",
	.default_config = KDC_DEFAULT_CONFIG,
	.keys = kdc_conf_keys,
};
