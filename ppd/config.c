/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

#define K(name, type, member) name, type, RT_CONF_AT(struct ppd_cfg, member)

const struct rt_conf_key ppd_conf_keys[] = {
	{ K("dir", RT_CONF_PATH, dir), .def = "/var/lib/iomt/ppd",
	  .help = "the PPD's directory ('iomt-ppd init'): the file keys below default to it" },
	{ K("key", RT_CONF_PATH, key),
	  .help = "the PPD's KDC key file (kind ppd; its name is I_PPD) (default: DIR/ppd.key)" },
	{ K("key_passcode_file", RT_CONF_PATH, key_passcode_file),
	  .help = "passcode of a passcode-wrapped key file (default: a plain key file)" },
	{ K("master", RT_CONF_PATH, master),
	  .help = "K_master, wrapped under the passphrase (default: DIR/master.key)" },
	{ K("passphrase_file", RT_CONF_PATH, passphrase_file),
	  .help = "file holding the master key's passphrase, mode 0600 (required)" },
	{ K("evidence_log", RT_CONF_PATH, evidence_log),
	  .help = "the signed evidence log (default: DIR/evidence.log)" },
	{ K("evidence_key", RT_CONF_PATH, evidence_key),
	  .help = "its P-256 signing key, PEM 0600 (default: DIR/evlog.key)" },
	{ K("replay_cache", RT_CONF_PATH, replay_cache),
	  .help = "AP authenticators seen (default: DIR/ap.replay)" },
	{ K("consent_cache", RT_CONF_PATH, consent_cache),
	  .help = "consent request ids seen, until they expire (default: DIR/consent.replay)" },
	{ K("requesters", RT_CONF_PATH, requesters),
	  .help = "trusted requesters: lines 'NAME /path/app.pub.pem' (default: DIR/requesters)" },
	{ K("policy", RT_CONF_PATH, policy),
	  .help = "the patient's consent policy (ppd/README.md) (default: DIR/policy; absent: empty)" },
	{ K("consent", RT_CONF_STRING, consent), .def = "policy-then-prompt",
	  .help = "prompt | policy | policy-then-prompt: who decides a release" },
	{ K("prompt_tty", RT_CONF_PATH, prompt_tty),
	  .help = "terminal the patient answers on (/dev/tty1, a pty); none: no prompt" },
	{ K("prompt_timeout", RT_CONF_DURATION, prompt_timeout), .min = 100, .max = 3600000,
	  .def = "60s", .help = "an unanswered prompt is a refusal (TIMEOUT) after this" },
	{ K("max_skew", RT_CONF_DURATION, max_skew), .min = 1000, .max = 3600000, .def = "300s",
	  .help = "accepted clock difference (AP authenticators, a request's created time)" },
	{ K("max_validity", RT_CONF_DURATION, max_validity), .min = 1000,
	  .max = 30 * 86400000LL, .def = "24h",
	  .help = "longest created..expires window a consent request may ask for" },
	{ K("io_timeout", RT_CONF_DURATION, io_timeout), .min = 100, .max = 600000, .def = "5s",
	  .help = "time a client has to send its whole request" },
	{ K("listen", RT_CONF_ENDPOINT, listen), .def = "127.0.0.1:7490",
	  .help = "TCP address for KCHAN requests (port 0 = any)" },
	RT_DAEMON_KEY_METRICS(struct ppd_cfg),
	{ K("metrics_listen", RT_CONF_ENDPOINT, metrics_listen), .def = "127.0.0.1:9490",
	  .help = "address for GET /metrics (no authentication: keep it on loopback)" },
	{ K("log_level", RT_CONF_LOGLEVEL, log_level), .def = "info",
	  .help = "error, warn, info or debug (never keys)" },
	RT_DAEMON_KEY_LOG_FILE(struct ppd_cfg),
	RT_DAEMON_KEY_LOG_JSON(struct ppd_cfg),
	{ K("user", RT_CONF_STRING, user),
	  .help = "user to run as after set-up when started as root (default: iomt, if it exists)" },
	RT_DAEMON_KEY_PIDFILE(struct ppd_cfg),
	{ K("port_file", RT_CONF_PATH, port_file),
	  .help = "write 'listen ADDR' and 'metrics_listen ADDR' here once serving" },
	{ .name = NULL },
};

const struct rt_daemon_info ppd_daemon_info = {
	.prog = "iomt-ppd serve",
	.version = PPD_VERSION,
	.summary = "Patient personal device: holds K_master, provisions sensors' data keys and\n"
		   "releases key-tree node keys to the cloud on signed, patient-approved\n"
		   "consent requests, every step in a signed evidence log.",
	.default_config = PPD_DEFAULT_CONFIG,
	.keys = ppd_conf_keys,
};

static int under_dir(const struct ppd_cfg *cfg, char *path, const char *name)
{
	if (path[0])
		return 0;
	return (size_t)snprintf(path, PPD_PATH_MAX, "%s/%s", cfg->dir, name) < PPD_PATH_MAX
		       ? 0 : -ENAMETOOLONG;
}

int ppd_cfg_finish(struct ppd_cfg *cfg, char *err, size_t errlen)
{
	static const char *const modes[] = { "prompt", "policy", "policy-then-prompt" };
	int r = 0;

	cfg->consent_mode = -1;
	for (int i = 0; i < 3; i++)
		if (!strcmp(cfg->consent, modes[i]))
			cfg->consent_mode = i;
	if (cfg->consent_mode < 0) {
		snprintf(err, errlen, "consent: '%s' is not prompt, policy or policy-then-prompt",
			 cfg->consent);
		return -EINVAL;
	}
	r |= under_dir(cfg, cfg->key, "ppd.key");
	r |= under_dir(cfg, cfg->master, "master.key");
	r |= under_dir(cfg, cfg->evidence_log, "evidence.log");
	r |= under_dir(cfg, cfg->evidence_key, "evlog.key");
	r |= under_dir(cfg, cfg->replay_cache, "ap.replay");
	r |= under_dir(cfg, cfg->consent_cache, "consent.replay");
	r |= under_dir(cfg, cfg->requesters, "requesters");
	r |= under_dir(cfg, cfg->policy, "policy");
	if (r) {
		snprintf(err, errlen, "dir: '%s' is too long", cfg->dir);
		return -EINVAL;
	}
	if (!cfg->passphrase_file[0]) {
		snprintf(err, errlen, "passphrase_file: required (the master key's passphrase)");
		return -EINVAL;
	}
	if (cfg->consent_mode == PPD_CONSENT_PROMPT && !cfg->prompt_tty[0]) {
		snprintf(err, errlen, "consent prompt needs prompt_tty");
		return -EINVAL;
	}
	return 0;
}
