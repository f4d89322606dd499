/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include "rt_kmod.h"
#include "../../kernel/iomt_genl_uapi.h"

enum { KEY_LEN = 16 };

static int fail(int err, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* libnl's error numbers, as errno values. */
static int nl_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_PERM:
		return -EPERM;
	case NLE_INVAL:
	case NLE_RANGE:
	case NLE_MSGSIZE:
		return -EINVAL;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NOACCESS:
		return -EACCES;
	default:
		return -EIO;
	}
}

/* A socket connected to the family; *fam its id. */
static int open_family(struct nl_sock **out, int *fam, char *why, size_t whylen)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	*out = NULL;
	if (!sk)
		return fail(-ENOMEM, why, whylen, "out of memory");
	err = genl_connect(sk);
	if (err) {
		nl_socket_free(sk);
		return fail(nl_errno(err), why, whylen, "generic netlink: %s", nl_geterror(err));
	}
	*fam = genl_ctrl_resolve(sk, IOMT_GENL_NAME);
	if (*fam < 0) {
		err = *fam;
		nl_socket_free(sk);
		return fail(err == -NLE_OBJ_NOTFOUND ? -ENOENT : nl_errno(err), why, whylen,
			    "genl family \"%s\": %s (is kernel/iomt.ko loaded?)", IOMT_GENL_NAME,
			    nl_geterror(err));
	}
	*out = sk;
	return 0;
}

static void msg_wipe_free(struct nl_msg *m)
{
	struct nlmsghdr *h = nlmsg_hdr(m);

	explicit_bzero(h, h->nlmsg_len);
	nlmsg_free(m);
}

int rt_kmod_set_cookie_keys(const uint8_t *cur, const uint8_t *prev, char *why, size_t whylen)
{
	struct nl_sock *sk;
	struct nl_msg *m;
	int fam, err;
	uint8_t cmd = cur ? IOMT_GENL_CMD_SET_COOKIE_KEYS : IOMT_GENL_CMD_CLEAR_COOKIE_KEYS;

	err = open_family(&sk, &fam, why, whylen);
	if (err)
		return err;
	m = nlmsg_alloc();
	if (!m || !genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, fam, 0, 0, cmd, IOMT_GENL_VERSION) ||
	    (cur && nla_put(m, IOMT_GENL_A_COOKIE_CUR, KEY_LEN, cur)) ||
	    (cur && prev && nla_put(m, IOMT_GENL_A_COOKIE_PREV, KEY_LEN, prev))) {
		if (m)
			msg_wipe_free(m);
		nl_socket_free(sk);
		return fail(-ENOMEM, why, whylen, "building the genl message");
	}
	err = nl_send_auto(sk, m);
	msg_wipe_free(m);
	if (err >= 0)
		err = nl_wait_for_ack(sk);
	nl_socket_free(sk);
	if (err < 0)
		return fail(nl_errno(err), why, whylen, "iomt %s: %s",
			    cur ? "SET_COOKIE_KEYS" : "CLEAR_COOKIE_KEYS", nl_geterror(err));
	return 0;
}

static int status_cb(struct nl_msg *m, void *arg)
{
	struct rt_kmod_status *st = arg;
	struct nlattr *a[IOMT_GENL_A_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(m), 0, a, IOMT_GENL_A_MAX, NULL) < 0)
		return NL_SKIP;
	if (a[IOMT_GENL_A_HAVE_CUR])
		st->have_cur = nla_get_u32(a[IOMT_GENL_A_HAVE_CUR]);
	if (a[IOMT_GENL_A_HAVE_PREV])
		st->have_prev = nla_get_u32(a[IOMT_GENL_A_HAVE_PREV]);
	if (a[IOMT_GENL_A_GENERATION])
		st->generation = nla_get_u64(a[IOMT_GENL_A_GENERATION]);
	if (a[IOMT_GENL_A_SELFTEST])
		st->selftest = nla_get_u32(a[IOMT_GENL_A_SELFTEST]);
	return NL_OK;
}

int rt_kmod_status(struct rt_kmod_status *st, char *why, size_t whylen)
{
	struct nl_sock *sk;
	int fam, err;

	memset(st, 0, sizeof(*st));
	err = open_family(&sk, &fam, why, whylen);
	if (err)
		return err;
	/* No ack: the reply (or the error) is the one message that comes back. */
	nl_socket_disable_auto_ack(sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, status_cb, st);
	err = genl_send_simple(sk, fam, IOMT_GENL_CMD_GET_STATUS, IOMT_GENL_VERSION, 0);
	if (err >= 0)
		err = nl_recvmsgs_default(sk);
	nl_socket_free(sk);
	if (err < 0)
		return fail(nl_errno(err), why, whylen, "iomt GET_STATUS: %s", nl_geterror(err));
	return 0;
}
