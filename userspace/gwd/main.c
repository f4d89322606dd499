/* SPDX-License-Identifier: MIT */
/* iomt-gwd: the gateway / 5G MEC daemon, and its provisioning subcommand. */
#include <string.h>

#include "daemon.h"
#include "lib/rt_log.h"
#include "provision.h"

struct subcommand {
	const char *name;
	int (*main)(int argc, char *const argv[]);
};

static const struct subcommand subcommands[] = {
	{ "provision", gwd_provision_main },
};

int main(int argc, char *argv[])
{
	rt_log_init("iomt-gwd");
	for (size_t i = 0; argc > 1 && i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].main(argc - 1, argv + 1);
	return gwd_daemon_main(argc, argv);
}
