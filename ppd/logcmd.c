/* SPDX-License-Identifier: MIT */
/* 'iomt-ppd log verify|show|export': the evidence log, offline, with
 * nothing but the file and the log's public key. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#include "consent.h"
#include "lib/rt_evlog.h"
#include "opts.h"

static void report(const struct ppd_opts *o, const struct rt_evlog_report *rep, int r)
{
	if (rep->status == RT_EVLOG_OK && !r)
		return;
	fprintf(stderr, "%s: %s: TAMPERED or damaged: %s", o->prog, o->log,
		rt_evlog_status_name(rep->status));
	if (rep->seq != RT_EVLOG_NO_SEQ)
		fprintf(stderr, " at entry %llu", (unsigned long long)rep->seq);
	fprintf(stderr, " (file offset %llu)%s%s\n", (unsigned long long)rep->offset,
		rep->detail[0] ? ": " : "", rep->detail);
}

static int load_pub(const struct ppd_opts *o, EVP_PKEY **pub)
{
	int r = rt_evlog_pub_load(o->pub, pub);

	if (r)
		ppd_fail(o, "%s: %s", o->pub, r == -EINVAL ? "not a P-256 public key" : strerror(-r));
	return r;
}

static void fmt_time(uint64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ms % 1000));
}

/* JSON and text payloads print as they are; anything else as hex. */
static int printable(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

/* A consent request as received: what it asked, before its bytes. */
static void consent_line(const uint8_t *p, size_t len)
{
	static struct iomt_consent_req q;
	char from[64], to[64], who[IOMT_CONSENT_NAME_LEN + 1] = "";

	if (iomt_consent_decode(&q, p, len)) {
		printf("(does not parse) ");
		return;
	}
	memcpy(who, q.requester, IOMT_CONSENT_NAME_LEN);
	fmt_time(q.from_ms, from, sizeof(from));
	fmt_time(q.to_ms, to, sizeof(to));
	printf("{\"request_id\":\"");
	for (int i = 0; i < IOMT_CONSENT_ID_LEN; i++)
		printf("%02x", q.request_id[i]);
	printf("\",\"requester\":\"%s\",\"purpose\":\"%s\",\"from\":\"%s\",\"to\":\"%s\","
	       "\"nodes\":%u} ", who, iomt_consent_purpose_name(q.purpose), from, to, q.count);
}

static int show_one(const struct rt_evlog_item *it, void *arg)
{
	char when[64];
	const char *name;

	(void)arg;
	fmt_time(it->time_ms, when, sizeof(when));
	if (it->kind == RT_EVLOG_HEAD) {
		printf("%6llu  %s  head     signed through entry %llu\n",
		       (unsigned long long)it->seq, when, (unsigned long long)it->seq);
		return 0;
	}
	name = rt_evlog_type_name(it->type);
	printf("%6llu  %s  %-16s ", (unsigned long long)it->seq, when, name ? name : "user");
	if (it->type == RT_EVLOG_CONSENT_REQUEST)
		consent_line(it->payload, it->len);
	if (printable(it->payload, it->len)) {
		printf("%.*s\n", (int)it->len, (const char *)it->payload);
	} else {
		printf("(%zu bytes) ", it->len);
		for (size_t i = 0; i < it->len; i++)
			printf("%02x", it->payload[i]);
		printf("\n");
	}
	return 0;
}

int ppd_cmd_log(int argc, char **argv)
{
	struct rt_evlog_report rep;
	struct ppd_opts o;
	const char *what = argc >= 2 ? argv[1] : "";
	EVP_PKEY *pub = NULL;
	int r;

	if (strcmp(what, "verify") && strcmp(what, "show") && strcmp(what, "export")) {
		fprintf(stderr, "usage: iomt-ppd log verify|show|export --log FILE --pub PUB "
				"[--out FILE] [--json]\n");
		return 2;
	}
	if (ppd_opts_parse(&o, !strcmp(what, "verify") ? "iomt-ppd log verify"
			       : !strcmp(what, "show") ? "iomt-ppd log show" : "iomt-ppd log export",
			   argc - 2, argv + 2) ||
	    ppd_opts_require(&o, "log pub") ||
	    (!strcmp(what, "export") && !o.json && ppd_opts_require(&o, "out")))
		return 2;
	if (load_pub(&o, &pub))
		return 2;
	memset(&rep, 0, sizeof(rep));
	if (!strcmp(what, "verify")) {
		r = rt_evlog_verify_file(o.log, pub, &rep);
		if (!r)
			printf("%s: sound: %llu entries, %llu signed heads, last entry %llu signed\n",
			       o.log, (unsigned long long)rep.entries, (unsigned long long)rep.heads,
			       (unsigned long long)rep.signed_seq);
	} else if (!strcmp(what, "show")) {
		r = rt_evlog_walk_file(o.log, pub, show_one, NULL, &rep);
	} else if (o.json && !o.out) {
		r = rt_evlog_export_json(o.log, pub, stdout, &rep);
	} else if (o.json) {
		FILE *f = fopen(o.out, "wx");

		r = f ? rt_evlog_export_json(o.log, pub, f, &rep) : -errno;
		if (f && fclose(f) && !r)
			r = -errno;
	} else {
		r = rt_evlog_export(o.log, pub, o.out, &rep);
		if (!r)
			printf("%s: verified and copied to %s\n", o.log, o.out);
	}
	EVP_PKEY_free(pub);
	if (r == -EKEYREJECTED) {
		ppd_fail(&o, "%s: signed by another key than %s", o.log, o.pub);
		return 1;
	}
	if (r && (rep.status == RT_EVLOG_OK || rep.status == RT_EVLOG_E_IO)) {
		ppd_fail(&o, "%s: %s", o.log, strerror(-r));
		return r == -EBADMSG ? 1 : 2;
	}
	report(&o, &rep, r);
	return r ? 1 : 0;
}
