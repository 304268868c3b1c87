// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM lifecycle: N VMs created, run briefly (1..64 CPUIDs, then a read of
 * their CPUID count and total) and destroyed one after another, and N/10
 * more the same way from four threads at once.
 *
 *   default scope: every VM reads exactly its own CPUIDs, however many VMs
 *     came and went before it (no count survives into a new VM).
 *   -g (kvm.exit_stats_scope=global): a probe VM reads the global CPUID
 *     count and total before and after; the CPUID count grew by exactly
 *     the CPUIDs of every VM, and the total by exactly the sum of KVM's
 *     exits statistics of every VM, plus the probe's own exits in between
 *     (its OUT and two CPUIDs, and any interrupt exit the host took in that
 *     window, which the probe's own statistics bound).
 *   -z (global scope, right after kvm.ko was loaded): the global CPUID count
 *     a first VM reads is exactly its own: the counters start from zero.
 *   -r (either scope): N VMs one after another, alone and then while a
 *     reader VM reads the total leaf in a tight loop on another thread; the
 *     reader's total never decreases and, in default scope, every VM still
 *     reads its own count. The time per VM with and without the reader is
 *     reported (a figure, not asserted: reads take no lock that VM creation
 *     or destruction takes).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "exit_stats_util.h"

#define PORT_PAUSE	0xf4
#define NR_THREADS	4

/*
 * EDI CPUIDs, then the CPUID count (ECX = EBP) at 0x8000 and the total at
 * 0x8010; if SI != 0, an OUT to PORT_PAUSE and both again at 0x8020/0x8030.
 */
GUEST_CODE(guest_lifecycle,
	GUEST_CPUID_LOOP
	GUEST_READ_LEAF(0x4ffffffd, 0x8000)
	GUEST_READ_LEAF(0x4fffffff, 0x8010)
	"	test %si, %si\n"
	"	jz 9f\n"
	"	mov $" __stringify(PORT_PAUSE) ", %dx\n"
	"	out %al, %dx\n"
	GUEST_READ_LEAF(0x4ffffffd, 0x8020)
	GUEST_READ_LEAF(0x4fffffff, 0x8030)
	"9:	hlt\n"
	"	jmp 9b\n");

#define READER_STOP	0x8040
#define READER_READS	0x8044
#define READER_DOWN	0x8048

/* Read the total leaf until the word at READER_STOP is set; count decreases. */
GUEST_CODE(guest_reader,
	"	xor %esi, %esi\n"
	"	xor %ebp, %ebp\n"
	"1:	mov $0x4fffffff, %eax\n"
	"	xor %ecx, %ecx\n"
	"	cpuid\n"
	"	incl " __stringify(READER_READS) "\n"
	"	cmp %esi, %ebx\n"
	"	ja 3f\n"
	"	jb 2f\n"
	"	cmp %ebp, %eax\n"
	"	jae 3f\n"
	"2:	incl " __stringify(READER_DOWN) "\n"
	"3:	mov %ebx, %esi\n"
	"	mov %eax, %ebp\n"
	"	cmpl $0, " __stringify(READER_STOP) "\n"
	"	je 1b\n"
	"9:	hlt\n"
	"	jmp 9b\n");

static struct {
	u64 cpuids, exits, vms, wrong;
} sum;
static pthread_mutex_t sum_lock = PTHREAD_MUTEX_INITIALIZER;

static struct vm *vm_new(u32 k, bool pause)
{
	struct vm *vm = vm_create(1);
	struct kvm_regs regs;

	vm_load_code(vm, GUEST_CODE_GPA, guest_lifecycle);
	vcpu_prepare(vm, 0, k, cpuid_exit_reason());
	vcpu_get_regs(vm, 0, &regs);
	regs.rsi = pause;
	vcpu_set_regs(vm, 0, &regs);
	return vm;
}

/* One VM's life; in default scope, check that it sees exactly its own. */
static void one_vm(u32 k, bool global)
{
	struct vm *vm = vm_new(k, false);
	u64 got, exits;

	vcpu_run_expect(vm, 0, KVM_EXIT_HLT);
	got = leaf_count(guest_leaf(vm, 0x8000));
	exits = vm_vcpu_stat(vm, 0, "exits");
	vm_free(vm);
	pthread_mutex_lock(&sum_lock);
	sum.cpuids += k + 2;
	sum.exits += exits;
	sum.vms++;
	if (!global && got != (u64)k + 1 && sum.wrong++ < 5)
		ktap_diag("a VM ran %u CPUIDs and read a count of %llu", k, got);
	pthread_mutex_unlock(&sum_lock);
}

static u32 seed_k(u32 *state)
{
	*state = *state * 1103515245 + 12345;
	return 1 + (*state >> 16) % 64;
}

struct worker {
	pthread_t tid;
	u32 n, state;
	bool global;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	u32 i;

	for (i = 0; i < w->n; i++)
		one_vm(seed_k(&w->state), w->global);
	return NULL;
}

static void lifecycle(u32 n, bool global)
{
	struct worker w[NR_THREADS];
	u32 i, state = 1;
	int r;

	for (i = 0; i < n; i++)
		one_vm(seed_k(&state), global);
	for (i = 0; i < NR_THREADS; i++) {
		w[i] = (struct worker){ .n = (n / 10 + NR_THREADS - 1) / NR_THREADS,
					.state = i + 2, .global = global };
		r = pthread_create(&w[i].tid, NULL, worker, &w[i]);
		errno = r;
		TEST_ASSERT(!r, "creating a VM thread failed");
	}
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(w[i].tid, NULL);
}

static void test_global(u32 n)
{
	struct vm *probe = vm_new(0, true);
	u64 dc, dt, strays, probe_exits;
	struct leaf c0, t0, c1, t1;

	vcpu_run_expect(probe, 0, KVM_EXIT_IO);
	TEST_ASSERT(probe->vcpu[0].run->io.port == PORT_PAUSE, "probe: OUT to port 0x%x",
		    probe->vcpu[0].run->io.port);
	lifecycle(n, true);
	vcpu_run_expect(probe, 0, KVM_EXIT_HLT);
	c0 = guest_leaf(probe, 0x8000);
	t0 = guest_leaf(probe, 0x8010);
	c1 = guest_leaf(probe, 0x8020);
	t1 = guest_leaf(probe, 0x8030);
	probe_exits = vm_vcpu_stat(probe, 0, "exits");
	vm_free(probe);
	dc = leaf_count(c1) - leaf_count(c0);
	dt = leaf_count(t1) - leaf_count(t0);
	/* The probe's own exits other than its 4 CPUIDs, OUT and HLT. */
	strays = probe_exits - 6;
	ktap_diag("global: %llu VMs; CPUID count +%llu (their CPUIDs %llu + 2); "
		  "total +%llu (their exits %llu + 3, probe's other exits <= %llu)",
		  sum.vms, dc, sum.cpuids, dt, sum.exits, strays);
	ktap_result(dc == sum.cpuids + 2, "global_cpuid_count_is_the_sum_of_all_vms");
	ktap_result(dt >= sum.exits + 3 && dt <= sum.exits + 3 + strays,
		    "global_total_is_the_sum_of_all_vms");
}

static void test_fresh(void)
{
	struct vm *vm = vm_new(100, false);
	u64 count, total, exits;
	struct leaf second;

	vcpu_run_expect(vm, 0, KVM_EXIT_HLT);
	count = leaf_count(guest_leaf(vm, 0x8000));
	total = leaf_count(guest_leaf(vm, 0x8010));
	exits = vm_vcpu_stat(vm, 0, "exits");
	vm_free(vm);
	vm = vm_new(0, false);
	vcpu_run_expect(vm, 0, KVM_EXIT_HLT);
	second = guest_leaf(vm, 0x8000);
	vm_free(vm);
	ktap_diag("first VM after load: CPUID count %llu (ran 100 + 1), total %llu, "
		  "its exits %llu", count, total, exits);
	ktap_result(count == 101 && total <= exits, "global_counters_start_from_zero");
	/* A second VM sees the first one's 102 CPUIDs and its own read. */
	ktap_result(leaf_count(second) == 103, "global_second_vm_sees_the_first");
}

static void *reader_thread(void *arg)
{
	vcpu_run_expect(arg, 0, KVM_EXIT_HLT);
	return NULL;
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* N VMs one after another; returns the seconds they took. */
static double sequential(u32 n, bool global)
{
	double t0 = seconds();
	u32 i, state = 1;

	for (i = 0; i < n; i++)
		one_vm(seed_k(&state), global);
	return seconds() - t0;
}

static void test_reader(u32 n)
{
	bool global = module_param_is("kvm", "exit_stats_scope", "global");
	struct vm *reader = vm_create(1);
	double alone, busy;
	u32 reads, down;
	pthread_t tid;
	int r;

	alone = sequential(n, global);
	vm_load_code(reader, GUEST_CODE_GPA, guest_reader);
	vcpu_prepare(reader, 0, 0, 0);
	r = pthread_create(&tid, NULL, reader_thread, reader);
	errno = r;
	TEST_ASSERT(!r, "creating the reader's thread failed");
	busy = sequential(n, global);
	__atomic_store_n((u32 *)gpa_to_hva(reader, READER_STOP), 1, __ATOMIC_SEQ_CST);
	pthread_join(tid, NULL);
	reads = *(u32 *)gpa_to_hva(reader, READER_READS);
	down = *(u32 *)gpa_to_hva(reader, READER_DOWN);
	vm_free(reader);
	ktap_diag("%s scope: %u VMs one after another: %.2f ms per VM alone, %.2f ms per VM "
		  "while a reader VM read the total leaf %u times (x%.2f)",
		  global ? "global" : "vm", n, alone * 1e3 / n, busy * 1e3 / n, reads,
		  alone > 0 ? busy / alone : 0.0);
	ktap_result(reads > 0 && !down, "reader_total_never_decreases");
	ktap_result(!sum.wrong && sum.vms == 2 * (u64)n, "every_vm_sees_its_own_while_read");
}

int main(int argc, char **argv)
{
	char mode = test_mode(&argc, &argv, "gzr");
	u32 n = 100;

	test_init(argc, argv, &n);
	if (mode == 'z') {
		ktap_plan(2);
		test_fresh();
		return ktap_finish();
	}
	if (mode == 'g') {
		ktap_plan(2);
		test_global(n);
		return ktap_finish();
	}
	if (mode == 'r') {
		ktap_plan(2);
		test_reader(n);
		return ktap_finish();
	}
	ktap_plan(1);
	lifecycle(n, false);
	ktap_diag("%llu VMs (%u one after another, the rest from %d threads), "
		  "%llu CPUIDs, %llu exits; %llu read a wrong count",
		  sum.vms, n, NR_THREADS, sum.cpuids, sum.exits, sum.wrong);
	ktap_result(!sum.wrong && sum.vms >= n, "every_vm_sees_exactly_its_own");
	return ktap_finish();
}
