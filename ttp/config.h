/* SPDX-License-Identifier: MIT */
/* iomt-ttp's configuration: the keyword table shared by the daemon's file,
 * its command line and the admin commands' --config. */
#ifndef IOMT_TTP_CONFIG_H
#define IOMT_TTP_CONFIG_H
#include <stdint.h>

#include "lib/rt_conf.h"
#include "lib/rt_daemon.h"

enum {
	TTP_PATH_MAX = 512,
	TTP_USER_MAX = 64,
	TTP_BATCH_MAX = 4096,   /* upper bound of the batch_max key */
};

#define TTP_VERSION "0.1.0"
#define TTP_DEFAULT_CONFIG "/etc/iomt/ttp.conf"

struct ttp_cfg {
	char db[TTP_PATH_MAX];
	struct rt_endpoint listen;          /* MEC links (phase 3) */
	struct rt_endpoint user_listen;     /* users (phase 2) */
	struct rt_endpoint metrics_listen;
	int metrics;
	char ca_key[TTP_PATH_MAX];
	char ca_pub[TTP_PATH_MAX];
	char grant_key[TTP_PATH_MAX];       /* phases 5, 6: "" = ca_key */
	int log_level;
	char log_file[TTP_PATH_MAX];
	int log_json;
	char audit_log[TTP_PATH_MAX];
	int batch_max;
	int max_links;
	int max_users;
	uint64_t user_timeout;              /* ms */
	uint64_t stop_timeout;              /* ms */
	char user[TTP_USER_MAX];
	char pidfile[TTP_PATH_MAX];
	char port_file[TTP_PATH_MAX];
};

extern const struct rt_conf_key ttp_conf_keys[];
extern const struct rt_daemon_info ttp_daemon_info;

#endif
