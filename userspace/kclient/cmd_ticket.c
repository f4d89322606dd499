/* SPDX-License-Identifier: MIT */
/* iomt-kclient ticket: AS + TGS, then the ticket's facts (never a key). */
#include <stdio.h>

#include "kclient.h"
#include "lib/rt_kservice.h"

static const char usage[] =
	"Usage: iomt-kclient ticket --key FILE --kdc HOST:PORT --target NAME [options]\n"
	"Gets a ticket-granting ticket (AS exchange), then a ticket for NAME (TGS\n"
	"exchange), and prints one line of facts about it: client, kind, patient,\n"
	"target, key version, issue time, lifetime, expiry. Never a key.\n\n" KC_CLIENT_USAGE
	"  --target NAME          the service principal the ticket is for\n\n"
	"Exit status: 0 ticket issued, 1 refused (the KDC's code is printed), 2 usage,\n"
	"3 key file, 4 no answer, 5 other failure.\n";

void kc_print_ticket(const struct rt_kclient *k)
{
	char c[17], p[17], t[17], iss[32], exp[32];
	uint8_t sname[IOMT_KDC_NAME_LEN];
	uint32_t kvno;
	unsigned long long issue = k->c.tkt_issue_ms,
			   end = issue + (unsigned long long)k->c.tkt_life_s * 1000;

	iomt_kdc_ticket_peek(k->c.ticket, sname, &kvno);
	printf("ticket client=%s kind=%s patient=%s target=%s kvno=%u issued=%s issued_ms=%llu "
	       "lifetime_s=%u expires=%s\n",
	       rt_kservice_name_str(k->c.cname, c, sizeof(c)), rt_kservice_kind_str(k->kind),
	       rt_kservice_name_str(k->patient, p, sizeof(p)),
	       rt_kservice_name_str(sname, t, sizeof(t)), kvno,
	       kc_time_str(issue, iss, sizeof(iss)), issue, k->c.tkt_life_s,
	       kc_time_str(end, exp, sizeof(exp)));
}

int cmd_ticket(int argc, char **argv)
{
	struct kc_client_args a = { 0 };
	const char *target = NULL;
	const struct kc_opt opts[] = { KC_CLIENT_OPTS(a), { "target", &target, 1 }, { NULL } };
	struct rt_kclient k;
	int rc = kc_opts_parse(argc, argv, opts, usage);

	if (rc >= 0)
		return rc;
	if ((rc = kc_client_open(&a, &k)))
		return rc;
	rc = kc_client_status(&k, rt_kclient_ticket(&k, target));
	if (rc == KC_EXIT_OK)
		kc_print_ticket(&k);
	rt_kclient_wipe(&k);
	return rc;
}
