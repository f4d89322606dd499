/* SPDX-License-Identifier: MIT */
/* The record file's bytes behind the library's back (rt_recfile.h layout:
 * a header block, then two copies per record, a copy's sequence number in
 * its first 8 bytes, big-endian), for tests/rt/test_recfile*.c. */
#ifndef IOMT_TESTS_RECFILE_RAW_H
#define IOMT_TESTS_RECFILE_RAW_H
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "harness.h"
#include "lib/rt_recfile.h"

static inline void raw_io(const char *path, off_t off, void *buf, size_t len, int write)
{
	int fd = open(path, write ? O_WRONLY : O_RDONLY);
	ssize_t n;

	ASSERT_GE(fd, 0);
	n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
	close(fd);
	ASSERT_EQ(n, (ssize_t)len);
}

static inline off_t copy_off(size_t idx, int copy)
{
	return (off_t)RT_RECFILE_BLOCK * (off_t)(1 + 2 * idx + (size_t)copy);
}

static inline uint64_t raw_seq(const char *path, size_t idx, int copy)
{
	uint8_t b[8];
	uint64_t s = 0;

	raw_io(path, copy_off(idx, copy), b, sizeof(b), 0);
	for (int i = 0; i < 8; i++)
		s = s << 8 | b[i];
	return s;
}

#endif
