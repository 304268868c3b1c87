// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm.exit_stats=counts: exits are counted exactly, no cycles are counted,
 * and the guest and the host are told so: discovery bit 25 is set, the
 * cycles leaves answer 0 for defined reasons (EDX = ~0 still marks an
 * undefined one), the debugfs view says "cycles off" and holds 0 cycles.
 * Run with the module loaded that way; the lab's payload does.
 */
#include <stdio.h>
#include <string.h>

#include "exit_stats_util.h"

#define INFO_NO_CYCLES	(1u << 25)

/* EBP = the CPUID exit reason, EDI = K; then ECX = 35 (undefined on VMX). */
GUEST_CODE(guest_counts,
	GUEST_READ_LEAF(0x4ffffffd, 0x8000)
	GUEST_CPUID_LOOP
	GUEST_READ_LEAF(0x4ffffffd, 0x8010)
	GUEST_READ_LEAF(0x4ffffffc, 0x8020)
	GUEST_READ_LEAF(0x4ffffffe, 0x8030)
	GUEST_READ_LEAF(0x4fffffff, 0x8040)
	GUEST_READ_LEAF(0x4ffffffb, 0x8050)
	"	mov $0x4ffffffc, %eax\n"
	"	mov $0xffff, %ecx\n"
	"	cpuid\n"
	"	mov %edx, 0x8060\n"
	"9:	hlt\n"
	"	jmp 9b\n");

int main(int argc, char **argv)
{
	u32 k = 1000, reason = cpuid_exit_reason();
	struct leaf info, cyc, tcyc;
	u64 a, b, total, exits;
	struct vm *vm;
	struct view v;
	u32 undefined;
	int i;

	test_init(argc, argv, &k);
	ktap_plan(6);
	ktap_result(module_param_is("kvm", "exit_stats", "counts"), "parameter_reads_counts");

	vm = vm_create(1);
	vm_load_code(vm, GUEST_CODE_GPA, guest_counts);
	vcpu_prepare(vm, 0, k, reason);
	vcpu_run_expect(vm, 0, KVM_EXIT_HLT);
	a = leaf_count(guest_leaf(vm, 0x8000));
	b = leaf_count(guest_leaf(vm, 0x8010));
	cyc = guest_leaf(vm, 0x8020);
	tcyc = guest_leaf(vm, 0x8030);
	total = leaf_count(guest_leaf(vm, 0x8040));
	info = guest_leaf(vm, 0x8050);
	undefined = *(u32 *)gpa_to_hva(vm, 0x8060);
	exits = vm_vcpu_stat(vm, 0, "exits");
	TEST_ASSERT(view_read(vm, &v) > 0, "no host-side view for the VM");

	ktap_diag("discovery eax 0x%08x; CPUID exits %llu -> %llu (K=%u); total %llu, exits stat %llu",
		  info.eax, a, b, k, total, exits);
	ktap_result((info.eax & INFO_NO_CYCLES) && !(info.eax & (3u << 26)),
		    "info_bit25_set_reserved_clear");
	ktap_result(b - a == (u64)k + 1 && total <= exits, "counts_exact_k%u", k);
	ktap_diag("cycles leaves: cpuid %08x %08x %08x %08x, total %08x %08x %08x %08x, undefined edx %08x",
		  cyc.eax, cyc.ebx, cyc.ecx, cyc.edx, tcyc.eax, tcyc.ebx, tcyc.ecx, tcyc.edx,
		  undefined);
	ktap_result(!(cyc.eax | cyc.ebx | cyc.ecx | cyc.edx) &&
		    !(tcyc.eax | tcyc.ebx | tcyc.ecx | tcyc.edx) && undefined == 0xffffffff,
		    "cycles_leaves_answer_zero");
	for (i = 0; i < v.n; i++)
		if (v.cycles[i])
			break;
	ktap_diag("host view: cycles off %d, %llu exits, %llu cycles, first reason with cycles %s",
		  v.cycles_off, v.total_count, v.total_cycles, i < v.n ? "found" : "none");
	ktap_result(v.cycles_off && !v.total_cycles && i == v.n, "view_says_cycles_off");
	ktap_result(v.total_count == exits, "view_total_equals_exits_stat");
	vm_free(vm);
	return ktap_finish();
}
