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
};

extern const struct rt_daemon_info gwd_daemon_info;

/* rt_daemon_args over our table: RT_DAEMON_RUN, RT_DAEMON_EXIT or -errno (err set). */
int gwd_config_load(struct gwd_cfg *cfg, int argc, char *const argv[], char *err, size_t errlen);

#endif
