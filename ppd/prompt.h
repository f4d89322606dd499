/* SPDX-License-Identifier: MIT */
/* Asking the patient on a terminal (a console, /dev/tty, a pty behind a
 * smartphone bridge): a summary, then y/n within a deadline. */
#ifndef IOMT_PPD_PROMPT_H
#define IOMT_PPD_PROMPT_H
#include <stdint.h>

enum ppd_answer {
	PPD_ANSWER_NO = 0,
	PPD_ANSWER_YES = 1,
	PPD_ANSWER_TIMEOUT = 2,	/* nothing (or no full line) before the deadline */
	PPD_ANSWER_GONE = 3,	/* the terminal is gone (hung up, error) */
	PPD_ANSWER_INTERRUPTED = 4, /* stop_fd became readable (a signal): ask again or give up */
};

/* Opens the terminal (read/write, never as our controlling tty): fd or -errno. */
int ppd_prompt_open(const char *path);
/* Discards type-ahead, writes summary and the question, reads one line:
 * "y"/"yes" (any case) is YES, anything else NO. stop_fd (or -1) is
 * watched too and left unread. */
enum ppd_answer ppd_prompt_ask(int fd, const char *summary, uint64_t timeout_ms, int stop_fd);

#endif
