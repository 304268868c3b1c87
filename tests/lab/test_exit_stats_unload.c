// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unload while a file is open: a VM's exit_stats and one of its vCPU's,
 * held open after the VM's process has exited, must keep the vendor module
 * and kvm.ko loaded (rmmod refused), read whole, and close without harm;
 * the modules then unload. The sanitizer kernel's run (lab/reliability.sh)
 * catches a use after free that a plain kernel would not show.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exit_stats_util.h"

/* The child: a VM that ran K CPUIDs, kept until the parent closes @go. */
static void child(int ready, int go)
{
	struct vm *vm = vm_create(1);
	char c = 0;

	vm_load_cpuid_loop(vm);
	vcpu_run_cpuids(vm, 0, 100);
	TEST_ASSERT(write(ready, &vm->fd, sizeof(vm->fd)) == sizeof(vm->fd), "write to parent");
	TEST_ASSERT(read(go, &c, 1) >= 0, "read from parent");
	_exit(0);	/* the VM goes with the process's files */
}

/* The whole file, from offset 0, into @buf; its length, or -1. */
static ssize_t read_all(int fd, char *buf, size_t len)
{
	ssize_t n, got = 0;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	while ((size_t)got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	return n < 0 ? -1 : got;
}

static bool module_loaded(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
	return access(path, F_OK) == 0;
}

static bool rmmod(const char *name)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rmmod %s 2>/dev/null", name);
	return system(cmd) == 0;
}

int main(int argc, char **argv)
{
	const char *vendor = host_is_amd() ? "kvm_amd" : "kvm_intel";
	int ready[2], go[2], vm_fd, files[2], i, status;
	unsigned long long total;
	u32 k = 0;
	char path[128], buf[16384];
	bool ok_read = true;
	pid_t pid;

	test_init(argc, argv, &k);
	ktap_plan(5);
	TEST_ASSERT(!pipe(ready) && !pipe(go), "pipe");
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		close(ready[0]);
		close(go[1]);
		child(ready[1], go[0]);
	}
	close(ready[1]);
	close(go[0]);
	TEST_ASSERT(read(ready[0], &vm_fd, sizeof(vm_fd)) == sizeof(vm_fd),
		    "the child's VM did not start");
	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d/exit_stats", pid, vm_fd);
	files[0] = open(path, O_RDONLY);
	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d/vcpu0/exit_stats", pid, vm_fd);
	files[1] = open(path, O_RDONLY);
	TEST_ASSERT(files[0] >= 0 && files[1] >= 0, "open %s and its VM's file", path);

	/* The VM's process exits; only the open files hold the VM now. */
	close(go[1]);
	TEST_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "the child did not exit");

	ktap_result(!rmmod(vendor) && module_loaded(vendor),
		    "rmmod_%s_refused_while_a_file_is_open", vendor);
	ktap_result(!rmmod("kvm") && module_loaded("kvm"), "rmmod_kvm_refused_while_a_file_is_open");
	for (i = 0; i < 2; i++) {
		ssize_t n = read_all(files[i], buf, sizeof(buf));

		const char *t = n > 0 ? strstr(buf, "\ntotal ") : NULL;

		total = 0;
		ok_read &= t && sscanf(t, "\ntotal %llu", &total) == 1 && total >= 100;
		ktap_diag("file %d after the VM's process exited: %zd bytes, total %llu exits (100 CPUIDs ran)",
			  i, n, total);
	}
	ktap_result(ok_read, "files_read_whole_after_the_process_exited");
	close(files[0]);
	close(files[1]);
	/* The VM is destroyed as the last file closes; then the modules go. */
	ktap_result(rmmod(vendor) && !module_loaded(vendor), "rmmod_%s_after_close", vendor);
	ktap_result(rmmod("kvm") && !module_loaded("kvm"), "rmmod_kvm_after_close");
	return ktap_finish();
}
