// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of exitstat (guest/): the whole CLI driven through
 * exitstat_main() with a fake CPUID that behaves like the patched KVM of
 * docs/cpuid-abi.md: every CPUID is a VM exit, counted before the answer,
 * its cycles added after it. Built and run by `make -C guest check`.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

/* ------------------------------------------------------------------ */
/* The fake hypervisor */

#define FMAX		0x404
#define VMX_CPUID	10
#define VMX_HLT		12
#define VMX_IO		30
#define VMX_EPT		48
#define SVM_CPUID	0x72

struct fake {
	bool hv, patched, global;
	bool cycles_off;		/* discovery bit 25: the cycles leaves answer 0 */
	uint32_t reserved;		/* discovery bits 27:26, which exitstat ignores */
	char hvsig[12];
	uint32_t tsc_khz;		/* leaf 0x40000010, if not 0 */
	uint32_t isa, version, max, cpuid_reason;
	uint64_t exits[FMAX], cycles[FMAX], total_exits, total_cycles;
	bool undef[FMAX];
	uint64_t cpuid_cost;		/* cycles of each CPUID exit */
	uint64_t calls;
	uint64_t total_reads[64];	/* call numbers of the 0x4fffffff reads */
	unsigned int ntotal_reads, marks[8], nmarks;
	unsigned int nsleeps, slept;
	int run_status, nruns;
};
static struct fake F;

static void fake_exit(uint32_t reason, uint64_t n, uint64_t cycles)
{
	F.exits[reason] += n;
	F.cycles[reason] += cycles;
	F.total_exits += n;
	F.total_cycles += cycles;
}

static void fake_init(uint32_t isa)
{
	uint32_t i;

	memset(&F, 0, sizeof(F));
	clock_reset();
	F.hv = F.patched = true;
	memcpy(F.hvsig, "KVMKVMKVM\0\0\0", 12);
	F.isa = isa;
	F.version = 1;
	F.cpuid_cost = 100;
	if (isa == ES_ISA_SVM) {
		F.max = 0x403;
		F.cpuid_reason = SVM_CPUID;
		for (i = 0xa6; i < 0x400; i++)
			F.undef[i] = true;
	} else {
		F.max = 77;
		F.cpuid_reason = VMX_CPUID;
		F.undef[35] = F.undef[38] = F.undef[42] = F.undef[71] = true;
	}
}

static void put64(uint32_t *lo, uint32_t *hi, uint64_t v)
{
	*lo = (uint32_t)v;
	*hi = v >> 32;
}

static void fake_cpuid(void *ctx, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	bool defined = sub <= F.max && !F.undef[sub];

	(void)ctx;
	F.calls++;
	if (F.hv)
		fake_exit(F.cpuid_reason, 1, 0);
	r[0] = r[1] = r[2] = r[3] = 0;
	switch (leaf) {
	case 1:
		r[2] = F.hv ? 1u << 31 : 0;
		break;
	case 0x40000000:
		r[0] = F.tsc_khz ? 0x40000010 : 0x40000001;
		memcpy(r + 1, F.hvsig, 12);
		break;
	case 0x40000010:
		r[0] = F.tsc_khz;
		break;
	case ES_LEAF_INFO:
		if (!F.patched)
			break;
		r[0] = F.max | F.version << 16 | (uint32_t)F.global << 24 |
		       (uint32_t)F.cycles_off << 25 | F.reserved << 26 | F.isa << 28;
		memcpy(r + 1, "KVMExitStats", 12);
		break;
	case ES_LEAF_COUNT:
	case ES_LEAF_CYCLES:
		if (!F.patched)
			break;
		/* every defined reason answers, whether KVM has a handler or not */
		if (!defined)
			r[3] = 0xffffffff;
		else if (leaf == ES_LEAF_COUNT)
			put64(&r[0], &r[1], F.exits[sub]);
		else if (!F.cycles_off)
			put64(&r[2], &r[1], F.cycles[sub]);
		break;
	case ES_LEAF_TOTAL:
		if (!F.patched)
			break;
		put64(&r[0], &r[1], F.total_exits);
		if (F.ntotal_reads < 64)
			F.total_reads[F.ntotal_reads++] = F.calls;
		break;
	case ES_LEAF_TOTAL_CYCLES:
		if (F.patched && !F.cycles_off)
			put64(&r[2], &r[1], F.total_cycles);
		break;
	}
	if (F.hv)
		fake_exit(F.cpuid_reason, 0, F.cpuid_cost);
}

static const struct es_backend fake_be = { fake_cpuid, NULL };

/* Something else runs in the VM: known exits, and a mark for own_window(). */
static void disturb(void)
{
	fake_exit(VMX_HLT, 5, 5000);
	fake_exit(VMX_IO, 3, 30000);
	fake_exit(F.cpuid_reason, 7, 700);
	F.total_exits += 2;		/* exits without a reason */
	F.total_cycles += 200;
	F.marks[F.nmarks++] = F.ntotal_reads;
}

/* exitstat's own CPUIDs between the total reads around the k-th disturbance */
static uint64_t own_window(unsigned int k)
{
	unsigned int m = F.marks[k];

	return F.total_reads[m] - F.total_reads[m - 1];
}

static int fake_run(char *const argv[], FILE *err)
{
	(void)argv;
	(void)err;
	F.nruns++;
	if (F.run_status >= 0)
		disturb();
	return F.run_status;
}

static void fake_sleep(unsigned int seconds)
{
	F.nsleeps++;
	F.slept += seconds;
	clock_advance(seconds);
	disturb();
}

/* ------------------------------------------------------------------ */
/* Harness */

static int ntests, npassed, nfailed;
bool ok;
char *OUT, *ERR;
const char *exitstat_bin;
static double now;		/* the fake clock: seconds since 1700000000 */

void fake_clock(struct es_clock *c)
{
	c->mono = 1000 + now;
	c->wall = 1700000000 + now;
}

void clock_advance(unsigned int seconds)
{
	now += seconds;
}

void clock_reset(void)
{
	now = 0;
}

void test(const char *name, void (*fn)(void))
{
	ok = true;
	now = 0;
	fn();
	ntests++;
	printf("%s %d %s\n", ok ? "ok" : "not ok", ntests, name);
	if (ok)
		npassed++;
	else
		nfailed++;
}

int run_to(FILE *out, const char *args)
{
	char buf[512], *argv[32], *t;
	size_t n;
	int argc = 0, rc;
	FILE *o = NULL, *e;

	free(OUT);
	free(ERR);
	OUT = NULL;
	argv[argc++] = "exitstat";
	snprintf(buf, sizeof(buf), "%s", args);
	for (t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	if (!out)
		out = o = open_memstream(&OUT, &n);
	e = open_memstream(&ERR, &n);
	rc = exitstat_main(argc, argv, &fake_be, out, e);
	if (o)
		fclose(o);
	else
		OUT = strdup("");
	fclose(e);
	return rc;
}

int run(const char *args)
{
	return run_to(NULL, args);
}

unsigned int count_str(const char *s, const char *sub)
{
	unsigned int n = 0;

	while ((s = strstr(s, sub))) {
		n++;
		s += strlen(sub);
	}
	return n;
}

bool tmp_file(char *path, const char *s)
{
	int fd;
	FILE *f;

	snprintf(path, 64, "/tmp/test_exitstat.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || !(f = fdopen(fd, "w")))
		return false;
	fputs(s, f);
	return !fclose(f);
}

int sh_check(const char *tool, const char *fmt, const char *path)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	if (system(cmd)) {
		/* tests/unit/unit.sh installs them and sets this: never skip there */
		if (getenv("EXITSTAT_TEST_TOOLS_REQUIRED")) {
			printf("# %s not found, and it is required\n", tool);
			return 1;
		}
		printf("# %s not found: not checked\n", tool);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), fmt, path);
	return system(cmd) ? 1 : 0;
}

/*
 * tool_accepts: TEXT in a file of its own, checked by TOOL's command (FMT,
 * with %s for the file's path): true when it passes or TOOL is missing
 * where that is allowed (sh_check).
 */
bool tool_accepts(const char *tool, const char *fmt, const char *text)
{
	char path[64];
	int rc;

	if (!tmp_file(path, text))
		return false;
	rc = sh_check(tool, fmt, path);
	unlink(path);
	return rc == 0 || rc == -1;
}

/* The standard scene: VMX, four reasons, one tie, a pre-existing CPUID count. */
static void scene(void)
{
	fake_init(ES_ISA_VMX);
	fake_exit(VMX_EPT, 5000, 150000000);
	fake_exit(1, 1200, 2400000);
	fake_exit(VMX_IO, 1200, 9600000);
	F.exits[VMX_CPUID] = 600;
	F.cycles[VMX_CPUID] = 1200000;
	F.total_exits += 600;
	F.total_cycles += 1200000;
}

/* ------------------------------------------------------------------ */
/* Tests */

static void t_reassembly(void)
{
	uint32_t r[4] = { 0x00000005, 0x00000001, 0x00000007, 0 };

	CHECK(es_leaf_count(r) == 0x100000005ull);
	CHECK(es_leaf_cycles(r) == 0x100000007ull);
	r[0] = r[1] = r[2] = 0xffffffff;
	CHECK(es_leaf_count(r) == UINT64_MAX);
	CHECK(es_leaf_cycles(r) == UINT64_MAX);

	scene();
	fake_exit(VMX_HLT, 0x100000005ull, 0x300000007ull);
	CHECK(run("--json") == 0);
	CHECK(strstr(OUT, "{\"reason\":12,\"name\":\"HLT\",\"exits\":4294967301,\"cycles\":12884901895}"));
	CHECK(strstr(OUT, "\"total_exits\":4294975301,"));
}

static void t_parse_u32(void)
{
	static const char *bad[] = { "", "0x", "0X", "-1", "+1", " 1", "1 ", "4294967296",
		"0x100000000", "0x1g", "1e3", "1.5", "x", "99999999999999999999999",
		"0b1", "--1", "0x-1", "1x" };
	uint32_t v;
	unsigned int i;

	CHECK(!es_parse_u32("0", &v) && v == 0);
	CHECK(!es_parse_u32("4294967295", &v) && v == UINT32_MAX);
	CHECK(!es_parse_u32("0xffffffff", &v) && v == UINT32_MAX);
	CHECK(!es_parse_u32("0XAbC", &v) && v == 0xabc);
	CHECK(!es_parse_u32("010", &v) && v == 10);
	CHECK(!es_parse_u32("0x00000000000000001", &v) && v == 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		if (es_parse_u32(bad[i], &v) != -1 || v != 42) {
			printf("# accepted '%s'\n", bad[i]);
			ok = false;
		}
	}
}

static void t_names(void)
{
	char b[40];

	es_reason_name(ES_ISA_VMX, 10, b, sizeof(b));
	CHECK_STR(b, "CPUID");
	es_reason_name(ES_ISA_VMX, 48, b, sizeof(b));
	CHECK_STR(b, "EPT_VIOLATION");
	es_reason_name(ES_ISA_VMX, 77, b, sizeof(b));
	CHECK_STR(b, "vmx_77");
	es_reason_name(ES_ISA_SVM, 0x72, b, sizeof(b));
	CHECK_STR(b, "cpuid");
	es_reason_name(ES_ISA_SVM, 0x40 + 14, b, sizeof(b));
	CHECK_STR(b, "PF excp");
	es_reason_name(ES_ISA_SVM, 0x400, b, sizeof(b));
	CHECK_STR(b, "npf");
	es_reason_name(ES_ISA_SVM, 0xa3, b, sizeof(b));
	CHECK_STR(b, "svm_0xa3");
	/* SVM_EXIT_ERR (-1) and the SEV codes (0x8000xxxx) name no reason */
	es_reason_name(ES_ISA_SVM, 0xffff, b, sizeof(b));
	CHECK_STR(b, "svm_0xffff");
	es_reason_name(ES_ISA_SVM, 0x0001, b, sizeof(b));
	CHECK_STR(b, "svm_0x1");
}

static void t_sort(void)
{
	struct es_row r[5] = {
		{ .reason = 30, .exits = 7 }, { .reason = 2, .exits = 9 },
		{ .reason = 1, .exits = 7 }, { .reason = 0, .exits = 0 },
		{ .reason = 77, .exits = UINT64_MAX },
	};

	es_sort_rows(r, 5, ES_SORT_EXITS);
	CHECK(r[0].reason == 77 && r[1].reason == 2 && r[2].reason == 1 &&
	      r[3].reason == 30 && r[4].reason == 0);
}

static const char golden_vmx[] =
	"VM exits since the VM started, all vCPUs of this VM (Intel VMX)\n"
	"reason  name                      exits           cycles  cycles/exit  %exits %cycles\n"
	"    48  EPT_VIOLATION              5000        150000000        30000   62.50   91.91\n"
	"     1  EXTERNAL_INTERRUPT         1200          2400000         2000   15.00    1.47\n"
	"    30  IO_INSTRUCTION             1200          9600000         8000   15.00    5.88\n"
	"    10  CPUID                       600          1200000         2000    7.50    0.74\n"
	"        total                      8000        163200000        20400  100.00  100.00\n"
	"Excluded: exitstat's own 5 CPUID exits (about 600 cycles).\n";

static void t_table_golden(void)
{
	scene();
	CHECK(run("") == 0);
	CHECK_STR(OUT, golden_vmx);
	CHECK_STR(ERR, "");
}

static void t_table_svm(void)
{
	fake_init(ES_ISA_SVM);
	F.global = true;
	fake_exit(0x400, 40, 400000);
	fake_exit(0x7b, 3, 90000);
	fake_exit(0x40 + 14, 1, 500);
	CHECK(run("-v") == 0);
	CHECK_STR(OUT,
		"leaf 0x4ffffffb: ABI version 1, AMD SVM exit reasons up to 0x403, scope global, "
		"cycles counted (bit 25 clear)\n"
		"VM exits since kvm was loaded, all VMs on the host (AMD SVM)\n"
		"reason  name           exits           cycles  cycles/exit  %exits %cycles\n"
		" 0x400  npf               40           400000        10000   90.91   81.55\n"
		"  0x7b  io                 3            90000        30000    6.82   18.35\n"
		"  0x4e  PF excp            1              500          500    2.27    0.10\n"
		"        total             44           490500        11147  100.00  100.00\n"
		"Excluded: exitstat's own 5 CPUID exits (about 600 cycles).\n"
		"858 of the 1028 reasons 0x0..0x403 are undefined: 0xa6-0x3ff\n");
}

static void t_all_verbose(void)
{
	scene();
	CHECK(run("-a -v") == 0);
	/* 78 reasons 0..77, 4 undefined: 74 rows; 5 (I/O SMI, no exits) reads 0 */
	CHECK(count_str(OUT, "\n") == 74 + 6);
	CHECK(strstr(OUT, "\n     5  vmx_5 "));
	CHECK(strstr(OUT, " 0                0            -    0.00    0.00\n"));
	CHECK(!strstr(OUT, "\n    35  "));
	CHECK(strstr(OUT, "\n    77  vmx_77 "));
	CHECK(strstr(OUT, "4 of the 78 reasons 0..77 are undefined: 35, 38, 42, 71\n"));
	CHECK(run("-av --json") == 0);
	CHECK(count_str(OUT, "\"reason\":") == 74);
	CHECK(run("--all --verbose") == 0);
	CHECK(count_str(OUT, "\n") == 74 + 6);
}

static void t_self_exclusion_since_start(void)
{
	/* 600 CPUID exits before exitstat: it must report exactly those */
	scene();
	CHECK(run("--json") == 0);
	CHECK(strstr(OUT, "{\"reason\":10,\"name\":\"CPUID\",\"exits\":600,\"cycles\":1200000}"));
	CHECK(strstr(OUT, "\"total_exits\":8000,\"total_cycles\":163200000,"));
	/* ...but KVM did see all of exitstat's CPUIDs */
	CHECK(F.exits[VMX_CPUID] == 600 + F.calls);
}

static void t_snapshot_delta(void)
{
	struct es_cpu cpu = { &fake_be, 0 };
	struct es_snap a, b;
	struct es_report rep;
	struct es_info info;
	struct es_select sel = { 0 };

	scene();
	CHECK(es_detect(&cpu, &info, stderr) == 0);
	CHECK(info.isa == ES_ISA_VMX && info.max_reason == 77 && info.cpuid_reason == 10);
	CHECK(es_snap_read(&cpu, &info, &a) == 0);
	disturb();
	CHECK(es_snap_read(&cpu, &info, &b) == 0);
	CHECK(es_report(&info, &a, &b, &sel, &rep) == 0);
	CHECK(rep.nrows == 3);
	if (rep.nrows == 3) {
		CHECK(rep.rows[0].reason == VMX_CPUID && rep.rows[0].exits == 7 && rep.rows[0].cycles == 700);
		CHECK(rep.rows[1].reason == VMX_HLT && rep.rows[1].exits == 5 && rep.rows[1].cycles == 5000);
		CHECK(rep.rows[2].reason == VMX_IO && rep.rows[2].exits == 3 && rep.rows[2].cycles == 30000);
	}
	CHECK(rep.total_exits == 17 && rep.total_cycles == 35900);
	CHECK(rep.own_exits == own_window(0));
	CHECK(rep.own_exits > 0 && rep.own_exits < 16);	/* the sweeps are outside */
	es_report_free(&rep);
	/* since the start, from b alone */
	CHECK(es_report(&info, NULL, &b, &sel, &rep) == 0);
	CHECK(rep.total_exits == 8017 && rep.total_cycles == 163235900);
	CHECK(rep.nrows == 5 && rep.rows[0].reason == VMX_EPT && rep.rows[3].reason == VMX_CPUID &&
	      rep.rows[3].exits == 607 && rep.rows[3].cycles == 1200700);
	es_report_free(&rep);
	es_snap_free(&a);
	es_snap_free(&b);
}

/* The JSON of the standard disturbance, block k after the start. */
static void json_disturbed(char *buf, size_t len, unsigned int block, uint64_t own,
			   double time, const char *interval)
{
	snprintf(buf, len,
		"{\"isa\":\"vmx\",\"scope\":\"vm\",\"total_exits\":17,\"total_cycles\":35900,"
		"\"own_cpuid_exits_excluded\":%" PRIu64 ",\"own_cpuid_cycles_excluded\":%" PRIu64
		",\"block\":%u,\"kind\":\"delta\",\"time\":%.3f,\"interval\":%s,\"tsc_khz\":null,"
		"\"reasons\":["
		"{\"reason\":10,\"name\":\"CPUID\",\"exits\":7,\"cycles\":700},"
		"{\"reason\":12,\"name\":\"HLT\",\"exits\":5,\"cycles\":5000},"
		"{\"reason\":30,\"name\":\"IO_INSTRUCTION\",\"exits\":3,\"cycles\":30000}]}\n",
		own, own * 100, block, time, interval);
}

static void t_command(void)
{
	char want[1024];

	scene();
	es_hooks.run = fake_run;
	F.run_status = 3;
	CHECK(run("-- fake-cmd --flag x") == 3);
	CHECK(F.nruns == 1);
	CHECK_STR(OUT, "");
	snprintf(want, sizeof(want),
		"VM exits while 'fake-cmd --flag x' ran (0.00 s), all vCPUs of this VM (Intel VMX)\n"
		"reason  name                  exits           cycles  cycles/exit  %%exits %%cycles\n"
		"    10  CPUID                     7              700          100   41.18    1.95\n"
		"    12  HLT                       5             5000         1000   29.41   13.93\n"
		"    30  IO_INSTRUCTION            3            30000        10000   17.65   83.57\n"
		"        total                    17            35900         2111  100.00  100.00\n"
		"Excluded: exitstat's own %" PRIu64 " CPUID exits (about %" PRIu64 " cycles).\n",
		own_window(0), own_window(0) * 100);
	CHECK_STR(ERR, want);
	CHECK(own_window(0) < 16);

	/* the same in JSON, still on stderr: one delta block */
	scene();
	F.run_status = 0;
	CHECK(run("--json -- true") == 0);
	CHECK_STR(OUT, "");
	json_disturbed(want, sizeof(want), 0, own_window(0), 1700000000, "0.000");
	CHECK_STR(ERR, want);

	/* cannot be started: 127, no report */
	scene();
	F.run_status = -1;
	CHECK(run("-- no-such-command") == 127);
	CHECK(!strstr(ERR, "VM exits"));
	/* found but not runnable: 126, as the shell says; exitstat's own failure: 125 */
	scene();
	F.run_status = ES_RUN_CANNOT_EXEC;
	CHECK(run("-- /etc") == 126 && !strstr(ERR, "VM exits"));
	scene();
	F.run_status = ES_RUN_FAILED;
	CHECK(run("-- true") == 125 && !strstr(ERR, "VM exits"));
	es_hooks.run = NULL;
	CHECK(run("-- true") == 125);
	CHECK_STR(ERR, "exitstat: cannot run commands here\n");

	/*
	 * no ABI: the command runs all the same, with a warning, and its
	 * status is the result, as with perf stat; no report
	 */
	es_hooks.run = fake_run;
	scene();
	F.patched = false;
	F.run_status = 5;
	CHECK(run("-- true") == 5 && F.nruns == 1 && !*OUT);
	CHECK_STR(ERR, "exitstat: the hypervisor (KVM) does not provide exit statistics: "
		  "no patched KVM, or kvm.exit_stats=0\n"
		  "exitstat: warning: running 'true' without exit statistics\n");
	scene();
	F.patched = false;
	F.run_status = -1;
	CHECK(run("-- no-such-command") == 127 && F.nruns == 1);
	/* a usage error with a command: 125, and the command does not run */
	scene();
	F.run_status = 5;
	CHECK(run("--bogus -- true") == 125 && F.nruns == 0 && strstr(ERR, "usage: exitstat"));
	CHECK(run("-- true") == 5 && F.nruns == 1);
	es_hooks.run = NULL;
}

/* No file that matches PATH.*, -o's temporary files, is left behind. */
static bool no_tmp_left(const char *path)
{
	char pat[96];
	glob_t g;
	int rc;

	snprintf(pat, sizeof(pat), "%s.*", path);
	rc = glob(pat, 0, NULL, &g);
	if (!rc)
		globfree(&g);
	return rc == GLOB_NOMATCH;
}

/* Does PATH hold WANT (whole), or, with prefix, begin with it? */
static bool file_is(const char *path, const char *want, bool prefix)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[n] = 0;
	if (f)
		fclose(f);
	if (f && (prefix ? starts(buf, want) : !strcmp(buf, want)))
		return true;
	printf("# %s holds:\n%s# wanted%s:\n%s\n", path, buf, prefix ? " at its start" : "", want);
	return false;
}

/* -o FILE: the report goes there, not to stderr or stdout. */
static void t_output_file(void)
{
	char path[64], args[128], buf[4096], want[1024];
	struct stat st;
	FILE *f;
	size_t n;

	CHECK(tmp_file(path, "old contents that must go\n"));
	scene();
	es_hooks.run = fake_run;
	snprintf(args, sizeof(args), "--json -o %s -- true", path);
	CHECK(run(args) == 0);
	CHECK_STR(OUT, "");
	CHECK_STR(ERR, "");
	f = fopen(path, "r");
	n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[n] = 0;
	if (f)
		fclose(f);
	json_disturbed(want, sizeof(want), 0, own_window(0), 1700000000, "0.000");
	CHECK_STR(buf, want);

	/* the command's status wins over nothing; a bad FILE is status 1 */
	F.run_status = 4;
	snprintf(args, sizeof(args), "--output=%s -- true", path);
	CHECK(run(args) == 4 && !*ERR);
	CHECK(run("-o /nonexistent/dir/x -- true") == 125);
	CHECK_STR(ERR, "exitstat: cannot open /nonexistent/dir/x: No such file or directory\n"
		  "exitstat: 'true' exited with status 4; exitstat exits with 125 for its own "
		  "error (status 1 without a command)\n");
	CHECK(run("-o") == 1 && strstr(ERR, "missing value for '-o'"));
	/* and in interval mode, the blocks */
	snprintf(args, sizeof(args), "--csv -o %s", path);
	CHECK(run(args) == 0 && !*OUT && !*ERR);
	CHECK(no_tmp_left(path));

	/* nothing to write (no statistics): FILE keeps what it had, mode too */
	CHECK(tmp_file(path, "the previous report\n") && !chmod(path, 0640));
	scene();
	F.patched = false;
	snprintf(args, sizeof(args), "--json -o %s", path);
	CHECK(run(args) == 2 && file_is(path, "the previous report\n", false) && no_tmp_left(path));
	snprintf(args, sizeof(args), "-o %s -- true", path);
	F.run_status = 3;
	CHECK(run(args) == 3 && file_is(path, "the previous report\n", false) && no_tmp_left(path));
	/* a report replaces it whole, keeping its mode */
	scene();
	snprintf(args, sizeof(args), "--json -o %s", path);
	CHECK(run(args) == 0 && no_tmp_left(path));
	CHECK(!stat(path, &st) && (st.st_mode & 07777) == 0640);
	CHECK(file_is(path, "{\"isa\":\"vmx\",\"scope\":\"vm\",\"total_exits\":8000,", true));
	/* a device is written in place */
	CHECK(run("--json -o /dev/null") == 0 && !*ERR);
	es_hooks.run = NULL;
	unlink(path);
}

static void t_interval(void)
{
	unsigned int k;
	char want[1024];
	const char *line;

	scene();
	es_hooks.sleep = fake_sleep;
	CHECK(run("--json 2 3") == 0);
	CHECK(F.nsleeps == 2 && F.slept == 4);
	CHECK(count_str(OUT, "\n") == 3);
	/* first: since the start, cumulative, no interval */
	CHECK(starts(OUT, "{\"isa\":\"vmx\",\"scope\":\"vm\",\"total_exits\":8000,"));
	CHECK(strstr(OUT, ",\"block\":0,\"kind\":\"cumulative\",\"time\":1700000000.000,"
		      "\"interval\":null,"));
	line = strchr(OUT, '\n');
	for (k = 0; k < 2 && line; k++) {
		json_disturbed(want, sizeof(want), k + 1, own_window(k), 1700000002.0 + 2 * k,
			       "2.000");
		CHECK(!strncmp(line + 1, want, strlen(want)));
		line = strchr(line + 1, '\n');
	}

	/* the table: blocks separated by blank lines, rates and elapsed time */
	scene();
	CHECK(run("1 2") == 0);
	CHECK(F.nsleeps == 1);
	CHECK(!strncmp(OUT,
		"VM exits since the VM started, all vCPUs of this VM (Intel VMX)\n"
		"reason  name                      exits    exits/s           cycles  cycles/exit  %exits %cycles\n"
		"    48  EPT_VIOLATION              5000          -        150000000        30000   62.50   91.91\n",
		200));
	CHECK(strstr(OUT, "100.00\nExcluded: exitstat's own 5 CPUID exits (about 600 cycles).\n\n"
		      "VM exits in the last 1.00 s (elapsed 1.00 s), all vCPUs of this VM (Intel VMX)\n"));
	CHECK(strstr(OUT, "\n    12  HLT                       5        5.0             5000 "));
	CHECK(strstr(OUT, "\n        total                    17       17.0            35900 "));

	/* CSV: one header, each block's kind, time and interval */
	scene();
	CHECK(run("--csv 0x1 2") == 0);
	CHECK(count_str(OUT, "block,") == 1);
	CHECK(starts(OUT, "block,reason,name,exits,cycles,kind,time,interval,own_exits,own_cycles\n"
		       "0,48,EPT_VIOLATION,5000,150000000,cumulative,1700000000.000,,5,600\n"));
	snprintf(want, sizeof(want), "\n1,,total,17,35900,delta,1700000001.000,1.000,%" PRIu64
		 ",%" PRIu64 "\n", own_window(0), own_window(0) * 100);
	CHECK(strstr(OUT, want));
	es_hooks.sleep = NULL;
}

/* Balanced {} and [] outside strings, strings closed, one object per line. */
static bool json_shape(const char *s)
{
	int depth = 0;
	bool str = false;

	for (; *s; s++) {
		if (str) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '"')
				str = false;
			else if (*s == '\n')
				return false;
		} else if (*s == '"') {
			str = true;
		} else if (*s == '{' || *s == '[') {
			depth++;
		} else if (*s == '}' || *s == ']') {
			if (--depth < 0)
				return false;
		} else if (*s == '\n' && depth) {
			return false;
		}
	}
	return !depth && !str;
}

static void t_json(void)
{
	char path[] = "/tmp/test_exitstat.XXXXXX", cmd[128];
	int fd;
	FILE *f;

	scene();
	CHECK(run("--json") == 0);
	CHECK(json_shape(OUT));
	CHECK(!json_shape("{\"a\":[1,2}"));
	CHECK(!json_shape("{\"a\":\"x}"));
	CHECK(starts(OUT, "{\"isa\":\"vmx\",\"scope\":\"vm\",\"total_exits\":8000,"
		       "\"total_cycles\":163200000,\"own_cpuid_exits_excluded\":5,"
		       "\"own_cpuid_cycles_excluded\":600,\"block\":0,\"kind\":\"cumulative\","
		       "\"time\":1700000000.000,\"interval\":null,\"tsc_khz\":null,\"reasons\":["));
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	fputs(OUT, f);
	fclose(f);
	if (!system("command -v jq >/dev/null 2>&1")) {
		snprintf(cmd, sizeof(cmd), "jq -e . %s >/dev/null", path);
		CHECK(system(cmd) == 0);
		snprintf(cmd, sizeof(cmd), "jq -e '(.reasons | length) == 4 and "
			 "([.reasons[].exits] | add) == .total_exits' %s >/dev/null", path);
		CHECK(system(cmd) == 0);
	} else {
		printf("# jq not found: hand check only\n");
	}
	unlink(path);
}

static void t_csv(void)
{
	scene();
	CHECK(run("--csv") == 0);
	CHECK_STR(OUT,
		"block,reason,name,exits,cycles,kind,time,interval,own_exits,own_cycles\n"
		"0,48,EPT_VIOLATION,5000,150000000,cumulative,1700000000.000,,5,600\n"
		"0,1,EXTERNAL_INTERRUPT,1200,2400000,cumulative,1700000000.000,,5,600\n"
		"0,30,IO_INSTRUCTION,1200,9600000,cumulative,1700000000.000,,5,600\n"
		"0,10,CPUID,600,1200000,cumulative,1700000000.000,,5,600\n"
		"0,,total,8000,163200000,cumulative,1700000000.000,,5,600\n");
	/*
	 * A snapshot asks only for the reasons the vendor defines: on SVM not
	 * 0xa7-0x3ff, so about 180 CPUIDs rather than 1,040; 0xa6 (Linux 7.3's
	 * IDLE_HLT) is asked for.
	 */
	fake_init(ES_ISA_SVM);
	F.undef[0xa6] = false;
	fake_exit(0xa6, 2, 20);
	CHECK(run("--csv") == 0 && strstr(OUT, "\n0,166,"));
	printf("# an SVM snapshot: %" PRIu64 " CPUIDs\n", F.calls);
	CHECK(F.calls > 0xa7 && F.calls < 0xa7 + 4 + 20);
	fake_init(ES_ISA_VMX);
	CHECK(run("--csv") == 0);
	printf("# a VMX snapshot: %" PRIu64 " CPUIDs\n", F.calls);
	CHECK(F.calls > 77 && F.calls < 77 + 20);

	fake_init(ES_ISA_SVM);
	fake_exit(0x40, 2, 20);
	CHECK(run("--csv") == 0);
	CHECK(strstr(OUT, "\n0,64,DE excp,2,20,cumulative,"));
	CHECK(run("--csv -n") == 0);
	CHECK(starts(OUT, "0,114,cpuid,") && strstr(OUT, "\n0,64,DE excp,2,20,"));
}

/* A usage error: 1, or with -- COMMAND 125 (exitstat's own error, as env's). */
static int usage_status(const char *args)
{
	size_t n;

	for (; *args; args += n + !!args[n]) {
		n = strcspn(args, " ");
		if (n == 2 && !strncmp(args, "--", 2))
			return 125;
	}
	return 1;
}

static void t_raw(void)
{
	static const char *bad[] = { "--raw", "--raw x", "--raw -1", "--raw 4294967296",
		"--raw 0x100000000", "--raw 0x1g", "--raw 0x", "--raw 1 -1", "--raw 1 x",
		"--raw 1 0x100000000", "--raw 1 2 3", "--raw 99999999999999999999",
		"--raw 1 --json", "--raw 1 --csv", "--raw 1 -a", "--raw 1 -- true", "--raw - 1" };
	unsigned int i;

	fake_init(ES_ISA_VMX);
	F.total_exits = 0x122;		/* + the CPUID that asks */
	CHECK(run("--raw 0x4fffffff") == 0);
	CHECK_STR(OUT, "   0x4fffffff 0x00: eax=0x00000123 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n");
	CHECK(F.calls == 1);
	CHECK(run("--raw 1342177277 10") == 0);	/* 0x4ffffffd */
	CHECK_STR(OUT, "   0x4ffffffd 0x0a: eax=0x00000002 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n");
	CHECK(run("--raw 0x4ffffffd 0x1000a") == 0);
	CHECK_STR(OUT, "   0x4ffffffd 0x1000a: eax=0x00000000 ebx=0x00000000 ecx=0x00000000 edx=0xffffffff\n");
	CHECK(run("--raw 0x40000000") == 0);
	CHECK_STR(OUT, "   0x40000000 0x00: eax=0x40000001 ebx=0x4b4d564b ecx=0x564b4d56 edx=0x0000004d\n");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (run(bad[i]) != usage_status(bad[i]) || *OUT || strncmp(ERR, "exitstat: ", 10) ||
		    !strstr(ERR, "usage: exitstat")) {
			printf("# '%s' not rejected\n", bad[i]);
			ok = false;
		}
	}
}

static void t_detection(void)
{
	fake_init(ES_ISA_VMX);
	F.hv = false;
	CHECK(run("") == 2);
	CHECK_STR(ERR, "exitstat: not running under a hypervisor\n");
	CHECK_STR(OUT, "");

	fake_init(ES_ISA_VMX);
	F.patched = false;
	CHECK(run("") == 2);
	CHECK_STR(ERR, "exitstat: the hypervisor (KVM) does not provide exit statistics: "
		  "no patched KVM, or kvm.exit_stats=0\n");
	CHECK(run("1 3") == 2);
	CHECK(run("--json") == 2 && !*OUT);

	fake_init(ES_ISA_VMX);
	F.patched = false;
	memcpy(F.hvsig, "Ab\x01" "cd\x7f" "ef\n\tgh", 12);
	CHECK(run("") == 2);
	CHECK(strstr(ERR, "hypervisor (Abcdefgh) does not"));
	memset(F.hvsig, 0, 12);
	CHECK(run("") == 2);
	CHECK(strstr(ERR, "hypervisor (unnamed) does not"));
	/* another hypervisor: its plain name, and no word of a patched KVM */
	memcpy(F.hvsig, "bhyve bhyve ", 12);
	CHECK(run("") == 2);
	CHECK_STR(ERR, "exitstat: the hypervisor (bhyve) does not provide exit statistics\n");
	memcpy(F.hvsig, "  Odd  Name ", 12);
	CHECK(run("") == 2);
	CHECK_STR(ERR, "exitstat: the hypervisor (Odd  Name) does not provide exit statistics\n");

	fake_init(3);
	CHECK(run("") == 2);
	CHECK_STR(ERR, "exitstat: unknown exit-reason ISA 3 in leaf 0x4ffffffb (known: 1 = Intel VMX, 2 = AMD SVM)\n");
	fake_init(0);
	CHECK(run("-a") == 2 && strstr(ERR, "unknown exit-reason ISA 0"));

	fake_init(ES_ISA_VMX);
	F.version = 2;
	CHECK(run("") == 2);
	CHECK_STR(ERR, "exitstat: the hypervisor speaks exit-statistics ABI version 2; this exitstat reads version 1\n");
	CHECK_STR(OUT, "");
}

static void t_bad_args(void)
{
	static const char *bad[] = { "-x", "--bogus", "-a -q", "-avx", "--json=1", "0", "-2",
		"abc", "1.5", "0x", "1 0", "1 -2", "1 x", "1 2 3", "--json --csv", "--",
		"-a --", "1 -- true", "1 2 -- true", "- 1", "4294967296", "1 99999999999",
		"--json -1", "--prom --csv", "--line --json", "--prom 1", "--prom -- true",
		"--sort", "--sort name", "--sort=", "-e", "--reasons=", "-e ,", "--top x",
		"--top -1", "--tsc-khz 0", "--tsc-khz x", "-p 1", "--vcpus", "--debugfs /",
		"--host -- true", "--host -a", "-o", "--output=", "--all=1", "-p",
		"--host -p 0", "--host -p x", "--host -p 4294967295", "--raw 1 -n", "--raw 1 -t",
		"--raw 1 -e 1", "--raw 1 -o x", "--raw 1 --host" };
	unsigned int i;

	scene();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (run(bad[i]) != usage_status(bad[i]) || *OUT || strncmp(ERR, "exitstat: ", 10) ||
		    !strstr(ERR, "usage: exitstat")) {
			printf("# '%s' not rejected: %s", bad[i], ERR);
			ok = false;
		}
	}
	CHECK(F.calls == 0);	/* rejected before any CPUID */
	CHECK(run("-x") == 1);
	CHECK(starts(ERR, "exitstat: unknown option '-x'\n"));
	CHECK(run("0") == 1);
	CHECK(starts(ERR, "exitstat: invalid INTERVAL (whole seconds, at least 1): '0'\n"));
	CHECK(run("--all=1") == 1 && starts(ERR, "exitstat: option takes no value: '--all=1'\n"));
	CHECK(run("--bogus") == 1 && starts(ERR, "exitstat: unknown option '--bogus'\n"));
	CHECK(run("-avx") == 1 && starts(ERR, "exitstat: unknown option '-x'\n"));
	CHECK(run("--output") == 1 && starts(ERR, "exitstat: missing value for '--output'\n"));
}

/* getopt's forms: a value stuck to its option, --opt=value, any order. */
static bool same_as(const char *args, const char *want)
{
	scene();
	if (run(args) == 0 && !strcmp(OUT, want))
		return true;
	printf("# '%s' gave:\n%s# not:\n%s", args, OUT, want);
	return false;
}

static void t_getopt(void)
{
	char want[4096];

	scene();
	CHECK(run("-e hlt,cpuid") == 0);
	snprintf(want, sizeof(want), "%s", OUT);
	CHECK(same_as("-ehlt,cpuid", want));
	CHECK(same_as("--reasons=hlt,cpuid", want));
	scene();
	CHECK(run("--sort cycles -n") == 0);
	snprintf(want, sizeof(want), "%s", OUT);
	CHECK(same_as("--sort=Cycles -n", want));
	CHECK(same_as("-n --sort=CYCLES", want));
	/* options after INTERVAL COUNT */
	es_hooks.sleep = fake_sleep;
	scene();
	CHECK(run("--json 1 2") == 0);
	snprintf(want, sizeof(want), "%s", OUT);
	CHECK(same_as("1 2 --json", want));
	es_hooks.sleep = NULL;
	/* everything after -- is the command's, options included */
	scene();
	es_hooks.run = fake_run;
	F.run_status = 0;
	CHECK(run("--json -- true --json -x") == 0 && F.nruns == 1);
	es_hooks.run = NULL;
}

/* -1/--line: a header, then one line per block; --top, -n, -t. */
static void t_line(void)
{
	scene();
	es_hooks.sleep = fake_sleep;
	CHECK(run("-1") == 0);
	CHECK_STR(OUT,
		"       exits           cycles   cyc/exit  top reasons\n"
		"        8000        163200000      20400  EPT_VIOLATION=5000 EXTERNAL_INTERRUPT=1200 IO_INSTRUCTION=1200\n");
	scene();
	CHECK(run("--line -t --top 2 1 3") == 0);
	CHECK_STR(OUT,
		"    time        exits    exits/s           cycles   cyc/exit  top reasons\n"
		"22:13:20         8000          -        163200000      20400  EPT_VIOLATION=5000 EXTERNAL_INTERRUPT=1200\n"
		"22:13:21           17       17.0            35900       2111  CPUID=7 HLT=5\n"
		"22:13:22           17       17.0            35900       2111  CPUID=7 HLT=5\n");
	scene();
	CHECK(run("-1n --top 0 1 2") == 0);
	CHECK_STR(OUT,
		"        8000          -        163200000      20400\n"
		"          17       17.0            35900       2111\n");
	/* clustered short options, and SVM names with spaces as one word */
	fake_init(ES_ISA_SVM);
	fake_exit(0x4e, 3, 300);
	CHECK(run("-n1t") == 0);
	CHECK_STR(OUT, "22:13:20            3              300        100  PF_excp=3\n");
	es_hooks.sleep = NULL;
}

/* -e by name or number, --sort, -n and -t on tables. */
static void t_filter_sort(void)
{
	scene();
	CHECK(run("-e ept_violation,30 -n") == 0);
	CHECK_STR(OUT,
		"    48  EPT_VIOLATION          5000        150000000        30000   62.50   91.91\n"
		"    30  IO_INSTRUCTION         1200          9600000         8000   15.00    5.88\n"
		"        total                  8000        163200000        20400  100.00  100.00\n"
		"Excluded: exitstat's own 5 CPUID exits (about 600 cycles).\n");
	scene();
	CHECK(run("--reasons=CPUID --json") == 0);
	CHECK(count_str(OUT, "\"reason\":") == 1 && strstr(OUT, "\"total_exits\":8000,"));
	scene();
	CHECK(run("-e 0x1,vmx_77 -a --csv -n") == 0);
	CHECK(count_str(OUT, "\n") == 3 && strstr(OUT, "0,77,vmx_77,0,0,") &&
	      strstr(OUT, "0,1,EXTERNAL_INTERRUPT,1200,"));
	scene();
	CHECK(run("-e 12 --csv -n") == 0);	/* HLT: no exits, no row */
	CHECK(count_str(OUT, "\n") == 1);
	scene();
	CHECK(run("-e HLT,NO_SUCH_EXIT") == 2);
	CHECK_STR(OUT, "");
	CHECK_STR(ERR, "exitstat: unknown exit reason 'NO_SUCH_EXIT' for Intel VMX: a name as "
		  "exitstat prints it, or a number\n");
	/* a number KVM cannot count is an error too, like an unknown name */
	scene();
	CHECK(run("-e 0x9999") == 2 && !*OUT);
	CHECK_STR(ERR, "exitstat: exit reason '0x9999' is not defined for Intel VMX\n");
	CHECK(run("-e 78") == 2 && run("-e 77") == 0);
	fake_init(ES_ISA_SVM);
	CHECK(run("-e 0x200") == 2 && run("-e 0x404") == 2 && run("-e 0x403") == 0 &&
	      run("-e 0xa6") == 0);
	scene();
	CHECK(run("-e vmx_x") == 2 && run("-e svm_0x7b") == 2);
	fake_init(ES_ISA_SVM);
	fake_exit(0x7b, 3, 90000);
	fake_exit(0x4e, 1, 500);
	CHECK(run("-e pf_EXCP,0x7b -n --csv") == 0 && count_str(OUT, "\n") == 3);
	CHECK(run("-e svm_0x7b") == 2);	/* 0x7b has a name: io */

	scene();
	CHECK(run("--sort cycles -n --csv") == 0);
	CHECK(starts(OUT, "0,48,") && strstr(OUT, "\n0,30,IO_INSTRUCTION,1200,9600000,") &&
	      strstr(OUT, "0,1,EXTERNAL_INTERRUPT,1200,2400000,cumulative,1700000000.000,,5,600\n0,10,"));
	scene();
	CHECK(run("--sort=reason -n --csv") == 0);
	CHECK(starts(OUT, "0,1,") && strstr(OUT, "\n0,10,CPUID,600,1200000,") &&
	      strstr(OUT, "\n0,30,") && strstr(OUT, "\n0,48,"));
	CHECK(strstr(OUT, "\n0,10,") < strstr(OUT, "\n0,30,") &&
	      strstr(OUT, "\n0,30,") < strstr(OUT, "\n0,48,"));
	scene();
	CHECK(run("--sort exits -t") == 0);
	CHECK(starts(OUT, "VM exits since the VM started, all vCPUs of this VM (Intel VMX), "
		       "2023-11-14 22:13:20 UTC\nreason "));
}

/* Times per exit only at a TSC rate from CPUID 0x40000010 or --tsc-khz. */
static void scene_tsc(uint32_t khz)
{
	scene();
	F.tsc_khz = khz;
}

static void t_tsc(void)
{
	scene_tsc(2000000);		/* 2 GHz: 2000 cycles a microsecond */
	CHECK(run("") == 0);
	CHECK_STR(OUT,
		"VM exits since the VM started, all vCPUs of this VM (Intel VMX)\n"
		"reason  name                      exits           cycles  cycles/exit   us/exit  %exits %cycles\n"
		"    48  EPT_VIOLATION              5000        150000000        30000     15.00   62.50   91.91\n"
		"     1  EXTERNAL_INTERRUPT         1200          2400000         2000      1.00   15.00    1.47\n"
		"    30  IO_INSTRUCTION             1200          9600000         8000      4.00   15.00    5.88\n"
		"    10  CPUID                       600          1200000         2000      1.00    7.50    0.74\n"
		"        total                      8000        163200000        20400     10.20  100.00  100.00\n"
		"Excluded: exitstat's own 6 CPUID exits (about 700 cycles).\n"
		"Times at the host's TSC rate, 2000000 kHz (from CPUID 0x40000010).\n");
	scene_tsc(2000000);
	CHECK(run("--json") == 0);
	CHECK(strstr(OUT, ",\"tsc_khz\":2000000,\"total_seconds\":0.081600000,"));
	scene_tsc(2000000);
	CHECK(run("-1") == 0);
	CHECK(strstr(OUT, "cyc/exit   us/exit  top") && strstr(OUT, "20400     10.20  EPT"));
	/* the option wins, and says so */
	scene_tsc(2000000);
	CHECK(run("--tsc-khz 1000000 -e 1") == 0);
	CHECK(strstr(OUT, "  2000      2.00   15.00") &&
	      strstr(OUT, "Times at the host's TSC rate, 1000000 kHz (from --tsc-khz).\n"));
	/* a max leaf below 0x40000010: no times, no guess */
	scene_tsc(0);
	CHECK(run("--json") == 0 && strstr(OUT, "\"tsc_khz\":null,"));
	scene();
	CHECK(run("") == 0 && !strstr(OUT, "us/exit") && !strstr(OUT, "TSC"));
}

/* --prom: Prometheus text, checked by promtool. */
static void t_prom(void)
{
	scene_tsc(1000000);
	CHECK(run("--prom") == 0);
	CHECK(starts(OUT,
		"# HELP kvm_exitstat_exits_total VM exits KVM handled, per exit reason.\n"
		"# TYPE kvm_exitstat_exits_total counter\n"
		"kvm_exitstat_exits_total{reason=\"48\",name=\"EPT_VIOLATION\"} 5000\n"));
	CHECK(strstr(OUT, "\nkvm_exitstat_cycles_total{reason=\"10\",name=\"CPUID\"} 1200000\n"));
	CHECK(strstr(OUT, "\nkvm_exitstat_seconds_total{reason=\"48\",name=\"EPT_VIOLATION\"} 0.150000000\n"));
	/* per reason: exits, cycles, seconds; all reasons: exits, cycles */
	CHECK(count_str(OUT, "# TYPE") == 5 && count_str(OUT, "\n") == 3 * 6 + 2 * 3);
	CHECK(strstr(OUT, "\n# HELP kvm_exitstat_all_exits_total VM exits KVM handled, all reasons "
		      "together.\n# TYPE kvm_exitstat_all_exits_total counter\n"
		      "kvm_exitstat_all_exits_total 8000\n"));
	CHECK(strstr(OUT, "\nkvm_exitstat_all_cycles_total 163200000\n"));
	/* the guest's sweep is not one instant: no "other" from it */
	CHECK(!strstr(OUT, "other"));
	CHECK(tool_accepts("promtool", "promtool check metrics < %s", OUT));
	scene_tsc(0);
	CHECK(run("--prom -n") == 0 && count_str(OUT, "# TYPE") == 4 && !strstr(OUT, "seconds"));
}

/* Discovery bit 25: the cycles are not counted, and no format shows zeros. */
static const char golden_cycles_off[] =
	"VM exits since the VM started, all vCPUs of this VM (Intel VMX)\n"
	"Cycles not counted (kvm.exit_stats=counts): shown as -\n"
	"reason  name                      exits           cycles  cycles/exit  %exits %cycles\n"
	"    48  EPT_VIOLATION              5000                -            -   62.50       -\n"
	"     1  EXTERNAL_INTERRUPT         1200                -            -   15.00       -\n"
	"    30  IO_INSTRUCTION             1200                -            -   15.00       -\n"
	"    10  CPUID                       600                -            -    7.50       -\n"
	"        total                      8000                -            -  100.00       -\n"
	"Excluded: exitstat's own 5 CPUID exits.\n";

static void scene_cycles_off(uint32_t khz)
{
	scene_tsc(khz);
	F.cycles_off = true;
}

static void t_cycles_off(void)
{
	scene_cycles_off(0);
	CHECK(run("") == 0);
	CHECK_STR(OUT, golden_cycles_off);
	CHECK_STR(ERR, "");
	/* -v names the bit; the undefined-reasons line is unchanged */
	scene_cycles_off(0);
	CHECK(run("-v -n -e 10") == 0);
	CHECK_STR(OUT,
		"leaf 0x4ffffffb: ABI version 1, Intel VMX exit reasons up to 77, scope vm, "
		"cycles not counted (bit 25 set)\n"
		"    10  CPUID          600                -            -    7.50       -\n"
		"        total         8000                -            -  100.00       -\n"
		"Excluded: exitstat's own 5 CPUID exits.\n"
		"4 of the 78 reasons 0..77 are undefined: 35, 38, 42, 71\n");
	/* a TSC rate gives no times either: the column says -, no footer */
	scene_cycles_off(2000000);
	CHECK(run("-e 48") == 0);
	CHECK(strstr(OUT, " cycles/exit   us/exit  %exits %cycles\n"
		      "    48  EPT_VIOLATION         5000                -            -         -   62.50       -\n"));
	CHECK(!strstr(OUT, "Times at") && !strstr(OUT, "about"));
	/* intervals: the deltas' cycles are not counted either */
	scene_cycles_off(0);
	es_hooks.sleep = fake_sleep;
	CHECK(run("-n 1 2") == 0);
	CHECK(strstr(OUT, "\n\n    10  CPUID                     7        7.0                -            -   41.18       -\n"));
	CHECK(!strstr(OUT, "Cycles not counted"));	/* -n: no header, no note */
	/* --line */
	scene_cycles_off(2000000);
	CHECK(run("-1 1 2") == 0);
	CHECK_STR(OUT,
		"       exits    exits/s           cycles   cyc/exit   us/exit  top reasons\n"
		"        8000          -                -          -         -  EPT_VIOLATION=5000 EXTERNAL_INTERRUPT=1200 IO_INSTRUCTION=1200\n"
		"          17       17.0                -          -         -  CPUID=7 HLT=5 IO_INSTRUCTION=3\n");
	es_hooks.sleep = NULL;
	/* JSON: null, never 0 */
	scene_cycles_off(2000000);
	CHECK(run("--json -e 10") == 0);
	CHECK_STR(OUT,
		"{\"isa\":\"vmx\",\"scope\":\"vm\",\"total_exits\":8000,\"total_cycles\":null,"
		"\"own_cpuid_exits_excluded\":6,\"own_cpuid_cycles_excluded\":null,\"block\":0,"
		"\"kind\":\"cumulative\",\"time\":1700000000.000,\"interval\":null,"
		"\"tsc_khz\":2000000,\"total_seconds\":null,"
		"\"reasons\":[{\"reason\":10,\"name\":\"CPUID\",\"exits\":600,\"cycles\":null}]}\n");
	scene_cycles_off(0);
	CHECK(run("--json") == 0 && json_shape(OUT) && !strstr(OUT, "cycles\":0"));
	CHECK(count_str(OUT, "\"cycles\":null") == 4 && strstr(OUT, "\"tsc_khz\":null,\"reasons\""));
	CHECK(tool_accepts("jq", "jq -e '.total_cycles == null and ([.reasons[].cycles] | all(. == null))"
		      " and ([.reasons[].exits] | add) == .total_exits' %s >/dev/null", OUT));
	/* CSV: empty fields */
	scene_cycles_off(0);
	CHECK(run("--csv") == 0);
	CHECK_STR(OUT,
		"block,reason,name,exits,cycles,kind,time,interval,own_exits,own_cycles\n"
		"0,48,EPT_VIOLATION,5000,,cumulative,1700000000.000,,5,\n"
		"0,1,EXTERNAL_INTERRUPT,1200,,cumulative,1700000000.000,,5,\n"
		"0,30,IO_INSTRUCTION,1200,,cumulative,1700000000.000,,5,\n"
		"0,10,CPUID,600,,cumulative,1700000000.000,,5,\n"
		"0,,total,8000,,cumulative,1700000000.000,,5,\n");
	/* Prometheus: no cycles or seconds metric at all */
	scene_cycles_off(1000000);
	CHECK(run("--prom") == 0);
	/* exits per reason and all together, no cycles */
	CHECK(count_str(OUT, "# TYPE") == 2 && count_str(OUT, "\n") == 2 + 4 + 3 &&
	      !strstr(OUT, "cycles") && !strstr(OUT, "seconds"));
	CHECK(tool_accepts("promtool", "promtool check metrics < %s", OUT));
}

/* Bits 27:26 are reserved: a future feature's bit changes nothing. */
static void t_reserved_bits(void)
{
	uint32_t bits;

	for (bits = 1; bits < 4; bits++) {
		scene();
		F.reserved = bits;
		CHECK(run("") == 0);
		CHECK_STR(OUT, golden_vmx);
		CHECK_STR(ERR, "");
	}
	fake_init(ES_ISA_SVM);
	F.reserved = 3;
	F.cycles_off = true;
	CHECK(run("-v -n") == 0);
	CHECK(starts(OUT, "leaf 0x4ffffffb: ABI version 1, AMD SVM exit reasons up to 0x403, "
		     "scope vm, cycles not counted (bit 25 set)\n"));
}

/*
 * Every defined reason answers its count, with a handler in KVM or not:
 * VMX 33, the invalid-guest-state exit KVM synthesizes when it must
 * emulate, has none, and shows with its exits; the rows and the exits
 * without a reason add up to the total.
 */
static void t_counted_without_handler(void)
{
	scene();
	fake_exit(33, 40, 400000);
	fake_exit(5, 1, 10);		/* I/O SMI */
	F.total_exits += 2;		/* exits without a reason */
	F.total_cycles += 20;
	CHECK(run("-n --sort reason") == 0);
	CHECK_STR(OUT,
		"     1  EXTERNAL_INTERRUPT         1200          2400000         2000   14.92    1.47\n"
		"     5  vmx_5                         1               10           10    0.01    0.00\n"
		"    10  CPUID                       600          1200000         2000    7.46    0.73\n"
		"    30  IO_INSTRUCTION             1200          9600000         8000   14.92    5.87\n"
		"    33  INVALID_STATE                40           400000        10000    0.50    0.24\n"
		"    48  EPT_VIOLATION              5000        150000000        30000   62.17   91.69\n"
		"        total                      8043        163600030        20340  100.00  100.00\n"
		"Excluded: exitstat's own 5 CPUID exits (about 600 cycles).\n");
	CHECK(run("--json -e INVALID_STATE") == 0);
	CHECK(strstr(OUT, "\"reasons\":[{\"reason\":33,\"name\":\"INVALID_STATE\",\"exits\":40,"
		      "\"cycles\":400000}]}\n"));
}

/* Run exitstat with err as its standard error; OUT gets its output. */
static int exitstat_main_err(FILE *err, const char *args)
{
	char buf[512], *argv[32], *t;
	int argc = 0, rc;
	size_t n;
	FILE *o;

	free(OUT);
	free(ERR);
	argv[argc++] = "exitstat";
	snprintf(buf, sizeof(buf), "%s", args);
	for (t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	o = open_memstream(&OUT, &n);
	rc = exitstat_main(argc, argv, &fake_be, o, err);
	fclose(o);
	ERR = strdup("");
	return rc;
}

/* A FILE on which every write fails: /dev/full, or a closed descriptor. */
static FILE *broken(bool full)
{
	FILE *f = fopen(full ? "/dev/full" : "/dev/null", "w");

	if (f && !full)
		close(fileno(f));
	return f;
}

/* Every write checked, the last flush too: one line, status 1. */
static void t_write_errors(void)
{
	FILE *f;
	int full;

	for (full = 0; full < 2; full++) {
		const char *why = full ? "No space left on device" : "Bad file descriptor";
		char want[128];

		snprintf(want, sizeof(want), "exitstat: cannot write to standard output: %s\n", why);
		scene();
		f = broken(full);
		CHECK(run_to(f, "--json") == 1);
		CHECK_STR(ERR, want);
		fclose(f);
		f = broken(full);
		CHECK(run_to(f, "-V") == 1);
		CHECK_STR(ERR, want);
		fclose(f);
		/* in interval mode: stops at the first block */
		es_hooks.sleep = fake_sleep;
		f = broken(full);
		CHECK(run_to(f, "1") == 1 && F.nsleeps == 0);
		CHECK_STR(ERR, want);
		fclose(f);
		es_hooks.sleep = NULL;
	}
	/* -o /dev/full */
	scene();
	CHECK(run("--csv -o /dev/full") == 1);
	CHECK_STR(ERR, "exitstat: cannot write to /dev/full: No space left on device\n");
	/*
	 * with a command: exitstat's write error is 125, never the
	 * command's status, which a line gives
	 */
	es_hooks.run = fake_run;
	scene();
	F.run_status = 5;
	CHECK(run("-o /dev/full -- sh -c exit_5") == 125 && F.nruns == 1);
	CHECK_STR(ERR, "exitstat: cannot write to /dev/full: No space left on device\n"
		  "exitstat: 'sh' exited with status 5; exitstat exits with 125 for its own "
		  "error (status 1 without a command)\n");
	scene();
	F.run_status = 0;
	CHECK(run("-o /dev/full -- true") == 125 && count_str(ERR, "\n") == 2);
	/* the report on a full stderr: the same */
	scene();
	F.run_status = 5;
	f = broken(true);
	CHECK(f && exitstat_main_err(f, "-- sh -c exit_5") == 125);
	if (f)
		fclose(f);
	/* stdout full, but exitstat writes nothing there: the command's status */
	scene();
	F.run_status = 5;
	f = broken(true);
	CHECK(f && run_to(f, "-- sh -c exit_5") == 5 && strstr(ERR, "VM exits while 'sh -c exit_5'"));
	if (f)
		fclose(f);
	es_hooks.run = NULL;
}

/* The binary's main(): stdout to /dev/full or closed (sh's >&-). */
static void t_binary(void)
{
	static const char *const cases[][2] = {
		{ "-V >/dev/full", "No space left on device" },
		{ "-V >&-", "Bad file descriptor" },
		{ "--help >/dev/full", "No space left on device" },
		{ "--host --debugfs /nonexistent --json >&-", NULL },
	};
	char cmd[512], path[64];
	unsigned int i;
	int st;
	FILE *f;

	if (!exitstat_bin) {
		printf("# no binary given: not checked\n");
		return;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(tmp_file(path, ""));
		snprintf(cmd, sizeof(cmd), "%s %s 2>%s", exitstat_bin, cases[i][0], path);
		st = system(cmd);
		f = fopen(path, "r");
		cmd[0] = 0;
		if (f) {
			cmd[fread(cmd, 1, sizeof(cmd) - 1, f)] = 0;
			fclose(f);
		}
		unlink(path);
		if (!cases[i][1]) {	/* fails first for another reason: status 2 */
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2 && count_str(cmd, "\n") == 1);
			continue;
		}
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
		CHECK(count_str(cmd, "\n") == 1 && strstr(cmd, cases[i][1]));
		if (!ok)
			printf("# %s: status %d, stderr: %s", cases[i][0], st, cmd);
	}
	snprintf(cmd, sizeof(cmd), "%s -V >/dev/null", exitstat_bin);
	CHECK(system(cmd) == 0);
	/*
	 * here (no patched KVM on this machine, or no hypervisor) the command
	 * runs without statistics, with a warning, and its status is the
	 * result: nothing is written, so -o /dev/full cannot fail (the fakes
	 * above give its 125); a usage error runs nothing and is 125
	 */
	snprintf(cmd, sizeof(cmd), "%s -o /dev/full -- sh -c 'exit 5' 2>/dev/null", exitstat_bin);
	f = popen(cmd, "r");
	path[0] = 0;
	if (f) {
		path[fread(path, 1, sizeof(path) - 1, f)] = 0;
		st = pclose(f);
	}
	CHECK(f && WIFEXITED(st) && WEXITSTATUS(st) == 5);
	snprintf(cmd, sizeof(cmd), "%s -o /dev/full -- sh -c 'exit 5' 2>&1 | "
		 "grep -q \"^exitstat: warning: running 'sh' without exit statistics\"",
		 exitstat_bin);
	CHECK(system(cmd) == 0);
	snprintf(cmd, sizeof(cmd), "%s --bogus -- sh -c 'echo ran; exit 5' 2>/dev/null", exitstat_bin);
	f = popen(cmd, "r");
	path[0] = 0;
	if (f) {
		path[fread(path, 1, sizeof(path) - 1, f)] = 0;
		st = pclose(f);
	}
	CHECK(f && WIFEXITED(st) && WEXITSTATUS(st) == 125 && !*path);
}

static void t_help_version(void)
{
	scene();
	CHECK(run("-h") == 0 && starts(OUT, "usage: exitstat") && !*ERR);
	CHECK(run("--help") == 0 && strstr(OUT, "--raw LEAF"));
	CHECK(run("-V") == 0);
	CHECK_STR(OUT, "exitstat " ES_VERSION " (kvm-exitstat, CPUID ABI version 1)\n");
	CHECK(run("--version") == 0 && !*ERR);
	CHECK(F.calls == 0);
}

static uint32_t no_tsc(void)
{
	return 0;
}

int main(int argc, char **argv)
{
	exitstat_bin = argc > 1 ? argv[1] : NULL;
	setenv("TZ", "UTC", 1);
	tzset();
	es_hooks.clock = fake_clock;
	es_hooks.host_tsc_khz = no_tsc;
	test("64-bit values from two registers", t_reassembly);
	test("number parsing", t_parse_u32);
	test("reason names from the uapi headers", t_names);
	test("sorting: exits descending, ties by reason", t_sort);
	test("table: golden VMX", t_table_golden);
	test("table: SVM hex reasons, global scope, -v", t_table_svm);
	test("-a lists defined reasons, -v counts undefined", t_all_verbose);
	test("self-exclusion since the start", t_self_exclusion_since_start);
	test("deltas between two snapshots", t_snapshot_delta);
	test("-- COMMAND: exact exits, status", t_command);
	test("interval mode with a fake sleep", t_interval);
	test("JSON is valid", t_json);
	test("CSV rows", t_csv);
	test("--raw output and bad input", t_raw);
	test("detection errors", t_detection);
	test("bad arguments", t_bad_args);
	test("options as getopt takes them: -eHLT, --sort=Cycles, any order", t_getopt);
	test("help and version", t_help_version);
	test("-o FILE", t_output_file);
	test("--line, --top, -n, -t", t_line);
	test("-e filters, --sort", t_filter_sort);
	test("times per exit from the TSC rate", t_tsc);
	test("--prom passes promtool", t_prom);
	test("cycles not counted (bit 25): -, null, empty, no metric", t_cycles_off);
	test("reserved discovery bits are ignored", t_reserved_bits);
	test("a defined reason without a KVM handler answers its count", t_counted_without_handler);
	test("write errors: one line, status 1", t_write_errors);
	test("the binary: /dev/full and a closed stdout", t_binary);
	host_tests();
	free(OUT);
	free(ERR);
	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed != 0;
}
