/* SPDX-License-Identifier: MIT */
/*
 * iomt-store decrypt: the processing application's side of consent-gated
 * key release. Selects records, covers their leaves (plan.h), asks each
 * patient's PPD for the node keys with signed consent requests
 * (release.h), and, only when every request was approved, derives each
 * record's K_enc and opens it. Keys are wiped after use.
 *
 * Exit status: 0 every record opened, 1 error, 2 usage, 3 denied or
 * refused (nothing decrypted), 4 some records did not open.
 */
#ifndef IOMT_STORE_DECRYPT_H
#define IOMT_STORE_DECRYPT_H

int store_decrypt_main(int argc, char **argv);

#endif
