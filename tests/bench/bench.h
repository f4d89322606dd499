/* SPDX-License-Identifier: MIT */
/* Benchmark helpers. Candidates run in alternating rounds inside one process
 * and each figure is the median over rounds, so a noisy shared machine
 * slows ours and the baseline alike. Rows go to stdout as
 * "name value unit baseline baseline_value ratio" (tab-separated), ratio > 1
 * meaning ours is better; progress goes to stderr. */
#ifndef IOMT_BENCH_H
#define IOMT_BENCH_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bench_case {
	const char *name;
	/* Runs `iters` iterations of the measured work. */
	void (*fn)(void *arg, size_t iters);
	void *arg;
	size_t ops_per_iter;  /* operations (hashes, requests...) per iteration */
	double ns_per_op;     /* result: median over rounds */
};

static inline double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Calibrates each case to ~round_ms per round, then runs `rounds` rounds of
 * every case in turn and stores the median ns per operation. */
static inline void bench_compare(struct bench_case *c, int n, int rounds, double round_ms)
{
	size_t iters[16];
	double samples[16][64];

	if (n > 16 || rounds > 64) {
		fprintf(stderr, "bench: too many cases or rounds\n");
		exit(2);
	}
	for (int i = 0; i < n; i++) {
		size_t it = 1;
		double t;

		for (;;) {
			t = bench_now_ns();
			c[i].fn(c[i].arg, it);
			t = bench_now_ns() - t;
			if (t > round_ms * 1e6 / 4 || it > ((size_t)1 << 40))
				break;
			it *= 2;
		}
		iters[i] = (size_t)((double)it * round_ms * 1e6 / (t > 1 ? t : 1)) + 1;
	}
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < n; i++) {
			double t = bench_now_ns();

			c[i].fn(c[i].arg, iters[i]);
			t = bench_now_ns() - t;
			samples[i][r] = t / ((double)iters[i] * (double)c[i].ops_per_iter);
		}
	for (int i = 0; i < n; i++) {
		qsort(samples[i], (size_t)rounds, sizeof(double), bench_cmp_double);
		c[i].ns_per_op = samples[i][rounds / 2];
		fprintf(stderr, "bench: %-32s %10.1f ns/op (median of %d rounds)\n",
			c[i].name, c[i].ns_per_op, rounds);
	}
}

/* A time-like row (lower is better): ratio = baseline / value. */
static inline void bench_row_ns(const char *name, double v, const char *base, double bv)
{
	printf("%s\t%.1f\tns\t%s\t%.1f\t%.2f\n", name, v, base, bv, bv / v);
}

/* A rate-like row (higher is better): ratio = value / baseline. */
static inline void bench_row_rate(const char *name, double v, const char *unit,
				  const char *base, double bv)
{
	printf("%s\t%.0f\t%s\t%s\t%.0f\t%.2f\n", name, v, unit, base, bv, v / bv);
}

/* Keeps the optimiser from discarding a result. */
static inline void bench_use(const void *p)
{
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

#endif
