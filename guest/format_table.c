// SPDX-License-Identifier: GPL-2.0-only
/*
 * exitstat's table: one report, a row per exit reason and a total.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <string.h>

#include "exitstat.h"

static void pct(char *buf, size_t len, uint64_t part, uint64_t whole)
{
	if (whole)
		snprintf(buf, len, "%.2f", 100.0 * part / whole);
	else
		snprintf(buf, len, "-");
}

struct cols {
	int w;				/* the name column */
	bool rates, times;		/* exits/s, us/exit */
	bool nocycles;			/* cycles not counted: "-" */
	bool l2;			/* host, L2 exits: their columns */
	bool hist;			/* host, histograms: p50, p99, max */
};

/* p50, p99, max of a histogram: in us at a known TSC rate, ">" for the top bucket. */
static void print_hist(FILE *f, const struct cols *c, const struct es_report *rep,
		       const uint64_t *h)
{
	char buf[32];
	uint64_t cyc;
	unsigned int i;
	int top;

	for (i = 0; i < ES_HIST_STATS; i++) {
		top = h ? es_hist_quantile(rep->bounds, rep->nbounds, h, es_hist_stats[i].pct,
					   &cyc) : -1;
		if (top < 0)
			snprintf(buf, sizeof(buf), "-");
		else if (c->times)
			snprintf(buf, sizeof(buf), "%s%.2f", top ? ">" : "",
				 es_seconds(rep->info, cyc) * 1e6);
		else
			snprintf(buf, sizeof(buf), "%s%" PRIu64, top ? ">" : "", cyc);
		fprintf(f, " %10s", buf);
	}
}

static void print_row(FILE *f, const struct cols *c, const struct es_report *rep,
		      const char *reason, const char *name, uint64_t exits, uint64_t cycles,
		      uint64_t l2_exits, uint64_t l2_cycles, const uint64_t *hist)
{
	char pe[24] = "-", px[32], pc[32] = "-", rate[32] = "-", us[32] = "-", cy[24] = "-";

	if (exits && !c->nocycles)
		snprintf(pe, sizeof(pe), "%" PRIu64, cycles / exits);
	if (exits && c->times && !c->nocycles)
		snprintf(us, sizeof(us), "%.2f", es_seconds(rep->info, cycles) * 1e6 / exits);
	if (rep->delta && rep->interval > 0)
		snprintf(rate, sizeof(rate), "%.1f", exits / rep->interval);
	pct(px, sizeof(px), exits, rep->total_exits);
	if (!c->nocycles) {
		pct(pc, sizeof(pc), cycles, rep->total_cycles);
		snprintf(cy, sizeof(cy), "%" PRIu64, cycles);
	}
	fprintf(f, "%6s  %-*s %12" PRIu64, reason, c->w, name, exits);
	if (c->rates)
		fprintf(f, " %10s", rate);
	fprintf(f, " %16s %12s", cy, pe);
	if (c->times)
		fprintf(f, " %9s", us);
	fprintf(f, " %7s %7s", px, pc);
	if (c->l2) {
		if (!c->nocycles)
			snprintf(cy, sizeof(cy), "%" PRIu64, l2_cycles);
		fprintf(f, " %12" PRIu64 " %16s", l2_exits, cy);
	}
	if (c->hist)
		print_hist(f, c, rep, hist);
	fputc('\n', f);
}

/* "4 of the 78 reasons 0..77 are undefined: 35, 38, 42, 71" */
static void print_undefined(FILE *f, const struct es_report *rep)
{
	const struct es_snap *s = rep->snap;
	unsigned int i, j, n = 0, isa = rep->info->isa;
	char a[16], b[16];
	const char *sep = ": ";

	for (i = 0; i < s->n; i++)
		n += s->undef[i];
	es_reason_str(a, sizeof(a), isa, 0);
	es_reason_str(b, sizeof(b), isa, s->n - 1);
	fprintf(f, "%u of the %u reasons %s..%s are undefined", n, s->n, a, b);
	for (i = 0; i < s->n; i = j) {
		for (j = i + 1; s->undef[i] && j < s->n && s->undef[j]; j++)
			;
		if (!s->undef[i])
			continue;
		es_reason_str(a, sizeof(a), isa, i);
		es_reason_str(b, sizeof(b), isa, j - 1);
		fprintf(f, j - 1 > i ? "%s%s-%s" : "%s%s", sep, a, b);
		sep = ", ";
	}
	fprintf(f, "\n");
}

/* Whose exits: "all vCPUs of this VM", "vCPU 1 of VM web (pid 42)"... */
static void print_scope(FILE *f, const struct es_report *rep)
{
	if (!rep->pid)
		fputs(rep->info->global ? "all VMs on the host" : "all vCPUs of this VM", f);
	else if (rep->vcpu < 0)
		fprintf(f, "all vCPUs of VM %s (pid %d, %u vCPU%s)", rep->vm, rep->pid,
			rep->nvcpus, rep->nvcpus == 1 ? "" : "s");
	else
		fprintf(f, "vCPU %d of VM %s (pid %d)", rep->vcpu, rep->vm, rep->pid);
}

void es_print_table(FILE *f, const struct es_report *rep, const struct es_fmt *fmt)
{
	const struct es_info *info = rep->info;
	struct cols c = { 4, fmt->rates, info->tsc_khz != 0, info->cycles_off,
			  rep->has_l2 && rep->l2_exits, fmt->hist };
	unsigned int i;
	char r[16], stamp[64];

	for (i = 0; i < rep->nrows; i++)
		if ((int)strlen(rep->rows[i].name) > c.w)
			c.w = strlen(rep->rows[i].name);
	if (fmt->verbose && !rep->pid) {
		es_reason_str(r, sizeof(r), info->isa, info->max_reason);
		fprintf(f, "leaf 0x%x: ABI version %u, %s exit reasons up to %s, scope %s, %s\n",
			ES_LEAF_INFO, info->version, es_isa_name(info->isa), r,
			info->global ? "global" : "vm", info->cycles_off ?
			"cycles not counted (bit 25 set)" : "cycles counted (bit 25 clear)");
	}
	if (!fmt->header && rep->pid) {
		/*
		 * -n on the host: no title, but whose table it is, on a
		 * comment line, for a block may hold the VM's and each
		 * vCPU's (--vcpus), or several VMs' of one process
		 */
		fputs("# ", f);
		print_scope(f, rep);
		if (fmt->stamps) {
			es_stamp(stamp, sizeof(stamp), rep->time, true);
			fprintf(f, ", %s", stamp);
		}
		fputc('\n', f);
	}
	if (fmt->header) {
		fprintf(f, "%s, ", fmt->title);
		print_scope(f, rep);
		fprintf(f, " (%s)", es_isa_name(info->isa));
		if (fmt->stamps) {
			es_stamp(stamp, sizeof(stamp), rep->time, true);
			fprintf(f, ", %s", stamp);
		}
		if (c.nocycles)
			fputs("\nCycles not counted (kvm.exit_stats=counts): shown as -", f);
		fprintf(f, "\n%6s  %-*s %12s", "reason", c.w, "name", "exits");
		if (c.rates)
			fprintf(f, " %10s", "exits/s");
		fprintf(f, " %16s %12s", "cycles", "cycles/exit");
		if (c.times)
			fprintf(f, " %9s", "us/exit");
		fprintf(f, " %7s %7s", "%exits", "%cycles");
		if (c.l2)
			fprintf(f, " %12s %16s", "l2 exits", "l2 cycles");
		for (i = 0; c.hist && i < ES_HIST_STATS; i++) {
			snprintf(r, sizeof(r), "%s %s", es_hist_stats[i].name,
				 c.times ? "us" : "cycles");
			fprintf(f, " %10s", r);
		}
		fputc('\n', f);
	}
	for (i = 0; i < rep->nrows; i++) {
		es_reason_str(r, sizeof(r), info->isa, rep->rows[i].reason);
		print_row(f, &c, rep, r, rep->rows[i].name, rep->rows[i].exits, rep->rows[i].cycles,
			  rep->rows[i].l2_exits, rep->rows[i].l2_cycles, rep->rows[i].hist);
	}
	print_row(f, &c, rep, "", "total", rep->total_exits, rep->total_cycles,
		  rep->l2_exits, rep->l2_cycles, rep->total_hist);
	if (c.l2)
		fprintf(f, "l2: of those, the exits taken while the VM ran a nested guest "
			"(%.2f %% of the exits).\n", 100.0 * rep->l2_exits /
			(rep->total_exits ? rep->total_exits : 1));
	if (c.hist)
		fprintf(f, "p50, p99, max: the upper bound of the log2 histogram bucket (kvm.exit_stats=hist) "
			"that holds them, within a factor of 2; >N: the top bucket, N and above.\n");
	if (!rep->pid && c.nocycles)
		fprintf(f, "Excluded: exitstat's own %" PRIu64 " CPUID exits.\n", rep->own_exits);
	else if (!rep->pid)
		fprintf(f, "Excluded: exitstat's own %" PRIu64 " CPUID exits (about %" PRIu64 " cycles).\n",
			rep->own_exits, rep->own_cycles);
	if (rep->clamped)
		fprintf(f, "Clamped: %" PRIu64 " cycle window%s closed below the TSC at %s opening "
			"(TSC skew between CPUs): counted as 0 cycles.\n", rep->clamped,
			rep->clamped == 1 ? "" : "s", rep->clamped == 1 ? "its" : "their");
	if (c.times && !c.nocycles)
		fprintf(f, "Times at the host's TSC rate, %" PRIu32 " kHz (from %s).\n",
			info->tsc_khz, info->tsc_source);
	if (fmt->verbose && !rep->pid)
		print_undefined(f, rep);
}
