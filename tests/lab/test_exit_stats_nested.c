// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host view splits the exits taken while a VM runs a nested guest (L2)
 * from the VM's own (L1), and the guest's leaves still count both.
 *
 * AMD only: the guest is an L1 hypervisor in 32-bit protected mode with
 * paging that runs an L2 with VMRUN.  The L2 executes K CPUIDs, which its
 * L1 intercepts, and then VMMCALL.  Each of its CPUIDs exits to KVM while
 * L2 runs and is reflected to L1, which counts it, skips it and resumes
 * L2 with VMRUN, an exit of L1's own.  The oracles are L1's own count and
 * KVM's "nested_run" statistic:
 *   - debugfs: CPUID 0x72 has K exits, all taken while L2 ran; VMMCALL
 *     0x81 has 1, taken while L2 ran; VMRUN 0x80 has nested_run exits,
 *     none while L2 ran; "l2 total" sums the "l2" lines;
 *   - the guest's CPUID leaf for 0x72, read by L1 at the end, answers
 *     K + 1: L2's CPUIDs and the read itself.
 * Intel: not built; an L1 for VMX needs a VMCS set up field by field.
 * Needs kvm_amd.nested=1 (its default); skips otherwise.
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "exit_stats_util.h"

/* Guest physical layout of the L1 and its L2, below GUEST_MEM_SIZE. */
#define GDT_GPA		0x7000
#define RESULT_GPA	0x8000	/* L1's CPUID exits seen, last exit code, the leaf */
#define PD_GPA		0x20000	/* one 4-MiB page, identity */
#define VMCB_GPA	0x21000
#define HSAVE_GPA	0x22000
#define IOPM_GPA	0x24000	/* 12 KiB */
#define MSRPM_GPA	0x28000	/* 8 KiB */
#define L2_STACK_TOP	0x30000

/* VMCB offsets (APM vol. 2, appendix B) */
#define VMCB_INTERCEPT_WORD3	0x00c	/* bit 18 CPUID, bit 31 SHUTDOWN */
#define VMCB_INTERCEPT_WORD4	0x010	/* bit 0 VMRUN, bit 1 VMMCALL */
#define VMCB_IOPM_BASE		0x040
#define VMCB_MSRPM_BASE		0x048
#define VMCB_ASID		0x058
#define VMCB_EXITCODE		0x070
#define VMCB_SAVE		0x400	/* es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr */
#define VMCB_CPL		0x4cb
#define VMCB_EFER		0x4d0
#define VMCB_CR4		0x548
#define VMCB_CR3		0x550
#define VMCB_CR0		0x558
#define VMCB_DR7		0x560
#define VMCB_DR6		0x568
#define VMCB_RFLAGS		0x570
#define VMCB_RIP		0x578
#define VMCB_RSP		0x5d8
#define VMCB_RAX		0x5f8
#define VMCB_G_PAT		0x668

#define SVM_EXIT_CPUID		0x72
#define SVM_EXIT_VMRUN		0x80
#define SVM_EXIT_VMMCALL	0x81
#define EFER_SVME		(1u << 12)
#define CR0_PE_ET_PG		0x80000011u
#define CR4_PSE			0x10u

/*
 * L1, entered in 32-bit protected mode with paging: enable SVM, then run
 * L2 until it stops with VMMCALL, counting and skipping its CPUIDs.  L2
 * shares L1's registers but EAX, ESP and EIP, so its loop counter (ESI) is
 * one L1 does not touch.  Then read the leaf of CPUID exits, and halt.
 */
GUEST_CODE(guest_l1,
	".code32\n"
	"	mov $0xc0000080, %ecx\n"	/* EFER.SVME */
	"	rdmsr\n"
	"	or $0x1000, %eax\n"
	"	wrmsr\n"
	"	mov $0xc0010117, %ecx\n"	/* VM_HSAVE_PA */
	"	mov $" __stringify(HSAVE_GPA) ", %eax\n"
	"	xor %edx, %edx\n"
	"	wrmsr\n"
	"	movl $(" __stringify(GUEST_CODE_GPA) " + 2f - guest_l1_start), "
		__stringify(VMCB_GPA) " + " __stringify(VMCB_RIP) "\n"
	"1:	mov $" __stringify(VMCB_GPA) ", %eax\n"
	"	vmrun\n"
	"	mov " __stringify(VMCB_GPA) " + " __stringify(VMCB_EXITCODE) ", %ebx\n"
	"	mov %ebx, " __stringify(RESULT_GPA) " + 4\n"
	"	cmp $0x72, %ebx\n"
	"	jne 3f\n"
	"	incl " __stringify(RESULT_GPA) "\n"
	"	addl $2, " __stringify(VMCB_GPA) " + " __stringify(VMCB_RIP) "\n"
	"	jmp 1b\n"
	/* L2: EDI CPUIDs (ESI counts), then VMMCALL */
	"2:	mov %edi, %esi\n"
	"4:	xor %eax, %eax\n"
	"	cpuid\n"
	"	dec %esi\n"
	"	jnz 4b\n"
	"	vmmcall\n"
	"5:	jmp 5b\n"
	/* back in L1 after anything but CPUID */
	"3:	mov $0x4ffffffd, %eax\n"
	"	mov $0x72, %ecx\n"
	"	cpuid\n"
	"	mov %eax, " __stringify(RESULT_GPA) " + 8\n"
	"	mov %ebx, " __stringify(RESULT_GPA) " + 12\n"
	"9:	hlt\n"
	"	jmp 9b\n");

static void put32(struct vm *vm, u64 gpa, u32 v)
{
	memcpy(gpa_to_hva(vm, gpa), &v, sizeof(v));
}

static void put64(struct vm *vm, u64 gpa, u64 v)
{
	memcpy(gpa_to_hva(vm, gpa), &v, sizeof(v));
}

/* A VMCB save-area segment: selector, attributes, limit, base. */
static void vmcb_seg(struct vm *vm, int i, u16 sel, u16 attrib, u32 limit)
{
	u8 *p = gpa_to_hva(vm, VMCB_GPA + VMCB_SAVE + 16 * i);

	memcpy(p, &sel, 2);
	memcpy(p + 2, &attrib, 2);
	memcpy(p + 4, &limit, 4);
	memset(p + 8, 0, 8);
}

static void vm_setup_l1(struct vm *vm, u32 k)
{
	static const u64 gdt[] = { 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull };
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[128];
	} c = { .h.nent = 128 };
	struct kvm_segment code = {
		.limit = 0xffffffff, .selector = 8, .type = 11, .present = 1,
		.s = 1, .db = 1, .g = 1,
	}, data = code;
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = GUEST_CODE_GPA, .rsp = GUEST_STACK_TOP,
				 .rdi = k, .rflags = 2 };
	int fd = vm->vcpu[0].fd;

	/* the CPUID KVM supports, SVM included, so that EFER.SVME can be set */
	TEST_ASSERT(!ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, &c), "KVM_GET_SUPPORTED_CPUID failed");
	TEST_ASSERT(!ioctl(fd, KVM_SET_CPUID2, &c), "KVM_SET_CPUID2 failed");

	memcpy(gpa_to_hva(vm, GDT_GPA), gdt, sizeof(gdt));
	put32(vm, PD_GPA, 0x83);	/* 4 MiB at 0: present, writable, PS */

	/* L1: flat 32-bit segments, paging on, like the L2 it runs */
	TEST_ASSERT(!ioctl(fd, KVM_GET_SREGS, &sregs), "KVM_GET_SREGS failed");
	data.selector = 16;
	data.type = 3;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.gdt.base = GDT_GPA;
	sregs.gdt.limit = sizeof(gdt) - 1;
	sregs.cr3 = PD_GPA;
	sregs.cr4 = CR4_PSE;
	sregs.cr0 = CR0_PE_ET_PG;
	TEST_ASSERT(!ioctl(fd, KVM_SET_SREGS, &sregs), "KVM_SET_SREGS (protected mode) failed");
	vcpu_set_regs(vm, 0, &regs);

	/* the VMCB of L2: the same mode, its own stack; L1's code sets RIP */
	put32(vm, VMCB_GPA + VMCB_INTERCEPT_WORD3, 1u << 18 | 1u << 31);
	put32(vm, VMCB_GPA + VMCB_INTERCEPT_WORD4, 1u << 0 | 1u << 1);
	put64(vm, VMCB_GPA + VMCB_IOPM_BASE, IOPM_GPA);
	put64(vm, VMCB_GPA + VMCB_MSRPM_BASE, MSRPM_GPA);
	put32(vm, VMCB_GPA + VMCB_ASID, 1);
	vmcb_seg(vm, 0, 16, 0xc93, 0xffffffff);		/* es */
	vmcb_seg(vm, 1, 8, 0xc9b, 0xffffffff);		/* cs */
	vmcb_seg(vm, 2, 16, 0xc93, 0xffffffff);		/* ss */
	vmcb_seg(vm, 3, 16, 0xc93, 0xffffffff);		/* ds */
	vmcb_seg(vm, 4, 16, 0xc93, 0xffffffff);		/* fs */
	vmcb_seg(vm, 5, 16, 0xc93, 0xffffffff);		/* gs */
	vmcb_seg(vm, 6, 0, 0, sizeof(gdt) - 1);		/* gdtr */
	put64(vm, VMCB_GPA + VMCB_SAVE + 16 * 6 + 8, GDT_GPA);
	vmcb_seg(vm, 7, 0, 0x82, 0xffff);		/* ldtr */
	vmcb_seg(vm, 8, 0, 0, 0);			/* idtr */
	vmcb_seg(vm, 9, 0, 0x8b, 0xffff);		/* tr */
	*(u8 *)gpa_to_hva(vm, VMCB_GPA + VMCB_CPL) = 0;
	put64(vm, VMCB_GPA + VMCB_EFER, EFER_SVME);
	put64(vm, VMCB_GPA + VMCB_CR4, CR4_PSE);
	put64(vm, VMCB_GPA + VMCB_CR3, PD_GPA);
	put64(vm, VMCB_GPA + VMCB_CR0, CR0_PE_ET_PG);
	put64(vm, VMCB_GPA + VMCB_DR7, 0x400);
	put64(vm, VMCB_GPA + VMCB_DR6, 0xffff0ff0);
	put64(vm, VMCB_GPA + VMCB_RFLAGS, 2);
	put64(vm, VMCB_GPA + VMCB_RSP, L2_STACK_TOP);
	put64(vm, VMCB_GPA + VMCB_G_PAT, 0x0007040600070406ull);
}

static bool nested_on(void)
{
	char buf[8];

	return module_param_read("kvm_amd", "nested", buf, sizeof(buf)) &&
	       (!strcmp(buf, "1") || !strcmp(buf, "Y"));
}

int main(int argc, char **argv)
{
	static const char *const names[] = {
		"l1_saw_every_l2_cpuid", "cpuid_exits_all_while_l2_ran",
		"vmmcall_taken_while_l2_ran", "vmrun_exits_are_l1s_own",
		"l2_total_sums_the_l2_lines", "leaf_counts_l1_and_l2",
	};
	u32 k = 200, seen, last;
	u64 runs, leaf, sum_l2 = 0;
	unsigned int i;
	struct vm *vm;
	struct view v;
	int n;

	test_init(argc, argv, &k);
	ktap_plan(6);
	if (!host_is_amd() || !nested_on()) {
		for (i = 0; i < 6; i++)
			ktap_skip(names[i], "%s", host_is_amd() ? "kvm_amd.nested is off" :
				  "needs AMD SVM: the VMX L1 is not built");
		return ktap_finish();
	}
	TEST_ASSERT(k > 0, "-k must be at least 1");

	vm = vm_create(1);
	vm_load_code(vm, GUEST_CODE_GPA, guest_l1);
	vm_setup_l1(vm, k);
	vcpu_run_expect(vm, 0, KVM_EXIT_HLT);

	memcpy(&seen, gpa_to_hva(vm, RESULT_GPA), 4);
	memcpy(&last, gpa_to_hva(vm, RESULT_GPA + 4), 4);
	leaf = leaf_count(guest_leaf(vm, RESULT_GPA + 8));
	runs = vm_vcpu_stat(vm, 0, "nested_run");
	n = view_read(vm, &v);
	TEST_ASSERT(n > 0, "no exit_stats file for the VM");
	for (i = 0; i < (unsigned int)v.n; i++)
		sum_l2 += v.l2_count[i];
	ktap_diag("L1 saw %u CPUID exits of L2 (K = %u), last exit code 0x%x; nested_run %llu",
		  seen, k, last, (unsigned long long)runs);
	ktap_diag("host view: cpuid %llu (l2 %llu), vmrun %llu (l2 %llu), vmmcall %llu (l2 %llu), "
		  "l2 total %llu of %llu exits",
		  (unsigned long long)view_count(&v, SVM_EXIT_CPUID),
		  (unsigned long long)view_l2_count(&v, SVM_EXIT_CPUID),
		  (unsigned long long)view_count(&v, SVM_EXIT_VMRUN),
		  (unsigned long long)view_l2_count(&v, SVM_EXIT_VMRUN),
		  (unsigned long long)view_count(&v, SVM_EXIT_VMMCALL),
		  (unsigned long long)view_l2_count(&v, SVM_EXIT_VMMCALL),
		  (unsigned long long)v.l2_total_count, (unsigned long long)v.total_count);

	ktap_result(seen == k && last == SVM_EXIT_VMMCALL, "%s", names[0]);
	/* L1's only CPUID is its read of the leaf, done before the view is read */
	ktap_result(view_l2_count(&v, SVM_EXIT_CPUID) == k &&
		    view_count(&v, SVM_EXIT_CPUID) == k + 1, "%s", names[1]);
	ktap_result(view_l2_count(&v, SVM_EXIT_VMMCALL) == 1 &&
		    view_count(&v, SVM_EXIT_VMMCALL) == 1, "%s", names[2]);
	ktap_result(runs == k + 1 && view_count(&v, SVM_EXIT_VMRUN) == runs &&
		    view_l2_count(&v, SVM_EXIT_VMRUN) == 0, "%s", names[3]);
	ktap_result(v.has_l2_total && v.l2_total_count == sum_l2 && sum_l2 >= k + 1 &&
		    sum_l2 < v.total_count, "%s", names[4]);
	ktap_result(leaf == k + 1, "%s", names[5]);
	vm_free(vm);
	return ktap_finish();
}
