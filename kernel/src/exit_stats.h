/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-VM accounting of VM exits and of the TSC cycles KVM spends handling
 * them, readable by the guest through CPUID leaves 0x4ffffffb-0x4fffffff.
 * See Documentation in kvm-exitstat's docs/cpuid-abi.md.
 */
#ifndef __ARCH_X86_KVM_EXIT_STATS_H
#define __ARCH_X86_KVM_EXIT_STATS_H

#include <linux/jump_label.h>
#include <linux/kvm_host.h>
#include <asm/msr.h>

#define KVM_EXIT_STATS_LEAF_INFO	0x4ffffffb
#define KVM_EXIT_STATS_LEAF_CYCLES	0x4ffffffc
#define KVM_EXIT_STATS_LEAF_COUNT	0x4ffffffd
#define KVM_EXIT_STATS_LEAF_TOTAL_CYCLES 0x4ffffffe
#define KVM_EXIT_STATS_LEAF_TOTAL	0x4fffffff

/*
 * Exit reasons are counted in slots: VMX basic exit reasons and SVM exit
 * codes below 0xc0 map to themselves, SVM exit codes 0x400-0x40f to the
 * slots that follow; anything else (a failed VMRUN, a VM-entry failure that
 * has no exit reason) is counted in the last slot.
 */
#define KVM_EXIT_STATS_LOW_END		0xc0
#define KVM_EXIT_STATS_HIGH_BASE	0x400
#define KVM_EXIT_STATS_HIGH_END		0x410
#define KVM_EXIT_STATS_OTHER		(KVM_EXIT_STATS_LOW_END + \
					 KVM_EXIT_STATS_HIGH_END - \
					 KVM_EXIT_STATS_HIGH_BASE)
#define KVM_EXIT_STATS_NR_SLOTS		(KVM_EXIT_STATS_OTHER + 1)

struct kvm_exit_stats_slot {
	u64 count;
	u64 cycles;
};

/*
 * Written only by the vCPU's own thread; read by any thread with
 * READ_ONCE(), so every 64-bit value is read whole.
 */
struct kvm_exit_stats_vcpu {
	u64 exit_tsc;		/* TSC at the VM exit being handled, or 0 */
	u32 open_slot;		/* its slot */
	struct kvm_exit_stats_slot slot[KVM_EXIT_STATS_NR_SLOTS];
};

enum kvm_exit_stats_isa {
	KVM_EXIT_STATS_VMX,
	KVM_EXIT_STATS_SVM,
};

struct kvm_exit_stats_vendor {
	enum kvm_exit_stats_isa isa;
	/* Does KVM have an exit handler for this exit reason? */
	bool (*handled)(u64 reason);
	struct kvm_exit_stats_vcpu *(*vcpu_stats)(struct kvm_vcpu *vcpu);
};

DECLARE_STATIC_KEY_TRUE(kvm_exit_stats_key);

static __always_inline u32 kvm_exit_stats_slot(u64 reason)
{
	if (reason < KVM_EXIT_STATS_LOW_END)
		return reason;
	if (reason - KVM_EXIT_STATS_HIGH_BASE <
	    KVM_EXIT_STATS_HIGH_END - KVM_EXIT_STATS_HIGH_BASE)
		return reason - KVM_EXIT_STATS_HIGH_BASE + KVM_EXIT_STATS_LOW_END;
	return KVM_EXIT_STATS_OTHER;
}

/*
 * Called right after a VM exit, before any handling: count the exit and
 * start its cycle count.
 */
static __always_inline void kvm_exit_stats_begin(struct kvm_exit_stats_vcpu *s,
						 u64 reason)
{
	struct kvm_exit_stats_slot *e;

	if (!static_branch_likely(&kvm_exit_stats_key))
		return;
	s->open_slot = kvm_exit_stats_slot(reason);
	e = &s->slot[s->open_slot];
	WRITE_ONCE(e->count, e->count + 1);
	s->exit_tsc = rdtsc();
}

/*
 * Called when KVM is done with the exit: the exit handler returned, or the
 * vCPU is about to re-enter the guest straight from the fastpath.
 */
static __always_inline void kvm_exit_stats_end(struct kvm_exit_stats_vcpu *s)
{
	struct kvm_exit_stats_slot *e;

	if (!s->exit_tsc)
		return;
	e = &s->slot[s->open_slot];
	WRITE_ONCE(e->cycles, e->cycles + rdtsc() - s->exit_tsc);
	s->exit_tsc = 0;
}

void kvm_exit_stats_set_vendor(const struct kvm_exit_stats_vendor *vendor);
int kvm_exit_stats_init_vm(struct kvm *kvm);
void kvm_exit_stats_destroy_vm(struct kvm *kvm);
void kvm_exit_stats_create_vm_debugfs(struct kvm *kvm);
bool kvm_exit_stats_cpuid(struct kvm_vcpu *vcpu, u32 *eax, u32 *ebx,
			  u32 *ecx, u32 *edx);
int kvm_exit_stats_module_init(void);
void kvm_exit_stats_module_exit(void);

#endif /* __ARCH_X86_KVM_EXIT_STATS_H */
