/* SPDX-License-Identifier: MIT */
/*
 * Where a sensor's first data key comes from: the patient's PPD over the
 * KDC-authenticated channel (a ticket for the PPD, then KCHAN PROVISION
 * with I_sensor = our KDC name and the Conf we want: lib/consent.h), or a
 * file holding the same 94 bytes (meta_Kdata || K_data_0) for set-ups
 * without a PPD.
 */
#ifndef IOMT_SENSOR_DATA_PROV_H
#define IOMT_SENSOR_DATA_PROV_H

#include "data_opts.h"
#include "keytree.h"

/* meta and K_data_0 (the caller wipes it): 0, or -1 after logging why. */
int data_prov_get(const struct data_opts *o, struct iomt_keytree_meta *m,
		  uint8_t k_data0[IOMT_KEYTREE_KEY_LEN]);

#endif
