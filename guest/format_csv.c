// SPDX-License-Identifier: GPL-2.0-only
/*
 * exitstat's CSV: a row per reason and a total row per report; the columns
 * after the first five say which block, whose, and since when, and on the
 * host the part taken while L2 ran and, last, p50, p99 and max of the
 * histogram (kvm.exit_stats=hist).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <string.h>

#include "exitstat.h"

static void csv_str(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* ",cycles", or "," alone when the cycles are not counted (null) */
static void csv_cycles(FILE *f, const struct es_report *rep, uint64_t v)
{
	fputc(',', f);
	if (!rep->info->cycles_off)
		fprintf(f, "%" PRIu64, v);
}

/* Host: ",l2_exits,l2_cycles" of a row, empty where the file has no split. */
static void csv_l2(FILE *f, const struct es_report *rep, uint64_t exits, uint64_t cycles)
{
	if (!rep->pid)
		return;
	fputc(',', f);
	if (!rep->has_l2) {
		fputc(',', f);
		return;
	}
	fprintf(f, "%" PRIu64, exits);
	csv_cycles(f, rep, cycles);
}

/*
 * Host: ",p50,p99,max" of a histogram in cycles, the upper bounds of their
 * buckets; empty where there is none (no histogram or no counts, the top
 * bucket).
 */
static void csv_hist(FILE *f, const struct es_report *rep, const uint64_t *h)
{
	unsigned int i;
	uint64_t cyc;

	for (i = 0; i < ES_HIST_STATS; i++) {
		fputc(',', f);
		if (h && !es_hist_quantile(rep->bounds, rep->nbounds, h, es_hist_stats[i].pct, &cyc))
			fprintf(f, "%" PRIu64, cyc);
	}
}

/* Everything after block,reason,name,exits,cycles. */
static void csv_tail(FILE *f, const struct es_report *rep, uint64_t l2_exits, uint64_t l2_cycles,
		     const uint64_t *hist)
{
	fprintf(f, ",%s,%.3f,", rep->delta ? "delta" : "cumulative", rep->time);
	if (rep->delta)
		fprintf(f, "%.3f", rep->interval);
	if (!rep->pid) {
		fprintf(f, ",%" PRIu64, rep->own_exits);
		csv_cycles(f, rep, rep->own_cycles);
		fputc('\n', f);
		return;
	}
	fprintf(f, ",%d,", rep->pid);
	csv_str(f, rep->vm);
	fputc(',', f);
	if (rep->vcpu >= 0)
		fprintf(f, "%d", rep->vcpu);
	fputc(',', f);
	if (rep->has_clamped)
		fprintf(f, "%" PRIu64, rep->clamped);
	csv_l2(f, rep, l2_exits, l2_cycles);
	csv_hist(f, rep, hist);
	fputc('\n', f);
}


void es_print_csv(FILE *f, const struct es_report *rep, bool header)
{
	unsigned int i;

	if (header)
		fprintf(f, "block,reason,name,exits,cycles,kind,time,interval,%s\n",
			rep->pid ? "pid,vm,vcpu,clamped,l2_exits,l2_cycles,p50_cycles,p99_cycles,max_cycles" :
			"own_exits,own_cycles");
	for (i = 0; i < rep->nrows; i++) {
		fprintf(f, "%u,%" PRIu32 ",", rep->block, rep->rows[i].reason);
		csv_str(f, rep->rows[i].name);
		fprintf(f, ",%" PRIu64, rep->rows[i].exits);
		csv_cycles(f, rep, rep->rows[i].cycles);
		csv_tail(f, rep, rep->rows[i].l2_exits, rep->rows[i].l2_cycles, rep->rows[i].hist);
	}
	fprintf(f, "%u,,total,%" PRIu64, rep->block, rep->total_exits);
	csv_cycles(f, rep, rep->total_cycles);
	csv_tail(f, rep, rep->l2_exits, rep->l2_cycles, rep->total_hist);
}
