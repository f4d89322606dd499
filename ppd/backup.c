/* SPDX-License-Identifier: MIT */
/*
 * 'iomt-ppd backup' and 'restore': K_master as t-of-n Shamir shares
 * (lib/shamir.h, whose check value catches a wrong, mixed or corrupted
 * set). A share file (61 bytes):
 *   0 magic "IOMT-PPS" | 8 version 1 | 9 t | 10 n | 11 zero
 *   | 12 share: x (1) || y (40) | 53 check (8) = ppd_check over 0..53
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ct.h"
#include "files.h"
#include "lib/rt_rng.h"
#include "master.h"
#include "opts.h"
#include "shamir.h"

enum {
	S_VERSION = 1,
	S_SHARE = 12,
	S_SHARE_LEN = 1 + IOMT_KEYTREE_MASTER_LEN + IOMT_SHAMIR_CHECK_LEN,   /* 41 */
	S_CHECK = S_SHARE + S_SHARE_LEN,                                    /* 53 */
	S_FILE_LEN = S_CHECK + PPD_CHECK_LEN,                                /* 61 */
	PASS_MAX = 1024,
	RAND_MAX_LEN = (IOMT_SHAMIR_MAX_SHARES - 1) * (IOMT_KEYTREE_MASTER_LEN + IOMT_SHAMIR_CHECK_LEN),
};

static const uint8_t magic[8] = { 'I', 'O', 'M', 'T', '-', 'P', 'P', 'S' };
static const char check_custom[] = "iomt/ppd/share-check";

static int number(const struct ppd_opts *o, const char *name, const char *text, unsigned *out)
{
	char *end;
	long v = strtol(text, &end, 10);

	if (*end || end == text || v < 1 || v > IOMT_SHAMIR_MAX_SHARES)
		return ppd_fail(o, "--%s %s: not a number in 1..255", name, text);
	*out = (unsigned)v;
	return 0;
}

static int write_shares(const struct ppd_opts *o, const uint8_t k[IOMT_KEYTREE_MASTER_LEN],
			unsigned t, unsigned n)
{
	static uint8_t rnd[RAND_MAX_LEN], shares[IOMT_SHAMIR_MAX_SHARES * S_SHARE_LEN];
	size_t rlen = iomt_shamir_rand_len(IOMT_KEYTREE_MASTER_LEN, t);
	uint8_t file[S_FILE_LEN];
	char path[4096];
	int r;

	r = rt_random(rnd, rlen);
	if (!r)
		r = iomt_shamir_split(k, IOMT_KEYTREE_MASTER_LEN, t, n, rnd, rlen, shares) ? -EINVAL
											: 0;
	iomt_wipe(rnd, sizeof(rnd));
	for (unsigned i = 0; !r && i < n; i++) {
		memset(file, 0, sizeof(file));
		memcpy(file, magic, sizeof(magic));
		file[8] = S_VERSION;
		file[9] = (uint8_t)t;
		file[10] = (uint8_t)n;
		memcpy(file + S_SHARE, shares + (size_t)i * S_SHARE_LEN, S_SHARE_LEN);
		ppd_check(check_custom, file, S_CHECK, file + S_CHECK);
		snprintf(path, sizeof(path), "%s/share-%u-of-%u", o->out_dir, i + 1, n);
		r = ppd_write_new(path, file, sizeof(file));
		if (r)
			ppd_fail(o, "%s: %s", path, strerror(-r));
		else
			printf("wrote %s\n", path);
	}
	iomt_wipe(file, sizeof(file));
	iomt_wipe(shares, sizeof(shares));
	return r ? 1 : 0;
}

int ppd_cmd_backup(int argc, char **argv)
{
	char master[4096], pass[PASS_MAX], err[512];
	uint8_t k[IOMT_KEYTREE_MASTER_LEN];
	struct ppd_opts o;
	unsigned t, n;
	int r;

	if (ppd_opts_parse(&o, "iomt-ppd backup", argc, argv) ||
	    ppd_opts_require(&o, "dir threshold shares out-dir"))
		return 2;
	if (number(&o, "threshold", o.threshold, &t) || number(&o, "shares", o.shares, &n))
		return 2;
	if (t > n)
		return ppd_fail(&o, "--threshold %u is more than --shares %u", t, n);
	if (mkdir(o.out_dir, 0700) < 0 && errno != EEXIST)
		return ppd_fail(&o, "%s: %s", o.out_dir, strerror(errno));
	snprintf(master, sizeof(master), "%s/master.key", o.dir);
	if (ppd_passphrase(&o, pass, sizeof(pass)))
		return 1;
	r = ppd_master_read(master, pass, k, err, sizeof(err));
	iomt_wipe(pass, sizeof(pass));
	if (r)
		return ppd_fail(&o, "%s", err);
	r = write_shares(&o, k, t, n);
	iomt_wipe(k, sizeof(k));
	if (!r)
		printf("any %u of the %u shares rebuild K_master ('iomt-ppd restore'); keep them apart\n",
		       t, n);
	return r;
}

/* One share file into share[S_SHARE_LEN]; t and n from it. */
static int read_share(const struct ppd_opts *o, const char *path, uint8_t *share, unsigned *t,
		      unsigned *n)
{
	uint8_t file[S_FILE_LEN], sum[PPD_CHECK_LEN];
	char err[512];
	long len = ppd_read_private(path, file, sizeof(file), err, sizeof(err));
	int r = 0;

	if (len < 0)
		return ppd_fail(o, "%s", err);
	if (len < (long)sizeof(magic) || memcmp(file, magic, sizeof(magic)))
		r = ppd_fail(o, "%s: not an iomt-ppd share file", path);
	else if (len != S_FILE_LEN || file[8] != S_VERSION || file[11])
		r = ppd_fail(o, "%s: corrupted share file (%ld bytes)", path, len);
	if (!r) {
		ppd_check(check_custom, file, S_CHECK, sum);
		if (!iomt_ct_eq(sum, file + S_CHECK, PPD_CHECK_LEN))
			r = ppd_fail(o, "%s: corrupted share file (checksum mismatch)", path);
		else if (!file[9] || file[9] > file[10] || !file[S_SHARE])
			r = ppd_fail(o, "%s: corrupted share file (fields)", path);
	}
	if (!r) {
		memcpy(share, file + S_SHARE, S_SHARE_LEN);
		*t = file[9];
		*n = file[10];
	}
	iomt_wipe(file, sizeof(file));
	return r;
}

int ppd_cmd_restore(int argc, char **argv)
{
	static uint8_t shares[IOMT_SHAMIR_MAX_SHARES * S_SHARE_LEN];
	char master[4096], pass[PASS_MAX];
	uint8_t k[IOMT_KEYTREE_MASTER_LEN];
	unsigned t = 0, n = 0;
	struct ppd_opts o;
	int r = 0;

	if (ppd_opts_parse(&o, "iomt-ppd restore", argc, argv) ||
	    ppd_opts_require(&o, "dir share"))
		return 2;
	snprintf(master, sizeof(master), "%s/master.key", o.dir);
	for (int i = 0; !r && i < o.nshare; i++) {
		unsigned ti = 0, ni = 0;

		r = read_share(&o, o.share[i], shares + (size_t)i * S_SHARE_LEN, &ti, &ni);
		if (!r && i && (ti != t || ni != n))
			r = ppd_fail(&o, "%s: a share of a %u-of-%u backup, the others are %u-of-%u",
				     o.share[i], ti, ni, t, n);
		t = ti;
		n = ni;
		for (int j = 0; !r && j < i; j++)
			if (shares[(size_t)j * S_SHARE_LEN] == shares[(size_t)i * S_SHARE_LEN])
				r = ppd_fail(&o, "%s: share %u given twice", o.share[i],
					     shares[(size_t)i * S_SHARE_LEN]);
	}
	if (!r && (unsigned)o.nshare < t)
		r = ppd_fail(&o, "%d share%s given, this backup needs %u", o.nshare,
			     o.nshare == 1 ? "" : "s", t);
	if (!r && iomt_shamir_combine(shares, (size_t)o.nshare, S_SHARE_LEN, k))
		r = ppd_fail(&o, "the shares do not rebuild K_master (check value mismatch): one is "
				 "wrong, corrupted or from another backup");
	iomt_wipe(shares, sizeof(shares));
	if (!r && ppd_passphrase(&o, pass, sizeof(pass)))
		r = 1;
	if (!r) {
		int w;

		if (mkdir(o.dir, 0700) < 0 && errno != EEXIST)
			w = -errno;
		else
			w = ppd_master_write(master, k, pass);
		iomt_wipe(pass, sizeof(pass));
		if (w)
			r = ppd_fail(&o, "%s: %s%s", master, strerror(-w),
				     w == -EEXIST ? " (refusing to overwrite it)" : "");
		else
			printf("restored %s from %d shares (wrapped under the passphrase)\n", master,
			       o.nshare);
	}
	iomt_wipe(k, sizeof(k));
	return r;
}
