// SPDX-License-Identifier: GPL-2.0-only
/*
 * A guest that runs K CPUIDs produces exactly K kvm:kvm_exit events with
 * the CPUID exit reason, counted by a hist trigger keyed by exit_reason.
 */
#include "kvm_util.h"

#define KVM_EXIT_EVENT	"kvm/kvm_exit"

static void test_exit_hist(u32 k)
{
	struct vm *vm = vm_create(1);
	u32 reason = cpuid_exit_reason();
	u64 n, total;

	vm_load_cpuid_loop(vm);
	hist_trigger_start(KVM_EXIT_EVENT, "exit_reason");
	vcpu_run_cpuids(vm, 0, k);
	n = hist_count(KVM_EXIT_EVENT, reason);
	total = hist_total(KVM_EXIT_EVENT);
	hist_trigger_stop();
	ktap_diag("K=%u: %llu kvm_exit events with exit_reason 0x%x (expected %u), %llu in all",
		  k, n, reason, k, total);
	ktap_result(n == k, "cpuid_exit_hist_k%u", k);
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
		test_exit_hist(ks[i]);
	return ktap_finish();
}
