// SPDX-License-Identifier: GPL-2.0-only
/*
 * Several vCPUs, each in its own thread, run K CPUIDs at once: their
 * "exits" statistics grow by at least nr * K in all, and kvm:kvm_exit
 * counts exactly nr * K CPUID exits.
 */
#include <string.h>

#include "kvm_util.h"

#define KVM_EXIT_EVENT	"kvm/kvm_exit"

/*
 * EDI = number of CPUIDs to run; CPUID clobbers EAX, EBX, ECX and EDX.
 * The number run, counted in EBP, goes to the vCPU's slot (ESI = index).
 */
GUEST_CODE(guest_cpuid_count,
	"	xor %ebp, %ebp\n"
	"	test %edi, %edi\n"
	"	jz 2f\n"
	"1:	xor %eax, %eax\n"
	"	cpuid\n"
	"	inc %ebp\n"
	"	dec %edi\n"
	"	jnz 1b\n"
	"2:	mov %si, %bx\n"
	"	shl $" __stringify(GUEST_SLOT_SHIFT) ", %bx\n"
	"	mov %ebp, " __stringify(GUEST_SLOT_GPA) "(%bx)\n"
	"3:	hlt\n"
	"	jmp 3b\n");

static void test_smp(int nr, u32 k)
{
	u64 before[VM_MAX_VCPUS], delta = 0, n, total;
	u32 reason = cpuid_exit_reason(), done;
	struct vm *vm = vm_create(nr);
	int i;

	vm_load_code(vm, GUEST_CODE_GPA, guest_cpuid_count);
	for (i = 0; i < nr; i++) {
		vcpu_prepare(vm, i, k, 0);
		before[i] = vm_vcpu_stat(vm, i, "exits");
	}
	hist_trigger_start(KVM_EXIT_EVENT, "exit_reason");
	vcpus_run_parallel(vm, 0, nr);
	n = hist_count(KVM_EXIT_EVENT, reason);
	total = hist_total(KVM_EXIT_EVENT);
	hist_trigger_stop();

	for (i = 0; i < nr; i++) {
		memcpy(&done, gpa_to_hva(vm, GUEST_SLOT_GPA + (i << GUEST_SLOT_SHIFT)),
		       sizeof(done));
		TEST_ASSERT(done == k, "expected vCPU %d to run %u CPUIDs, it ran %u",
			    i, k, done);
		delta += vm_vcpu_stat(vm, i, "exits") - before[i];
	}
	ktap_diag("%d vCPUs, K=%u: exits delta %llu (expected >= %llu)",
		  nr, k, delta, (u64)nr * k);
	ktap_result(delta >= (u64)nr * k, "smp%d_exits_stat_k%u", nr, k);
	ktap_diag("%d vCPUs, K=%u: %llu kvm_exit events with exit_reason 0x%x "
		  "(expected %llu), %llu in all", nr, k, n, reason, (u64)nr * k, total);
	ktap_result(n == (u64)nr * k, "smp%d_cpuid_exit_hist_k%u", nr, k);
	vm_free(vm);
}

int main(int argc, char **argv)
{
	u32 k = 10000;

	test_init(argc, argv, &k);
	ktap_plan(4);
	test_smp(2, k);
	test_smp(4, k);
	return ktap_finish();
}
