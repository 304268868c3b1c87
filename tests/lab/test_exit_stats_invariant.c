// SPDX-License-Identifier: GPL-2.0-only
/*
 * The per-reason counts add up to the total: every reason the vendor's
 * manual defines answers its count in leaf 0x4ffffffd, whether KVM has a
 * handler for it or not, so for a VM
 *
 *   sum over the defined reasons of 0x4ffffffd = 0x4fffffff - other,
 *
 * "other" being the exits without a reason (the debugfs file's "other"
 * line). A guest causes several kinds of exits (CPUID, port I/O to user
 * space, RDMSR, HLT to user space), then reads the total T0, every defined
 * reason from 0 to the highest (discovery leaf, EAX bits 15:0; the
 * undefined ones answer EDX = ~0 and are left out), summing S, and the
 * total again, T1. Counts only grow, and each is counted before the CPUID
 * that reads it answers, so every reason's value lies between its value at
 * T0 and at T1, and exactly
 *
 *   T0 <= S + other <= T1;
 *
 * T1 - T0 is the sweep's own CPUIDs plus whatever asynchronous exits came
 * in between. "other" is read from debugfs after the guest halted; it can
 * only have grown since T1 by an exit without a reason, which a working
 * VM does not have.
 *
 * Then, on Intel without unrestricted guest (kvm_intel.unrestricted_guest
 * reads N, as with ept=0), the same guest in real mode with CS.base !=
 * CS.selector << 4: VMX cannot run that in vm86 mode, so KVM emulates every
 * instruction, and each time it does, it synthesizes exit reason 33
 * (invalid guest state), for which KVM has no handler in its table. The
 * guest's own reading of reason 33 must be > 0 and the same bound must
 * hold. Elsewhere that case is skipped, with the reason.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "exit_stats_util.h"

#define PORT		0xe9
#define NR_OUTS		10
#define NR_MSRS		10
#define NR_HLTS		3
#define INFO_GPA	0x8000	/* the discovery leaf */
#define T0_GPA		0x8010	/* 0x4fffffff before the sweep */
#define T1_GPA		0x8020	/* and after it */
#define DONE_GPA	0x8030	/* 1 before the last HLT */
#define TABLE_SEG	0x2000	/* ES: the sweep's answers, 16 bytes per reason */
#define TABLE_GPA	0x20000
#define MAX_REASONS	0x1000	/* 64 KiB of answers: one segment */
#define VMX_INVALID_STATE 33

/*
 * EDI = K CPUIDs, then NR_OUTS OUTs (each an exit to user space), NR_MSRS
 * RDMSRs of IA32_APIC_BASE and NR_HLTS HLTs (to user space: no in-kernel
 * irqchip); then the discovery leaf, T0, the sweep and T1, DONE and HLT.
 * Only relative jumps and DS/ES-relative data: it runs with any CS base.
 */
GUEST_CODE(guest_invariant,
	GUEST_CPUID_LOOP
	"	mov $" __stringify(NR_OUTS) ", %cx\n"
	"1:	out %al, $" __stringify(PORT) "\n"
	"	loop 1b\n"
	"	mov $" __stringify(NR_MSRS) ", %di\n"
	"2:	mov $0x1b, %ecx\n"
	"	rdmsr\n"
	"	dec %di\n"
	"	jnz 2b\n"
	"	mov $" __stringify(NR_HLTS) ", %di\n"
	"3:	hlt\n"
	"	dec %di\n"
	"	jnz 3b\n"
	GUEST_READ_LEAF(0x4ffffffb, 0x8000)
	"	mov $" __stringify(TABLE_SEG) ", %ax\n"
	"	mov %ax, %es\n"
	"	movzwl 0x8000, %esi\n"		/* ESI = highest reason + 1 */
	"	inc %esi\n"
	"	xor %ebp, %ebp\n"		/* EBP = the reason */
	"	xor %di, %di\n"			/* DI = its answer's offset */
	GUEST_READ_LEAF(0x4fffffff, 0x8010)
	"4:	mov $0x4ffffffd, %eax\n"
	"	mov %ebp, %ecx\n"
	"	cpuid\n"
	"	mov %eax, %es:(%di)\n"
	"	mov %ebx, %es:4(%di)\n"
	"	mov %ecx, %es:8(%di)\n"
	"	mov %edx, %es:12(%di)\n"
	"	add $16, %di\n"
	"	inc %ebp\n"
	"	dec %esi\n"
	"	jnz 4b\n"
	GUEST_READ_LEAF(0x4fffffff, 0x8020)
	"	movl $1, " __stringify(DONE_GPA) "\n"
	"9:	hlt\n"
	"	jmp 9b\n");

struct sweep {
	u32 info, max;
	u64 t0, t1, sum, other, cpuid;
	u32 ios, hlts;			/* the exits to user space the host saw */
	u32 with_exits, malformed, misplaced;
	char list[512];			/* the reasons with exits, for the log */
};

/* Run the guest to its last HLT, counting the exits to user space. */
static void run_guest(struct vm *vm, struct sweep *w)
{
	volatile u32 *done = gpa_to_hva(vm, DONE_GPA);
	struct kvm_run *run = vm->vcpu[0].run;
	struct kvm_regs regs;
	u32 r;
	int n;

	for (n = 0; n < 1000; n++) {
		r = vcpu_run(vm, 0);
		if (r == KVM_EXIT_IO && run->io.port == PORT &&
		    run->io.direction == KVM_EXIT_IO_OUT) {
			w->ios++;
			continue;
		}
		if (r == KVM_EXIT_HLT && *done)
			return;
		if (r == KVM_EXIT_HLT) {
			w->hlts++;
			continue;
		}
		vcpu_get_regs(vm, 0, &regs);
		TEST_ASSERT(false, "vCPU 0: expected an OUT to port 0x%x or HLT, got %s (%u) at "
			    "rip 0x%llx; io port 0x%x, internal error %u", PORT,
			    exit_reason_str(r), r, regs.rip, r == KVM_EXIT_IO ? run->io.port : 0,
			    r == KVM_EXIT_INTERNAL_ERROR ? run->internal.suberror : 0);
	}
	TEST_ASSERT(false, "vCPU 0: no final HLT after %d exits to user space", n);
}

static void append(char *buf, size_t len, const char *fmt, u32 reason, u64 v)
{
	size_t n = strlen(buf);

	if (n + 40 < len)
		snprintf(buf + n, len - n, fmt, reason, v);
	else if (n + 5 < len && !strstr(buf, " ..."))
		strcat(buf, " ...");
}

/* What the guest read: the totals, and the sum over the defined reasons. */
static void read_sweep(struct vm *vm, struct sweep *w)
{
	struct leaf info = guest_leaf(vm, INFO_GPA), l;
	bool amd = (info.eax >> 28) == 2;
	struct view v;
	u32 r;

	w->info = info.eax;
	w->max = info.eax & 0xffff;
	TEST_ASSERT(info.ebx == 0x454d564b && info.ecx == 0x53746978 && info.edx == 0x73746174,
		    "no \"KVMExitStats\" signature in leaf 0x4ffffffb: %08x %08x %08x %08x",
		    info.eax, info.ebx, info.ecx, info.edx);
	TEST_ASSERT(w->max < MAX_REASONS, "highest reason 0x%x: the sweep has room for 0x%x",
		    w->max, MAX_REASONS - 1);
	w->t0 = leaf_count(guest_leaf(vm, T0_GPA));
	w->t1 = leaf_count(guest_leaf(vm, T1_GPA));
	for (r = 0; r <= w->max; r++) {
		l = guest_leaf(vm, TABLE_GPA + 16 * r);
		if (l.edx == 0xffffffff) {		/* undefined: 0, 0, 0, ~0 */
			w->malformed += l.eax || l.ebx || l.ecx;
			w->misplaced += reason_defined(r);
			continue;
		}
		w->malformed += l.ecx || l.edx;
		w->misplaced += !reason_defined(r);
		w->sum += leaf_count(l);
		if (r == cpuid_exit_reason())
			w->cpuid = leaf_count(l);
		if (!leaf_count(l))
			continue;
		w->with_exits++;
		append(w->list, sizeof(w->list), amd ? " 0x%x:%llu" : " %u:%llu", r, leaf_count(l));
	}
	TEST_ASSERT(view_read(vm, &v) > 0, "no host-side view (debugfs exit_stats) for the VM");
	w->other = view_count(&v, ~0u);
}

static void report(const char *what, const struct sweep *w)
{
	ktap_diag("%s: discovery eax 0x%08x, reasons 0..0x%x, %u with exits:%s",
		  what, w->info, w->max, w->with_exits, w->list);
	ktap_diag("%s: T0 %llu <= S %llu + other %llu = %llu <= T1 %llu (T1 - T0 = %llu)",
		  what, w->t0, w->sum, w->other, w->sum + w->other, w->t1, w->t1 - w->t0);
	ktap_diag("%s: %u OUTs and %u HLTs reached user space; %u answers malformed, "
		  "%u undefined/defined against the manual", what, w->ios, w->hlts,
		  w->malformed, w->misplaced);
}

static bool bound_holds(const struct sweep *w)
{
	return w->t0 <= w->sum + w->other && w->sum + w->other <= w->t1;
}

/* "Y", "N", ...: the first character of a module parameter; 0 if absent. */
/* The first character of a kvm_intel parameter, 0 if there is none. */
static char param(const char *name)
{
	char buf[8];

	module_param_read("kvm_intel", name, buf, sizeof(buf));
	return buf[0];
}

/* Case 1: a guest in the real mode every lab test uses. */
static u32 test_plain(u32 k)
{
	struct vm *vm = vm_create(1);
	struct sweep w = { 0 };

	vm_load_code(vm, GUEST_CODE_GPA, guest_invariant);
	vcpu_prepare(vm, 0, k, 0);
	run_guest(vm, &w);
	read_sweep(vm, &w);
	vm_free(vm);
	if (w.info & 1u << 24) {
		ktap_diag("discovery eax 0x%08x: global scope", w.info);
		ktap_skip("sweep_answers_as_documented", "global scope: the leaves count every VM, "
			  "the debugfs file this VM alone");
		ktap_skip("sum_of_reasons_between_totals", "global scope");
		return w.info;
	}
	report("plain", &w);
	ktap_result(w.max == reason_max_defined() && !w.malformed && !w.misplaced &&
		    w.cpuid >= (u64)k + 1 && w.ios == NR_OUTS && w.hlts == NR_HLTS,
		    "sweep_answers_as_documented");
	ktap_result(bound_holds(&w), "sum_of_reasons_between_totals");
	return w.info;
}

/*
 * Case 2: CS.base != CS.selector << 4 in real mode. VMX without
 * unrestricted guest runs real mode in vm86 mode, which cannot have such a
 * segment: the state is invalid, and KVM emulates the guest instruction by
 * instruction (handle_invalid_guest_state()), synthesizing exit reason 33
 * each time it enters that loop: at the first KVM_RUN, after every exit to
 * user space, and every 130 instructions. The emulated CPUIDs are answered
 * by the same kvm_cpuid(), and are no CPUID exits.
 */
static void test_emulated(u32 k)
{
	struct vm *vm = vm_create(1);
	struct sweep w = { 0 };
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct leaf l;

	vm_load_code(vm, GUEST_CODE_GPA, guest_invariant);
	vcpu_prepare(vm, 0, k, 0);
	TEST_ASSERT(!ioctl(vm->vcpu[0].fd, KVM_GET_SREGS, &sregs), "KVM_GET_SREGS failed");
	TEST_ASSERT(!(sregs.cr0 & 1), "expected real mode, CR0 is 0x%llx", sregs.cr0);
	sregs.cs.selector = 0;
	sregs.cs.base = GUEST_CODE_GPA;		/* not 0 << 4: invalid for vm86 */
	TEST_ASSERT(!ioctl(vm->vcpu[0].fd, KVM_SET_SREGS, &sregs), "KVM_SET_SREGS failed");
	vcpu_get_regs(vm, 0, &regs);
	regs.rip = 0;				/* CS.base + 0 = GUEST_CODE_GPA */
	vcpu_set_regs(vm, 0, &regs);
	run_guest(vm, &w);
	read_sweep(vm, &w);
	l = guest_leaf(vm, TABLE_GPA + 16 * VMX_INVALID_STATE);
	vm_free(vm);
	report("emulated", &w);
	ktap_diag("emulated: leaf 0x4ffffffd ECX=%u: %08x %08x %08x %08x (%llu exits)",
		  VMX_INVALID_STATE, l.eax, l.ebx, l.ecx, l.edx, leaf_count(l));
	ktap_result(!l.ecx && !l.edx && leaf_count(l) > 0 && w.ios == NR_OUTS &&
		    w.hlts == NR_HLTS, "invalid_guest_state_%u_counted", VMX_INVALID_STATE);
	ktap_result(w.max == reason_max_defined() && !w.malformed && !w.misplaced &&
		    bound_holds(&w), "sum_of_reasons_between_totals_emulated");
}

int main(int argc, char **argv)
{
	u32 k = 100, info;
	char ug, eigs;

	test_init(argc, argv, &k);
	ktap_plan(4);
	info = test_plain(k);
	ug = param("unrestricted_guest");
	eigs = param("emulate_invalid_guest_state");
	if (info >> 28 != 1) {
		ktap_skip("invalid_guest_state_33_counted", "not Intel VMX (discovery ISA %u)",
			  info >> 28);
		ktap_skip("sum_of_reasons_between_totals_emulated", "not Intel VMX");
	} else if (info & 1u << 24) {
		ktap_skip("invalid_guest_state_33_counted", "global scope");
		ktap_skip("sum_of_reasons_between_totals_emulated", "global scope");
	} else if (ug != 'N') {
		ktap_skip("invalid_guest_state_33_counted", "kvm_intel.unrestricted_guest is %s: "
			  "the CPU runs real mode itself, KVM does not emulate it",
			  ug ? (ug == 'Y' ? "Y" : "not N") : "absent");
		ktap_skip("sum_of_reasons_between_totals_emulated", "unrestricted guest");
	} else if (eigs == 'N') {
		ktap_skip("invalid_guest_state_33_counted", "kvm_intel.emulate_invalid_guest_state=N");
		ktap_skip("sum_of_reasons_between_totals_emulated", "no emulation of invalid state");
	} else {
		test_emulated(k < 20 ? k : 20);
	}
	return ktap_finish();
}
