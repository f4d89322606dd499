/* SPDX-License-Identifier: MIT */
/* 'iomt-ppd init': K_master and the evidence log's signing key. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "ct.h"
#include "hex.h"
#include "files.h"
#include "lib/rt_consent.h"
#include "lib/rt_evlog.h"
#include "lib/rt_rng.h"
#include "master.h"
#include "opts.h"

enum { PASS_MAX = 1024 };

int ppd_passphrase(const struct ppd_opts *o, char *buf, size_t cap)
{
	char err[256];
	size_t n;

	if (o->passphrase_file) {
		if (ppd_passphrase_read(o->passphrase_file, buf, cap, err, sizeof(err)))
			return ppd_fail(o, "%s", err);
		return 0;
	}
	if (isatty(0))
		fprintf(stderr, "passphrase for the master key: ");
	if (!fgets(buf, (int)cap, stdin))
		return ppd_fail(o, "no passphrase (give --passphrase-file F, or one line on stdin)");
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (!n)
		return ppd_fail(o, "the passphrase is empty");
	return 0;
}

static int path_in(const struct ppd_opts *o, char *out, size_t cap, const char *name)
{
	if ((size_t)snprintf(out, cap, "%s/%s", o->dir, name) >= cap)
		return ppd_fail(o, "--dir %s: path too long", o->dir);
	if (access(out, F_OK) == 0)
		return ppd_fail(o, "%s exists: refusing to overwrite it", out);
	return 0;
}

int ppd_cmd_init(int argc, char **argv)
{
	char master[4096], key[4096], pub[4096], pass[PASS_MAX], hex[2 * RT_EVLOG_HASH_LEN + 1];
	uint8_t k[IOMT_KEYTREE_MASTER_LEN], id[RT_EVLOG_HASH_LEN];
	struct ppd_opts o;
	EVP_PKEY *ev = NULL;
	int r;

	if (ppd_opts_parse(&o, "iomt-ppd init", argc, argv) || ppd_opts_require(&o, "dir"))
		return 2;
	if (mkdir(o.dir, 0700) < 0 && errno != EEXIST)
		return ppd_fail(&o, "%s: %s", o.dir, strerror(errno));
	if (path_in(&o, master, sizeof(master), "master.key") ||
	    path_in(&o, key, sizeof(key), "evlog.key") || path_in(&o, pub, sizeof(pub), "evlog.pub"))
		return 1;
	if (ppd_passphrase(&o, pass, sizeof(pass)))
		return 1;
	r = rt_random(k, sizeof(k));
	if (!r)
		r = ppd_master_write(master, k, pass);
	iomt_wipe(k, sizeof(k));
	iomt_wipe(pass, sizeof(pass));
	if (r)
		return ppd_fail(&o, "%s: %s", master, strerror(-r));
	r = rt_consent_keygen(&ev);
	if (!r)
		r = rt_consent_key_write(ev, key, pub);
	if (!r)
		r = rt_evlog_key_id(ev, id);
	EVP_PKEY_free(ev);
	if (r) {
		unlink(master);
		return ppd_fail(&o, "%s: %s", key, strerror(-r));
	}
	iomt_hex_encode(id, RT_EVLOG_HASH_LEN, hex);
	printf("created %s (K_master, wrapped under the passphrase)\n"
	       "created %s (evidence log signing key, 0600) and %s\n"
	       "evidence log key id %s\n"
	       "next: 'iomt-ppd backup' to share K_master, then 'iomt-ppd serve'\n",
	       master, key, pub, hex);
	return 0;
}
