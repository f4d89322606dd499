/* SPDX-License-Identifier: MIT */
/* The keeper process (see keeper.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ct.h"
#include "ipc.h"
#include "issue.h"
#include "keeper.h"
#include "lib/rt_audit.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "lib/rt_rng.h"
#include "master.h"
#include "metrics.h"
#include "table.h"
#include "wire.h"

/* The secrets, on a page of their own: locked (never swapped), excluded
 * from core dumps, wiped before unmapping. */
struct secrets {
	uint8_t kkdc[IOMT_KDC_MASTER_LEN];
	uint8_t ktgs[IOMT_KDC_KEY_LEN];
};

/* A decided batch waiting for its audit records to be synced. */
struct job {
	uint32_t seq, n;
	int fail;
	uint64_t now;
	struct rt_audit_batch *audit;
	uint8_t *out;                           /* the reply message */
	struct kdc_outcome *oc;
	uint8_t *as;                            /* 1: AS request, 0: TGS */
};

struct kdc_keeper {
	const struct kdc_cfg *cfg;
	int sock, sfd;
	pid_t net;
	struct kdc_db *db;
	struct secrets *sec;
	size_t sec_len;
	struct kdc_meta meta;
	struct kdc_table table;
	int64_t data_version;
	int64_t next_check;                     /* monotonic ms */
	uint8_t *in, *rnd;
	struct kdc_ipc_stats st;                /* under lock */
	int stopping;
	/* the pipeline */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job jobs[KDC_PIPELINE];
	unsigned head, njobs;
	int quit;
	atomic_int broken;
	pthread_t flusher;
	int flusher_on;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int secrets_map(struct kdc_keeper *k)
{
	k->sec_len = (size_t)sysconf(_SC_PAGESIZE);
	k->sec = mmap(NULL, k->sec_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (k->sec == MAP_FAILED) {
		k->sec = NULL;
		return -errno;
	}
	madvise(k->sec, k->sec_len, MADV_DONTDUMP);
	/* A full or size-limited disk is an error to answer (INTERNAL), not death. */
	signal(SIGXFSZ, SIG_IGN);
	if (mlock(k->sec, k->sec_len) < 0)
		rt_warn("cannot lock the key page in memory (%m): it may be swapped");
	/* No core dumps, no ptrace by the same user. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}

/* The TGS key and the table from the database: at start, on SIGHUP, and
 * whenever another process (the admin CLI) committed. */
static int reload(struct kdc_keeper *k, int64_t version)
{
	uint8_t check[KDC_CHECK_LEN];
	struct kdc_meta m;
	int r = kdc_db_meta(k->db, &m);

	if (!r) {
		kdc_master_check(k->sec->kkdc, check);
		if (!iomt_ct_eq(check, m.master_check, KDC_CHECK_LEN))
			r = -EKEYREJECTED;
	}
	if (!r)
		r = kdc_table_load(&k->table, k->db);
	if (r) {
		pthread_mutex_lock(&k->lock);
		k->st.reload_failures++;
		pthread_mutex_unlock(&k->lock);
		rt_err("%s: cannot load the registrations: %s (keeping the previous table)",
		       k->cfg->db, r == -EKEYREJECTED ? "the master key changed" : strerror(-r));
		return r;
	}
	if (m.tgs_kvno != k->meta.tgs_kvno || memcmp(m.tgs_salt, k->meta.tgs_salt,
						     IOMT_KDC_SALT_LEN)) {
		iomt_kdc_tgs_key(k->sec->kkdc, m.tgs_salt, k->sec->ktgs);
		if (k->meta.tgs_kvno)
			rt_info("TGS key rotated to kvno %u", m.tgs_kvno);
	}
	k->meta = m;
	k->data_version = version;
	pthread_mutex_lock(&k->lock);
	k->st.reloads++;
	k->st.principals = k->table.count;
	k->st.revoked = k->table.revoked;
	k->st.tgs_kvno = m.tgs_kvno;
	pthread_mutex_unlock(&k->lock);
	rt_dbg("registrations loaded: %zu principals (%zu revoked), TGS kvno %u",
	       k->table.count, k->table.revoked, m.tgs_kvno);
	return 0;
}

static void refresh(struct kdc_keeper *k, int force)
{
	int64_t now = mono_ms(), v;

	if (!force && now < k->next_check)
		return;
	k->next_check = now + (int64_t)k->cfg->reload_interval;
	if (kdc_db_data_version(k->db, &v)) {
		rt_warn("%s: cannot read the data version", k->cfg->db);
		return;
	}
	if (force || v != k->data_version)
		reload(k, v);
}

int kdc_keeper_new(const struct kdc_cfg *cfg, int sock, int sfd, pid_t net,
		   struct kdc_keeper **out)
{
	struct kdc_keeper *k = calloc(1, sizeof(*k));
	char err[512] = "";
	int64_t v = 0;
	int r;

	*out = NULL;
	if (!k)
		return -ENOMEM;
	k->cfg = cfg;
	k->sock = sock;
	k->sfd = sfd;
	k->net = net;
	*out = k;
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->cond, NULL);
	k->in = malloc(KDC_IPC_REQ_MSG_MAX);
	k->rnd = malloc((size_t)KDC_BATCH_MAX * IOMT_KDC_REP_RAND);
	if (!k->in || !k->rnd)
		return -ENOMEM;
	for (int i = 0; i < KDC_PIPELINE; i++) {
		struct job *j = &k->jobs[i];

		j->out = malloc(KDC_IPC_REP_MSG_MAX);
		j->oc = calloc(KDC_BATCH_MAX, sizeof(*j->oc));
		j->as = calloc(KDC_BATCH_MAX, 1);
		if (!j->out || !j->oc || !j->as)
			return -ENOMEM;
	}
	r = secrets_map(k);
	if (!r)
		r = kdc_db_open(cfg->db, 0, &k->db, err, sizeof(err));
	if (!r)
		r = kdc_master_load(cfg->master, k->db, k->sec->kkdc, err, sizeof(err));
	if (r && err[0])
		rt_err("%s", err);
	if (!r)
		r = rt_audit_open(cfg->audit_log);
	if (!r)
		r = kdc_db_data_version(k->db, &v);
	if (!r)
		r = reload(k, v);
	if (!r)
		rt_info("keeper ready: %zu principals (%zu revoked), TGS kvno %u", k->table.count,
			k->table.revoked, k->meta.tgs_kvno);
	return r;
}

void kdc_keeper_free(struct kdc_keeper *k)
{
	if (!k)
		return;
	if (k->sec) {
		iomt_wipe(k->sec, sizeof(*k->sec));
		munmap(k->sec, k->sec_len);
	}
	if (k->rnd)
		iomt_wipe(k->rnd, (size_t)KDC_BATCH_MAX * IOMT_KDC_REP_RAND);
	free(k->in);
	free(k->rnd);
	for (int i = 0; i < KDC_PIPELINE; i++) {
		free(k->jobs[i].out);
		free(k->jobs[i].oc);
		free(k->jobs[i].as);
	}
	kdc_table_free(&k->table);
	kdc_db_close(k->db);
	rt_audit_close();
	free(k);
}

/* ---- one batch ---- */

static void peer_text(const struct kdc_ipc_peer *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	const char *proto = p->transport == KDC_TCP ? "tcp" : "udp";

	if (p->family == AF_INET6) {
		inet_ntop(AF_INET6, p->addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u/%s", a, p->port, proto);
	} else {
		if (p->family == AF_INET)
			inet_ntop(AF_INET, p->addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u/%s", a, p->port, proto);
	}
}

/* The audit record of one decision, buffered for the batch's flush. */
static int audit(const struct kdc_ipc_req *q, const struct kdc_outcome *o)
{
	char peer[INET6_ADDRSTRLEN + 16], c[KDC_NAME_TEXT], t[KDC_NAME_TEXT], p[KDC_NAME_TEXT];
	char life[16], kvno[16];
	int as = q->type == IOMT_MSG_KDC_AS_REQ;

	peer_text(&q->peer, peer, sizeof(peer));
	kdc_name_text(o->cname, c);
	kdc_name_text(o->target, t);
	if (o->code)
		return as ? rt_audit_append("as_deny", "code", kdc_code_name(o->code), "client", c,
					    "peer", peer, NULL)
			  : rt_audit_append("tgs_deny", "code", kdc_code_name(o->code), "client", c,
					    "target", t, "peer", peer, NULL);
	kdc_name_text(o->patient, p);
	snprintf(life, sizeof(life), "%u", o->lifetime_s);
	snprintf(kvno, sizeof(kvno), "%u", o->kvno);
	if (as)
		return rt_audit_append("as_issue", "client", c, "kind", kdc_kind_name(o->ckind),
				       "patient", p, "kvno", kvno, "lifetime", life, "peer", peer,
				       NULL);
	return rt_audit_append("tgs_issue", "client", c, "target", t, "patient", p, "ckind",
			       kdc_kind_name(o->ckind), "skind", kdc_kind_name(o->skind), "kvno",
			       kvno, "lifetime", life, "peer", peer, NULL);
}

static void decide(struct kdc_keeper *k, const struct kdc_ipc_req *q, uint64_t now,
		   const uint8_t *rnd, struct kdc_ipc_rep *rep, struct kdc_outcome *o)
{
	const struct kdc_issuer x = {
		.kkdc = k->sec->kkdc, .ktgs = k->sec->ktgs, .tgs_kvno = k->meta.tgs_kvno,
		.table = &k->table, .tgt_life_s = (uint32_t)(k->cfg->tgt_lifetime / 1000),
		.ticket_life_s = (uint32_t)(k->cfg->ticket_lifetime / 1000),
		.skew_ms = (uint32_t)k->cfg->max_skew,
	};

	if (q->type == IOMT_MSG_KDC_AS_REQ && q->len == IOMT_KDC_AS_REQ_LEN) {
		kdc_issue_as(&x, q->payload, q->len, now, rnd, rep->payload, o);
		rep->type = IOMT_MSG_KDC_AS_REP;
		rep->len = IOMT_KDC_AS_REP_LEN;
	} else if (q->type == IOMT_MSG_KDC_TGS_REQ && q->len == IOMT_KDC_TGS_REQ_LEN) {
		kdc_issue_tgs(&x, q->payload, q->len, now, rnd, rep->payload, o);
		rep->type = IOMT_MSG_KDC_TGS_REP;
		rep->len = IOMT_KDC_TGS_REP_LEN;
	} else {
		/* The network process checks this; it is not trusted to. */
		memset(o, 0, sizeof(*o));
		o->code = IOMT_KDC_ERR_MALFORMED;
	}
	if (audit(q, o) && !o->code)
		o->code = IOMT_KDC_ERR_INTERNAL;
}

static void err_reply(struct kdc_ipc_rep *rep, const struct kdc_outcome *o, uint64_t now)
{
	rep->type = IOMT_MSG_KDC_ERR;
	rep->code = o->code;
	rep->len = IOMT_KDC_ERR_LEN;
	iomt_kdc_err_build(o->code, o->ref, now, rep->payload);
}

/* With k->lock held. */
static void count(struct kdc_keeper *k, int as, uint8_t code)
{
	if (!code && as)
		k->st.as_issued++;
	else if (!code)
		k->st.tgs_issued++;
	else if (code < KDC_CODES)
		(as ? k->st.as_denied : k->st.tgs_denied)[code]++;
}

/* ---- group commit, pipelined ----
 *
 * The main thread decides batch k + 1 (and k + 2 ...) while the flusher
 * thread syncs the batches before it: jobs in a ring of KDC_PIPELINE, handed
 * over in order. The flusher takes every job waiting at once and syncs
 * their audit records with ONE fdatasync: the slower the disk, the larger
 * the group, so a sync's latency bounds the rate no more than
 * KDC_PIPELINE batches' worth of requests per sync. */

static uint64_t elapsed_us(const struct timespec *a, const struct timespec *b)
{
	return (uint64_t)((b->tv_sec - a->tv_sec) * 1000000 + (b->tv_nsec - a->tv_nsec) / 1000);
}

/* Flusher thread: the replies of one job whose records the sync r covered. */
static void answer_job(struct kdc_keeper *k, struct job *j, int r)
{
	struct kdc_ipc_hdr *oh = (struct kdc_ipc_hdr *)j->out;
	struct kdc_ipc_stats *st = (struct kdc_ipc_stats *)(oh + 1);
	struct kdc_ipc_rep *rep = (struct kdc_ipc_rep *)(st + 1);
	size_t len;

	pthread_mutex_lock(&k->lock);
	for (uint32_t i = 0; i < j->n; i++) {
		/* Nothing the batch decided may leave without its evidence. */
		if (r || j->fail)
			j->oc[i].code = IOMT_KDC_ERR_INTERNAL;
		if (j->oc[i].code)
			err_reply(&rep[i], &j->oc[i], j->now);
		count(k, j->as[i], j->oc[i].code);
	}
	*st = k->st;
	pthread_mutex_unlock(&k->lock);
	*oh = (struct kdc_ipc_hdr){ .magic = KDC_IPC_MAGIC, .seq = j->seq, .n = j->n };
	len = sizeof(*oh) + sizeof(*st) + (size_t)j->n * sizeof(*rep);
	if (send(k->sock, j->out, len, MSG_NOSIGNAL) != (ssize_t)len) {
		rt_err("cannot answer the network process: %m");
		atomic_store(&k->broken, 1);
	}
}

/* Flusher thread: every record of the m jobs from first on disk (one group
 * commit), then their replies, in order. */
static void finish_jobs(struct kdc_keeper *k, unsigned first, unsigned m)
{
	struct rt_audit_batch *audit[KDC_PIPELINE];
	struct timespec a, b;
	uint32_t reqs = 0;
	int r;

	for (unsigned i = 0; i < m; i++) {
		struct job *j = &k->jobs[(first + i) % KDC_PIPELINE];

		audit[i] = j->audit;
		j->audit = NULL;
		reqs += j->n;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	r = rt_audit_commit_group(audit, m);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (reqs) {
		pthread_mutex_lock(&k->lock);
		k->st.flush_last_us = elapsed_us(&a, &b);
		k->st.flushes++;
		k->st.flush_us += k->st.flush_last_us;
		k->st.flush_failures += r != 0;
		pthread_mutex_unlock(&k->lock);
	}
	for (unsigned i = 0; i < m; i++)
		answer_job(k, &k->jobs[(first + i) % KDC_PIPELINE], r);
}

static void *flusher(void *arg)
{
	struct kdc_keeper *k = arg;

	pthread_mutex_lock(&k->lock);
	for (;;) {
		unsigned first, m;

		while (!k->njobs && !k->quit)
			pthread_cond_wait(&k->cond, &k->lock);
		if (!k->njobs)
			break;
		first = k->head;
		m = k->njobs;
		pthread_mutex_unlock(&k->lock);
		finish_jobs(k, first, m);
		pthread_mutex_lock(&k->lock);
		k->head = (k->head + m) % KDC_PIPELINE;
		k->njobs -= m;
		pthread_cond_broadcast(&k->cond);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

/* A free job slot (waiting for the flusher if every slot is busy). */
static struct job *job_slot(struct kdc_keeper *k)
{
	struct job *j;

	pthread_mutex_lock(&k->lock);
	while (k->njobs == KDC_PIPELINE)
		pthread_cond_wait(&k->cond, &k->lock);
	j = &k->jobs[(k->head + k->njobs) % KDC_PIPELINE];
	pthread_mutex_unlock(&k->lock);
	return j;
}

static void job_push(struct kdc_keeper *k)
{
	pthread_mutex_lock(&k->lock);
	k->njobs++;
	pthread_cond_broadcast(&k->cond);
	pthread_mutex_unlock(&k->lock);
}

/* Main thread: check, decide, buffer the evidence, hand over. */
static int batch(struct kdc_keeper *k, size_t len)
{
	const struct kdc_ipc_hdr *h = (const struct kdc_ipc_hdr *)k->in;
	const struct kdc_ipc_req *q = (const struct kdc_ipc_req *)(h + 1);
	struct job *j;
	struct kdc_ipc_rep *rep;
	uint32_t n;

	/* Exactly a header and n whole slots, n within the configured batch. */
	if (len < sizeof(*h) || h->magic != KDC_IPC_MAGIC ||
	    (n = h->n) > (uint32_t)k->cfg->batch_max ||
	    len != sizeof(*h) + (size_t)n * sizeof(*q)) {
		rt_err("malformed batch from the network process (%zu bytes): stopping", len);
		return -EPROTO;
	}
	refresh(k, 0);
	j = job_slot(k);
	rep = (struct kdc_ipc_rep *)(j->out + sizeof(struct kdc_ipc_hdr) +
				     sizeof(struct kdc_ipc_stats));
	j->seq = h->seq;
	j->n = n;
	j->now = unix_ms();
	j->fail = n && rt_random(k->rnd, (size_t)n * IOMT_KDC_REP_RAND);
	for (uint32_t i = 0; i < n && !j->fail; i++) {
		rep[i].code = 0;
		j->as[i] = q[i].type == IOMT_MSG_KDC_AS_REQ;
		decide(k, &q[i], j->now, k->rnd + (size_t)i * IOMT_KDC_REP_RAND, &rep[i], &j->oc[i]);
	}
	if (j->fail)
		rt_audit_discard();
	if (n)
		iomt_wipe(k->rnd, (size_t)n * IOMT_KDC_REP_RAND);
	rt_audit_detach(&j->audit);
	job_push(k);
	return atomic_load(&k->broken) ? -EPIPE : 0;
}

/* ---- the loop ---- */

static void on_signal(struct kdc_keeper *k)
{
	unsigned ev = rt_daemon_signal_read(k->sfd);

	if (ev & RT_SIG_RELOAD) {
		int r = rt_log_reopen(), a = rt_audit_open(k->cfg->audit_log);

		if (r < 0)
			rt_warn("cannot reopen the log file: %s", strerror(-r));
		if (a < 0)
			rt_warn("cannot reopen the audit log (the old file stays in use)");
		refresh(k, 1);
		kill(k->net, SIGHUP);
		rt_info("SIGHUP: logs reopened, %zu principals loaded", k->table.count);
	}
	if ((ev & RT_SIG_STOP) && !k->stopping) {
		/* The network process finishes the batch in hand and hangs up. */
		k->stopping = 1;
		kill(k->net, SIGTERM);
		rt_info("stopping");
	}
}

/* The network process's exit status once it is gone: 0 means it stopped
 * on request; anything else means the daemon failed. */
static int reap(struct kdc_keeper *k)
{
	int status = 0;

	for (int waited = 0; waited < 5000; waited += 10) {
		pid_t r = waitpid(k->net, &status, WNOHANG);

		if (r == k->net)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (r < 0)
			return 1;
		usleep(10000);
	}
	kill(k->net, SIGKILL);
	waitpid(k->net, &status, 0);
	return 1;
}

int kdc_keeper_run(struct kdc_keeper *k)
{
	struct pollfd p[2] = { { .fd = k->sock, .events = POLLIN }, { .fd = k->sfd, .events = POLLIN } };
	int fatal = 0, st;
	char n[32];

	snprintf(n, sizeof(n), "%zu", k->table.count);
	rt_audit_write("kdc_start", "db", k->cfg->db, "principals", n, NULL);
	/* After the privilege drop: threads must not exist before it. */
	if (pthread_create(&k->flusher, NULL, flusher, k)) {
		rt_err("cannot start the audit flusher thread");
		fatal = 1;
	}
	k->flusher_on = !fatal;
	while (!fatal) {
		struct msghdr mh = { 0 };
		struct iovec iov = { .iov_base = k->in, .iov_len = KDC_IPC_REQ_MSG_MAX };
		ssize_t len;

		if (poll(p, 2, (int)k->cfg->reload_interval) < 0 && errno != EINTR) {
			rt_err("poll: %m");
			fatal = 1;
			break;
		}
		if (p[1].revents)
			on_signal(k);
		if (atomic_load(&k->broken)) {
			fatal = 1;
			break;
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			refresh(k, 0);
			continue;
		}
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		len = recvmsg(k->sock, &mh, MSG_DONTWAIT);
		if (len < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (len <= 0)
			break;              /* the network process hung up or died */
		if (mh.msg_flags & MSG_TRUNC || batch(k, (size_t)len))
			fatal = 1;
	}
	if (k->flusher_on) {
		/* Batches already decided are still committed and answered. */
		pthread_mutex_lock(&k->lock);
		k->quit = 1;
		pthread_cond_broadcast(&k->cond);
		pthread_mutex_unlock(&k->lock);
		pthread_join(k->flusher, NULL);
		k->flusher_on = 0;
	}
	if (fatal)
		kill(k->net, SIGTERM);
	st = reap(k);
	if (st && !fatal)
		rt_err("the network process %s (status %d): stopping", k->stopping ? "failed to stop"
		       : "died", st);
	rt_audit_write("kdc_stop", "reason", fatal || st ? "failure" : "signal", NULL);
	return fatal || st ? 1 : 0;
}
