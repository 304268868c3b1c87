// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host view splits the exits taken while a VM runs a nested guest (L2)
 * from the VM's own (L1), and the guest's leaves still count both.
 *
 * The guest is an L1 hypervisor in 32-bit protected mode with paging that
 * runs an L2 in the same mode: with VMRUN on AMD, and on Intel with
 * VMXON, a VMCS written field by field from a table, then VMLAUNCH.  The
 * L2 executes K CPUIDs, which its L1 intercepts, and then a hypercall
 * (VMMCALL, VMCALL).  Each of its CPUIDs exits to KVM while L2 runs and is
 * reflected to L1, which counts it, skips it and resumes L2 (VMRUN,
 * VMRESUME), an exit of L1's own.  The oracles are L1's own count and
 * KVM's "nested_run" statistic (on Intel, the VMLAUNCH and VMRESUMEs that
 * passed the guest-state checks):
 *   - debugfs: CPUID has K exits, all taken while L2 ran; the hypercall 1,
 *     taken while L2 ran; VMRUN (VMLAUNCH plus VMRESUME) nested_run exits,
 *     none while L2 ran; "l2 total" sums the "l2" lines;
 *   - the guest's CPUID leaf for CPUID, read by L1 at the end, answers
 *     K + 1: L2's CPUIDs and the read itself.
 * Needs the vendor module's nested=1 (its default); skips otherwise.
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "exit_stats_util.h"

/* Guest physical layout of the L1 and its L2, below GUEST_MEM_SIZE. */
#define GDT_GPA		0x7000
#define RESULT_GPA	0x8000	/* seen, last exit, the leaf (2), stage, VM-instruction error, the total (2) */
#define PTRS_GPA	0x8100	/* VMX: the VMXON region's and the VMCS's addresses */
#define TABLE_GPA	0x9000	/* VMX: VMCS field, value; ends with field ~0 */
#define PD_GPA		0x20000	/* one 4-MiB page, identity */
#define VMCB_GPA	0x21000
#define HSAVE_GPA	0x22000
#define VMXON_GPA	0x22000
#define VMCS_GPA	0x23000
#define IOPM_GPA	0x24000	/* 12 KiB */
#define MSRPM_GPA	0x28000	/* 8 KiB */
#define L2_STACK_TOP	0x30000

/* null, then flat code (selector 8) and data (16), as both L1 and L2 use */
static const u64 gdt[] = { 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull };
#define GDT_LIMIT		(sizeof(gdt) - 1)

#define CR0_PE_ET_PG		0x80000011u
#define CR0_NE			0x20u
#define CR4_PSE			0x10u
#define CR4_VMXE		0x2000u
#define L1_CR0			(CR0_PE_ET_PG | CR0_NE)	/* NE: VMX requires it */

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
#define VMCB_G_PAT		0x668

#define SVM_EXIT_CPUID		0x72
#define SVM_EXIT_VMRUN		0x80
#define SVM_EXIT_VMMCALL	0x81
#define EFER_SVME		(1u << 12)

/*
 * The SVM L1, entered in 32-bit protected mode with paging: enable SVM, then run
 * L2 until it stops with VMMCALL, counting and skipping its CPUIDs.  L2
 * shares L1's registers but EAX, ESP and EIP, so its loop counter (ESI) is
 * one L1 does not touch.  Then read the leaf of CPUID exits, and halt.
 */
GUEST_CODE(guest_l1_svm,
	".code32\n"
	"	mov $0xc0000080, %ecx\n"	/* EFER.SVME */
	"	rdmsr\n"
	"	or $0x1000, %eax\n"
	"	wrmsr\n"
	"	mov $0xc0010117, %ecx\n"	/* VM_HSAVE_PA */
	"	mov $" __stringify(HSAVE_GPA) ", %eax\n"
	"	xor %edx, %edx\n"
	"	wrmsr\n"
	"	movl $(" __stringify(GUEST_CODE_GPA) " + 2f - guest_l1_svm_start), "
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
	"	mov $0x4fffffff, %eax\n"
	"	cpuid\n"
	"	mov %eax, " __stringify(RESULT_GPA) " + 24\n"
	"	mov %ebx, " __stringify(RESULT_GPA) " + 28\n"
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

/* L1: flat 32-bit segments, paging on, like the L2 it runs; EDI = K. */
static void vm_setup_l1(struct vm *vm, u32 k)
{
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

	/* the CPUID KVM supports, SVM or VMX included, so that L1 can use it */
	TEST_ASSERT(!ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, &c), "KVM_GET_SUPPORTED_CPUID failed");
	TEST_ASSERT(!ioctl(fd, KVM_SET_CPUID2, &c), "KVM_SET_CPUID2 failed");

	memcpy(gpa_to_hva(vm, GDT_GPA), gdt, sizeof(gdt));
	put32(vm, PD_GPA, 0x83);	/* 4 MiB at 0: present, writable, PS */

	TEST_ASSERT(!ioctl(fd, KVM_GET_SREGS, &sregs), "KVM_GET_SREGS failed");
	data.selector = 16;
	data.type = 3;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.gdt.base = GDT_GPA;
	sregs.gdt.limit = GDT_LIMIT;
	sregs.cr3 = PD_GPA;
	sregs.cr4 = CR4_PSE;
	sregs.cr0 = L1_CR0;
	TEST_ASSERT(!ioctl(fd, KVM_SET_SREGS, &sregs), "KVM_SET_SREGS (protected mode) failed");
	vcpu_set_regs(vm, 0, &regs);
}

/* The VMCB of L2: the same mode, its own stack; L1's code sets RIP. */
static void vmcb_setup(struct vm *vm)
{
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
	vmcb_seg(vm, 6, 0, 0, GDT_LIMIT);		/* gdtr */
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

/* VMCS field encodings (SDM vol. 3, appendix B) and exit reasons */
#define VMX_PIN_CTLS		0x4000
#define VMX_PROC_CTLS		0x4002
#define VMX_EXIT_CTLS		0x400c
#define VMX_ENTRY_CTLS		0x4012
#define VMX_LINK_PTR		0x2800	/* and 0x2801, its high half */
#define VMX_GUEST_SEL		0x0800	/* es, cs, ss, ds, fs, gs, ldtr, tr */
#define VMX_GUEST_LIMIT		0x4800	/* the same, then gdtr, idtr */
#define VMX_GUEST_AR		0x4814	/* es ... tr */
#define VMX_GUEST_CR0		0x6800
#define VMX_GUEST_CR3		0x6802
#define VMX_GUEST_CR4		0x6804
#define VMX_GUEST_GDTR_BASE	0x6816
#define VMX_GUEST_DR7		0x681a
#define VMX_GUEST_RSP		0x681c
#define VMX_GUEST_RFLAGS	0x6820
#define VMX_HOST_SEL		0x0c00	/* es, cs, ss, ds, fs, gs, tr */
#define VMX_HOST_CR0		0x6c00
#define VMX_HOST_CR3		0x6c02
#define VMX_HOST_CR4		0x6c04
#define VMX_HOST_GDTR_BASE	0x6c0c

#define VMX_EXIT_CPUID		10
#define VMX_EXIT_VMCALL		18
#define VMX_EXIT_VMLAUNCH	20
#define VMX_EXIT_VMRESUME	24

#define MSR_IA32_VMX_PINBASED_CTLS	0x481	/* then procbased, exit, entry */

/*
 * The VMX L1, entered in 32-bit protected mode with paging: enable VMX
 * (IA32_FEATURE_CONTROL, CR4.VMXE, VMXON), load a VMCS and write it from
 * the table at TABLE_GPA, then its own entry points, and run L2 until it
 * stops with VMCALL, counting and skipping its CPUIDs.  VMX switches no
 * general register but ESP, so L2's loop counter (ESI) and K (EDI) are
 * ones L1 does not touch.  Then read the leaf of CPUID exits, and halt.
 * A VMX instruction that fails leaves the stage (the field being written)
 * and the VM-instruction error in the results, and L1 halts.
 */
GUEST_CODE(guest_l1_vmx,
	".code32\n"
	"	mov $0x3a, %ecx\n"		/* IA32_FEATURE_CONTROL: lock, VMXON */
	"	rdmsr\n"
	"	or $5, %eax\n"
	"	wrmsr\n"
	"	mov %cr4, %eax\n"
	"	or $" __stringify(CR4_VMXE) ", %eax\n"
	"	mov %eax, %cr4\n"
	"	mov $0x480, %ecx\n"		/* IA32_VMX_BASIC: the revision ID */
	"	rdmsr\n"
	"	and $0x7fffffff, %eax\n"
	"	mov %eax, " __stringify(VMXON_GPA) "\n"
	"	mov %eax, " __stringify(VMCS_GPA) "\n"
	"	movl $1, " __stringify(RESULT_GPA) " + 16\n"
	"	vmxon " __stringify(PTRS_GPA) "\n"
	"	jbe 8f\n"
	"	movl $2, " __stringify(RESULT_GPA) " + 16\n"
	"	vmclear " __stringify(PTRS_GPA) " + 8\n"
	"	jbe 8f\n"
	"	vmptrld " __stringify(PTRS_GPA) " + 8\n"
	"	jbe 8f\n"
	"	mov $" __stringify(TABLE_GPA) ", %ebx\n"
	"1:	mov (%ebx), %edx\n"
	"	cmp $-1, %edx\n"
	"	je 2f\n"
	"	mov %edx, " __stringify(RESULT_GPA) " + 16\n"
	"	mov 4(%ebx), %eax\n"
	"	vmwrite %eax, %edx\n"
	"	jbe 8f\n"
	"	add $8, %ebx\n"
	"	jmp 1b\n"
	"2:	mov $0x681e, %edx\n"		/* GUEST_RIP: L2 */
	"	mov $(" __stringify(GUEST_CODE_GPA) " + 5f - guest_l1_vmx_start), %eax\n"
	"	vmwrite %eax, %edx\n"
	"	mov $0x6c16, %edx\n"		/* HOST_RIP: the exit handler */
	"	mov $(" __stringify(GUEST_CODE_GPA) " + 3f - guest_l1_vmx_start), %eax\n"
	"	vmwrite %eax, %edx\n"
	"	mov $0x6c14, %edx\n"		/* HOST_RSP */
	"	vmwrite %esp, %edx\n"
	"	movl $3, " __stringify(RESULT_GPA) " + 16\n"
	"	vmlaunch\n"
	"	jmp 8f\n"
	/* VM exit: count and skip a CPUID, else stop */
	"3:	mov $0x4402, %edx\n"		/* VM_EXIT_REASON */
	"	vmread %edx, %eax\n"
	"	mov %eax, " __stringify(RESULT_GPA) " + 4\n"
	"	cmp $" __stringify(VMX_EXIT_CPUID) ", %eax\n"
	"	jne 4f\n"
	"	incl " __stringify(RESULT_GPA) "\n"
	"	mov $0x681e, %edx\n"		/* GUEST_RIP */
	"	vmread %edx, %eax\n"
	"	mov $0x440c, %edx\n"		/* VM_EXIT_INSTRUCTION_LEN */
	"	vmread %edx, %ecx\n"
	"	add %ecx, %eax\n"
	"	mov $0x681e, %edx\n"
	"	vmwrite %eax, %edx\n"
	"	movl $4, " __stringify(RESULT_GPA) " + 16\n"
	"	vmresume\n"
	"	jmp 8f\n"
	/* L2: EDI CPUIDs (ESI counts), then VMCALL */
	"5:	mov %edi, %esi\n"
	"6:	xor %eax, %eax\n"
	"	cpuid\n"
	"	dec %esi\n"
	"	jnz 6b\n"
	"	vmcall\n"
	"7:	jmp 7b\n"
	/* a VMX instruction failed: its error, if there is a current VMCS */
	"8:	mov $0x4400, %edx\n"		/* VM_INSTRUCTION_ERROR */
	"	vmread %edx, %eax\n"
	"	mov %eax, " __stringify(RESULT_GPA) " + 20\n"
	"	jmp 9f\n"
	/* back in L1 after anything but CPUID */
	"4:	mov $0x4ffffffd, %eax\n"
	"	mov $" __stringify(VMX_EXIT_CPUID) ", %ecx\n"
	"	cpuid\n"
	"	mov %eax, " __stringify(RESULT_GPA) " + 8\n"
	"	mov %ebx, " __stringify(RESULT_GPA) " + 12\n"
	"	mov $0x4fffffff, %eax\n"
	"	cpuid\n"
	"	mov %eax, " __stringify(RESULT_GPA) " + 24\n"
	"	mov %ebx, " __stringify(RESULT_GPA) " + 28\n"
	"9:	hlt\n"
	"	jmp 9b\n");

/* A VMX control: the bits wanted, plus those the CPU requires, if it allows them. */
static u32 vmx_ctl(struct vm *vm, u32 msr, u32 want)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1, .e.index = msr };
	u32 must, may;

	TEST_ASSERT(ioctl(vm->vcpu[0].fd, KVM_GET_MSRS, &m) == 1,
		    "KVM_GET_MSRS 0x%x failed (is VMX in the guest's CPUID?)", msr);
	must = (u32)m.e.data;
	may = (u32)(m.e.data >> 32);
	TEST_ASSERT(!(want & ~may), "VMX control MSR 0x%x does not allow 0x%x", msr, want);
	return want | must;
}

static void vmcs_field(struct vm *vm, unsigned int *n, u32 field, u32 value)
{
	put32(vm, TABLE_GPA + 8 * *n, field);
	put32(vm, TABLE_GPA + 8 * *n + 4, value);
	(*n)++;
}

/*
 * The VMCS of L2, as the table L1 writes: its controls (no intercept
 * asked for: CPUID and VMCALL always exit), L2 in L1's mode with its own
 * stack, and L1's state to return to.  Fields left out are 0: KVM keeps
 * an L1's VMCS (vmcs12) in the L1's own page, here a zeroed one.  A real
 * CPU's VMCS format is its own, and there every field would be written.
 */
static void vmcs_setup(struct vm *vm)
{
	static const u32 sel[6] = { 16, 8, 16, 16, 16, 16 };	/* es cs ss ds fs gs */
	unsigned int n = 0, i;

	put64(vm, PTRS_GPA, VMXON_GPA);
	put64(vm, PTRS_GPA + 8, VMCS_GPA);
	vmcs_field(vm, &n, VMX_PIN_CTLS, vmx_ctl(vm, MSR_IA32_VMX_PINBASED_CTLS, 0));
	vmcs_field(vm, &n, VMX_PROC_CTLS, vmx_ctl(vm, MSR_IA32_VMX_PINBASED_CTLS + 1, 0));
	vmcs_field(vm, &n, VMX_EXIT_CTLS, vmx_ctl(vm, MSR_IA32_VMX_PINBASED_CTLS + 2, 0));
	vmcs_field(vm, &n, VMX_ENTRY_CTLS, vmx_ctl(vm, MSR_IA32_VMX_PINBASED_CTLS + 3, 0));
	vmcs_field(vm, &n, VMX_LINK_PTR, ~0u);
	vmcs_field(vm, &n, VMX_LINK_PTR + 1, ~0u);
	for (i = 0; i < 6; i++) {
		vmcs_field(vm, &n, VMX_GUEST_SEL + 2 * i, sel[i]);
		vmcs_field(vm, &n, VMX_GUEST_LIMIT + 2 * i, 0xffffffff);
		vmcs_field(vm, &n, VMX_GUEST_AR + 2 * i, i == 1 ? 0xc09b : 0xc093);
		vmcs_field(vm, &n, VMX_HOST_SEL + 2 * i, sel[i]);
	}
	vmcs_field(vm, &n, VMX_GUEST_AR + 2 * 6, 0x10000);	/* ldtr: unusable */
	vmcs_field(vm, &n, VMX_GUEST_LIMIT + 2 * 7, 0x67);	/* tr: busy 32-bit TSS */
	vmcs_field(vm, &n, VMX_GUEST_AR + 2 * 7, 0x8b);
	vmcs_field(vm, &n, VMX_HOST_SEL + 2 * 6, 24);		/* tr: not 0; not read from the GDT */
	vmcs_field(vm, &n, VMX_GUEST_LIMIT + 2 * 8, GDT_LIMIT);
	vmcs_field(vm, &n, VMX_GUEST_GDTR_BASE, GDT_GPA);
	vmcs_field(vm, &n, VMX_HOST_GDTR_BASE, GDT_GPA);
	vmcs_field(vm, &n, VMX_GUEST_CR0, L1_CR0);
	vmcs_field(vm, &n, VMX_HOST_CR0, L1_CR0);
	vmcs_field(vm, &n, VMX_GUEST_CR3, PD_GPA);
	vmcs_field(vm, &n, VMX_HOST_CR3, PD_GPA);
	vmcs_field(vm, &n, VMX_GUEST_CR4, CR4_PSE | CR4_VMXE);
	vmcs_field(vm, &n, VMX_HOST_CR4, CR4_PSE | CR4_VMXE);
	vmcs_field(vm, &n, VMX_GUEST_DR7, 0x400);
	vmcs_field(vm, &n, VMX_GUEST_RSP, L2_STACK_TOP);
	vmcs_field(vm, &n, VMX_GUEST_RFLAGS, 2);
	put32(vm, TABLE_GPA + 8 * n, ~0u);
}

/* What differs between the vendors: the L1, and the exit codes it causes. */
struct nested_vendor {
	const char *module, *hypercall, *entry;
	const u8 *l1_start, *l1_end;
	void (*setup)(struct vm *vm);
	u32 cpuid, hcall, run, resume;	/* resume: the same as run on SVM */
};

static const struct nested_vendor svm = {
	"kvm_amd", "vmmcall", "vmrun", guest_l1_svm_start, guest_l1_svm_end, vmcb_setup,
	SVM_EXIT_CPUID, SVM_EXIT_VMMCALL, SVM_EXIT_VMRUN, SVM_EXIT_VMRUN,
};

static const struct nested_vendor vmx = {
	"kvm_intel", "vmcall", "vmlaunch+vmresume", guest_l1_vmx_start, guest_l1_vmx_end,
	vmcs_setup, VMX_EXIT_CPUID, VMX_EXIT_VMCALL, VMX_EXIT_VMLAUNCH, VMX_EXIT_VMRESUME,
};

static bool nested_on(const char *module)
{
	char buf[8];

	return module_param_read(module, "nested", buf, sizeof(buf)) &&
	       (!strcmp(buf, "1") || !strcmp(buf, "Y"));
}

/* exits of the L1's entries into L2 (VMRUN; VMLAUNCH and VMRESUME) */
static u64 entries(const struct view *v, const struct nested_vendor *nv, bool l2)
{
	u64 (*count)(const struct view *v, u32 code) = l2 ? view_l2_count : view_count;

	return count(v, nv->run) + (nv->resume != nv->run ? count(v, nv->resume) : 0);
}

int main(int argc, char **argv)
{
	static const char *const names[] = {
		"l1_saw_every_l2_cpuid", "cpuid_exits_all_while_l2_ran",
		"hypercall_taken_while_l2_ran", "entries_into_l2_are_l1s_own",
		"l2_total_sums_the_l2_lines", "leaf_counts_l1_and_l2",
		"total_leaf_counts_l2_exits",
	};
	const struct nested_vendor *nv = host_is_amd() ? &svm : host_is_intel() ? &vmx : NULL;
	u32 k = 200, seen, last, stage, error;
	u64 runs, leaf, sum_l2 = 0, total, exits, async;
	unsigned int i;
	struct vm *vm;
	struct view v;
	int n;

	test_init(argc, argv, &k);
	ktap_plan(7);
	if (!nv || !nested_on(nv->module)) {
		for (i = 0; i < 7; i++)
			ktap_skip(names[i], "%s", nv ? "the vendor module's nested is off" :
				  "needs AMD SVM or Intel VMX");
		return ktap_finish();
	}
	TEST_ASSERT(k > 0, "-k must be at least 1");

	vm = vm_create(1);
	vm_load(vm, GUEST_CODE_GPA, nv->l1_start, (size_t)(nv->l1_end - nv->l1_start));
	vm_setup_l1(vm, k);
	nv->setup(vm);
	hist_trigger_start("kvm/kvm_exit", "exit_reason");
	vcpu_run_expect(vm, 0, KVM_EXIT_HLT);
	exits = vm_vcpu_stat(vm, 0, "exits");
	async = hist_count("kvm/kvm_exit", host_is_amd() ? 0x60 : 1);	/* interrupts */
	hist_trigger_stop();

	memcpy(&seen, gpa_to_hva(vm, RESULT_GPA), 4);
	memcpy(&last, gpa_to_hva(vm, RESULT_GPA + 4), 4);
	memcpy(&stage, gpa_to_hva(vm, RESULT_GPA + 16), 4);
	memcpy(&error, gpa_to_hva(vm, RESULT_GPA + 20), 4);
	leaf = leaf_count(guest_leaf(vm, RESULT_GPA + 8));
	total = leaf_count(guest_leaf(vm, RESULT_GPA + 24));
	runs = vm_vcpu_stat(vm, 0, "nested_run");
	n = view_read(vm, &v);
	TEST_ASSERT(n > 0, "no exit_stats file for the VM");
	for (i = 0; i < (unsigned int)v.n; i++)
		sum_l2 += v.l2_count[i];
	ktap_diag("L1 saw %u CPUID exits of L2 (K = %u), last exit code 0x%x; nested_run %llu",
		  seen, k, last, (unsigned long long)runs);
	if (error)
		ktap_diag("L1's VMX instruction failed at stage 0x%x with VM-instruction error %u",
			  stage, error);
	ktap_diag("host view: cpuid %llu (l2 %llu), %s %llu (l2 %llu), %s %llu (l2 %llu), "
		  "l2 total %llu of %llu exits",
		  (unsigned long long)view_count(&v, nv->cpuid),
		  (unsigned long long)view_l2_count(&v, nv->cpuid),
		  nv->entry, (unsigned long long)entries(&v, nv, false),
		  (unsigned long long)entries(&v, nv, true),
		  nv->hypercall, (unsigned long long)view_count(&v, nv->hcall),
		  (unsigned long long)view_l2_count(&v, nv->hcall),
		  (unsigned long long)v.l2_total_count, (unsigned long long)v.total_count);

	ktap_result(seen == k && last == nv->hcall, "%s", names[0]);
	/* L1's only CPUIDs are its reads of the two leaves */
	ktap_result(view_l2_count(&v, nv->cpuid) == k &&
		    view_count(&v, nv->cpuid) == k + 2, "%s", names[1]);
	ktap_result(view_l2_count(&v, nv->hcall) == 1 &&
		    view_count(&v, nv->hcall) == 1, "%s", names[2]);
	ktap_result(runs == k + 1 && entries(&v, nv, false) == runs &&
		    entries(&v, nv, true) == 0, "%s", names[3]);
	ktap_result(v.has_l2_total && v.l2_total_count == sum_l2 && sum_l2 >= k + 1 &&
		    sum_l2 < v.total_count, "%s", names[4]);
	ktap_result(leaf == k + 1, "%s", names[5]);
	/*
	 * L1 reads its total (the running total, L2's exits included) and
	 * halts: KVM's exits statistic has the HLT more, and any interrupt
	 * exit that fell between the two.
	 */
	ktap_diag("L1's total leaf %llu, exits stat %llu (the HLT after it), %llu interrupt exits in all",
		  (unsigned long long)total, (unsigned long long)exits, (unsigned long long)async);
	ktap_result(exits >= total + 1 && exits <= total + 1 + async && v.l2_total_count > 0,
		    "%s", names[6]);
	vm_free(vm);
	return ktap_finish();
}
