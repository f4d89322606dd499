/* SPDX-License-Identifier: MIT */
/* Irreversible privilege drop (see rt_priv.h). */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rt_log.h"
#include "rt_priv.h"

/* Highest capability number this kernel knows; newer than our headers, maybe. */
static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = -1;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n >= 0 ? n : CAP_LAST_CAP;
}

static int drop_bounding_set(void)
{
	int cap, last = last_cap();

	for (cap = 0; cap <= last; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
			rt_err("cannot drop capability %d from the bounding set: %s", cap,
			       strerror(errno));
			return -errno;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		rt_err("cannot clear ambient capabilities: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int r = getpwnam_r(user, &pw, buf, sizeof(buf), &res);

	if (r || !res) {
		rt_err("cannot drop privileges: no user '%s'%s%s", user, r ? ": " : "",
		       r ? strerror(r) : "");
		return r ? -r : -ENOENT;
	}
	if (res->pw_uid == 0) {
		rt_err("cannot drop privileges to '%s': that is root", user);
		return -EINVAL;
	}
	*uid = res->pw_uid;
	*gid = res->pw_gid;
	return 0;
}

/* Groups before gid before uid: each step needs the privilege the next removes. */
static int set_ids(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		rt_err("cannot switch to uid %u gid %u: %s", (unsigned)uid, (unsigned)gid,
		       strerror(errno));
		return -errno;
	}
	return 0;
}

static int no_capabilities_left(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	int i;

	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return 0;
	return 1;
}

/* Trust, but verify: a kernel or libc surprise must not go unnoticed. */
static int verify(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg) || ru != uid || eu != uid ||
	    su != uid || rg != gid || eg != gid || sg != gid) {
		rt_err("privilege drop did not take: ids are not uid %u gid %u", (unsigned)uid,
		       (unsigned)gid);
		return -EPERM;
	}
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0) {
		rt_err("privilege drop did not take: root is still reachable");
		return -EPERM;
	}
	if (!no_capabilities_left() || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		rt_err("privilege drop did not take: capabilities or new privileges remain");
		return -EPERM;
	}
	return 0;
}

int rt_priv_drop(const char *user)
{
	uid_t uid;
	gid_t gid;
	int r;

	if (!user || !*user)
		return -EINVAL;
	if (geteuid() != 0) {
		rt_info("not running as root (uid %u): no privileges to drop",
			(unsigned)geteuid());
		return 0;
	}
	r = lookup(user, &uid, &gid);
	if (!r)
		r = drop_bounding_set();
	if (!r)
		r = set_ids(uid, gid);
	if (!r && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rt_err("cannot set no_new_privs: %s", strerror(errno));
		r = -errno;
	}
	if (!r)
		r = verify(uid, gid);
	if (!r)
		rt_info("running as %s (uid %u gid %u), no capabilities", user, (unsigned)uid,
			(unsigned)gid);
	return r;
}
