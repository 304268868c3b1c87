// SPDX-License-Identifier: GPL-2.0-only
/*
 * exitstat's JSON: one object per report, on one line.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>

#include "exitstat.h"

/* "name":cycles, or "name":null when the cycles are not counted */
static void cycles(FILE *f, const struct es_report *rep, const char *name, uint64_t v)
{
	if (rep->info->cycles_off)
		fprintf(f, ",\"%s\":null", name);
	else
		fprintf(f, ",\"%s\":%" PRIu64, name, v);
}

/*
 * ,"hist":{"bounds":[...],"counts":[...]},"p50":C,"p99":C,"max":C: the
 * upper bounds of their buckets in cycles, null in the top bucket (no
 * upper bound) or without counts; with h NULL, all null.
 */
static void hist(FILE *f, const struct es_report *rep, const uint64_t *h)
{
	unsigned int i;
	uint64_t cyc;

	if (!h) {
		fputs(",\"hist\":null", f);
	} else {
		fputs(",\"hist\":{\"bounds\":[", f);
		for (i = 0; i < rep->nbounds; i++)
			fprintf(f, "%s%" PRIu64, i ? "," : "", rep->bounds[i]);
		fputs("],\"counts\":[", f);
		for (i = 0; i <= rep->nbounds; i++)
			fprintf(f, "%s%" PRIu64, i ? "," : "", h[i]);
		fputs("]}", f);
	}
	for (i = 0; i < ES_HIST_STATS; i++) {
		if (h && !es_hist_quantile(rep->bounds, rep->nbounds, h, es_hist_stats[i].pct, &cyc))
			fprintf(f, ",\"%s\":%" PRIu64, es_hist_stats[i].name, cyc);
		else
			fprintf(f, ",\"%s\":null", es_hist_stats[i].name);
	}
}

void es_print_json(FILE *f, const struct es_report *rep)
{
	const struct es_info *info = rep->info;
	unsigned int i;

	fprintf(f, "{\"isa\":\"%s\",\"scope\":\"%s\",\"total_exits\":%" PRIu64,
		info->isa == ES_ISA_VMX ? "vmx" : "svm",
		rep->pid ? (rep->vcpu < 0 ? "vm" : "vcpu") : info->global ? "global" : "vm",
		rep->total_exits);
	cycles(f, rep, "total_cycles", rep->total_cycles);
	fprintf(f, ",\"own_cpuid_exits_excluded\":%" PRIu64, rep->own_exits);
	cycles(f, rep, "own_cpuid_cycles_excluded", rep->own_cycles);
	fprintf(f, ",\"block\":%u,\"kind\":\"%s\",\"time\":%.3f,\"interval\":",
		rep->block, rep->delta ? "delta" : "cumulative", rep->time);
	if (rep->delta)
		fprintf(f, "%.3f", rep->interval);
	else
		fputs("null", f);
	if (info->tsc_khz && !info->cycles_off)
		fprintf(f, ",\"tsc_khz\":%" PRIu32 ",\"total_seconds\":%.9f", info->tsc_khz,
			es_seconds(info, rep->total_cycles));
	else if (info->tsc_khz)
		fprintf(f, ",\"tsc_khz\":%" PRIu32 ",\"total_seconds\":null", info->tsc_khz);
	else
		fputs(",\"tsc_khz\":null", f);
	if (rep->pid) {
		fprintf(f, ",\"pid\":%d,\"vm\":", rep->pid);
		es_print_escaped(f, rep->vm, "json");
		if (rep->vcpu >= 0)
			fprintf(f, ",\"vcpu\":%d", rep->vcpu);
		else
			fprintf(f, ",\"vcpu\":null,\"vcpus\":%u", rep->nvcpus);
		if (rep->has_clamped)
			fprintf(f, ",\"clamped\":%" PRIu64, rep->clamped);
		else
			fputs(",\"clamped\":null", f);
		if (rep->has_l2) {
			fprintf(f, ",\"l2_exits\":%" PRIu64, rep->l2_exits);
			cycles(f, rep, "l2_cycles", rep->l2_cycles);
		} else {
			fputs(",\"l2_exits\":null,\"l2_cycles\":null", f);
		}
		hist(f, rep, rep->total_hist);
	}
	fputs(",\"reasons\":[", f);
	for (i = 0; i < rep->nrows; i++) {
		fprintf(f, "%s{\"reason\":%" PRIu32 ",\"name\":", i ? "," : "",
			rep->rows[i].reason);
		es_print_escaped(f, rep->rows[i].name, "json");
		fprintf(f, ",\"exits\":%" PRIu64, rep->rows[i].exits);
		cycles(f, rep, "cycles", rep->rows[i].cycles);
		if (rep->has_l2) {
			fprintf(f, ",\"l2_exits\":%" PRIu64, rep->rows[i].l2_exits);
			cycles(f, rep, "l2_cycles", rep->rows[i].l2_cycles);
		}
		if (rep->nbounds)
			hist(f, rep, rep->rows[i].hist);
		fputc('}', f);
	}
	fputs("]}\n", f);
}
