/* SPDX-License-Identifier: MIT */
/* IOMT_GWD_TEST_HOOK: deterministic crashes and failures for the tests. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "lib/rt_log.h"

static enum gwd_hook active = GWD_HOOK_NONE;

static const char *const hook_names[] = {
	[GWD_HOOK_KILL_BEFORE_PERSIST] = "kill_before_persist",
	[GWD_HOOK_KILL_AFTER_PERSIST] = "kill_after_persist",
	[GWD_HOOK_FAIL_PERSIST] = "fail_persist",
	[GWD_HOOK_FAIL_DATA_STORE] = "fail_data_store",
	[GWD_HOOK_BLE_SINGLE_SHOT] = "ble_single_shot",
};

int gwd_hook_init(void)
{
	const char *name = getenv("IOMT_GWD_TEST_HOOK");
	unsigned i;

	if (!name || !*name)
		return 0;
	for (i = 1; i < sizeof(hook_names) / sizeof(hook_names[0]); i++) {
		if (!strcmp(name, hook_names[i])) {
			active = (enum gwd_hook)i;
			rt_warn("test hook '%s' is active: not for production", name);
			return 0;
		}
	}
	rt_err("IOMT_GWD_TEST_HOOK: unknown hook '%s'", name);
	return -EINVAL;
}

int gwd_hook_at(enum gwd_hook point)
{
	if (point != active)
		return 0;
	if (point == GWD_HOOK_KILL_BEFORE_PERSIST || point == GWD_HOOK_KILL_AFTER_PERSIST) {
		rt_warn("test hook '%s': SIGKILL", hook_names[point]);
		raise(SIGKILL);
	}
	return 1;
}
