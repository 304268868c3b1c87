// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-VM accounting of VM exits and of the TSC cycles KVM spends handling
 * them, answered to the guest through CPUID leaves 0x4ffffffb-0x4fffffff.
 *
 * The vendor module counts each exit in its vCPU's own counters, with two
 * TSC reads and no shared writes (kvm_exit_stats_begin/end).  Readers sum
 * over the vCPUs of the VM that asks or, with exit_stats_scope=global, over
 * every live VM plus what destroyed VMs left behind.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/kvm_host.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include <asm/svm.h>
#include <asm/trapnr.h>
#include <asm/vmx.h>

#include "exit_stats.h"

#define KVM_EXIT_STATS_ABI_VERSION	1
/* "KVMExitStats" in EBX, ECX, EDX, as CPUID leaf 0 spells the vendor. */
#define KVM_EXIT_STATS_SIG_EBX		0x454d564b
#define KVM_EXIT_STATS_SIG_ECX		0x53746978
#define KVM_EXIT_STATS_SIG_EDX		0x73746174
#define KVM_EXIT_STATS_INFO_GLOBAL	BIT(24)

static bool __read_mostly exit_stats = true;
module_param(exit_stats, bool, 0444);
MODULE_PARM_DESC(exit_stats, "Count VM exits and answer CPUID leaves 0x4ffffffb-0x4fffffff (default: on)");

static char *exit_stats_scope = "vm";
module_param(exit_stats_scope, charp, 0444);
MODULE_PARM_DESC(exit_stats_scope, "What the CPUID leaves report: \"vm\" (the asking VM, default) or \"global\" (all VMs since load)");

static bool exit_stats_log;
module_param(exit_stats_log, bool, 0644);
MODULE_PARM_DESC(exit_stats_log, "Log each exit-statistics CPUID query, rate limited (default: off)");

DEFINE_STATIC_KEY_TRUE(kvm_exit_stats_key);
EXPORT_SYMBOL_GPL(kvm_exit_stats_key);

struct exit_stats_name {
	u32 reason;
	const char *name;
};

/*
 * The exit reasons each vendor's manual defines, as inclusive ranges:
 * Intel SDM Vol. 3C (325384-083US, March 2024), Appendix C, basic exit
 * reasons; AMD APM Vol. 2 (24593 rev. 3.42, March 2024), Appendix C.
 */
static const u32 vmx_defined[][2] = {
	{ 0, 34 }, { 36, 37 }, { 39, 41 }, { 43, 70 }, { 72, 77 },
};

static const u32 svm_defined[][2] = {
	{ SVM_EXIT_READ_CR0, 0xa5 },
	{ SVM_EXIT_NPF, SVM_EXIT_VMGEXIT },
};

/* Names from the uapi headers, plus those the headers lack. */
static const struct exit_stats_name vmx_names[] = {
	VMX_EXIT_REASONS,
	{ 5, "IO_SMI" }, { 6, "OTHER_SMI" }, { 11, "GETSEC" }, { 17, "RSM" },
	{ 65, "PCONFIG" }, { 66, "SPP" }, { 69, "LOADIWKEY" }, { 70, "ENCLV" },
	{ 72, "ENQCMD_PASID_FAIL" }, { 73, "ENQCMDS_PASID_FAIL" },
	{ 76, "SEAMCALL" }, { 77, "TDCALL" },
};

static const struct exit_stats_name svm_names[] = {
	SVM_EXIT_REASONS,
	{ 0xa0, "invlpgb" }, { 0xa1, "invlpgb_illegal" }, { 0xa3, "mcommit" },
	{ 0xa4, "tlbsync" }, { 0xa5, "buslock" },
};

static const struct {
	const char *name;
	const u32 (*defined)[2];
	unsigned int nr_defined;
	const struct exit_stats_name *names;
	unsigned int nr_names;
} exit_stats_isa[] = {
	[KVM_EXIT_STATS_VMX] = { "vmx", vmx_defined, ARRAY_SIZE(vmx_defined),
				 vmx_names, ARRAY_SIZE(vmx_names) },
	[KVM_EXIT_STATS_SVM] = { "svm", svm_defined, ARRAY_SIZE(svm_defined),
				 svm_names, ARRAY_SIZE(svm_names) },
};

static bool exit_stats_global;
static const struct kvm_exit_stats_vendor *exit_stats_vendor;

/* Live VMs, for the global scope, and what destroyed VMs left behind. */
struct exit_stats_vm {
	struct list_head link;
	struct kvm *kvm;
};

static DEFINE_MUTEX(exit_stats_lock);
static LIST_HEAD(exit_stats_vms);
static struct kvm_exit_stats_slot exit_stats_retired[KVM_EXIT_STATS_NR_SLOTS];

void kvm_exit_stats_set_vendor(const struct kvm_exit_stats_vendor *vendor)
{
	exit_stats_vendor = vendor;
}
EXPORT_SYMBOL_GPL(kvm_exit_stats_set_vendor);

static bool exit_stats_defined(enum kvm_exit_stats_isa isa, u32 reason)
{
	unsigned int i;

	for (i = 0; i < exit_stats_isa[isa].nr_defined; i++)
		if (reason >= exit_stats_isa[isa].defined[i][0] &&
		    reason <= exit_stats_isa[isa].defined[i][1])
			return true;
	return false;
}

static u32 exit_stats_max_defined(enum kvm_exit_stats_isa isa)
{
	return exit_stats_isa[isa].defined[exit_stats_isa[isa].nr_defined - 1][1];
}

static const char *exit_stats_name(enum kvm_exit_stats_isa isa, u32 reason)
{
	unsigned int i;

	for (i = 0; i < exit_stats_isa[isa].nr_names; i++)
		if (exit_stats_isa[isa].names[i].reason == reason)
			return exit_stats_isa[isa].names[i].name;
	return "-";
}

/* Sum one slot (or, with slot < 0, all slots) over a VM's vCPUs. */
static void exit_stats_sum_vm(struct kvm *kvm, int slot,
			      struct kvm_exit_stats_slot *sum)
{
	struct kvm_exit_stats_vcpu *s;
	struct kvm_vcpu *vcpu;
	unsigned long i;
	int j;

	kvm_for_each_vcpu(i, vcpu, kvm) {
		s = exit_stats_vendor->vcpu_stats(vcpu);
		for (j = slot < 0 ? 0 : slot;
		     j < (slot < 0 ? KVM_EXIT_STATS_NR_SLOTS : slot + 1); j++) {
			sum->count += READ_ONCE(s->slot[j].count);
			sum->cycles += READ_ONCE(s->slot[j].cycles);
		}
	}
}

static void exit_stats_sum(struct kvm *kvm, int slot, struct kvm_exit_stats_slot *sum)
{
	struct exit_stats_vm *vm;
	int j;

	memset(sum, 0, sizeof(*sum));
	if (!exit_stats_global) {
		exit_stats_sum_vm(kvm, slot, sum);
		return;
	}

	mutex_lock(&exit_stats_lock);
	list_for_each_entry(vm, &exit_stats_vms, link)
		exit_stats_sum_vm(vm->kvm, slot, sum);
	for (j = slot < 0 ? 0 : slot;
	     j < (slot < 0 ? KVM_EXIT_STATS_NR_SLOTS : slot + 1); j++) {
		sum->count += exit_stats_retired[j].count;
		sum->cycles += exit_stats_retired[j].cycles;
	}
	mutex_unlock(&exit_stats_lock);
}

/*
 * Answer the exit-statistics leaves.  Returns false for any other leaf, and
 * for every leaf when the feature is off, so that CPUID behaves as before.
 */
bool kvm_exit_stats_cpuid(struct kvm_vcpu *vcpu, u32 *eax, u32 *ebx,
			  u32 *ecx, u32 *edx)
{
	const struct kvm_exit_stats_vendor *v = exit_stats_vendor;
	u32 leaf = *eax, reason = *ecx;
	struct kvm_exit_stats_slot sum;

	if (leaf < KVM_EXIT_STATS_LEAF_INFO || leaf > KVM_EXIT_STATS_LEAF_TOTAL ||
	    !exit_stats || !v)
		return false;

	*eax = *ebx = *ecx = *edx = 0;
	switch (leaf) {
	case KVM_EXIT_STATS_LEAF_INFO:
		*eax = KVM_EXIT_STATS_ABI_VERSION << 16 | exit_stats_max_defined(v->isa);
		if (exit_stats_global)
			*eax |= KVM_EXIT_STATS_INFO_GLOBAL;
		*ebx = KVM_EXIT_STATS_SIG_EBX;
		*ecx = KVM_EXIT_STATS_SIG_ECX;
		*edx = KVM_EXIT_STATS_SIG_EDX;
		return true;
	case KVM_EXIT_STATS_LEAF_TOTAL:
	case KVM_EXIT_STATS_LEAF_TOTAL_CYCLES:
		exit_stats_sum(vcpu->kvm, -1, &sum);
		break;
	default:
		if (!exit_stats_defined(v->isa, reason)) {
			*edx = 0xffffffff;
			goto log;
		}
		if (!v->handled(reason))
			goto log;
		exit_stats_sum(vcpu->kvm, kvm_exit_stats_slot(reason), &sum);
		break;
	}

	if (leaf == KVM_EXIT_STATS_LEAF_TOTAL || leaf == KVM_EXIT_STATS_LEAF_COUNT) {
		*eax = lower_32_bits(sum.count);
		*ebx = upper_32_bits(sum.count);
	} else {
		*ebx = upper_32_bits(sum.cycles);
		*ecx = lower_32_bits(sum.cycles);
	}
log:
	if (exit_stats_log)
		pr_info_ratelimited("vcpu %d: cpuid 0x%x ecx 0x%x: eax 0x%x ebx 0x%x ecx 0x%x edx 0x%x\n",
				    vcpu->vcpu_id, leaf, reason, *eax, *ebx, *ecx, *edx);
	return true;
}

int kvm_exit_stats_init_vm(struct kvm *kvm)
{
	struct exit_stats_vm *vm;

	if (!exit_stats || !exit_stats_global)
		return 0;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	vm->kvm = kvm;
	mutex_lock(&exit_stats_lock);
	list_add(&vm->link, &exit_stats_vms);
	mutex_unlock(&exit_stats_lock);
	return 0;
}

/* Fold a dying VM's counts into the global ones; its vCPUs no longer run. */
void kvm_exit_stats_destroy_vm(struct kvm *kvm)
{
	struct exit_stats_vm *vm, *found = NULL;
	struct kvm_exit_stats_vcpu *s;
	struct kvm_vcpu *vcpu;
	unsigned long i;
	int j;

	if (!exit_stats || !exit_stats_global)
		return;

	mutex_lock(&exit_stats_lock);
	list_for_each_entry(vm, &exit_stats_vms, link) {
		if (vm->kvm == kvm) {
			found = vm;
			break;
		}
	}
	if (found) {
		kvm_for_each_vcpu(i, vcpu, kvm) {
			s = exit_stats_vendor->vcpu_stats(vcpu);
			for (j = 0; j < KVM_EXIT_STATS_NR_SLOTS; j++) {
				exit_stats_retired[j].count += s->slot[j].count;
				exit_stats_retired[j].cycles += s->slot[j].cycles;
			}
		}
		list_del(&found->link);
	}
	mutex_unlock(&exit_stats_lock);
	kfree(found);
}

/* debugfs: /sys/kernel/debug/kvm/<pid>-<fd>/exit_stats, the host's view. */
static int exit_stats_show(struct seq_file *m, void *unused)
{
	const struct kvm_exit_stats_vendor *v = exit_stats_vendor;
	struct kvm_exit_stats_slot sum, total = {};
	struct kvm *kvm = m->private;
	u32 reason;
	int slot;

	seq_printf(m, "# %s exit reason, name, exits, cycles\n",
		   exit_stats_isa[v->isa].name);
	for (slot = 0; slot < KVM_EXIT_STATS_NR_SLOTS; slot++) {
		memset(&sum, 0, sizeof(sum));
		exit_stats_sum_vm(kvm, slot, &sum);
		total.count += sum.count;
		total.cycles += sum.cycles;
		if (!sum.count && !sum.cycles)
			continue;
		if (slot == KVM_EXIT_STATS_OTHER) {
			seq_printf(m, "other other %llu %llu\n", sum.count, sum.cycles);
			continue;
		}
		reason = slot < KVM_EXIT_STATS_LOW_END ? slot :
			 slot - KVM_EXIT_STATS_LOW_END + KVM_EXIT_STATS_HIGH_BASE;
		seq_printf(m, "%u %s %llu %llu\n", reason, exit_stats_name(v->isa, reason),
			   sum.count, sum.cycles);
	}
	seq_printf(m, "total total %llu %llu\n", total.count, total.cycles);
	return 0;
}

static int exit_stats_open(struct inode *inode, struct file *file)
{
	struct kvm *kvm = inode->i_private;
	int r;

	if (!kvm_get_kvm_safe(kvm))
		return -ENOENT;
	r = single_open(file, exit_stats_show, kvm);
	if (r < 0)
		kvm_put_kvm(kvm);
	return r;
}

static int exit_stats_release(struct inode *inode, struct file *file)
{
	kvm_put_kvm(inode->i_private);
	return single_release(inode, file);
}

static const struct file_operations exit_stats_fops = {
	.open		= exit_stats_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= exit_stats_release,
};

void kvm_exit_stats_create_vm_debugfs(struct kvm *kvm)
{
	if (exit_stats && exit_stats_vendor)
		debugfs_create_file("exit_stats", 0444, kvm->debugfs_dentry, kvm,
				    &exit_stats_fops);
}

int kvm_exit_stats_module_init(void)
{
	if (!strcmp(exit_stats_scope, "global")) {
		exit_stats_global = true;
		if (exit_stats)
			pr_warn("exit_stats_scope=global: every guest can read the exit counts of all VMs\n");
	} else if (strcmp(exit_stats_scope, "vm")) {
		pr_err("exit_stats_scope must be \"vm\" or \"global\", not \"%s\"\n",
		       exit_stats_scope);
		return -EINVAL;
	}
	if (!exit_stats)
		static_branch_disable(&kvm_exit_stats_key);
	return 0;
}

void kvm_exit_stats_module_exit(void)
{
	WARN_ON_ONCE(!list_empty(&exit_stats_vms));
}
