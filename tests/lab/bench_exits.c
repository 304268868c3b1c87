// SPDX-License-Identifier: GPL-2.0-only
/*
 * Micro-benchmarks of VM exit round trips, measured inside the guest with
 * RDTSC around a loop of N exits of one kind:
 *   cpuid  CPUID (handled in the kernel)
 *   rdmsr  RDMSR of IA32_APIC_BASE (handled in the kernel)
 *   out    OUT to port 0xe9 (an exit to this program and back)
 * Prints "BENCH <label> <kind> <cycles per exit> ..." for each of R runs.
 *
 *   bench_exits LABEL [-n N] [-r R] [-H]   (-H: with a kvm_exit hist trigger)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exit_stats_util.h"

/* EDI = N; TSC before at 0x8000, after at 0x8008. */
#define BENCH(name, insn)						\
GUEST_CODE(name,							\
	"	rdtsc\n"						\
	"	mov %eax, 0x8000\n"					\
	"	mov %edx, 0x8004\n"					\
	"1:	" insn "\n"						\
	"	dec %edi\n"						\
	"	jnz 1b\n"						\
	"	rdtsc\n"						\
	"	mov %eax, 0x8008\n"					\
	"	mov %edx, 0x800c\n"					\
	"2:	hlt\n"							\
	"	jmp 2b\n")

BENCH(guest_cpuid, "xor %eax, %eax\n	cpuid");
BENCH(guest_rdmsr, "mov $0x1b, %ecx\n	rdmsr");
BENCH(guest_out, "out %al, $0xe9");

static u64 run_one(const u8 *start, const u8 *end, u32 n)
{
	struct vm *vm = vm_create(1);
	u64 t0, t1;
	u32 r;

	vm_load(vm, GUEST_CODE_GPA, start, end - start);
	vcpu_prepare(vm, 0, n, 0);
	while ((r = vcpu_run(vm, 0)) == KVM_EXIT_IO)
		;
	TEST_ASSERT(r == KVM_EXIT_HLT, "expected HLT, got %s", exit_reason_str(r));
	memcpy(&t0, gpa_to_hva(vm, 0x8000), 8);
	memcpy(&t1, gpa_to_hva(vm, 0x8008), 8);
	vm_free(vm);
	return t1 - t0;
}

int main(int argc, char **argv)
{
	const struct { const char *name; const u8 *start, *end; } b[] = {
		{ "cpuid", guest_cpuid_start, guest_cpuid_end },
		{ "rdmsr", guest_rdmsr_start, guest_rdmsr_end },
		{ "out", guest_out_start, guest_out_end },
	};
	u32 n = 20000, runs = 5, i, j;
	bool hist = false;
	const char *label;
	int opt;

	TEST_ASSERT(argc > 1 && argv[1][0] != '-', "usage: bench_exits LABEL [-n N] [-r R] [-H]");
	label = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "n:r:H")) != -1) {
		if (opt == 'n')
			n = strtoul(optarg, NULL, 0);
		else if (opt == 'r')
			runs = strtoul(optarg, NULL, 0);
		else if (opt == 'H')
			hist = true;
		else
			TEST_ASSERT(0, "usage: bench_exits LABEL [-n N] [-r R] [-H]");
	}
	TEST_ASSERT(n > 0 && runs > 0, "N and R must be positive");
	if (hist)
		hist_trigger_start("kvm/kvm_exit", "exit_reason");
	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		printf("BENCH %s %s", label, b[i].name);
		for (j = 0; j < runs; j++)
			printf(" %.1f", (double)run_one(b[i].start, b[i].end, n) / n);
		printf("\n");
		fflush(stdout);
	}
	if (hist)
		hist_trigger_stop();
	return 0;
}
