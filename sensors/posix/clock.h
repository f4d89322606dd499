/* SPDX-License-Identifier: MIT */
/* Time for the POSIX port: a monotonic clock in microseconds. */
#ifndef IOMT_SENSOR_CLOCK_H
#define IOMT_SENSOR_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in microseconds: for deadlines and latencies only. */
uint64_t sensor_now_us(void);

#endif
