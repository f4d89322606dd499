/* SPDX-License-Identifier: MIT */
/*
 * The keeper of 'iomt-ppd serve': the only process that holds K_master,
 * the KDC key, the evidence log and the caches. It never touches the
 * network: frames come from the network process one at a time, and each
 * answer goes back the same way. One request at a time: a patient answers
 * one question at a time, and the PPD keeps no state between requests
 * beyond its logs and caches.
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "ct.h"
#include "files.h"
#include "ipc.h"
#include "keeper.h"
#include "lib/rt_consent.h"
#include "lib/rt_keyfile.h"
#include "lib/rt_log.h"
#include "lib/rt_priv.h"
#include "master.h"
#include "metrics.h"
#include "ppd.h"
#include "prompt.h"
#include "wire.h"

enum { PASS_MAX = 1024 };

static uint8_t kmaster[IOMT_KEYTREE_MASTER_LEN] __attribute__((aligned(64)));

static int fail(const char *what, int r)
{
	rt_err("%s", what);
	return r ? r : -EINVAL;
}

/* I_PPD and the patient from our KDC key file (the key itself stays in
 * rt_kservice). */
static int identity(struct ppd *p, const char *passcode)
{
	struct rt_keyfile kf;
	char err[512];
	int r = rt_keyfile_read(p->cfg->key, passcode, &kf, err, sizeof(err));

	if (r)
		return fail(err, r);
	if (kf.kind != IOMT_KDC_KIND_PPD) {
		rt_keyfile_wipe(&kf);
		rt_err("%s: the key of a %s, not of a PPD", p->cfg->key,
		       rt_kservice_kind_str(kf.kind));
		return -EINVAL;
	}
	memcpy(p->id, kf.name, sizeof(p->id));
	memcpy(p->patient, kf.patient, sizeof(p->patient));
	ppd_name(p->id, p->id_text);
	rt_keyfile_wipe(&kf);
	return 0;
}

static int load_master(struct ppd *p)
{
	char pass[PASS_MAX], err[512];
	int r = ppd_passphrase_read(p->cfg->passphrase_file, pass, sizeof(pass), err, sizeof(err));

	/* K_master never goes to swap or a core file, nor to a ptrace of
	 * the same user. */
	prctl(PR_SET_DUMPABLE, 0);
	if (mlock(kmaster, sizeof(kmaster)) < 0)
		rt_warn("mlock: %m (K_master may be swapped out)");
	madvise((void *)((uintptr_t)kmaster & ~(uintptr_t)4095), 4096, MADV_DONTDUMP);
	if (!r)
		r = ppd_master_read(p->cfg->master, pass, kmaster, err, sizeof(err));
	iomt_wipe(pass, sizeof(pass));
	if (r)
		return fail(err, r);
	p->kmaster = kmaster;
	return 0;
}

static int open_logs(struct ppd *p)
{
	struct rt_evlog_opts eo = { .sign_every = 1 };
	char err[512];
	int r = rt_consent_key_load(p->cfg->evidence_key, &p->evkey, err, sizeof(err));

	if (r)
		return fail(err, r);
	r = rt_evlog_open(p->cfg->evidence_log, p->evkey, &eo, &p->log, err, sizeof(err));
	if (r)
		return fail(err, r);
	r = rt_replay_open(p->cfg->consent_cache, PPD_CONSENT_CAPACITY, ppd_now_ms(), &p->seen);
	if (r) {
		rt_err("consent_cache %s: %s", p->cfg->consent_cache, strerror(-r));
		return r;
	}
	return 0;
}

static int open_service(struct ppd *p)
{
	char pass[PASS_MAX], err[512];
	struct rt_kservice_opts ko = {
		.key_path = p->cfg->key, .replay_path = p->cfg->replay_cache,
		.max_skew_ms = (uint32_t)p->cfg->max_skew, .batch_max = 1,
	};
	int r = 0;

	if (p->cfg->key_passcode_file[0]) {
		r = ppd_passphrase_read(p->cfg->key_passcode_file, pass, sizeof(pass), err,
					sizeof(err));
		if (r)
			return fail(err, r);
		ko.passcode = pass;
	}
	r = identity(p, ko.passcode);
	if (!r) {
		err[0] = '\0';
		r = rt_kservice_open(&ko, ppd_now_ms(), &p->ks, err, sizeof(err));
		if (r)
			rt_err("%s", err[0] ? err : strerror(-r));
	}
	iomt_wipe(pass, sizeof(pass));
	return r;
}

static int open_decider(struct ppd *p)
{
	char err[512];
	int r = ppd_requesters_load(p->cfg->requesters, &p->rq, err, sizeof(err));

	if (r)
		return fail(err, r);
	r = ppd_policy_load(p->cfg->policy, &p->policy, err, sizeof(err));
	if (r)
		return fail(err, r);
	p->tty = -1;
	if (p->cfg->prompt_tty[0]) {
		p->tty = ppd_prompt_open(p->cfg->prompt_tty);
		if (p->tty < 0) {
			rt_err("prompt_tty %s: %s", p->cfg->prompt_tty, strerror(-p->tty));
			return p->tty;
		}
	}
	rt_info("consent: %s; %zu trusted requesters, %zu policy rules, prompt %s",
		p->cfg->consent, p->rq.n, p->policy.n,
		p->tty >= 0 ? p->cfg->prompt_tty : "none");
	return 0;
}

static int drop(const struct ppd_cfg *cfg)
{
	const char *user = cfg->user[0] ? cfg->user : PPD_DEFAULT_USER;

	if (geteuid() != 0)
		return 0;
	if (!cfg->user[0] && !getpwnam(user)) {
		rt_warn("running as root: no user '%s' to drop to (set 'user')", user);
		return 0;
	}
	return rt_priv_drop(user);
}

/* SIGHUP: the requesters and the policy again (the old ones stay if the
 * new files are wrong), and the log file reopened. */
static void reload(struct ppd *p)
{
	struct ppd_requesters rq;
	struct ppd_policy pol;
	char err[512];

	rt_log_reopen();
	if (ppd_requesters_load(p->cfg->requesters, &rq, err, sizeof(err))) {
		rt_err("reload: %s: the previous requesters stay", err);
	} else {
		ppd_requesters_free(&p->rq);
		p->rq = rq;
	}
	if (ppd_policy_load(p->cfg->policy, &pol, err, sizeof(err))) {
		rt_err("reload: %s: the previous policy stays", err);
	} else {
		ppd_policy_free(&p->policy);
		p->policy = pol;
	}
	rt_info("reloaded: %zu trusted requesters, %zu policy rules", p->rq.n, p->policy.n);
}

/* One message from the network process: a frame, answered with the
 * counters and the reply frame (possibly none). */
static int one(struct ppd *p, int ipc)
{
	static uint8_t in[PPD_IPC_FRAME_MAX + 1], out[PPD_IPC_MSG_MAX];
	uint64_t counters[PPD_IPC_COUNTERS];
	const uint8_t *payload;
	uint8_t type;
	size_t plen, olen = 0;
	ssize_t n;

	do
		n = recv(ipc, in, sizeof(in), 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;	/* the network process is gone */
	/* A frame of a type we do not serve, or not one whole frame. */
	if (iomt_wire_parse(in, (size_t)n, &type, &payload, &plen) || type != IOMT_MSG_KCHAN_REQ) {
		rt_info("a frame that is not a KCHAN_REQ: dropped");
		ppd_metrics_count(0, PPD_R_MALFORMED);
	} else {
		ppd_handle(p, payload, plen, out + PPD_IPC_STATS_LEN,
			   sizeof(out) - PPD_IPC_STATS_LEN, &olen);
	}
	ppd_metrics_snapshot(counters);
	memcpy(out, counters, sizeof(counters));
	n = send(ipc, out, PPD_IPC_STATS_LEN + olen, MSG_NOSIGNAL);
	iomt_wipe(in, sizeof(in));
	iomt_wipe(out, PPD_IPC_STATS_LEN + olen);
	return n < 0 ? -1 : 0;
}

static int loop(struct ppd *p, int ipc)
{
	struct pollfd fds[2] = { { .fd = p->sfd, .events = POLLIN }, { .fd = ipc, .events = POLLIN } };

	for (;;) {
		int r;

		if (p->pending & RT_SIG_STOP) {
			rt_info("stopping");
			return 0;
		}
		if (p->pending & RT_SIG_RELOAD)
			reload(p);
		p->pending = 0;
		r = poll(fds, 2, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rt_err("poll: %m");
			return 1;
		}
		if (fds[0].revents & POLLIN) {
			p->pending |= rt_daemon_signal_read(p->sfd);
			continue;
		}
		if (fds[1].revents && one(p, ipc)) {
			rt_err("the network process is gone: stopping");
			return 1;
		}
	}
}

static void teardown(struct ppd *p)
{
	if (p->log && rt_evlog_close(p->log))
		rt_err("evidence log: signing the last entries at close failed");
	rt_replay_close(p->seen);
	rt_kservice_close(p->ks);
	EVP_PKEY_free(p->evkey);
	ppd_requesters_free(&p->rq);
	ppd_policy_free(&p->policy);
	if (p->tty >= 0)
		close(p->tty);
	iomt_wipe(kmaster, sizeof(kmaster));
}

int ppd_keeper_run(const struct ppd_cfg *cfg, const struct ppd_sockets *s, int ipc, int sfd)
{
	struct ppd p = { .cfg = cfg, .tty = -1, .sfd = sfd };
	char note[256];
	int r = 0;

	if (cfg->pidfile[0])
		r = rt_pidfile_write(cfg->pidfile);
	if (!r)
		r = load_master(&p);
	if (!r)
		r = open_service(&p);
	if (!r)
		r = open_logs(&p);
	if (!r)
		r = open_decider(&p);
	if (!r && (r = drop(cfg)))
		rt_err("cannot drop privileges: %s", strerror(-r));
	if (!r) {
		snprintf(note, sizeof(note), "{\"op\":\"start\",\"ppd\":\"%s\",\"version\":\"%s\"}",
			 p.id_text, PPD_VERSION);
		r = ppd_evidence(&p, RT_EVLOG_NOTE, note);
	}
	if (!r)
		r = ppd_sockets_write_ports(cfg, s);
	if (!r) {
		rt_info("PPD %s serving on %s (TCP and UDP)", p.id_text, s->at);
		r = loop(&p, ipc);
	} else {
		rt_err("start-up failed");
		r = 1;
	}
	teardown(&p);
	rt_pidfile_remove();
	return r;
}
