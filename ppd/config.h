/* SPDX-License-Identifier: MIT */
/* iomt-ppd serve's configuration: one keyword table for the file and the
 * command line (rt_conf, rt_daemon). */
#ifndef IOMT_PPD_CONFIG_H
#define IOMT_PPD_CONFIG_H
#include <stdint.h>

#include "lib/rt_conf.h"
#include "lib/rt_daemon.h"

enum {
	PPD_PATH_MAX = 512,
	PPD_WORD_MAX = 64,
};

#define PPD_VERSION "0.1.0"
#define PPD_DEFAULT_CONFIG "/etc/iomt/ppd.conf"
#define PPD_DEFAULT_USER "iomt"

/* How the patient's decision is made. */
enum ppd_consent_mode {
	PPD_CONSENT_PROMPT = 0,		/* ask the patient every time */
	PPD_CONSENT_POLICY,		/* the policy file only; "ask" means deny */
	PPD_CONSENT_POLICY_PROMPT,	/* the policy file; "ask" goes to the prompt */
};

struct ppd_cfg {
	char dir[PPD_PATH_MAX];
	char key[PPD_PATH_MAX];
	char key_passcode_file[PPD_PATH_MAX];
	char master[PPD_PATH_MAX];
	char passphrase_file[PPD_PATH_MAX];
	char evidence_log[PPD_PATH_MAX];
	char evidence_key[PPD_PATH_MAX];
	char replay_cache[PPD_PATH_MAX];
	char consent_cache[PPD_PATH_MAX];
	char requesters[PPD_PATH_MAX];
	char policy[PPD_PATH_MAX];
	char consent[PPD_WORD_MAX];
	int consent_mode;			/* enum ppd_consent_mode, from consent */
	char prompt_tty[PPD_PATH_MAX];
	uint64_t prompt_timeout;
	uint64_t max_skew;
	uint64_t max_validity;
	uint64_t io_timeout;
	struct rt_endpoint listen;
	struct rt_endpoint metrics_listen;
	int metrics;
	int log_level;
	char log_file[PPD_PATH_MAX];
	int log_json;
	char user[PPD_WORD_MAX];
	char pidfile[PPD_PATH_MAX];
	char port_file[PPD_PATH_MAX];
};

extern const struct rt_conf_key ppd_conf_keys[];
extern const struct rt_daemon_info ppd_daemon_info;

/* Fills the paths left empty from dir, parses consent: 0, or -EINVAL with
 * a message in err. */
int ppd_cfg_finish(struct ppd_cfg *cfg, char *err, size_t errlen);

#endif
