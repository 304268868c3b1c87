// SPDX-License-Identifier: GPL-2.0-only
/*
 * The paging experiment's fixed workload, run in the inner VM: touch a
 * large memory range, fork and exec a program many times, and write, read
 * and delete files in tmpfs.
 *
 *   exp_workload [MIB [EXECS [FILE_MIB]]]   (default 64 300 16)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	int execs = argc > 2 ? atoi(argv[2]) : 300;
	size_t file_mib = argc > 3 ? strtoul(argv[3], NULL, 0) : 16;
	static char buf[65536];
	size_t i, n;
	char *p;
	int fd;

	p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	for (i = 0; i < mib << 20; i += 4096)
		p[i] = (char)i;
	munmap(p, mib << 20);

	for (i = 0; i < (size_t)execs; i++) {
		pid_t pid = fork();
		int st;

		if (pid < 0)
			die("fork");
		if (!pid) {
			execl("/bin/busybox", "true", (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			die("exec of /bin/busybox true");
	}

	memset(buf, 0x5a, sizeof(buf));
	fd = open("/tmp/exp_workload.dat", O_CREAT | O_TRUNC | O_RDWR, 0600);
	if (fd < 0)
		die("open");
	for (n = 0; n < file_mib << 4; n++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			die("write");
	if (lseek(fd, 0, SEEK_SET) < 0)
		die("lseek");
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	unlink("/tmp/exp_workload.dat");
	printf("exp_workload: %zu MiB touched, %d execs, %zu MiB file I/O\n", mib, execs, file_mib);
	return 0;
}
