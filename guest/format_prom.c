// SPDX-License-Identifier: GPL-2.0-only
/*
 * exitstat's Prometheus text exposition (what node_exporter's textfile
 * collector reads): counters since the start, one series per reason and,
 * on the host, per VM (and vCPU), with reason="other" for the exits that
 * have none; on the host the part of them taken while L2 ran and the
 * clamped cycle windows per VM (or vCPU); and the totals, all reasons
 * together, in metrics of their own, so that a sum() over the reasons
 * never counts them twice. On the host with kvm.exit_stats=hist, a
 * histogram per reason of the cycles each exit took. Each metric's series
 * stand together under their # HELP and # TYPE lines, as the format
 * requires.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>

#include "exitstat.h"

enum metric { EXITS, CYCLES, SECONDS, L2_EXITS, L2_CYCLES, CLAMPED, ALL_EXITS, ALL_CYCLES,
	      EXIT_CYCLES };

static const struct {
	const char *name, *help, *type;
} metrics[] = {
	[EXITS] = { "kvm_exitstat_exits_total",
		    "VM exits KVM handled, per exit reason.", "counter" },
	[CYCLES] = { "kvm_exitstat_cycles_total",
		     "Host TSC cycles KVM spent handling VM exits, per exit reason.", "counter" },
	[SECONDS] = { "kvm_exitstat_seconds_total",
		      "Seconds KVM spent handling VM exits, per exit reason: the cycles at the host's TSC rate.", "counter" },
	[L2_EXITS] = { "kvm_exitstat_l2_exits_total",
		       "Of kvm_exitstat_exits_total, the exits taken while the VM ran a nested guest (L2).", "counter" },
	[L2_CYCLES] = { "kvm_exitstat_l2_cycles_total",
			"Of kvm_exitstat_cycles_total, the cycles of exits taken while the VM ran a nested guest (L2).", "counter" },
	[CLAMPED] = { "kvm_exitstat_clamped_total",
		      "Cycle windows that closed below their opening TSC (TSC skew between CPUs), counted as 0 cycles.", "counter" },
	[ALL_EXITS] = { "kvm_exitstat_all_exits_total",
			"VM exits KVM handled, all reasons together.", "counter" },
	[ALL_CYCLES] = { "kvm_exitstat_all_cycles_total",
			 "Host TSC cycles KVM spent handling VM exits, all reasons together.", "counter" },
	[EXIT_CYCLES] = { "kvm_exitstat_exit_cycles",
			  "Host TSC cycles KVM spent handling each VM exit, per exit reason (kvm.exit_stats=hist).",
			  "histogram" },
};

static void labels(FILE *f, const struct es_report *rep)
{
	if (!rep->pid)
		return;
	fputs("vm=", f);
	es_print_escaped(f, rep->vm, "prom");
	fprintf(f, ",pid=\"%d\"", rep->pid);
	if (rep->vcpu >= 0)
		fprintf(f, ",vcpu=\"%d\"", rep->vcpu);
}

/*
 * "NAME{labels,reason=...,name=..." of a reason's series; row NULL: the
 * exits with no reason, as the reason "other".
 */
static void start(FILE *f, enum metric m, const char *suffix, const struct es_report *rep,
		  const struct es_row *row)
{
	fprintf(f, "%s%s{", metrics[m].name, suffix);
	labels(f, rep);
	if (row) {
		fprintf(f, "%sreason=\"%" PRIu32 "\",name=", rep->pid ? "," : "", row->reason);
		es_print_escaped(f, row->name, "prom");
	} else {
		fprintf(f, "%sreason=\"other\",name=\"other\"", rep->pid ? "," : "");
	}
}

/* A reason's series of m (row NULL: other's, which has no L2 split). */
static void series(FILE *f, enum metric m, const struct es_report *rep, const struct es_row *row)
{
	uint64_t cycles = row ? row->cycles : rep->other_cycles;

	start(f, m, "", rep, row);
	if (m == EXITS)
		fprintf(f, "} %" PRIu64 "\n", row ? row->exits : rep->other_exits);
	else if (m == CYCLES)
		fprintf(f, "} %" PRIu64 "\n", cycles);
	else if (m == L2_EXITS)
		fprintf(f, "} %" PRIu64 "\n", row->l2_exits);
	else if (m == L2_CYCLES)
		fprintf(f, "} %" PRIu64 "\n", row->l2_cycles);
	else
		fprintf(f, "} %.9f\n", es_seconds(rep->info, cycles));
}

/*
 * A reason's histogram (row NULL: other's): cumulative buckets, each le
 * its bound less 1 (the kernel's bounds are exclusive, cycles whole),
 * then +Inf; _sum the reason's cycles, _count the +Inf bucket's count.
 */
static void hist_series(FILE *f, const struct es_report *rep, const struct es_row *row)
{
	const uint64_t *h = row ? row->hist : rep->other_hist;
	uint64_t cum = 0;
	unsigned int i;

	for (i = 0; i <= rep->nbounds; i++) {
		cum += h[i];
		start(f, EXIT_CYCLES, "_bucket", rep, row);
		if (i < rep->nbounds)
			fprintf(f, ",le=\"%" PRIu64 "\"} %" PRIu64 "\n", rep->bounds[i] - 1, cum);
		else
			fprintf(f, ",le=\"+Inf\"} %" PRIu64 "\n", cum);
	}
	start(f, EXIT_CYCLES, "_sum", rep, row);
	fprintf(f, "} %" PRIu64 "\n", row ? row->cycles : rep->other_cycles);
	start(f, EXIT_CYCLES, "_count", rep, row);
	fprintf(f, "} %" PRIu64 "\n", cum);
}

/*
 * Which reports have a metric: cycles and seconds only where the cycles
 * are counted (never as zeros), the L2 split and clamped only from a host
 * file that has them.
 */
static bool has(enum metric m, const struct es_report *rep)
{
	switch (m) {
	case CYCLES:
	case SECONDS:
	case ALL_CYCLES:
		return !rep->info->cycles_off;
	case L2_EXITS:
		return rep->pid && rep->has_l2;
	case L2_CYCLES:
		return rep->pid && rep->has_l2 && !rep->info->cycles_off;
	case CLAMPED:
		return rep->pid && rep->has_clamped;
	case EXIT_CYCLES:
		return rep->nbounds != 0;
	default:
		return true;
	}
}

void es_print_prom(FILE *f, const struct es_report *reps, unsigned int n)
{
	unsigned int i, j, k;
	enum metric m;
	bool times = n > 0;

	for (i = 0; i < n; i++)
		times &= reps[i].info->tsc_khz != 0;
	for (m = EXITS; m <= EXIT_CYCLES; m++) {
		if (m == SECONDS && !times)
			continue;
		for (i = k = 0; i < n; i++)
			k += has(m, &reps[i]);
		if (!k && m != EXITS)	/* no HELP without series, but for the main one */
			continue;
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", metrics[m].name, metrics[m].help,
			metrics[m].name, metrics[m].type);
		for (i = 0; i < n; i++) {
			if (!has(m, &reps[i]))
				continue;
			if (m == CLAMPED || m == ALL_EXITS || m == ALL_CYCLES) {
				/* no braces where there is no label (the guest) */
				fputs(metrics[m].name, f);
				if (reps[i].pid) {
					fputc('{', f);
					labels(f, &reps[i]);
					fputc('}', f);
				}
				fprintf(f, " %" PRIu64 "\n", m == CLAMPED ? reps[i].clamped :
					m == ALL_EXITS ? reps[i].total_exits : reps[i].total_cycles);
				continue;
			}
			for (j = 0; j < reps[i].nrows; j++) {
				if (m == EXIT_CYCLES)
					hist_series(f, &reps[i], &reps[i].rows[j]);
				else
					series(f, m, &reps[i], &reps[i].rows[j]);
			}
			if (m == EXIT_CYCLES && reps[i].other_exits)
				hist_series(f, &reps[i], NULL);
			else if ((m == EXITS || m == CYCLES || m == SECONDS) && reps[i].other_exits)
				series(f, m, &reps[i], NULL);
		}
	}
}
