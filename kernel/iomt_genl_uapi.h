/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * The "iomt" generic netlink family of kernel/iomt.ko (kernel/README.md),
 * shared by the module and its client userspace/lib/rt_kmod.c. Every
 * command needs CAP_NET_ADMIN. Keys go in and never come back out.
 */
#ifndef IOMT_GENL_UAPI_H
#define IOMT_GENL_UAPI_H

#define IOMT_GENL_NAME "iomt"
#define IOMT_GENL_VERSION 1

enum iomt_genl_cmd {
	IOMT_GENL_CMD_UNSPEC,
	/* Install the under-load cookie keys: A_COOKIE_CUR (required), A_COOKIE_PREV
	 * (optional). Replaces both; no reply but the ack. */
	IOMT_GENL_CMD_SET_COOKIE_KEYS,
	/* Forget both keys (the kfunc then refuses every cookie). */
	IOMT_GENL_CMD_CLEAR_COOKIE_KEYS,
	/* Reply: A_HAVE_CUR, A_HAVE_PREV, A_GENERATION, A_SELFTEST. */
	IOMT_GENL_CMD_GET_STATUS,
	__IOMT_GENL_CMD_MAX,
};
#define IOMT_GENL_CMD_MAX (__IOMT_GENL_CMD_MAX - 1)

enum iomt_genl_attr {
	IOMT_GENL_A_UNSPEC,
	IOMT_GENL_A_COOKIE_CUR,    /* binary, exactly 16 bytes */
	IOMT_GENL_A_COOKIE_PREV,   /* binary, exactly 16 bytes */
	IOMT_GENL_A_HAVE_CUR,      /* u32 0/1 */
	IOMT_GENL_A_HAVE_PREV,     /* u32 0/1 */
	IOMT_GENL_A_GENERATION,    /* u64: key installs since load */
	IOMT_GENL_A_SELFTEST,      /* u32: known-answer tests passed at load */
	__IOMT_GENL_A_MAX,
};
#define IOMT_GENL_A_MAX (__IOMT_GENL_A_MAX - 1)

#endif
