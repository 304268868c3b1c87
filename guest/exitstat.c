// SPDX-License-Identifier: GPL-2.0-only
/*
 * exitstat: main() and the runner of `exitstat -- COMMAND`; the rest is in
 * the files exitstat.h lists.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exitstat.h"

/*
 * Like perf stat: ignore ^C while the command runs, so that it reaches the
 * command and exitstat still reports. An exec failure comes back through a
 * close-on-exec pipe: ES_RUN_NOT_FOUND or ES_RUN_CANNOT_EXEC, which
 * exitstat turns into 127 and 126 as the shell does; ES_RUN_FAILED if
 * exitstat could not start it at all.
 */
static int run(char *const argv[], FILE *err)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, oint, oquit;
	int p[2], e = 0, st;
	ssize_t n;
	pid_t pid;

	if (pipe(p) || fcntl(p[1], F_SETFD, FD_CLOEXEC)) {
		fprintf(err, "exitstat: pipe: %s\n", strerror(errno));
		return ES_RUN_FAILED;
	}
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	pid = fork();
	if (!pid) {
		sigaction(SIGINT, &oint, NULL);
		sigaction(SIGQUIT, &oquit, NULL);
		close(p[0]);
		execvp(argv[0], argv);
		e = errno;
		n = write(p[1], &e, sizeof(e));
		(void)n;
		_exit(127);
	}
	if (pid < 0) {
		fprintf(err, "exitstat: fork: %s\n", strerror(errno));
		close(p[0]);
		close(p[1]);
		sigaction(SIGINT, &oint, NULL);
		sigaction(SIGQUIT, &oquit, NULL);
		return ES_RUN_FAILED;
	}
	close(p[1]);
	if (read(p[0], &e, sizeof(e)) != sizeof(e))
		e = 0;
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	if (e) {
		fprintf(err, "exitstat: cannot run '%s': %s\n", argv[0], strerror(e));
		return e == ENOENT ? ES_RUN_NOT_FOUND : ES_RUN_CANNOT_EXEC;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	bool cmd = false;
	int rc, i;

	/* everything after the first "--" is COMMAND, as exitstat_main() takes it */
	for (i = 1; i < argc && !cmd; i++)
		cmd = !strcmp(argv[i], "--");
	es_hooks.run = run;
	rc = exitstat_main(argc, argv, &es_cpuid_backend, stdout, stderr);
	/*
	 * exitstat_main() checked what it wrote; a closed stdout it never
	 * used is fine. With a command, rc may be the command's: any error
	 * of exitstat's own wins over it, as 125.
	 */
	if (fclose(stdout) && errno != EBADF && (!rc || cmd)) {
		fprintf(stderr, "exitstat: cannot write to standard output: %s\n", strerror(errno));
		rc = cmd ? ES_EXIT_CMD_OWN : ES_EXIT_USAGE;
	}
	return rc;
}
