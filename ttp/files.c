/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "lib/rt_file.h"

/* "path: reason"; returns r. */
static int fail(char *err, size_t errlen, int r, const char *path)
{
	snprintf(err, errlen, "%s: %s", path, strerror(-r));
	return r;
}

int ttp_file_read(const char *path, void *buf, size_t cap, size_t *len, char *err,
		  size_t errlen)
{
	long n = rt_file_read(path, buf, cap, 0, err, errlen);

	if (n < 0)
		return (int)n;
	*len = (size_t)n;
	return 0;
}

int ttp_outfile_write(struct ttp_outfile *of, const char *path, const void *data, size_t len,
		      mode_t mode, char *err, size_t errlen)
{
	int r;

	if (strlen(path) >= sizeof(of->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	snprintf(of->path, sizeof(of->path), "%s", path);
	snprintf(of->tmp, sizeof(of->tmp), "%s.tmp", path);
	unlink(of->tmp);
	r = rt_file_create(of->tmp, data, len, mode);
	return r ? fail(err, errlen, r, of->tmp) : 0;
}

int ttp_outfile_publish(struct ttp_outfile *of, char *err, size_t errlen)
{
	if (rename(of->tmp, of->path) < 0) {
		int r = -errno;

		unlink(of->tmp);
		return fail(err, errlen, r, of->path);
	}
	return rt_file_sync_dir(of->path);
}

void ttp_outfile_discard(struct ttp_outfile *of)
{
	if (of->tmp[0])
		unlink(of->tmp);
}

