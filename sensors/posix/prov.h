/* SPDX-License-Identifier: MIT */
/*
 * The device provisioning file, written by `iomt-user` after phase 2: one
 * device per line, exactly
 *
 *   did=<32 hex digits> dk=<32 hex digits>
 *
 * the two fields separated by spaces or tabs, in this order, nothing else on
 * the line; blank lines and lines starting with '#' are ignored. No two
 * devices share a DID or a DK. Every error names file and line; key material
 * is never echoed. The file holds device keys: it should be mode 0600.
 */
#ifndef IOMT_SENSOR_PROV_H
#define IOMT_SENSOR_PROV_H

#include <stddef.h>
#include <stdint.h>

#include "seed002.h"

enum {
	SENSOR_PROV_LINE_MAX = 256,   /* a valid line is 74 characters */
	SENSOR_PROV_MAX = 1 << 20,    /* devices in one file (run --devices' limit) */
};

struct sensor_prov {
	uint8_t did[IOMT_S2_ID_LEN];
	uint8_t dk[IOMT_S2_KEY_LEN];
};

/* Reads the whole file: 0 with *devs (free with sensor_prov_free) and *n >= 1,
 * or -1 after logging "FILE:LINE: what is wrong". */
int sensor_prov_read(const char *path, struct sensor_prov **devs, size_t *n);

/* Parses one line (no newline): 1 with *dev filled, 0 for a blank or
 * comment line, -1 with what is wrong in err. */
int sensor_prov_parse_line(const char *line, struct sensor_prov *dev, char *err, size_t errlen);

/* Wipes and frees. */
void sensor_prov_free(struct sensor_prov *devs, size_t n);

#endif
