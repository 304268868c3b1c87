// SPDX-License-Identifier: GPL-2.0-only
/*
 * exitstat's line: one report on one line, like vmstat: the total, then the
 * top reasons as NAME=EXITS. On the host, one line per VM (or vCPU), with
 * the exits taken while it ran a nested guest when the files split them.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>

#include "exitstat.h"

void es_print_line_header(FILE *f, const struct es_report *rep, const struct es_fmt *fmt)
{
	if (fmt->stamps)
		fprintf(f, "%8s ", "time");
	if (rep->pid)
		fprintf(f, "%7s %-16s %5s ", "pid", "vm", "vcpus");
	fprintf(f, "%12s", "exits");
	if (fmt->rates)
		fprintf(f, " %10s", "exits/s");
	fprintf(f, " %16s %10s", "cycles", "cyc/exit");
	if (rep->info->tsc_khz)
		fprintf(f, " %9s", "us/exit");
	if (fmt->l2)
		fprintf(f, " %12s", "l2 exits");
	if (fmt->top)
		fprintf(f, "  top reasons");
	fputc('\n', f);
}

void es_print_line(FILE *f, const struct es_report *rep, const struct es_fmt *fmt)
{
	char buf[64], cyc[24];
	unsigned int i, n;
	const char *s;
	bool nocycles = rep->info->cycles_off;

	if (fmt->stamps) {
		es_stamp(buf, sizeof(buf), rep->time, false);
		fprintf(f, "%8s ", buf);
	}
	if (rep->pid) {
		if (rep->vcpu < 0)
			snprintf(buf, sizeof(buf), "%u", rep->nvcpus);
		else
			snprintf(buf, sizeof(buf), "vcpu%d", rep->vcpu);
		fprintf(f, "%7d %-16s %5s ", rep->pid, rep->vm, buf);
	}
	fprintf(f, "%12" PRIu64, rep->total_exits);
	if (fmt->rates) {
		snprintf(buf, sizeof(buf), "-");
		if (rep->delta && rep->interval > 0)
			snprintf(buf, sizeof(buf), "%.1f", rep->total_exits / rep->interval);
		fprintf(f, " %10s", buf);
	}
	/* cycles not counted: "-", as for a ratio without exits */
	snprintf(cyc, sizeof(cyc), "-");
	if (!nocycles)
		snprintf(cyc, sizeof(cyc), "%" PRIu64, rep->total_cycles);
	snprintf(buf, sizeof(buf), "-");
	if (rep->total_exits && !nocycles)
		snprintf(buf, sizeof(buf), "%" PRIu64, rep->total_cycles / rep->total_exits);
	fprintf(f, " %16s %10s", cyc, buf);
	if (rep->info->tsc_khz) {
		snprintf(buf, sizeof(buf), "-");
		if (rep->total_exits && !nocycles)
			snprintf(buf, sizeof(buf), "%.2f",
				 es_seconds(rep->info, rep->total_cycles) * 1e6 / rep->total_exits);
		fprintf(f, " %9s", buf);
	}
	if (fmt->l2) {	/* "-": this VM's file does not split them */
		snprintf(buf, sizeof(buf), "-");
		if (rep->has_l2)
			snprintf(buf, sizeof(buf), "%" PRIu64, rep->l2_exits);
		fprintf(f, " %12s", buf);
	}
	for (i = n = 0; i < rep->nrows && n < fmt->top; i++) {
		if (!rep->rows[i].exits)
			continue;
		fputs(n++ ? " " : "  ", f);
		for (s = rep->rows[i].name; *s; s++)	/* one word: awk-friendly */
			fputc(*s == ' ' ? '_' : *s, f);
		fprintf(f, "=%" PRIu64, rep->rows[i].exits);
	}
	fputc('\n', f);
}
