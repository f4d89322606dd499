/* SPDX-License-Identifier: MIT */
/*
 * Crash-safe fixed-size records: N records of rec_len bytes, each stored
 * twice (copies A and B) with a sequence number and a check value. A write
 * goes to the older copy and is fdatasync'ed before returning, so a crash at
 * any point leaves either the old or the new record, never a mixture:
 *
 *   struct rt_recfile *f;
 *   rt_recfile_open("/var/lib/iomt/slots.rec", 98, 256, &f);   (creates 0600)
 *   rt_recfile_write(f, 7, blob);      durable when it returns 0
 *   rt_recfile_read(f, 7, blob);       -ENOENT if never written
 *   rt_recfile_close(f);
 *
 * Layout (all integers big-endian), in 4096-byte blocks so that a torn block
 * write can only ever damage the copy being written:
 *
 *   block 0            magic "IOMTRECF" (8) | version = 1 (4) | rec_len (4) |
 *                      nrec (8) | check (16) = SHAKE128(first 24 bytes)[0..16)
 *   block 1 + 2i + c   copy c (0 = A, 1 = B) of record i:
 *                      seq (8) | payload (rec_len) | check (16)
 *                      check = SHAKE128(i (8) | seq (8) | payload)[0..16)
 *
 * A copy is valid when its check verifies and seq >= 1; read returns the
 * valid copy with the higher seq. A copy that is all zero was never written.
 * No valid copy: -ENOENT if a copy was never written (the record was never
 * written, or its first write was torn), else -EIO (both copies damaged).
 * The check covers the record index, so a copy moved elsewhere is refused.
 *
 * The file is created whole (header and zeroed, sparse records, under a
 * temporary name, then linked into place), so an open never sees half a
 * header. open checks magic, version, rec_len, nrec and the file size:
 * -EINVAL with an rt_err message naming the file on any mismatch. An open
 * file is locked (flock): a second open of the same file, from any process,
 * fails with -EBUSY. Calls on one rt_recfile are serialised by a mutex.
 *
 * The handle remembers, per record, which copy is the newest valid one and
 * its seq, learnt from the record's first read or write since open (both
 * copies read and checked then); later writes read nothing, hash only the
 * copy they write, and move that knowledge on once fdatasync has returned.
 * This assumes nothing else writes the file while it is open (the lock).
 * A write that fails before its fdatasync is redone over the same copy, so
 * the newest valid copy is never the one overwritten. A record whose seq
 * has reached 2^63 - 1 (only a crafted file has one) reads but takes no
 * more writes (-EOVERFLOW).
 *
 * Records hold secrets: every buffer is wiped after use. After a failed
 * fdatasync the page cache can no longer be trusted, so every later write
 * returns -EIO until the file is reopened. Every function returns 0 or a
 * negative errno, and logs (rt_err) why it failed.
 */
#ifndef IOMT_RT_RECFILE_H
#define IOMT_RT_RECFILE_H

#include <stddef.h>

enum {
	RT_RECFILE_BLOCK = 4096,                  /* one copy per block */
	RT_RECFILE_COPY_OVERHEAD = 8 + 16,        /* seq + check */
	RT_RECFILE_MAX_REC_LEN = RT_RECFILE_BLOCK - RT_RECFILE_COPY_OVERHEAD,
	RT_RECFILE_MAX_NREC = 1 << 20,            /* 8 GiB apparent size, sparse */
};

struct rt_recfile;

/* Opens, or creates (0600), a file of nrec records of rec_len bytes
 * (1..RT_RECFILE_MAX_*). -EINVAL for bad arguments or a header mismatch,
 * -EBUSY if another open holds it, else -errno. */
int rt_recfile_open(const char *path, size_t rec_len, size_t nrec, struct rt_recfile **out);

/* The newest valid copy of record idx into rec (rec_len bytes). -ENOENT if
 * never written, -EIO if both copies are damaged, -EINVAL for a bad idx. */
int rt_recfile_read(struct rt_recfile *f, size_t idx, void *rec);

/* Writes rec (rec_len bytes) over the older copy of record idx and
 * fdatasyncs: durable when it returns 0. On failure the record reads as
 * before or as rec. */
int rt_recfile_write(struct rt_recfile *f, size_t idx, const void *rec);

/* n writes (distinct indices, else -EINVAL before anything is written) with
 * one fdatasync. Each record is independently old or new after a crash or a
 * failure: this is not a transaction across records. */
int rt_recfile_write_many(struct rt_recfile *f, const size_t *idx, const void *const *recs,
			  size_t n);

/* Closes (releasing the lock); NULL is fine. */
void rt_recfile_close(struct rt_recfile *f);

/* The shape of an existing file without opening it for writing (so a tool
 * can open a file whose record count it does not know): header checks as
 * open; -ENOENT if there is no such file. */
int rt_recfile_stat(const char *path, size_t *rec_len, size_t *nrec);

#endif
