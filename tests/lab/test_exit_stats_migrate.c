// SPDX-License-Identifier: GPL-2.0-only
/*
 * The cycle window holds only the time the vCPU's thread spends on a CPU
 * handling an exit, even when the thread is preempted and moved between
 * CPUs while it handles one.
 *
 * The guest reads the total-cycles leaf in a loop, checking that it never
 * decreases, until the host tells it to stop. Meanwhile the host moves the
 * vCPU's thread between CPU 0 and CPU 1 with sched_setaffinity() (-k
 * times, default 2000), and a busy thread pinned on each CPU makes the
 * vCPU thread share its CPU and wait off-CPU, often inside an exit's
 * window.
 *
 * The bound: a window is open only while the vCPU's thread runs on a CPU,
 * so the VM's total cycles can be at most the thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID) in TSC cycles; the TSC rate is measured
 * against CLOCK_MONOTONIC, and 5 % is allowed for that measurement. A
 * window that also counted the time the thread waited, as it did before it
 * paused on vcpu_put, exceeds it by the busy thread's time slices.
 * Needs two online CPUs; skips otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "exit_stats_util.h"

#define STOP_GPA	0x8010
#define DECREASES_GPA	0x8020
#define READS_GPA	0x8024

/*
 * Read leaf 0x4ffffffe (EBX = high, ECX = low) until the word at STOP_GPA
 * is set; count the reads and the times the value went down.
 */
GUEST_CODE(guest_watch_cycles,
	"	xor %esi, %esi\n"
	"	xor %ebp, %ebp\n"
	"1:	mov $0x4ffffffe, %eax\n"
	"	xor %ecx, %ecx\n"
	"	cpuid\n"
	"	incl " __stringify(READS_GPA) "\n"
	"	cmp %esi, %ebx\n"
	"	ja 3f\n"
	"	jb 2f\n"
	"	cmp %ebp, %ecx\n"
	"	jae 3f\n"
	"2:	incl " __stringify(DECREASES_GPA) "\n"
	"3:	mov %ebx, %esi\n"
	"	mov %ecx, %ebp\n"
	"	cmpl $0, " __stringify(STOP_GPA) "\n"
	"	je 1b\n"
	"9:	hlt\n"
	"	jmp 9b\n");

struct run {
	struct vm *vm;
	pthread_t tid;
	atomic_bool done;
	u64 cpu_ns;		/* the vCPU thread's CPU time over the run */
};

static u64 ns_of(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void *vcpu_thread(void *arg)
{
	struct run *r = arg;
	u64 t0 = ns_of(CLOCK_THREAD_CPUTIME_ID);

	vcpu_run_expect(r->vm, 0, KVM_EXIT_HLT);
	r->cpu_ns = ns_of(CLOCK_THREAD_CPUTIME_ID) - t0;
	atomic_store(&r->done, true);
	return NULL;
}

static atomic_bool hog_stop;

static void *hog_thread(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&hog_stop, memory_order_relaxed))
		;
	return NULL;
}

static void set_cpu(pthread_t t, int cpu)
{
	cpu_set_t set;
	int r;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	r = pthread_setaffinity_np(t, sizeof(set), &set);
	errno = r;
	TEST_ASSERT(!r, "moving a thread to CPU %d failed", cpu);
}

/* TSC cycles per nanosecond, from 200 ms of CLOCK_MONOTONIC. */
static double tsc_per_ns(void)
{
	u64 t0 = ns_of(CLOCK_MONOTONIC), c0 = __rdtsc(), t1, c1;

	usleep(200000);
	t1 = ns_of(CLOCK_MONOTONIC);
	c1 = __rdtsc();
	return (double)(c1 - c0) / (double)(t1 - t0);
}

int main(int argc, char **argv)
{
	u32 moves = 2000, i;
	struct run r = {};
	pthread_t hog[2];
	double rate, bound;
	struct view v;
	u32 *stop, decreases, reads;
	bool within;

	test_init(argc, argv, &moves);
	ktap_plan(3);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		ktap_skip("total_cycles_never_decrease", "one CPU online: nothing to migrate to");
		ktap_skip("cycles_within_thread_cpu_time", "one CPU online");
		ktap_skip("migrations_done", "one CPU online");
		return ktap_finish();
	}
	rate = tsc_per_ns();

	r.vm = vm_create(1);
	vm_load_code(r.vm, GUEST_CODE_GPA, guest_watch_cycles);
	vcpu_prepare(r.vm, 0, 0, 0);
	stop = gpa_to_hva(r.vm, STOP_GPA);

	for (i = 0; i < 2; i++) {
		TEST_ASSERT(!pthread_create(&hog[i], NULL, hog_thread, NULL),
			    "creating a busy thread failed");
		set_cpu(hog[i], i);
	}
	TEST_ASSERT(!pthread_create(&r.tid, NULL, vcpu_thread, &r), "creating the vCPU thread failed");
	for (i = 0; i < moves && !atomic_load(&r.done); i++) {
		set_cpu(r.tid, i & 1);
		usleep(200);
	}
	__atomic_store_n(stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(r.tid, NULL);
	atomic_store(&hog_stop, true);
	pthread_join(hog[0], NULL);
	pthread_join(hog[1], NULL);

	decreases = *(u32 *)gpa_to_hva(r.vm, DECREASES_GPA);
	reads = *(u32 *)gpa_to_hva(r.vm, READS_GPA);
	TEST_ASSERT(view_read(r.vm, &v) > 0, "no host-side view for the VM");
	bound = (double)r.cpu_ns * rate * 1.05;
	within = (double)v.total_cycles <= bound;
	ktap_diag("%u moves between CPU 0 and 1; the guest read the total cycles %u times", i, reads);
	ktap_diag("TSC %.3f cycles/ns; vCPU thread CPU time %llu ns = %.0f cycles (bound with 5 %%: %.0f)",
		  rate, r.cpu_ns, r.cpu_ns * rate, bound);
	ktap_diag("VM: %llu exits, %llu cycles (%.0f per exit, bound %.0f per exit), %llu clamped",
		  v.total_count, v.total_cycles,
		  v.total_count ? (double)v.total_cycles / v.total_count : 0.0,
		  v.total_count ? bound / v.total_count : 0.0, v.clamped);
	ktap_result(decreases == 0 && reads > 0, "total_cycles_never_decrease");
	ktap_result(within, "cycles_within_thread_cpu_time");
	ktap_result(i == moves, "migrations_done");
	vm_free(r.vm);
	return ktap_finish();
}
