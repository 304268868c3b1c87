// SPDX-License-Identifier: GPL-2.0-only
/*
 * The exit-statistics leaves as one guest sees them: the discovery leaf,
 * and the exact K + 1 rule (a guest that reads the CPUID count, runs K
 * CPUIDs and reads it again sees K + 1 more); totals and cycles grow.
 */
#include <string.h>

#include "exit_stats_util.h"

/* EBP = the CPUID exit reason, EDI = K. */
GUEST_CODE(guest_k_plus_one,
	GUEST_READ_LEAF(0x4fffffff, 0x8000)
	GUEST_READ_LEAF(0x4ffffffe, 0x8010)
	GUEST_READ_LEAF(0x4ffffffc, 0x8020)
	GUEST_READ_LEAF(0x4ffffffd, 0x8030)
	GUEST_CPUID_LOOP
	GUEST_READ_LEAF(0x4ffffffd, 0x8040)
	GUEST_READ_LEAF(0x4fffffff, 0x8050)
	GUEST_READ_LEAF(0x4ffffffc, 0x8060)
	GUEST_READ_LEAF(0x4ffffffe, 0x8070)
	GUEST_READ_LEAF(0x4ffffffb, 0x8080)
	"9:	hlt\n"
	"	jmp 9b\n");

static void test_k_plus_one(u32 k)
{
	u32 reason = cpuid_exit_reason();
	struct vm *vm = vm_create(1);
	u64 t1, c1, y1, a, b, t2, c2, y2;

	vm_load_code(vm, GUEST_CODE_GPA, guest_k_plus_one);
	vcpu_prepare(vm, 0, k, reason);
	vcpu_run_expect(vm, 0, KVM_EXIT_HLT);
	t1 = leaf_count(guest_leaf(vm, 0x8000));
	c1 = leaf_cycles(guest_leaf(vm, 0x8010));
	y1 = leaf_cycles(guest_leaf(vm, 0x8020));
	a = leaf_count(guest_leaf(vm, 0x8030));
	b = leaf_count(guest_leaf(vm, 0x8040));
	t2 = leaf_count(guest_leaf(vm, 0x8050));
	y2 = leaf_cycles(guest_leaf(vm, 0x8060));
	c2 = leaf_cycles(guest_leaf(vm, 0x8070));

	ktap_diag("K=%u: CPUID exits %llu -> %llu (expected +%llu)", k, a, b, (u64)k + 1);
	ktap_result(b - a == (u64)k + 1, "count_k_plus_one_k%u", k);
	ktap_diag("K=%u: total exits %llu -> %llu (expected at least +%llu)",
		  k, t1, t2, (u64)k + 5);
	ktap_result(t2 - t1 >= (u64)k + 5 && t2 >= b,
		    "total_grows_k%u", k);
	/*
	 * Each read returns what was accounted before its own exit, and one
	 * exit can take millions of cycles on a busy host: the total, read
	 * after the CPUID cycles, holds at least those.
	 */
	ktap_diag("K=%u: total cycles %llu -> %llu, CPUID cycles %llu -> %llu (read before)",
		  k, c1, c2, y1, y2);
	ktap_result(c2 > c1 && (k ? y2 > y1 : y2 >= y1) && c2 >= y2,
		    "cycles_grow_k%u", k);
	vm_free(vm);
}

static void test_info(void)
{
	struct vm *vm = vm_create(1);
	struct leaf l;
	char sig[13];

	vm_load_code(vm, GUEST_CODE_GPA, guest_k_plus_one);
	vcpu_prepare(vm, 0, 0, 0);
	vcpu_run_expect(vm, 0, KVM_EXIT_HLT);
	l = guest_leaf(vm, 0x8080);
	memcpy(sig, &l.ebx, 4);
	memcpy(sig + 4, &l.ecx, 4);
	memcpy(sig + 8, &l.edx, 4);
	sig[12] = 0;
	ktap_diag("0x4ffffffb: eax 0x%08x signature \"%s\"", l.eax, sig);
	ktap_result(!strcmp(sig, "KVMExitStats"), "info_signature");
	ktap_result((l.eax >> 16 & 0xff) == 1 && (l.eax & 0xffff) == reason_max_defined() &&
		    !(l.eax >> 24 & 1), "info_version_max_reason_vm_scope");
	ktap_result(l.eax >> 28 == (host_is_amd() ? 2u : 1u), "info_isa_%s",
		    host_is_amd() ? "svm" : "vmx");
	vm_free(vm);
}

int main(int argc, char **argv)
{
	u32 ks[] = { 0, 1, 10, 1000, 10000 };
	size_t i, n = sizeof(ks) / sizeof(ks[0]);

	if (test_init(argc, argv, &ks[0]))
		n = 1;
	ktap_plan(3 * n + 3);
	test_info();
	for (i = 0; i < n; i++)
		test_k_plus_one(ks[i]);
	return ktap_finish();
}
