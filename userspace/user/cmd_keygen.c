// SPDX-License-Identifier: MIT
/* iomt-user keygen: the phase 1 request (SEC 4 section 3.3). */
#include <stdio.h>

#include "iomt_err.h"
#include "user.h"

static const char usage[] =
	"Usage: iomt-user keygen --out REQ\n"
	"\n"
	"Phase 1 (registration): draws k_U and writes\n"
	"  REQ         R_U = k_U*G, 33 bytes (compressed point): give it to the TTP operator\n"
	"              (iomt-ttp admin register-user), who answers with an ISSUED file;\n"
	"  REQ.secret  k_U, 32 bytes, mode 0600: keep it until 'iomt-user finish'.\n"
	"Existing files are never overwritten.\n";

int cmd_keygen(int argc, char **argv)
{
	const char *out = NULL;
	const struct user_opt opts[] = { { "out", &out, 1 }, { NULL, NULL, 0 } };
	struct ecqv_request req;
	char secret[4096];
	int rc = user_opts_parse(argc, argv, opts, usage), err;

	if (rc >= 0)
		return rc;
	if ((size_t)snprintf(secret, sizeof(secret), "%s.secret", out) >= sizeof(secret))
		return user_fail("%s: path too long", out);
	err = ecqv_request_new(&req);
	if (err)
		return user_fail("cannot draw k_U: %s", iomt_strerror(err));
	rc = USER_EXIT_FAIL;
	if (!file_create("request secret", secret, req.k, sizeof(req.k), 0600)) {
		if (!file_create("request", out, req.ru, sizeof(req.ru), 0644))
			rc = USER_EXIT_OK;
		else
			file_shred(secret);
	}
	ecqv_request_wipe(&req);
	if (rc == USER_EXIT_OK)
		printf("wrote %s (R_U, for the TTP operator) and %s (k_U, secret)\n", out, secret);
	return rc;
}
