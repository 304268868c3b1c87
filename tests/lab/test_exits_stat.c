// SPDX-License-Identifier: GPL-2.0-only
/*
 * A guest that runs K CPUIDs, each a VM exit, raises its vCPU's "exits"
 * statistic by exactly the number of kvm:kvm_exit events over the same run
 * (K of them CPUID exits, and whatever interrupts came): stock KVM's two
 * views of its exits agree, so each can be the oracle of the series.
 */
#include "kvm_util.h"

static void test_exits_stat(u32 k)
{
	struct vm *vm = vm_create(1);
	u64 before, delta, events, cpuids;

	vm_load_cpuid_loop(vm);
	hist_trigger_start("kvm/kvm_exit", "exit_reason");
	before = vm_vcpu_stat(vm, 0, "exits");
	vcpu_run_cpuids(vm, 0, k);
	delta = vm_vcpu_stat(vm, 0, "exits") - before;
	cpuids = hist_count("kvm/kvm_exit", cpuid_exit_reason());
	events = hist_total("kvm/kvm_exit");
	hist_trigger_stop();
	ktap_diag("K=%u: exits delta %llu, kvm_exit events %llu (%llu CPUID)",
		  k, delta, events, cpuids);
	ktap_result(delta == events && cpuids == k, "exits_stat_k%u", k);
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
