/* SPDX-License-Identifier: MIT */
/*
 * Client of kernel/iomt.ko's generic netlink family "iomt" (libnl-genl;
 * kernel/README.md, kernel/iomt_genl_uapi.h): installs the under-load cookie
 * keys the module's kfunc checks against. Keys go in, never come back: the
 * status says only which are set. Needs CAP_NET_ADMIN.
 */
#ifndef IOMT_RT_KMOD_H
#define IOMT_RT_KMOD_H
#include <stdint.h>
#include <stddef.h>

struct rt_kmod_status {
	uint32_t have_cur, have_prev;
	uint64_t generation;   /* key installs since the module loaded */
	uint32_t selftest;     /* 1: the load-time known-answer tests passed */
};

/* Installs cur and prev (NULL: none); cur NULL clears both. 0, or -errno:
 * -ENOENT the module (its genl family) is not loaded, -EPERM no
 * CAP_NET_ADMIN; why[] says what failed. */
int rt_kmod_set_cookie_keys(const uint8_t *cur, const uint8_t *prev, char *why, size_t whylen);
int rt_kmod_status(struct rt_kmod_status *st, char *why, size_t whylen);

#endif
