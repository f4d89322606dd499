/* SPDX-License-Identifier: MIT */
/*
 * The sensor's side of the data-key tree: one K_data_e, moved forward only.
 * Nothing here can step an epoch back: the state has no older key and the
 * refresh has no inverse. Work happens on locals; the state changes only
 * after every check has passed.
 */
#include <string.h>
#include "keytree.h"
#include "ct.h"
#include "iomt_err.h"

int iomt_keytree_sensor_init(struct iomt_keytree_sensor *s, const struct iomt_keytree_conf *c,
			     const uint8_t key_id[IOMT_KEYTREE_ID_LEN],
			     const uint8_t k_data[IOMT_KEYTREE_KEY_LEN], uint32_t epoch)
{
	struct iomt_keytree_shape sh;
	int err;

	if (!s)
		return IOMT_EINVAL;
	iomt_wipe(s, sizeof(*s));
	if (!key_id || !k_data)
		return IOMT_EINVAL;
	err = iomt_keytree_shape(c, &sh);
	if (err)
		return err;
	if (iomt_ct_is_zero(key_id, IOMT_KEYTREE_ID_LEN))
		return IOMT_EMALFORMED;
	if (epoch >= sh.epochs)
		return IOMT_EINVAL;
	s->conf = *c;
	memcpy(s->key_id, key_id, IOMT_KEYTREE_ID_LEN);
	memcpy(s->k_data, k_data, IOMT_KEYTREE_KEY_LEN);
	s->epoch = epoch;
	s->live = 1;
	return IOMT_OK;
}

/* The schedule's number of epochs into *epochs. Not inlined: the shape is
 * then off the stack under the refresh's KMAC (a sensor's stack, issue 8). */
static __attribute__((noinline)) int epochs_of(const struct iomt_keytree_conf *c,
					       uint64_t *epochs)
{
	struct iomt_keytree_shape sh;
	int err = iomt_keytree_shape(c, &sh);

	*epochs = err ? 0 : sh.epochs;
	return err;
}

int iomt_keytree_sensor_advance(struct iomt_keytree_sensor *s, uint32_t epoch)
{
	uint64_t epochs;
	int err;

	if (!s)
		return IOMT_EINVAL;
	if (!s->live)
		return IOMT_ESTATE;
	err = epochs_of(&s->conf, &epochs);
	if (err)
		return err;
	if (epoch >= epochs)
		return IOMT_EINVAL;
	/* Forward only: the key of an earlier epoch is gone by design. */
	if (epoch < s->epoch)
		return IOMT_ESTATE;
	for (; s->epoch < epoch; s->epoch++) {
		/* In place: the refresh wipes its own temporary, and the old
		 * K_data_e is overwritten by K_data_e+1. */
		err = iomt_keytree_refresh(s->k_data, s->k_data);
		if (err) {
			/* Cannot happen with valid pointers; never keep a
			 * half-advanced key around if it does. */
			iomt_keytree_sensor_wipe(s);
			return err;
		}
	}
	return IOMT_OK;
}

int iomt_keytree_sensor_key(struct iomt_keytree_sensor *s, uint64_t t, uint32_t *epoch,
			    uint64_t *leaf, uint8_t k_enc[IOMT_KEYTREE_KEY_LEN])
{
	struct iomt_keytree_node n;
	uint64_t l;
	uint32_t e;
	int err;

	if (!s || !epoch || !leaf || !k_enc)
		return IOMT_EINVAL;
	if (!s->live)
		return IOMT_ESTATE;
	err = iomt_keytree_locate(&s->conf, t, &e, &l);
	if (err)
		return err;
	/* IOMT_ESTATE for an earlier epoch, before anything changes. */
	err = iomt_keytree_sensor_advance(s, e);
	if (!err)
		err = iomt_keytree_node_of(&s->conf, l, s->conf.depth, &n);
	if (!err)
		err = iomt_keytree_node_key(&s->conf, e, s->k_data, &n, k_enc);
	if (err)
		return err;
	*epoch = e;
	*leaf = l;
	return IOMT_OK;
}

void iomt_keytree_sensor_wipe(struct iomt_keytree_sensor *s)
{
	if (s)
		iomt_wipe(s, sizeof(*s));
}
