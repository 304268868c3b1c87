// SPDX-License-Identifier: GPL-2.0-only
/*
 * exitstat, the model: snapshots, the report of two snapshots, the exit
 * reasons' names. The same for the guest's and the host's sources.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exitstat.h"

/*
 * The exit reason names come from the kernel's uapi headers. SVM_EXIT_REASONS
 * names the exception exits by the x86 vector macros (DE_VECTOR...), which
 * <asm/svm.h> does not include: <asm/kvm.h> defines them up to VE_VECTOR.
 */
#include <asm/kvm.h>
#ifndef CP_VECTOR
#define CP_VECTOR 21
#endif
#include <asm/svm.h>
#include <asm/vmx.h>

struct es_name {
	long long code;		/* SVM_EXIT_ERR is -1, SEV codes are > 2^31 */
	const char *name;
};
static const struct es_name vmx_names[] = { VMX_EXIT_REASONS };
static const struct es_name svm_names[] = { SVM_EXIT_REASONS };
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Snapshots */

int es_snap_alloc(struct es_snap *s, unsigned int n, bool names)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->exits = calloc(n, sizeof(*s->exits));
	s->cycles = calloc(n, sizeof(*s->cycles));
	s->undef = calloc(n, 1);
	if (names)
		s->names = calloc(n, sizeof(*s->names));
	if (!s->exits || !s->cycles || !s->undef || (names && !s->names)) {
		es_snap_free(s);
		return -1;
	}
	return 0;
}

void es_snap_free(struct es_snap *s)
{
	unsigned int i;

	for (i = 0; s->names && i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	free(s->exits);
	free(s->cycles);
	free(s->undef);
	free(s->l2_exits);
	free(s->l2_cycles);
	free(s->bounds);
	free(s->hist);
	s->l2_exits = s->l2_cycles = NULL;
	s->bounds = s->hist = s->hist_other = NULL;
	s->nbounds = 0;
	s->exits = s->cycles = NULL;
	s->undef = NULL;
	s->names = NULL;
	s->n = 0;
}

void es_info_isa(struct es_info *info, unsigned int isa)
{
	info->isa = isa;
	info->cpuid_reason = isa == ES_ISA_VMX ? EXIT_REASON_CPUID : SVM_EXIT_CPUID;
}

/* ------------------------------------------------------------------ */
/* Reports */

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/*
 * The cycles of n of exitstat's own CPUID exits, estimated from b's sweep:
 * between its head and tail only exitstat ran CPUIDs (on this vCPU). An
 * estimate past 64 bits (only from a hypervisor's nonsense) saturates.
 */
static uint64_t own_cycles(const struct es_snap *b, uint64_t n)
{
	uint64_t span = b->tail.cpuid_cycles.own - b->head.cpuid_cycles.own;
	uint64_t cyc = sub0(b->tail.cpuid_cycles.v, b->head.cpuid_cycles.v);
	double est;

	if (!span)
		return 0;
	est = (double)cyc * n / span + 0.5;
	return est >= 0x1p64 ? UINT64_MAX : (uint64_t)est;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return (a < b) - (a > b);	/* descending */
}

static int row_cmp_reason(const void *pa, const void *pb)
{
	const struct es_row *a = pa, *b = pb;

	return (a->reason > b->reason) - (a->reason < b->reason);
}

static int row_cmp_exits(const void *pa, const void *pb)
{
	const struct es_row *a = pa, *b = pb;

	int c = cmp_u64(a->exits, b->exits);

	return c ? c : row_cmp_reason(pa, pb);
}

static int row_cmp_cycles(const void *pa, const void *pb)
{
	const struct es_row *a = pa, *b = pb;

	int c = cmp_u64(a->cycles, b->cycles);

	return c ? c : row_cmp_exits(pa, pb);
}

void es_sort_rows(struct es_row *rows, unsigned int n, enum es_sort key)
{
	static int (*const cmp[])(const void *, const void *) = {
		[ES_SORT_EXITS] = row_cmp_exits,
		[ES_SORT_CYCLES] = row_cmp_cycles,
		[ES_SORT_REASON] = row_cmp_reason,
	};

	qsort(rows, n, sizeof(*rows), cmp[key]);
}

/*
 * The histograms of b minus a's where a has the same buckets (else b's
 * alone): reason i's at rep->hist + i * (nbounds + 1) for i < b->n, then
 * other's, then the sum of all; 0, or -1 if out of memory.
 */
static int hist_report(struct es_report *rep, const struct es_snap *a, const struct es_snap *b)
{
	size_t nb1 = b->nbounds + 1, i, j;
	uint64_t *d, *total;
	const uint64_t *x, *y;
	bool same;

	if (!b->nbounds)
		return 0;
	same = a && a->nbounds == b->nbounds &&
	       !memcmp(a->bounds, b->bounds, b->nbounds * sizeof(*b->bounds));
	rep->hist = calloc((b->n + 2) * nb1, sizeof(*rep->hist));
	if (!rep->hist)
		return -1;
	rep->nbounds = b->nbounds;
	rep->bounds = b->bounds;
	total = rep->hist + (b->n + 1) * nb1;
	for (i = 0; i <= b->n; i++) {
		/* i == b->n: other's */
		d = rep->hist + i * nb1;
		x = i < b->n ? b->hist + i * nb1 : b->hist_other;
		y = !same ? NULL : i < b->n ? (i < a->n ? a->hist + i * nb1 : NULL) : a->hist_other;
		for (j = 0; j < nb1; j++) {
			d[j] = sub0(x[j], y ? y[j] : 0);
			total[j] += d[j];
		}
	}
	rep->other_hist = rep->hist + b->n * nb1;
	rep->total_hist = total;
	return 0;
}

const struct es_hist_stat es_hist_stats[ES_HIST_STATS] = {
	{ "p50", 50 }, { "p99", 99 }, { "max", 100 },
};

int es_hist_quantile(const uint64_t *bounds, unsigned int nbounds, const uint64_t *h,
		     unsigned int pct, uint64_t *cycles)
{
	uint64_t n = 0, want, cum = 0;
	unsigned int i;

	for (i = 0; i <= nbounds; i++)
		n += h[i];
	if (!n)
		return -1;
	/* pct % of n rounded up, without overflow */
	want = n / 100 * pct + (n % 100 * pct + 99) / 100;
	for (i = 0; i < nbounds; i++) {
		cum += h[i];
		if (cum >= want)
			break;
	}
	*cycles = bounds[i < nbounds ? i : nbounds - 1];
	return i == nbounds;
}

static bool selected(const struct es_select *sel, uint32_t reason)
{
	unsigned int i;

	for (i = 0; i < sel->nonly; i++)
		if (sel->only[i] == reason)
			return true;
	return !sel->nonly;
}

int es_report(const struct es_info *info, const struct es_snap *a,
	      const struct es_snap *b, const struct es_select *sel, struct es_report *rep)
{
	static const struct es_group zero;
	const struct es_group *at = a ? &a->tail : &zero, *bh = &b->head;
	uint64_t own, cyc, sum_exits = 0, sum_cycles = 0;
	unsigned int i;

	memset(rep, 0, sizeof(*rep));
	rep->info = info;
	rep->snap = b;
	rep->vcpu = -1;
	rep->delta = a != NULL;
	rep->interval = a ? b->t.mono - a->t.mono : 0;
	rep->time = b->t.wall;
	rep->rows = calloc(b->n ? b->n : 1, sizeof(*rep->rows));
	if (!rep->rows || hist_report(rep, a, b)) {
		es_report_free(rep);
		return -1;
	}
	for (i = 0; i < b->n; i++) {
		struct es_row *row = &rep->rows[rep->nrows];

		if (b->undef[i])
			continue;
		if (b->names) {
			/* the host's file: one instant, so the rest is "other" */
			sum_exits += sub0(b->exits[i], a && i < a->n ? a->exits[i] : 0);
			sum_cycles += sub0(b->cycles[i], a && i < a->n ? a->cycles[i] : 0);
		}
		if (!selected(sel, i))
			continue;
		row->reason = i;
		if (i == info->cpuid_reason) {
			own = bh->cpuid_exits.own - at->cpuid_exits.own;
			row->exits = sub0(sub0(bh->cpuid_exits.v, at->cpuid_exits.v), own);
			own = bh->cpuid_cycles.own - at->cpuid_cycles.own;
			row->cycles = sub0(sub0(bh->cpuid_cycles.v, at->cpuid_cycles.v),
					   own_cycles(b, own));
		} else {
			row->exits = sub0(b->exits[i], a && i < a->n ? a->exits[i] : 0);
			row->cycles = sub0(b->cycles[i], a && i < a->n ? a->cycles[i] : 0);
		}
		if (b->l2_exits) {
			bool ina = a && a->l2_exits && i < a->n;

			row->l2_exits = sub0(b->l2_exits[i], ina ? a->l2_exits[i] : 0);
			row->l2_cycles = sub0(b->l2_cycles[i], ina ? a->l2_cycles[i] : 0);
		}
		if (rep->hist)
			row->hist = rep->hist + (size_t)i * (rep->nbounds + 1);
		if (!row->exits && !sel->all)
			continue;
		if (b->names && b->names[i])
			snprintf(row->name, sizeof(row->name), "%s", b->names[i]);
		else
			es_reason_name(info->isa, i, row->name, sizeof(row->name));
		rep->nrows++;
	}
	es_sort_rows(rep->rows, rep->nrows, sel->sort);
	rep->own_exits = bh->exits.own - at->exits.own;
	rep->total_exits = sub0(sub0(bh->exits.v, at->exits.v), rep->own_exits);
	cyc = own_cycles(b, bh->cycles.own - at->cycles.own);
	rep->own_cycles = cyc;
	rep->total_cycles = sub0(sub0(bh->cycles.v, at->cycles.v), cyc);
	if (b->names) {
		rep->other_exits = sub0(rep->total_exits, sum_exits);
		rep->other_cycles = sub0(rep->total_cycles, sum_cycles);
	}
	/* a counter like the others: a delta, or since the start if a had none */
	rep->has_clamped = b->has_clamped;
	rep->clamped = sub0(b->clamped, a && a->has_clamped ? a->clamped : 0);
	rep->has_l2 = b->l2_exits != NULL;
	rep->l2_exits = sub0(b->l2_total_exits, a ? a->l2_total_exits : 0);
	rep->l2_cycles = sub0(b->l2_total_cycles, a ? a->l2_total_cycles : 0);
	return 0;
}

void es_report_free(struct es_report *rep)
{
	free(rep->rows);
	free(rep->hist);
	rep->rows = NULL;
	rep->hist = NULL;
}

/* ------------------------------------------------------------------ */
/* Names, numbers */

static const struct es_name *name_table(unsigned int isa, size_t *n)
{
	*n = isa == ES_ISA_VMX ? ARRAY_SIZE(vmx_names) : ARRAY_SIZE(svm_names);
	return isa == ES_ISA_VMX ? vmx_names : svm_names;
}

/* FAILED_VMENTRY, SVM_EXIT_ERR and SEV codes are no reasons here. */
static bool is_reason(long long code)
{
	return code >= 0 && code < 0x10000;
}

void es_reason_name(unsigned int isa, uint32_t reason, char *buf, size_t len)
{
	size_t i, n;
	const struct es_name *t = name_table(isa, &n);

	for (i = 0; i < n; i++) {
		if (!is_reason(t[i].code) || t[i].code != reason)
			continue;
		snprintf(buf, len, "%s", t[i].name);
		return;
	}
	if (isa == ES_ISA_VMX)
		snprintf(buf, len, "vmx_%" PRIu32, reason);
	else
		snprintf(buf, len, "svm_0x%" PRIx32, reason);
}

/* Names equal but for case, and '_' for ' ' (the SVM names have spaces). */
bool es_name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		int x = *a == ' ' ? '_' : tolower((unsigned char)*a);
		int y = *b == ' ' ? '_' : tolower((unsigned char)*b);

		if (x != y)
			return false;
	}
	return !*a && !*b;
}

int es_reason_lookup(unsigned int isa, const char *s, uint32_t *reason)
{
	size_t i, n;
	const struct es_name *t = name_table(isa, &n);
	char buf[40];

	if (!es_parse_u32(s, reason))
		return 0;
	for (i = 0; i < n; i++) {
		if (is_reason(t[i].code) && es_name_eq(s, t[i].name)) {
			*reason = t[i].code;
			return 0;
		}
	}
	/* vmx_N, svm_0xN: what es_reason_name() calls the unnamed ones */
	if (!strncasecmp(s, isa == ES_ISA_VMX ? "vmx_" : "svm_", 4) &&
	    !es_parse_u32(s + 4, reason)) {
		es_reason_name(isa, *reason, buf, sizeof(buf));
		if (es_name_eq(s, buf))
			return 0;
	}
	return -1;
}

/* Decimal or 0x hex, 0..2^32-1, nothing else. 0 or -1. */
int es_parse_u32(const char *s, uint32_t *v)
{
	uint64_t x = 0;
	int base = 10, d, n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; *s; s++, n++) {
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		x = x * base + d;
		if (x > UINT32_MAX)
			return -1;
	}
	if (!n)
		return -1;
	*v = x;
	return 0;
}
