/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "keygen.h"
#include "lib/rt_consent.h"

static int usage(void)
{
	fprintf(stderr, "usage: iomt-store keygen --out APP.pem --pub APP.pub.pem\n");
	return 2;
}

int store_keygen_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "pub", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *pub = NULL;
	EVP_PKEY *k = NULL;
	int o, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'o': out = optarg; break;
		case 'p': pub = optarg; break;
		case 'h': usage(); return 0;
		default: return usage();
		}
	}
	if (!out || !pub || optind != argc)
		return usage();
	r = rt_consent_keygen(&k);
	if (!r)
		r = rt_consent_key_write(k, out, pub);
	EVP_PKEY_free(k);
	if (r) {
		fprintf(stderr, "iomt-store keygen: %s: %s\n", out,
			r == -EEXIST ? "exists already (never overwritten)" : strerror(-r));
		return 1;
	}
	printf("private key %s (0600), public key %s: give the public key to the patients' PPDs\n",
	       out, pub);
	return 0;
}
