/* SPDX-License-Identifier: MIT */
/* iomt-kclient ap: AS + TGS + AP, then the session's fingerprint. */
#include <stdio.h>

#include "kclient.h"
#include "lib/rt_kservice.h"

static const char usage[] =
	"Usage: iomt-kclient ap --key FILE --kdc HOST:PORT --target NAME --service HOST:PORT\n"
	"Gets a ticket for NAME (AS + TGS, as 'ticket' does), presents it to the service\n"
	"at HOST:PORT over UDP (AP exchange) and checks its answer. Prints the ticket's\n"
	"facts, then 'session ... fp=HEX': the fingerprint of the session key the two\n"
	"ends now share (the service logs the same fingerprint). Never a key.\n\n"
	KC_CLIENT_USAGE
	"  --target NAME          the service's principal name\n"
	"  --service HOST:PORT    where the service listens (UDP)\n\n"
	"Exit status: 0 established, 1 refused (the KDC's or service's code is printed),\n"
	"2 usage, 3 key file, 4 no answer, 5 other failure.\n";

int cmd_ap(int argc, char **argv)
{
	struct kc_client_args a = { 0 };
	const char *target = NULL, *service = NULL;
	const struct kc_opt opts[] = { KC_CLIENT_OPTS(a), { "target", &target, 1 },
				       { "service", &service, 1 }, { NULL } };
	struct rt_kclient_session s;
	struct rt_kclient k;
	char c[17], t[17];
	int rc = kc_opts_parse(argc, argv, opts, usage);

	if (rc >= 0)
		return rc;
	if ((rc = kc_client_open(&a, &k)))
		return rc;
	rc = kc_client_status(&k, rt_kclient_ticket(&k, target));
	if (rc == KC_EXIT_OK) {
		kc_print_ticket(&k);
		rc = kc_client_status(&k, rt_kclient_ap(&k, service));
	}
	if (rc == KC_EXIT_OK) {
		rt_kclient_session(&k, &s);
		printf("session client=%s service=%s addr=%s auth_ms=%llu fp=%s\n",
		       rt_kservice_name_str(k.c.cname, c, sizeof(c)),
		       rt_kservice_name_str(s.peer, t, sizeof(t)), service,
		       (unsigned long long)s.auth_ms, s.fp);
	}
	rt_kclient_wipe(&k);
	return rc;
}
