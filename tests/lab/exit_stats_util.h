/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the tests of the exit-statistics CPUID leaves: the ABI
 * (docs/cpuid-abi.md) as the tests hold the patch to it, guest snippets
 * that read leaves, parallel vCPU runs and the host-side debugfs view.
 */
#ifndef KVM_EXITSTAT_EXIT_STATS_UTIL_H
#define KVM_EXITSTAT_EXIT_STATS_UTIL_H

#include "kvm_util.h"

#define LEAF_INFO		0x4ffffffb
#define LEAF_CYCLES		0x4ffffffc
#define LEAF_COUNT		0x4ffffffd
#define LEAF_TOTAL_CYCLES	0x4ffffffe
#define LEAF_TOTAL		0x4fffffff

/*
 * Guest snippet: CPUID with EAX = leaf and ECX = EBP, the four registers
 * stored at the absolute guest address addr (16 bytes). Clobbers EAX-EDX.
 */
#define GUEST_READ_LEAF(leaf, addr)					\
	"	mov $" #leaf ", %eax\n"					\
	"	mov %ebp, %ecx\n"					\
	"	cpuid\n"						\
	"	mov %eax, " #addr "\n"					\
	"	mov %ebx, " #addr "+4\n"				\
	"	mov %ecx, " #addr "+8\n"				\
	"	mov %edx, " #addr "+12\n"

struct leaf {
	u32 eax, ebx, ecx, edx;
};

/* Read the leaf a guest stored at gpa. */
struct leaf guest_leaf(struct vm *vm, u64 gpa);
u64 leaf_count(struct leaf l);		/* EBX:EAX */
u64 leaf_cycles(struct leaf l);		/* EBX:ECX */

/* The exit reasons the vendor's manual defines (docs/cpuid-abi.md). */
bool reason_defined(u32 reason);
u32 reason_max_defined(void);

/*
 * Host-side view: the VM's /sys/kernel/debug/kvm/<pid>-<fd>/exit_stats.
 * Returns the number of reason lines read into reason[]/count[]/cycles[]
 * (the "other" line as reason ~0), with the part of each taken while L2
 * ran (its "l2" line) in l2_count[]/l2_cycles[], the total line in
 * *total_*, the "l2 total" line in *l2_total_*; with kvm.exit_stats=hist
 * the "buckets" line in bounds[] and each reason's "hist" line in hist[];
 * -1 if the file does not exist.
 */
#define VIEW_MAX	512
#define VIEW_HIST_MAX	32
struct view {
	int n;
	u32 reason[VIEW_MAX];
	u64 count[VIEW_MAX], cycles[VIEW_MAX];
	u64 l2_count[VIEW_MAX], l2_cycles[VIEW_MAX];
	u64 total_count, total_cycles;
	bool has_l2_total;
	u64 l2_total_count, l2_total_cycles;
	u64 clamped;		/* windows whose TSC went backwards */
	bool cycles_off;	/* kvm.exit_stats=counts */
	int nbounds;		/* kvm.exit_stats=hist: the buckets' bounds */
	u64 bounds[VIEW_HIST_MAX];
	bool has_hist[VIEW_MAX];	/* and nbounds + 1 buckets per reason */
	u64 hist[VIEW_MAX][VIEW_HIST_MAX];
};
int view_read(struct vm *vm, struct view *v);

/*
 * /sys/module/@module/parameters/@param, without its newline, into @buf;
 * false (and "" in @buf) if it cannot be read.
 */
bool module_param_read(const char *module, const char *param, char *buf, size_t len);
/* Whether that parameter reads @value. */
bool module_param_is(const char *module, const char *param, const char *value);
u64 view_count(const struct view *v, u32 reason);
u64 view_cycles(const struct view *v, u32 reason);
u64 view_l2_count(const struct view *v, u32 reason);
/* A reason's histogram, or NULL if it has none. */
const u64 *view_hist(const struct view *v, u32 reason);

#endif /* KVM_EXITSTAT_EXIT_STATS_UTIL_H */
