/* SPDX-License-Identifier: MIT */
/*
 * The phase-4 role (userspace/gwd/mecdata.c) without a network: a MEC key
 * file, a session table, devices sealing S2_DATA frames under their SKs,
 * and the role's handle() fed arrays of those frames. Shared by
 * tests/s2/test_mecdata_batch.c and tests/bench/bench_mecdata.c, which
 * build the role's sources in (mecdata, mecstate, mecstore, sessions, ...).
 *
 * Devices (deterministic): 0 regular RR (normal), 1 fast irregular RR
 * (AF screening: EMERGENCY), 2 SpO2 at 1 Hz, 90 s at 97 % then 60 s at
 * 80 % (ODI: EMERGENCY each time) plus one sample of kind 3 (no analysis)
 * per frame; device d >= 3 plays device d % 3 with its own SK and ID_a.
 * Frames go round-robin over the devices.
 */
#ifndef IOMT_TEST_MECDATA_RIG_H
#define IOMT_TEST_MECDATA_RIG_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gwd/config.h"
#include "lib/ecies.h"
#include "lib/ecqv.h"
#include "lib/rt_store.h"
#include "lib/s2_result.h"
#include "gwd/mecdata.h"
#include "s2_data.h"
#include "gwd/sessions.h"
#include "wire.h"

enum { RIG_DEV_MAX = 64 };

struct rig_frame {
	uint8_t b[4 + IOMT_S2_DATA_MAX_LEN];
	size_t len;
};

struct rig {
	char dir[64], key[96], db[96];
	struct gwd_cfg cfg;
	struct gwd_sessions sess;
	struct gwd_mecdata m;
	int open, sess_open;
	unsigned ndev, per_frame_samples;
	uint8_t sk[RIG_DEV_MAX][16], id_a[RIG_DEV_MAX][16];
	uint64_t handle[RIG_DEV_MAX];
	struct rig_frame *f;
	struct gwd_frame *gf;
	size_t nf;
	/* the emergency hook's calls: (id_a, result) each */
	uint8_t *emerg;
	size_t nemerg;
};

/* The MEC's key file: a fixed scalar and a MEC certificate for its point. */
static inline int rig_keyfile(const char *path)
{
	uint8_t d[32], buf[S2_RESULT_KEYFILE_LEN];
	EVP_PKEY *k = NULL;
	struct ecqv_cert c = { .version = ECQV_VERSION, .curve = ECQV_CURVE_P256, .serial = 78,
			       .role = ECQV_ROLE_MEC, .not_before = 1, .not_after = 4000000000ULL };
	FILE *f;
	int r = -1;

	for (int i = 0; i < 32; i++)
		d[i] = (uint8_t)(i + 7);
	memcpy(c.issuer, "iomt-ttp-0000001", 16);
	memcpy(c.subject, "mec-rig-00000001", 16);
	if (ecies_key_from_scalar(d, &k) || ecies_point_of(k, c.pu))
		goto out;
	memcpy(buf, "IUK\1", 4);
	if (ecqv_cert_encode(&c, buf + 4))
		goto out;
	memcpy(buf + 4 + ECQV_CERT_LEN, d, 32);
	f = fopen(path, "w");
	if (!f)
		goto out;
	r = fwrite(buf, 1, sizeof(buf), f) == sizeof(buf) ? 0 : -1;
	if (fclose(f) || chmod(path, 0600))
		r = -1;
out:
	EVP_PKEY_free(k);
	return r;
}

static inline uint64_t rig_rng(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ULL;
	uint64_t z = *s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A directory (under base, e.g. /tmp or /dev/shm) for the store and key. */
static inline int rig_init(struct rig *g, const char *base, unsigned ndev, unsigned per_frame)
{
	uint64_t seed = 99;

	memset(g, 0, sizeof(*g));
	if (ndev < 1 || ndev > RIG_DEV_MAX || per_frame < 2 || per_frame > IOMT_S2_DATA_SAMPLES_MAX)
		return -EINVAL;
	snprintf(g->dir, sizeof(g->dir), "%s/iomt-mecdata.XXXXXX", base);
	if (!mkdtemp(g->dir))
		return -errno;
	snprintf(g->key, sizeof(g->key), "%s/mec.key", g->dir);
	snprintf(g->db, sizeof(g->db), "%s/mec.db", g->dir);
	if (rig_keyfile(g->key))
		return -EIO;
	g->ndev = ndev;
	g->per_frame_samples = per_frame;
	for (unsigned d = 0; d < ndev; d++)
		for (int i = 0; i < 16; i++) {
			g->sk[d][i] = (uint8_t)rig_rng(&seed);
			g->id_a[d][i] = (uint8_t)rig_rng(&seed);
		}
	g->cfg.batch_max = 64;
	g->cfg.mec_samples_max = 100000;
	g->cfg.mec_results_max = 10000;
	g->cfg.mec_state_cache = 4096;
	snprintf(g->cfg.mec_key, sizeof(g->cfg.mec_key), "%s", g->key);
	snprintf(g->cfg.mec_store, sizeof(g->cfg.mec_store), "%s", g->db);
	return 0;
}

/* Sample i of device d's profile. */
static inline struct iomt_s2_sample rig_sample(unsigned d, unsigned i, uint64_t *t, uint64_t *rng)
{
	struct iomt_s2_sample s = { .kind = AN_KIND_RR, .t_ms = *t };

	switch (d % 3) {
	case 0:
		s.value = (uint16_t)(790 + rig_rng(rng) % 21);
		break;
	case 1:
		s.value = (uint16_t)(220 + rig_rng(rng) % 300);
		break;
	default:
		s.kind = AN_KIND_SPO2;
		s.value = i % 150 < 90 ? 970 : 800;
		break;
	}
	*t += s.kind == AN_KIND_SPO2 ? 1000 : s.value;
	return s;
}

/* frames_per_dev frames of every device, round-robin: 0 or -errno. */
static inline int rig_frames(struct rig *g, unsigned frames_per_dev)
{
	struct iomt_s2_data_tx tx[RIG_DEV_MAX];
	uint64_t t[RIG_DEV_MAX], rng[RIG_DEV_MAX];
	unsigned idx[RIG_DEV_MAX] = { 0 };
	size_t n = (size_t)frames_per_dev * g->ndev;

	g->f = calloc(n, sizeof(*g->f));
	g->gf = calloc(n, sizeof(*g->gf));
	if (!g->f || !g->gf)
		return -ENOMEM;
	for (unsigned d = 0; d < g->ndev; d++) {
		if (iomt_s2_data_tx_init(&tx[d], g->sk[d], 1000))
			return -EINVAL;
		t[d] = 5000000 + 1000 * d;
		rng[d] = 1000 + d;
	}
	for (size_t j = 0; j < n; j++) {
		unsigned d = (unsigned)(j % g->ndev), k = 0;
		struct iomt_s2_sample s[IOMT_S2_DATA_SAMPLES_MAX];

		if (d % 3 == 2) {
			for (; k + 1 < g->per_frame_samples; k++)
				s[k] = rig_sample(d, idx[d]++, &t[d], &rng[d]);
			s[k++] = (struct iomt_s2_sample){ .kind = 3, .t_ms = t[d], .value = 7 };
		} else {
			for (; k < g->per_frame_samples; k++)
				s[k] = rig_sample(d, idx[d]++, &t[d], &rng[d]);
		}
		if (iomt_s2_data_seal(&tx[d], 2000, s, k, g->f[j].b, sizeof(g->f[j].b),
				      &g->f[j].len))
			return -EINVAL;
		g->gf[j] = (struct gwd_frame){ .type = IOMT_MSG_S2_DATA, .payload = g->f[j].b + 4,
					       .len = g->f[j].len - 4 };
	}
	g->nf = n;
	for (unsigned d = 0; d < g->ndev; d++)
		iomt_s2_data_tx_wipe(&tx[d]);
	return 0;
}

static inline void rig_on_emergency(void *ctx, const uint8_t id_a[IOMT_S2_IDA_LEN],
				    const struct an_result *r, const uint8_t enc[AN_RESULT_LEN],
				    const uint8_t *sig, size_t sig_len, int64_t id)
{
	struct rig *g = ctx;
	uint8_t *p = realloc(g->emerg, (g->nemerg + 1) * (16 + AN_RESULT_LEN));

	(void)r;
	(void)sig;
	(void)sig_len;
	(void)id;
	if (!p)
		abort();
	g->emerg = p;
	memcpy(p + g->nemerg * (16 + AN_RESULT_LEN), id_a, 16);
	memcpy(p + g->nemerg * (16 + AN_RESULT_LEN) + 16, enc, AN_RESULT_LEN);
	g->nemerg++;
}

/* Fresh sessions (fresh replay windows) for every device. */
static inline int rig_sessions(struct rig *g)
{
	if (g->sess_open)
		gwd_sessions_free(&g->sess);
	g->sess_open = 0;
	if (gwd_sessions_init(&g->sess, RIG_DEV_MAX, 3600000))
		return -ENOMEM;
	g->sess_open = 1;
	for (unsigned d = 0; d < g->ndev; d++)
		g->handle[d] = gwd_sessions_add(&g->sess, g->id_a[d], g->sk[d], 1000);
	return 0;
}

/* The role on the rig's store (cfg as set): 0 or -1 (err printed). */
static inline int rig_open(struct rig *g)
{
	char err[256] = "";

	if (gwd_mecdata_init(&g->m, &g->cfg, &g->sess, err, sizeof(err))) {
		fprintf(stderr, "rig: %s\n", err);
		return -1;
	}
	gwd_mecdata_on_emergency(&g->m, rig_on_emergency, g);
	g->open = 1;
	return 0;
}

static inline void rig_close(struct rig *g)
{
	if (g->open)
		gwd_mecdata_fini(&g->m);
	g->open = 0;
}

/* Frames [from, to) through handle() in calls of `chunk`. */
static inline void rig_feed(struct rig *g, size_t from, size_t to, size_t chunk)
{
	for (size_t i = from; i < to; i += chunk)
		gwd_mecdata_ops.handle(&g->m, GWD_SRC_DEVICE, g->gf + i,
				       to - i < chunk ? to - i : chunk, 0);
}

static inline void rig_free(struct rig *g)
{
	char cmd[128];

	rig_close(g);
	if (g->sess_open)
		gwd_sessions_free(&g->sess);
	free(g->f);
	free(g->gf);
	free(g->emerg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g->dir);
	if (g->dir[0] && system(cmd))
		fprintf(stderr, "rig: cannot remove %s\n", g->dir);
}

#endif
