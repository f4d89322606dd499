/* SPDX-License-Identifier: MIT */
/* Daemons in suites: start a program with its output in a file, wait for
 * its exit with a bound. */
#ifndef IOMT_DAEMON_ENV_H
#define IOMT_DAEMON_ENV_H
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* de_spawn: runs bin with argv (argv[0] first, NULL-terminated), its stdout
 * and stderr appended to out_path; its pid (-1 if fork failed). */
static inline pid_t de_spawn(const char *bin, char *const *argv, const char *out_path)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(bin, argv);
		_exit(127);
	}
	return pid;
}

/* de_spawn_args: de_spawn with argv = prog, args... (args NULL-terminated,
 * at most 38 used). */
static inline pid_t de_spawn_args(const char *bin, const char *prog, const char *const *args,
				  const char *out_path)
{
	char *argv[40];
	int n = 0;

	/* execv's argv is char *const[] for history's sake; it writes nothing. */
	argv[n++] = (char *)(uintptr_t)prog;
	while (*args && n < 39)
		argv[n++] = (char *)(uintptr_t)*args++;
	argv[n] = NULL;
	return de_spawn(bin, argv, out_path);
}

/* de_wait_for: waits for pid at most ms; its exit status (128 + the signal
 * if one ended it), or -1 on timeout. */
static inline int de_wait_for(pid_t pid, int ms)
{
	int status;

	for (int waited = 0; waited <= ms; waited += 5) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(5000);
	}
	return -1;
}

/* de_run_v: runs bin as `prog sub ARGS...` (ARGS from ap, NULL-terminated,
 * at most 30 used), its output appended to out_path; its exit status, or -1
 * if it ran longer than ms. */
static inline int de_run_v(const char *bin, const char *prog, const char *sub, va_list ap,
			   const char *out_path, int ms)
{
	const char *args[32] = { sub };
	int n = 1;

	while (n < 31 && (args[n] = va_arg(ap, const char *)))
		n++;
	args[n] = NULL;
	return de_wait_for(de_spawn_args(bin, prog, args, out_path), ms);
}

#endif
