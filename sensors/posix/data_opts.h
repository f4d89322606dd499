/* SPDX-License-Identifier: MIT */
/* Options of `iomt-sensor data` (the rt_conf keyword table and its checks). */
#ifndef IOMT_SENSOR_DATA_OPTS_H
#define IOMT_SENSOR_DATA_OPTS_H

#include <stdint.h>

#include "keytree.h"
#include "net.h"
#include "run_opts.h"

struct data_opts {
	char state[RUN_OPTS_PATH_MAX];
	char gateway[256];
	char key[RUN_OPTS_PATH_MAX];		/* the sensor's KDC key file */
	char kdc[256];
	char ppd[320];				/* NAME=HOST:PORT */
	char data_key[RUN_OPTS_PATH_MAX];	/* meta || K_data_0 instead of a PPD */
	char conf[256];				/* leaf=..,arity=..,refresh=..,start=.. */
	int records;
	uint64_t interval_ms;
	int batch;
	int mtu;
	char clock_start_s[32];			/* Unix s; "": the wall clock, real time */
	uint64_t timeout_ms;			/* first wait for a REC_ACK */
	int retries;
	uint64_t ppd_timeout_ms;
	int fail_persist_after;			/* test: state writes before failing */
	int log_level;
	/* derived */
	char ppd_name[64];
	char ppd_addr[256];
	struct iomt_keytree_conf want;		/* the Conf asked of the PPD */
	int want_start_set;
	uint64_t clock_start;			/* 0: the wall clock */
	struct sensor_addr gw_addr;
};

/* 0: run; 1: a query (--help) was answered; -1: bad usage, logged. */
int data_opts_parse(struct data_opts *o, int argc, char *const argv[]);

/* The Conf's start when --conf gave none: the first record's UTC day. */
void data_opts_default_start(struct data_opts *o, uint64_t first_t);

#endif
