// SPDX-License-Identifier: GPL-2.0-only
/*
 * A guest that runs K CPUIDs, each a VM exit, raises its vCPU's "exits"
 * statistic by at least K.
 */
#include "kvm_util.h"

/* EDI = number of CPUIDs to run; CPUID clobbers EAX, EBX, ECX and EDX. */
GUEST_CODE(guest_cpuid_loop,
	"	test %edi, %edi\n"
	"	jz 2f\n"
	"1:	xor %eax, %eax\n"
	"	cpuid\n"
	"	dec %edi\n"
	"	jnz 1b\n"
	"2:	hlt\n"
	"	jmp 2b\n");

static void run_cpuid_guest(struct vm *vm, int i, u32 k)
{
	struct kvm_regs regs;

	vcpu_setup_real_mode(vm, i, GUEST_CODE_GPA);
	vcpu_get_regs(vm, i, &regs);
	regs.rdi = k;
	vcpu_set_regs(vm, i, &regs);
	vcpu_run_expect(vm, i, KVM_EXIT_HLT);
	vcpu_get_regs(vm, i, &regs);
	TEST_ASSERT((u32)regs.rdi == 0, "expected vCPU %d to run %u CPUIDs, %u were left",
		    i, k, (u32)regs.rdi);
}

static void test_exits_stat(u32 k)
{
	struct vm *vm = vm_create(1);
	u64 before, delta;

	vm_load_code(vm, GUEST_CODE_GPA, guest_cpuid_loop);
	before = vm_vcpu_stat(vm, 0, "exits");
	run_cpuid_guest(vm, 0, k);
	delta = vm_vcpu_stat(vm, 0, "exits") - before;
	ktap_diag("K=%u: exits delta %llu (expected >= %u)", k, delta, k);
	ktap_result(delta >= k, "exits_stat_k%u", k);
	vm_free(vm);
}

int main(int argc, char **argv)
{
	u32 ks[] = { 1000, 10000 };
	int i, n = 2;

	if (test_init(argc, argv, &ks[0]))
		n = 1;
	ktap_plan(n);
	for (i = 0; i < n; i++)
		test_exits_stat(ks[i]);
	return ktap_finish();
}
