// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exits that KVM may handle in its fastpath, counted exactly: a guest in
 * x2APIC mode sends K fixed IPIs to another vCPU through the ICR (MSR
 * 0x830), which KVM handles in handle_fastpath_set_msr_irqoff() and
 * re-enters the guest from, without handle_exit() (VMX; on SVM with
 * NRIP-save). The MSR-write exits the host view shows must equal the
 * kvm_exit histogram's and the guest's own count of its writes (K + 2:
 * the APIC base and the spurious-vector register first; on SVM, whose one
 * exit code covers RDMSR too, K + 3), and the view's sum KVM's "exits"
 * statistic. A run with no IPI first gives the other MSR exits' cycles,
 * so that the ICR writes' own are the difference. The cycles of those exits are reported, not
 * held to a bound: an exit the fastpath re-enters from is charged 0 cycles
 * (docs/design.md).
 */
#include "exit_stats_util.h"

#define PORT	0xe9

/* EDI = K ICR writes to APIC ID 1; then a port write ends the run. */
GUEST_CODE(guest_ipis,
	"	cli\n"
	"	mov $0x1b, %ecx\n"		/* x2APIC on */
	"	rdmsr\n"
	"	or $0xc00, %eax\n"
	"	wrmsr\n"
	"	mov $0x80f, %ecx\n"		/* software enable */
	"	mov $0x1ff, %eax\n"
	"	xor %edx, %edx\n"
	"	wrmsr\n"
	"	test %edi, %edi\n"
	"	jz 2f\n"
	"1:	mov $0x830, %ecx\n"		/* ICR: vector 0x40, fixed, physical */
	"	mov $0x4040, %eax\n"
	"	mov $1, %edx\n"			/* to APIC ID 1 */
	"	wrmsr\n"
	"	dec %edi\n"
	"	jnz 1b\n"
	"2:	out %al, $" __stringify(PORT) "\n"
	"3:	hlt\n"
	"	jmp 3b\n");

/* One run of K IPIs: the MSR exits' count and cycles in the view, checked. */
static void run_ipis(u32 k, u64 *msr_exits, u64 *msr_cycles)
{
	/* SVM has one exit code for RDMSR and WRMSR: the guest's RDMSR too */
	u32 msr = host_is_amd() ? 0x7c : 32, r;
	u64 exits, events, hist_msr, sum = 0, want = (u64)k + 2 + host_is_amd();
	struct vm *vm;
	struct view v;
	int i;

	vm = vm_create_irqchip(2);
	vcpu_set_cpuid_x2apic(vm, 0);
	vcpu_set_cpuid_x2apic(vm, 1);
	vm_load_code(vm, GUEST_CODE_GPA, guest_ipis);
	vcpu_prepare(vm, 0, k, 0);
	hist_trigger_start("kvm/kvm_exit", "exit_reason");
	r = vcpu_run(vm, 0);
	TEST_ASSERT(r == KVM_EXIT_IO, "expected the port write after the IPIs, got %s",
		    exit_reason_str(r));
	exits = vm_vcpu_stat(vm, 0, "exits");
	events = hist_total("kvm/kvm_exit");
	hist_msr = hist_count("kvm/kvm_exit", msr);
	hist_trigger_stop();
	TEST_ASSERT(view_read(vm, &v) > 0, "no host-side view (debugfs exit_stats) for the VM");
	for (i = 0; i < v.n; i++)
		sum += v.count[i];
	*msr_exits = view_count(&v, msr);
	*msr_cycles = view_cycles(&v, msr);
	ktap_diag("K=%u IPIs: MSR exits: view %llu, kvm_exit %llu, the guest's MSR accesses %llu; "
		  "view sum %llu, exits stat %llu, kvm_exit events %llu",
		  k, *msr_exits, hist_msr, want, sum, exits, events);
	ktap_result(*msr_exits == want && hist_msr == want && sum == exits && events == exits &&
		    v.total_count == exits && !v.clamped, "msr_exits_exact_k%u", k);
	vm_free(vm);
}

int main(int argc, char **argv)
{
	u64 n0, c0, n1, c1;
	u32 k = 1000;

	test_init(argc, argv, &k);
	ktap_plan(2);
	run_ipis(0, &n0, &c0);
	run_ipis(k, &n1, &c1);
	/* The K ICR writes are the difference between the two runs. */
	ktap_diag("the %llu ICR writes: %llu cycles in all, %llu per exit "
		  "(the %llu other MSR exits: %llu cycles)",
		  n1 - n0, c1 > c0 ? c1 - c0 : 0, n1 > n0 && c1 > c0 ? (c1 - c0) / (n1 - n0) : 0,
		  n0, c0);
	return ktap_finish();
}
