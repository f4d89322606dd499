/* SPDX-License-Identifier: MIT */
/* iomt-store keygen: the processing application's P-256 key pair, which
 * signs its consent requests (the PPD holds the public half). */
#ifndef IOMT_STORE_KEYGEN_H
#define IOMT_STORE_KEYGEN_H

int store_keygen_main(int argc, char **argv);

#endif
