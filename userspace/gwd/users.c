/* SPDX-License-Identifier: MIT */
/* Phases 5 and 6 at the MEC: the user listener's thread and phase 5. */
#define OPENSSL_API_COMPAT 0x30000000L
#define OPENSSL_NO_DEPRECATED
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "bytes.h"
#include "config.h"
#include "ct.h"
#include "hex.h"
#include "iomt_err.h"
#include "lib/rt_knet.h"
#include "lib/rt_log.h"
#include "lib/rt_metrics.h"
#include "lib/rt_sock.h"
#include "lib/s2_result.h"
#include "users.h"
#include "wire.h"

enum {
	RESULTS_MAX = 256,		/* the latest results sent per request */
	RESULT_REC_MAX = AN_RESULT_LEN + S2_RESULT_SIG_MAX,
	TTP_ANSWER_MAX = IOMT_WIRE_HDR_LEN + IOMT_WIRE_REQ_ID_LEN + P56_PARTIES_MAX_LEN,
};

#define REQS(r) RT_COUNTER("iomt_gwd_user_requests_total", "result=\"" r "\"", \
			   "Phase-5 result requests from users, by outcome")
#define ALERTS(e) RT_COUNTER("iomt_gwd_alerts_total", "event=\"" e "\"", \
			     "Phase-6 alerts and emergencies, by event")
static struct rt_metric um[UM_N] = {
	[UM_REQ_SERVED] = REQS("served"),
	[UM_REQ_REFUSED_HERE] = REQS("refused_mec"),
	[UM_REQ_REFUSED_TTP] = REQS("refused_ttp"),
	[UM_REQ_TTP_DOWN] = REQS("ttp_unreachable"),
	[UM_REQ_CONFIRM_FAILED] = REQS("confirm_failed"),
	[UM_ALERT_RAISED] = ALERTS("raised"),
	[UM_ALERT_RESOLVED] = ALERTS("party_alert_sealed"),
	[UM_ALERT_DELIVERED] = ALERTS("acknowledged"),
	[UM_ALERT_EXPIRED] = ALERTS("expired"),
	[UM_ALERT_DROPPED] = ALERTS("emergency_refused"),
};
static struct rt_metric um_pending = RT_GAUGE("iomt_gwd_alerts_pending", NULL,
					      "Alerts kept until acknowledged or expired");

void gwd_users_count(enum gwd_users_metric m)
{
	rt_metric_inc(&um[m]);
}

void gwd_users_pending(size_t n)
{
	rt_metric_set(&um_pending, n);
}

static int metrics_register(void)
{
	struct rt_metric *list[UM_N + 1];

	for (int i = 0; i < UM_N; i++)
		list[i] = &um[i];
	list[UM_N] = &um_pending;
	return rt_metrics_register_list(list, UM_N + 1);
}

static int read_pub(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	*out = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!*out || !ecqv_pkey_is_p256(*out)) {
		snprintf(err, errlen, "%s: not a PEM P-256 public key", path);
		EVP_PKEY_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int gwd_users_send(int fd, uint8_t type, const uint8_t *p, size_t len)
{
	static __thread uint8_t buf[IOMT_WIRE_HDR_LEN + 65535];

	if (len > 65535)
		return -EMSGSIZE;
	iomt_wire_put_hdr(buf, type, len);
	if (len)
		memcpy(buf + IOMT_WIRE_HDR_LEN, p, len);
	return rt_knet_send(fd, buf, IOMT_WIRE_HDR_LEN + len);
}

long gwd_users_ttp(struct gwd_users *u, uint8_t type, const uint8_t *p, size_t len,
		   uint8_t *buf, size_t cap, uint8_t *rtype, const uint8_t **payload)
{
	static __thread uint8_t req[IOMT_WIRE_REQ_ID_LEN + P56_EMERG_MAX];
	uint64_t deadline = rt_knet_mono_ms() + u->timeout_ms;
	long n;
	int fd, r;

	if (len > sizeof(req) - IOMT_WIRE_REQ_ID_LEN)
		return -EMSGSIZE;
	iomt_store_be32(req, 1);
	memcpy(req + IOMT_WIRE_REQ_ID_LEN, p, len);
	fd = rt_knet_tcp_connect(&u->ttp.addr, u->ttp.len, deadline);
	if (fd < 0)
		return fd;
	r = gwd_users_send(fd, type, req, IOMT_WIRE_REQ_ID_LEN + len);
	n = r ? r : rt_knet_recv_frame(fd, buf, cap, deadline);
	close(fd);
	if (n < 0)
		return n;
	if (n < IOMT_WIRE_HDR_LEN + IOMT_WIRE_REQ_ID_LEN || iomt_load_be32(buf + 4) != 1)
		return -EPROTO;
	*rtype = buf[1];
	*payload = buf + IOMT_WIRE_HDR_LEN + IOMT_WIRE_REQ_ID_LEN;
	return n - IOMT_WIRE_HDR_LEN - IOMT_WIRE_REQ_ID_LEN;
}

static void user_err(int fd, uint8_t code)
{
	gwd_users_send(fd, IOMT_MSG_S2_USER_ERR, &code, 1);
}

static uint8_t code_of(int err)
{
	return err == IOMT_EMALFORMED || err == IOMT_ESIZE ? IOMT_S2_ERR_MALFORMED
	       : err == IOMT_ESTATE || err == IOMT_EAUTH    ? IOMT_S2_ERR_DENIED
							    : IOMT_S2_ERR_INTERNAL;
}

/* The TTP's verdict on the request: 0 with the grant checked and *q_u the
 * user's key it names, or a code. */
static uint8_t ask_ttp(struct gwd_users *u, const uint8_t *req, size_t len,
		       const struct p56_user_msg *m, EVP_PKEY **q_u, const char *peer)
{
	static __thread uint8_t buf[TTP_ANSWER_MAX];
	uint8_t h[P56_HASH_LEN], type;
	const uint8_t *p;
	struct p56_grant g;
	long n = gwd_users_ttp(u, IOMT_MSG_P5_CHECK, req, len, buf, sizeof(buf), &type, &p);

	if (n < 0) {
		rt_warn("users: %s: the TTP could not be asked: %s", peer, strerror((int)-n));
		return IOMT_S2_ERR_BUSY;
	}
	if (type == IOMT_MSG_S2_LINK_ERR && n == 1)
		return p[0] ? p[0] : IOMT_S2_ERR_INTERNAL;
	if (type != IOMT_MSG_P5_GRANT ||
	    p56_grant_verify(p, (size_t)n, u->ttp_pub, (uint64_t)time(NULL), &g)) {
		rt_warn("users: %s: the TTP's answer does not verify (type 0x%02x)", peer, type);
		return IOMT_S2_ERR_INTERNAL;
	}
	if (p56_sha256(m->eph, P56_PT_LEN, h) || !iomt_ct_eq(g.id_a, m->id_a, P56_ID_LEN) ||
	    !iomt_ct_eq(g.nonce, m->nonce, P56_NONCE_LEN) || !iomt_ct_eq(g.h_eph, h, sizeof(h))) {
		rt_warn("users: %s: the grant is for another request", peer);
		return IOMT_S2_ERR_INTERNAL;
	}
	if (ecies_key_from_point(g.q_u, q_u)) {
		rt_warn("users: %s: the grant's Q_U is not a point", peer);
		return IOMT_S2_ERR_INTERNAL;
	}
	return 0;
}

struct collect {
	uint8_t *pt;
	size_t len, cap;
	uint16_t n;
};

static int add_result(void *ctx, int64_t id, const uint8_t enc[AN_RESULT_LEN],
		      const uint8_t *sig, size_t sig_len)
{
	struct collect *c = ctx;
	size_t rec = AN_RESULT_LEN + sig_len;

	(void)id;
	if (c->len + 2 + rec > c->cap)
		return 1;
	iomt_store_be16(c->pt + c->len, (uint16_t)rec);
	memcpy(c->pt + c->len + 2, enc, AN_RESULT_LEN);
	memcpy(c->pt + c->len + 2 + AN_RESULT_LEN, sig, sig_len);
	c->len += 2 + rec;
	c->n++;
	return 0;
}

/* Test hook: HOOK/<ID_a hex>.results holds 54-byte results, signed here. */
static void hook_results(struct gwd_users *u, const uint8_t id_a[16], struct collect *c)
{
	char path[PATH_MAX + 64], hex[33];
	uint8_t buf[AN_RESULT_LEN * RESULTS_MAX], sig[S2_RESULT_SIG_MAX];
	size_t sl;
	FILE *f;
	size_t n;

	iomt_hex_encode(id_a, 16, hex);
	snprintf(path, sizeof(path), "%s/%s.results", u->hook_dir, hex);
	f = fopen(path, "re");
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	for (size_t off = 0; off + AN_RESULT_LEN <= n; off += AN_RESULT_LEN)
		if (!s2_result_sign(u->key, id_a, buf + off, sig, &sl))
			add_result(c, 0, buf + off, sig, sl);
}

static void send_results(struct gwd_users *u, int fd, const struct p56_keys *k,
			 const uint8_t id_a[16], const char *peer)
{
	static __thread uint8_t pt[P56_RESULTS_PT_MAX], box[P56_RESULTS_PT_MAX + P56_TAG_LEN];
	struct collect c = { pt, 2, sizeof(pt), 0 };
	long r = 0;

	if (u->store_open)
		r = gwd_mecstore_results(&u->store, id_a, 0, RESULTS_MAX, add_result, &c);
	if (r < 0)
		rt_warn("users: %s: reading the results failed: %s", peer, strerror((int)-r));
	if (u->hook_dir[0])
		hook_results(u, id_a, &c);
	iomt_store_be16(pt, c.n);
	if (p56_results_seal(k, pt, c.len, box) ||
	    gwd_users_send(fd, IOMT_MSG_P5_RESULTS, box, c.len + P56_TAG_LEN))
		rt_warn("users: %s: the results could not be sent", peer);
	else {
		rt_info("users: %s: %u results sent", peer, c.n);
		gwd_users_count(UM_REQ_SERVED);
	}
	iomt_wipe(pt, c.len);
}

/* P5_REQ -> TTP -> P5_ACCEPT, P5_CONFIRM, P5_RESULTS. The request's
 * certificate and signature are sealed to the TTP: the MEC reads ID_a, E_U
 * and the nonce, and learns Q_U from the grant, never who the user is. */
static void serve_request(struct gwd_users *u, int fd, const uint8_t *req, size_t len,
			  const char *peer)
{
	uint8_t accept[P56_ACCEPT_LEN], th[P56_HASH_LEN], buf[64], code;
	struct p56_user_msg m;
	struct p56_keys k;
	EVP_PKEY *q_u = NULL, *e_u = NULL, *e_m = NULL;
	long n;
	int err = p56_req_parse(req, len, &m);

	memset(&k, 0, sizeof(k));
	if (err) {
		rt_info("users: %s: request refused here: %s", peer, iomt_strerror(err));
		gwd_users_count(UM_REQ_REFUSED_HERE);
		user_err(fd, code_of(err));
		return;
	}
	code = ask_ttp(u, req, len, &m, &q_u, peer);
	if (code) {
		rt_info("users: %s: refused by the TTP: code %u", peer, code);
		gwd_users_count(code == IOMT_S2_ERR_BUSY ? UM_REQ_TTP_DOWN : UM_REQ_REFUSED_TTP);
		user_err(fd, code);
		goto out;
	}
	e_m = ecies_ephemeral();
	if (!e_m || ecies_key_from_point(m.eph, &e_u) || ecies_point_of(e_m, accept) ||
	    p56_transcript(req, len, accept, u->cert_enc, th) ||
	    p56_keys_mec(u->key, e_m, q_u, e_u, th, &k)) {
		user_err(fd, IOMT_S2_ERR_INTERNAL);
		goto out;
	}
	memcpy(accept + P56_PT_LEN, u->cert_enc, ECQV_CERT_LEN);
	memcpy(accept + P56_PT_LEN + ECQV_CERT_LEN, k.conf_m, P56_TAG_LEN);
	if (gwd_users_send(fd, IOMT_MSG_P5_ACCEPT, accept, sizeof(accept)))
		goto out;
	n = rt_knet_recv_frame(fd, buf, sizeof(buf), rt_knet_mono_ms() + u->timeout_ms);
	if (n != IOMT_WIRE_HDR_LEN + P56_CONFIRM_LEN || buf[1] != IOMT_MSG_P5_CONFIRM ||
	    !iomt_ct_eq(buf + IOMT_WIRE_HDR_LEN, k.conf_u, P56_TAG_LEN)) {
		rt_warn("users: %s: key confirmation failed", peer);
		gwd_users_count(UM_REQ_CONFIRM_FAILED);
		goto out;
	}
	send_results(u, fd, &k, m.id_a, peer);
out:
	iomt_wipe(&k, sizeof(k));
	EVP_PKEY_free(q_u);
	EVP_PKEY_free(e_u);
	EVP_PKEY_free(e_m);
}

static void serve(struct gwd_users *u, int fd)
{
	static __thread uint8_t buf[IOMT_WIRE_HDR_LEN + P56_REQ_MAX + P56_FETCH_MAX];
	char peer[80];
	long n;

	rt_sock_peer(fd, peer, sizeof(peer));
	n = rt_knet_recv_frame(fd, buf, sizeof(buf), rt_knet_mono_ms() + u->timeout_ms);
	if (n < 0) {
		rt_info("users: %s: no request: %s", peer, strerror((int)-n));
		if (n == -EPROTO || n == -EMSGSIZE)
			user_err(fd, IOMT_S2_ERR_MALFORMED);
		return;
	}
	if (buf[1] == IOMT_MSG_P5_REQ)
		serve_request(u, fd, buf + IOMT_WIRE_HDR_LEN, (size_t)n - IOMT_WIRE_HDR_LEN, peer);
	else if (buf[1] == IOMT_MSG_P6_FETCH)
		gwd_alerts_serve(u, fd, buf + IOMT_WIRE_HDR_LEN, (size_t)n - IOMT_WIRE_HDR_LEN,
				 peer);
	else {
		rt_info("users: %s: frame type 0x%02x is not a user request", peer, buf[1]);
		user_err(fd, IOMT_S2_ERR_MALFORMED);
	}
}

static void *run(void *arg)
{
	struct gwd_users *u = arg;
	struct pollfd p[2] = { { .fd = u->lfd, .events = POLLIN }, { .fd = u->wake, .events = POLLIN } };

	while (!__atomic_load_n(&u->stop, __ATOMIC_ACQUIRE)) {
		uint64_t v;
		int n = poll(p, 2, 250);

		if (n > 0 && (p[1].revents & POLLIN) && read(u->wake, &v, sizeof(v)) < 0 &&
		    errno != EAGAIN)
			rt_warn("users: eventfd: %m");
		if (__atomic_load_n(&u->stop, __ATOMIC_ACQUIRE))
			break;
		if (n > 0 && (p[0].revents & POLLIN)) {
			int fd = accept4(u->lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0) {
				serve(u, fd);
				close(fd);
			}
		}
		gwd_alerts_tick(u, rt_knet_mono_ms());
	}
	return NULL;
}

int gwd_users_open(struct gwd_users *u, const struct gwd_cfg *cfg, char *err, size_t errlen)
{
	char e2[256];
	int r;

	memset(u, 0, sizeof(*u));
	u->lfd = u->wake = -1;
	pthread_mutex_init(&u->mu, NULL);
	u->ttp = cfg->ttp;
	u->timeout_ms = cfg->user_timeout_ms;
	u->alert_life_s = cfg->alert_lifetime_ms / 1000;
	snprintf(u->alerts_file, sizeof(u->alerts_file), "%s", cfg->alerts_file);
	snprintf(u->hook_dir, sizeof(u->hook_dir), "%s", cfg->test_hook_dir);
	if (!cfg->mec_key[0] || !cfg->ca_pub[0]) {
		snprintf(err, errlen, "users: set mec_key (the MEC's key file) and ca_pub");
		return -1;
	}
	if (s2_result_key_load(cfg->mec_key, &u->cert, &u->key, e2, sizeof(e2))) {
		snprintf(err, errlen, "users: mec_key %s", e2);
		return -1;
	}
	if (ecqv_cert_encode(&u->cert, u->cert_enc) || u->cert.role != ECQV_ROLE_MEC) {
		snprintf(err, errlen, "users: mec_key %s: not a MEC certificate", cfg->mec_key);
		return -1;
	}
	if (read_pub(cfg->ca_pub, &u->ca_pub, e2, sizeof(e2)) ||
	    read_pub(cfg->grant_pub[0] ? cfg->grant_pub : cfg->ca_pub, &u->ttp_pub, e2,
		     sizeof(e2))) {
		snprintf(err, errlen, "users: %s", e2);
		return -1;
	}
	if (cfg->mec_store[0]) {
		if (gwd_mecstore_open(&u->store, cfg->mec_store, 1 << 20, 1 << 20, e2,
				      sizeof(e2))) {
			snprintf(err, errlen, "users: mec_store %s", e2);
			return -1;
		}
		u->store_open = 1;
	}
	u->raised = calloc(GWD_RAISED_MAX, sizeof(*u->raised));
	u->seen = calloc(GWD_SEEN_MAX, sizeof(*u->seen));
	u->seen_exp = calloc(GWD_SEEN_MAX, sizeof(*u->seen_exp));
	if (!u->raised || !u->seen || !u->seen_exp) {
		snprintf(err, errlen, "users: out of memory");
		return -1;
	}
	if (metrics_register()) {
		snprintf(err, errlen, "users: metrics registration failed");
		return -1;
	}
	if (gwd_alerts_load(u, err, errlen))
		return -1;
	gwd_users_pending(u->nalerts);
	u->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r = rt_sock_listen(&cfg->user_listen, 64, "users");
	if (u->wake < 0 || r < 0) {
		snprintf(err, errlen, "users: cannot listen on user_listen");
		return -1;
	}
	u->lfd = r;
	u->bound = cfg->user_listen;
	rt_endpoint_set_port(&u->bound, rt_sock_port(u->lfd));
	return 0;
}

int gwd_users_start(struct gwd_users *u)
{
	int r = pthread_create(&u->th, NULL, run, u);

	if (r)
		return -r;
	u->started = 1;
	return 0;
}

void gwd_users_close(struct gwd_users *u)
{
	uint64_t one = 1;

	if (u->started) {
		__atomic_store_n(&u->stop, 1, __ATOMIC_RELEASE);
		if (write(u->wake, &one, sizeof(one)) < 0)
			rt_warn("users: eventfd: %m");
		pthread_join(u->th, NULL);
		u->started = 0;
	}
	if (u->lfd >= 0)
		close(u->lfd);
	if (u->wake >= 0)
		close(u->wake);
	if (u->store_open)
		gwd_mecstore_close(&u->store);
	EVP_PKEY_free(u->key);
	EVP_PKEY_free(u->ca_pub);
	EVP_PKEY_free(u->ttp_pub);
	free(u->raised);
	free(u->seen);
	free(u->seen_exp);
	free(u->alerts);
	pthread_mutex_destroy(&u->mu);
	u->lfd = u->wake = -1;
	u->key = u->ca_pub = u->ttp_pub = NULL;
	u->raised = NULL;
	u->alerts = NULL;
	u->seen = NULL;
	u->seen_exp = NULL;
}

void gwd_users_describe(const struct gwd_users *u, char *buf, size_t len)
{
	char ep[80];

	snprintf(buf, len, "phases 5 and 6 (users): listening on %s, %zu alerts pending",
		 rt_endpoint_str(&u->bound, ep, sizeof(ep)), u->nalerts);
}
