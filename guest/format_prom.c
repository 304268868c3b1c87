// SPDX-License-Identifier: GPL-2.0-only
/*
 * exitstat's Prometheus text exposition (what node_exporter's textfile
 * collector reads): counters since the start, one series per reason and,
 * on the host, per VM (and vCPU). Each metric's series stand together under
 * their # HELP and # TYPE lines, as the format requires.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>

#include "exitstat.h"

enum metric { EXITS, CYCLES, SECONDS };

static const struct {
	const char *name, *help;
} metrics[] = {
	[EXITS] = { "kvm_exitstat_exits_total",
		    "VM exits KVM handled, per exit reason." },
	[CYCLES] = { "kvm_exitstat_cycles_total",
		     "Host TSC cycles KVM spent handling VM exits, per exit reason." },
	[SECONDS] = { "kvm_exitstat_seconds_total",
		      "Seconds KVM spent handling VM exits, per exit reason: the cycles at the host's TSC rate." },
};

static void series(FILE *f, enum metric m, const struct es_report *rep, const struct es_row *row)
{
	fprintf(f, "%s{", metrics[m].name);
	if (rep->pid) {
		fputs("vm=", f);
		es_print_escaped(f, rep->vm, "prom");
		fprintf(f, ",pid=\"%d\",", rep->pid);
		if (rep->vcpu >= 0)
			fprintf(f, "vcpu=\"%d\",", rep->vcpu);
	}
	fprintf(f, "reason=\"%" PRIu32 "\",name=", row->reason);
	es_print_escaped(f, row->name, "prom");
	if (m == EXITS)
		fprintf(f, "} %" PRIu64 "\n", row->exits);
	else if (m == CYCLES)
		fprintf(f, "} %" PRIu64 "\n", row->cycles);
	else
		fprintf(f, "} %.9f\n", es_seconds(rep->info, row->cycles));
}

void es_print_prom(FILE *f, const struct es_report *reps, unsigned int n)
{
	unsigned int i, j;
	enum metric m;
	bool times = n > 0;

	for (i = 0; i < n; i++)
		times &= reps[i].info->tsc_khz != 0;
	for (m = EXITS; m <= SECONDS; m++) {
		if (m == SECONDS && !times)
			break;
		fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", metrics[m].name,
			metrics[m].help, metrics[m].name);
		for (i = 0; i < n; i++)
			for (j = 0; j < reps[i].nrows; j++)
				series(f, m, &reps[i], &reps[i].rows[j]);
	}
}
