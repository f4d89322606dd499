/* SPDX-License-Identifier: MIT */
/* The trusted requesters: cloud applications whose consent requests the
 * PPD accepts, each with its P-256 public key. File: lines
 * 'NAME /path/to/app.pub.pem' (NAME: the requester's KDC name); blank
 * lines and '#' comments ignored. */
#ifndef IOMT_PPD_REQUESTERS_H
#define IOMT_PPD_REQUESTERS_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>

#include "kdc.h"

struct ppd_requester {
	uint8_t name[IOMT_KDC_NAME_LEN];
	EVP_PKEY *pub;
};

struct ppd_requesters {
	struct ppd_requester *v;
	size_t n;
};

/* 0, or -errno with "path:line: why" in err. An absent file is an empty
 * list (0, with a warning): such a PPD only provisions. */
int ppd_requesters_load(const char *path, struct ppd_requesters *rq, char *err, size_t errlen);
/* The key of name, or NULL: unknown requester. */
EVP_PKEY *ppd_requesters_find(const struct ppd_requesters *rq, const uint8_t name[IOMT_KDC_NAME_LEN]);
void ppd_requesters_free(struct ppd_requesters *rq);

#endif
