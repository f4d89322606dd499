/* SPDX-License-Identifier: MIT */
/* Latency samples and percentiles (lat.h). */
#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "lat.h"

int load_lat_add(struct load_lat *l, double us)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 4096;
		double *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = us;
	l->sorted = 0;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double load_lat_pct(struct load_lat *l, double p)
{
	size_t i;

	if (!l->n)
		return 0;
	if (!l->sorted) {
		qsort(l->v, l->n, sizeof(*l->v), cmp_double);
		l->sorted = 1;
	}
	i = (size_t)(p * (double)(l->n - 1) + 0.5);
	return l->v[i < l->n ? i : l->n - 1];
}

void load_lat_reset(struct load_lat *l)
{
	l->n = 0;
	l->sorted = 0;
}

void load_lat_free(struct load_lat *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

double load_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}
