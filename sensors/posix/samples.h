/* SPDX-License-Identifier: MIT */
/*
 * `iomt-sensor stream --samples FILE`: measurements from a text file, one
 * a line, read whole and checked before anything is sent:
 *
 *   # comment
 *   t_ms kind value
 *
 * t_ms: the device time in ms (decimal, < 2^63), never earlier than the
 * previous line's; kind: "rr" (value = RR interval in ms, 200..3000) or
 * "spo2" (value = SpO2 in tenths of a percent, 0..1000), the input ranges
 * of the MEC's analyses (docs/ANALYSES.md). Fields separated by spaces or
 * tabs; blank lines and lines starting with '#' are skipped; anything else
 * (a CR, a sign, extra text, an empty file) is refused with FILE:LINE.
 */
#ifndef IOMT_SENSOR_SAMPLES_H
#define IOMT_SENSOR_SAMPLES_H

#include <stddef.h>

#include "s2_data.h"

struct sample_list {
	struct iomt_s2_sample *s;
	size_t n;
};

/* 0, or -1 after logging "FILE:LINE: what". */
int samples_load(const char *path, struct sample_list *out);
void samples_free(struct sample_list *l);

#endif
