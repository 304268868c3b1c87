// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stress: two VMs run at once, each with four worker vCPUs and a reader.
 * Each worker runs K iterations of CPUID, OUT to port 0xe9 (a trip to user
 * space), RDMSR of IA32_APIC_BASE, and every 8th iteration a HLT woken by
 * its x2APIC timer (the VM has an in-kernel LAPIC, so HLT blocks in KVM; its
 * interrupt handler counts itself and writes EOI). The timer is armed right
 * before each HLT and stopped right after it, and it is periodic (every
 * 2 ms): a one-shot timer would hang the vCPU whenever its only interrupt
 * came before the HLT or was lost, as happens now and then under QEMU TCG
 * (stock KVM too), and a timer left running would tick for all eight
 * workers all the time, which starves a sanitizer kernel under emulation.
 * The fifth vCPU keeps reading
 * the total count, the total cycles and the CPUID count, and counts any
 * value that decreased; it stops one round after the workers are done.
 *
 * Then, per VM, the host-side view must hold exactly the exits the guest
 * code causes, which also shows that neither VM saw the other's exits:
 *   CPUID  = 4K + 3 * reader rounds (and the reader's last CPUID count);
 *   I/O    = 4K + 5 (the OUTs user space saw, plus one "done" OUT each);
 *   HLT    = 4 * K/8;
 *   RDMSR  = 4 * (K + 1) on VMX; on SVM, whose MSR exit covers both
 *            directions, 4 * (K + 5 + 2 * K/8) + the interrupts (two
 *            timer writes per HLT, one EOI per interrupt);
 *   total  = the sum of KVM's exits statistics of the VM's vCPUs.
 */
#include <errno.h>
#include <pthread.h>

#include "exit_stats_util.h"

#define NR_VMS		2
#define NR_WORKERS	4
#define NR_VCPUS	(NR_WORKERS + 1)
#define TIMER_VECTOR	0x40
#define HANDLER_GPA	0x3000
#define PORT_WORK	0xe9
#define PORT_DONE	0xf4
#define TIMER_NS	2000000	/* 2 ms: slow enough for a sanitizer kernel */
#define FLAG_GPA	0x7000	/* set by the host when the workers are done */
#define READER_GPA	0x7010	/* prev total, prev cycles, prev CPUID count */
#define ROUNDS_GPA	0x7040
#define BAD_GPA		0x7044
#define LAST_GPA	0x7048
#define IRQS_GPA	0x704c

/* Store a 64-bit value (hi, lo) at addr, counting a decrease in BAD_GPA. */
#define GUEST_STORE_UP(hi, lo, addr)					\
	"	cmp " #addr "+4, " hi "\n"				\
	"	ja 1f\n"						\
	"	jb 2f\n"						\
	"	cmp " #addr ", " lo "\n"				\
	"	jae 1f\n"						\
	"2:	incl " __stringify(BAD_GPA) "\n"			\
	"1:	mov " lo ", " #addr "\n"				\
	"	mov " hi ", " #addr "+4\n"

#define GUEST_WRMSR(msr, val)						\
	"	mov $" __stringify(msr) ", %ecx\n"					\
	"	mov $" __stringify(val) ", %eax\n"					\
	"	xor %edx, %edx\n"					\
	"	wrmsr\n"

/* EBP = 0: a worker running EDI iterations; EBP = 1: the reader. */
GUEST_CODE(guest_stress,
	"	test %ebp, %ebp\n"
	"	jnz 50f\n"
	"	mov $0x1b, %ecx\n"		/* x2APIC on */
	"	rdmsr\n"
	"	or $0xc00, %eax\n"
	"	wrmsr\n"
	GUEST_WRMSR(0x80f, 0x1ff)		/* software enable */
	GUEST_WRMSR(0x83e, 0xb)			/* timer divide by 1 */
	GUEST_WRMSR(0x832, 0x20000 | TIMER_VECTOR)	/* periodic timer */
	"	sti\n"
	"	xor %ebp, %ebp\n"
	"10:	xor %eax, %eax\n"
	"	cpuid\n"
	"	mov $" __stringify(PORT_WORK) ", %dx\n"
	"	out %al, %dx\n"
	"	mov $0x1b, %ecx\n"
	"	rdmsr\n"
	"	inc %ebp\n"
	"	test $7, %ebp\n"
	"	jnz 11f\n"
	GUEST_WRMSR(0x838, TIMER_NS)		/* arm */
	"	hlt\n"
	GUEST_WRMSR(0x838, 0)			/* stop */
	"11:	dec %edi\n"
	"	jnz 10b\n"
	"	jmp 60f\n"
	/* reader */
	"50:	movl $0, " __stringify(LAST_GPA) "\n"
	"51:	cmpl $0, " __stringify(FLAG_GPA) "\n"
	"	je 52f\n"
	"	movl $1, " __stringify(LAST_GPA) "\n"
	"52:	mov $0x4fffffff, %eax\n"
	"	cpuid\n"
	GUEST_STORE_UP("%ebx", "%eax", 0x7010)
	"	mov $0x4ffffffe, %eax\n"
	"	cpuid\n"
	GUEST_STORE_UP("%ebx", "%ecx", 0x7018)
	"	mov $0x4ffffffd, %eax\n"
	"	mov %edi, %ecx\n"		/* EDI = the CPUID exit reason */
	"	cpuid\n"
	GUEST_STORE_UP("%ebx", "%eax", 0x7020)
	"	incl " __stringify(ROUNDS_GPA) "\n"
	"	cmpl $0, " __stringify(LAST_GPA) "\n"
	"	je 51b\n"
	"60:	mov $" __stringify(PORT_DONE) ", %dx\n"
	"	out %al, %dx\n"
	"61:	hlt\n"
	"	jmp 61b\n");

GUEST_CODE(guest_timer_handler,
	"	push %eax\n"
	"	push %ecx\n"
	"	push %edx\n"
	"	lock incl " __stringify(IRQS_GPA) "\n"
	GUEST_WRMSR(0x80b, 0)			/* EOI */
	"	pop %edx\n"
	"	pop %ecx\n"
	"	pop %eax\n"
	"	iret\n");

struct runner {
	pthread_t tid;
	struct vm *vm;
	int i;
	u64 io_work, io_done;
};

static void *run_vcpu(void *arg)
{
	struct runner *r = arg;
	struct kvm_run *run = r->vm->vcpu[r->i].run;

	for (;;) {
		vcpu_run_expect(r->vm, r->i, KVM_EXIT_IO);
		if (run->io.port == PORT_WORK) {
			r->io_work++;
			continue;
		}
		TEST_ASSERT(run->io.port == PORT_DONE, "vCPU %d: OUT to unexpected port 0x%x",
			    r->i, run->io.port);
		r->io_done++;
		return NULL;
	}
}

static u32 rd32(struct vm *vm, u64 gpa)
{
	return __atomic_load_n((u32 *)gpa_to_hva(vm, gpa), __ATOMIC_SEQ_CST);
}

static u64 rd64(struct vm *vm, u64 gpa)
{
	return (u64)rd32(vm, gpa + 4) << 32 | rd32(vm, gpa);
}

static struct vm *vm_setup(u32 k)
{
	struct vm *vm = vm_create_irqchip(NR_VCPUS);
	u16 ivt[2] = { HANDLER_GPA, 0 };
	int i;

	vm_load_code(vm, GUEST_CODE_GPA, guest_stress);
	vm_load_code(vm, HANDLER_GPA, guest_timer_handler);
	vm_load(vm, TIMER_VECTOR * 4, ivt, sizeof(ivt));
	for (i = 0; i < NR_VCPUS; i++) {
		vcpu_set_cpuid_x2apic(vm, i, 0);
		if (i < NR_WORKERS)
			vcpu_prepare(vm, i, k, 0);
		else
			vcpu_prepare(vm, i, cpuid_exit_reason(), 1);
	}
	return vm;
}

static void start(struct runner *r, struct vm *vm, int i)
{
	int e;

	*r = (struct runner){ .vm = vm, .i = i };
	e = pthread_create(&r->tid, NULL, run_vcpu, r);
	errno = e;
	TEST_ASSERT(!e, "creating the thread of vCPU %d failed", i);
}

static void check_vm(int m, struct vm *vm, struct runner *r, u32 k)
{
	bool amd = host_is_amd();
	u32 rounds = rd32(vm, ROUNDS_GPA), bad = rd32(vm, BAD_GPA), irqs = rd32(vm, IRQS_GPA);
	u32 io = amd ? 0x7b : 30, hlt = amd ? 0x78 : 12, msr = amd ? 0x7c : 31;
	u64 want_cpuid = 4ull * k + 3ull * rounds, want_io = 4ull * k + 5;
	u64 want_hlt = 4ull * (k / 8), io_user = 0, exits = 0;
	u64 want_msr = amd ? 4ull * (k + 5 + 2 * (k / 8)) + irqs : 4ull * (k + 1);
	u64 last_cpuid = rd64(vm, READER_GPA + 16);
	struct view v;
	int i;

	TEST_ASSERT(view_read(vm, &v) > 0, "no host-side view for VM %d", m);
	for (i = 0; i < NR_VCPUS; i++) {
		io_user += r[i].io_work + r[i].io_done;
		exits += vm_vcpu_stat(vm, i, "exits");
	}
	ktap_diag("VM %d: CPUID %llu (expected %llu, reader's last %llu), I/O %llu "
		  "(expected %llu, user space saw %llu), HLT %llu (expected %llu, "
		  "timer interrupts %u), %s %llu (expected %llu)", m,
		  view_count(&v, cpuid_exit_reason()), want_cpuid, last_cpuid,
		  view_count(&v, io), want_io, io_user, view_count(&v, hlt), want_hlt,
		  irqs, amd ? "MSR" : "RDMSR", view_count(&v, msr), want_msr);
	ktap_diag("VM %d: total %llu, KVM exits stats %llu; reader: %u rounds, "
		  "%u decreases", m, v.total_count, exits, rounds, bad);
	ktap_result(view_count(&v, cpuid_exit_reason()) == want_cpuid &&
		    last_cpuid == want_cpuid, "vm%d_cpuid_exact", m);
	ktap_result(view_count(&v, io) == want_io && io_user == want_io,
		    "vm%d_io_exact", m);
	ktap_result(view_count(&v, hlt) == want_hlt && irqs > 0,
		    "vm%d_hlt_exact", m);
	ktap_result(view_count(&v, msr) == want_msr, "vm%d_msr_exact", m);
	ktap_result(v.total_count == exits, "vm%d_total_equals_exits_stat", m);
	ktap_result(rounds > 1 && !bad, "vm%d_reader_saw_no_decrease", m);
}

int main(int argc, char **argv)
{
	struct runner r[NR_VMS][NR_VCPUS];
	struct vm *vm[NR_VMS];
	u32 k = 2000;
	int m, i;

	test_init(argc, argv, &k);
	TEST_ASSERT(k >= 8, "-k takes at least 8 iterations");
	ktap_plan(6 * NR_VMS);
	ktap_diag("%d VMs at once, %d workers x %u iterations each, and a reader",
		  NR_VMS, NR_WORKERS, k);
	for (m = 0; m < NR_VMS; m++)
		vm[m] = vm_setup(k);
	for (m = 0; m < NR_VMS; m++)
		for (i = 0; i < NR_VCPUS; i++)
			start(&r[m][i], vm[m], i);
	for (m = 0; m < NR_VMS; m++) {
		for (i = 0; i < NR_WORKERS; i++)
			pthread_join(r[m][i].tid, NULL);
		__atomic_store_n((u32 *)gpa_to_hva(vm[m], FLAG_GPA), 1, __ATOMIC_SEQ_CST);
	}
	for (m = 0; m < NR_VMS; m++) {
		pthread_join(r[m][NR_WORKERS].tid, NULL);
		check_vm(m, vm[m], r[m], k);
		vm_free(vm[m]);
	}
	return ktap_finish();
}
