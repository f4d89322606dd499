/* SPDX-License-Identifier: MIT */
/*
 * iomt-sensor state --state FILE [--dids]
 *
 * What the state file holds, read through sensors/core (the newest good
 * slot of each device, as the device itself would load it), one line per
 * device:
 *
 *   INDEX gen=G [did=HEX] data=KEYID|- epoch=E leaf=L seq_hi=S
 *
 * Never a key. The DID (the device's current pseudonym) only with --dids,
 * for tests that compare it with the TTP's. Exit 0, 1 (a device has no good
 * slot, or the file cannot be read), 2 (usage).
 */
#ifndef IOMT_SENSOR_INSPECT_H
#define IOMT_SENSOR_INSPECT_H

/* argv[0] is "state". */
int sensor_state_main(int argc, char *const argv[]);

#endif
