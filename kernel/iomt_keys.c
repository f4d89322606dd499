// SPDX-License-Identifier: GPL-2.0
/*
 * The under-load cookie keys the module holds: their KMAC128 prestates
 * (lib/cookie.c iomt_cookie_prestate), current and previous epoch, behind
 * RCU so the kfunc reads them from XDP/tc without a lock. Written only by
 * the genl family (CAP_NET_ADMIN); never read back out. Old copies are
 * wiped before they are freed.
 */
#include <linux/rcupdate.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "iomt.h"
#include "cookie.h"
#include "iomt_xdp.h"
#include "keccak.h"

#define XF_INLINE inline
#define XF_PERMUTE(st) iomt_keccak_f1600(st)
#include "xf_cookie.h"

struct iomt_km_keys {
	u64 cur[IOMT_KM_STATE_WORDS];
	u64 prev[IOMT_KM_STATE_WORDS];
	bool have_prev;
	struct rcu_head rcu;
};

static struct iomt_km_keys __rcu *keys;
static DEFINE_MUTEX(keys_lock);
static u64 keys_generation;

int iomt_km_cookie_match(const u64 pre[IOMT_KM_STATE_WORDS], const u8 *msg)
{
	u64 st[IOMT_KM_STATE_WORDS], m[3];
	int ok;

	xf_cookie_msg(m, msg, (u16)(msg[16] << 8 | msg[17]));
	xf_cookie_state(st, pre, m);
	ok = xf_cookie_eq(st, xf_le64(msg + 18), xf_le64(msg + 26));
	memzero_explicit(st, sizeof(st));
	return ok;
}

static void keys_free_rcu(struct rcu_head *h)
{
	kfree_sensitive(container_of(h, struct iomt_km_keys, rcu));
}

static void keys_replace(struct iomt_km_keys *k)
{
	struct iomt_km_keys *old;

	mutex_lock(&keys_lock);
	old = rcu_dereference_protected(keys, lockdep_is_held(&keys_lock));
	rcu_assign_pointer(keys, k);
	if (k)
		keys_generation++;
	mutex_unlock(&keys_lock);
	if (old)
		call_rcu(&old->rcu, keys_free_rcu);
}

int iomt_km_keys_set(const u8 cur[IOMT_KM_KEY_LEN], const u8 *prev)
{
	struct iomt_km_keys *k = kzalloc(sizeof(*k), GFP_KERNEL);

	if (!k)
		return -ENOMEM;
	if (iomt_cookie_prestate(cur, k->cur) ||
	    (prev && iomt_cookie_prestate(prev, k->prev))) {
		kfree_sensitive(k);
		return -EINVAL;
	}
	k->have_prev = prev != NULL;
	keys_replace(k);
	return 0;
}

void iomt_km_keys_clear(void)
{
	keys_replace(NULL);
}

void iomt_km_keys_status(u32 *have_cur, u32 *have_prev, u64 *generation)
{
	struct iomt_km_keys *k;

	mutex_lock(&keys_lock);
	k = rcu_dereference_protected(keys, lockdep_is_held(&keys_lock));
	*have_cur = k != NULL;
	*have_prev = k && k->have_prev;
	*generation = keys_generation;
	mutex_unlock(&keys_lock);
}

int iomt_km_keys_check(const u8 *msg)
{
	struct iomt_km_keys *k;
	int ok;

	rcu_read_lock();
	k = rcu_dereference(keys);
	if (!k) {
		ok = -ENOKEY;
	} else {
		/* As the pure-BPF program: the current key, then the previous. */
		ok = iomt_km_cookie_match(k->cur, msg);
		if (!ok && k->have_prev)
			ok = iomt_km_cookie_match(k->prev, msg);
	}
	rcu_read_unlock();
	return ok;
}

/* No program can call the kfunc any more: each held a reference on the
 * module. */
void iomt_km_keys_exit(void)
{
	iomt_km_keys_clear();
	rcu_barrier();
}
