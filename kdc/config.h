/* SPDX-License-Identifier: MIT */
/* iomt-kdc's configuration: the keyword table shared by the daemon's file,
 * its command line and the admin commands' --config. */
#ifndef IOMT_KDC_CONFIG_H
#define IOMT_KDC_CONFIG_H
#include <stdint.h>

#include "lib/rt_conf.h"
#include "lib/rt_daemon.h"

enum {
	KDC_PATH_MAX = 512,
	KDC_USER_MAX = 64,
	KDC_BATCH_MAX = 1024,   /* upper bound of batch_max: one IPC message */
};

#define KDC_VERSION "0.1.0"
#define KDC_DEFAULT_CONFIG "/etc/iomt/kdc.conf"
#define KDC_DEFAULT_USER "iomt"

struct kdc_cfg {
	char db[KDC_PATH_MAX];
	char master[KDC_PATH_MAX];
	struct rt_endpoint listen;          /* UDP and TCP, the same port */
	struct rt_endpoint metrics_listen;
	int metrics;
	uint64_t tgt_lifetime;              /* ms, like every duration */
	uint64_t ticket_lifetime;
	uint64_t max_skew;
	int batch_max;
	int max_conns;
	uint64_t tcp_idle_timeout;
	uint64_t reload_interval;
	uint64_t stop_timeout;
	int log_level;
	char log_file[KDC_PATH_MAX];
	int log_json;
	char audit_log[KDC_PATH_MAX];
	char user[KDC_USER_MAX];
	char pidfile[KDC_PATH_MAX];
	char port_file[KDC_PATH_MAX];
};

extern const struct rt_conf_key kdc_conf_keys[];
extern const struct rt_daemon_info kdc_daemon_info;

#endif
