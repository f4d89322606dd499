/* SPDX-License-Identifier: MIT */
/*
 * Dropping root after set-up (sockets bound, keys and databases opened), in
 * the OpenSSH privilege-separation manner: the network-facing process keeps
 * no way back.
 *
 * rt_priv_drop("iomt") as root:
 *   1. empties the capability bounding and ambient sets, so no later execve
 *      can hand capabilities back;
 *   2. supplementary groups become just the user's group; then real,
 *      effective and saved gid, then uid, become the user's;
 *   3. sets PR_SET_NO_NEW_PRIVS (no set-uid/file-capability execs);
 *   4. checks the result: ids as asked, no capability left, and setuid(0)
 *      and setgid(0) refused.
 * Any failure returns an error and the caller must exit: the process may be
 * half-dropped. Run it before starting threads (glibc changes the ids of
 * every thread, but capability sets are per thread).
 *
 * A daemon that needs a capability afterwards (say CAP_NET_ADMIN to reattach
 * XDP) should keep that work in a separate privileged helper process rather
 * than keep the capability here.
 *
 * Not root: nothing to drop; logs that at info level and returns 0.
 */
#ifndef IOMT_RT_PRIV_H
#define IOMT_RT_PRIV_H

/* 0, or -ENOENT (no such user), -EINVAL (user is root or NULL), -errno. */
int rt_priv_drop(const char *user);

#endif
