// SPDX-License-Identifier: MIT
/* iomt-user show: what a key file holds, never its private key. */
#include <stdio.h>

#include <openssl/evp.h>

#include "user.h"

static const char usage[] =
	"Usage: iomt-user show --key KEYFILE [--ca-pub CA.pem]\n"
	"\n"
	"Prints the certificate (subject, role, issuer, serial, attributes, validity)\n"
	"and the public key with its SHA-256 fingerprint. With --ca-pub, also checks\n"
	"that the key belongs to the certificate under that CA key (exit 1 if not).\n";

static void show_attr(const struct ecqv_cert *c)
{
	char hex[2 * ECQV_ATTR_MAX + 1];
	size_t i;

	for (i = 0; i < c->attr_len; i++)
		if (c->attr[i] < 0x20 || c->attr[i] > 0x7e)
			break;
	if (!c->attr_len)
		printf("attributes  (none)\n");
	else if (i == c->attr_len)
		printf("attributes  %.*s\n", (int)c->attr_len, (const char *)c->attr);
	else {
		iomt_hex_encode(c->attr, c->attr_len, hex);
		printf("attributes  %s (hex)\n", hex);
	}
}

static void show_cert(const struct ecqv_cert *c, uint64_t now)
{
	char id[2 * ECQV_ID_LEN + 1], nb[32], na[32];

	id_format(id, c->subject);
	printf("subject     %s\n", id);
	printf("role        %s\n", role_name(c->role));
	id_format(id, c->issuer);
	printf("issuer      %s\n", id);
	printf("serial      %016llx\n", (unsigned long long)c->serial);
	show_attr(c);
	time_format(nb, c->not_before);
	time_format(na, c->not_after);
	printf("valid       %s to %s (%s)\n", nb, na,
	       now < c->not_before ? "not yet valid" : now > c->not_after ? "expired" : "valid now");
}

static int show_pub(EVP_PKEY *key)
{
	uint8_t q[ECQV_POINT_LEN], fp[32];
	char hex[2 * ECQV_POINT_LEN + 1];	/* the longer of q and fp */
	unsigned int fplen;

	if (key_pub33(key, q) || !EVP_Digest(q, sizeof(q), fp, &fplen, EVP_sha256(), NULL))
		return user_fail("cannot read the public key");
	iomt_hex_encode(q, sizeof(q), hex);
	printf("public key  %s\n", hex);
	iomt_hex_encode(fp, sizeof(fp), hex);
	printf("fingerprint SHA256:%s\n", hex);
	return USER_EXIT_OK;
}

int cmd_show(int argc, char **argv)
{
	const char *path = NULL, *ca = NULL;
	const struct user_opt opts[] = { { "key", &path, 1 }, { "ca-pub", &ca, 0 },
					  { NULL, NULL, 0 } };
	struct user_key k;
	EVP_PKEY *ca_pub = NULL;
	uint64_t now = user_now();
	int rc = user_opts_parse(argc, argv, opts, usage);

	if (rc >= 0)
		return rc;
	if (keyfile_load(path, &k))
		return USER_EXIT_FAIL;
	show_cert(&k.cert, now);
	rc = show_pub(k.key);
	if (!rc && ca && (ca_pub_load(ca, &ca_pub) || keyfile_check_cert(&k, ca_pub, now)))
		rc = USER_EXIT_FAIL;
	else if (!rc && ca)
		printf("check       the key belongs to this certificate under %s\n", ca);
	EVP_PKEY_free(ca_pub);
	keyfile_free(&k);
	return rc;
}
