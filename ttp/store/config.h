/* SPDX-License-Identifier: MIT */
/* iomt-store serve's configuration: the keyword table shared by its config
 * file and its command line (rt_conf, rt_daemon). */
#ifndef IOMT_STORE_CONFIG_H
#define IOMT_STORE_CONFIG_H
#include <stdint.h>

#include "lib/rt_conf.h"
#include "lib/rt_daemon.h"

enum {
	STORE_PATH_MAX = 512,
	STORE_USER_MAX = 64,
	STORE_GROUP_MAX = 4096,   /* upper bound of the group_max key */
};

#define STORE_VERSION "0.1.0"
#define STORE_DEFAULT_CONFIG "/etc/iomt/store.conf"

struct store_cfg {
	char db[STORE_PATH_MAX];
	struct rt_endpoint listen;          /* gateways: REC_PUT in, REC_ACK out */
	struct rt_endpoint metrics_listen;
	int metrics;
	int log_level;
	char log_file[STORE_PATH_MAX];
	int log_json;
	int group_max;                      /* batches per group commit */
	int max_conns;
	uint64_t idle_timeout;              /* ms */
	uint64_t stop_timeout;              /* ms */
	char user[STORE_USER_MAX];
	char pidfile[STORE_PATH_MAX];
	char port_file[STORE_PATH_MAX];
};

extern const struct rt_conf_key store_conf_keys[];
extern const struct rt_daemon_info store_daemon_info;

#endif
