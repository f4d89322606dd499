/* SPDX-License-Identifier: MIT */
/*
 * Where a sensor's first data key comes from: the patient's PPD, through
 * sensors/core's sc_prov (sc_prov.h: AS and TGS exchanges with the KDC for
 * a ticket to the PPD, then KCHAN PROVISION with I_sensor = our KDC name
 * and the Conf we want), each request over UDP to its server; or a file
 * holding the same 94 bytes (meta_Kdata || K_data_0) for set-ups without a
 * PPD. Either way the core persists the key (sc_data_provision) before the
 * first record can be sealed under it.
 */
#ifndef IOMT_SENSOR_DATA_PROV_H
#define IOMT_SENSOR_DATA_PROV_H

#include "data_opts.h"
#include "sc.h"
#include "store.h"

/* The core c (driver context d) gets its first data key, stored: 0, or -1
 * after logging why. */
int data_prov_get(const struct data_opts *o, struct sc *c, struct sensor_dev *d);

#endif
