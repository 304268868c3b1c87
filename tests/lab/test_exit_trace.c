// SPDX-License-Identifier: GPL-2.0-only
/*
 * A guest that runs K CPUIDs produces exactly K kvm:kvm_exit events with
 * the CPUID exit reason, counted by a hist trigger keyed by exit_reason.
 */
#include "kvm_util.h"

#define KVM_EXIT_EVENT	"kvm/kvm_exit"

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

static void test_exit_hist(u32 k)
{
	struct vm *vm = vm_create(1);
	u32 reason = cpuid_exit_reason();
	u64 n, total;

	vm_load_code(vm, GUEST_CODE_GPA, guest_cpuid_loop);
	hist_trigger_start(KVM_EXIT_EVENT, "exit_reason");
	run_cpuid_guest(vm, 0, k);
	n = hist_count(KVM_EXIT_EVENT, reason);
	total = hist_total(KVM_EXIT_EVENT);
	hist_trigger_stop();
	ktap_diag("K=%u: %llu kvm_exit events with exit_reason 0x%x (expected %u), %llu in all",
		  k, n, reason, k, total);
	ktap_result(n == k, "cpuid_exit_hist_k%u", k);
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
		test_exit_hist(ks[i]);
	return ktap_finish();
}
