/* SPDX-License-Identifier: MIT */
/* Pooled getrandom bytes (rnd.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "rnd.h"

void load_random(void *p, size_t n)
{
	static uint8_t pool[65536];
	static size_t left;

	if (n > left) {
		size_t got = 0;

		while (got < sizeof(pool)) {
			ssize_t r = getrandom(pool + got, sizeof(pool) - got, 0);

			if (r > 0)
				got += (size_t)r;
			else if (errno != EINTR)
				abort();
		}
		left = sizeof(pool);
	}
	memcpy(p, pool + sizeof(pool) - left, n);
	memset(pool + sizeof(pool) - left, 0, n);
	left -= n;
}
