/* SPDX-License-Identifier: MIT */
/*
 * iomt-sensor run --state STATEFILE --mec HOST:PORT [--devices N]
 *     [--agreements K] [--concurrency C] [--timeout 500ms] [--retries R]
 *     [--rate R/s] [--json] [--log-level debug] [--drop-m4 P] [--corrupt-m1]
 *
 * Simulates the devices of a state file against a MEC. Prints one summary
 * line (or JSON); exit status 0 if every device finished every agreement,
 * 1 if any failed, 2 for bad usage.
 */
#ifndef IOMT_SENSOR_RUN_H
#define IOMT_SENSOR_RUN_H

/* argv[0] is "run". */
int sensor_run_main(int argc, char *const argv[]);

#endif
