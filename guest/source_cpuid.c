// SPDX-License-Identifier: GPL-2.0-only
/*
 * exitstat, the guest's source: detection and snapshots through the CPUID
 * leaves of docs/cpuid-abi.md.
 */
#define _POSIX_C_SOURCE 200809L
#include <cpuid.h>
#include <string.h>

#include "exitstat.h"

static void real_cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	(void)ctx;
	__cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
}

const struct es_backend es_cpuid_backend = { real_cpuid, NULL };

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

/* The 12 signature bytes, printable ones only, without outer spaces. */
static void regs_str(char *s, const uint32_t r[3], bool printable)
{
	char raw[12];
	int i, n = 0;

	memcpy(raw, r, sizeof(raw));
	for (i = 0; i < 12; i++)
		if (!printable || (raw[i] >= 0x20 && raw[i] < 0x7f))
			s[n++] = raw[i];
	s[n] = 0;
	if (!printable)
		return;
	while (n && s[n - 1] == ' ')
		s[--n] = 0;
	for (i = 0; s[i] == ' '; i++)
		;
	memmove(s, s + i, n - i + 1);
}

/* The hypervisors' signatures in leaf 0x40000000, and their usual names. */
static const struct {
	const char *sig, *name;
} hv_names[] = {
	{ "KVMKVMKVM", "KVM" }, { "bhyve bhyve", "bhyve" },
	{ "Microsoft Hv", "Hyper-V" }, { "VMwareVMware", "VMware" },
	{ "XenVMMXenVMM", "Xen" }, { "TCGTCGTCGTCG", "QEMU TCG" },
	{ "ACRNACRNACRN", "ACRN" }, { "VBoxVBoxVBox", "VirtualBox" },
	{ "lrpepyh  vr", "Parallels" }, { "QNXQVMBSQG", "QNX" },
};

static const char *hv_name(const char *sig)
{
	size_t i;

	for (i = 0; i < sizeof(hv_names) / sizeof(hv_names[0]); i++)
		if (!strcmp(sig, hv_names[i].sig))
			return hv_names[i].name;
	return *sig ? sig : "unnamed";
}

int es_detect(struct es_cpu *cpu, struct es_info *info, FILE *err)
{
	uint32_t r[4];
	char sig[13];
	const char *hv;

	memset(info, 0, sizeof(*info));
	es_cpuid(cpu, 1, 0, r);
	if (!(r[2] & 1u << 31)) {
		fprintf(err, "exitstat: not running under a hypervisor\n");
		return 2;
	}
	es_cpuid(cpu, ES_LEAF_INFO, 0, r);
	regs_str(sig, r + 1, false);
	if (memcmp(sig, ES_SIGNATURE, 12)) {
		es_cpuid(cpu, ES_LEAF_HV, 0, r);
		regs_str(sig, r + 1, true);
		hv = hv_name(sig);
		if (!strcmp(hv, "KVM"))
			fprintf(err, "exitstat: the hypervisor (KVM) does not provide exit statistics: no patched KVM, or kvm.exit_stats=0\n");
		else
			fprintf(err, "exitstat: the hypervisor (%s) does not provide exit statistics\n", hv);
		return 2;
	}
	info->max_reason = r[0] & 0xffff;
	info->version = r[0] >> 16 & 0xff;
	info->global = !!(r[0] & ES_INFO_GLOBAL);
	info->cycles_off = !!(r[0] & ES_INFO_CYCLES_OFF);
	/* bits 27:26 are reserved: ignored, as every bit this exitstat does not know */
	if (info->version != ES_ABI_VERSION) {
		fprintf(err, "exitstat: the hypervisor speaks exit-statistics ABI version %u; this exitstat reads version %u\n",
			info->version, ES_ABI_VERSION);
		return 2;
	}
	es_info_isa(info, r[0] >> 28);
	if (info->isa != ES_ISA_VMX && info->isa != ES_ISA_SVM) {
		fprintf(err, "exitstat: unknown exit-reason ISA %u in leaf 0x%x (known: 1 = Intel VMX, 2 = AMD SVM)\n",
			info->isa, ES_LEAF_INFO);
		return 2;
	}
	/* The timing leaf, where the hypervisor's max leaf reaches it. */
	es_cpuid(cpu, ES_LEAF_HV, 0, r);
	if (r[0] >= ES_LEAF_TIMING && r[0] < ES_LEAF_HV + 0x100) {
		es_cpuid(cpu, ES_LEAF_TIMING, 0, r);
		if (r[0]) {
			info->tsc_khz = r[0];
			info->tsc_source = "CPUID 0x40000010";
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Snapshots */

static void read_group(struct es_cpu *cpu, const struct es_info *info, struct es_group *g)
{
	g->cpuid_exits = read_count(cpu, ES_LEAF_COUNT, info->cpuid_reason);
	g->exits = read_count(cpu, ES_LEAF_TOTAL, 0);
	g->cpuid_cycles = read_cycles(cpu, ES_LEAF_CYCLES, info->cpuid_reason);
	g->cycles = read_cycles(cpu, ES_LEAF_TOTAL_CYCLES, 0);
}

/*
 * SVM exit codes 0xa7-0x3ff: no AMD manual defines one (the APM, rev. 3.42,
 * ends at 0xa5; Linux 7.3 adds 0xa6), so a snapshot does not ask KVM about
 * them, which saves 857 CPUID exits of its 1,040. Were a later KVM to count
 * one, it would still be in the totals, as exits with no reason.
 */
#define SVM_UNDEFINED_FIRST	0xa7
#define SVM_UNDEFINED_LAST	0x3ff

/*
 * head, a sweep over all other reasons, tail. A report from snapshot a to b
 * uses a's tail and b's head, so only the few CPUIDs between those are
 * exitstat's own: the sweeps fall outside the window.
 */
int es_snap_read(struct es_cpu *cpu, const struct es_info *info, struct es_snap *s)
{
	uint32_t r[4], i;

	if (es_snap_alloc(s, info->max_reason + 1, false))
		return -1;
	es_hooks.clock(&s->t);
	read_group(cpu, info, &s->head);
	for (i = 0; i < s->n; i++) {
		if (i == info->cpuid_reason)
			continue;
		if (info->isa == ES_ISA_SVM && i >= SVM_UNDEFINED_FIRST && i <= SVM_UNDEFINED_LAST) {
			s->undef[i] = 1;
			continue;
		}
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
