// SPDX-License-Identifier: GPL-2.0
/*
 * kernel/iomt.ko: the gateway's in-kernel fast path (kernel/README.md).
 * Load: known-answer self-tests (refuses to load if one fails), the kfunc
 * set for XDP and tc programs, the "iomt" genl family. Unload: only when no
 * BPF program uses the kfuncs (the kernel holds the module until then).
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include "iomt.h"

static bool selftest_break;
module_param(selftest_break, bool, 0444);
MODULE_PARM_DESC(selftest_break,
		 "Tests only: corrupt a known answer so the self-test fails and the module refuses to load");

static int __init iomt_init(void)
{
	int err = iomt_km_selftest(selftest_break);

	if (err) {
		pr_err("iomt: self-tests failed, refusing to load\n");
		return err;
	}
	err = iomt_km_kfunc_register();
	if (err) {
		pr_err("iomt: register_btf_kfunc_id_set: %d (module BTF missing?)\n", err);
		return err;
	}
	err = iomt_km_genl_register();
	if (err) {
		pr_err("iomt: genl_register_family: %d\n", err);
		return err;
	}
	pr_info("iomt: self-tests passed; kfuncs and genl family \"iomt\" ready\n");
	return 0;
}

static void __exit iomt_exit(void)
{
	iomt_km_genl_unregister();
	iomt_km_keys_exit();
	pr_info("iomt: unloaded\n");
}

module_init(iomt_init);
module_exit(iomt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("IoMT gateway: kfuncs for the XDP/tc ingress filter (cookies)");
