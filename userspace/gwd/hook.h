/* SPDX-License-Identifier: MIT */
/*
 * Test hooks, for the crash-safety suites only: the environment variable
 * IOMT_GWD_TEST_HOOK names one point where the daemon kills itself with
 * SIGKILL or fails on purpose. Unset (every deployment), nothing happens.
 *
 *   kill_before_persist   SIGKILL after M3 was checked, before the state write
 *   kill_after_persist    SIGKILL after the state write, before any M4
 *   fail_persist          every state write fails as if the disk did (EIO)
 *   fail_data_store       every phase-4 store transaction fails before its
 *                         commit (EIO): written, then rolled back
 *   ble_single_shot       BLE on io_uring with single-shot accept and recv,
 *                         as on a kernel refusing multishot (ble.c)
 */
#ifndef IOMT_GWD_HOOK_H
#define IOMT_GWD_HOOK_H

enum gwd_hook {
	GWD_HOOK_NONE = 0,
	GWD_HOOK_KILL_BEFORE_PERSIST,
	GWD_HOOK_KILL_AFTER_PERSIST,
	GWD_HOOK_FAIL_PERSIST,
	GWD_HOOK_FAIL_DATA_STORE,
	GWD_HOOK_BLE_SINGLE_SHOT,
};

/* Reads the environment once: 0, or -EINVAL for an unknown hook name. */
int gwd_hook_init(void);
/* At point: kills the process for a kill hook; 1 for an active fail hook, else 0. */
int gwd_hook_at(enum gwd_hook point);

#endif
