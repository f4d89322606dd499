/* SPDX-License-Identifier: MIT */
/* Phase 6 at the MEC: emergencies to the TTP, sealed alerts, delivery.
 * A party is its Q_U and the TTP's opaque handle: no certificate, subject
 * or attribute is held here, in memory or in alerts_file. */
#define OPENSSL_API_COMPAT 0x30000000L
#define OPENSSL_NO_DEPRECATED
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "bytes.h"
#include "codec.h"
#include "ct.h"
#include "hex.h"
#include "iomt_err.h"
#include "lib/rt_file.h"
#include "lib/rt_knet.h"
#include "lib/rt_log.h"
#include "lib/rt_rng.h"
#include "lib/s2_result.h"
#include "users.h"
#include "wire.h"

/* One alert for one party, kept until acknowledged and reported, or expired. */
struct gwd_alert {
	uint8_t alert_id[P56_ID_LEN];
	uint8_t q_u[P56_PT_LEN];	/* the party's public key */
	uint8_t handle[P56_HANDLE_LEN];	/* the TTP's name for it (P6_DELIVERED) */
	uint64_t expires;		/* Unix seconds */
	uint8_t acked, reported;
	uint8_t tag[P56_TAG_LEN];	/* the P6_ACK tag expected */
	uint16_t box_len;
	uint8_t box[P56_ALERT_MAX];	/* the P6_ALERT payload */
};

enum {
	FILE_MAGIC_LEN = 4,
	REC_FIXED = P56_ID_LEN + P56_PT_LEN + P56_HANDLE_LEN + 8 + 1 + P56_TAG_LEN + 2, /* 92 */
	FILE_MAX = FILE_MAGIC_LEN + GWD_ALERTS_MAX * (REC_FIXED + P56_ALERT_MAX),
	TICK_MS = 1000,
};

static const char file_magic[FILE_MAGIC_LEN] = { 'I', 'A', 'L', '2' };
/* The format before phase 6 kept parties' certificates: read, converted. */
static const char file_magic_v1[FILE_MAGIC_LEN] = { 'I', 'A', 'L', '1' };

static uint64_t unix_now(void)
{
	return (uint64_t)time(NULL);
}

static void hex16(const uint8_t id[16], char out[33])
{
	iomt_hex_encode(id, 16, out);
}

/* The whole list, rewritten atomically (rt_file_publish): 0 or -errno. */
static int persist(struct gwd_users *u)
{
	struct iomt_wr w;
	uint8_t *buf;
	size_t len;
	int r;

	if (!u->alerts_file[0])
		return 0;
	buf = malloc(FILE_MAX);
	if (!buf)
		return -ENOMEM;
	iomt_wr_init(&w, buf, FILE_MAX);
	iomt_wr_bytes(&w, file_magic, sizeof(file_magic));
	for (size_t i = 0; i < u->nalerts; i++) {
		const struct gwd_alert *a = &u->alerts[i];

		iomt_wr_bytes(&w, a->alert_id, P56_ID_LEN);
		iomt_wr_bytes(&w, a->q_u, P56_PT_LEN);
		iomt_wr_bytes(&w, a->handle, P56_HANDLE_LEN);
		iomt_wr_u64(&w, a->expires);
		iomt_wr_u8(&w, (uint8_t)(a->acked | a->reported << 1));
		iomt_wr_bytes(&w, a->tag, P56_TAG_LEN);
		iomt_wr_u16(&w, a->box_len);
		iomt_wr_bytes(&w, a->box, a->box_len);
	}
	r = iomt_wr_finish(&w, &len) ? -EOVERFLOW : 0;
	if (!r)
		r = rt_file_publish(u->alerts_file, buf, len, 0600, 0);
	free(buf);
	if (r)
		rt_err("alerts_file %s: %s", u->alerts_file, strerror(-r));
	return r;
}

/* An IAL1 record's certificate -> Q_U and handle: 0, or -1 (skipped). */
static int from_v1(struct gwd_users *u, struct gwd_alert *a, const uint8_t cert[ECQV_CERT_LEN])
{
	struct ecqv_cert c;
	EVP_PKEY *q = NULL;
	int bad = ecqv_cert_decode(&c, cert, ECQV_CERT_LEN) ||
		  ecqv_public_from_cert(&c, u->ca_pub, unix_now(), &q) ||
		  ecies_point_of(q, a->q_u) || p56_party_handle(a->alert_id, cert, a->handle);

	EVP_PKEY_free(q);
	return bad ? -1 : 0;
}

int gwd_alerts_load(struct gwd_users *u, char *err, size_t errlen)
{
	uint8_t cert[ECQV_CERT_LEN];
	struct iomt_rd rd;
	uint8_t *buf;
	size_t skipped = 0;
	long n;
	int v1;

	u->alerts = calloc(GWD_ALERTS_MAX, sizeof(*u->alerts));
	if (!u->alerts) {
		snprintf(err, errlen, "users: out of memory for alerts");
		return -1;
	}
	if (!u->alerts_file[0] || access(u->alerts_file, F_OK))
		return 0;
	buf = malloc(FILE_MAX);
	if (!buf) {
		snprintf(err, errlen, "users: out of memory for alerts");
		return -1;
	}
	n = rt_file_read(u->alerts_file, buf, FILE_MAX, RT_FILE_PRIVATE, err, errlen);
	v1 = n >= FILE_MAGIC_LEN && !memcmp(buf, file_magic_v1, FILE_MAGIC_LEN);
	if (n < FILE_MAGIC_LEN || (!v1 && memcmp(buf, file_magic, FILE_MAGIC_LEN))) {
		if (n >= 0)
			snprintf(err, errlen, "alerts_file %s: not an alerts file", u->alerts_file);
		free(buf);
		return -1;
	}
	iomt_rd_init(&rd, buf + FILE_MAGIC_LEN, (size_t)n - FILE_MAGIC_LEN);
	while (iomt_rd_left(&rd) && u->nalerts < GWD_ALERTS_MAX) {
		struct gwd_alert *a = &u->alerts[u->nalerts];
		uint8_t flags;

		memset(a, 0, sizeof(*a));
		iomt_rd_bytes(&rd, a->alert_id, P56_ID_LEN);
		if (v1) {
			iomt_rd_bytes(&rd, cert, ECQV_CERT_LEN);
		} else {
			iomt_rd_bytes(&rd, a->q_u, P56_PT_LEN);
			iomt_rd_bytes(&rd, a->handle, P56_HANDLE_LEN);
		}
		a->expires = iomt_rd_u64(&rd);
		flags = iomt_rd_u8(&rd);
		iomt_rd_bytes(&rd, a->tag, P56_TAG_LEN);
		a->box_len = iomt_rd_u16(&rd);
		if (a->box_len > P56_ALERT_MAX)
			break;
		iomt_rd_bytes(&rd, a->box, a->box_len);
		a->acked = flags & 1;
		a->reported = (flags >> 1) & 1;
		if (v1 && !rd.err && from_v1(u, a, cert)) {
			skipped++;
			continue;
		}
		u->nalerts++;
	}
	free(buf);
	iomt_wipe(cert, sizeof(cert));
	if (iomt_rd_finish(&rd)) {
		snprintf(err, errlen, "alerts_file %s: truncated or corrupt record %zu",
			 u->alerts_file, u->nalerts);
		return -1;
	}
	rt_info("users: %zu alerts loaded from %s", u->nalerts, u->alerts_file);
	if (v1) {
		/* Rewritten without the certificates by the thread's first tick,
		 * as the user the daemon runs as after dropping privileges. */
		rt_info("users: alerts_file converted from format 1 (%zu alerts whose "
			"certificate no longer gives a key dropped)", skipped);
		u->alerts_convert = 1;
	}
	return 0;
}

int gwd_alerts_raise(struct gwd_users *u, const uint8_t id_a[P56_ID_LEN], const uint8_t *result,
		     size_t len)
{
	struct gwd_raised *q;
	uint64_t one = 1;
	int r = 0;

	if (!u || !id_a || !result || len < 1 || len > P56_RESULT_MAX)
		return -EINVAL;
	pthread_mutex_lock(&u->mu);
	if (!u->raised || u->nraised == GWD_RAISED_MAX) {
		r = -ENOBUFS;
	} else {
		q = &u->raised[u->nraised];
		if (rt_random(q->alert_id, sizeof(q->alert_id))) {
			r = -EIO;
		} else {
			memcpy(q->id_a, id_a, P56_ID_LEN);
			memcpy(q->result, result, len);
			q->len = (uint16_t)len;
			u->nraised++;
		}
	}
	pthread_mutex_unlock(&u->mu);
	if (r) {
		rt_err("emergency not raised: %s", strerror(-r));
		return r;
	}
	gwd_users_count(UM_ALERT_RAISED);
	if (u->wake >= 0 && write(u->wake, &one, sizeof(one)) < 0)
		rt_warn("users: eventfd: %m");
	return r;
}

void gwd_users_on_emergency(void *ctx, const uint8_t id_a[16], const struct an_result *r,
			    const uint8_t enc[AN_RESULT_LEN], const uint8_t *sig, size_t sig_len,
			    int64_t id)
{
	uint8_t rec[AN_RESULT_LEN + S2_RESULT_SIG_MAX];

	(void)r;
	(void)id;
	if (sig_len > S2_RESULT_SIG_MAX)
		return;
	memcpy(rec, enc, AN_RESULT_LEN);
	memcpy(rec + AN_RESULT_LEN, sig, sig_len);
	gwd_alerts_raise(ctx, id_a, rec, AN_RESULT_LEN + sig_len);
}

static int have_alert(const struct gwd_users *u, const uint8_t id[16], const uint8_t *q_u)
{
	for (size_t i = 0; i < u->nalerts; i++)
		if (!memcmp(u->alerts[i].alert_id, id, 16) &&
		    !memcmp(u->alerts[i].q_u, q_u, P56_PT_LEN))
			return 1;
	return 0;
}

/* One alert per party, sealed to it. 0 or -errno. */
static int add_alerts(struct gwd_users *u, const struct gwd_raised *q,
		      const struct p56_parties *pa)
{
	static struct p56_alert a;
	uint64_t now = unix_now();
	size_t added = 0;
	char hex[33];

	hex16(q->alert_id, hex);
	for (uint8_t i = 0; i < pa->n; i++) {
		struct gwd_alert *g = &u->alerts[u->nalerts];
		EVP_PKEY *pub = NULL;
		size_t len;
		int r;

		if (have_alert(u, q->alert_id, pa->q_u[i]))
			continue;
		if (u->nalerts == GWD_ALERTS_MAX) {
			rt_err("alert %s: no room for more alerts", hex);
			return -ENOBUFS;
		}
		if (ecies_key_from_point(pa->q_u[i], &pub)) {
			rt_warn("alert %s: party %u's key is not a point: skipped", hex, i);
			continue;
		}
		memset(&a, 0, sizeof(a));
		memcpy(a.alert_id, q->alert_id, P56_ID_LEN);
		memcpy(a.id_a, q->id_a, P56_ID_LEN);
		a.ts = now;
		a.res_len = q->len;
		memcpy(a.result, q->result, q->len);
		memset(g, 0, sizeof(*g));
		r = rt_random(a.ack_secret, sizeof(a.ack_secret)) ? IOMT_EUNSUPP : 0;
		if (!r)
			r = p56_alert_seal(u->key, u->cert_enc, pub, &a, g->box, sizeof(g->box), &len);
		if (!r)
			r = p56_ack_tag(a.ack_secret, a.alert_id, g->tag);
		EVP_PKEY_free(pub);
		iomt_wipe(&a, sizeof(a));
		if (r) {
			rt_err("alert %s: sealing failed: %s", hex, iomt_strerror(r));
			return -EIO;
		}
		memcpy(g->alert_id, q->alert_id, P56_ID_LEN);
		memcpy(g->q_u, pa->q_u[i], P56_PT_LEN);
		memcpy(g->handle, pa->handle[i], P56_HANDLE_LEN);
		g->expires = pa->expires;
		if (u->alert_life_s && now + u->alert_life_s < g->expires)
			g->expires = now + u->alert_life_s;
		g->box_len = (uint16_t)len;
		u->nalerts++;
		added++;
		gwd_users_count(UM_ALERT_RESOLVED);
	}
	rt_info("alert %s: %zu parties to alert", hex, added);
	gwd_users_pending(u->nalerts);
	return persist(u);
}

/* 1 done (sent, or refused for good), 0 retry later. */
static int notify_ttp(struct gwd_users *u, const struct gwd_raised *q)
{
	static struct p56_emerg e;
	static struct p56_parties pa;
	static uint8_t msg[P56_EMERG_MAX], ans[IOMT_WIRE_HDR_LEN + 4 + P56_PARTIES_MAX_LEN];
	const uint8_t *p;
	char hex[33];
	uint8_t type;
	size_t len;
	long n;

	hex16(q->alert_id, hex);
	memset(&e, 0, sizeof(e));
	e.cert = u->cert;
	e.ts = unix_now();
	memcpy(e.alert_id, q->alert_id, P56_ID_LEN);
	memcpy(e.id_a, q->id_a, P56_ID_LEN);
	e.res_len = q->len;
	memcpy(e.result, q->result, q->len);
	if (p56_emerg_build(u->key, &e, msg, sizeof(msg), &len)) {
		rt_err("alert %s: cannot sign the emergency notice: dropped", hex);
		return 1;
	}
	n = gwd_users_ttp(u, IOMT_MSG_P6_EMERG, msg, len, ans, sizeof(ans), &type, &p);
	if (n < 0) {
		rt_warn("alert %s: TTP unreachable (%s): will retry", hex, strerror((int)-n));
		return 0;
	}
	if (type == IOMT_MSG_S2_LINK_ERR && n == 1) {
		if (p[0] == IOMT_S2_ERR_BUSY || p[0] == IOMT_S2_ERR_INTERNAL) {
			rt_warn("alert %s: TTP busy (code %u): will retry", hex, p[0]);
			return 0;
		}
		rt_err("alert %s: the TTP refused the emergency (code %u): dropped", hex, p[0]);
		gwd_users_count(UM_ALERT_DROPPED);
		return 1;
	}
	if (type != IOMT_MSG_P6_PARTIES || p56_parties_verify(p, (size_t)n, u->ttp_pub, &pa) ||
	    memcmp(pa.alert_id, q->alert_id, P56_ID_LEN)) {
		rt_warn("alert %s: the TTP's answer does not verify: will retry", hex);
		return 0;
	}
	return add_alerts(u, q, &pa) ? 0 : 1;
}

static void report(struct gwd_users *u, struct gwd_alert *a)
{
	struct p56_delivered d;
	uint8_t msg[P56_DELIVERED_MAX], ans[64], type;
	const uint8_t *p;
	size_t len;
	long n;

	memset(&d, 0, sizeof(d));
	d.cert = u->cert;
	d.ts = unix_now();
	memcpy(d.alert_id, a->alert_id, P56_ID_LEN);
	memcpy(d.handle, a->handle, P56_HANDLE_LEN);
	if (p56_delivered_build(u->key, &d, msg, sizeof(msg), &len))
		return;
	n = gwd_users_ttp(u, IOMT_MSG_P6_DELIVERED, msg, len, ans, sizeof(ans), &type, &p);
	if (n == 0 && type == IOMT_MSG_P6_NOTED)
		a->reported = 1;
	else if (n == 1 && type == IOMT_MSG_S2_LINK_ERR && p[0] != IOMT_S2_ERR_BUSY &&
		 p[0] != IOMT_S2_ERR_INTERNAL)
		a->reported = 1;	/* refused for good: do not retry */
}

/* Acknowledged and reported, or expired: gone. */
static int sweep(struct gwd_users *u, uint64_t now)
{
	size_t j = 0;
	int changed = 0;

	for (size_t i = 0; i < u->nalerts; i++) {
		struct gwd_alert *a = &u->alerts[i];
		char hex[33];

		if ((a->acked && a->reported) || a->expires < now) {
			if (!a->acked) {
				hex16(a->alert_id, hex);
				rt_warn("alert %s: expired unacknowledged", hex);
				gwd_users_count(UM_ALERT_EXPIRED);
			}
			changed = 1;
			continue;
		}
		if (j != i)
			u->alerts[j] = *a;
		j++;
	}
	u->nalerts = j;
	gwd_users_pending(j);
	return changed;
}

/* Test hook: HOOK/<ID_a hex>.emerg holds one 54-byte result, signed here
 * and raised; the file is then renamed *.emerg.done. */
static void hook_scan(struct gwd_users *u)
{
	DIR *dir = opendir(u->hook_dir);
	struct dirent *de;

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		char path[PATH_MAX + 300], done[PATH_MAX + 310];
		uint8_t id_a[16], rec[AN_RESULT_LEN + S2_RESULT_SIG_MAX];
		size_t n = strlen(de->d_name), sl;
		FILE *f;

		if (n != 32 + 6 || strcmp(de->d_name + 32, ".emerg") ||
		    iomt_hex_decode(de->d_name, 32, id_a, sizeof(id_a), &sl))
			continue;
		snprintf(path, sizeof(path), "%s/%s", u->hook_dir, de->d_name);
		snprintf(done, sizeof(done), "%s.done", path);
		f = fopen(path, "re");
		if (!f)
			continue;
		n = fread(rec, 1, AN_RESULT_LEN + 1, f);
		fclose(f);
		if (rename(path, done))
			continue;
		if (n == AN_RESULT_LEN && !s2_result_sign(u->key, id_a, rec, rec + AN_RESULT_LEN, &sl))
			gwd_alerts_raise(u, id_a, rec, AN_RESULT_LEN + sl);
	}
	closedir(dir);
}

void gwd_alerts_tick(struct gwd_users *u, uint64_t now_ms)
{
	static struct gwd_raised q;
	int changed = 0;

	if (u->hook_dir[0])
		hook_scan(u);
	for (;;) {
		int have;

		pthread_mutex_lock(&u->mu);
		have = u->nraised > 0;
		if (have)
			q = u->raised[0];
		pthread_mutex_unlock(&u->mu);
		if (!have || now_ms < u->next_tick_ms)
			break;
		if (!notify_ttp(u, &q)) {
			u->next_tick_ms = now_ms + TICK_MS;
			break;
		}
		pthread_mutex_lock(&u->mu);
		memmove(u->raised, u->raised + 1, (u->nraised - 1) * sizeof(*u->raised));
		u->nraised--;
		pthread_mutex_unlock(&u->mu);
	}
	for (size_t i = 0; i < u->nalerts; i++)
		if (u->alerts[i].acked && !u->alerts[i].reported) {
			report(u, &u->alerts[i]);
			changed |= u->alerts[i].reported;
		}
	changed |= sweep(u, unix_now());
	if (u->alerts_convert) {
		if (!persist(u)) {
			u->alerts_convert = 0;
			rt_info("users: alerts_file %s rewritten in format 2", u->alerts_file);
		}
	} else if (changed) {
		persist(u);
	}
}

/* A fetch nonce seen in the last P56_NONCE_KEEP_S: 1 (replay), else remembered. */
static int seen_before(struct gwd_users *u, const uint8_t nonce[P56_NONCE_LEN], uint64_t now)
{
	for (size_t i = 0; i < GWD_SEEN_MAX; i++)
		if (u->seen_exp[i] >= now && !memcmp(u->seen[i], nonce, P56_NONCE_LEN))
			return 1;
	memcpy(u->seen[u->seen_next], nonce, P56_NONCE_LEN);
	u->seen_exp[u->seen_next] = now + P56_NONCE_KEEP_S;
	u->seen_next = (u->seen_next + 1) % GWD_SEEN_MAX;
	return 0;
}

void gwd_alerts_serve(struct gwd_users *u, int fd, const uint8_t *p, size_t len,
		      const char *peer)
{
	struct p56_user_msg m;
	uint8_t buf[64], end[2], code;
	uint64_t now = unix_now();
	uint16_t sent = 0;
	char hex[33];
	int err = p56_fetch_verify(p, len, now, &m);

	if (err || seen_before(u, m.nonce, now)) {
		code = err == IOMT_EMALFORMED || err == IOMT_ESIZE ? IOMT_S2_ERR_MALFORMED
		       : err					    ? IOMT_S2_ERR_DENIED
								    : IOMT_S2_ERR_REPLAY;
		rt_info("users: %s: alert fetch refused (code %u)", peer, code);
		gwd_users_send(fd, IOMT_MSG_S2_USER_ERR, &code, 1);
		return;
	}
	for (size_t i = 0; i < u->nalerts; i++) {
		struct gwd_alert *a = &u->alerts[i];
		long n;

		if (a->acked || a->expires < now || !iomt_ct_eq(a->q_u, m.q_u, P56_PT_LEN))
			continue;
		hex16(a->alert_id, hex);
		if (gwd_users_send(fd, IOMT_MSG_P6_ALERT, a->box, a->box_len))
			return;
		n = rt_knet_recv_frame(fd, buf, sizeof(buf), rt_knet_mono_ms() + u->timeout_ms);
		if (n != IOMT_WIRE_HDR_LEN + P56_ACK_LEN || buf[1] != IOMT_MSG_P6_ACK ||
		    memcmp(buf + IOMT_WIRE_HDR_LEN, a->alert_id, P56_ID_LEN) ||
		    !iomt_ct_eq(buf + IOMT_WIRE_HDR_LEN + P56_ID_LEN, a->tag, P56_TAG_LEN)) {
			rt_info("users: %s: alert %s not acknowledged: kept for a retry", peer, hex);
			return;
		}
		a->acked = 1;
		persist(u);
		gwd_users_count(UM_ALERT_DELIVERED);
		rt_info("users: %s: alert %s acknowledged", peer, hex);
		sent++;
	}
	iomt_store_be16(end, sent);
	gwd_users_send(fd, IOMT_MSG_P6_END, end, sizeof(end));
	u->next_tick_ms = 0;
}
