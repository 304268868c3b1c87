// SPDX-License-Identifier: GPL-2.0-only
/*
 * The patch's numbers against independent oracles, for a guest that runs
 * K CPUIDs and M port writes (each an exit to userspace) and halts:
 *   - the host-side view (debugfs exit_stats) sums to KVM's own "exits"
 *     statistic, and its total line to the sum of its reason lines;
 *   - every reason's count equals the kvm:kvm_exit histogram's;
 *   - the guest's own reading of the CPUID count agrees with the host's;
 *   - what the guest reads as its total (leaf 0x4FFFFFFF, the running
 *     total, not the host view's sum of slots) equals KVM's "exits"
 *     statistic as the ABI says: it counts every exit up to the CPUID
 *     that reads it, so a guest that reads it and halts has one exit more
 *     (the HLT) in the statistic, plus any asynchronous exit (an interrupt)
 *     that fell between the two, which the kvm_exit histogram shows.
 */
#include "exit_stats_util.h"

#define KVM_EXIT_EVENT	"kvm/kvm_exit"
#define PORT		0xe9

/* EDI = K, SI = M port writes, EBP = CPUID reason. */
GUEST_CODE(guest_mix,
	GUEST_CPUID_LOOP
	"	mov %si, %cx\n"
	"	jcxz 2f\n"
	"1:	out %al, $" __stringify(PORT) "\n"
	"	loop 1b\n"
	"2:\n"
	GUEST_READ_LEAF(0x4ffffffd, 0x8000)
	"9:	hlt\n"
	"	jmp 9b\n");

/*
 * Touch the data page first, so that any fault exit comes before the read;
 * then read the total and halt.
 */
GUEST_CODE(guest_total,
	"	movl $0, 0x8000\n"
	"	movl $0, 0x800c\n"
	GUEST_READ_LEAF(0x4fffffff, 0x8000)
	"9:	hlt\n"
	"	jmp 9b\n");

/* Exits no instruction of the guest causes: interrupts, NMIs and the like. */
static u64 hist_async(void)
{
	static const u32 vmx[] = { 1, 52 };	/* EXTERNAL_INTERRUPT, PREEMPTION_TIMER */
	static const u32 svm[] = { 0x60, 0x61, 0x62, 0x63, 0x64 };	/* INTR .. VINTR */
	const u32 *r = host_is_amd() ? svm : vmx;
	int i, n = host_is_amd() ? 5 : 2;
	u64 sum = 0;

	for (i = 0; i < n; i++)
		sum += hist_count("kvm/kvm_exit", r[i]);
	return sum;
}

/*
 * The running total against the statistic, over up to 30 short runs: in
 * each, leaf + 1 <= exits <= leaf + 1 + asynchronous exits; in each run
 * with no asynchronous exit, exits == leaf + 1 exactly, and there must be
 * such runs.
 */
static void test_total_leaf(void)
{
	int try, bad = 0, quiet = 0, exact = 0;
	u64 exits, leaf, async;
	u32 r;

	for (try = 0; try < 30 && quiet < 10; try++) {
		struct vm *vm = vm_create(1);

		vm_load_code(vm, GUEST_CODE_GPA, guest_total);
		vcpu_prepare(vm, 0, 0, 0);
		hist_trigger_start(KVM_EXIT_EVENT, "exit_reason");
		r = vcpu_run(vm, 0);
		TEST_ASSERT(r == KVM_EXIT_HLT, "expected HLT after the read, got %s",
			    exit_reason_str(r));
		exits = vm_vcpu_stat(vm, 0, "exits");
		async = hist_async();
		hist_trigger_stop();
		leaf = leaf_count(guest_leaf(vm, 0x8000));
		if (exits < leaf + 1 || exits > leaf + 1 + async) {
			if (bad++ < 5)
				ktap_diag("run %d: total leaf %llu, exits stat %llu, %llu asynchronous exits",
					  try, leaf, exits, async);
		}
		if (!async) {
			quiet++;
			exact += exits == leaf + 1;
		}
		if (try < 3 || (!async && exits != leaf + 1))
			ktap_diag("run %d: total leaf %llu, exits stat %llu (the HLT after it), "
				  "%llu asynchronous exits", try, leaf, exits, async);
		vm_free(vm);
	}
	ktap_diag("%d runs: %d without asynchronous exits, %d of them exact", try, quiet, exact);
	ktap_result(!bad, "total_leaf_within_exits_stat");
	ktap_result(quiet > 0 && exact == quiet, "total_leaf_equals_exits_stat_minus_the_hlt");
}

static void test_oracles(u32 k, u32 m)
{
	u32 reason = cpuid_exit_reason(), ios = 0, r;
	struct vm *vm = vm_create(1);
	u64 exits, sum = 0, sum_cycles = 0, guest, hist;
	struct kvm_regs regs;
	struct view v;
	int i, mismatches = 0;

	vm_load_code(vm, GUEST_CODE_GPA, guest_mix);
	vcpu_prepare(vm, 0, k, reason);
	vcpu_get_regs(vm, 0, &regs);
	regs.rsi = m;
	vcpu_set_regs(vm, 0, &regs);
	hist_trigger_start(KVM_EXIT_EVENT, "exit_reason");
	while ((r = vcpu_run(vm, 0)) == KVM_EXIT_IO)
		ios++;
	TEST_ASSERT(r == KVM_EXIT_HLT, "expected HLT after the port writes, got %s",
		    exit_reason_str(r));
	TEST_ASSERT(ios == m, "expected %u port-write exits to userspace, got %u", m, ios);

	TEST_ASSERT(view_read(vm, &v) > 0, "no host-side view (debugfs exit_stats) for the VM");
	exits = vm_vcpu_stat(vm, 0, "exits");
	for (i = 0; i < v.n; i++) {
		sum += v.count[i];
		sum_cycles += v.cycles[i];
		if (v.reason[i] == ~0u)
			continue;
		hist = hist_count(KVM_EXIT_EVENT, v.reason[i]);
		if (hist != v.count[i] && mismatches++ < 5)
			ktap_diag("reason 0x%x: %llu exits counted, kvm_exit saw %llu",
				  v.reason[i], v.count[i], hist);
	}
	hist = hist_total(KVM_EXIT_EVENT);
	hist_trigger_stop();
	guest = leaf_count(guest_leaf(vm, 0x8000));

	ktap_diag("K=%u M=%u: view sum %llu, view total %llu, KVM exits stat %llu, "
		  "kvm_exit events %llu", k, m, sum, v.total_count, exits, hist);
	ktap_result(sum == exits && v.total_count == exits, "view_sum_equals_exits_stat_k%u", k);
	ktap_result(!mismatches && hist == exits, "view_equals_kvm_exit_hist_k%u", k);
	ktap_result(v.total_cycles == sum_cycles && sum_cycles > 0, "view_cycles_sum_k%u", k);
	/*
	 * A lower bound: each exit's window spans at least the handler's
	 * instructions between two TSC reads on one CPU, and the TSC advances
	 * with every instruction on Bochs and with time on QEMU, so each of
	 * the K + 1 CPUID exits has at least one cycle; and on one CPU with
	 * no TSC going backwards, no window is clamped.
	 */
	ktap_diag("CPUID exits: %llu cycles for %llu exits (at least 1 each), %llu clamped",
		  view_cycles(&v, reason), view_count(&v, reason), v.clamped);
	ktap_result(view_cycles(&v, reason) >= view_count(&v, reason) &&
		    view_count(&v, reason) == (u64)k + 1 && !v.clamped,
		    "cpuid_cycles_at_least_one_per_exit_none_clamped_k%u", k);
	ktap_diag("CPUID exits: guest read %llu, host view %llu; port writes %llu (M=%u)",
		  guest, view_count(&v, reason), view_count(&v, host_is_amd() ? 0x7b : 30), m);
	ktap_result(guest == view_count(&v, reason) && guest == (u64)k + 1 &&
		    view_count(&v, host_is_amd() ? 0x7b : 30) == m, "guest_view_matches_host_k%u", k);
	vm_free(vm);
}

int main(int argc, char **argv)
{
	u32 k = 5000;

	test_init(argc, argv, &k);
	ktap_plan(12);
	test_oracles(k, 100);
	test_oracles(1, 0);
	test_total_leaf();
	return ktap_finish();
}
