// SPDX-License-Identifier: GPL-2.0-only
/*
 * exitstat --host --live on two VMs, captured: two processes named web1
 * and db1 each run a VM that takes CPUID exits at its own pace, while
 * exitstat --host --live 1 runs on a pseudo-terminal of 100 x 24. After
 * a few frames the demo presses q and prints the last frame as text,
 * escape codes taken out, each line prefixed "[live] ".
 *
 *   demo_live [-s SECONDS]
 */
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exit_stats_util.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* A VM named @name (its comm) that runs @k CPUIDs, then pauses, until @end. */
static pid_t busy_vm(const char *name, u32 k, useconds_t pause, double end)
{
	struct vm *vm;
	pid_t pid = fork();

	TEST_ASSERT(pid >= 0, "fork");
	if (pid)
		return pid;
	prctl(PR_SET_NAME, name);
	vm = vm_create(1);
	vm_load_cpuid_loop(vm);
	while (now() < end) {
		vcpu_run_cpuids(vm, 0, k);
		usleep(pause);
	}
	vm_free(vm);
	_exit(0);
}

/* The last whole frame of the screen: from a cursor-home to its erase-down. */
static void print_frame(char *s)
{
	char *f = s, *p, *e = NULL;
	bool line_start = true;

	for (p = s; (p = strstr(p, "\033[J")); p += 3)
		e = p;
	if (!e) {
		puts("[live] (no whole frame)");
		return;
	}
	*e = 0;
	for (p = s; (p = strstr(p, "\033[H")); p += 3)
		f = p + 3;
	for (; *f; f++) {
		if (*f == '\033') {		/* CSI: ESC [ params final */
			if (f[1] == '[')
				for (f += 2; *f && !(*f >= 0x40 && *f <= 0x7e); f++)
					;
			if (!*f)
				break;
			continue;
		}
		if (*f == '\r')
			continue;
		if (line_start)
			fputs("[live] ", stdout);
		putchar(*f);
		line_start = *f == '\n';
	}
	if (!line_start)
		putchar('\n');
}

int main(int argc, char **argv)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 100 };
	size_t len = 0, cap = 1 << 20;
	char *out = malloc(cap);
	int secs = 6, o, fd, status;
	pid_t web, db, live;
	double end;
	ssize_t n;

	while ((o = getopt(argc, argv, "s:")) != -1)
		secs = o == 's' ? atoi(optarg) : secs;
	TEST_ASSERT(out && secs > 2, "usage: demo_live [-s SECONDS > 2]");
	end = now() + secs + 3;
	web = busy_vm("web1", 2000, 1000, end);
	db = busy_vm("db1", 200, 20000, end);
	sleep(1);

	live = forkpty(&fd, NULL, NULL, &ws);
	TEST_ASSERT(live >= 0, "forkpty");
	if (!live) {
		execl("/tests/exitstat", "exitstat", "--host", "--live", "1", (char *)NULL);
		_exit(127);
	}
	while (now() < end - 3) {
		struct timeval tv = { 0, 200000 };
		fd_set r;

		FD_ZERO(&r);
		FD_SET(fd, &r);
		if (select(fd + 1, &r, NULL, NULL, &tv) > 0) {
			n = read(fd, out + len, cap - 1 - len);
			if (n <= 0)
				break;
			len += n;
		}
	}
	out[len] = 0;
	TEST_ASSERT(write(fd, "q", 1) == 1, "pressing q");
	waitpid(live, &status, 0);
	print_frame(out);
	printf("demo_live: exitstat --live exit status %d, %zu bytes of screen\n",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1, len);
	waitpid(web, NULL, 0);
	waitpid(db, NULL, 0);
	return 0;
}
