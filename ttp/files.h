/* SPDX-License-Identifier: MIT */
/* Small files the admin commands read and write: exact-size reads, and
 * outputs written beside their destination and renamed into place only once
 * the database agrees (so a failed command leaves no half-issued file). */
#ifndef IOMT_TTP_FILES_H
#define IOMT_TTP_FILES_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "hex.h"

/* Reads path into buf: 0 and *len, or -errno with a message in err
 * ("FILE: No such file", "FILE: 40 bytes, more than the 33 expected"). */
int ttp_file_read(const char *path, void *buf, size_t cap, size_t *len, char *err,
		  size_t errlen);

struct ttp_outfile {
	char path[TTP_PATH_MAX];
	char tmp[TTP_PATH_MAX + 8];
};

/* Writes data to "<path>.tmp" (created with mode, fsync'ed): 0 or -errno. */
int ttp_outfile_write(struct ttp_outfile *of, const char *path, const void *data, size_t len,
		      mode_t mode, char *err, size_t errlen);
/* Renames it over path and syncs the directory: 0 or -errno. */
int ttp_outfile_publish(struct ttp_outfile *of, char *err, size_t errlen);
/* Removes the temporary file (any state; idempotent). */
void ttp_outfile_discard(struct ttp_outfile *of);

#endif
