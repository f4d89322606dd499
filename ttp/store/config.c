/* SPDX-License-Identifier: MIT */
#include <stddef.h>

#include "config.h"

#define K(name, type, member) name, type, RT_CONF_AT(struct store_cfg, member)

const struct rt_conf_key store_conf_keys[] = {
	{ K("db", RT_CONF_PATH, db), .def = "/var/lib/iomt/store.db",
	  .help = "SQLite database of records (created on first start)" },
	{ K("listen", RT_CONF_ENDPOINT, listen), .def = "127.0.0.1:7410",
	  .help = "address for gateways (REC_PUT in, REC_ACK out, TCP); port 0 = any" },
	RT_DAEMON_KEY_METRICS(struct store_cfg),
	{ K("metrics_listen", RT_CONF_ENDPOINT, metrics_listen), .def = "127.0.0.1:9410",
	  .help = "address for GET /metrics (no authentication: keep it on loopback)" },
	{ K("log_level", RT_CONF_LOGLEVEL, log_level), .def = "info",
	  .help = "error, warn, info or debug (debug logs every batch, never data)" },
	RT_DAEMON_KEY_LOG_FILE(struct store_cfg),
	RT_DAEMON_KEY_LOG_JSON(struct store_cfg),
	{ K("group_max", RT_CONF_INT, group_max), .min = 1, .max = STORE_GROUP_MAX, .def = "256",
	  .help = "most batches committed together in one transaction" },
	{ K("max_conns", RT_CONF_INT, max_conns), .min = 1, .max = 65536, .def = "1024",
	  .help = "most gateway connections at once" },
	{ K("idle_timeout", RT_CONF_DURATION, idle_timeout), .min = 0, .max = 86400000,
	  .def = "10m", .help = "close a connection silent this long (0 = never)" },
	{ K("stop_timeout", RT_CONF_DURATION, stop_timeout), .min = 0, .max = 600000,
	  .def = "2s", .help = "on SIGTERM, time left to deliver acknowledgements" },
	{ K("user", RT_CONF_STRING, user),
	  .help = "drop privileges to this user after set-up (when started as root)" },
	RT_DAEMON_KEY_PIDFILE(struct store_cfg),
	{ K("port_file", RT_CONF_PATH, port_file),
	  .help = "write the bound ports here once listening (listen=, metrics=)" },
	{ .name = NULL },
};

const struct rt_daemon_info store_daemon_info = {
	.prog = "iomt-store serve",
	.version = STORE_VERSION,
	.summary = "Cloud store: collects sealed data records from gateways (REC_PUT), commits\n"
		   "them to SQLite, and acknowledges (REC_ACK) only after the commit.",
	.default_config = STORE_DEFAULT_CONFIG,
	.keys = store_conf_keys,
};
