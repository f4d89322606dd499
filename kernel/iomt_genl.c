// SPDX-License-Identifier: GPL-2.0
/*
 * The "iomt" generic netlink family (iomt_genl_uapi.h, kernel/README.md):
 * the daemon installs the under-load cookie keys; status says which keys
 * are set, never what they are. Every command needs CAP_NET_ADMIN in the
 * caller's network namespace (GENL_UNS_ADMIN_PERM).
 */
#include <linux/module.h>
#include <net/genetlink.h>
#include "iomt.h"
#include "iomt_genl_uapi.h"

static const struct nla_policy iomt_genl_policy[IOMT_GENL_A_MAX + 1] = {
	[IOMT_GENL_A_COOKIE_CUR] = NLA_POLICY_EXACT_LEN(IOMT_KM_KEY_LEN),
	[IOMT_GENL_A_COOKIE_PREV] = NLA_POLICY_EXACT_LEN(IOMT_KM_KEY_LEN),
	[IOMT_GENL_A_HAVE_CUR] = { .type = NLA_U32 },
	[IOMT_GENL_A_HAVE_PREV] = { .type = NLA_U32 },
	[IOMT_GENL_A_GENERATION] = { .type = NLA_U64 },
	[IOMT_GENL_A_SELFTEST] = { .type = NLA_U32 },
};

static int iomt_genl_set_keys(struct sk_buff *skb, struct genl_info *info)
{
	const u8 *prev = NULL;

	if (!info->attrs[IOMT_GENL_A_COOKIE_CUR]) {
		GENL_SET_ERR_MSG(info, "iomt: SET_COOKIE_KEYS needs COOKIE_CUR");
		return -EINVAL;
	}
	if (info->attrs[IOMT_GENL_A_COOKIE_PREV])
		prev = nla_data(info->attrs[IOMT_GENL_A_COOKIE_PREV]);
	return iomt_km_keys_set(nla_data(info->attrs[IOMT_GENL_A_COOKIE_CUR]), prev);
}

static int iomt_genl_clear_keys(struct sk_buff *skb, struct genl_info *info)
{
	iomt_km_keys_clear();
	return 0;
}

static struct genl_family iomt_genl_family;

static int iomt_genl_status(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	u32 have_cur, have_prev;
	u64 gen;
	void *hdr;

	iomt_km_keys_status(&have_cur, &have_prev, &gen);
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &iomt_genl_family, 0, IOMT_GENL_CMD_GET_STATUS);
	if (!hdr ||
	    nla_put_u32(msg, IOMT_GENL_A_HAVE_CUR, have_cur) ||
	    nla_put_u32(msg, IOMT_GENL_A_HAVE_PREV, have_prev) ||
	    nla_put_u64_64bit(msg, IOMT_GENL_A_GENERATION, gen, IOMT_GENL_A_UNSPEC) ||
	    nla_put_u32(msg, IOMT_GENL_A_SELFTEST, 1)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static const struct genl_small_ops iomt_genl_ops[] = {
	{ .cmd = IOMT_GENL_CMD_SET_COOKIE_KEYS, .flags = GENL_UNS_ADMIN_PERM,
	  .doit = iomt_genl_set_keys },
	{ .cmd = IOMT_GENL_CMD_CLEAR_COOKIE_KEYS, .flags = GENL_UNS_ADMIN_PERM,
	  .doit = iomt_genl_clear_keys },
	{ .cmd = IOMT_GENL_CMD_GET_STATUS, .flags = GENL_UNS_ADMIN_PERM,
	  .doit = iomt_genl_status },
};

static struct genl_family iomt_genl_family = {
	.name = IOMT_GENL_NAME,
	.version = IOMT_GENL_VERSION,
	.maxattr = IOMT_GENL_A_MAX,
	.policy = iomt_genl_policy,
	.netnsok = true,
	.module = THIS_MODULE,
	.small_ops = iomt_genl_ops,
	.n_small_ops = ARRAY_SIZE(iomt_genl_ops),
	.resv_start_op = IOMT_GENL_CMD_MAX + 1,
};

int iomt_km_genl_register(void)
{
	return genl_register_family(&iomt_genl_family);
}

void iomt_km_genl_unregister(void)
{
	genl_unregister_family(&iomt_genl_family);
}
