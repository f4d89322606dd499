/* SPDX-License-Identifier: MIT */
/*
 * iomtctl: asks a running iomt-gwd over its control socket (control_socket,
 * userspace/gwd/control.h) and prints the answer. One command per run:
 *
 *   iomtctl [-s SOCK] status|stats|sessions|filter
 *
 * The request is the command word and '\n'; the reply is "ok\n" and text,
 * or "error: WHY\n". Exit status: 0 ok, 1 the daemon refused or could not
 * be reached, 2 usage.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/rt_file.h"

#define DEFAULT_SOCK "/run/iomt/gwd.sock"

enum {
	REPLY_MAX = 1 << 20,
	WAIT_MS = 5000,
};

struct cmd {
	const char *name, *help;
};

static const struct cmd cmds[] = {
	{ "status", "roles, uptime, addresses, links up/down, under-load flag" },
	{ "stats", "every counter and gauge (the /metrics values, one per line)" },
	{ "sessions", "established sessions: count, then handle, ID_a fingerprint, age" },
	{ "filter", "the XDP ingress filter's state" },
	{ NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: iomtctl [-s SOCKET] COMMAND\n"
		   "Asks a running iomt-gwd over its control socket (its 'control_socket' key,\n"
		   "default here " DEFAULT_SOCK ").\n\ncommands:\n");
	for (const struct cmd *c = cmds; c->name; c++)
		fprintf(f, "  %-9s %s\n", c->name, c->help);
	fprintf(f, "\noptions:\n  -s, --socket PATH  the daemon's control socket\n"
		   "  -h, --help         this text\n"
		   "exit status: 0 ok, 1 refused or unreachable, 2 usage\n");
}

/* The whole reply into buf: its length, or -1 (message printed). */
static long ask(const char *sock, const char *cmd, char *buf, size_t cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char req[64];
	size_t got = 0;
	int fd, n;

	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "iomtctl: %s: path too long\n", sock);
		return -1;
	}
	memcpy(sa.sun_path, sock, strlen(sock));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "iomtctl: %s: %s (is iomt-gwd running with control_socket "
			"set?)\n", sock, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	n = snprintf(req, sizeof(req), "%s\n", cmd);
	if (rt_file_write_all(fd, req, (size_t)n)) {
		fprintf(stderr, "iomtctl: %s: sending: %s\n", sock, strerror(errno));
		close(fd);
		return -1;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, WAIT_MS) <= 0) {
			fprintf(stderr, "iomtctl: %s: no answer within %d ms\n", sock, WAIT_MS);
			close(fd);
			return -1;
		}
		r = read(fd, buf + got, cap - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (got += (size_t)r) == cap - 1)
			break;
	}
	close(fd);
	buf[got] = 0;
	return (long)got;
}

int main(int argc, char **argv)
{
	const char *sock = DEFAULT_SOCK, *cmd = NULL;
	char *buf;
	long n;
	int known = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-s") || !strcmp(argv[i], "--socket")) {
			if (++i == argc) {
				fprintf(stderr, "iomtctl: %s needs a path\n", argv[i - 1]);
				return 2;
			}
			sock = argv[i];
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			sock = argv[i] + 9;
		} else if (argv[i][0] == '-' || cmd) {
			fprintf(stderr, "iomtctl: unexpected argument '%s' (try --help)\n", argv[i]);
			return 2;
		} else {
			cmd = argv[i];
		}
	}
	if (!cmd) {
		usage(stderr);
		return 2;
	}
	for (const struct cmd *c = cmds; c->name; c++)
		known |= !strcmp(c->name, cmd);
	if (!known) {
		fprintf(stderr, "iomtctl: unknown command '%s' (status, stats, sessions, filter)\n",
			cmd);
		return 2;
	}
	buf = malloc(REPLY_MAX);
	if (!buf)
		return 1;
	n = ask(sock, cmd, buf, REPLY_MAX);
	if (n < 0) {
		free(buf);
		return 1;
	}
	if (!strncmp(buf, "ok\n", 3)) {
		fputs(buf + 3, stdout);
		free(buf);
		return 0;
	}
	fprintf(stderr, "iomtctl: %s", n ? buf : "the daemon closed without an answer\n");
	free(buf);
	return 1;
}
