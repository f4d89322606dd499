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
 */
#ifndef IOMT_RT_AUDIT_H
#define IOMT_RT_AUDIT_H

#include <stdarg.h>

/* Opens (creating 0600) for appending; 0 or -errno. Closes any previous file. */
int rt_audit_open(const char *path);

/* event, then key/value string pairs ending with NULL: 0 or -errno
 * (-EBADF when not open, -EINVAL for a key without a value). */
int rt_audit_write(const char *event, ...) __attribute__((sentinel));
int rt_audit_vwrite(const char *event, va_list ap);

void rt_audit_close(void);

#endif
