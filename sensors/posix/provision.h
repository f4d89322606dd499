/* SPDX-License-Identifier: MIT */
/*
 * iomt-sensor provision --prov FILE --state STATEFILE
 *
 * Imports a device provisioning file (prov.h) into a new state file
 * (store.h), each device stored by the core (sc_provision_s2) IDLE with
 * its (DID, DK). All or nothing; an existing state file is never
 * overwritten. Exit 0, 1 (error), 2 (usage).
 */
#ifndef IOMT_SENSOR_PROVISION_H
#define IOMT_SENSOR_PROVISION_H

/* argv[0] is "provision". */
int sensor_provision_main(int argc, char *const argv[]);

#endif
