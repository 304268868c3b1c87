// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz the exit-statistics leaves from a guest: K CPUIDs with random leaves
 * in 0x4ffffff0..0x4fffffff and random ECX (uniform 32-bit, small values
 * around the defined reasons, and edge values), every answer checked
 * against docs/cpuid-abi.md:
 *   0x4ffffff0..0x4ffffffa are not ours: the test VM has no CPUID table, so
 *     KVM answers all zero, as stock KVM does;
 *   0x4ffffffb: the same discovery answer every time, whatever ECX;
 *   0x4ffffffc/d: undefined reason: 0, 0, 0, ~0; defined: the value in its
 *     registers, the others 0; a reason KVM does not handle: all zero;
 *   counts and cycles never decrease (cycles pass 2^32 within a long run,
 *     so a torn high/low half shows as a decrease);
 *   the CPUID count answered to the q-th CPUID of the VM is exactly q.
 * Inputs are generated here, in batches the guest runs with no other
 * exits between its CPUIDs; the seed is printed (EXITSTAT_FUZZ_SEED sets
 * it) so a failing run can be replayed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exit_stats_util.h"

#define IN_GPA		0x20000	/* (leaf, ECX) pairs, DS = 0x2000 */
#define OUT_GPA		0x30000	/* EAX..EDX answers, ES = 0x3000 */
#define BATCH		4096	/* 16-byte answers fill one 64 KiB segment */
#define NR_REASONS	0x404	/* above every defined reason */
#define MAX_SHOWN	10

/* EDI = number of CPUIDs: SI walks the inputs, BP the answers. */
GUEST_CODE(guest_fuzz,
	"	mov $0x2000, %ax\n"
	"	mov %ax, %ds\n"
	"	mov $0x3000, %ax\n"
	"	mov %ax, %es\n"
	"	xor %si, %si\n"
	"	xor %bp, %bp\n"
	"1:	mov (%si), %eax\n"
	"	mov 4(%si), %ecx\n"
	"	cpuid\n"
	"	mov %eax, %es:0(%bp)\n"
	"	mov %ebx, %es:4(%bp)\n"
	"	mov %ecx, %es:8(%bp)\n"
	"	mov %edx, %es:12(%bp)\n"
	"	add $8, %si\n"
	"	add $16, %bp\n"
	"	dec %edi\n"
	"	jnz 1b\n"
	"9:	hlt\n"
	"	jmp 9b\n");

struct input {
	u32 leaf, ecx;
};

static u64 rng_state;

static u64 rnd(void)	/* xorshift64* */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static struct {
	u64 queries, deviations, decreases, count_wrong, crossed_2_32;
	u64 per_leaf[16];
	u64 last_count[NR_REASONS], last_cycles[NR_REASONS];
	u64 last_total, last_total_cycles;
	u32 info;
	bool info_seen;
} st;

static u32 edges[32];
static int nr_edges;

static void edges_init(void)
{
	u32 r = cpuid_exit_reason(), max = reason_max_defined();
	u32 e[] = { 0, 1, r, r + 1, max, max + 1, 0xbf, 0xc0, 0xcf, 0xd0, 0xd1,
		    0xff, 0x3ff, 0x400, 0x403, 0x40f, 0x410, 0xffff, 0x10000,
		    0x10000 + r, 0x7fffffff, 0x80000000, 0x80000000 + r,
		    0xfffffffe, 0xffffffff, 35, 38, 42, 71, 78, 0xa5, 0xa6 };

	memcpy(edges, e, sizeof(e));
	nr_edges = sizeof(e) / sizeof(e[0]);
}

static struct input gen(void)
{
	u64 r = rnd();
	struct input in;

	/* Half over all 16 leaves, half over the five of the ABI. */
	in.leaf = r & 1 ? 0x4ffffff0 + (r >> 1) % 16 : 0x4ffffffb + (r >> 1) % 5;
	r = rnd();
	switch (r & 3) {
	case 0:
	case 1:
		in.ecx = r >> 32;
		break;
	case 2:
		in.ecx = (r >> 32) % (reason_max_defined() + 0x20);
		break;
	default:
		in.ecx = edges[(r >> 32) % nr_edges];
	}
	return in;
}

static void deviation(const struct input *in, const struct leaf *l, const char *why)
{
	if (st.deviations++ < MAX_SHOWN)
		ktap_diag("query %llu: leaf 0x%x ECX 0x%x -> %08x %08x %08x %08x: %s",
			  st.queries, in->leaf, in->ecx, l->eax, l->ebx, l->ecx, l->edx, why);
}

static void monotonic(const struct input *in, const struct leaf *l, u64 *last, u64 v)
{
	if (v < *last) {
		st.decreases++;
		deviation(in, l, "value decreased");
	}
	if (*last < (1ull << 32) && v >= (1ull << 32))
		st.crossed_2_32++;
	*last = v;
}

static bool is(const struct leaf *l, u32 a, u32 b, u32 c, u32 d)
{
	return l->eax == a && l->ebx == b && l->ecx == c && l->edx == d;
}

static void check(const struct input *in, const struct leaf *l, u32 not_handled)
{
	u32 reason = in->ecx;
	u64 v;

	st.queries++;
	st.per_leaf[in->leaf & 15]++;
	if (in->leaf < LEAF_INFO) {
		if (!is(l, 0, 0, 0, 0))
			deviation(in, l, "a leaf outside the ABI is not all zero");
		return;
	}
	switch (in->leaf) {
	case LEAF_INFO:
		if (!st.info_seen) {
			st.info = l->eax;
			st.info_seen = true;
			if ((l->eax >> 16 & 0xff) != 1 || (l->eax & 0xffff) != reason_max_defined() ||
			    l->eax >> 24 & 1 || (l->eax >> 28) != (host_is_amd() ? 2u : 1u))
				deviation(in, l, "discovery EAX is wrong");
		}
		if (!is(l, st.info, 0x454d564b, 0x53746978, 0x73746174))
			deviation(in, l, "discovery leaf is not the signature");
		return;
	case LEAF_TOTAL_CYCLES:
		if (l->eax || l->edx)
			deviation(in, l, "EAX or EDX of the total cycles is not zero");
		monotonic(in, l, &st.last_total_cycles, leaf_cycles(*l));
		return;
	case LEAF_TOTAL:
		if (l->ecx || l->edx)
			deviation(in, l, "ECX or EDX of the total count is not zero");
		v = leaf_count(*l);
		if (v < st.queries)
			deviation(in, l, "total below the CPUIDs run");
		monotonic(in, l, &st.last_total, v);
		return;
	}
	if (!reason_defined(reason)) {
		if (!is(l, 0, 0, 0, 0xffffffff))
			deviation(in, l, "undefined reason is not 0, 0, 0, ~0");
		return;
	}
	if (reason == not_handled && !is(l, 0, 0, 0, 0))
		deviation(in, l, "reason KVM does not handle is not all zero");
	if (in->leaf == LEAF_CYCLES) {
		if (l->eax || l->edx)
			deviation(in, l, "EAX or EDX of the cycles is not zero");
		monotonic(in, l, &st.last_cycles[reason], leaf_cycles(*l));
		return;
	}
	if (l->ecx || l->edx)
		deviation(in, l, "ECX or EDX of the count is not zero");
	v = leaf_count(*l);
	monotonic(in, l, &st.last_count[reason], v);
	if (reason == cpuid_exit_reason() && v != st.queries) {
		st.count_wrong++;
		deviation(in, l, "CPUID count is not the number of CPUIDs run");
	}
}

static struct input in[BATCH];

int main(int argc, char **argv)
{
	u32 k = 100000, not_handled = host_is_amd() ? 0x6e : 5;
	const char *seed_env = getenv("EXITSTAT_FUZZ_SEED");
	u64 seed, exits;
	struct view v;
	struct vm *vm;
	u32 done, n, i;

	test_init(argc, argv, &k);
	seed = seed_env ? strtoull(seed_env, NULL, 0) : (u64)time(NULL) ^ (u64)getpid() << 32;
	rng_state = seed ? seed : 1;
	edges_init();
	ktap_plan(5);
	ktap_diag("%u CPUIDs, seed 0x%llx (EXITSTAT_FUZZ_SEED replays it)", k, seed);

	vm = vm_create(1);
	vm_load_code(vm, GUEST_CODE_GPA, guest_fuzz);
	for (done = 0; done < k; done += n) {
		n = k - done < BATCH ? k - done : BATCH;
		for (i = 0; i < n; i++)
			in[i] = gen();
		memcpy(gpa_to_hva(vm, IN_GPA), in, n * sizeof(in[0]));
		vcpu_prepare(vm, 0, n, 0);
		vcpu_run_expect(vm, 0, KVM_EXIT_HLT);
		for (i = 0; i < n; i++)
			check(&in[i], gpa_to_hva(vm, OUT_GPA + 16 * i), not_handled);
	}
	TEST_ASSERT(view_read(vm, &v) > 0, "no host-side view for the VM");
	exits = vm_vcpu_stat(vm, 0, "exits");
	ktap_diag("%llu queries (leaves f0..ff: %llu %llu %llu %llu %llu %llu %llu %llu "
		  "%llu %llu %llu %llu %llu %llu %llu %llu)", st.queries,
		  st.per_leaf[0], st.per_leaf[1], st.per_leaf[2], st.per_leaf[3],
		  st.per_leaf[4], st.per_leaf[5], st.per_leaf[6], st.per_leaf[7],
		  st.per_leaf[8], st.per_leaf[9], st.per_leaf[10], st.per_leaf[11],
		  st.per_leaf[12], st.per_leaf[13], st.per_leaf[14], st.per_leaf[15]);
	ktap_diag("deviations %llu (decreases %llu, wrong CPUID counts %llu); "
		  "values that passed 2^32: %llu; total cycles %llu",
		  st.deviations, st.decreases, st.count_wrong, st.crossed_2_32,
		  st.last_total_cycles);
	ktap_diag("host view: CPUID %llu, total %llu; KVM exits stat %llu",
		  view_count(&v, cpuid_exit_reason()), v.total_count, exits);
	ktap_result(st.queries == k, "fuzz_ran_%u_cpuids", k);
	ktap_result(!st.deviations, "fuzz_every_answer_as_documented");
	ktap_result(!st.decreases, "fuzz_values_never_decrease");
	ktap_result(!st.count_wrong, "fuzz_cpuid_count_exact_at_every_query");
	ktap_result(view_count(&v, cpuid_exit_reason()) == k && v.total_count == exits,
		    "fuzz_host_view_agrees");
	vm_free(vm);
	return ktap_finish();
}
