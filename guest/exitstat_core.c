// SPDX-License-Identifier: GPL-2.0-only
/*
 * exitstat: everything but main(). See exitstat.h and exitstat.1.
 */
#define _POSIX_C_SOURCE 200809L
#include <cpuid.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
/* CPUID */

static void real_cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	(void)ctx;
	__cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
}

const struct es_backend es_cpuid_backend = { real_cpuid, NULL };

static void real_sleep(unsigned int seconds)
{
	while (seconds)
		seconds = sleep(seconds);
}

struct es_hooks es_hooks = { NULL, real_sleep };

void es_cpuid(struct es_cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	r[0] = r[1] = r[2] = r[3] = 0;
	cpu->be->cpuid(cpu->be->ctx, leaf, subleaf, r);
	cpu->calls++;
}

/* Read a count leaf: the answer includes the CPUID exit that asks. */
static struct es_val read_count(struct es_cpu *cpu, uint32_t leaf, uint32_t sub)
{
	uint32_t r[4];

	es_cpuid(cpu, leaf, sub, r);
	return (struct es_val){ es_leaf_count(r), cpu->calls };
}

/* Read a cycles leaf: the exit that asks has not ended, its cycles are not in. */
static struct es_val read_cycles(struct es_cpu *cpu, uint32_t leaf, uint32_t sub)
{
	uint32_t r[4];

	es_cpuid(cpu, leaf, sub, r);
	return (struct es_val){ es_leaf_cycles(r), cpu->calls - 1 };
}

/* ------------------------------------------------------------------ */
/* Detection */

static void regs_str(char *s, const uint32_t r[3], bool printable)
{
	char raw[12];
	int i, n = 0;

	memcpy(raw, r, sizeof(raw));
	for (i = 0; i < 12; i++)
		if (!printable || (raw[i] >= 0x20 && raw[i] < 0x7f))
			s[n++] = raw[i];
	s[n] = 0;
}

int es_detect(struct es_cpu *cpu, struct es_info *info, FILE *err)
{
	uint32_t r[4];
	char sig[13];

	es_cpuid(cpu, 1, 0, r);
	if (!(r[2] & 1u << 31)) {
		fprintf(err, "exitstat: not running under a hypervisor\n");
		return 2;
	}
	es_cpuid(cpu, ES_LEAF_INFO, 0, r);
	regs_str(sig, r + 1, false);
	if (memcmp(sig, ES_SIGNATURE, 12)) {
		es_cpuid(cpu, 0x40000000, 0, r);
		regs_str(sig, r + 1, true);
		fprintf(err, "exitstat: the hypervisor (%s) does not provide exit statistics: no patched KVM, or kvm.exit_stats=0\n",
			*sig ? sig : "unnamed");
		return 2;
	}
	info->max_reason = r[0] & 0xffff;
	info->version = r[0] >> 16 & 0xff;
	info->global = r[0] >> 24 & 1;
	info->isa = r[0] >> 28;
	if (info->version != ES_ABI_VERSION) {
		fprintf(err, "exitstat: the hypervisor speaks exit-statistics ABI version %u; this exitstat reads version %u\n",
			info->version, ES_ABI_VERSION);
		return 2;
	}
	if (info->isa != ES_ISA_VMX && info->isa != ES_ISA_SVM) {
		fprintf(err, "exitstat: unknown exit-reason ISA %u in leaf 0x%x (known: 1 = Intel VMX, 2 = AMD SVM)\n",
			info->isa, ES_LEAF_INFO);
		return 2;
	}
	info->cpuid_reason = info->isa == ES_ISA_VMX ? EXIT_REASON_CPUID : SVM_EXIT_CPUID;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Snapshots and reports */

static void read_group(struct es_cpu *cpu, const struct es_info *info, struct es_group *g)
{
	g->cpuid_exits = read_count(cpu, ES_LEAF_COUNT, info->cpuid_reason);
	g->exits = read_count(cpu, ES_LEAF_TOTAL, 0);
	g->cpuid_cycles = read_cycles(cpu, ES_LEAF_CYCLES, info->cpuid_reason);
	g->cycles = read_cycles(cpu, ES_LEAF_TOTAL_CYCLES, 0);
}

/*
 * head, a sweep over all other reasons, tail. A report from snapshot a to b
 * uses a's tail and b's head, so only the few CPUIDs between those are
 * exitstat's own: the sweeps fall outside the window.
 */
int es_snap_read(struct es_cpu *cpu, const struct es_info *info, struct es_snap *s)
{
	uint32_t r[4], i;

	s->n = info->max_reason + 1;
	s->exits = calloc(s->n, sizeof(*s->exits));
	s->cycles = calloc(s->n, sizeof(*s->cycles));
	s->undef = calloc(s->n, 1);
	if (!s->exits || !s->cycles || !s->undef) {
		es_snap_free(s);
		return -1;
	}
	read_group(cpu, info, &s->head);
	for (i = 0; i < s->n; i++) {
		if (i == info->cpuid_reason)
			continue;
		es_cpuid(cpu, ES_LEAF_COUNT, i, r);
		s->undef[i] = r[3] == 0xffffffff && !r[0] && !r[1] && !r[2];
		if (s->undef[i])
			continue;
		s->exits[i] = es_leaf_count(r);
		if (s->exits[i])
			s->cycles[i] = read_cycles(cpu, ES_LEAF_CYCLES, i).v;
	}
	read_group(cpu, info, &s->tail);
	return 0;
}

void es_snap_free(struct es_snap *s)
{
	free(s->exits);
	free(s->cycles);
	free(s->undef);
	s->exits = s->cycles = NULL;
	s->undef = NULL;
}

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

static int row_cmp(const void *pa, const void *pb)
{
	const struct es_row *a = pa, *b = pb;

	if (a->exits != b->exits)
		return a->exits < b->exits ? 1 : -1;
	return (a->reason > b->reason) - (a->reason < b->reason);
}

void es_sort_rows(struct es_row *rows, unsigned int n)
{
	qsort(rows, n, sizeof(*rows), row_cmp);
}

int es_report(const struct es_info *info, const struct es_snap *a,
	      const struct es_snap *b, bool all, struct es_report *rep)
{
	static const struct es_group zero;
	const struct es_group *at = a ? &a->tail : &zero, *bh = &b->head;
	uint64_t own, cyc;
	unsigned int i;

	memset(rep, 0, sizeof(*rep));
	rep->info = info;
	rep->snap = b;
	rep->rows = calloc(b->n, sizeof(*rep->rows));
	if (!rep->rows)
		return -1;
	for (i = 0; i < b->n; i++) {
		struct es_row *row = &rep->rows[rep->nrows];

		if (b->undef[i])
			continue;
		row->reason = i;
		if (i == info->cpuid_reason) {
			own = bh->cpuid_exits.own - at->cpuid_exits.own;
			row->exits = sub0(sub0(bh->cpuid_exits.v, at->cpuid_exits.v), own);
			own = bh->cpuid_cycles.own - at->cpuid_cycles.own;
			row->cycles = sub0(sub0(bh->cpuid_cycles.v, at->cpuid_cycles.v),
					   own_cycles(b, own));
		} else {
			row->exits = sub0(b->exits[i], a ? a->exits[i] : 0);
			row->cycles = sub0(b->cycles[i], a ? a->cycles[i] : 0);
		}
		if (!row->exits && !all)
			continue;
		es_reason_name(info->isa, i, row->name, sizeof(row->name));
		rep->nrows++;
	}
	es_sort_rows(rep->rows, rep->nrows);
	rep->own_exits = bh->exits.own - at->exits.own;
	rep->total_exits = sub0(sub0(bh->exits.v, at->exits.v), rep->own_exits);
	cyc = own_cycles(b, bh->cycles.own - at->cycles.own);
	rep->own_cycles = cyc;
	rep->total_cycles = sub0(sub0(bh->cycles.v, at->cycles.v), cyc);
	return 0;
}

void es_report_free(struct es_report *rep)
{
	free(rep->rows);
	rep->rows = NULL;
}

/* ------------------------------------------------------------------ */
/* Names, numbers */

void es_reason_name(unsigned int isa, uint32_t reason, char *buf, size_t len)
{
	const struct es_name *t = isa == ES_ISA_VMX ? vmx_names : svm_names;
	size_t i, n = isa == ES_ISA_VMX ? ARRAY_SIZE(vmx_names) : ARRAY_SIZE(svm_names);

	for (i = 0; i < n; i++) {
		/* FAILED_VMENTRY, SVM_EXIT_ERR and SEV codes are no reasons here */
		if (t[i].code < 0 || t[i].code >= 0x10000 || t[i].code != reason)
			continue;
		snprintf(buf, len, "%s", t[i].name);
		return;
	}
	if (isa == ES_ISA_VMX)
		snprintf(buf, len, "vmx_%" PRIu32, reason);
	else
		snprintf(buf, len, "svm_0x%" PRIx32, reason);
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

static void reason_str(char *buf, size_t len, unsigned int isa, uint32_t reason)
{
	snprintf(buf, len, isa == ES_ISA_VMX ? "%" PRIu32 : "0x%" PRIx32, reason);
}

/* ------------------------------------------------------------------ */
/* Output */

static const char *isa_name(unsigned int isa)
{
	return isa == ES_ISA_VMX ? "Intel VMX" : "AMD SVM";
}

static void pct(char *buf, size_t len, uint64_t part, uint64_t whole)
{
	if (whole)
		snprintf(buf, len, "%.2f", 100.0 * part / whole);
	else
		snprintf(buf, len, "-");
}

static void per_exit(char *buf, size_t len, uint64_t cycles, uint64_t exits)
{
	if (exits)
		snprintf(buf, len, "%" PRIu64, cycles / exits);
	else
		snprintf(buf, len, "-");
}

static void print_line(FILE *f, int w, const char *reason, const char *name,
		       uint64_t exits, uint64_t cycles, uint64_t texits, uint64_t tcycles)
{
	char pe[24], px[32], pc[32];

	per_exit(pe, sizeof(pe), cycles, exits);
	pct(px, sizeof(px), exits, texits);
	pct(pc, sizeof(pc), cycles, tcycles);
	fprintf(f, "%6s  %-*s %12" PRIu64 " %16" PRIu64 " %12s %7s %7s\n",
		reason, w, name, exits, cycles, pe, px, pc);
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
	reason_str(a, sizeof(a), isa, 0);
	reason_str(b, sizeof(b), isa, s->n - 1);
	fprintf(f, "%u of the %u reasons %s..%s are undefined", n, s->n, a, b);
	for (i = 0; i < s->n; i = j) {
		for (j = i + 1; s->undef[i] && j < s->n && s->undef[j]; j++)
			;
		if (!s->undef[i])
			continue;
		reason_str(a, sizeof(a), isa, i);
		reason_str(b, sizeof(b), isa, j - 1);
		fprintf(f, j - 1 > i ? "%s%s-%s" : "%s%s", sep, a, b);
		sep = ", ";
	}
	fprintf(f, "\n");
}

void es_print_table(FILE *f, const struct es_report *rep, const char *title, bool verbose)
{
	const struct es_info *info = rep->info;
	unsigned int i;
	int w = 4;
	char r[16];

	for (i = 0; i < rep->nrows; i++)
		if ((int)strlen(rep->rows[i].name) > w)
			w = strlen(rep->rows[i].name);
	if (verbose) {
		reason_str(r, sizeof(r), info->isa, info->max_reason);
		fprintf(f, "leaf 0x%x: ABI version %u, %s exit reasons up to %s, scope %s\n",
			ES_LEAF_INFO, info->version, isa_name(info->isa), r,
			info->global ? "global" : "vm");
	}
	fprintf(f, "%s, %s (%s)\n", title,
		info->global ? "all VMs on the host" : "all vCPUs of this VM",
		isa_name(info->isa));
	fprintf(f, "%6s  %-*s %12s %16s %12s %7s %7s\n", "reason", w, "name",
		"exits", "cycles", "cycles/exit", "%exits", "%cycles");
	for (i = 0; i < rep->nrows; i++) {
		reason_str(r, sizeof(r), info->isa, rep->rows[i].reason);
		print_line(f, w, r, rep->rows[i].name, rep->rows[i].exits,
			   rep->rows[i].cycles, rep->total_exits, rep->total_cycles);
	}
	print_line(f, w, "", "total", rep->total_exits, rep->total_cycles,
		   rep->total_exits, rep->total_cycles);
	fprintf(f, "Excluded: exitstat's own %" PRIu64 " CPUID exits (about %" PRIu64 " cycles).\n",
		rep->own_exits, rep->own_cycles);
	if (verbose)
		print_undefined(f, rep);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void es_print_json(FILE *f, const struct es_report *rep)
{
	unsigned int i;

	fprintf(f, "{\"isa\":\"%s\",\"scope\":\"%s\",\"total_exits\":%" PRIu64
		",\"total_cycles\":%" PRIu64 ",\"own_cpuid_exits_excluded\":%" PRIu64
		",\"reasons\":[", rep->info->isa == ES_ISA_VMX ? "vmx" : "svm",
		rep->info->global ? "global" : "vm", rep->total_exits,
		rep->total_cycles, rep->own_exits);
	for (i = 0; i < rep->nrows; i++) {
		fprintf(f, "%s{\"reason\":%" PRIu32 ",\"name\":", i ? "," : "",
			rep->rows[i].reason);
		json_str(f, rep->rows[i].name);
		fprintf(f, ",\"exits\":%" PRIu64 ",\"cycles\":%" PRIu64 "}",
			rep->rows[i].exits, rep->rows[i].cycles);
	}
	fprintf(f, "]}\n");
}

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

void es_print_csv(FILE *f, const struct es_report *rep, unsigned int block, bool header)
{
	unsigned int i;

	if (header)
		fprintf(f, "block,reason,name,exits,cycles\n");
	for (i = 0; i < rep->nrows; i++) {
		fprintf(f, "%u,%" PRIu32 ",", block, rep->rows[i].reason);
		csv_str(f, rep->rows[i].name);
		fprintf(f, ",%" PRIu64 ",%" PRIu64 "\n", rep->rows[i].exits,
			rep->rows[i].cycles);
	}
	fprintf(f, "%u,,total,%" PRIu64 ",%" PRIu64 "\n", block,
		rep->total_exits, rep->total_cycles);
}

/* ------------------------------------------------------------------ */
/* The command line */

struct opts {
	bool all, verbose, json, csv, raw;
	char **cmd;
	char *pos[3];
	int npos;
	uint32_t interval, count;	/* INTERVAL COUNT */
	uint32_t leaf, subleaf;		/* --raw */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: exitstat [-a] [-v] [--json|--csv] [INTERVAL [COUNT]]\n"
		"       exitstat [-a] [-v] [--json|--csv] -- COMMAND [ARG...]\n"
		"       exitstat --raw LEAF [SUBLEAF]\n"
		"       exitstat -h|--help | -V|--version\n");
}

static void help(FILE *f)
{
	usage(f);
	fprintf(f,
		"\nVM exits per exit reason, with the cycles KVM spent on them, read from a\n"
		"patched KVM through CPUID leaves 0x4ffffffb..0x4fffffff.\n\n"
		"  INTERVAL [COUNT]  first the exits since the VM started, then those of\n"
		"                    every INTERVAL seconds; COUNT blocks in all\n"
		"  -- COMMAND        the exits while COMMAND ran, on stderr; exits with\n"
		"                    COMMAND's status\n"
		"  -a, --all         also list reasons with no exits\n"
		"  -v, --verbose     show the ABI details and the undefined reasons\n"
		"      --json        one JSON object per block\n"
		"      --csv         CSV: block,reason,name,exits,cycles\n"
		"      --raw LEAF [SUBLEAF]  one CPUID, printed like cpuid -1 -r\n"
		"  -h, --help        this help\n"
		"  -V, --version     version\n");
}

/* -1: go on; otherwise the exit status. */
static int bad(FILE *err, const char *what, const char *arg)
{
	fprintf(err, "exitstat: %s%s%s%s\n", what, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
	usage(err);
	return 1;
}

static int parse_args(int argc, char **argv, struct opts *o, FILE *out, FILE *err)
{
	int i;

	for (i = 1; i < argc; i++) {
		char *a = argv[i];

		if (!strcmp(a, "--")) {
			o->cmd = argv + i + 1;
			if (!*o->cmd)
				return bad(err, "no COMMAND after --", NULL);
			break;
		}
		if (a[0] != '-' || !a[1] || (a[1] >= '0' && a[1] <= '9')) {
			if (o->npos == 3)
				return bad(err, "too many arguments", NULL);
			o->pos[o->npos++] = a;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help(out);
			return 0;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			fprintf(out, "exitstat %s (kvm-exitstat, CPUID ABI version %d)\n",
				ES_VERSION, ES_ABI_VERSION);
			return 0;
		} else if (!strcmp(a, "--json")) {
			o->json = true;
		} else if (!strcmp(a, "--csv")) {
			o->csv = true;
		} else if (!strcmp(a, "--raw")) {
			o->raw = true;
		} else if (!strcmp(a, "--all")) {
			o->all = true;
		} else if (!strcmp(a, "--verbose")) {
			o->verbose = true;
		} else if (a[1] == '-' || strspn(a + 1, "av") != strlen(a + 1)) {
			return bad(err, "unknown option", a);
		} else {
			o->all |= strchr(a, 'a') != NULL;
			o->verbose |= strchr(a, 'v') != NULL;
		}
	}
	if (o->json && o->csv)
		return bad(err, "--json and --csv exclude each other", NULL);
	if (o->raw) {
		if (o->cmd || o->json || o->csv || o->all)
			return bad(err, "--raw takes no other options", NULL);
		if (o->npos < 1 || o->npos > 2)
			return bad(err, "--raw takes LEAF [SUBLEAF]", NULL);
		if (es_parse_u32(o->pos[0], &o->leaf))
			return bad(err, "invalid LEAF (decimal or 0x hex, 32 bits):", o->pos[0]);
		if (o->npos == 2 && es_parse_u32(o->pos[1], &o->subleaf))
			return bad(err, "invalid SUBLEAF (decimal or 0x hex, 32 bits):", o->pos[1]);
		return -1;
	}
	if (o->npos > 2)
		return bad(err, "too many arguments", NULL);
	if (o->cmd && o->npos)
		return bad(err, "INTERVAL and -- COMMAND exclude each other", NULL);
	if (o->npos >= 1 && (es_parse_u32(o->pos[0], &o->interval) || !o->interval))
		return bad(err, "invalid INTERVAL (whole seconds, at least 1):", o->pos[0]);
	if (o->npos == 2 && (es_parse_u32(o->pos[1], &o->count) || !o->count))
		return bad(err, "invalid COUNT (at least 1):", o->pos[1]);
	if (!o->npos)
		o->count = 1;
	return -1;
}

static void emit(FILE *f, const struct opts *o, const struct es_report *rep,
		 const char *title, unsigned int block)
{
	if (o->json) {
		es_print_json(f, rep);
	} else if (o->csv) {
		es_print_csv(f, rep, block, block == 0);
	} else {
		if (block)
			fputc('\n', f);
		es_print_table(f, rep, title, o->verbose);
	}
	fflush(f);
}

/* Report b - a (a NULL: since the start); 0 or 2. */
static int report(FILE *f, FILE *err, const struct opts *o, const struct es_info *info,
		  const struct es_snap *a, const struct es_snap *b,
		  const char *title, unsigned int block)
{
	struct es_report rep;

	if (es_report(info, a, b, o->all, &rep)) {
		fprintf(err, "exitstat: out of memory\n");
		return 2;
	}
	emit(f, o, &rep, title, block);
	es_report_free(&rep);
	return 0;
}

static int read_snap(struct es_cpu *cpu, const struct es_info *info, struct es_snap *s, FILE *err)
{
	if (!es_snap_read(cpu, info, s))
		return 0;
	fprintf(err, "exitstat: out of memory\n");
	return 2;
}

static int run_intervals(struct es_cpu *cpu, const struct opts *o,
			 const struct es_info *info, FILE *out, FILE *err)
{
	struct es_snap s[2] = { 0 };
	char title[64];
	unsigned int block;
	int rc;

	rc = read_snap(cpu, info, &s[0], err);
	if (!rc)
		rc = report(out, err, o, info, NULL, &s[0], info->global ?
			    "VM exits since kvm was loaded" : "VM exits since the VM started", 0);
	snprintf(title, sizeof(title), "VM exits in the last %" PRIu32 " s", o->interval);
	for (block = 1; !rc && (!o->count || block < o->count); block++) {
		struct es_snap *a = &s[(block - 1) % 2], *b = &s[block % 2];

		es_hooks.sleep(o->interval);
		es_snap_free(b);
		rc = read_snap(cpu, info, b, err);
		if (!rc)
			rc = report(out, err, o, info, a, b, title, block);
	}
	es_snap_free(&s[0]);
	es_snap_free(&s[1]);
	return rc;
}

static int run_command(struct es_cpu *cpu, const struct opts *o,
		       const struct es_info *info, FILE *out, FILE *err)
{
	struct es_snap a = { 0 }, b = { 0 };
	char cmdline[100], title[128];
	size_t n;
	int i, st;

	if (!es_hooks.run) {
		fprintf(err, "exitstat: cannot run commands here\n");
		return 127;
	}
	if (read_snap(cpu, info, &a, err))
		return 2;
	fflush(out);
	fflush(err);
	st = es_hooks.run(o->cmd, err);
	if (st < 0) {
		es_snap_free(&a);
		return 127;
	}
	if (!read_snap(cpu, info, &b, err)) {
		cmdline[0] = 0;
		for (i = 0, n = 0; o->cmd[i] && n < sizeof(cmdline); i++)
			n += snprintf(cmdline + n, sizeof(cmdline) - n, "%s%s",
				      i ? " " : "", o->cmd[i]);
		if (n >= sizeof(cmdline))
			strcpy(cmdline + sizeof(cmdline) - 4, "...");
		snprintf(title, sizeof(title), "VM exits while '%s' ran", cmdline);
		report(err, err, o, info, &a, &b, title, 0);
	}
	es_snap_free(&a);
	es_snap_free(&b);
	return st;
}

int exitstat_main(int argc, char **argv, const struct es_backend *be, FILE *out, FILE *err)
{
	struct opts o = { 0 };
	struct es_cpu cpu = { be, 0 };
	struct es_info info;
	uint32_t r[4];
	int rc;

	rc = parse_args(argc, argv, &o, out, err);
	if (rc >= 0)
		return rc;
	if (o.raw) {
		es_cpuid(&cpu, o.leaf, o.subleaf, r);
		fprintf(out, "   0x%08" PRIx32 " 0x%02" PRIx32 ": eax=0x%08" PRIx32
			" ebx=0x%08" PRIx32 " ecx=0x%08" PRIx32 " edx=0x%08" PRIx32 "\n",
			o.leaf, o.subleaf, r[0], r[1], r[2], r[3]);
		return 0;
	}
	rc = es_detect(&cpu, &info, err);
	if (rc)
		return rc;
	if (o.cmd)
		return run_command(&cpu, &o, &info, out, err);
	return run_intervals(&cpu, &o, &info, out, err);
}
