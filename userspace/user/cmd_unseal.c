// SPDX-License-Identifier: MIT
/* iomt-user unseal: opens an ecies box addressed to this key. */
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "lib/ecies.h"
#include "iomt_err.h"
#include "user.h"

static const char usage[] =
	"Usage: iomt-user unseal --key KEYFILE --in SEALED --out FILE [--aad TEXT]\n"
	"\n"
	"Opens SEALED, an ECIES box sealed to this key's public key (for instance\n"
	"the MEC provisioning file written by 'iomt-ttp admin register-mec\n"
	"--to-cert'), and writes its content to FILE (mode 0600, never overwritten).\n"
	"--aad is the associated text the sealer bound to the box; the TTP's\n"
	"provisioning files use none (the default).\n";

static int unseal_explain(int err, const char *in, size_t len)
{
	if (err == IOMT_ESIZE)
		return user_fail("%s: %zu bytes, shorter than any sealed file (%d)", in, len,
				 ECIES_OVERHEAD);
	if (err == IOMT_EAUTH)
		return user_fail("%s does not open with this key: sealed to another key, "
				 "altered, or another --aad", in);
	if (err == IOMT_EMALFORMED)
		return user_fail("%s: not a sealed file (its first 33 bytes are no point)", in);
	return user_fail("%s: cannot open: %s", in, iomt_strerror(err));
}

int cmd_unseal(int argc, char **argv)
{
	static uint8_t box[ECIES_PT_MAX + ECIES_OVERHEAD], pt[ECIES_PT_MAX];
	const char *key = NULL, *in = NULL, *out = NULL, *aad = NULL;
	const struct user_opt opts[] = { { "key", &key, 1 }, { "in", &in, 1 },
					  { "out", &out, 1 }, { "aad", &aad, 0 },
					  { NULL, NULL, 0 } };
	struct user_key k;
	size_t len;
	int rc = user_opts_parse(argc, argv, opts, usage), err;

	if (rc >= 0)
		return rc;
	if (keyfile_load(key, &k))
		return USER_EXIT_FAIL;
	rc = USER_EXIT_FAIL;
	if (file_read("sealed file", in, box, sizeof(box), &len))
		goto out;
	err = ecies_open(k.key, (const uint8_t *)aad, aad ? strlen(aad) : 0, box, len, pt);
	if (err) {
		unseal_explain(err, in, len);
		goto out;
	}
	if (!file_create("output", out, pt, len - ECIES_OVERHEAD, 0600)) {
		printf("unsealed %s into %s (%zu bytes)\n", in, out, len - ECIES_OVERHEAD);
		rc = USER_EXIT_OK;
	}
out:
	iomt_wipe(pt, sizeof(pt));
	keyfile_free(&k);
	return rc;
}
