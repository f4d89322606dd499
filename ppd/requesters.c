/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "ct.h"
#include "lib/rt_consent.h"
#include "lib/rt_log.h"
#include "requesters.h"

static int add(struct ppd_requesters *rq, const uint8_t name[IOMT_KDC_NAME_LEN], EVP_PKEY *pub)
{
	struct ppd_requester *v = realloc(rq->v, (rq->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	rq->v = v;
	memcpy(v[rq->n].name, name, IOMT_KDC_NAME_LEN);
	v[rq->n].pub = pub;
	rq->n++;
	return 0;
}

static int line(struct ppd_requesters *rq, const char *path, unsigned no, char *text, char *err,
		size_t errlen)
{
	char *save = NULL, *name, *file, *extra, why[320];
	uint8_t n[IOMT_KDC_NAME_LEN];
	EVP_PKEY *pub = NULL;
	int r;

	text[strcspn(text, "#\r\n")] = '\0';
	name = strtok_r(text, " \t", &save);
	if (!name)
		return 0;
	file = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	if (!file || extra) {
		snprintf(err, errlen, "%s:%u: expected 'NAME /path/to/key.pub.pem'", path, no);
		return -EINVAL;
	}
	if (iomt_kdc_name_from_text(n, name)) {
		snprintf(err, errlen, "%s:%u: '%s' is not a KDC name (1..16 of A-Za-z0-9._:-)", path,
			 no, name);
		return -EINVAL;
	}
	if (ppd_requesters_find(rq, n)) {
		snprintf(err, errlen, "%s:%u: requester '%s' listed twice", path, no, name);
		return -EINVAL;
	}
	r = rt_consent_pub_load(file, &pub, why, sizeof(why));
	if (r) {
		snprintf(err, errlen, "%s:%u: %s", path, no, why);
		return r;
	}
	r = add(rq, n, pub);
	if (r)
		EVP_PKEY_free(pub);
	return r;
}

int ppd_requesters_load(const char *path, struct ppd_requesters *rq, char *err, size_t errlen)
{
	char text[1024];
	unsigned no = 0;
	FILE *f;
	int r = 0;

	memset(rq, 0, sizeof(*rq));
	f = fopen(path, "re");
	if (!f && errno == ENOENT) {
		rt_warn("%s: no such file: no requester is trusted (provisioning only)", path);
		return 0;
	}
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (!r && fgets(text, sizeof(text), f))
		r = line(rq, path, ++no, text, err, errlen);
	fclose(f);
	if (r)
		ppd_requesters_free(rq);
	return r;
}

EVP_PKEY *ppd_requesters_find(const struct ppd_requesters *rq, const uint8_t name[IOMT_KDC_NAME_LEN])
{
	for (size_t i = 0; i < rq->n; i++)
		if (iomt_ct_eq(rq->v[i].name, name, IOMT_KDC_NAME_LEN))
			return rq->v[i].pub;
	return NULL;
}

void ppd_requesters_free(struct ppd_requesters *rq)
{
	for (size_t i = 0; i < rq->n; i++)
		EVP_PKEY_free(rq->v[i].pub);
	free(rq->v);
	memset(rq, 0, sizeof(*rq));
}
