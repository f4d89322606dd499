/* SPDX-License-Identifier: MIT */
/* iomt-gwd's configuration: the keyword table and the struct it fills. */
#ifndef IOMT_GWD_CONFIG_H
#define IOMT_GWD_CONFIG_H

#include <limits.h>
#include <stdint.h>

#include "lib/rt_conf.h"
#include "lib/rt_daemon.h"

enum {
	GWD_USER_MAX = 64,
};

struct gwd_cfg {
	struct rt_endpoint listen;	/* UDP, devices' M1 */
	struct rt_endpoint ttp;		/* TCP, iomt-ttp */
	struct rt_endpoint metrics_listen;
	char state[PATH_MAX];		/* crash-safe slot file (iomt-gwd provision) */
	char port_file[PATH_MAX];	/* "" = none */
	char log_file[PATH_MAX];	/* "" = stderr */
	char pidfile[PATH_MAX];		/* "" = none */
	char user[GWD_USER_MAX];	/* "" = keep the current user */
	int log_level;
	int log_json;
	int batch_max;
	uint64_t agreement_timeout_ms;
	uint64_t ttp_reconnect_max_ms;
	int sessions_max;
	uint64_t session_lifetime_ms;
	uint64_t udp_rcvbuf;		/* bytes asked of SO_RCVBUF(FORCE) */
	int mec;			/* the MEC role (seed 002) is on */
	/* Phase 4 (mecdata.h): on while mec_key is set. */
	char mec_key[PATH_MAX];		/* the MEC's phase-1 key file */
	char mec_store[PATH_MAX];
	int mec_samples_max;		/* per ID_a */
	int mec_results_max;		/* per ID_a */
	int mec_state_cache;		/* analysis states cached (mecstate.h) */
	int mec_ingest_batch;		/* 1: per-frame transactions (benchmark baseline) */
	/* The gateway role (AP service for sensors); off while gateway_key is "". */
	char gateway_key[PATH_MAX];
	char gateway_passcode_file[PATH_MAX];
	char replay_cache[PATH_MAX];
	int replay_capacity;
	uint64_t max_skew_ms;
	/* The relay role (REC_PUT to the store); on with 'relay yes'. */
	int relay;
	struct rt_endpoint store;	/* TCP, iomt-store serve */
	int relay_pending_max;
	uint64_t relay_timeout_ms;
	uint64_t store_reconnect_max_ms;
	char spool_dir[PATH_MAX];	/* "" = no spool (relay.c, spool.h) */
	uint64_t spool_max;		/* bytes */
	/* Ingress (engine.h): io_uring by default; 'baseline' = recvmmsg and
	 * per-call OpenSSL SHAKE128/KMAC128 (baseline.h), for the benchmark only. */
	int baseline;
	int uring_buffers;		/* provided receive buffers (power of two) */
	int workers;			/* ingress workers (engine.h); 0 = one per CPU */
	int handoff_slots;		/* per extra worker (handoff.h) */
	/* The control socket (control.h) for iomtctl; "" = none. */
	char control_socket[PATH_MAX];
	char control_mode[8];		/* "0600" or "0660" */
	/* Phases 5 and 6 (users.h): on with 'users yes' (needs mec_key). */
	int users;
	struct rt_endpoint user_listen;	/* TCP, patients and doctors */
	char ca_pub[PATH_MAX];		/* the TTP's CA public key (PEM) */
	char grant_pub[PATH_MAX];	/* the key signing grants; "" = ca_pub */
	char alerts_file[PATH_MAX];	/* pending alerts; "" = memory only */
	char test_hook_dir[PATH_MAX];	/* tests only: results and emergencies */
	uint64_t user_timeout_ms;
	uint64_t alert_lifetime_ms;
	/* BLE sensors (ble.h): L2CAP LE CoC on this PSM; 0 = off. */
	int ble_psm;
	int ble_channels;		/* channels open at once */
	/* The ingress filter (filter.h): XDP on xdp_interface ("" = none), else
	 * the same checks in userspace; always on. */
	char xdp_interface[32];
	int filter_rate, filter_burst;	/* per-source requests/s; 0 = no limit */
	int cookie_rate, cookie_burst;	/* under load: plain requests answered/s */
	uint64_t cookie_epoch_ms;	/* cookie key lifetime */
	int under_load_threshold;	/* outstanding requests; 0 = always under load */
};

extern const struct rt_daemon_info gwd_daemon_info;

/* rt_daemon_args over our table: RT_DAEMON_RUN, RT_DAEMON_EXIT or -errno (err set). */
int gwd_config_load(struct gwd_cfg *cfg, int argc, char *const argv[], char *err, size_t errlen);

#endif
