/* SPDX-License-Identifier: MIT */
/* Not a suite: a binary whose tests pass, fail, crash, hang and skip on
 * purpose, run by test_harness.c to check how the harness reports each. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"

TEST(passes)
{
	ASSERT_EQ(2 + 2, 4);
	EXPECT_STREQ("a", "a");
}

TEST(assert_fails)
{
	unsigned long got = 3;

	ASSERT_EQ(got, 4);
	TH_LOG("not reached");
}

TEST(expect_continues)
{
	EXPECT_EQ(-1, 1);
	TH_LOG("after EXPECT");
	ASSERT_MEMEQ("abcd", "abce", 4);
}

TEST(crashes)
{
	abort();  /* SIGABRT: sanitizers leave it alone, unlike SIGSEGV */
}

TEST_TIMEOUT(hangs, 1)
{
	for (;;)
		pause();
}

TEST(skips)
{
	SKIP(return, "feature X is absent");
	ASSERT_TRUE(0);
}

FIXTURE(fx) {
	int setup_ran;
};
FIXTURE_VARIANT(fx) {
	int value;
};
FIXTURE_VARIANT_ADD(fx, one) { .value = 1 };
FIXTURE_VARIANT_ADD(fx, two) { .value = 2 };
FIXTURE_SETUP(fx)
{
	self->setup_ran = variant->value;
}
FIXTURE_TEARDOWN(fx)
{
	/* Teardown runs after a failed ASSERT too. */
	printf("# teardown %d\n", self->setup_ran);
}

TEST_F(fx, value_is_one)
{
	ASSERT_EQ(self->setup_ran, 1);
}

/* Listed and run for variant two only. */
TEST_F_VARIANT(fx, two, value_is_two)
{
	ASSERT_EQ(self->setup_ran, 2);
}
