/* SPDX-License-Identifier: MIT */
/* The harness's own tests: run the demo binary and check its TAP report. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"

static char out[16384];
static int demo_rc;

/* Runs ./demo (next to this binary) with optional args; output into out[]. */
static void run_demo(const char *arg1, const char *arg2)
{
	char self[4096], cmd[4200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	FILE *f;
	size_t len;

	ASSERT_GT(n, 0);
	self[n] = 0;
	*strrchr(self, '/') = 0;
	/* The demo reports its own 1 s timeout: no multiplier from make check. */
	snprintf(cmd, sizeof(cmd), "IOMT_TEST_TIMEOUT_MULT=1 %s/demo %s %s", self, arg1 ? arg1 : "", arg2 ? arg2 : "");
	f = popen(cmd, "r");
	ASSERT_NONNULL(f);
	len = fread(out, 1, sizeof(out) - 1, f);
	out[len] = 0;
	demo_rc = pclose(f);
}

#define ASSERT_HAS(s)                                              \
	do {                                                       \
		if (!strstr(out, s)) {                             \
			TH_LOG("missing from report: %s", s);      \
			ASSERT_TRUE(0);                            \
		}                                                  \
	} while (0)

TEST(reports_every_outcome)
{
	run_demo(NULL, NULL);
	ASSERT_HAS("TAP version 13\n1..9\n");
	ASSERT_HAS("ok 1 harness.demo.passes\n");
	ASSERT_HAS("not ok 2 harness.demo.assert_fails # FAIL\n");
	ASSERT_HAS("not ok 3 harness.demo.expect_continues # FAIL\n");
	ASSERT_HAS("not ok 4 harness.demo.crashes # ERROR: killed by signal 6");
	ASSERT_HAS("not ok 5 harness.demo.hangs # TIMEOUT after 1 s\n");
	ASSERT_HAS("ok 6 harness.demo.skips # SKIP feature X is absent\n");
	ASSERT_HAS("ok 7 harness.demo.fx.one.value_is_one\n");
	ASSERT_HAS("not ok 8 harness.demo.fx.two.value_is_one # FAIL\n");
	ASSERT_HAS("ok 9 harness.demo.fx.two.value_is_two\n");
	ASSERT_HAS("\n3 passed, 5 failed, 1 skipped\n");
	ASSERT_EQ(WEXITSTATUS(demo_rc), 1);
}

TEST(prints_values_and_stops_on_assert)
{
	run_demo("-t", "assert_fails");
	ASSERT_HAS("expected got == 4: got is 3 (0x3), 4 is 4 (0x4)");
	ASSERT_TRUE(strstr(out, "not reached") == NULL);
	ASSERT_HAS("0 passed, 1 failed, 0 skipped\n");
}

TEST(expect_continues_and_dumps_memory)
{
	run_demo("-t", "expect_continues");
	ASSERT_HAS("expected -1 == 1: -1 is -1, 1 is 1 (0x1)");
	ASSERT_HAS("after EXPECT");
	ASSERT_HAS("first difference at 3");
	ASSERT_HAS(": 61626364");
}

TEST(teardown_runs_after_failure)
{
	run_demo("-t", "fx.two.value_is_one");
	ASSERT_HAS("# teardown 2\n");
	ASSERT_HAS("0 passed, 1 failed, 0 skipped\n");
}

TEST(lists_and_filters)
{
	run_demo("-l", NULL);
	ASSERT_HAS("harness.demo.fx.one.value_is_one\nharness.demo.fx.two.value_is_one\n"
		   "harness.demo.fx.two.value_is_two\n");
	ASSERT_TRUE(strstr(out, "fx.one.value_is_two") == NULL);  /* one variant only */
	ASSERT_EQ(WEXITSTATUS(demo_rc), 0);
	run_demo("-t", "passes");
	ASSERT_HAS("1..1\nok 1 harness.demo.passes\n");
	ASSERT_HAS("1 passed, 0 failed, 0 skipped\n");
	ASSERT_EQ(WEXITSTATUS(demo_rc), 0);
}

TEST(signed_unsigned_compare_is_mathematical)
{
	/* -1 < 1u must hold even though C's usual conversions say otherwise. */
	ASSERT_LT(-1, 1u);
	ASSERT_GT((uint64_t)UINT64_MAX, (int64_t)-1);
	ASSERT_EQ((uint8_t)200, 200);
}
