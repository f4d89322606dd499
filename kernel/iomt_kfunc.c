// SPDX-License-Identifier: GPL-2.0
/*
 * kfuncs for the XDP filter (bpf/iomt_xdp.bpf.c, its kfunc variant) and tc
 * programs (BPF_PROG_TYPE_XDP and BPF_PROG_TYPE_SCHED_CLS):
 *
 *   int bpf_iomt_cookie_check(const u8 *msg, u32 msg__sz)
 *       msg = addr16 (16) || port (2, BE) || cookie (16), msg__sz 34.
 *       1: the cookie is the current or previous key's (the keys the daemon
 *       installed through the "iomt" genl family), 0: it is not, -ENOKEY:
 *       no key installed, -EINVAL: wrong size. The same computation as
 *       bpf/xf_cookie.h, so both program variants give the same verdicts.
 *
 * A program that calls a kfunc holds a reference on the module until it is
 * freed: rmmod refuses ("Module iomt is in use") while one is loaded.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/module.h>
#include "iomt.h"

__diag_push();
__diag_ignore_all("-Wmissing-prototypes", "kfuncs are called from BPF only");

__used noinline int bpf_iomt_cookie_check(const u8 *msg, u32 msg__sz)
{
	if (msg__sz != IOMT_KM_CHECK_LEN)
		return -EINVAL;
	return iomt_km_keys_check(msg);
}

__diag_pop();

BTF_SET8_START(iomt_kfunc_ids)
BTF_ID_FLAGS(func, bpf_iomt_cookie_check)
BTF_SET8_END(iomt_kfunc_ids)

static const struct btf_kfunc_id_set iomt_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &iomt_kfunc_ids,
};

int iomt_km_kfunc_register(void)
{
	int err = register_btf_kfunc_id_set(BPF_PROG_TYPE_XDP, &iomt_kfunc_set);

	if (!err)
		err = register_btf_kfunc_id_set(BPF_PROG_TYPE_SCHED_CLS, &iomt_kfunc_set);
	return err;
}
