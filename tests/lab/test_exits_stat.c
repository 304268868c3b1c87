// SPDX-License-Identifier: GPL-2.0-only
/*
 * A guest that runs K CPUIDs, each a VM exit, raises its vCPU's "exits"
 * statistic by at least K.
 */
#include "kvm_util.h"

static void test_exits_stat(u32 k)
{
	struct vm *vm = vm_create(1);
	u64 before, delta;

	vm_load_cpuid_loop(vm);
	before = vm_vcpu_stat(vm, 0, "exits");
	vcpu_run_cpuids(vm, 0, k);
	delta = vm_vcpu_stat(vm, 0, "exits") - before;
	ktap_diag("K=%u: exits delta %llu (expected >= %u)", k, delta, k);
	ktap_result(delta >= k, "exits_stat_k%u", k);
	vm_free(vm);
}

int main(int argc, char **argv)
{
	u32 ks[] = { 1000, 10000 };
	int i, n = 2;

	if (test_init(argc, argv, &ks[0]))
		n = 1;
	ktap_plan(n);
	for (i = 0; i < n; i++)
		test_exits_stat(ks[i]);
	return ktap_finish();
}
