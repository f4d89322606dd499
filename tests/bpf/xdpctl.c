/* SPDX-License-Identifier: MIT */
/*
 * A small driver of the XDP loader for tests/bpf/test_veth.sh and the
 * benchmark: finds the interface (rt_nl), loads and attaches the filter
 * (rt_xdp), then obeys one command per line on stdin:
 *
 *   counters                      -> "counters PASS=n PASS_NOT_OURS=n ..."
 *   rates RATE BURST CRATE CBURST
 *   load 0|1
 *   keys CUR_HEX [PREV_HEX]       (16-byte keys)
 *   session HANDLE_HEX TOP BITS
 *   linkwait up|down              -> "link up|down" once rtnetlink reports
 *                                    the interface in that state (5 s at
 *                                    most: "link timeout")
 *   quit                          detach and exit
 *
 * Usage: xdpctl IFNAME PORT [PORT...]. Exit 0, 2 on usage, 3 when XDP
 * cannot be attached (the reason on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <arpa/inet.h>
#include "lib/rt_xdp.h"
#include "lib/rt_nl.h"
#include "hex.h"

static struct rt_nl_watch *watch;
static int link_state = -1;

static void on_link(void *ctx, int ifindex, int up)
{
	(void)ctx;
	(void)ifindex;
	link_state = up;
}

static void link_wait(int want)
{
	struct pollfd p = { .fd = rt_nl_watch_fd(watch), .events = POLLIN };

	link_state = -1;
	while (link_state != want && poll(&p, 1, 5000) > 0)
		if (rt_nl_watch_dispatch(watch))
			break;
	printf("link %s\n", link_state != want ? "timeout" : want ? "up" : "down");
}

static int hexarg(const char *s, uint8_t *out, size_t n)
{
	size_t bad;

	return s && strlen(s) == 2 * n && iomt_hex_decode(s, 2 * n, out, n, &bad) == 0 ? 0 : -1;
}

static void print_counters(struct rt_xdp *x)
{
	uint64_t c[IOMT_XF_NVERDICTS];

	if (rt_xdp_counters(x, c)) {
		printf("error counters\n");
		return;
	}
	printf("counters");
	for (int v = 0; v < IOMT_XF_NVERDICTS; v++)
		printf(" %s=%llu", rt_xdp_verdict_name(v), (unsigned long long)c[v]);
	printf("\n");
}

static int command(struct rt_xdp *x, char *line)
{
	char *arg[5] = { 0 }, *save = NULL;
	uint8_t k1[16], k2[16], h[8];
	int n = 0, err = 0;

	for (char *t = strtok_r(line, " \t\n", &save); t && n < 5; t = strtok_r(NULL, " \t\n", &save))
		arg[n++] = t;
	if (n == 0)
		return 0;
	if (!strcmp(arg[0], "quit"))
		return 1;
	if (!strcmp(arg[0], "counters")) {
		print_counters(x);
	} else if (!strcmp(arg[0], "linkwait") && n == 2) {
		link_wait(!strcmp(arg[1], "up"));
	} else if (!strcmp(arg[0], "rates") && n == 5) {
		err = rt_xdp_set_rates(x, strtoull(arg[1], NULL, 10), strtoull(arg[2], NULL, 10),
				       strtoull(arg[3], NULL, 10), strtoull(arg[4], NULL, 10));
	} else if (!strcmp(arg[0], "load") && n == 2) {
		err = rt_xdp_set_under_load(x, atoi(arg[1]));
	} else if (!strcmp(arg[0], "keys") && n >= 2 && !hexarg(arg[1], k1, 16) &&
		   (n == 2 || !hexarg(arg[2], k2, 16))) {
		err = rt_xdp_set_cookie_keys(x, k1, n > 2 ? k2 : NULL);
	} else if (!strcmp(arg[0], "session") && n == 4 && !hexarg(arg[1], h, 8)) {
		err = rt_xdp_session_set(x, h, strtoull(arg[2], NULL, 10), strtoull(arg[3], NULL, 10));
	} else {
		printf("error unknown command '%s'\n", arg[0]);
		fflush(stdout);
		return 0;
	}
	if (strcmp(arg[0], "counters") && strcmp(arg[0], "linkwait"))
		printf(err ? "error %s\n" : "ok\n", strerror(-err));
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	uint16_t ports[IOMT_XF_MAX_PORTS];
	struct rt_nl_addr a[RT_NL_MAX_ADDRS];
	struct rt_xdp *x = NULL;
	char why[512], line[512], txt[INET6_ADDRSTRLEN];
	int ifindex, n, np = argc - 2;

	if (argc < 3 || np > IOMT_XF_MAX_PORTS) {
		fprintf(stderr, "usage: xdpctl IFNAME PORT [PORT...] (commands on stdin)\n");
		return 2;
	}
	for (int i = 0; i < np; i++)
		ports[i] = (uint16_t)atoi(argv[2 + i]);
	ifindex = rt_nl_ifindex(argv[1]);
	if (ifindex < 0) {
		fprintf(stderr, "xdpctl: %s: %s\n", argv[1], strerror(-ifindex));
		return 2;
	}
	n = rt_nl_watch_open(&watch, ifindex, on_link, NULL);
	if (n) {
		fprintf(stderr, "xdpctl: watching %s: %s\n", argv[1], strerror(-n));
		return 2;
	}
	n = rt_nl_addrs(ifindex, a, RT_NL_MAX_ADDRS);
	printf("link %s ifindex %d up %d addrs", argv[1], ifindex, rt_nl_link_up(ifindex));
	for (int i = 0; i < n; i++)
		printf(" %s/%d", inet_ntop(a[i].family, a[i].addr, txt, sizeof(txt)) ? txt : "?",
		       a[i].prefixlen);
	printf("\n");
	if (rt_xdp_open(&x, ports, (size_t)np, why, sizeof(why)) ||
	    rt_xdp_attach(x, ifindex, why, sizeof(why))) {
		fprintf(stderr, "XDP not available: %s; running the same checks in userspace\n", why);
		rt_xdp_close(x);
		rt_nl_watch_close(watch);
		return 3;
	}
	printf("attached %s\n", rt_xdp_mode(x) == RT_XDP_NATIVE ? "native" : "generic");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		if (command(x, line))
			break;
	rt_xdp_close(x);
	rt_nl_watch_close(watch);
	printf("detached\n");
	return 0;
}
