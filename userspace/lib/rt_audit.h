/* SPDX-License-Identifier: MIT */
/*
 * Audit log: JSON lines in a file of their own, each record on disk before
 * rt_audit_write() returns (write + fsync), for evidence such as the KDC's
 * ticket issuance and the PPD's consent decisions.
 *
 *   rt_audit_write("tgs_issue", "device", "17", "patient", "p-42", NULL);
 *   {"ts":"2025-01-31T12:00:00.123Z","prog":"iomt-kdc","event":"tgs_issue",
 *    "device":"17","patient":"p-42"}
 *
 * Every key and value is escaped (rt_json.h), so peer-supplied values cannot
 * break a record or forge another. Keys "ts", "prog" and "event" are
 * reserved. Records are never cut, whatever their size. A failed write is
 * returned: whoever needs the record as evidence must not act (e.g. send the
 * reply) unless it returned 0. Thread-safe; one audit file per process.
 *
 * Group commit, for daemons that decide in batches (the KDC): records are
 * appended to a buffer in memory (rt_audit_append) and put on disk together
 * by rt_audit_flush() -- one write, one fdatasync -- before any reply of the
 * batch is sent. A failed flush truncates the file back to where it was and
 * drops the buffered records, so the file never ends in half a record and
 * the caller answers the whole batch with an error instead.
 *
 *   for each request: rt_audit_append("as_issue", "client", c, NULL);
 *   if (rt_audit_flush()) answer every request INTERNAL; else send replies.
 *
 * rt_audit_write() between appends writes its record at once, ahead of the
 * buffered ones.
 */
#ifndef IOMT_RT_AUDIT_H
#define IOMT_RT_AUDIT_H

#include <stdarg.h>
#include <stddef.h>

enum { RT_AUDIT_BUF_MAX = 64 << 20 };	/* pending bytes rt_audit_append accepts */

/* Opens (creating 0600) for appending; 0 or -errno. Closes any previous file. */
int rt_audit_open(const char *path);

/* event, then key/value string pairs ending with NULL: 0 or -errno
 * (-EBADF when not open, -EINVAL for a key without a value). */
int rt_audit_write(const char *event, ...) __attribute__((sentinel));
int rt_audit_vwrite(const char *event, va_list ap);

/* Formats a record into the group-commit buffer: 0, -EINVAL as for
 * rt_audit_write, -EBADF when not open, -ENOBUFS past RT_AUDIT_BUF_MAX
 * pending bytes, -ENOMEM. Nothing is on disk until rt_audit_flush(). */
int rt_audit_append(const char *event, ...) __attribute__((sentinel));
int rt_audit_vappend(const char *event, va_list ap);

/* Writes every appended record with one write(2) and one fdatasync(2): 0 (also
 * when nothing is pending) or -errno, in which case the file is cut back to
 * its size before the flush and the records are dropped. */
int rt_audit_flush(void);
/*
 * The same in two steps, so the next batch can be decided while one is
 * synced: rt_audit_detach() takes every record appended so far as one batch
 * (*out = NULL when there is none) and appends start a new one at once;
 * rt_audit_commit() writes and syncs a batch (any thread; batches reach the
 * file in the order they were detached, a commit waiting for the ones
 * before it) and recycles it. Every detached batch must be committed once.
 * rt_audit_flush() is detach + commit.
 */
struct rt_audit_batch;
int rt_audit_detach(struct rt_audit_batch **out);
/* 0 (also for NULL) or -errno as for rt_audit_flush(). */
int rt_audit_commit(struct rt_audit_batch *b);
/* Group commit of several detached batches (NULLs skipped), in the order
 * they were detached: consecutive ones go out in one write sequence and ONE
 * fdatasync, so a daemon whose syncs fall behind pays one per group, not
 * one per batch. The first error, or 0; every batch is recycled either way,
 * and on error none of the failed run's records stay in the file. */
enum { RT_AUDIT_GROUP_MAX = 64 };
int rt_audit_commit_group(struct rt_audit_batch *const *b, size_t n);

/* Bytes appended and not yet flushed. */
size_t rt_audit_pending(void);
/* Drops the appended records unwritten. */
void rt_audit_discard(void);

/* Closing drops appended records that were not flushed (no commit may be
 * outstanding). */
void rt_audit_close(void);

#endif
