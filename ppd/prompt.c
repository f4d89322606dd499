/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "lib/rt_knet.h"
#include "lib/rt_log.h"
#include "prompt.h"

enum { LINE_MAX_LEN = 64 };

static const char question[] = "\nRelease these keys? Type y or n, then Enter: ";

int ppd_prompt_open(const char *path)
{
	int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static enum ppd_answer verdict(char *line)
{
	char *s = line + strspn(line, " \t");

	s[strcspn(s, " \t\r\n")] = '\0';
	return !strcasecmp(s, "y") || !strcasecmp(s, "yes") ? PPD_ANSWER_YES : PPD_ANSWER_NO;
}

enum ppd_answer ppd_prompt_ask(int fd, const char *summary, uint64_t timeout_ms, int stop_fd)
{
	uint64_t deadline = rt_knet_mono_ms() + timeout_ms;
	char line[LINE_MAX_LEN];
	size_t have = 0;

	/* Keys typed before the question was asked answer nothing. */
	tcflush(fd, TCIFLUSH);
	if (write_all(fd, summary, strlen(summary)) ||
	    write_all(fd, question, sizeof(question) - 1))
		return PPD_ANSWER_GONE;
	for (;;) {
		uint64_t now = rt_knet_mono_ms();
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = stop_fd, .events = POLLIN } };
		ssize_t n;
		int r;

		if (now >= deadline) {
			write_all(fd, "\n(no answer: refused)\n", 22);
			return PPD_ANSWER_TIMEOUT;
		}
		r = poll(p, stop_fd >= 0 ? 2 : 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return PPD_ANSWER_GONE;
		if (!r)
			continue;
		if (stop_fd >= 0 && (p[1].revents & POLLIN))
			return PPD_ANSWER_INTERRUPTED;
		if (p[0].revents & (POLLERR | POLLNVAL))
			return PPD_ANSWER_GONE;
		if (!(p[0].revents & (POLLIN | POLLHUP)))
			continue;
		n = read(fd, line + have, sizeof(line) - 1 - have);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return PPD_ANSWER_GONE;
		have += (size_t)n;
		line[have] = '\0';
		if (memchr(line, '\n', have) || have == sizeof(line) - 1) {
			enum ppd_answer a = verdict(line);

			write_all(fd, a == PPD_ANSWER_YES ? "approved\n" : "refused\n",
				  a == PPD_ANSWER_YES ? 9 : 8);
			return a;
		}
	}
}
