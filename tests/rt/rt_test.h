/* SPDX-License-Identifier: MIT */
/* Helpers shared by the suites that touch the OS: a scratch directory per
 * test, small file I/O, and the path of a program built beside the suite. */
#ifndef IOMT_RT_TEST_H
#define IOMT_RT_TEST_H

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline int rt_test_rm_one(const char *path, const struct stat *st, int type,
				 struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Removes a scratch directory and everything in it. */
static inline void rt_test_rmtree(const char *dir)
{
	if (dir[0])
		nftw(dir, rt_test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* dir receives a new /tmp/rt-<tag>-XXXXXX directory; 0 or -1. */
static inline int rt_test_mkdtemp(char *dir, size_t len, const char *tag)
{
	snprintf(dir, len, "/tmp/rt-%s-XXXXXX", tag);
	return mkdtemp(dir) ? 0 : -1;
}

static inline int rt_test_write(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	size_t n;

	if (!f)
		return -1;
	n = fwrite(text, 1, len, f);
	return fclose(f) == 0 && n == len ? 0 : -1;
}

/* Whole file into buf (NUL-terminated); its length, or -1. */
static inline long rt_test_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	return (long)got;
}

/* The program prog built beside this suite: <build>/bin/prog for a suite at
 * <build>/tests/<dir>/<suite>. 0, or -1 if /proc/self/exe is unreadable or
 * the path does not fit in cap. */
static inline int rt_test_bin(const char *prog, char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -1;
	self[n] = '\0';
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(self, '/');

		if (!slash)
			return -1;
		*slash = '\0';
	}
	return (size_t)snprintf(out, cap, "%s/bin/%s", self, prog) < cap ? 0 : -1;
}

#endif
