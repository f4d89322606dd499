/* SPDX-License-Identifier: MIT */
/* iomt-sensor: the device side of seed 002 and of data key management on Linux. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "lib/rt_log.h"
#include "data.h"
#include "inspect.h"
#include "provision.h"
#include "run.h"
#include "stream.h"

static const struct {
	const char *name;
	int (*main)(int argc, char *const argv[]);
	const char *help;
} commands[] = {
	{ "provision", sensor_provision_main, "import a device provisioning file into a state file" },
	{ "run", sensor_run_main, "simulate the devices: seed-002 key agreements with a MEC" },
	{ "stream", sensor_stream_main, "one device agrees a key, then streams measurements to the MEC" },
	{ "data", sensor_data_main, "seal measurements (data-key tree), send them to a gateway" },
	{ "state", sensor_state_main, "show what a state file holds, device by device" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: iomt-sensor COMMAND [options]   (COMMAND --help for its options)\n\n");
	for (i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char *argv[])
{
	size_t i;

	rt_log_init("iomt-sensor");
	/* A state file over the file-size limit must be an EFBIG error we report,
	 * not a silent death. */
	signal(SIGXFSZ, SIG_IGN);
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].main(argc - 1, argv + 1);
	fprintf(stderr, "iomt-sensor: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
