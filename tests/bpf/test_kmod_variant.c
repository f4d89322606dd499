/* SPDX-License-Identifier: MIT */
/*
 * The XDP loader's choice of program variant where kernel/iomt.ko is not
 * loaded (this host: no module can be loaded here; the guest of
 * tests/qemu/test_kmod.sh covers the module's side): no kfunc in any module
 * BTF, so AUTO loads the pure-BPF program, asking for the kfunc variant
 * fails clearly, and the genl client says the family is missing.
 */
#include <errno.h>
#include <string.h>
#include "harness.h"
#include "lib/rt_xdp.h"
#include "lib/rt_kmod.h"

static const uint16_t ports[] = { 5683 };
static const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static int module_loaded(void)
{
	char why[256];

	return rt_xdp_kfunc_available(why, sizeof(why));
}

TEST(auto_picks_purebpf_without_module)
{
	struct rt_xdp *x = NULL;
	char why[256] = "";
	int err;

	if (module_loaded())
		SKIP(return, "kernel/iomt.ko is loaded here: the qemu suite covers that case");
	err = rt_xdp_open(&x, ports, 1, why, sizeof(why));
	if (err == -EPERM || err == -EACCES || err == -ENOSYS)
		SKIP(return, "BPF programs cannot be loaded here: %s", why);
	ASSERT_EQ(err, 0);
	EXPECT_EQ(rt_xdp_variant(x), RT_XDP_VARIANT_PURE);
	EXPECT_STREQ(rt_xdp_variant_name(rt_xdp_variant(x)), "purebpf");
	/* the pure variant keeps its keys in the map: no module needed */
	EXPECT_EQ(rt_xdp_set_cookie_keys(x, key, NULL), 0);
	rt_xdp_close(x);
}

TEST(kfunc_variant_refused_without_module)
{
	struct rt_xdp *x = NULL;
	char why[256] = "";

	if (module_loaded())
		SKIP(return, "kernel/iomt.ko is loaded here");
	EXPECT_EQ(rt_xdp_kfunc_available(why, sizeof(why)), 0);
	EXPECT_TRUE(strstr(why, "iomt") != NULL);
	EXPECT_EQ(rt_xdp_open_variant(&x, ports, 1, RT_XDP_VARIANT_KFUNC, why, sizeof(why)),
		  -ENOENT);
	EXPECT_TRUE(x == NULL);
	EXPECT_TRUE(strstr(why, "kfunc variant") != NULL);
}

TEST(genl_client_without_module)
{
	struct rt_kmod_status st;
	char why[256] = "";

	if (module_loaded())
		SKIP(return, "kernel/iomt.ko is loaded here");
	EXPECT_EQ(rt_kmod_status(&st, why, sizeof(why)), -ENOENT);
	EXPECT_TRUE(strstr(why, "iomt.ko") != NULL);
	EXPECT_EQ(rt_kmod_set_cookie_keys(key, NULL, why, sizeof(why)), -ENOENT);
	EXPECT_EQ(rt_kmod_set_cookie_keys(NULL, NULL, why, sizeof(why)), -ENOENT);
}

TEST(bad_ports_before_variant)
{
	struct rt_xdp *x = NULL;
	char why[256] = "";

	EXPECT_EQ(rt_xdp_open_variant(&x, ports, 0, RT_XDP_VARIANT_PURE, why, sizeof(why)),
		  -EINVAL);
	EXPECT_TRUE(x == NULL);
	EXPECT_STREQ(rt_xdp_variant_name(RT_XDP_VARIANT_KFUNC), "kfunc");
	EXPECT_EQ(rt_xdp_variant(NULL), RT_XDP_VARIANT_AUTO);
}
