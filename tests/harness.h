/* SPDX-License-Identifier: MIT */
/*
 * The project's test harness, in the shape of the kernel's kselftest harness
 * (written afresh; no code shared with it).
 *
 *   TEST(name) { ... }                        a plain test
 *   TEST_TIMEOUT(name, seconds) { ... }       the same with its own timeout
 *   FIXTURE(f) { members };                   per-test state, zeroed, as `self`
 *   FIXTURE_SETUP(f) { ... }                  runs before each TEST_F(f, ...)
 *   FIXTURE_TEARDOWN(f) { ... }               runs after it, even if it failed
 *   FIXTURE_VARIANT(f) { members };           optional: parameters, as `variant`
 *   FIXTURE_VARIANT_ADD(f, v) { .x = 1 };     each TEST_F runs once per variant
 *   TEST_F(f, name) { ... }, TEST_F_TIMEOUT(f, name, seconds) { ... }
 *
 *   ASSERT_EQ/NE/LT/LE/GT/GE(a, b)   integers; both values printed on failure;
 *   ASSERT_TRUE/FALSE(c), ASSERT_NULL/NONNULL(p), ASSERT_STREQ(a, b),
 *   ASSERT_MEMEQ(a, b, n)            hex of both printed on failure.
 *   ASSERT_* stops the test (teardown still runs); EXPECT_* records and goes on.
 *   SKIP(statement, fmt, ...)        marks the test skipped with a reason.
 *   TH_LOG(fmt, ...)                 a diagnostic line ("# ...").
 *
 * Each test runs in a forked child, in its own process group (killed when the
 * test ends), with a timeout. Output is TAP 13; the last line is
 * "N passed, N failed, N skipped". A crash is reported as an error and a hang
 * as a timeout, both counted as failed. Assertions must be made from the
 * test's own thread.
 *
 * Binary options: -l lists the test names, -t NAME (repeatable) runs the tests
 * whose full name contains NAME. IOMT_TEST_TIMEOUT_MULT=N multiplies every
 * timeout (sanitizer builds).
 */
#ifndef IOMT_TEST_HARNESS_H
#define IOMT_TEST_HARNESS_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { IOMT_TEST_TIMEOUT_DEFAULT = 30 };

struct iomt_fixture;

struct iomt_variant {
	const char *name;
	const void *data;
	struct iomt_variant *next;
};

struct iomt_test {
	struct iomt_fixture *fixture; /* NULL for TEST() */
	const char *name;
	void (*run)(const void *variant);
	unsigned timeout_s;
	struct iomt_test *next;
	const char *only_variant;     /* TEST_F_VARIANT: run for this variant alone */
};

struct iomt_fixture {
	const char *name;
	struct iomt_variant *variants, **tail;
};

void iomt_register_test(struct iomt_test *t);
void iomt_set_suite(const char *name);

/* The Makefile names each suite "<dir>.<name>" from its path. */
#ifdef IOMT_SUITE
__attribute__((constructor)) static void iomt_suite_name(void)
{
	iomt_set_suite(IOMT_SUITE);
}
#endif
void iomt_register_variant(struct iomt_fixture *f, struct iomt_variant *v);

/* Child-side state of the running test. */
extern sigjmp_buf iomt_test_jmp;
void iomt_test_fail(int stop);
void iomt_test_skip(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int iomt_test_failed(void);
int iomt_test_skipped(void);
void iomt_test_log(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int iomt_test_neg(intmax_t v, int is_signed);
int iomt_test_cmp(uintmax_t a, int a_neg, uintmax_t b, int b_neg);
void iomt_test_report_cmp(const char *file, int line, const char *sa, const char *op,
			  const char *sb, uintmax_t a, int a_neg, uintmax_t b, int b_neg);
void iomt_test_report_mem(const char *file, int line, const char *sa, const char *sb,
			  const void *a, const void *b, size_t n);

#define TH_LOG(...) iomt_test_log(__FILE__, __LINE__, __VA_ARGS__)

#define SKIP(statement, ...)                                      \
	do {                                                      \
		iomt_test_skip(__FILE__, __LINE__, __VA_ARGS__);  \
		statement;                                        \
	} while (0)

/* ---- test definitions ---- */

#define TEST(name) TEST_TIMEOUT(name, IOMT_TEST_TIMEOUT_DEFAULT)
#define TEST_TIMEOUT(name, secs)                                              \
	static void iomt_body_##name(void);                                   \
	static void iomt_run_##name(const void *v)                            \
	{                                                                     \
		(void)v;                                                      \
		if (sigsetjmp(iomt_test_jmp, 1) == 0)                         \
			iomt_body_##name();                                   \
	}                                                                     \
	static struct iomt_test iomt_t_##name = { NULL, #name,                \
						  iomt_run_##name, secs, NULL, NULL }; \
	__attribute__((constructor)) static void iomt_reg_##name(void)        \
	{                                                                     \
		iomt_register_test(&iomt_t_##name);                           \
	}                                                                     \
	static void iomt_body_##name(void)

#define FIXTURE_DATA(f) struct iomt_fixture_##f
#define FIXTURE_VARIANT(f) struct iomt_variant_##f

#define FIXTURE(f)                                                            \
	FIXTURE_VARIANT(f);                                                   \
	static struct iomt_fixture iomt_fix_##f = { #f, NULL, NULL };         \
	FIXTURE_DATA(f)

#define FIXTURE_SETUP(f)                                                      \
	static void iomt_setup_##f(FIXTURE_DATA(f) *self __attribute__((unused)),                     \
				   const FIXTURE_VARIANT(f) *variant __attribute__((unused)))
#define FIXTURE_TEARDOWN(f)                                                   \
	static void iomt_teardown_##f(FIXTURE_DATA(f) *self __attribute__((unused)),                  \
				      const FIXTURE_VARIANT(f) *variant __attribute__((unused)))

#define FIXTURE_VARIANT_ADD(f, v)                                             \
	static const FIXTURE_VARIANT(f) iomt_vd_##f##_##v;                    \
	static struct iomt_variant iomt_v_##f##_##v = { #v, &iomt_vd_##f##_##v, NULL }; \
	__attribute__((constructor)) static void iomt_regv_##f##_##v(void)    \
	{                                                                     \
		iomt_register_variant(&iomt_fix_##f, &iomt_v_##f##_##v);      \
	}                                                                     \
	static const FIXTURE_VARIANT(f) iomt_vd_##f##_##v =

#define TEST_F(f, name) TEST_F_TIMEOUT(f, name, IOMT_TEST_TIMEOUT_DEFAULT)
#define TEST_F_TIMEOUT(f, name, secs) TEST_F_VARIANT_TIMEOUT(f, NULL, name, secs)
/* A fixture test that runs for one variant only (a property of the daemon,
 * not of the variant: checked once, listed once). v is the variant's name. */
#define TEST_F_VARIANT(f, only, name) TEST_F_VARIANT_TIMEOUT(f, #only, name, IOMT_TEST_TIMEOUT_DEFAULT)
#define TEST_F_VARIANT_TIMEOUT(f, only, name, secs)                              \
	static void iomt_body_##f##_##name(FIXTURE_DATA(f) *self __attribute__((unused)),             \
					   const FIXTURE_VARIANT(f) *variant __attribute__((unused))); \
	static void iomt_run_##f##_##name(const void *v)                      \
	{                                                                     \
		static FIXTURE_DATA(f) self;                                  \
		const FIXTURE_VARIANT(f) *variant = v;                        \
		memset(&self, 0, sizeof(self));                               \
		if (sigsetjmp(iomt_test_jmp, 1) == 0) {                       \
			iomt_setup_##f(&self, variant);                       \
			if (!iomt_test_skipped())                             \
				iomt_body_##f##_##name(&self, variant);       \
		}                                                             \
		if (sigsetjmp(iomt_test_jmp, 1) == 0)                         \
			iomt_teardown_##f(&self, variant);                    \
	}                                                                     \
	static struct iomt_test iomt_t_##f##_##name = {                       \
		&iomt_fix_##f, #name, iomt_run_##f##_##name, secs, NULL, only }; \
	__attribute__((constructor)) static void iomt_reg_##f##_##name(void)  \
	{                                                                     \
		iomt_register_test(&iomt_t_##f##_##name);                     \
	}                                                                     \
	static void iomt_body_##f##_##name(FIXTURE_DATA(f) *self __attribute__((unused)),             \
					   const FIXTURE_VARIANT(f) *variant __attribute__((unused)))

/* ---- assertions ---- */

/* Signed types keep -1's sign bit through a shift; unsigned ones end at 1.
 * (A plain "-1 < 0" test trips -Wtype-limits for unsigned types.) */
#define IOMT_IS_SIGNED(x) (((__typeof__(x))-1 >> (8 * sizeof(x) - 1)) != 1)
#define IOMT_NEG(x) iomt_test_neg((intmax_t)(x), IOMT_IS_SIGNED(x))

#define IOMT_CMP(stop, a, op, b)                                              \
	do {                                                                  \
		__typeof__(a) iomt_a_ = (a);                                  \
		__typeof__(b) iomt_b_ = (b);                                  \
		if (!(iomt_test_cmp((uintmax_t)iomt_a_, IOMT_NEG(iomt_a_),    \
				    (uintmax_t)iomt_b_, IOMT_NEG(iomt_b_)) op 0)) { \
			iomt_test_report_cmp(__FILE__, __LINE__, #a, #op, #b, \
					     (uintmax_t)iomt_a_, IOMT_NEG(iomt_a_), \
					     (uintmax_t)iomt_b_, IOMT_NEG(iomt_b_)); \
			iomt_test_fail(stop);                                 \
		}                                                             \
	} while (0)

#define IOMT_BOOL(stop, c, want)                                              \
	do {                                                                  \
		if ((!!(c)) != (want)) {                                      \
			TH_LOG("expected %s to be %s", #c, (want) ? "true" : "false"); \
			iomt_test_fail(stop);                                 \
		}                                                             \
	} while (0)

#define IOMT_STREQ(stop, a, b)                                                \
	do {                                                                  \
		const char *iomt_sa_ = (a), *iomt_sb_ = (b);                  \
		if (!iomt_sa_ || !iomt_sb_ || strcmp(iomt_sa_, iomt_sb_)) {   \
			TH_LOG("expected %s == %s: \"%s\" vs \"%s\"", #a, #b, \
			       iomt_sa_ ? iomt_sa_ : "(null)",                \
			       iomt_sb_ ? iomt_sb_ : "(null)");               \
			iomt_test_fail(stop);                                 \
		}                                                             \
	} while (0)

#define IOMT_MEMEQ(stop, a, b, n)                                             \
	do {                                                                  \
		const void *iomt_ma_ = (a), *iomt_mb_ = (b);                  \
		size_t iomt_mn_ = (n);                                        \
		if (memcmp(iomt_ma_, iomt_mb_, iomt_mn_)) {                   \
			iomt_test_report_mem(__FILE__, __LINE__, #a, #b,      \
					     iomt_ma_, iomt_mb_, iomt_mn_);   \
			iomt_test_fail(stop);                                 \
		}                                                             \
	} while (0)

#define ASSERT_EQ(a, b) IOMT_CMP(1, a, ==, b)
#define ASSERT_NE(a, b) IOMT_CMP(1, a, !=, b)
#define ASSERT_LT(a, b) IOMT_CMP(1, a, <, b)
#define ASSERT_LE(a, b) IOMT_CMP(1, a, <=, b)
#define ASSERT_GT(a, b) IOMT_CMP(1, a, >, b)
#define ASSERT_GE(a, b) IOMT_CMP(1, a, >=, b)
#define ASSERT_TRUE(c) IOMT_BOOL(1, c, 1)
#define ASSERT_FALSE(c) IOMT_BOOL(1, c, 0)
#define ASSERT_NULL(p) IOMT_BOOL(1, (p) == NULL, 1)
#define ASSERT_NONNULL(p) IOMT_BOOL(1, (p) != NULL, 1)
#define ASSERT_STREQ(a, b) IOMT_STREQ(1, a, b)
#define ASSERT_MEMEQ(a, b, n) IOMT_MEMEQ(1, a, b, n)

#define EXPECT_EQ(a, b) IOMT_CMP(0, a, ==, b)
#define EXPECT_NE(a, b) IOMT_CMP(0, a, !=, b)
#define EXPECT_LT(a, b) IOMT_CMP(0, a, <, b)
#define EXPECT_LE(a, b) IOMT_CMP(0, a, <=, b)
#define EXPECT_GT(a, b) IOMT_CMP(0, a, >, b)
#define EXPECT_GE(a, b) IOMT_CMP(0, a, >=, b)
#define EXPECT_TRUE(c) IOMT_BOOL(0, c, 1)
#define EXPECT_FALSE(c) IOMT_BOOL(0, c, 0)
#define EXPECT_NULL(p) IOMT_BOOL(0, (p) == NULL, 1)
#define EXPECT_NONNULL(p) IOMT_BOOL(0, (p) != NULL, 1)
#define EXPECT_STREQ(a, b) IOMT_STREQ(0, a, b)
#define EXPECT_MEMEQ(a, b, n) IOMT_MEMEQ(0, a, b, n)

#endif
