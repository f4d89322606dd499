/* SPDX-License-Identifier: MIT */
/*
 * Small files, the one copy every daemon and tool uses: written durably
 * (whole writes, fsync, a new name made durable by syncing its directory),
 * published atomically through a temporary file beside the target, and
 * read whole with a size limit; a private file (a key) is refused when
 * group or others may access it.
 *
 * A mode without group/other bits (0600) is applied whatever the umask;
 * a wider one (0644) is left to the umask.
 */
#ifndef IOMT_RT_FILE_H
#define IOMT_RT_FILE_H

#include <stddef.h>
#include <sys/types.h>

enum {
	RT_FILE_PRIVATE = 1,    /* rt_file_read: regular file, no group/other access */
	RT_FILE_NO_REPLACE = 2, /* rt_file_publish: an existing path is -EEXIST */
};

/* "fmt..." into err (when err and errlen); returns r. */
int rt_file_err(char *err, size_t errlen, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* write(2) until all of buf is written (EINTR retried): 0 or -errno
 * (-EIO if write makes no progress). */
int rt_file_write_all(int fd, const void *buf, size_t len);

/* fsyncs the directory holding path (a new or renamed entry is durable only
 * then): 0 or -errno (-ENAMETOOLONG for a path of PATH_MAX or more). */
int rt_file_sync_dir(const char *path);

/* Creates path (O_EXCL: -EEXIST if it is there; a link is not followed)
 * with mode, writes buf and fsyncs it: 0 or -errno, and path removed on
 * error. The directory is not synced (rt_file_sync_dir). */
int rt_file_create(const char *path, const void *buf, size_t len, mode_t mode);

/* Writes buf to "<path>.tmp.<pid>" (rt_file_create), renames it over path
 * (with RT_FILE_NO_REPLACE: links it, -EEXIST if path exists, never
 * replacing it) and syncs the directory: 0 or -errno; nothing is left
 * beside path on error. */
int rt_file_publish(const char *path, const void *buf, size_t len, mode_t mode, unsigned flags);

/*
 * Reads the whole of path into buf (at most cap bytes): its length, or
 * -errno with err saying why ("PATH: reason"): -EFBIG when the file holds
 * more than cap bytes (buf then holds the first cap). With RT_FILE_PRIVATE,
 * -EINVAL for a file that is not regular and -EPERM for one group or others
 * may access ("PATH: mode 644 is too open (chmod 600 it)").
 */
long rt_file_read(const char *path, void *buf, size_t cap, unsigned flags, char *err,
		  size_t errlen);

#endif
