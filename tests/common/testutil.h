/* SPDX-License-Identifier: MIT */
/* Small helpers shared by suites: hex parsing and a seeded PRNG. */
#ifndef IOMT_TESTUTIL_H
#define IOMT_TESTUTIL_H
#include <stddef.h>
#include <stdint.h>

/* Parses hex (whitespace ignored) into out; returns the byte count, or
 * (size_t)-1 on a bad digit or if out is too small. */
static inline size_t tu_hex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex; hex++) {
		int v;
		char c = *hex;

		if (c == ' ' || c == '\n' || c == '\t')
			continue;
		if (c >= '0' && c <= '9') v = c - '0';
		else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
		else return (size_t)-1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == cap)
			return (size_t)-1;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi < 0 ? n : (size_t)-1;
}

/* splitmix64: reproducible test inputs from any seed (zero included);
 * never a source of secrets. */
struct tu_rng { uint64_t s; };

static inline uint64_t tu_next(struct tu_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void tu_fill(struct tu_rng *r, void *buf, size_t n)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(tu_next(r) >> 56);
}

#endif
