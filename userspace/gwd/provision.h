/* SPDX-License-Identifier: MIT */
/*
 * iomt-gwd provision --pool FILE --state STATEFILE [--force]
 *
 * Imports the MEC provisioning file written by the TTP admin (plaintext;
 * sealed files are opened by another tool) into a new crash-safe state file.
 * One slot per line, exactly:
 *
 *   slot=<n> did=<32 hex digits> dk=<32 hex digits>
 *
 * fields separated by spaces or tabs, in this order; blank lines and lines
 * starting with '#' are ignored. Slots are numbered 0..N-1, each once, and
 * no two slots share a DID. Every error names file and line. Key material
 * is never echoed in messages.
 */
#ifndef IOMT_GWD_PROVISION_H
#define IOMT_GWD_PROVISION_H

/* The subcommand (argv[0] is "provision"): exit status 0, 1 (error) or 2 (usage). */
int gwd_provision_main(int argc, char *const argv[]);

#endif
