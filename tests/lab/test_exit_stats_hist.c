// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm.exit_stats=hist: each exit's handling cycles land in the right
 * bucket of its reason's log2 histogram. The guest times each of its K
 * CPUIDs with RDTSC before and after, and keeps its own log2 histogram of
 * those round trips in the same buckets. KVM's window for an exit lies
 * inside the guest's round trip, so exit by exit KVM's bucket is at most
 * the guest's: for every bucket, KVM has no more exits at or above it than
 * the guest has. And each exit's cycles lie within its bucket's bounds, so
 * the reason's cycle sum lies between the sums of its buckets' bounds.
 * Then exitstat --host, given the VM's pid, gives the same p50, p99 and
 * max as the test computes from the kernel's histogram, and a Prometheus
 * histogram that counts the same exits; its text goes to the log as
 * "[prom]" lines, which lab/check.sh hands to promtool on the host.
 * Run with the module loaded that way; the lab's payload does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exit_stats_util.h"

#define HIST_BUCKETS	18	/* below 2^8 cycles, one per power of 2, 2^24 on */
#define GUEST_HIST	0x9000	/* the guest's histogram, u32 per bucket */
#define GUEST_T0	0x9100	/* its TSC before the CPUID */

/*
 * EDI = K CPUIDs (EAX = 0), each timed: bucket = min(fls(cycles >> 8), 17),
 * the kernel's own rule, computed by the guest from its round trip.
 */
GUEST_CODE(guest_timed,
	"	test %edi, %edi\n"
	"	jz 9f\n"
	"1:	rdtsc\n"
	"	mov %eax, 0x9100\n"
	"	mov %edx, 0x9104\n"
	"	xor %eax, %eax\n"
	"	cpuid\n"
	"	rdtsc\n"
	"	sub 0x9100, %eax\n"
	"	sbb 0x9104, %edx\n"
	"	test %edx, %edx\n"
	"	jnz 3f\n"
	"	shr $8, %eax\n"
	"	jz 4f\n"
	"	bsr %eax, %eax\n"
	"	inc %eax\n"
	"	cmp $17, %eax\n"
	"	jbe 4f\n"
	"3:	mov $17, %eax\n"
	"4:	addr32 incl 0x9000(,%eax,4)\n"
	"	dec %edi\n"
	"	jnz 1b\n"
	"9:	hlt\n"
	"	jmp 9b\n");

static u64 sum(const u64 *n, int nb)
{
	u64 s = 0;
	int b;

	for (b = 0; b < nb; b++)
		s += n[b];
	return s;
}

/*
 * The upper bound of the bucket in which the running count first reaches
 * pct % of the exits, as exitstat(1) defines p50, p99 and max; "" for the
 * top bucket, which has none.
 */
static void quantile(const u64 *n, int pct, char *buf, size_t len)
{
	u64 total = sum(n, HIST_BUCKETS), want = (total * pct + 99) / 100, run = 0;
	int b;

	for (b = 0; b < HIST_BUCKETS - 1; b++) {
		run += n[b];
		if (run >= want && run) {
			snprintf(buf, len, "%llu", 1ull << (b + 8));
			return;
		}
	}
	snprintf(buf, len, "%s", "");
}

/*
 * exitstat --host -p PID: its table, as diagnostics, and its CSV row for
 * @reason: p50, p99 and max as quantile() gives them from @n.
 */
static bool exitstat_agrees(u32 reason, const u64 *n)
{
	char cmd[128], line[512], want[3][24], *f[20], *p;
	static const int pct[3] = { 50, 99, 100 };
	bool found = false, ok = false;
	FILE *out;
	int i, nf;

	if (access("/tests/exitstat", X_OK))
		return false;
	snprintf(cmd, sizeof(cmd), "/tests/exitstat --host -p %d 2>&1", getpid());
	out = popen(cmd, "r");
	TEST_ASSERT(out, "popen %s", cmd);
	while (fgets(line, sizeof(line), out))
		ktap_diag("[exitstat] %.*s", (int)strcspn(line, "\n"), line);
	ktap_diag("[exitstat] status %d", pclose(out));

	for (i = 0; i < 3; i++)
		quantile(n, pct[i], want[i], sizeof(want[i]));
	snprintf(cmd, sizeof(cmd), "/tests/exitstat --host -p %d --csv -e %u 2>&1", getpid(), reason);
	out = popen(cmd, "r");
	TEST_ASSERT(out, "popen %s", cmd);
	while (fgets(line, sizeof(line), out)) {
		line[strcspn(line, "\n")] = 0;
		for (nf = 0, p = line; nf < 20; nf++) {
			f[nf] = p;
			p = strchr(p, ',');
			if (!p) {
				nf++;
				break;
			}
			*p++ = 0;
		}
		if (nf < 17 || strtoul(f[1], NULL, 10) != reason || !*f[1])
			continue;
		found = true;
		ktap_diag("exitstat CSV: p50 %s, p99 %s, max %s; from the kernel's histogram: %s, %s, %s",
			  f[14], f[15], f[16], want[0], want[1], want[2]);
		ok = !strcmp(f[14], want[0]) && !strcmp(f[15], want[1]) && !strcmp(f[16], want[2]);
	}
	if (pclose(out) || !found || !ok)
		return false;

	found = ok = false;
	snprintf(cmd, sizeof(cmd), "/tests/exitstat --host -p %d --prom 2>&1", getpid());
	out = popen(cmd, "r");
	TEST_ASSERT(out, "popen %s", cmd);
	snprintf(want[0], sizeof(want[0]), "reason=\"%u\"", reason);
	while (fgets(line, sizeof(line), out)) {
		ktap_diag("[prom] %.*s", (int)strcspn(line, "\n"), line);
		p = strrchr(line, ' ');
		if (!strncmp(line, "kvm_exitstat_exit_cycles_count{", 31) && strstr(line, want[0]) && p) {
			found = true;
			ok = strtoull(p + 1, NULL, 10) == sum(n, HIST_BUCKETS);
		}
	}
	ktap_diag("exitstat --prom: the CPUID histogram's _count %s the kernel's %llu exits",
		  !found ? "missing, against" : ok ? "equals" : "differs from", sum(n, HIST_BUCKETS));
	return pclose(out) == 0 && found && ok;
}

int main(int argc, char **argv)
{
	u32 k = 1000, reason = cpuid_exit_reason();
	u64 guest[HIST_BUCKETS], above_kvm, above_guest, lo, hi, all, exits;
	const u64 *kvm;
	bool bounds_ok, dominated = true, hi_inf = false;
	struct vm *vm;
	struct view v;
	int b, i;

	test_init(argc, argv, &k);
	ktap_plan(7);
	ktap_result(module_param_is("kvm", "exit_stats", "hist"), "parameter_reads_hist");

	vm = vm_create(1);
	vm_load_code(vm, GUEST_CODE_GPA, guest_timed);
	vcpu_prepare(vm, 0, k, 0);
	vcpu_run_expect(vm, 0, KVM_EXIT_HLT);
	for (b = 0; b < HIST_BUCKETS; b++)
		guest[b] = ((u32 *)gpa_to_hva(vm, GUEST_HIST))[b];
	exits = vm_vcpu_stat(vm, 0, "exits");
	TEST_ASSERT(view_read(vm, &v) > 0, "no host-side view for the VM");

	/* The ABI: 17 bounds, 2^8 to 2^24, so 18 buckets. */
	bounds_ok = v.nbounds == HIST_BUCKETS - 1;
	for (b = 0; bounds_ok && b < v.nbounds; b++)
		bounds_ok = v.bounds[b] == 1ull << (b + 8);
	ktap_result(bounds_ok, "buckets_2e8_to_2e24");
	TEST_ASSERT(bounds_ok, "the buckets are not 2^8 to 2^24: %d bounds", v.nbounds);

	kvm = view_hist(&v, reason);
	TEST_ASSERT(kvm, "no histogram for the CPUID exits");
	ktap_diag("CPUID exits %llu (K=%u), %llu cycles; buckets from 2^8:",
		  view_count(&v, reason), k, view_cycles(&v, reason));
	for (b = 0; b < HIST_BUCKETS; b++)
		if (kvm[b] || guest[b])
			ktap_diag("  bucket %2d [%8llu, %8llu): KVM %5llu, guest round trips %5llu",
				  b, b ? 1ull << (b + 7) : 0, 1ull << (b + 8), kvm[b], guest[b]);
	/* The guest's own count is the oracle: K CPUIDs, K in the histogram. */
	ktap_result(view_count(&v, reason) == k && sum(kvm, HIST_BUCKETS) == k &&
		    sum(guest, HIST_BUCKETS) == k, "cpuid_histogram_holds_k%u", k);

	/* Every exit of the VM is in some histogram, as in KVM's exits statistic. */
	all = 0;
	for (i = 0; i < v.n; i++) {
		TEST_ASSERT(v.has_hist[i], "reason line %d has no histogram", i);
		all += sum(v.hist[i], HIST_BUCKETS);
	}
	ktap_diag("all reasons: %llu exits in histograms, total %llu, exits statistic %llu",
		  all, v.total_count, exits);
	ktap_result(all == exits && v.total_count == exits, "histograms_hold_every_exit");

	/* KVM's window lies inside the guest's round trip, exit by exit. */
	above_kvm = above_guest = 0;
	for (b = HIST_BUCKETS - 1; b >= 0; b--) {
		above_kvm += kvm[b];
		above_guest += guest[b];
		if (above_kvm > above_guest) {
			ktap_diag("bucket %d and above: KVM %llu exits, the guest %llu round trips",
				  b, above_kvm, above_guest);
			dominated = false;
		}
	}
	ktap_result(dominated, "no_exit_above_its_round_trip");

	/* The cycle sum lies between the bounds of the buckets its exits are in. */
	lo = hi = 0;
	for (b = 0; b < HIST_BUCKETS; b++) {
		lo += kvm[b] * (b ? 1ull << (b + 7) : 0);
		if (b == HIST_BUCKETS - 1 && kvm[b])
			hi_inf = true;
		else
			hi += kvm[b] * ((1ull << (b + 8)) - 1);
	}
	ktap_diag("CPUID cycles: %llu <= %llu <= %llu%s", lo, view_cycles(&v, reason), hi,
		  hi_inf ? " (and more: an exit took 2^24 or more)" : "");
	ktap_result(lo <= view_cycles(&v, reason) && (hi_inf || view_cycles(&v, reason) <= hi),
		    "cycles_within_bucket_bounds");
	ktap_result(exitstat_agrees(reason, kvm), "exitstat_p50_p99_max");
	vm_free(vm);
	return ktap_finish();
}
