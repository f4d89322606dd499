/* SPDX-License-Identifier: MIT */
/* rt_random: fills, differs, and reports errors instead of falling back. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "harness.h"
#include "lib/rt_rng.h"

TEST(fills_and_differs)
{
	uint8_t a[32], b[32], zero[32] = { 0 };

	ASSERT_EQ(rt_random(a, sizeof(a)), 0);
	ASSERT_EQ(rt_random(b, sizeof(b)), 0);
	ASSERT_NE(memcmp(a, zero, sizeof(a)), 0);
	ASSERT_NE(memcmp(a, b, sizeof(a)), 0);
}

TEST(zero_length_is_fine)
{
	ASSERT_EQ(rt_random(NULL, 0), 0);
}

/* A large request (may be cut short by signals above 256 bytes) must still
 * come back whole, and look uniform. */
TEST(large_buffer_is_uniform)
{
	enum { LEN = 1 << 20 };
	uint8_t *buf = malloc(LEN);
	unsigned counts[256] = { 0 }, i;

	ASSERT_NONNULL(buf);
	ASSERT_EQ(rt_random(buf, LEN), 0);
	for (i = 0; i < LEN; i++)
		counts[buf[i]]++;
	/* Expect 4096 each, sd 64: +-10 sd never fails by chance. */
	for (i = 0; i < 256; i++) {
		ASSERT_GT(counts[i], 3456);
		ASSERT_LT(counts[i], 4736);
	}
	free(buf);
}

TEST(bad_buffer_is_an_error)
{
	ASSERT_EQ(rt_random((void *)8, 16), -EFAULT);
}

/* A kernel without getrandom(2) (or a sandbox refusing it) must be an error,
 * not a silent switch to something weaker. */
TEST(no_getrandom_is_an_error)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getrandom, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(insns) / sizeof(insns[0]), insns };
	uint8_t buf[16];

	memset(buf, 0xaa, sizeof(buf));
	ASSERT_EQ(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	ASSERT_EQ(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0), 0);
	ASSERT_EQ(rt_random(buf, sizeof(buf)), -ENOSYS);
	ASSERT_EQ(buf[0], 0xaa);
}
