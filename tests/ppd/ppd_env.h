/* SPDX-License-Identifier: MIT */
/*
 * The world of the iomt-ppd suites: tests/kdc/flow_env.h's KDC on loopback
 * with principals (ppd-alice, sensor-1 and sensor-2 of patient alice,
 * sensor-b of bob, cloud-app and cloud-evil), a PPD directory made by
 * 'iomt-ppd init', a cloud application's P-256 signing key, and the real
 * 'iomt-ppd serve' on 127.0.0.1 (port 0).
 */
#ifndef IOMT_TEST_PPD_ENV_H
#define IOMT_TEST_PPD_ENV_H

#include <openssl/evp.h>
#include <poll.h>

#include "../kdc/flow_env.h"
#include "consent.h"
#include "keytree.h"
#include "lib/rt_consent.h"
#include "lib/rt_kchan.h"
#include "shamir.h"

struct ppd_env {
	struct env e;
	char ppd_bin[PATH_MAX];
	char dir[128], pass[160], key[160], ports[160], log[160], conf[160];
	char evlog[160], evpub[160], app_key[160], app_pub[160], requesters[160], policy[160];
	uint8_t kmaster[IOMT_KEYTREE_MASTER_LEN];
	EVP_PKEY *app;
	int pty;			/* prompt terminal master, or -1 */
	char pty_path[64];
};

/* One day from 2025-01-01Z, hour -> 5 min, hourly refresh (24 epochs). */
static const struct iomt_keytree_conf ppd_day = {
	.version = 1, .epoch_start = 1735689600, .leaf_period_s = 300, .depth = 2,
	.arity = { 24, 12 }, .refresh_period_s = 3600,
};

static inline uint64_t ppd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* 'iomt-ppd ARGS...' (NULL-terminated): exit status; output in e.out. */
static inline int ppd_run(struct ppd_env *p, ...)
{
	char *argv[ENV_ARGV_MAX] = { p->ppd_bin };
	int argc = 1;
	va_list ap;

	va_start(ap, p);
	while (argc < ENV_ARGV_MAX - 1 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	unlink(p->e.out);
	return env_run(argv, p->e.out);
}

/* K_master as the test sees it: 'iomt-ppd backup' 1-of-1 of dir, whose
 * one share is K_master || check (a constant polynomial). */
static inline int ppd_read_master(struct ppd_env *p, const char *dir, uint8_t k[32])
{
	char out[200], share[240], buf[128];
	long n;

	snprintf(out, sizeof(out), "%s/one-%ld", p->e.dir, (long)ppd_now());
	snprintf(share, sizeof(share), "%s/share-1-of-1", out);
	if (ppd_run(p, "backup", "--dir", dir, "--threshold", "1", "--shares", "1", "--out-dir",
		    out, "--passphrase-file", p->pass, NULL))
		return -1;
	n = rt_test_read(share, buf, sizeof(buf));
	if (n != 61 || (uint8_t)buf[12] != 1)
		return -1;
	memcpy(k, buf + 13, 32);
	return 0;
}

static inline int ppd_env_init(struct ppd_env *p)
{
	static const char *const names[][3] = {
		{ "ppd-alice", "alice", "ppd" }, { "sensor-1", "alice", "sensor" },
		{ "sensor-2", "alice", "sensor" }, { "sensor-b", "bob", "sensor" },
		{ "cloud-app", NULL, "cloud" }, { "cloud-evil", NULL, "cloud" },
	};
	char text[512];
	int n;

	memset(p, 0, sizeof(*p));
	p->pty = -1;
	if (env_init(&p->e, "ppd") || rt_test_bin("iomt-ppd", p->ppd_bin, sizeof(p->ppd_bin)) ||
	    access(p->ppd_bin, X_OK))
		return -1;
	if (env_admin(&p->e, "init", NULL))
		return -2;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (env_add(&p->e, names[i][0], names[i][1], names[i][2]))
			return -2;
	if (env_kdc_start(&p->e, NULL))
		return -2;
	snprintf(p->dir, sizeof(p->dir), "%s/ppd", p->e.dir);
	snprintf(p->pass, sizeof(p->pass), "%s/ppd.pass", p->e.dir);
	env_key_path(&p->e, "ppd-alice", p->key, sizeof(p->key));
	snprintf(p->ports, sizeof(p->ports), "%s/ppd.ports", p->e.dir);
	snprintf(p->log, sizeof(p->log), "%s/ppd.log", p->e.dir);
	snprintf(p->conf, sizeof(p->conf), "%s/ppd.conf", p->e.dir);
	snprintf(p->evlog, sizeof(p->evlog), "%s/evidence.log", p->dir);
	snprintf(p->evpub, sizeof(p->evpub), "%s/evlog.pub", p->dir);
	snprintf(p->app_key, sizeof(p->app_key), "%s/app.key", p->e.dir);
	snprintf(p->app_pub, sizeof(p->app_pub), "%s/app.pub", p->e.dir);
	snprintf(p->requesters, sizeof(p->requesters), "%s/requesters", p->e.dir);
	snprintf(p->policy, sizeof(p->policy), "%s/policy", p->e.dir);
	if (rt_test_write(p->pass, "correct horse\n", 14) || chmod(p->pass, 0600))
		return -2;
	if (ppd_run(p, "init", "--dir", p->dir, "--passphrase-file", p->pass, NULL) ||
	    ppd_read_master(p, p->dir, p->kmaster))
		return -3;
	if (rt_consent_keygen(&p->app) || rt_consent_key_write(p->app, p->app_key, p->app_pub))
		return -4;
	n = snprintf(text, sizeof(text), "# trusted requesters\ncloud-app %s\n", p->app_pub);
	return rt_test_write(p->requesters, text, (size_t)n) ? -4 : 0;
}

static inline void ppd_env_fini(struct ppd_env *p)
{
	EVP_PKEY_free(p->app);
	if (p->pty >= 0)
		close(p->pty);
	env_fini(&p->e);
}

/* A prompt terminal: a pty whose master the test holds. */
static inline int ppd_pty(struct ppd_env *p)
{
	p->pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->pty < 0 || grantpt(p->pty) || unlockpt(p->pty) ||
	    ptsname_r(p->pty, p->pty_path, sizeof(p->pty_path)))
		return -1;
	return 0;
}

/* 'iomt-ppd serve' with the policy text and extra config lines: 0 or -1. */
static inline int ppd_start(struct ppd_env *p, const char *policy, const char *extra)
{
	static char co[] = "-c";
	char *argv[] = { p->ppd_bin, env_arg("serve"), co, p->conf, NULL };
	char text[2048];
	int n;

	if (policy && rt_test_write(p->policy, policy, strlen(policy)))
		return -1;
	n = snprintf(text, sizeof(text),
		     "dir %s\nkey %s\npassphrase_file %s\nrequesters %s\npolicy %s\n"
		     "listen 127.0.0.1:0\nmetrics_listen 127.0.0.1:0\nport_file %s\n"
		     "log_level debug\nlog_file %s\n%s%s\n",
		     p->dir, p->key, p->pass, p->requesters, p->policy, p->ports, p->log,
		     p->pty >= 0 ? "prompt_tty " : "", p->pty >= 0 ? p->pty_path : "");
	if (extra)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "%s\n", extra);
	if (rt_test_write(p->conf, text, (size_t)n))
		return -1;
	unlink(p->ports);
	p->e.svc_pid = env_spawn(argv, p->log);
	if (env_svc_wait(&p->e, p->ports) == 0)
		return 0;
	if (rt_test_read(p->log, text, sizeof(text)) > 0)
		fprintf(stderr, "# iomt-ppd serve did not start:\n%s", text);
	return -1;
}

static inline int ppd_stop(struct ppd_env *p)
{
	return env_reap(&p->e.svc_pid, SIGTERM, ENV_WAIT_MS);
}

/* One KCHAN call as name (a fresh client and ticket for ppd-alice). */
static inline int ppd_call(struct ppd_env *p, const char *name, uint8_t op, const uint8_t *body,
			   size_t len, uint8_t *status, uint8_t *out, size_t cap, size_t *out_len)
{
	struct rt_kclient k;
	int r;

	if (env_client(&p->e, name, NULL, &k))
		return -1000;
	r = rt_kclient_ticket(&k, "ppd-alice");
	if (!r)
		r = rt_kchan_call(&k, p->e.svc_addr, op, body, len, status, out, cap, out_len, 20000);
	rt_kclient_wipe(&k);
	return r;
}

/* PROVISION as sensor: 0 and meta/K_data_0, or -1. */
static inline int ppd_provision(struct ppd_env *p, const char *sensor, const uint8_t *sensor_id,
				struct iomt_keytree_meta *m, uint8_t k0[16], uint8_t *status)
{
	uint8_t req[IOMT_PROVISION_REQ_LEN], rep[256];
	size_t n;

	if (iomt_provision_req_encode(sensor_id, &ppd_day, req) ||
	    ppd_call(p, sensor, IOMT_KCHAN_OP_PROVISION, req, sizeof(req), status, rep,
		     sizeof(rep), &n))
		return -1;
	if (*status != IOMT_KCHAN_OK)
		return 0;
	return iomt_provision_rep_decode(m, k0, rep, n) ? -1 : 0;
}

/* A consent request for hours 3..4 of the day tree: nodes (epoch 3, hour
 * 3) and (epoch 4, hour 4 / minute 35..40). */
static inline void ppd_request(struct iomt_consent_req *q, const struct iomt_keytree_meta *m,
			       const char *requester, uint64_t now)
{
	memset(q, 0, sizeof(*q));
	rt_random(q->request_id, sizeof(q->request_id));
	q->created_ms = now - 1000;
	q->expires_ms = now + 600000;
	iomt_kdc_name_from_text(q->requester, requester);
	q->purpose = IOMT_PURPOSE_TREATMENT;
	q->decrypt_for_s = 7200;
	q->from_ms = (ppd_day.epoch_start + 3 * 3600) * 1000;
	q->to_ms = (ppd_day.epoch_start + 5 * 3600) * 1000 - 1;
	q->meta = *m;
	q->count = 2;
	q->nodes[0].epoch = 3;
	q->nodes[0].node.level = 1;
	q->nodes[0].node.label[0] = 3;
	q->nodes[1].epoch = 4;
	q->nodes[1].node.level = 2;
	q->nodes[1].node.label[0] = 4;
	q->nodes[1].node.label[1] = 7;
	strcpy(q->note, "Cardiology follow-up, Dr. Rossi");
	q->note_len = (uint8_t)strlen(q->note);
}

/* Encodes and signs q with key (NULL: the app's): its length. */
static inline size_t ppd_sign(struct ppd_env *p, const struct iomt_consent_req *q,
			      EVP_PKEY *key, uint8_t *out)
{
	size_t n = 0;

	if (iomt_consent_encode(q, out, IOMT_CONSENT_MAX_LEN, &n) ||
	    rt_consent_sign(key ? key : p->app, out, n))
		return 0;
	return n;
}

/* RELEASE as client: 0 with status and the reply body, else the call's code. */
static inline int ppd_release(struct ppd_env *p, const char *client, const uint8_t *req,
			      size_t len, uint8_t *status, uint8_t *out, size_t *out_len)
{
	return ppd_call(p, client, IOMT_KCHAN_OP_RELEASE, req, len, status, out, 4096, out_len);
}

/* The reason byte of a refusal body, or -1. */
static inline int ppd_reason(const uint8_t *body, size_t len, const uint8_t *want_id)
{
	uint8_t id[16], reason;

	if (iomt_release_refusal_decode(id, &reason, body, len) ||
	    (want_id && memcmp(id, want_id, 16)))
		return -1;
	return reason;
}

/* 'iomt-ppd log show' of the live log into e.out: 0 if it verified. */
static inline int ppd_log_show(struct ppd_env *p)
{
	int r = ppd_run(p, "log", "show", "--log", p->evlog, "--pub", p->evpub, NULL);
	static char text[1 << 16];

	if (getenv("PPD_TEST_VERBOSE") && rt_test_read(p->e.out, text, sizeof(text)) > 0)
		fprintf(stderr, "# log show:\n%s", text);
	return r;
}

/* Answers the prompt on the pty master with answer (NULL: never) from a
 * child process; the prompt text is copied to DIR/prompt.txt. */
static inline pid_t ppd_answer(struct ppd_env *p, const char *answer)
{
	pid_t pid = fork();

	if (pid == 0) {
		char buf[8192], path[200];
		size_t have = 0;
		uint64_t end = rt_knet_mono_ms() + 15000;

		snprintf(path, sizeof(path), "%s/prompt.txt", p->e.dir);
		while (rt_knet_mono_ms() < end && have + 1 < sizeof(buf)) {
			struct pollfd pf = { .fd = p->pty, .events = POLLIN };
			ssize_t n;

			if (poll(&pf, 1, 100) <= 0)
				continue;
			n = read(p->pty, buf + have, sizeof(buf) - 1 - have);
			if (n <= 0)
				break;
			have += (size_t)n;
			buf[have] = '\0';
			rt_test_write(path, buf, have);
			if (strstr(buf, "y or n")) {
				if (answer && write(p->pty, answer, strlen(answer)) < 0)
					_exit(2);
				if (answer)
					_exit(0);
			}
		}
		_exit(answer ? 1 : 0);
	}
	return pid;
}

#endif
