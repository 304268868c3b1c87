// SPDX-License-Identifier: GPL-2.0-only
/*
 * The lab demo's guest: a tiny real-mode VM that runs CPUIDs and port
 * writes, then reads the exit-statistics leaves from inside, the way
 * `cpuid -1 -r -l LEAF -s ECX` would. Prints the guest's answers and the
 * host-side view (debugfs exit_stats) of the same VM.
 *
 *   demo_guest [-k CPUIDS]
 */
#include <stdio.h>

#include "exit_stats_util.h"

/* EDI = CPUIDs, SI = port writes; then read five leaves for ECX = EBP. */
GUEST_CODE(guest_demo,
	GUEST_CPUID_LOOP
	"	mov %si, %cx\n"
	"	jcxz 2f\n"
	"1:	out %al, $0xe9\n"
	"	loop 1b\n"
	"2:\n"
	GUEST_READ_LEAF(0x4fffffff, 0x8000)
	GUEST_READ_LEAF(0x4ffffffe, 0x8010)
	GUEST_READ_LEAF(0x4ffffffd, 0x8020)
	GUEST_READ_LEAF(0x4ffffffc, 0x8030)
	GUEST_READ_LEAF(0x4ffffffb, 0x8040)
	"9:	hlt\n"
	"	jmp 9b\n");

static void show(struct vm *vm, u32 ecx)
{
	static const char *const what[] = {
		"all exits", "cycles of all exits", "exits of reason", "cycles of reason",
		"discovery",
	};
	u32 leaves[] = { 0x4fffffff, 0x4ffffffe, 0x4ffffffd, 0x4ffffffc, 0x4ffffffb };
	int j;

	for (j = 0; j < 5; j++) {
		struct leaf l = guest_leaf(vm, 0x8000 + 16 * j);

		printf("  guest$ cpuid -l 0x%08x -s %-4u  eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x  (%s)\n",
		       leaves[j], j == 2 || j == 3 ? ecx : 0, l.eax, l.ebx, l.ecx, l.edx, what[j]);
	}
}

int main(int argc, char **argv)
{
	u32 k = 1000, reason = cpuid_exit_reason(), io = host_is_amd() ? 0x7b : 30, r;
	struct kvm_regs regs;
	struct vm *vm;
	struct view v;
	int i, n;

	test_init(argc, argv, &k);
	vm = vm_create(1);
	vm_load_code(vm, GUEST_CODE_GPA, guest_demo);
	printf("guest: %u CPUIDs and 100 port writes, then it reads the leaves\n", k);
	vcpu_prepare(vm, 0, k, reason);
	vcpu_get_regs(vm, 0, &regs);
	regs.rsi = 100;
	vcpu_set_regs(vm, 0, &regs);
	while ((r = vcpu_run(vm, 0)) == KVM_EXIT_IO)
		;
	TEST_ASSERT(r == KVM_EXIT_HLT, "expected the guest to halt, got %s", exit_reason_str(r));
	printf("what the guest read (ECX = %u is CPUID's exit reason):\n", reason);
	show(vm, reason);
	vcpu_prepare(vm, 0, 0, io);
	vcpu_run_expect(vm, 0, KVM_EXIT_HLT);
	printf("and for ECX = %u (I/O instruction), after one more read:\n", io);
	show(vm, io);
	n = view_read(vm, &v);
	if (n < 0) {
		printf("host: no exit_stats file in debugfs (not the patched KVM?)\n");
		vm_free(vm);
		return 1;
	}
	printf("host view, /sys/kernel/debug/kvm/<pid>-<fd>/exit_stats:\n");
	printf("  %8s %12s %14s\n", "reason", "exits", "cycles");
	for (i = 0; i < n; i++)
		printf("  %8u %12llu %14llu\n", v.reason[i], v.count[i], v.cycles[i]);
	printf("  %8s %12llu %14llu\n", "total", v.total_count, v.total_cycles);
	printf("KVM's own exits statistic for the vCPU: %llu\n", vm_vcpu_stat(vm, 0, "exits"));
	vm_free(vm);
	return 0;
}
