// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every exit reason in ECX gets exactly the documented registers from the
 * per-reason leaves 0x4ffffffd (count) and 0x4ffffffc (cycles):
 *   undefined by the vendor's manual: EAX = EBX = ECX = 0, EDX = ~0;
 *   defined but not handled by KVM:    all zero;
 *   handled: the count in EBX:EAX or the cycles in EBX:ECX, the rest 0.
 * The guest classifies each answer; the host checks the classes.
 */
#include <string.h>

#include "exit_stats_util.h"

enum { ZERO, VALUE, UNDEFINED, MALFORMED };

#define IN_GPA		0x20000	/* u32 ECX values, DS = 0x2000 */
#define OUT_GPA		0x30000	/* classes, ES = 0x3000: count, then cycles */
#define CHUNK		0x4000

/*
 * EDI = number of inputs. SI indexes inputs and outputs; EBP holds ECX.
 * classify_*: AL = class of the answer in EAX..EDX.
 */
GUEST_CODE(guest_classify,
	"	mov $0x2000, %ax\n"
	"	mov %ax, %ds\n"
	"	mov $0x3000, %ax\n"
	"	mov %ax, %es\n"
	"	xor %si, %si\n"
	"1:	mov %si, %bx\n"
	"	shl $2, %bx\n"
	"	mov (%bx), %ebp\n"
	"	mov $0x4ffffffd, %eax\n"
	"	mov %ebp, %ecx\n"
	"	cpuid\n"
	"	call 20f\n"
	"	mov %al, %es:(%si)\n"
	"	mov $0x4ffffffc, %eax\n"
	"	mov %ebp, %ecx\n"
	"	cpuid\n"
	"	call 30f\n"
	"	mov %al, %es:" __stringify(CHUNK) "(%si)\n"
	"	inc %si\n"
	"	dec %edi\n"
	"	jnz 1b\n"
	"9:	hlt\n"
	"	jmp 9b\n"
	/* count leaf */
	"20:	cmp $0xffffffff, %edx\n"
	"	je 25f\n"
	"	test %edx, %edx\n"
	"	jnz 29f\n"
	"	test %ecx, %ecx\n"
	"	jnz 29f\n"
	"	or %ebx, %eax\n"
	"	jz 21f\n"
	"	mov $1, %al\n"
	"	ret\n"
	"21:	mov $0, %al\n"
	"	ret\n"
	"25:	or %ebx, %eax\n"
	"	or %ecx, %eax\n"
	"	jnz 29f\n"
	"	mov $2, %al\n"
	"	ret\n"
	"29:	mov $3, %al\n"
	"	ret\n"
	/* cycles leaf */
	"30:	cmp $0xffffffff, %edx\n"
	"	je 25b\n"
	"	test %edx, %edx\n"
	"	jnz 29b\n"
	"	test %eax, %eax\n"
	"	jnz 29b\n"
	"	or %ebx, %ecx\n"
	"	jz 21b\n"
	"	mov $1, %al\n"
	"	ret\n");

static void classify(struct vm *vm, const u32 *in, int n, u8 *cnt, u8 *cyc)
{
	int done, m;

	for (done = 0; done < n; done += m) {
		m = n - done < CHUNK ? n - done : CHUNK;
		memcpy(gpa_to_hva(vm, IN_GPA), in + done, m * sizeof(u32));
		vcpu_prepare(vm, 0, m, 0);
		vcpu_run_expect(vm, 0, KVM_EXIT_HLT);
		memcpy(cnt + done, gpa_to_hva(vm, OUT_GPA), m);
		memcpy(cyc + done, gpa_to_hva(vm, OUT_GPA + CHUNK), m);
	}
}

static u32 in[0x10000 + 16];
static u8 cnt[sizeof(in) / 4], cyc[sizeof(in) / 4];

int main(int argc, char **argv)
{
	u32 last = 0xffff, reason = cpuid_exit_reason(), max = reason_max_defined();
	u32 edges[] = { 0xffffffff, 0x80000000, max + 1, 0x10000, 0x10000 + reason,
			0x100000000ull - 0x10000 + reason, 0xc0, 0x410, 0x7fffffff };
	u32 not_handled = host_is_amd() ? 0x6e : 5;	/* RDTSC / I/O SMI */
	int n = 0, i, bad_undef = 0, bad_def = 0, nvalue = 0, nzero = 0;
	struct view before, after;
	struct vm *vm;

	if (test_init(argc, argv, &last))
		TEST_ASSERT(last <= 0xffff, "-k takes the last ECX to scan, at most 0xffff");
	for (i = 0; i <= (int)last; i++)
		in[n++] = i;
	for (i = 0; i < (int)(sizeof(edges) / sizeof(edges[0])); i++)
		in[n++] = edges[i];

	ktap_plan(5);
	vm = vm_create(1);
	vm_load_code(vm, GUEST_CODE_GPA, guest_classify);
	/*
	 * The host's view before and after the scan bounds each defined
	 * reason's class: counts and cycles only grow, so a reason with exits
	 * before it must answer VALUE, one with none after it ZERO. A first,
	 * short scan gives the VM exits of a few reasons to find.
	 */
	classify(vm, in, 1, cnt, cyc);
	TEST_ASSERT(view_read(vm, &before) > 0, "no host-side view for the VM");
	classify(vm, in, n, cnt, cyc);
	TEST_ASSERT(view_read(vm, &after) > 0, "no host-side view for the VM");
	for (i = 0; i < n; i++) {
		bool def = reason_defined(in[i]);
		int want_cnt = -1, want_cyc = -1;

		if (def && view_count(&before, in[i]))
			want_cnt = VALUE;
		else if (def && !view_count(&after, in[i]))
			want_cnt = ZERO;
		if (def && view_cycles(&before, in[i]))
			want_cyc = VALUE;
		else if (def && !view_cycles(&after, in[i]))
			want_cyc = ZERO;
		if (after.cycles_off)
			want_cyc = -1;
		if ((want_cnt >= 0 && cnt[i] != want_cnt) ||
		    (want_cyc >= 0 && cyc[i] != want_cyc)) {
			if (bad_def++ < 5)
				ktap_diag("ECX 0x%x (defined): classes %u/%u, host view %llu/%llu before, %llu/%llu after",
					  in[i], cnt[i], cyc[i],
					  (unsigned long long)view_count(&before, in[i]),
					  (unsigned long long)view_cycles(&before, in[i]),
					  (unsigned long long)view_count(&after, in[i]),
					  (unsigned long long)view_cycles(&after, in[i]));
			continue;
		}

		if (!def && (cnt[i] != UNDEFINED || cyc[i] != UNDEFINED)) {
			if (bad_undef++ < 5)
				ktap_diag("ECX 0x%x (undefined): classes %u/%u, expected %u/%u",
					  in[i], cnt[i], cyc[i], UNDEFINED, UNDEFINED);
		}
		if (def && (cnt[i] > VALUE || cyc[i] > VALUE)) {
			if (bad_def++ < 5)
				ktap_diag("ECX 0x%x (defined): classes %u/%u, expected 0 or 1",
					  in[i], cnt[i], cyc[i]);
		}
		nvalue += def && cnt[i] == VALUE;
		nzero += def && cnt[i] == ZERO;
	}
	ktap_diag("%d ECX values: %d defined reasons with exits, %d with none, "
		  "%d undefined answered wrong, %d defined answered wrong; "
		  "%d reasons had exits before the scan",
		  n, nvalue, nzero, bad_undef, bad_def, before.n);
	ktap_result(!bad_undef, "undefined_reasons_edx_all_ones");
	ktap_result(!bad_def, "defined_reasons_well_formed");
	ktap_result(cnt[reason] == VALUE && cyc[reason] == VALUE, "cpuid_reason_has_exits");
	ktap_result(cnt[not_handled] == ZERO && cyc[not_handled] == ZERO,
		    "not_handled_reason_0x%x_all_zero", not_handled);
	ktap_result(nvalue >= 2 && nvalue < 40, "a_few_reasons_have_exits");
	vm_free(vm);
	return ktap_finish();
}
