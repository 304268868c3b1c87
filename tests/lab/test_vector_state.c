// SPDX-License-Identifier: GPL-2.0-only
/*
 * The outer VM's own CPU keeps a task's vector registers across context
 * switches: two processes on one CPU each hold a pattern of their own in
 * xmm0-15 (ymm0-15 where AVX is usable), and yield to each other K times;
 * after each switch back, every register must still hold its pattern.
 *
 * Bochs 2.7's ryzen model fails this where Linux saves and restores AVX
 * state with XSAVES or XSAVEC: the registers read zero after each switch
 * (lab/run.sh boots it with noxsave). glibc's string functions use AVX2,
 * so a program preempted inside one went on with zeros: a segmentation
 * fault of test_exit_stats_fastpath, a shell that misread its script.
 * This test names that failure before the KVM tests meet it at random.
 *
 * Usage: test_vector_state [-k K]   (K switches per process, default 2000)
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm_util.h"

#define NREGS	16
#define WORDS	4	/* u64 words per register slot (a ymm register) */

static u64 want[NREGS][WORDS] __attribute__((aligned(32)));
static u64 got[NREGS][WORDS] __attribute__((aligned(32)));

static bool avx_usable(void)
{
	unsigned int a, b, c, d, lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX))
		return false;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;	/* the OS saves SSE and AVX state */
}

/* op on the 16 registers (xmm or ymm) and their slots at %0 */
#define LOAD1(op, reg, n)	op " " #n "*32(%0), %%" reg #n "\n"
#define STORE1(op, reg, n)	op " %%" reg #n ", " #n "*32(%0)\n"
#define REGS16(x, op, reg)						\
	x(op, reg, 0) x(op, reg, 1) x(op, reg, 2) x(op, reg, 3)		\
	x(op, reg, 4) x(op, reg, 5) x(op, reg, 6) x(op, reg, 7)		\
	x(op, reg, 8) x(op, reg, 9) x(op, reg, 10) x(op, reg, 11)	\
	x(op, reg, 12) x(op, reg, 13) x(op, reg, 14) x(op, reg, 15)

/*
 * One process's part, in general registers only: nothing but the asm
 * touches a vector register between the load and the last store. The
 * yield is a bare syscall, not libc's. Returns the rounds that found a
 * register changed.
 */
__attribute__((target("general-regs-only")))
static long hold_and_yield(bool avx, long k, long *bad_words)
{
	long i, bad = 0;
	int r, q, words = avx ? 4 : 2;

	if (avx)
		asm volatile(REGS16(LOAD1, "vmovdqa", "ymm") :: "r"(want) : "memory");
	else
		asm volatile(REGS16(LOAD1, "movdqa", "xmm") :: "r"(want) : "memory");
	for (i = 0; i < k; i++) {
		long n = 0;

		asm volatile("syscall" : "=a"(r) : "a"(SYS_sched_yield) : "rcx", "r11", "memory");
		if (avx)
			asm volatile(REGS16(STORE1, "vmovdqa", "ymm") :: "r"(got) : "memory");
		else
			asm volatile(REGS16(STORE1, "movdqa", "xmm") :: "r"(got) : "memory");
		for (r = 0; r < NREGS; r++)
			for (q = 0; q < words; q++)
				n += got[r][q] != want[r][q];
		if (n) {
			bad++;
			*bad_words += n;
			if (avx)
				asm volatile(REGS16(LOAD1, "vmovdqa", "ymm") :: "r"(want) : "memory");
			else
				asm volatile(REGS16(LOAD1, "movdqa", "xmm") :: "r"(want) : "memory");
		}
	}
	return bad;
}

/* A child's exit status: 0, or 1 if a round found a register changed. */
static void child(bool avx, long k, int id)
{
	u64 seed = 0x9e3779b97f4a7c15ull * (id + 1);
	long bad, bad_words = 0;
	int r, q;

	for (r = 0; r < NREGS; r++)
		for (q = 0; q < WORDS; q++)
			want[r][q] = (seed += 0x9e3779b97f4a7c15ull) | 1;
	bad = hold_and_yield(avx, k, &bad_words);
	printf("# process %d: %ld of %ld rounds found a register changed (%ld words)\n",
	       id, bad, k, bad_words);
	fflush(stdout);
	_exit(bad != 0);
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-k SWITCHES]\n", argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	bool avx = avx_usable(), ok = true;
	long k = 2000, switches;
	struct rusage ru;
	cpu_set_t cpu0;
	int opt, i, status;
	pid_t pid[2];
	char *end;

	while ((opt = getopt(argc, argv, "k:")) != -1) {
		if (opt != 'k')
			usage(argv[0]);
		k = strtol(optarg, &end, 10);
		if (*end || k <= 0 || k > 100000000)
			usage(argv[0]);
	}
	if (optind != argc)
		usage(argv[0]);
	ktap_plan(1);
	/* both on one CPU, so that each yield switches to the other */
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(cpu0), &cpu0), "sched_setaffinity to CPU 0 failed");
	fflush(stdout);
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		TEST_ASSERT(pid[i] >= 0, "fork failed");
		if (!pid[i])
			child(avx, k, i);
	}
	for (i = 0; i < 2; i++) {
		TEST_ASSERT(waitpid(pid[i], &status, 0) == pid[i], "waitpid failed");
		ok &= WIFEXITED(status) && !WEXITSTATUS(status);
	}
	TEST_ASSERT(!getrusage(RUSAGE_CHILDREN, &ru), "getrusage failed");
	switches = ru.ru_nvcsw + ru.ru_nivcsw;
	/* each yield must have switched: else the test could not fail */
	ktap_diag("%s state, 2 processes on CPU 0, %ld yields each; %ld context switches",
		  avx ? "AVX (ymm0-15)" : "SSE (xmm0-15)", k, switches);
	ktap_result(ok && switches >= k, "vector_registers_kept");
	return ktap_finish();
}
