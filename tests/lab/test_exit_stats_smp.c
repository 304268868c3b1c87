// SPDX-License-Identifier: GPL-2.0-only
/*
 * Counts stay exact when vCPUs and VMs run at once:
 *   - n vCPUs run K CPUIDs each in parallel, then another vCPU of the VM
 *     reads the CPUID count: exactly n * K + 1;
 *   - two VMs run at once: each sees only its own exits (default scope);
 *   - with -g (kvm.exit_stats_scope=global): a third VM sees both VMs'
 *     exits, and keeps seeing them after they are destroyed; the CPUID
 *     cycles it sees grow by exactly the cycles the per-VM views of the
 *     VMs show, and its total cycles by no less than theirs.
 */
#include <errno.h>
#include <pthread.h>

#include "exit_stats_util.h"

/*
 * EDI = K CPUIDs; then, if SI != 0, read the count (ECX = EBP), the total
 * and the discovery leaf. (CPUID clobbers EAX-EDX.)
 */
GUEST_CODE(guest_run_then_read,
	GUEST_CPUID_LOOP
	"	test %si, %si\n"
	"	jz 9f\n"
	GUEST_READ_LEAF(0x4ffffffd, 0x8000)
	GUEST_READ_LEAF(0x4fffffff, 0x8010)
	GUEST_READ_LEAF(0x4ffffffb, 0x8020)
	"9:	hlt\n"
	"	jmp 9b\n");

/*
 * The global reader: first the CPUID cycles (ECX = EBP) and the total
 * cycles, then as above. Each of its runs is five CPUID exits.
 */
GUEST_CODE(guest_global_read,
	GUEST_READ_LEAF(0x4ffffffc, 0x8030)
	GUEST_READ_LEAF(0x4ffffffe, 0x8040)
	GUEST_READ_LEAF(0x4ffffffd, 0x8000)
	GUEST_READ_LEAF(0x4fffffff, 0x8010)
	GUEST_READ_LEAF(0x4ffffffb, 0x8020)
	"9:	hlt\n"
	"	jmp 9b\n");

static void prepare(struct vm *vm, int i, u32 k, bool read)
{
	struct kvm_regs regs;

	vcpu_prepare(vm, i, k, cpuid_exit_reason());
	vcpu_get_regs(vm, i, &regs);
	regs.rsi = read;
	vcpu_set_regs(vm, i, &regs);
}

static struct vm *vm_new(void)
{
	struct vm *vm = vm_create(1);

	vm_load_code(vm, GUEST_CODE_GPA, guest_run_then_read);
	return vm;
}

static void test_vcpus(int n, u32 k)
{
	struct vm *vm = vm_create(n + 1);
	u64 got, exits = 0;
	struct view v;
	int i;

	vm_load_code(vm, GUEST_CODE_GPA, guest_run_then_read);
	for (i = 1; i <= n; i++)
		prepare(vm, i, k, false);
	vcpus_run_parallel(vm, 1, n);
	prepare(vm, 0, 0, true);
	vcpu_run_expect(vm, 0, KVM_EXIT_HLT);
	got = leaf_count(guest_leaf(vm, 0x8000));
	TEST_ASSERT(view_read(vm, &v) > 0, "no host-side view for the VM");
	for (i = 0; i <= n; i++)
		exits += vm_vcpu_stat(vm, i, "exits");
	ktap_diag("%d vCPUs x K=%u: the VM's CPUID count %llu (expected %llu); "
		  "host view total %llu, exits stats %llu", n, k, got, (u64)n * k + 1,
		  v.total_count, exits);
	/* The host view also has vCPU 0's two reads after the count. */
	ktap_result(got == (u64)n * k + 1 && view_count(&v, cpuid_exit_reason()) == got + 2,
		    "vcpus%d_count_exact_k%u", n, k);
	ktap_result(v.total_count == exits, "vcpus%d_view_total_equals_exits_stat", n);
	vm_free(vm);
}

static void *vm_thread(void *arg)
{
	vcpu_run_expect(arg, 0, KVM_EXIT_HLT);
	return NULL;
}

/* Run vCPU 0 of both VMs at once, each until HLT. */
static void run_two(struct vm *a, struct vm *b)
{
	pthread_t ta, tb;
	int r;

	r = pthread_create(&ta, NULL, vm_thread, a);
	errno = r;
	TEST_ASSERT(!r, "creating a VM thread failed");
	r = pthread_create(&tb, NULL, vm_thread, b);
	errno = r;
	TEST_ASSERT(!r, "creating a VM thread failed");
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
}

static void test_isolation(u32 ka, u32 kb)
{
	struct vm *a = vm_new(), *b = vm_new();
	u64 ga, gb;

	prepare(a, 0, ka, true);
	prepare(b, 0, kb, true);
	run_two(a, b);
	ga = leaf_count(guest_leaf(a, 0x8000));
	gb = leaf_count(guest_leaf(b, 0x8000));
	ktap_diag("VM A ran %u CPUIDs and sees %llu, VM B ran %u and sees %llu",
		  ka, ga, kb, gb);
	ktap_result(ga == (u64)ka + 1 && gb == (u64)kb + 1, "two_vms_see_only_their_own");
	vm_free(a);
	vm_free(b);
}

/* One run of the global reader C: its CPUID count, CPUID and total cycles. */
static void global_read(struct vm *c, u64 *count, u64 *cpuid_cycles, u64 *cycles)
{
	prepare(c, 0, 0, true);
	vcpu_run_expect(c, 0, KVM_EXIT_HLT);
	*count = leaf_count(guest_leaf(c, 0x8000));
	*cpuid_cycles = leaf_cycles(guest_leaf(c, 0x8030));
	*cycles = leaf_cycles(guest_leaf(c, 0x8040));
}

/* A VM's CPUID and total cycles, from its host-side view. */
static void view_cycles_of(struct vm *vm, u64 *cpuid_cycles, u64 *cycles)
{
	struct view v;

	TEST_ASSERT(view_read(vm, &v) > 0, "no host-side view for a VM");
	*cpuid_cycles = view_cycles(&v, cpuid_exit_reason());
	*cycles = v.total_cycles;
}

/*
 * C reads the global leaves, A and B run, C reads again, A and B go, C
 * reads a third time. Between two answers to C, the global sums gain
 * every exit whose window closed in between: all of A's and B's, and the
 * five CPUID exits of C's earlier run (each answer comes before its own
 * exit's window closes); so C's CPUID cycles grow by exactly A's and B's
 * CPUID cycles and those of C's first run, as the per-VM views say. The
 * total cycles (C's second leaf) gain all of A's and B's exits, and those
 * of C's that closed between its two answers, which its view holds: they
 * grow by at least A's and B's total cycles, and at most that plus all of
 * C's exits since its first run began.
 */
static void test_global(u32 ka, u32 kb)
{
	struct vm *a = vm_new(), *b = vm_new(), *c = vm_create(1);
	u64 g0, g1, g2, gc0, gc1, gc2, gt0, gt1, gt2;
	u64 ac, at, bc, bt, cc0, ct0, ccw, ctw, cc1, ct1;
	struct leaf info;

	vm_load_code(c, GUEST_CODE_GPA, guest_global_read);
	/* a first run of C, so that its faults are behind it */
	global_read(c, &g0, &gc0, &gt0);
	view_cycles_of(c, &ccw, &ctw);
	global_read(c, &g0, &gc0, &gt0);
	info = guest_leaf(c, 0x8020);
	view_cycles_of(c, &cc0, &ct0);
	prepare(a, 0, ka, false);
	prepare(b, 0, kb, false);
	run_two(a, b);
	view_cycles_of(a, &ac, &at);
	view_cycles_of(b, &bc, &bt);
	global_read(c, &g1, &gc1, &gt1);
	view_cycles_of(c, &cc1, &ct1);
	vm_free(a);
	vm_free(b);
	global_read(c, &g2, &gc2, &gt2);
	ktap_diag("global: VM C reads %llu, then %llu after A (%u) and B (%u), "
		  "then %llu after they are gone", g0, g1, ka, kb, g2);
	ktap_result(info.eax >> 24 & 1, "global_scope_flag_in_info_leaf");
	/* Each run of C reads five leaves. */
	ktap_result(g1 - g0 == (u64)ka + kb + 5, "global_sees_other_vms");
	ktap_result(g2 - g1 == 5, "global_keeps_destroyed_vms");
	ktap_diag("global CPUID cycles +%llu; views: A %llu, B %llu, C's run %llu",
		  gc1 - gc0, ac, bc, cc0 - ccw);
	ktap_result(gc1 - gc0 == ac + bc + (cc0 - ccw) && ac >= ka && bc >= kb,
		    "global_cpuid_cycles_equal_the_vms_views");
	ktap_diag("global total cycles +%llu; views: A %llu, B %llu, C's two runs %llu",
		  gt1 - gt0, at, bt, ct1 - ctw);
	ktap_result(gt1 - gt0 >= at + bt && gt1 - gt0 <= at + bt + (ct1 - ctw),
		    "global_total_cycles_within_the_vms_views");
	vm_free(c);
}

int main(int argc, char **argv)
{
	bool global = test_mode(&argc, &argv, "g") == 'g';
	u32 k = 5000;

	test_init(argc, argv, &k);
	if (global) {
		ktap_plan(5);
		test_global(k, 2 * k);
		return ktap_finish();
	}
	ktap_plan(5);
	test_vcpus(2, k);
	test_vcpus(4, k);
	test_isolation(k, 3 * k);
	return ktap_finish();
}
