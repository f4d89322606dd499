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
	{ "mec_key", RT_CONF_PATH, AT(mec_key),
	  .help = "the MEC's phase-1 key file (iomt-user finish, role mec): turns phase 4 "
		  "(devices' S2_DATA, analyses, signed results) on" },
	{ "mec_store", RT_CONF_PATH, AT(mec_store), .def = "/var/lib/iomt/mec.db",
	  .help = "phase 4: SQLite store of samples, analysis states and results, by ID_a" },
	{ "mec_samples_max", RT_CONF_INT, AT(mec_samples_max), .min = 1, .max = 1 << 30,
	  .def = "100000", .help = "phase 4: samples kept per ID_a (the oldest are deleted)" },
	{ "mec_results_max", RT_CONF_INT, AT(mec_results_max), .min = 1, .max = 1 << 30,
	  .def = "10000", .help = "phase 4: signed results kept per ID_a (the oldest are deleted)" },
	{ "mec_state_cache", RT_CONF_INT, AT(mec_state_cache), .min = 1, .max = 1 << 22,
	  .def = "4096", .help = "phase 4: analysis states kept in memory (ID_a and analysis; "
				 "the least recently used go back to mec_store only)" },
	{ "mec_ingest_batch", RT_CONF_INT, AT(mec_ingest_batch), .min = 0, .max = 1, .def = "0",
	  .help = "benchmark baseline only: 1 = one phase-4 store transaction per S2_DATA "
		  "frame, analysis states in the store only; 0 = one per receive batch" },
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
	{ "spool_dir", RT_CONF_PATH, AT(spool_dir),
	  .help = "relay: keep batches the store cannot take now in DIR/relay.spool" },
	{ "spool_max", RT_CONF_SIZE, AT(spool_max), .min = 65536, .max = 1ULL << 40,
	  .def = "64M", .help = "relay: spool bound; beyond it sensors get BUSY/UNREACHABLE" },
	{ "baseline", RT_CONF_BOOL, AT(baseline), .def = "no",
	  .help = "benchmark baseline: recvmmsg ingress and per-call OpenSSL SHAKE128/KMAC128 "
		  "(default: io_uring and batched Keccak)" },
	{ "uring_buffers", RT_CONF_INT, AT(uring_buffers), .min = 1, .max = 32768, .def = "1024",
	  .help = "io_uring provided receive buffers of 2 KiB (a power of two); when all are "
		  "in use datagrams wait in the socket" },
	{ "workers", RT_CONF_INT, AT(workers), .min = 0, .max = 64, .def = "1",
	  .help = "ingress workers (threads, each with its own io_uring and SO_REUSEPORT socket "
		  "on 'listen'; they check datagrams and hand frames to worker 0, which runs "
		  "the roles); 0 = one per online CPU, at most 64; 'baseline' and a kernel "
		  "without io_uring run one" },
	{ "handoff_slots", RT_CONF_INT, AT(handoff_slots), .min = 16, .max = 65536,
	  .def = "4096", .help = "frames each extra worker may have waiting for worker 0 "
		  "(rounded up to a power of two); when full, frames are dropped (counted, logged)" },
	{ "control_socket", RT_CONF_PATH, AT(control_socket),
	  .help = "Unix socket for iomtctl (e.g. /run/iomt/gwd.sock); none when unset" },
	{ "control_mode", RT_CONF_STRING, AT(control_mode), .def = "0600",
	  .help = "control_socket's mode: 0600 (owner) or 0660 (owner and group)" },
	{ "users", RT_CONF_BOOL, AT(users), .def = "no",
	  .help = "phases 5 and 6: serve patients' and doctors' result requests and alerts "
		  "on user_listen (needs mec_key and ca_pub)" },
	{ "user_listen", RT_CONF_ENDPOINT, AT(user_listen), .def = "127.0.0.1:7421",
	  .help = "TCP address for users (P5_REQ, P6_FETCH)" },
	{ "ca_pub", RT_CONF_PATH, AT(ca_pub),
	  .help = "the TTP's CA public key (PEM): users' and the MEC's certificates" },
	{ "grant_pub", RT_CONF_PATH, AT(grant_pub),
	  .help = "public key (PEM) of the TTP's grant_key; unset: ca_pub" },
	{ "alerts_file", RT_CONF_PATH, AT(alerts_file),
	  .help = "phase 6: alerts kept until acknowledged, across restarts; unset: memory" },
	{ "test_hook_dir", RT_CONF_PATH, AT(test_hook_dir),
	  .help = "tests only: DIR/<ID_a>.results and DIR/<ID_a>.emerg stand for phase 4" },
	{ "user_timeout", RT_CONF_DURATION, AT(user_timeout_ms), .min = 100, .max = 600000,
	  .def = "10s", .help = "each step of a user connection, and each TTP exchange" },
	{ "alert_lifetime", RT_CONF_DURATION, AT(alert_lifetime_ms), .min = 1000,
	  .max = 30ULL * 86400 * 1000, .def = "24h",
	  .help = "an alert not acknowledged by then is dropped (logged)" },
	{ "ble_psm", RT_CONF_INT, AT(ble_psm), .min = 0, .max = 255,
	  .help = "BLE sensors: L2CAP LE credit-based channels on this PSM (decimal; 128 = "
		  "0x80, the first dynamic PSM); unset or 0 = no BLE" },
	{ "ble_channels", RT_CONF_INT, AT(ble_channels), .min = 1, .max = 65535, .def = "256",
	  .help = "BLE channels open at once; more are refused (counted)" },
	{ "xdp_interface", RT_CONF_STRING, AT(xdp_interface),
	  .help = "attach the XDP ingress filter here (e.g. eth0); unset, or when XDP cannot "
		  "attach: the same checks run in userspace" },
	{ "filter_rate", RT_CONF_INT, AT(filter_rate), .min = 0, .max = 10000000, .def = "0",
	  .help = "ingress filter: requests/s per source (IPv4 address, IPv6 /64); 0 = no limit" },
	{ "filter_burst", RT_CONF_INT, AT(filter_burst), .min = 1, .max = 1000000, .def = "64",
	  .help = "ingress filter: a source's burst of requests" },
	{ "cookie_rate", RT_CONF_INT, AT(cookie_rate), .min = 0, .max = 10000000, .def = "10000",
	  .help = "under load: plain requests answered with COOKIE_REPLY per second (all "
		  "sources); 0 = none, only cookie-wrapped requests pass" },
	{ "cookie_burst", RT_CONF_INT, AT(cookie_burst), .min = 1, .max = 1000000, .def = "1000",
	  .help = "under load: burst of COOKIE_REPLY answers" },
	{ "cookie_epoch", RT_CONF_DURATION, AT(cookie_epoch_ms), .min = 1000, .max = 86400000,
	  .def = "2m", .help = "a new cookie key this often (a cookie lives 1 to 2 epochs)" },
	{ "under_load_threshold", RT_CONF_INT, AT(under_load_threshold), .min = 0,
	  .max = 1 << 24, .def = "4096",
	  .help = "requests in flight (all roles) at which the daemon is under load and answers "
		  "plain requests with COOKIE_REPLY, until they fall below half; 0 = always "
		  "(tests)" },
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
