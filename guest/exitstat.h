/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * exitstat: read the VM-exit statistics a patched KVM publishes through
 * CPUID leaves 0x4ffffffb..0x4fffffff (docs/cpuid-abi.md). Everything but
 * main() and the fork/exec runner lives in exitstat_core.c, so the unit
 * tests drive the whole CLI with a fake CPUID.
 */
#ifndef EXITSTAT_H
#define EXITSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ES_VERSION		"1.0"
#define ES_ABI_VERSION		1

#define ES_LEAF_INFO		0x4ffffffbu
#define ES_LEAF_CYCLES		0x4ffffffcu
#define ES_LEAF_COUNT		0x4ffffffdu
#define ES_LEAF_TOTAL_CYCLES	0x4ffffffeu
#define ES_LEAF_TOTAL		0x4fffffffu
#define ES_SIGNATURE		"KVMExitStats"	/* EBX:ECX:EDX of ES_LEAF_INFO */

#define ES_ISA_VMX		1
#define ES_ISA_SVM		2

/* Where CPUID answers come from: the instruction, or a test's fake. */
struct es_backend {
	void (*cpuid)(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t r[4]);
	void *ctx;
};
extern const struct es_backend es_cpuid_backend;

/* What exitstat_main() needs beyond CPUID; main() and the tests fill it. */
struct es_hooks {
	/* Run argv; exit status, 128 + signal if killed, -1 if not started. */
	int (*run)(char *const argv[], FILE *err);
	void (*sleep)(unsigned int seconds);
};
extern struct es_hooks es_hooks;

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

struct es_info {
	unsigned int isa, version, max_reason, cpuid_reason;
	bool global;
};
/* Check for a hypervisor with the ABI: 0, or 2 after a message on err. */
int es_detect(struct es_cpu *cpu, struct es_info *info, FILE *err);

/* A value read, and how many of exitstat's own CPUID exits it includes. */
struct es_val {
	uint64_t v, own;
};

/* The CPUID reason and the totals, read together before and after a sweep. */
struct es_group {
	struct es_val cpuid_exits, cpuid_cycles, exits, cycles;
};

struct es_snap {
	unsigned int n;			/* reasons 0..n-1 */
	uint64_t *exits, *cycles;	/* the CPUID reason's are in head/tail */
	uint8_t *undef;			/* not defined by the vendor's manual */
	struct es_group head, tail;
};
int es_snap_read(struct es_cpu *cpu, const struct es_info *info, struct es_snap *s);
void es_snap_free(struct es_snap *s);

struct es_row {
	uint32_t reason;
	uint64_t exits, cycles;
	char name[40];
};

struct es_report {
	const struct es_info *info;
	unsigned int nrows;
	struct es_row *rows;		/* sorted: exits descending, then reason */
	uint64_t total_exits, total_cycles;
	uint64_t own_exits, own_cycles;	/* excluded; the cycles estimated */
	const struct es_snap *snap;	/* for the undefined reasons */
};
/* b minus a (a NULL: since the start), own CPUID exits excluded. */
int es_report(const struct es_info *info, const struct es_snap *a,
	      const struct es_snap *b, bool all, struct es_report *rep);
void es_report_free(struct es_report *rep);
void es_sort_rows(struct es_row *rows, unsigned int n);

void es_reason_name(unsigned int isa, uint32_t reason, char *buf, size_t len);
int es_parse_u32(const char *s, uint32_t *v);

void es_print_table(FILE *f, const struct es_report *rep, const char *title, bool verbose);
void es_print_json(FILE *f, const struct es_report *rep);
void es_print_csv(FILE *f, const struct es_report *rep, unsigned int block, bool header);

/* The whole command line; returns the exit status. */
int exitstat_main(int argc, char **argv, const struct es_backend *be, FILE *out, FILE *err);

#endif /* EXITSTAT_H */
