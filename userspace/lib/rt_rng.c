/* SPDX-License-Identifier: MIT */
/* rt_random(): getrandom(2) with its short reads and EINTR handled. */
#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#include "ct.h"
#include "rt_rng.h"

int rt_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		/* Above 256 bytes a signal may cut a read short; just go on. */
		ssize_t n = getrandom(p + done, len - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;

			/* Half-filled output must not be mistaken for a key. */
			iomt_wipe(buf, done);
			return err;
		}
		done += (size_t)n;
	}
	return 0;
}
