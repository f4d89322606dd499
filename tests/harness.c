/* SPDX-License-Identifier: MIT */
/* Test harness runtime: registry, forked runner with timeouts, TAP output. */
#include "harness.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


enum result { RES_PASS, RES_FAIL, RES_SKIP };
enum { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_SKIP = 4 };

/* Shared with the forked child so it can hand back a skip reason. */
struct shared {
	int failed;
	int skipped;
	char reason[256];
};

sigjmp_buf iomt_test_jmp;
static struct shared *shared;
static struct iomt_test *tests, **tests_tail = &tests;
static const char *suite;

void iomt_set_suite(const char *name)
{
	suite = name;
}

void iomt_register_test(struct iomt_test *t)
{
	*tests_tail = t;
	tests_tail = &t->next;
}

void iomt_register_variant(struct iomt_fixture *f, struct iomt_variant *v)
{
	if (!f->tail)
		f->tail = &f->variants;
	*f->tail = v;
	f->tail = &v->next;
}

void iomt_test_log(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void iomt_test_fail(int stop)
{
	shared->failed = 1;
	if (stop)
		siglongjmp(iomt_test_jmp, 1);
}

int iomt_test_failed(void)
{
	return shared->failed;
}

int iomt_test_skipped(void)
{
	return shared->skipped;
}

void iomt_test_skip(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	(void)file;
	(void)line;
	shared->skipped = 1;
	va_start(ap, fmt);
	vsnprintf(shared->reason, sizeof(shared->reason), fmt, ap);
	va_end(ap);
}

/* Out of line so that "unsigned < 0" never appears in a macro expansion. */
int iomt_test_neg(intmax_t v, int is_signed)
{
	return is_signed && v < 0;
}

/* Three-way compare of two integers given as bits + "is negative". */
int iomt_test_cmp(uintmax_t a, int a_neg, uintmax_t b, int b_neg)
{
	if (a_neg != b_neg)
		return a_neg ? -1 : 1;
	if (a_neg)
		return (intmax_t)a < (intmax_t)b ? -1 : (intmax_t)a > (intmax_t)b;
	return a < b ? -1 : a > b;
}

static void fmt_int(char *buf, size_t len, uintmax_t v, int neg)
{
	if (neg)
		snprintf(buf, len, "%" PRIdMAX, (intmax_t)v);
	else
		snprintf(buf, len, "%" PRIuMAX " (0x%" PRIxMAX ")", v, v);
}

void iomt_test_report_cmp(const char *file, int line, const char *sa, const char *op,
			  const char *sb, uintmax_t a, int a_neg, uintmax_t b, int b_neg)
{
	char va[64], vb[64];

	fmt_int(va, sizeof(va), a, a_neg);
	fmt_int(vb, sizeof(vb), b, b_neg);
	iomt_test_log(file, line, "expected %s %s %s: %s is %s, %s is %s",
		      sa, op, sb, sa, va, sb, vb);
}

static void hex_line(const char *tag, const unsigned char *p, size_t n)
{
	size_t show = n > 64 ? 64 : n;

	printf("#   %s:", tag);
	for (size_t i = 0; i < show; i++)
		printf("%s%02x", i % 16 ? "" : " ", p[i]);
	printf("%s\n", n > show ? " ..." : "");
}

void iomt_test_report_mem(const char *file, int line, const char *sa, const char *sb,
			  const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	size_t first = 0;

	while (first < n && x[first] == y[first])
		first++;
	iomt_test_log(file, line, "expected %s == %s over %zu bytes; first difference at %zu",
		      sa, sb, n, first);
	hex_line(sa, x, n);
	hex_line(sb, y, n);
	fflush(stdout);
}

/* ---- runner ---- */

struct tcase {
	const struct iomt_test *t;
	const struct iomt_variant *v;
	char name[256];
};

static const char *suite_name(const char *argv0)
{
	const char *base;

	if (suite)
		return suite;
	base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	return strncmp(base, "test_", 5) ? base : base + 5;
}

static unsigned timeout_mult(void)
{
	const char *m = getenv("IOMT_TEST_TIMEOUT_MULT");
	long v = m ? strtol(m, NULL, 10) : 1;

	return v >= 1 && v <= 100 ? (unsigned)v : 1;
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Waits for pid up to ms milliseconds. Returns 1 if it exited, 0 on timeout. */
static int wait_child(pid_t pid, int ms, int *status)
{
	int fd = pidfd_open(pid);

	if (fd >= 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r;

		do
			r = poll(&p, 1, ms);
		while (r < 0 && errno == EINTR);
		close(fd);
		if (r == 0)
			return 0;
	} else {
		/* No pidfd (old kernel): poll the child every 5 ms. */
		struct timespec ts = { 0, 5 * 1000 * 1000 };

		for (int waited = 0; waited < ms; waited += 5) {
			if (waitpid(pid, status, WNOHANG) == pid)
				return 1;
			nanosleep(&ts, NULL);
		}
		return 0;
	}
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return 1;
}

static enum result run_case(const struct tcase *c, unsigned num)
{
	unsigned secs = c->t->timeout_s * timeout_mult();
	int status = 0;
	pid_t pid;

	memset(shared, 0, sizeof(*shared));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		printf("not ok %u %s # ERROR: fork: %s\n", num, c->name, strerror(errno));
		return RES_FAIL;
	}
	if (pid == 0) {
		setpgid(0, 0);
		c->t->run(c->v ? c->v->data : NULL);
		fflush(stdout);
		_exit(shared->failed ? EXIT_FAIL : shared->skipped ? EXIT_SKIP : EXIT_PASS);
	}
	setpgid(pid, pid);
	if (!wait_child(pid, (int)secs * 1000, &status)) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		printf("not ok %u %s # TIMEOUT after %u s\n", num, c->name, secs);
		return RES_FAIL;
	}
	/* Reap anything the test left behind in its process group. */
	kill(-pid, SIGKILL);
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		printf("not ok %u %s # ERROR: killed by signal %d (%s)\n", num, c->name,
		       sig, strsignal(sig));
		return RES_FAIL;
	}
	switch (WEXITSTATUS(status)) {
	case EXIT_PASS:
		printf("ok %u %s\n", num, c->name);
		return RES_PASS;
	case EXIT_SKIP:
		printf("ok %u %s # SKIP %s\n", num, c->name, shared->reason);
		return RES_SKIP;
	case EXIT_FAIL:
		printf("not ok %u %s # FAIL\n", num, c->name);
		return RES_FAIL;
	}
	printf("not ok %u %s # ERROR: exited with status %d\n", num, c->name,
	       WEXITSTATUS(status));
	return RES_FAIL;
}

static int selected(const char *name, char **filters, int nfilters)
{
	if (!nfilters)
		return 1;
	for (int i = 0; i < nfilters; i++)
		if (strstr(name, filters[i]))
			return 1;
	return 0;
}

static void usage(const char *argv0)
{
	printf("usage: %s [-l] [-t NAME]...\n"
	       "  -l        list the tests and exit\n"
	       "  -t NAME   run only tests whose full name contains NAME (repeatable)\n"
	       "Output is TAP 13 ending in \"N passed, N failed, N skipped\".\n"
	       "IOMT_TEST_TIMEOUT_MULT=N multiplies every test's timeout.\n", argv0);
}

/* Expands every test (and fixture variant) into a case array; returns count. */
static size_t collect(const char *sname, struct tcase **out, char **filters, int nfilters)
{
	size_t n = 0, cap = 64;
	struct tcase *cs = calloc(cap, sizeof(*cs));

	for (const struct iomt_test *t = tests; t && cs; t = t->next) {
		const struct iomt_variant *v = t->fixture ? t->fixture->variants : NULL;

		do {
			struct tcase c = { .t = t, .v = v };

			if (t->only_variant && v && strcmp(v->name, t->only_variant) != 0) {
				v = v->next;  /* not this test's variant */
				continue;     /* (the loop condition re-checks v) */
			}
			if (t->fixture && v)
				snprintf(c.name, sizeof(c.name), "%s.%s.%s.%s", sname,
					 t->fixture->name, v->name, t->name);
			else if (t->fixture)
				snprintf(c.name, sizeof(c.name), "%s.%s.%s", sname,
					 t->fixture->name, t->name);
			else
				snprintf(c.name, sizeof(c.name), "%s.%s", sname, t->name);
			if (selected(c.name, filters, nfilters)) {
				if (n == cap) {
					struct tcase *g = realloc(cs, 2 * cap * sizeof(*cs));

					if (!g) {
						free(cs);
						cs = NULL;
						break;
					}
					cs = g;
					cap *= 2;
				}
				cs[n++] = c;
			}
			v = v ? v->next : NULL;
		} while (v);
	}
	*out = cs;
	return cs ? n : 0;
}

int main(int argc, char **argv)
{
	const char *name = suite_name(argv[0]);
	char *filters[32];
	int nfilters = 0, list = 0, opt;
	unsigned pass = 0, fail = 0, skip = 0;
	struct tcase *cs;
	size_t n;

	while ((opt = getopt(argc, argv, "hlt:")) != -1) {
		if (opt == 'l')
			list = 1;
		else if (opt == 't' && nfilters < 32)
			filters[nfilters++] = optarg;
		else {
			usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	n = collect(name, &cs, filters, nfilters);
	if (!cs) {
		fprintf(stderr, "%s: out of memory\n", argv[0]);
		return 2;
	}
	if (list) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", cs[i].name);
		free(cs);
		return 0;
	}
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	printf("TAP version 13\n1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		switch (run_case(&cs[i], (unsigned)i + 1)) {
		case RES_PASS: pass++; break;
		case RES_FAIL: fail++; break;
		case RES_SKIP: skip++; break;
		}
	}
	printf("# %s: %u / %zu tests passed.\n", fail ? "FAILED" : "PASSED", pass, n);
	printf("%u passed, %u failed, %u skipped\n", pass, fail, skip);
	free(cs);
	return fail ? 1 : 0;
}
