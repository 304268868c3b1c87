/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Minimal KVM selftest library for the kvm-exitstat lab: KTAP output,
 * assertions, real-mode VMs over the raw KVM ioctls, KVM binary statistics
 * and tracefs histogram triggers.
 */
#ifndef KVM_EXITSTAT_KVM_UTIL_H
#define KVM_EXITSTAT_KVM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/kvm.h>
#include <linux/types.h>

typedef __u64 u64;
typedef __u32 u32;
typedef __u16 u16;
typedef __u8 u8;

#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)

/*
 * Guest physical layout. Plain literals: they are also pasted into guest
 * assembly with __stringify(). vCPU i starts with ESI = i, SP at
 * GUEST_STACK_TOP - i * GUEST_STACK_SIZE, and owns the result slot at
 * GUEST_SLOT_GPA + (i << GUEST_SLOT_SHIFT).
 */
#define GUEST_MEM_SIZE		0x100000
#define GUEST_CODE_GPA		0x1000
#define GUEST_SLOT_GPA		0x8000
#define GUEST_SLOT_SHIFT	8
#define GUEST_STACK_TOP		0xf000
#define GUEST_STACK_SIZE	0x800
#define VM_MAX_VCPUS		8

/*
 * GUEST_CODE(name, "insn\n" ...) emits a 16-bit real-mode blob between the
 * global labels name_start and name_end and declares them. The blob is
 * copied, not linked, so it may only use relative jumps and absolute
 * addresses of guest memory (load it at GUEST_CODE_GPA).
 */
#define GUEST_CODE_DECLARE(name) \
	extern const u8 name##_start[], name##_end[]
#define GUEST_CODE_SIZE(name)	((size_t)(name##_end - name##_start))
#define GUEST_CODE(name, body)						\
	asm(".pushsection .rodata\n"					\
	    ".code16\n"							\
	    ".global " #name "_start\n"					\
	    #name "_start:\n"						\
	    body "\n"							\
	    ".global " #name "_end\n"					\
	    #name "_end:\n"						\
	    ".code64\n"							\
	    ".popsection\n");						\
	GUEST_CODE_DECLARE(name)
#define vm_load_code(vm, gpa, name) \
	vm_load(vm, gpa, name##_start, GUEST_CODE_SIZE(name))

/* Guest snippet: EDI CPUIDs with EAX = 0 (EDI ends at 0; EAX-EDX clobbered). */
#define GUEST_CPUID_LOOP						\
	"	test %edi, %edi\n"					\
	"	jz 8f\n"						\
	"7:	xor %eax, %eax\n"					\
	"	cpuid\n"						\
	"	dec %edi\n"						\
	"	jnz 7b\n"						\
	"8:\n"

/* KTAP */
void ktap_plan(int n);
bool ktap_result(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ktap_skip(const char *name, const char *reason_fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ktap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ktap_finish(void);

/*
 * Parse [-k K] into *k and return whether it was given (usage: exit 2);
 * print "Bail out!" and exit 1 if /dev/kvm cannot be opened.
 */
bool test_init(int argc, char **argv, u32 *k);

/*
 * A test with modes takes one as its first argument, "-X" with X in @modes,
 * before -k: consume it and return X, or 0 if there is none.
 */
char test_mode(int *argc, char ***argv, const char *modes);

#define TEST_ASSERT(cond, fmt, ...)					\
do {									\
	if (!(cond))							\
		__test_assert_fail(__FILE__, __LINE__, #cond,		\
				   fmt, ##__VA_ARGS__);			\
} while (0)

void __test_assert_fail(const char *file, int line, const char *cond,
			const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));

/* VMs */
struct vcpu {
	int fd;
	struct kvm_run *run;
};

struct vm {
	int kvm_fd;
	int fd;
	u8 *mem;
	size_t mem_size;
	size_t run_size;
	int nr_vcpus;
	struct vcpu vcpu[VM_MAX_VCPUS];
};

struct vm *vm_create(int nr_vcpus);
/*
 * With an in-kernel irqchip (a LAPIC per vCPU, all of them runnable): HLT
 * then blocks in KVM until an interrupt.
 */
struct vm *vm_create_irqchip(int nr_vcpus);
/*
 * A CPUID table for vCPU i: leaf 1 has the APIC, x2APIC and the ECX bits in
 * extra_ecx (TSC deadline: 1u << 24), nothing else.
 */
void vcpu_set_cpuid_x2apic(struct vm *vm, int i, u32 extra_ecx);
void vm_free(struct vm *vm);
void vm_load(struct vm *vm, u64 gpa, const void *code, size_t len);
void *gpa_to_hva(struct vm *vm, u64 gpa);
void vcpu_setup_real_mode(struct vm *vm, int i, u64 entry_gpa);
void vcpu_get_regs(struct vm *vm, int i, struct kvm_regs *regs);
void vcpu_set_regs(struct vm *vm, int i, const struct kvm_regs *regs);
u32 vcpu_run(struct vm *vm, int i);
void vcpu_run_expect(struct vm *vm, int i, u32 exit_reason);
const char *exit_reason_str(u32 exit_reason);

/* Set up vCPU i at GUEST_CODE_GPA with EDI and EBP given. */
void vcpu_prepare(struct vm *vm, int i, u32 edi, u32 ebp);

/* Run vCPUs first..first+n-1, one thread each, all until HLT. */
void vcpus_run_parallel(struct vm *vm, int first, int n);

/*
 * A guest that runs EDI CPUIDs and halts: load it at GUEST_CODE_GPA, and run
 * vCPU i through K of them (asserting that all K ran).
 */
void vm_load_cpuid_loop(struct vm *vm);
void vcpu_run_cpuids(struct vm *vm, int i, u32 k);

/* KVM binary statistics (KVM_GET_STATS_FD); assert if @name is absent. */
u64 vm_vcpu_stat(struct vm *vm, int i, const char *name);
u64 vm_stat(struct vm *vm, const char *name);

/* Host CPU: SVM or VMX, and the hardware exit reason of CPUID. */
bool host_is_amd(void);
bool host_is_intel(void);
u32 cpuid_exit_reason(void);

/* tracefs hist triggers; one active trigger at a time, removed at exit. */
void hist_trigger_start(const char *event_dir, const char *keys);
u64 hist_count(const char *event_dir, u64 key_value);
u64 hist_total(const char *event_dir);
void hist_trigger_stop(void);

#endif /* KVM_EXITSTAT_KVM_UTIL_H */
