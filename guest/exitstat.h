/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * exitstat: VM-exit statistics from a patched KVM, in the guest (CPUID leaves
 * 0x4ffffffb..0x4fffffff, docs/cpuid-abi.md) or on the host (debugfs). The
 * code follows the data:
 *
 *   source_cpuid.c    the guest's source: CPUID leaves -> snapshots
 *   source_debugfs.c  the host's source: debugfs files -> snapshots per VM
 *   report.c          two snapshots -> one report (rows), names, filters
 *   format_*.c        reports -> table, line, JSON, CSV, Prometheus
 *   cli.c             the command line: which source, which format; the
 *                     terminal of --host --live
 *   exitstat.c        main() and the runner of `exitstat -- COMMAND`
 *
 * Everything but exitstat.c is linked into the unit tests, which drive the
 * whole CLI with a fake CPUID and fake debugfs trees.
 */
#ifndef EXITSTAT_H
#define EXITSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef ES_VERSION
#error "ES_VERSION comes from debian/changelog, through guest/Makefile"
#endif
#define ES_ABI_VERSION		1

#define ES_LEAF_INFO		0x4ffffffbu
#define ES_LEAF_CYCLES		0x4ffffffcu
#define ES_LEAF_COUNT		0x4ffffffdu
#define ES_LEAF_TOTAL_CYCLES	0x4ffffffeu
#define ES_LEAF_TOTAL		0x4fffffffu
#define ES_SIGNATURE		"KVMExitStats"	/* EBX:ECX:EDX of ES_LEAF_INFO */
#define ES_LEAF_HV		0x40000000u	/* max leaf, hypervisor signature */
#define ES_LEAF_TIMING		0x40000010u	/* EAX: TSC kHz (QEMU/KVM, VMware) */

#define ES_ISA_VMX		1
#define ES_ISA_SVM		2

/*
 * ES_LEAF_INFO's EAX: bits 15:0 the highest defined reason, 23:16 the ABI
 * version, 24 global scope, 25 cycles not counted (kvm.exit_stats=counts),
 * 27:26 reserved, 31:28 the ISA. A bit this exitstat does not know is
 * ignored: new features take reserved bits, only an incompatible change
 * takes a new version.
 */
#define ES_INFO_GLOBAL		(1u << 24)
#define ES_INFO_CYCLES_OFF	(1u << 25)

#define ES_DEBUGFS		"/sys/kernel/debug/kvm"

/*
 * exitstat's exit statuses (exitstat.1, EXIT STATUS). With -- COMMAND, the
 * command's status if exitstat itself succeeded, else ES_EXIT_CMD_OWN, as
 * env(1), nice(1) and timeout(1) do; 126 and 127 as the shell gives them.
 */
#define ES_EXIT_USAGE		1	/* bad arguments, or a write error */
#define ES_EXIT_NO_STATS	2	/* no statistics, out of memory */
#define ES_EXIT_SKIPPED		3	/* host: a VM's file was bad, left out */
#define ES_EXIT_NO_MATCH	4	/* host: no VM matches -p, -g, --vcpu */
#define ES_EXIT_CMD_OWN		125	/* -- COMMAND: exitstat's own error */
#define ES_EXIT_CMD_NOEXEC	126	/* -- COMMAND: found, cannot be run */
#define ES_EXIT_CMD_NOTFOUND	127	/* -- COMMAND: not found */

/* What es_hooks.run returns when the command did not start. */
#define ES_RUN_NOT_FOUND	(-1)	/* execvp(): ENOENT */
#define ES_RUN_CANNOT_EXEC	(-2)	/* execvp(): any other error */
#define ES_RUN_FAILED		(-3)	/* exitstat's own: pipe(), fork() */

/* ------------------------------------------------------------------ */
/* What the unit tests replace */

/* Where CPUID answers come from: the instruction, or a test's fake. */
struct es_backend {
	void (*cpuid)(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t r[4]);
	void *ctx;
};
extern const struct es_backend es_cpuid_backend;

struct es_clock {
	double mono;			/* seconds, monotonic */
	double wall;			/* seconds since 1970, UTC */
};

/* What exitstat_main() needs beyond CPUID; main() and the tests fill it. */
struct es_hooks {
	/* Run argv; exit status, 128 + signal if killed, or ES_RUN_*. */
	int (*run)(char *const argv[], FILE *err);
	void (*sleep)(unsigned int seconds);
	void (*clock)(struct es_clock *now);
	/* The host's TSC rate in kHz, 0 if unknown (source_debugfs.c). */
	uint32_t (*host_tsc_khz)(void);
	const char *proc;		/* where /proc is: "/proc" */
};
extern struct es_hooks es_hooks;

/* ------------------------------------------------------------------ */
/* Snapshots, from either source */

/* A value read, and how many of exitstat's own CPUID exits it includes. */
struct es_val {
	uint64_t v, own;
};

/*
 * The CPUID reason and the totals, read together before and after the
 * guest's sweep over the reasons. A source without own exits (the host's)
 * sets head and tail alike, with own 0.
 */
struct es_group {
	struct es_val cpuid_exits, cpuid_cycles, exits, cycles;
};

struct es_snap {
	unsigned int n;			/* reasons 0..n-1 */
	uint64_t *exits, *cycles;	/* the CPUID reason's are in head/tail */
	uint8_t *undef;			/* not defined by the vendor's manual */
	char **names;			/* NULL, or the source's own names */
	struct es_group head, tail;
	struct es_clock t;		/* when it was read */
	/* host: the file's "clamped N" line, if it had one */
	bool has_clamped;
	uint64_t clamped;
	/*
	 * host: of exits[] and cycles[], those taken while the VM ran a
	 * nested guest (L2), from its "l2" lines; NULL if it had none
	 */
	uint64_t *l2_exits, *l2_cycles;
	uint64_t l2_total_exits, l2_total_cycles;	/* with "l2 other" */
	/*
	 * host, kvm.exit_stats=hist: the file's "buckets" line, nbounds
	 * ascending bounds (0: no histogram, hist NULL), and per reason its
	 * "hist" line, nbounds + 1 counts of exits by their handling cycles:
	 * bucket 0 below bounds[0], bucket i from bounds[i - 1] up to below
	 * bounds[i], the last one bounds[nbounds - 1] and above. hist[] holds
	 * reason r's at r * (nbounds + 1), then other's, hist_other, in the
	 * same block.
	 */
	unsigned int nbounds;
	uint64_t *bounds, *hist, *hist_other;
};
int es_snap_alloc(struct es_snap *s, unsigned int n, bool names);
void es_snap_free(struct es_snap *s);

/* What a report needs to know about where a snapshot came from. */
struct es_info {
	unsigned int isa, version, max_reason, cpuid_reason;
	bool global;
	bool cycles_off;		/* kvm.exit_stats=counts: cycles read 0 */
	uint32_t tsc_khz;		/* the host's TSC rate; 0: unknown */
	const char *tsc_source;		/* where tsc_khz came from */
};
void es_info_isa(struct es_info *info, unsigned int isa);

/* ------------------------------------------------------------------ */
/* The guest's source: CPUID */

/* A CPUID through the backend; every one is a VM exit, so count them. */
struct es_cpu {
	const struct es_backend *be;
	uint64_t calls;
};
void es_cpuid(struct es_cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t r[4]);

static inline uint64_t es_leaf_count(const uint32_t r[4])	/* EBX:EAX */
{
	return (uint64_t)r[1] << 32 | r[0];
}

static inline uint64_t es_leaf_cycles(const uint32_t r[4])	/* EBX:ECX */
{
	return (uint64_t)r[1] << 32 | r[2];
}

/* Check for a hypervisor with the ABI: 0, or 2 after a message on err. */
int es_detect(struct es_cpu *cpu, struct es_info *info, FILE *err);
int es_snap_read(struct es_cpu *cpu, const struct es_info *info, struct es_snap *s);

/* ------------------------------------------------------------------ */
/* The host's source: /sys/kernel/debug/kvm/<pid>-<fd>/[vcpu<N>/]exit_stats */

struct es_vm {
	char dir[32];			/* "<pid>-<fd>" */
	int pid, fd;
	char name[64];			/* QEMU's -name, else the comm */
	unsigned int all_vcpus;		/* vcpu<N> directories */
	unsigned int nvcpus;		/* of those, the selected ones (all, or --vcpu's) */
	int *vcpu_ids;			/* their N, ascending */
	struct es_info info;
	struct es_snap snap;		/* the whole VM */
	struct es_snap *vcpus;		/* per vCPU, with es_host_read(vcpus) */
};

struct es_host {
	unsigned int nvms;
	struct es_vm *vms;		/* by pid, then fd */
	struct es_clock t;
	unsigned int skipped;		/* VMs whose files could not be read */
};
/* Which VMs and vCPUs es_host_read() reads. */
struct es_host_sel {
	int pid;			/* 0: any */
	const char *const *names;	/* shell patterns (fnmatch) for the name; */
	unsigned int nnames;		/*  a VM matches any; none: all VMs */
	int vcpu;			/* >= 0: that vCPU's file only; VMs without it left out */
	bool vcpus;			/* every vCPU's file too */
};
/*
 * The VMs that sel selects; 0, or after a message on err: 2, or
 * ES_EXIT_NO_MATCH if sel selects something and no VM matches it. A VM
 * whose file cannot be read or parsed is left out, with a warning on err,
 * and counted in skipped; if that leaves no VM, it is 2.
 */
int es_host_read(const char *root, const struct es_host_sel *sel, struct es_host *h, FILE *err);
void es_host_free(struct es_host *h);
/* One exit_stats file's text: 0, or -1 with why (line number and cause). */
int es_host_parse(const char *text, size_t len, struct es_info *info,
		  struct es_snap *s, char *why, size_t whylen);
/* QEMU's -name guest=NAME,... or -name NAME from a NUL-separated cmdline. */
bool es_qemu_name(const char *cmdline, size_t len, char *name, size_t namelen);

/* ------------------------------------------------------------------ */
/* Reports: two snapshots -> rows */

struct es_row {
	uint32_t reason;
	uint64_t exits, cycles;
	uint64_t l2_exits, l2_cycles;	/* host: of those, while L2 ran */
	char name[40];
	const uint64_t *hist;		/* host, kvm.exit_stats=hist: its counts, else NULL */
};

enum es_sort { ES_SORT_EXITS, ES_SORT_CYCLES, ES_SORT_REASON };

/* Which rows, in which order. */
struct es_select {
	bool all;			/* reasons with no exits too */
	enum es_sort sort;
	const uint32_t *only;		/* -e: these reasons only, if nonly */
	unsigned int nonly;
};

struct es_report {
	const struct es_info *info;
	unsigned int nrows;
	struct es_row *rows;
	uint64_t total_exits, total_cycles;	/* all reasons, whatever -e */
	/*
	 * host: the exits with no reason (the file's "other" line), the
	 * totals less every reason's (whatever -e); 0 in the guest, whose
	 * sweep is not one instant
	 */
	uint64_t other_exits, other_cycles;
	uint64_t own_exits, own_cycles;	/* excluded; the cycles estimated */
	bool has_clamped;		/* host: clamped cycle windows, b minus a */
	uint64_t clamped;
	bool has_l2;			/* host: b has exits taken while L2 ran */
	uint64_t l2_exits, l2_cycles;	/* of the totals, while L2 ran */
	/*
	 * host, kvm.exit_stats=hist: b's bucket bounds (nbounds 0: none), and
	 * nbounds + 1 counts each, b minus a: the rows' (their hist), other's,
	 * and all reasons' together (whatever -e), in hist
	 */
	unsigned int nbounds;
	const uint64_t *bounds;
	uint64_t *hist;
	const uint64_t *other_hist, *total_hist;
	const struct es_snap *snap;	/* for the undefined reasons */
	/* when: filled by es_report() */
	bool delta;			/* false: since the start */
	double interval;		/* seconds from a to b; 0 if !delta */
	double time;			/* b's wall clock */
	/* filled by the caller */
	unsigned int block;		/* 0, 1, ... */
	double elapsed;			/* seconds since block 0 */
	int pid;			/* host: the VM's; 0 in the guest */
	const char *vm;			/* host: its name */
	int vcpu;			/* host: -1 for the whole VM */
	unsigned int nvcpus;
};
/* b minus a (a NULL: since the start), own CPUID exits excluded. */
int es_report(const struct es_info *info, const struct es_snap *a,
	      const struct es_snap *b, const struct es_select *sel, struct es_report *rep);
void es_report_free(struct es_report *rep);
void es_sort_rows(struct es_row *rows, unsigned int n, enum es_sort key);

/*
 * What the formats show of a histogram: p50, p99 and max, each the
 * bucket where the cumulative count first reaches pct % of the count,
 * rounded up (max: 100 %, the highest nonempty bucket).
 */
#define ES_HIST_STATS	3
extern const struct es_hist_stat {
	const char *name;		/* "p50", "p99", "max" */
	unsigned int pct;
} es_hist_stats[ES_HIST_STATS];
/*
 * That bucket of h (nbounds + 1 counts): -1 if they are all 0; else 0
 * with its upper bound (exclusive) in *cycles, or 1 for the top bucket,
 * which has none, with its lower bound in *cycles.
 */
int es_hist_quantile(const uint64_t *bounds, unsigned int nbounds, const uint64_t *h,
		     unsigned int pct, uint64_t *cycles);

void es_reason_name(unsigned int isa, uint32_t reason, char *buf, size_t len);
/* A name as es_reason_name() gives it (any case, '_' for ' '), or a number. */
int es_reason_lookup(unsigned int isa, const char *s, uint32_t *reason);
bool es_name_eq(const char *a, const char *b);
int es_parse_u32(const char *s, uint32_t *v);

/* ------------------------------------------------------------------ */
/* Formats: reports -> text */

struct es_fmt {
	const char *title;		/* table: what the block is */
	bool verbose;			/* table: ABI details, undefined reasons */
	bool header;			/* table, line, CSV: column headers */
	bool stamps;			/* table, line: wall-clock time */
	bool rates;			/* table, line: exits per second */
	unsigned int top;		/* line: the top reasons shown */
	bool l2;			/* line: an "l2 exits" column (host, L2 split known) */
	bool hist;			/* table: p50, p99, max columns (host, histograms) */
};

void es_print_table(FILE *f, const struct es_report *rep, const struct es_fmt *fmt);
void es_print_line_header(FILE *f, const struct es_report *rep, const struct es_fmt *fmt);
void es_print_line(FILE *f, const struct es_report *rep, const struct es_fmt *fmt);
void es_print_json(FILE *f, const struct es_report *rep);
void es_print_csv(FILE *f, const struct es_report *rep, bool header);
void es_print_prom(FILE *f, const struct es_report *reps, unsigned int n);

/* Shared by the formats (format.c). */
const char *es_isa_name(unsigned int isa);
void es_reason_str(char *buf, size_t len, unsigned int isa, uint32_t reason);
void es_stamp(char *buf, size_t len, double wall, bool date);
double es_seconds(const struct es_info *info, uint64_t cycles);
void es_print_escaped(FILE *f, const char *s, const char *quote);

/* ------------------------------------------------------------------ */
/* The live view's terminal (cli.c) */

struct es_live {
	int in;				/* keys from here; -1: none (not a terminal) */
	int out;			/* the terminal drawn on */
	unsigned int rows, cols;	/* its size, read again when it changes */
};
/* Keys from in (raw mode, if a terminal), SIGINT and SIGTERM to quit; 0. */
int es_live_start(struct es_live *l, int in, int out);
void es_live_stop(struct es_live *l);	/* the terminal as it was */
/*
 * Up to seconds for a key: it, 0 if none came, ES_LIVE_RESIZE if the
 * terminal's size changed (SIGWINCH; l has the new size), -1 to quit (a
 * signal).
 */
#define ES_LIVE_RESIZE	0x100
int es_live_key(struct es_live *l, unsigned int seconds);
void es_live_draw(FILE *f, const struct es_live *l, const char *text);
/* How es_live_key() waits: poll(); the unit tests replace it. */
extern int (*es_live_wait)(int fd, unsigned int seconds);

/* ------------------------------------------------------------------ */

/* The whole command line; returns the exit status. */
int exitstat_main(int argc, char **argv, const struct es_backend *be, FILE *out, FILE *err);

#endif /* EXITSTAT_H */
