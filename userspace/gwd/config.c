/* SPDX-License-Identifier: MIT */
/* iomt-gwd's keyword table: every key, its type, range, default and help. */
#include <stddef.h>

#include "config.h"

#define AT(m) RT_CONF_AT(struct gwd_cfg, m)

static const struct rt_conf_key gwd_keys[] = {
	{ "listen", RT_CONF_ENDPOINT, AT(listen), .def = "0.0.0.0:7401",
	  .help = "UDP address for devices' M1 (IPv4 or [IPv6]; port 0 = any)" },
	{ "ttp", RT_CONF_ENDPOINT, AT(ttp), .def = "127.0.0.1:7402",
	  .help = "TCP address of iomt-ttp (one persistent link)" },
	{ "state", RT_CONF_PATH, AT(state), .def = "/var/lib/iomt/gwd.state",
	  .help = "crash-safe identity-pool file written by 'iomt-gwd provision'" },
	{ "metrics_listen", RT_CONF_ENDPOINT, AT(metrics_listen), .def = "127.0.0.1:9401",
	  .help = "Prometheus /metrics over HTTP (keep it on loopback)" },
	{ "port_file", RT_CONF_PATH, AT(port_file),
	  .help = "write the bound 'listen' and 'metrics_listen' here (for port 0)" },
	{ "log_level", RT_CONF_LOGLEVEL, AT(log_level), .def = "info",
	  .help = "error, warn, info or debug (debug: one line per agreement)" },
	{ "log_file", RT_CONF_PATH, AT(log_file), .help = "log here instead of stderr" },
	{ "log_json", RT_CONF_BOOL, AT(log_json), .def = "no", .help = "JSON-lines log records" },
	{ "batch_max", RT_CONF_INT, AT(batch_max), .min = 1, .max = 1024, .def = "64",
	  .help = "frames taken per receive pass and per batched computation" },
	{ "udp_rcvbuf", RT_CONF_SIZE, AT(udp_rcvbuf), .min = 65536, .max = 1ULL << 30,
	  .def = "8M", .help = "devices' socket receive buffer: bursts wait here, not in drops" },
	{ "agreement_timeout", RT_CONF_DURATION, AT(agreement_timeout_ms), .min = 10,
	  .max = 600000, .def = "5s",
	  .help = "free a slot whose M3 has not come (also bounds a graceful stop)" },
	{ "ttp_reconnect_max", RT_CONF_DURATION, AT(ttp_reconnect_max_ms), .min = 10,
	  .max = 600000, .def = "5s", .help = "longest back-off between TTP connection attempts" },
	{ "sessions_max", RT_CONF_INT, AT(sessions_max), .min = 1, .max = 1 << 22,
	  .def = "65536", .help = "established sessions kept (the oldest is dropped)" },
	{ "session_lifetime", RT_CONF_DURATION, AT(session_lifetime_ms), .min = 10,
	  .max = 7 * 86400000LL, .def = "1h", .help = "a session key is wiped after this" },
	{ "user", RT_CONF_STRING, AT(user),
	  .help = "drop root to this user after set-up (recommended: iomt)" },
	{ "pidfile", RT_CONF_PATH, AT(pidfile), .help = "write and lock a pidfile here" },
	{ "mec", RT_CONF_BOOL, AT(mec), .def = "yes",
	  .help = "the MEC role (seed 002: needs 'state' and 'ttp'); 'no' for a gateway only" },
	{ "gateway_key", RT_CONF_PATH, AT(gateway_key),
	  .help = "the gateway's KDC key file: turns the gateway role (AP service) on" },
	{ "gateway_passcode_file", RT_CONF_PATH, AT(gateway_passcode_file),
	  .help = "passcode (first line) of a passcode-wrapped gateway_key" },
	{ "replay_cache", RT_CONF_PATH, AT(replay_cache), .def = "/var/lib/iomt/gwd.replay",
	  .help = "the gateway role's durable replay cache (created if absent)" },
	{ "replay_capacity", RT_CONF_INT, AT(replay_capacity), .min = 16, .max = 1 << 22,
	  .def = "65536", .help = "live authenticators held; when full, new ones get BUSY" },
	{ "max_skew", RT_CONF_DURATION, AT(max_skew_ms), .min = 1000, .max = 3600000,
	  .def = "2m", .help = "the gateway role's clock-skew window for authenticators" },
	{ "relay", RT_CONF_BOOL, AT(relay), .def = "no",
	  .help = "the relay role: forward sensors' sealed REC_PUT batches to 'store'" },
	{ "store", RT_CONF_ENDPOINT, AT(store), .def = "127.0.0.1:7410",
	  .help = "TCP address of 'iomt-store serve' (one persistent link, relay role)" },
	{ "relay_pending_max", RT_CONF_INT, AT(relay_pending_max), .min = 1, .max = 1 << 16,
	  .def = "1024", .help = "batches in flight to the store; when full, sensors get BUSY" },
	{ "relay_timeout", RT_CONF_DURATION, AT(relay_timeout_ms), .min = 10, .max = 600000,
	  .def = "10s", .help = "a batch the store has not acknowledged by then: UNREACHABLE" },
	{ "store_reconnect_max", RT_CONF_DURATION, AT(store_reconnect_max_ms), .min = 10,
	  .max = 600000, .def = "5s",
	  .help = "longest back-off between store connection attempts" },
	{ .name = NULL },
};

const struct rt_daemon_info gwd_daemon_info = {
	.prog = "iomt-gwd",
	.version = "0.1.0",
	.summary = "Gateway / 5G MEC daemon. Roles, on one UDP socket ('listen'):\n"
		   "MEC (seed 002; 'mec yes'): devices send M1; the daemon takes a slot of its\n"
		   "identity pool ('state'), asks the TTP ('ttp') and answers with M4.\n"
		   "Create the state file first: iomt-gwd provision --pool FILE --state FILE\n"
		   "Gateway (seed 000; on when 'gateway_key' is set): sensors send KDC AP_REQ;\n"
		   "the daemon verifies them in batches with its key file and a durable replay\n"
		   "cache ('replay_cache') and answers AP_REP or KDC_ERR.\n"
		   "Relay (seed 000; 'relay yes'): sensors send sealed record batches (REC_PUT);\n"
		   "the daemon checks their structure, forwards them to the store ('store') and\n"
		   "relays the store's REC_ACK. It holds no data key.",
	.default_config = "/etc/iomt/gwd.conf",
	.keys = gwd_keys,
};

int gwd_config_load(struct gwd_cfg *cfg, int argc, char *const argv[], char *err, size_t errlen)
{
	return rt_daemon_args(&gwd_daemon_info, cfg, argc, argv, err, errlen);
}
