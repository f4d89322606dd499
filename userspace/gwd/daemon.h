/* SPDX-License-Identifier: MIT */
/* 'iomt-gwd [options]': set-up, the engine with the MEC role, orderly exit. */
#ifndef IOMT_GWD_DAEMON_H
#define IOMT_GWD_DAEMON_H

/* Exit status: 0 after a graceful stop, 1 on a start-up or fatal error,
 * 2 for a bad command line or configuration. */
int gwd_daemon_main(int argc, char *const argv[]);

#endif
