// SPDX-License-Identifier: GPL-2.0-only
/*
 * Print what a guest with KVM's supported CPUID gets from leaves
 * 0x4ffffffb-0x4fffffff, for a few ECX values; the lab compares this
 * output between stock KVM and the patched KVM with exit_stats=0.
 * With -d, say instead whether the VM has a host-side exit_stats view.
 * With -w Y or -w N, first write that to the VM's debugfs
 * exit_stats_leaves (who reads the leaves), check that it reads back, and
 * after the probe that the host view counted every CPUID exit either way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "exit_stats_util.h"

#define NR_ENTRIES	100

/* EBP = ECX for every leaf. */
GUEST_CODE(guest_probe,
	GUEST_READ_LEAF(0x4ffffffb, 0x8000)
	GUEST_READ_LEAF(0x4ffffffc, 0x8010)
	GUEST_READ_LEAF(0x4ffffffd, 0x8020)
	GUEST_READ_LEAF(0x4ffffffe, 0x8030)
	GUEST_READ_LEAF(0x4fffffff, 0x8040)
	"9:	hlt\n"
	"	jmp 9b\n");

static void set_supported_cpuid(struct vm *vm)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + NR_ENTRIES * sizeof(c->entries[0]));

	TEST_ASSERT(c, "out of memory");
	c->nent = NR_ENTRIES;
	TEST_ASSERT(!ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c), "KVM_GET_SUPPORTED_CPUID failed");
	TEST_ASSERT(!ioctl(vm->vcpu[0].fd, KVM_SET_CPUID2, c), "KVM_SET_CPUID2 failed");
	free(c);
}

/* Write "Y" or "N" to the VM's exit_stats_leaves; it must read back. */
static void leaves_switch(struct vm *vm, const char *value)
{
	char path[96], back[8] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d/exit_stats_leaves",
		 getpid(), vm->fd);
	f = fopen(path, "w");
	TEST_ASSERT(f, "cannot open %s", path);
	TEST_ASSERT(fputs(value, f) >= 0 && !fclose(f), "writing %s to %s failed", value, path);
	f = fopen(path, "r");
	TEST_ASSERT(f && fgets(back, sizeof(back), f), "cannot read %s back", path);
	fclose(f);
	TEST_ASSERT(back[0] == value[0] && back[1] == '\n' && !back[2],
		    "%s reads \"%s\" after writing %s", path, back, value);
}

int main(int argc, char **argv)
{
	u32 ecx[] = { 0, cpuid_exit_reason(), 0xffffffff };
	struct vm *vm;
	struct view v;
	size_t i;
	int j;

	const char *w = NULL;
	u64 cpuids;

	vm = vm_create(1);
	set_supported_cpuid(vm);
	vm_load_code(vm, GUEST_CODE_GPA, guest_probe);
	if (argc > 1 && !strcmp(argv[1], "-d")) {
		printf("%s\n", view_read(vm, &v) < 0 ? "no exit_stats file" : "exit_stats file present");
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "-w")) {
		w = argv[2];
		TEST_ASSERT(!strcmp(w, "Y") || !strcmp(w, "N"), "-w wants Y or N, not %s", w);
		leaves_switch(vm, w);
	}
	for (i = 0; i < sizeof(ecx) / sizeof(ecx[0]); i++) {
		vcpu_prepare(vm, 0, 0, ecx[i]);
		vcpu_run_expect(vm, 0, KVM_EXIT_HLT);
		for (j = 0; j < 5; j++) {
			struct leaf l = guest_leaf(vm, 0x8000 + 16 * j);

			/* Counts move between runs; stock KVM's answers do not. */
			printf("0x%08x 0x%08x: %08x %08x %08x %08x\n", 0x4ffffffb + j, ecx[i],
			       l.eax, l.ebx, l.ecx, l.edx);
		}
	}
	if (w) {
		TEST_ASSERT(view_read(vm, &v) > 0, "no host-side view (debugfs exit_stats) for the VM");
		cpuids = view_count(&v, cpuid_exit_reason());
		TEST_ASSERT(cpuids == 5 * sizeof(ecx) / sizeof(ecx[0]),
			    "with exit_stats_leaves %s the host view counted %llu CPUID exits, not %zu",
			    w, cpuids, 5 * sizeof(ecx) / sizeof(ecx[0]));
	}
	vm_free(vm);
	return 0;
}
