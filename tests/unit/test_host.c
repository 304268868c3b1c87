// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of exitstat --host: fake debugfs and /proc trees in a
 * temporary directory, in the format of the patched KVM's exit_stats files
 * (guest/source_debugfs.c), driven through exitstat_main() --debugfs DIR.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "unit.h"

static char base[64], root[96], proc[96];

/* Write text to base/rel, making the directories on the way. */
static void put(const char *rel, const char *text, size_t len)
{
	char path[512], *s;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	for (s = strchr(path + strlen(base) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (mkdir(path, 0755) && errno != EEXIST)
			printf("# mkdir %s: %s\n", path, strerror(errno));
		*s = '/';
	}
	f = fopen(path, "w");
	if (!f || fwrite(text, 1, len, f) != len || fclose(f))
		printf("# cannot write %s\n", path);
}

#define PUT(rel, text) put(rel, text, strlen(text))
#define PUT_BIN(rel, literal) put(rel, literal, sizeof(literal) - 1)	/* with NULs */

static const char vm_a[] =
	"# vmx exit reason, exits, cycles, name\n"
	"1 300 600000 EXTERNAL_INTERRUPT\n"
	"10 100 200000 CPUID\n"
	"30 50 400000 IO_INSTRUCTION\n"
	"48 1000 30000000 EPT_VIOLATION\n"
	"other 2 200\n"
	"clamped 0\n"
	"total 1452 31200200\n";

/*
 * Two VMs: web1 (QEMU -name, two vCPUs with files), and one without, whose
 * file is of an older series: no "clamped" line.
 */
static void tree(void)
{
	char cmd[128];

	if (*base) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
		if (system(cmd))
			printf("# %s failed\n", cmd);
	}
	snprintf(base, sizeof(base), "/tmp/test_exitstat_host.XXXXXX");
	if (!mkdtemp(base))
		printf("# mkdtemp: %s\n", strerror(errno));
	snprintf(root, sizeof(root), "%s/kvm", base);
	snprintf(proc, sizeof(proc), "%s/proc", base);
	es_hooks.proc = proc;
	clock_reset();
	/* KVM's own files in its debugfs directory: not VMs */
	PUT("kvm/exits", "123\n");
	PUT("kvm/halt_exits", "4\n");
	PUT("kvm/4242-11/exit_stats", vm_a);
	PUT("kvm/4242-11/vcpu0/exit_stats",
	    "# vmx exit reason, exits, cycles, name\n"
	    "1 200 400000 EXTERNAL_INTERRUPT\n"
	    "10 60 120000 CPUID\n"
	    "48 700 20000000 EPT_VIOLATION\n"
	    "clamped 0\n"
	    "total 960 20520000\n");
	PUT("kvm/4242-11/vcpu1/exit_stats",
	    "# vmx exit reason, exits, cycles, name\n"
	    "1 100 200000 EXTERNAL_INTERRUPT\n"
	    "10 40 80000 CPUID\n"
	    "30 50 400000 IO_INSTRUCTION\n"
	    "48 300 10000000 EPT_VIOLATION\n"
	    "other 2 200\n"
	    "clamped 0\n"
	    "total 492 10680200\n");
	PUT("kvm/4242-11/vcpu1/tsc-offset", "0\n");
	PUT_BIN("proc/4242/cmdline", "qemu-system-x86_64\0-m\0512\0-name\0guest=web1,debug-threads=on\0");
	PUT("proc/4242/comm", "qemu-system-x86\n");
	PUT("kvm/777-9/exit_stats",
	    "# vmx exit reason, exits, cycles, name\n"
	    "5 1 10 IO_SMI\n"
	    "12 5 5000 HLT\n"
	    "total 6 5010\n");
	PUT("kvm/777-9/vcpu0/tsc-offset", "0\n");
	PUT_BIN("proc/777/cmdline", "qemu-kvm\0-m\0512\0");
	PUT("proc/777/comm", "qemu-kvm\n");
}

static int host(const char *args)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "--host --debugfs %s %s", root, args);
	return run(buf);
}

static void t_host_list(void)
{
	char path[128];

	tree();
	CHECK(host("") == 0);
	CHECK_STR(OUT,
		"    pid vm               vcpus        exits           cycles   cyc/exit  top reasons\n"
		"    777 qemu-kvm             1            6             5010        835  HLT=5 IO_SMI=1\n"
		"   4242 web1                 2         1452         31200200      21487  EPT_VIOLATION=1000 EXTERNAL_INTERRUPT=300 CPUID=100\n");
	CHECK_STR(ERR, "");
	CHECK(host("--vcpus -p 4242 -1 --top 1") == 0);
	CHECK_STR(OUT,
		"    pid vm               vcpus        exits           cycles   cyc/exit  top reasons\n"
		"   4242 web1                 2         1452         31200200      21487  EPT_VIOLATION=1000\n"
		"   4242 web1             vcpu0          960         20520000      21375  EPT_VIOLATION=700\n"
		"   4242 web1             vcpu1          492         10680200      21707  EPT_VIOLATION=300\n");
	/* the name falls back to comm, then to "?" */
	PUT("proc/4242/cmdline", "qemu-system-x86_64\0-name\0");
	CHECK(host("-p 4242 -n --line") == 0);
	CHECK(starts(OUT, "   4242 qemu-system-x86      2 "));
	snprintf(path, sizeof(path), "%s/4242/comm", proc);
	CHECK(!unlink(path));
	CHECK(host("-p 4242 -n --line") == 0);
	CHECK(starts(OUT, "   4242 ?                    2 "));
}

static void t_host_table(void)
{
	tree();
	CHECK(host("-p 4242") == 0);
	CHECK_STR(OUT,
		"VM exits since the VM started, all vCPUs of VM web1 (pid 4242, 2 vCPUs) (Intel VMX)\n"
		"reason  name                      exits           cycles  cycles/exit  %exits %cycles\n"
		"    48  EPT_VIOLATION              1000         30000000        30000   68.87   96.15\n"
		"     1  EXTERNAL_INTERRUPT          300           600000         2000   20.66    1.92\n"
		"    10  CPUID                       100           200000         2000    6.89    0.64\n"
		"    30  IO_INSTRUCTION               50           400000         8000    3.44    1.28\n"
		"        total                      1452         31200200        21487  100.00  100.00\n");
	/* -n: no titles, but a comment line says whose table it is */
	CHECK(host("-p 4242 --vcpus -n --sort reason") == 0);
	CHECK_STR(OUT,
		"# all vCPUs of VM web1 (pid 4242, 2 vCPUs)\n"
		"     1  EXTERNAL_INTERRUPT          300           600000         2000   20.66    1.92\n"
		"    10  CPUID                       100           200000         2000    6.89    0.64\n"
		"    30  IO_INSTRUCTION               50           400000         8000    3.44    1.28\n"
		"    48  EPT_VIOLATION              1000         30000000        30000   68.87   96.15\n"
		"        total                      1452         31200200        21487  100.00  100.00\n"
		"\n"
		"# vCPU 0 of VM web1 (pid 4242)\n"
		"     1  EXTERNAL_INTERRUPT          200           400000         2000   20.83    1.95\n"
		"    10  CPUID                        60           120000         2000    6.25    0.58\n"
		"    48  EPT_VIOLATION               700         20000000        28571   72.92   97.47\n"
		"        total                       960         20520000        21375  100.00  100.00\n"
		"\n"
		"# vCPU 1 of VM web1 (pid 4242)\n"
		"     1  EXTERNAL_INTERRUPT          100           200000         2000   20.33    1.87\n"
		"    10  CPUID                        40            80000         2000    8.13    0.75\n"
		"    30  IO_INSTRUCTION               50           400000         8000   10.16    3.75\n"
		"    48  EPT_VIOLATION               300         10000000        33333   60.98   93.63\n"
		"        total                       492         10680200        21707  100.00  100.00\n");
	/* with -t, the time too */
	CHECK(host("-p 777 -n -t") == 0);
	CHECK(starts(OUT, "# all vCPUs of VM qemu-kvm (pid 777, 1 vCPU), 2023-11-14 22:13:20 UTC\n"
		     "    12  HLT "));
	CHECK(host("-p 4242 --vcpus") == 0);
	CHECK(strstr(OUT, "\n\nVM exits since the VM started, vCPU 1 of VM web1 (pid 4242) (Intel VMX)\n"));
	/* -e: by the kernel's names too (IO_SMI is not in the uapi headers) */
	CHECK(host("-p 777 -e io_smi,12 -n --csv") == 0);
	CHECK_STR(OUT, "0,12,HLT,5,5000,cumulative,1700000000.000,,777,qemu-kvm,,,,,,,\n"
		  "0,5,IO_SMI,1,10,cumulative,1700000000.000,,777,qemu-kvm,,,,,,,\n"
		  "0,,total,6,5010,cumulative,1700000000.000,,777,qemu-kvm,,,,,,,\n");
	CHECK(host("-e NOPE") == 2);
	CHECK_STR(ERR, "exitstat: unknown exit reason 'NOPE' for Intel VMX: a name as exitstat "
		  "prints it, or a number\n");
	CHECK(host("-e 0x9999") == 2 && strstr(ERR, "not defined for Intel VMX"));
	CHECK(host("-e 0xbf") == 0);
	/* times per exit at a TSC rate given on the command line */
	CHECK(host("-p 777 --tsc-khz 1000000") == 0);
	CHECK(strstr(OUT, " us/exit ") && strstr(OUT, " 5000         1000      1.00 ") &&
	      strstr(OUT, "(from --tsc-khz).\n"));
}

static void t_host_formats(void)
{
	tree();
	CHECK(host("--json") == 0);
	CHECK(count_str(OUT, "\n") == 2);
	CHECK(starts(OUT, "{\"isa\":\"vmx\",\"scope\":\"vm\",\"total_exits\":6,\"total_cycles\":5010,"
		     "\"own_cpuid_exits_excluded\":0,\"own_cpuid_cycles_excluded\":0,\"block\":0,"
		     "\"kind\":\"cumulative\",\"time\":1700000000.000,\"interval\":null,\"tsc_khz\":null,"
		     "\"pid\":777,\"vm\":\"qemu-kvm\",\"vcpu\":null,\"vcpus\":1,\"clamped\":null,\"l2_exits\":null,\"l2_cycles\":null,\"hist\":null,\"p50\":null,\"p99\":null,\"max\":null,\"reasons\":["
		     "{\"reason\":12,\"name\":\"HLT\",\"exits\":5,\"cycles\":5000},"));
	CHECK(tool_accepts("jq", "jq -e -s 'length == 2 and .[1].pid == 4242 and .[1].vm == \"web1\" and "
		      ".[1].vcpus == 2 and ([.[1].reasons[].exits] | add) == 1450 and "
		      ".[1].total_exits == 1452' %s >/dev/null", OUT));
	CHECK(host("--json --vcpus -p 4242") == 0);
	CHECK(count_str(OUT, "\n") == 3 && count_str(OUT, "\"vcpu\":1,") == 1);
	CHECK(host("--csv -p 4242 --vcpus") == 0);
	CHECK(starts(OUT, "block,reason,name,exits,cycles,kind,time,interval,pid,vm,vcpu,clamped,l2_exits,l2_cycles,p50_cycles,p99_cycles,max_cycles\n"
		     "0,48,EPT_VIOLATION,1000,30000000,cumulative,1700000000.000,,4242,web1,,0,,,,,\n"));
	CHECK(strstr(OUT, "\n0,,total,492,10680200,cumulative,1700000000.000,,4242,web1,1,0,,,,,\n"));
}

static uint32_t tsc_2ghz(void)
{
	return 2000000;
}

static void t_host_prom(void)
{
	uint32_t (*saved)(void);

	tree();
	CHECK(host("--prom") == 0);
	CHECK(starts(OUT,
		"# HELP kvm_exitstat_exits_total VM exits KVM handled, per exit reason.\n"
		"# TYPE kvm_exitstat_exits_total counter\n"
		"kvm_exitstat_exits_total{vm=\"qemu-kvm\",pid=\"777\",reason=\"12\",name=\"HLT\"} 5\n"));
	CHECK(strstr(OUT, "\nkvm_exitstat_cycles_total{vm=\"web1\",pid=\"4242\",reason=\"48\","
		      "name=\"EPT_VIOLATION\"} 30000000\n"));
	CHECK(!strstr(OUT, "seconds"));
	/* clamped: only from the file that has the line (777's has none) */
	CHECK(strstr(OUT, "\n# HELP kvm_exitstat_clamped_total Cycle windows that closed below their "
		      "opening TSC (TSC skew between CPUs), counted as 0 cycles.\n"
		      "# TYPE kvm_exitstat_clamped_total counter\n"
		      "kvm_exitstat_clamped_total{vm=\"web1\",pid=\"4242\"} 0\n"));
	CHECK(count_str(OUT, "kvm_exitstat_clamped_total{") == 1);
	/* per vCPU: only the vCPUs' series, so that sum() counts once */
	saved = es_hooks.host_tsc_khz;
	es_hooks.host_tsc_khz = tsc_2ghz;
	CHECK(host("--prom --vcpus -p 4242") == 0);
	/*
	 * exits, cycles, seconds per reason (vCPU 1's "other" too), clamped,
	 * and the two totals
	 */
	CHECK(!strstr(OUT, "vcpu=\"\"") && count_str(OUT, "vcpu=\"0\"") == 3 * 3 + 1 + 2 &&
	      count_str(OUT, "vcpu=\"1\"") == 3 * (4 + 1) + 1 + 2);
	CHECK(strstr(OUT, "\nkvm_exitstat_exits_total{vm=\"web1\",pid=\"4242\",vcpu=\"1\","
		      "reason=\"other\",name=\"other\"} 2\n"));
	CHECK(strstr(OUT, "\nkvm_exitstat_all_exits_total{vm=\"web1\",pid=\"4242\",vcpu=\"1\"} 492\n"));
	CHECK(strstr(OUT, "\nkvm_exitstat_clamped_total{vm=\"web1\",pid=\"4242\",vcpu=\"1\"} 0\n"));
	CHECK(strstr(OUT, "\nkvm_exitstat_seconds_total{vm=\"web1\",pid=\"4242\",vcpu=\"1\","
		      "reason=\"48\",name=\"EPT_VIOLATION\"} 0.005000000\n"));
	/* label values escaped */
	PUT_BIN("proc/4242/cmdline", "qemu\0-name\0we\"b\\1\0");
	CHECK(host("--prom") == 0 && strstr(OUT, "{vm=\"we\\\"b\\\\1\",pid=\"4242\","));
	CHECK(tool_accepts("promtool", "promtool check metrics < %s", OUT));
	es_hooks.host_tsc_khz = saved;
}

/* What happens between blocks: VM 777 exits more, VM 5-1 starts. */
/* After a block: the VM whose directory is gone_vm ("99-3") is gone. */
static const char *gone_vm;

static void vm_gone_sleep(unsigned int seconds)
{
	char cmd[160];

	clock_advance(seconds);
	snprintf(cmd, sizeof(cmd), "rm -rf %s/%s", root, gone_vm);
	if (system(cmd))
		printf("# %s failed\n", cmd);
}

static void host_sleep(unsigned int seconds)
{
	clock_advance(seconds);
	PUT("kvm/777-9/exit_stats",
	    "# vmx exit reason, exits, cycles, name\n"
	    "5 1 10 IO_SMI\n"
	    "12 25 25000 HLT\n"
	    "30 4 40000 IO_INSTRUCTION\n"
	    "total 30 65010\n");
	PUT("kvm/5-1/exit_stats", "# vmx exit reason, exits, cycles, name\n12 1 1 HLT\ntotal 1 1\n");
}

static void t_host_interval(void)
{
	tree();
	es_hooks.sleep = host_sleep;
	CHECK(host("2 2") == 0);
	CHECK_STR(OUT,
		"    pid vm               vcpus        exits    exits/s           cycles   cyc/exit  top reasons\n"
		"    777 qemu-kvm             1            6          -             5010        835  HLT=5 IO_SMI=1\n"
		"   4242 web1                 2         1452          -         31200200      21487  EPT_VIOLATION=1000 EXTERNAL_INTERRUPT=300 CPUID=100\n"
		"\n"
		"    pid vm               vcpus        exits    exits/s           cycles   cyc/exit  top reasons\n"
		"      5 ?                    0            1          -                1          1  HLT=1\n"
		"    777 qemu-kvm             1           24       12.0            60000       2500  HLT=20 IO_INSTRUCTION=4\n"
		"   4242 web1                 2            0        0.0                0          -\n");
	tree();
	CHECK(host("-p 777 --json 1 2") == 0);
	CHECK(strstr(OUT, "\n{\"isa\":\"vmx\",\"scope\":\"vm\",\"total_exits\":24,\"total_cycles\":60000,"
		      "\"own_cpuid_exits_excluded\":0,\"own_cpuid_cycles_excluded\":0,\"block\":1,"
		      "\"kind\":\"delta\",\"time\":1700000001.000,\"interval\":1.000,"));
	tree();
	CHECK(host("-p 777 -t 1 2") == 0);
	CHECK(strstr(OUT, "\n\nVM exits in the last 1.00 s (elapsed 1.00 s), all vCPUs of VM qemu-kvm "
		      "(pid 777, 1 vCPU) (Intel VMX), 2023-11-14 22:13:21 UTC\n"));
	CHECK(strstr(OUT, "\n    12  HLT                      20       20.0 "));
	es_hooks.sleep = NULL;
}

static void t_host_errors(void)
{
	char buf[512];

	tree();
	CHECK(run("--host --debugfs /nonexistent/kvm") == 2);
	CHECK_STR(ERR, "exitstat: no /nonexistent/kvm: KVM is not loaded, or debugfs is not mounted "
		  "(mount -t debugfs none /sys/kernel/debug)\n");
	CHECK(host("-p 1") == 4);
	snprintf(buf, sizeof(buf), "exitstat: no VM of pid 1 in %s\n", root);
	CHECK_STR(ERR, buf);
	CHECK(host("--vcpus") == 2);
	CHECK_STR(OUT, "");
	snprintf(buf, sizeof(buf), "exitstat: no per-vCPU exit statistics (%s/777-9/vcpu0/exit_stats): "
		 "this KVM does not publish them\n", root);
	CHECK_STR(ERR, buf);
	/* stock KVM: VM directories without exit_stats */
	snprintf(buf, sizeof(buf), "%s/777-9/exit_stats", root);
	CHECK(!unlink(buf));
	snprintf(buf, sizeof(buf), "%s/4242-11/exit_stats", root);
	CHECK(!unlink(buf));
	CHECK(host("") == 2);
	snprintf(buf, sizeof(buf), "exitstat: no VM in %s has an exit_stats file: no patched KVM, "
		 "or kvm.exit_stats=0\n", root);
	CHECK_STR(ERR, buf);
	/* no VMs at all: just the header */
	snprintf(buf, sizeof(buf), "rm -rf %s/777-9 %s/4242-11", root, root);
	CHECK(!system(buf));
	CHECK(host("") == 0 && !*ERR);
	CHECK_STR(OUT, "    pid vm               vcpus        exits           cycles   cyc/exit  top reasons\n");
	CHECK(host("--json") == 0 && !*OUT);
	CHECK(host("-e NOPE -n") == 0 && !*OUT);	/* no VM to name the reasons */
	if (geteuid()) {
		chmod(root, 0);
		CHECK(host("") == 2 && strstr(ERR, ": Permission denied: exitstat --host needs root\n"));
		chmod(root, 0755);
	} else {
		printf("# running as root: the permission error is not checked\n");
	}
}

/* Broken files: a clear error, status 2, and never a number. */
static void t_host_malformed(void)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "", "empty" },
		{ "# vmx exit reason, exits, cycles, name\ntotal 0 0", "no newline at the end" },
		{ "# vmx exit reason, exits, cycles, name\n", "no \"total\" line" },
		{ "# vmx exit reason, exits, cycles, name\n1 2 3 X\n", "no \"total\" line" },
		{ "# arm exit reason, exits, cycles, name\ntotal 0 0\n", "line 1:" },
		{ "1 2 3 X\ntotal 2 3\n", "line 1:" },
		{ "# vmx exit reason, exits, cycles, name\n1 2 3\ntotal 2 3\n", "line 2:" },
		{ "# vmx exit reason, exits, cycles, name\n1 2 3 \ntotal 2 3\n", "line 2:" },
		{ "# vmx exit reason, exits, cycles, name\n1  2 3 X\ntotal 2 3\n", "line 2:" },
		{ "# vmx exit reason, exits, cycles, name\n-1 2 3 X\ntotal 2 3\n", "line 2:" },
		{ "# vmx exit reason, exits, cycles, name\n+1 2 3 X\ntotal 2 3\n", "line 2:" },
		{ "# vmx exit reason, exits, cycles, name\n1 0x2 3 X\ntotal 2 3\n", "line 2:" },
		{ "# vmx exit reason, exits, cycles, name\n1 2 3 X\ntotal 2 4\n", "do not add up" },
		{ "# vmx exit reason, exits, cycles, name\n1 2 3 X\ntotal 3 3\n", "do not add up" },
		{ "# vmx exit reason, exits, cycles, name\n1 2 3 X\n1 2 3 X\ntotal 4 6\n", "a second time" },
		{ "# vmx exit reason, exits, cycles, name\n65536 2 3 X\ntotal 2 3\n", "past 0xffff" },
		{ "# vmx exit reason, exits, cycles, name\n1 18446744073709551616 3 X\ntotal 2 3\n",
		  "line 2:" },
		{ "# vmx exit reason, exits, cycles, name\n1 9223372036854775808 3 X\n"
		  "2 9223372036854775808 3 X\ntotal 0 6\n", "passes 2^64" },
		{ "# vmx exit reason, exits, cycles, name\ntotal 0 0\ntotal 0 0\n", "after the total" },
		{ "# vmx exit reason, exits, cycles, name\nother 1 1\nother 1 1\ntotal 2 2\n",
		  "second \"other\"" },
		{ "# vmx exit reason, exits, cycles, name\nother 1\ntotal 1 0\n", "line 2:" },
		{ "# vmx exit reason, exits, cycles, name\ntotal 0 0 0\n", "line 2:" },
		{ "# vmx exit reason, exits, cycles, name\nTotal 0 0\n", "line 2:" },
		{ "# vmx exit reason, exits, cycles, name\n\ntotal 0 0\n", "line 2:" },
		/* "cycles off": right after the header, nowhere else */
		{ "# vmx exit reason, exits, cycles, name\n1 2 0 X\ncycles off\ntotal 2 0\n",
		  "line 3: \"cycles off\" is allowed only right after the header" },
		{ "# vmx exit reason, exits, cycles, name\ncycles off\ncycles off\ntotal 0 0\n",
		  "line 3: \"cycles off\" is allowed only" },
		{ "# vmx exit reason, exits, cycles, name\nother 1 0\ncycles off\ntotal 1 0\n",
		  "line 3: \"cycles off\" is allowed only" },
		{ "# vmx exit reason, exits, cycles, name\ncycles  off\ntotal 0 0\n", "line 2:" },
		{ "# vmx exit reason, exits, cycles, name\ncycles off \ntotal 0 0\n", "line 2:" },
		{ "# vmx exit reason, exits, cycles, name\nCycles off\ntotal 0 0\n", "line 2:" },
		{ "# vmx exit reason, exits, cycles, name\ncycles on\ntotal 0 0\n", "line 2:" },
		/* "l2": after its reason's line, adding up to "l2 total" */
		{ "# vmx exit reason, exits, cycles, name\nl2 10 1 1\nl2 total 1 1\ntotal 0 0\n",
		  "line 2: \"l2\" must follow the line of its reason" },
		{ "# vmx exit reason, exits, cycles, name\n10 2 2 X\nl2 12 1 1\nl2 total 1 1\ntotal 2 2\n",
		  "line 3: not \"l2 10 EXITS CYCLES\" after reason 10's line" },
		{ "# vmx exit reason, exits, cycles, name\n10 2 2 X\nl2 10 3 1\nl2 total 3 1\ntotal 2 2\n",
		  "line 3: more exits or cycles while L2 ran than in all" },
		{ "# vmx exit reason, exits, cycles, name\n10 2 2 X\nl2 10 1 3\nl2 total 1 3\ntotal 2 2\n",
		  "line 3: more exits or cycles while L2 ran than in all" },
		{ "# vmx exit reason, exits, cycles, name\n10 2 2 X\nl2 10 1 1\nl2 10 1 1\nl2 total 2 2\ntotal 2 2\n",
		  "line 4: \"l2\" must follow" },
		{ "# vmx exit reason, exits, cycles, name\n10 2 2 X\nl2 10 1\nl2 total 1 1\ntotal 2 2\n",
		  "line 3: not \"l2 REASON EXITS CYCLES\"" },
		{ "# vmx exit reason, exits, cycles, name\nother 2 2\nl2 10 1 1\nl2 total 1 1\ntotal 2 2\n",
		  "line 3: not \"l2 other EXITS CYCLES\" after \"other\"" },
		{ "# vmx exit reason, exits, cycles, name\n10 2 2 X\nl2 10 1 1\ntotal 2 2\n",
		  "\"l2\" lines without \"l2 total\"" },
		{ "# vmx exit reason, exits, cycles, name\n10 2 2 X\nl2 10 1 1\nl2 total 2 1\ntotal 2 2\n",
		  "the \"l2\" lines do not add up to \"l2 total\"" },
		{ "# vmx exit reason, exits, cycles, name\nl2 total 0 0\n10 2 2 X\ntotal 2 2\n",
		  "line 3: after \"l2 total\", only \"clamped\" and \"total\" may follow" },
		{ "# vmx exit reason, exits, cycles, name\nclamped 0\nl2 total 0 0\ntotal 0 0\n",
		  "line 3: after \"clamped\"" },
		{ "# vmx exit reason, exits, cycles, name\nl2 total 0\ntotal 0 0\n",
		  "line 2: not \"l2 total EXITS CYCLES\"" },
		{ "# vmx exit reason, exits, cycles, name\nl2 total 0 0\nl2 total 0 0\ntotal 0 0\n",
		  "line 3: after \"l2 total\"" },
		/* "clamped N": once, right before the total, a decimal u64 */
		{ "# vmx exit reason, exits, cycles, name\nclamped 1\nclamped 1\ntotal 0 0\n",
		  "line 3: a second \"clamped\" line" },
		{ "# vmx exit reason, exits, cycles, name\nclamped 1\n1 2 3 X\ntotal 2 3\n",
		  "line 3: after \"clamped\", only \"total\" may follow" },
		{ "# vmx exit reason, exits, cycles, name\nclamped 1\nother 1 1\ntotal 1 1\n",
		  "line 3: after \"clamped\"" },
		{ "# vmx exit reason, exits, cycles, name\nclamped 0\ncycles off\ntotal 0 0\n",
		  "line 3: after \"clamped\"" },
		{ "# vmx exit reason, exits, cycles, name\nclamped 1\n", "no \"total\" line" },
		{ "# vmx exit reason, exits, cycles, name\ntotal 0 0\nclamped 0\n", "line 3: after the total" },
		{ "# vmx exit reason, exits, cycles, name\nclamped\ntotal 0 0\n", "line 2:" },
		{ "# vmx exit reason, exits, cycles, name\nclamped \ntotal 0 0\n", "line 2: not \"clamped N\"" },
		{ "# vmx exit reason, exits, cycles, name\nclamped x\ntotal 0 0\n", "line 2: not \"clamped N\"" },
		{ "# vmx exit reason, exits, cycles, name\nclamped 1 2\ntotal 0 0\n", "line 2: not \"clamped N\"" },
		{ "# vmx exit reason, exits, cycles, name\nclamped -1\ntotal 0 0\n", "line 2: not \"clamped N\"" },
		{ "# vmx exit reason, exits, cycles, name\nclamped 0x1\ntotal 0 0\n", "line 2: not \"clamped N\"" },
		{ "# vmx exit reason, exits, cycles, name\nclamped  1\ntotal 0 0\n", "line 2: not \"clamped N\"" },
		{ "# vmx exit reason, exits, cycles, name\nclamped 18446744073709551616\ntotal 0 0\n",
		  "line 2: not \"clamped N\"" },
		{ "# vmx exit reason, exits, cycles, name\nClamped 1\ntotal 0 0\n", "line 2:" },
	};
	char want[512], path[128];
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tree();
		PUT("kvm/777-9/exit_stats", bad[i].text);
		snprintf(path, sizeof(path), "%s/777-9/exit_stats", root);
		snprintf(want, sizeof(want), "exitstat: warning: %s: malformed: ", path);
		/* the VM is left out, with a warning; the others are shown, status 3 */
		if (host("") != 3 || !strstr(OUT, " web1 ") || strstr(OUT, "qemu-kvm") ||
		    !starts(ERR, want) || !strstr(ERR, bad[i].why) || count_str(ERR, "\n") != 2 ||
		    !strstr(ERR, "\nexitstat: warning: VM 777-9 skipped\n")) {
			printf("# case %u: %s\ngot: %s%s", i, bad[i].text, OUT, ERR);
			ok = false;
		}
	}
	/* a NUL byte */
	tree();
	PUT_BIN("kvm/777-9/exit_stats", "# vmx exit reason, exits, cycles, name\n1 2 3 X\0\ntotal 2 3\n");
	CHECK(host("--json") == 3 && strstr(OUT, "\"pid\":4242") && !strstr(OUT, "qemu-kvm") &&
	      strstr(ERR, "malformed: a NUL byte\n"));
	/* Prometheus: the good VMs' metrics are all there */
	CHECK(host("--prom") == 3 && strstr(OUT, "pid=\"4242\"") && !strstr(OUT, "qemu-kvm"));
	/* a vCPU file of the other ISA: its VM is the only one of -p, so none is left */
	tree();
	PUT("kvm/4242-11/vcpu1/exit_stats", "# svm exit reason, exits, cycles, name\ntotal 0 0\n");
	CHECK(host("-p 4242 --vcpus") == 2 && !*OUT && strstr(ERR, "a different ISA") &&
	      strstr(ERR, "VM 4242-11 skipped\n") && strstr(ERR, "has a readable exit_stats file\n"));
}

/* The parser itself: names with spaces, "-" for none, SVM, "other", "cycles off", "clamped". */
static void t_host_parse(void)
{
	static const char svm[] =
		"# svm exit reason, exits, cycles, name\n"
		"78 1 500 PF excp\n"
		"114 3 300 cpuid\n"
		"1024 40 400000 npf\n"
		"166 2 20 -\n"
		"other 1 1\n"
		"total 47 400821\n";
	static const char counts[] =
		"# vmx exit reason, exits, cycles, name\n"
		"cycles off\n"
		"30 4 0 IO_INSTRUCTION\n"
		"other 1 0\n"
		"clamped 18446744073709551615\n"
		"total 5 0\n";
	struct es_info info = { 0 };
	struct es_snap s;
	char why[128];

	CHECK(es_host_parse(svm, strlen(svm), &info, &s, why, sizeof(why)) == 0);
	CHECK(info.isa == ES_ISA_SVM && info.cpuid_reason == 0x72 && s.n == 1025);
	CHECK(s.exits[1024] == 40 && s.cycles[78] == 500 && !strcmp(s.names[78], "PF excp"));
	CHECK(!s.names[166] && s.exits[166] == 2);
	CHECK(s.head.exits.v == 47 && s.head.cpuid_exits.v == 3 && s.tail.cycles.v == 400821);
	CHECK(!info.cycles_off && !s.has_clamped && !s.clamped);	/* an older series' file */
	es_snap_free(&s);
	CHECK(es_host_parse(counts, strlen(counts), &info, &s, why, sizeof(why)) == 0);
	CHECK(info.isa == ES_ISA_VMX && info.cycles_off && s.n == 31);
	CHECK(s.has_clamped && s.clamped == UINT64_MAX && s.exits[30] == 4 && !s.cycles[30]);
	CHECK(s.head.exits.v == 5 && s.tail.exits.v == 5 && !s.head.cycles.v);
	es_snap_free(&s);
	/* the same info again: nothing of the last file stays */
	CHECK(es_host_parse(vm_a, strlen(vm_a), &info, &s, why, sizeof(why)) == 0);
	CHECK(!info.cycles_off && s.has_clamped && !s.clamped);
	es_snap_free(&s);
	CHECK(es_host_parse(vm_a, 30, &info, &s, why, sizeof(why)) == -1);
	CHECK_STR(why, "no newline at the end: cut short");
	CHECK(!s.exits && !s.names);
}

/* The L2 split: parsed, checked, and shown in every format. */
static void t_host_l2(void)
{
	static const char nested[] =
		"# svm exit reason, exits, cycles, name\n"
		"114 30 3000 cpuid\n"
		"l2 114 20 2400\n"
		"128 21 4200 vmrun\n"
		"1024 5 500 npf\n"
		"other 1 7\n"
		"l2 other 1 7\n"
		"l2 total 21 2407\n"
		"clamped 0\n"
		"total 57 7707\n";

	tree();
	PUT("kvm/99-3/exit_stats", nested);
	PUT("proc/99/comm", "l1\n");
	CHECK(host("-p 99") == 0);
	CHECK_STR(OUT,
		"VM exits since the VM started, all vCPUs of VM l1 (pid 99, 0 vCPUs) (AMD SVM)\n"
		"reason  name         exits           cycles  cycles/exit  %exits %cycles     l2 exits        l2 cycles\n"
		"  0x72  cpuid           30             3000          100   52.63   38.93           20             2400\n"
		"  0x80  vmrun           21             4200          200   36.84   54.50            0                0\n"
		" 0x400  npf              5              500          100    8.77    6.49            0                0\n"
		"        total           57             7707          135  100.00  100.00           21             2407\n"
		"l2: of those, the exits taken while the VM ran a nested guest (36.84 % of the exits).\n");
	CHECK(host("-p 99 --json") == 0);
	CHECK(strstr(OUT, ",\"clamped\":0,\"l2_exits\":21,\"l2_cycles\":2407,\"hist\":null,\"p50\":null,\"p99\":null,\"max\":null,\"reasons\":["
		      "{\"reason\":114,\"name\":\"cpuid\",\"exits\":30,\"cycles\":3000,"
		      "\"l2_exits\":20,\"l2_cycles\":2400},"));
	CHECK(host("-p 99 --csv") == 0);
	CHECK(starts(OUT, "block,reason,name,exits,cycles,kind,time,interval,pid,vm,vcpu,clamped,l2_exits,l2_cycles,p50_cycles,p99_cycles,max_cycles\n"
		     "0,114,cpuid,30,3000,cumulative,1700000000.000,,99,l1,,0,20,2400,,,\n"));
	CHECK(strstr(OUT, "\n0,,total,57,7707,cumulative,1700000000.000,,99,l1,,0,21,2407,,,\n"));
	/* the list: a column for the VMs whose files split them, "-" for the rest */
	CHECK(host("") == 0);
	CHECK_STR(OUT,
		"    pid vm               vcpus        exits           cycles   cyc/exit     l2 exits  top reasons\n"
		"     99 l1                   0           57             7707        135           21  cpuid=30 vmrun=21 npf=5\n"
		"    777 qemu-kvm             1            6             5010        835            -  HLT=5 IO_SMI=1\n"
		"   4242 web1                 2         1452         31200200      21487            -  EPT_VIOLATION=1000 EXTERNAL_INTERRUPT=300 CPUID=100\n");
	CHECK(host("-p 99 --prom") == 0);
	CHECK(strstr(OUT, "\nkvm_exitstat_l2_exits_total{vm=\"l1\",pid=\"99\",reason=\"114\",name=\"cpuid\"} 20\n"));
	CHECK(strstr(OUT, "\nkvm_exitstat_l2_cycles_total{vm=\"l1\",pid=\"99\",reason=\"128\",name=\"vmrun\"} 0\n"));
	CHECK(tool_accepts("promtool", "promtool check metrics < %s", OUT));
	/* a file with "l2 total 0 0": the split is known, no columns in the table */
	PUT("kvm/99-3/exit_stats", "# svm exit reason, exits, cycles, name\n114 3 300 cpuid\n"
	    "l2 total 0 0\nclamped 0\ntotal 3 300\n");
	CHECK(host("-p 99") == 0 && !strstr(OUT, "l2"));
	CHECK(host("-p 99 --json") == 0 && strstr(OUT, "\"l2_exits\":0,\"l2_cycles\":0,"));
	/* the 777 file has no "l2 total" (an older series): unknown, not 0 */
	CHECK(host("-p 777 --json") == 0 && strstr(OUT, "\"l2_exits\":null,\"l2_cycles\":null,"));
	CHECK(host("-p 777 --prom") == 0 && !strstr(OUT, "l2"));
	/* the list's columns stay from block to block, the L1 VM gone or not */
	PUT("kvm/99-3/exit_stats", nested);
	gone_vm = "99-3";
	es_hooks.sleep = vm_gone_sleep;
	CHECK(host("1 2") == 0);
	CHECK(count_str(OUT, "cyc/exit     l2 exits  top reasons\n") == 2 && count_str(OUT, " l1 ") == 1);
	es_hooks.sleep = NULL;
}

static void t_qemu_name(void)
{
	static const struct {
		const char *cmdline;
		size_t len;
		const char *name;
	} cases[] = {
#define C(literal) literal, sizeof(literal) - 1
		{ C("qemu\0-name\0foo\0"), "foo" },
		{ C("qemu\0-name\0guest=web,debug-threads=on\0"), "web" },
		{ C("qemu\0-name\0debug-threads=on,guest=db\0"), "db" },
		{ C("qemu\0-name\0vm1,process=qemu:vm1\0"), "vm1" },
		{ C("qemu\0--name\0a,,b\0"), "a,b" },
		{ C("qemu\0-name\0a\tb\0"), "a?b" },
		{ C("qemu\0-name\0foo"), "foo" },
		{ C("qemu\0-name\0"), NULL },
		{ C("qemu\0-name\0process=x\0"), NULL },
		{ C("qemu\0-m\0512\0"), NULL },
		{ C("-name"), NULL },
	};
	char name[64];
	unsigned int i;
	bool found;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strcpy(name, "unset");
		found = es_qemu_name(cases[i].cmdline, cases[i].len, name, sizeof(name));
		if (found != !!cases[i].name || (found && strcmp(name, cases[i].name))) {
			printf("# case %u: %s '%s'\n", i, found ? "found" : "not found", name);
			ok = false;
		}
	}
	CHECK(es_qemu_name("q\0-name\0abcdefgh\0", 17, name, 4) && !strcmp(name, "abc"));
}

/* web1 with clamped cycle windows: 1 on vCPU 0, 2 on vCPU 1. */
static void tree_clamped(unsigned int c0, unsigned int c1)
{
	char buf[512];

	snprintf(buf, sizeof(buf),
		 "# vmx exit reason, exits, cycles, name\n"
		 "10 60 120000 CPUID\n48 700 20000000 EPT_VIOLATION\n"
		 "clamped %u\ntotal 760 20120000\n", c0);
	PUT("kvm/4242-11/vcpu0/exit_stats", buf);
	snprintf(buf, sizeof(buf),
		 "# vmx exit reason, exits, cycles, name\n"
		 "10 40 80000 CPUID\n48 300 10000000 EPT_VIOLATION\n"
		 "clamped %u\ntotal 340 10080000\n", c1);
	PUT("kvm/4242-11/vcpu1/exit_stats", buf);
	snprintf(buf, sizeof(buf),
		 "# vmx exit reason, exits, cycles, name\n"
		 "10 100 200000 CPUID\n48 1000 30000000 EPT_VIOLATION\n"
		 "clamped %u\ntotal 1100 30200000\n", c0 + c1);
	PUT("kvm/4242-11/exit_stats", buf);
}

static void clamped_sleep(unsigned int seconds)
{
	clock_advance(seconds);
	tree_clamped(1, 4);
}

/* "clamped N": a note in the table when not 0, a field, a counter. */
static void t_host_clamped(void)
{
	tree();
	tree_clamped(1, 2);
	CHECK(host("-p 4242") == 0);
	CHECK_STR(OUT,
		"VM exits since the VM started, all vCPUs of VM web1 (pid 4242, 2 vCPUs) (Intel VMX)\n"
		"reason  name                 exits           cycles  cycles/exit  %exits %cycles\n"
		"    48  EPT_VIOLATION         1000         30000000        30000   90.91   99.34\n"
		"    10  CPUID                  100           200000         2000    9.09    0.66\n"
		"        total                 1100         30200000        27454  100.00  100.00\n"
		"Clamped: 3 cycle windows closed below the TSC at their opening (TSC skew between "
		"CPUs): counted as 0 cycles.\n");
	CHECK(host("-p 4242 --vcpus -n -e 10") == 0);
	CHECK(strstr(OUT, "\nClamped: 1 cycle window closed below the TSC at its opening (TSC skew "
		      "between CPUs): counted as 0 cycles.\n"));
	CHECK(count_str(OUT, "Clamped: ") == 3 && strstr(OUT, "\nClamped: 2 cycle windows"));
	/* not 0 only: no note */
	tree_clamped(0, 0);
	CHECK(host("-p 4242 --vcpus") == 0 && !strstr(OUT, "Clamped"));
	tree_clamped(1, 2);
	CHECK(host("--json") == 0);
	CHECK(strstr(OUT, "\"pid\":777,\"vm\":\"qemu-kvm\",\"vcpu\":null,\"vcpus\":1,\"clamped\":null,"));
	CHECK(host("--json --vcpus -p 4242") == 0);
	CHECK(strstr(OUT, "\"pid\":4242,\"vm\":\"web1\",\"vcpu\":null,\"vcpus\":2,\"clamped\":3,\"l2_exits\":null,\"l2_cycles\":null,\"hist\":null,\"p50\":null,\"p99\":null,\"max\":null,\"reasons\":["));
	CHECK(strstr(OUT, "\"pid\":4242,\"vm\":\"web1\",\"vcpu\":1,\"clamped\":2,\"l2_exits\":null,\"l2_cycles\":null,\"hist\":null,\"p50\":null,\"p99\":null,\"max\":null,\"reasons\":["));
	CHECK(tool_accepts("jq", "jq -e -s '[.[] | select(.pid == 4242) | .clamped] == [3, 1, 2]' %s >/dev/null", OUT));
	CHECK(host("--csv -p 4242 --vcpus -e 10") == 0);
	CHECK_STR(OUT,
		"block,reason,name,exits,cycles,kind,time,interval,pid,vm,vcpu,clamped,l2_exits,l2_cycles,p50_cycles,p99_cycles,max_cycles\n"
		"0,10,CPUID,100,200000,cumulative,1700000000.000,,4242,web1,,3,,,,,\n"
		"0,,total,1100,30200000,cumulative,1700000000.000,,4242,web1,,3,,,,,\n"
		"0,10,CPUID,60,120000,cumulative,1700000000.000,,4242,web1,0,1,,,,,\n"
		"0,,total,760,20120000,cumulative,1700000000.000,,4242,web1,0,1,,,,,\n"
		"0,10,CPUID,40,80000,cumulative,1700000000.000,,4242,web1,1,2,,,,,\n"
		"0,,total,340,10080000,cumulative,1700000000.000,,4242,web1,1,2,,,,,\n");
	/* Prometheus: per VM, or per vCPU with --vcpus; promtool agrees */
	CHECK(host("--prom") == 0);
	CHECK(strstr(OUT, "# TYPE kvm_exitstat_clamped_total counter\n"
		      "kvm_exitstat_clamped_total{vm=\"web1\",pid=\"4242\"} 3\n"));
	CHECK(count_str(OUT, "kvm_exitstat_clamped_total{") == 1 && count_str(OUT, "# TYPE") == 5);
	CHECK(tool_accepts("promtool", "promtool check metrics < %s", OUT));
	CHECK(host("--prom --vcpus -p 4242") == 0);
	CHECK(strstr(OUT, "\nkvm_exitstat_clamped_total{vm=\"web1\",pid=\"4242\",vcpu=\"0\"} 1\n"
		      "kvm_exitstat_clamped_total{vm=\"web1\",pid=\"4242\",vcpu=\"1\"} 2\n"));
	CHECK(count_str(OUT, "kvm_exitstat_clamped_total{") == 2);
	CHECK(tool_accepts("promtool", "promtool check metrics < %s", OUT));
	/* intervals: a delta like the counts (2 more windows, on vCPU 1) */
	es_hooks.sleep = clamped_sleep;
	CHECK(host("-p 4242 --vcpus --json 1 2") == 0);
	CHECK(count_str(OUT, "\n") == 6);
	CHECK(strstr(OUT, "\"block\":1,\"kind\":\"delta\",\"time\":1700000001.000,\"interval\":1.000,"
		      "\"tsc_khz\":null,\"pid\":4242,\"vm\":\"web1\",\"vcpu\":null,\"vcpus\":2,\"clamped\":2,"));
	CHECK(strstr(OUT, "\"vcpu\":0,\"clamped\":0,") && strstr(OUT, "\"vcpu\":1,\"clamped\":2,"));
	tree();
	tree_clamped(1, 2);
	CHECK(host("-p 4242 -n 1 2") == 0);
	CHECK(strstr(OUT, "\n\n# all vCPUs of VM web1 (pid 4242, 2 vCPUs)\n"
		      "        total            0        0.0                0            -"
		      "       -       -\nClamped: 2 cycle windows closed"));
	es_hooks.sleep = NULL;
}

/* "cycles off" (kvm.exit_stats=counts): no cycles shown as zeros. */
static void tree_cycles_off(void)
{
	static const char vm[] =
		"# vmx exit reason, exits, cycles, name\n"
		"cycles off\n"
		"10 100 0 CPUID\n"
		"48 1000 0 EPT_VIOLATION\n"
		"other 2 0\n"
		"clamped 0\n"
		"total 1102 0\n";

	tree();
	PUT("kvm/4242-11/exit_stats", vm);
	PUT("kvm/4242-11/vcpu0/exit_stats", "# vmx exit reason, exits, cycles, name\ncycles off\n"
	    "10 60 0 CPUID\n48 700 0 EPT_VIOLATION\nclamped 0\ntotal 760 0\n");
	PUT("kvm/4242-11/vcpu1/exit_stats", "# vmx exit reason, exits, cycles, name\ncycles off\n"
	    "10 40 0 CPUID\n48 300 0 EPT_VIOLATION\nother 2 0\nclamped 0\ntotal 342 0\n");
}

static void t_host_cycles_off(void)
{
	uint32_t (*saved)(void) = es_hooks.host_tsc_khz;

	tree_cycles_off();
	CHECK(host("-p 4242") == 0);
	CHECK_STR(OUT,
		"VM exits since the VM started, all vCPUs of VM web1 (pid 4242, 2 vCPUs) (Intel VMX)\n"
		"Cycles not counted (kvm.exit_stats=counts): shown as -\n"
		"reason  name                 exits           cycles  cycles/exit  %exits %cycles\n"
		"    48  EPT_VIOLATION         1000                -            -   90.74       -\n"
		"    10  CPUID                  100                -            -    9.07       -\n"
		"        total                 1102                -            -  100.00       -\n");
	/* the list: 777's file counts cycles, web1's does not */
	CHECK(host("") == 0);
	CHECK_STR(OUT,
		"    pid vm               vcpus        exits           cycles   cyc/exit  top reasons\n"
		"    777 qemu-kvm             1            6             5010        835  HLT=5 IO_SMI=1\n"
		"   4242 web1                 2         1102                -          -  EPT_VIOLATION=1000 CPUID=100\n");
	es_hooks.host_tsc_khz = tsc_2ghz;
	CHECK(host("-p 4242 --vcpus -n -e 10") == 0);
	CHECK(count_str(OUT, "-            -         -") == 6 && !strstr(OUT, "Times at"));
	CHECK(host("--json -p 4242") == 0);
	CHECK_STR(OUT,
		"{\"isa\":\"vmx\",\"scope\":\"vm\",\"total_exits\":1102,\"total_cycles\":null,"
		"\"own_cpuid_exits_excluded\":0,\"own_cpuid_cycles_excluded\":null,\"block\":0,"
		"\"kind\":\"cumulative\",\"time\":1700000000.000,\"interval\":null,"
		"\"tsc_khz\":2000000,\"total_seconds\":null,\"pid\":4242,\"vm\":\"web1\","
		"\"vcpu\":null,\"vcpus\":2,\"clamped\":0,\"l2_exits\":null,\"l2_cycles\":null,\"hist\":null,\"p50\":null,\"p99\":null,\"max\":null,\"reasons\":["
		"{\"reason\":48,\"name\":\"EPT_VIOLATION\",\"exits\":1000,\"cycles\":null},"
		"{\"reason\":10,\"name\":\"CPUID\",\"exits\":100,\"cycles\":null}]}\n");
	CHECK(host("--csv -p 4242 -n") == 0);
	CHECK_STR(OUT,
		"0,48,EPT_VIOLATION,1000,,cumulative,1700000000.000,,4242,web1,,0,,,,,\n"
		"0,10,CPUID,100,,cumulative,1700000000.000,,4242,web1,,0,,,,,\n"
		"0,,total,1102,,cumulative,1700000000.000,,4242,web1,,0,,,,,\n");
	/* Prometheus: web1 has no cycles or seconds series, 777 has both */
	CHECK(host("--prom") == 0);
	CHECK(count_str(OUT, "kvm_exitstat_cycles_total{") == 2 &&
	      count_str(OUT, "kvm_exitstat_seconds_total{") == 2 &&
	      !strstr(OUT, "_cycles_total{vm=\"web1\"") && !strstr(OUT, "_seconds_total{vm=\"web1\"") &&
	      strstr(OUT, "kvm_exitstat_exits_total{vm=\"web1\",pid=\"4242\",reason=\"48\","));
	CHECK(tool_accepts("promtool", "promtool check metrics < %s", OUT));
	CHECK(host("--prom -p 4242 --vcpus") == 0);
	CHECK(count_str(OUT, "# TYPE") == 3 && !strstr(OUT, "cycles_total") && !strstr(OUT, "seconds"));
	CHECK(tool_accepts("promtool", "promtool check metrics < %s", OUT));
	es_hooks.host_tsc_khz = saved;
}

static void t_host_write_errors(void)
{
	FILE *f = fopen("/dev/full", "w");
	char buf[256];

	tree();
	snprintf(buf, sizeof(buf), "--host --debugfs %s --prom", root);
	CHECK(f && run_to(f, buf) == 1);
	CHECK_STR(ERR, "exitstat: cannot write to standard output: No space left on device\n");
	if (f)
		fclose(f);
}

/* Between blocks: vCPU 1 of web1 takes 10 HLT exits. */
static void vcpu_sleep(unsigned int seconds)
{
	clock_advance(seconds);
	PUT("kvm/4242-11/vcpu1/exit_stats",
	    "# vmx exit reason, exits, cycles, name\n"
	    "1 100 200000 EXTERNAL_INTERRUPT\n"
	    "10 40 80000 CPUID\n"
	    "12 10 1000 HLT\n"
	    "30 50 400000 IO_INSTRUCTION\n"
	    "48 300 10000000 EPT_VIOLATION\n"
	    "other 2 200\n"
	    "clamped 0\n"
	    "total 502 10681200\n");
}

/* -g PATTERN: VMs by name, a shell pattern; none: status 4. */
static void t_host_vm_name(void)
{
	static const char head[] =
		"    pid vm               vcpus        exits           cycles   cyc/exit  top reasons\n";
	static const char l777[] =
		"    777 qemu-kvm             1            6             5010        835  HLT=5 IO_SMI=1\n";
	static const char l4242[] =
		"   4242 web1                 2         1452         31200200      21487  "
		"EPT_VIOLATION=1000 EXTERNAL_INTERRUPT=300 CPUID=100\n";
	char want[512];

	tree();
	snprintf(want, sizeof(want), "%s%s", head, l4242);
	CHECK(host("-g web1") == 0);
	CHECK_STR(OUT, want);
	CHECK(host("--vm-name=w*") == 0);
	CHECK_STR(OUT, want);
	CHECK(host("-gweb?") == 0);
	CHECK_STR(OUT, want);
	snprintf(want, sizeof(want), "%s%s%s", head, l777, l4242);
	CHECK(host("-g qemu-* -g web[0-9]") == 0);
	CHECK_STR(OUT, want);
	/* the whole name: no substring match */
	CHECK(host("-g web") == 4 && !*OUT);
	snprintf(want, sizeof(want), "exitstat: no VM named 'web' in %s\n", root);
	CHECK_STR(ERR, want);
	CHECK(host("-g web -g db* --json") == 4 && !*OUT);
	snprintf(want, sizeof(want), "exitstat: no VM named 'web' or 'db*' in %s\n", root);
	CHECK_STR(ERR, want);
	/* with -p: both must match */
	CHECK(host("-p 4242 -g web1 -n --csv -e 48") == 0);
	CHECK_STR(OUT, "0,48,EPT_VIOLATION,1000,30000000,cumulative,1700000000.000,,4242,web1,,0,,,,,\n"
		  "0,,total,1452,31200200,cumulative,1700000000.000,,4242,web1,,0,,,,,\n");
	CHECK(host("-p 4242 -g qemu-kvm") == 4 && !*OUT);
	snprintf(want, sizeof(want), "exitstat: no VM of pid 4242 named 'qemu-kvm' in %s\n", root);
	CHECK_STR(ERR, want);
	/* a VM left out is not read: its bad file makes no warning, no status 3 */
	PUT("kvm/777-9/exit_stats", "# vmx exit reason, exits, cycles, name\ntotal 1 1\n");
	CHECK(host("") == 3 && strstr(ERR, "777-9/exit_stats: malformed"));
	CHECK(host("-g web1 --prom") == 0 && !*ERR && strstr(OUT, "vm=\"web1\"") &&
	      !strstr(OUT, "qemu-kvm"));
	/* the only VM selected is bad: 2, as without -g */
	CHECK(host("-g qemu-kvm") == 2 && strstr(ERR, "no VM in ") && !*OUT);
	/* no VMs at all: no match */
	tree();
	snprintf(want, sizeof(want), "rm -rf %s/777-9 %s/4242-11", root, root);
	CHECK(!system(want));
	CHECK(host("-g web1") == 4 && !*OUT);
	/* in interval mode: the VM gone, the run ends with status 4 */
	tree();
	gone_vm = "777-9";
	es_hooks.sleep = vm_gone_sleep;
	CHECK(host("-g qemu-kvm -n 1 3") == 4);
	CHECK_STR(OUT, "    777 qemu-kvm             1            6          -             5010        835  "
		  "HLT=5 IO_SMI=1\n");
	snprintf(want, sizeof(want), "exitstat: no VM named 'qemu-kvm' in %s\n", root);
	CHECK_STR(ERR, want);
	es_hooks.sleep = NULL;
}

/* --vcpu N: vCPU N's file alone, in every format. */
static void t_host_vcpu(void)
{
	char want[256];

	tree();
	/* 777 has no vCPU 1: left out */
	CHECK(host("--vcpu 1") == 0 && !*ERR);
	CHECK_STR(OUT,
		"    pid vm               vcpus        exits           cycles   cyc/exit  top reasons\n"
		"   4242 web1             vcpu1          492         10680200      21707  "
		"EPT_VIOLATION=300 EXTERNAL_INTERRUPT=100 IO_INSTRUCTION=50\n");
	CHECK(host("-p 4242 --vcpu 1") == 0);
	CHECK_STR(OUT,
		"VM exits since the VM started, vCPU 1 of VM web1 (pid 4242) (Intel VMX)\n"
		"reason  name                      exits           cycles  cycles/exit  %exits %cycles\n"
		"    48  EPT_VIOLATION               300         10000000        33333   60.98   93.63\n"
		"     1  EXTERNAL_INTERRUPT          100           200000         2000   20.33    1.87\n"
		"    30  IO_INSTRUCTION               50           400000         8000   10.16    3.75\n"
		"    10  CPUID                        40            80000         2000    8.13    0.75\n"
		"        total                       492         10680200        21707  100.00  100.00\n");
	CHECK(host("-p 4242 --vcpu=0 -n -e 10") == 0);
	CHECK_STR(OUT,
		"# vCPU 0 of VM web1 (pid 4242)\n"
		"    10  CPUID           60           120000         2000    6.25    0.58\n"
		"        total          960         20520000        21375  100.00  100.00\n");
	CHECK(host("--vcpu 1 --json") == 0 && count_str(OUT, "\n") == 1);
	CHECK(starts(OUT, "{\"isa\":\"vmx\",\"scope\":\"vcpu\",\"total_exits\":492,"));
	CHECK(strstr(OUT, ",\"pid\":4242,\"vm\":\"web1\",\"vcpu\":1,\"clamped\":0,"));
	CHECK(host("--vcpu 1 --csv -e 30") == 0);
	CHECK_STR(OUT,
		"block,reason,name,exits,cycles,kind,time,interval,pid,vm,vcpu,clamped,l2_exits,l2_cycles,p50_cycles,p99_cycles,max_cycles\n"
		"0,30,IO_INSTRUCTION,50,400000,cumulative,1700000000.000,,4242,web1,1,0,,,,,\n"
		"0,,total,492,10680200,cumulative,1700000000.000,,4242,web1,1,0,,,,,\n");
	CHECK(host("--vcpu 1 --prom") == 0);
	CHECK(strstr(OUT, "\nkvm_exitstat_all_exits_total{vm=\"web1\",pid=\"4242\",vcpu=\"1\"} 492\n"));
	CHECK(count_str(OUT, "{vm=") == count_str(OUT, ",vcpu=\"1\""));
	CHECK(tool_accepts("promtool", "promtool check metrics < %s", OUT));
	/* intervals: vCPU 1's deltas */
	es_hooks.sleep = vcpu_sleep;
	CHECK(host("--vcpu 1 -n 1 2") == 0);
	CHECK_STR(OUT,
		"   4242 web1             vcpu1          492          -         10680200      21707  "
		"EPT_VIOLATION=300 EXTERNAL_INTERRUPT=100 IO_INSTRUCTION=50\n"
		"   4242 web1             vcpu1           10       10.0             1000        100  HLT=10\n");
	es_hooks.sleep = NULL;
	/* a vCPU no VM has: status 4 */
	CHECK(host("--vcpu 5") == 4 && !*OUT);
	snprintf(want, sizeof(want), "exitstat: no VM with a vCPU 5 in %s\n", root);
	CHECK_STR(ERR, want);
	CHECK(host("-p 777 -g qemu-kvm --vcpu 1") == 4);
	snprintf(want, sizeof(want), "exitstat: no VM of pid 777 named 'qemu-kvm' with a vCPU 1 in %s\n",
		 root);
	CHECK_STR(ERR, want);
	/* 777's vcpu0 has no file: as with --vcpus */
	CHECK(host("--vcpu 0") == 2 && strstr(ERR, "777-9/vcpu0/exit_stats): this KVM does not publish them"));
	CHECK(host("--vcpu 0 -g web1") == 0 && strstr(OUT, " vcpu0 "));
	/* bad values, and with --vcpus */
	CHECK(host("--vcpu x") == 1 && starts(ERR, "exitstat: invalid --vcpu (a vCPU number): 'x'\n"));
	CHECK(host("--vcpu 2147483648") == 1);
	CHECK(host("--vcpus --vcpu 1") == 1 &&
	      starts(ERR, "exitstat: --vcpus (every vCPU) and --vcpu N (one) exclude each other\n"));
	CHECK(run("--vcpu 1") == 1 && starts(ERR, "exitstat: -p, -g, --vcpu, --vcpus, --live and --debugfs go with --host\n"));
	CHECK(run("-g x") == 1 && strstr(ERR, "go with --host"));
	CHECK(host("-g") == 1 && starts(ERR, "exitstat: missing value for '-g'\n"));
	CHECK(host("--vm-name=") == 1 && starts(ERR, "exitstat: empty PATTERN for -g\n"));
}

/* Between the first two frames: 777 exits more, VM 5-1 starts. */
static void live_sleep(unsigned int seconds)
{
	clock_advance(seconds);
	PUT("kvm/777-9/exit_stats",
	    "# vmx exit reason, exits, cycles, name\n"
	    "5 1 10 IO_SMI\n"
	    "12 25 25000 HLT\n"
	    "30 4 40000 IO_INSTRUCTION\n"
	    "total 30 65010\n");
	PUT("kvm/5-1/exit_stats", "# vmx exit reason, exits, cycles, name\n12 1 100000 HLT\n"
	    "total 1 100000\n");
}

/*
 * The live view's wait, in the child on the pseudo-terminal: the first
 * one passes the time (the counters change); then only keys, for the
 * test to send them when it has seen a frame (10 s at most: as a q).
 */
static unsigned int live_waits;

static int fake_live_wait(int fd, unsigned int seconds)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (!live_waits++) {
		live_sleep(seconds);
		return 0;
	}
	return fd >= 0 && poll(&p, 1, 10000) == 1 ? 1 : -1;
}

/* Read the terminal until its output has want (5 s at most); the last frame in frame. */
static bool screen_has(int fd, char *buf, size_t *len, size_t cap, const char *want,
		       char *frame, size_t framecap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char *start, *end;
	size_t i, j;
	ssize_t n;
	int tries;

	for (tries = 0; tries < 50; tries++) {
		buf[*len] = 0;
		end = strstr(buf, want) ? strrchr(buf, 'J') : NULL;
		/* a whole frame: from its last ESC [ H to the ESC [ J after it */
		start = end ? buf + *len : NULL;
		while (start && start > buf && strncmp(start, "\033[H", 3))
			start--;
		if (end && start && end > start && strstr(start, want) && end[-1] == '[') {
			snprintf(frame, framecap, "%.*s", (int)(end + 1 - start), start);
			return true;
		}
		if (poll(&p, 1, 100) == 1) {
			n = read(fd, buf + *len, cap - 1 - *len);
			if (n <= 0)
				break;
			/* the terminal's ONLCR made each \n a \r\n: back to \n */
			for (i = j = *len; i < *len + (size_t)n; i++)
				if (buf[i] != '\r')
					buf[j++] = buf[i];
			*len = j;
		}
	}
	printf("# not on the screen: %s\n# got: %.*s\n", want, (int)*len, buf);
	return false;
}

/* The frame of the VM list, with these lines, sorted by this. */
static void live_want(char *buf, size_t len, const char *when, const char *by, const char *rows)
{
	snprintf(buf, len,
		 "\033[Hexitstat --live  22:13:22  VM exits %s, sorted by %s\033[K\n"
		 "keys: q quit, s sort (exits, cycles, pid), p pause\033[K\n"
		 "\033[K\n"
		 "    pid vm               vcpus        exits    exits/s           cycles   cyc/exit  top reasons\033[K\n"
		 "%s\033[J", when, by, rows);
}

/* --live: under a pseudo-terminal, with keys; else --line. */
static void t_host_live(void)
{
	static const char r777[] =
		"    777 qemu-kvm             1           24       12.0            60000       2500  HLT=20 IO_INSTRUCTION=4\033[K\n";
	static const char r5[] =
		"      5 ?                    0            1          -           100000     100000  HLT=1\033[K\n";
	static const char r4242[] =
		"   4242 web1                 2            0        0.0                0          -\033[K\n";
	struct winsize ws = { .ws_row = 24, .ws_col = 200 };
	char args[256], *argv[16], *t, buf[16384], frame[4096], want[2048], rows[1024];
	size_t len = 0;
	int argc = 0, master, st = -1;
	pid_t pid;

	/* not a terminal: the same as --line INTERVAL */
	tree();
	es_hooks.sleep = live_sleep;
	CHECK(host("--live -n 1 2") == 0);
	CHECK_STR(OUT,
		"    777 qemu-kvm             1            6          -             5010        835  HLT=5 IO_SMI=1\n"
		"   4242 web1                 2         1452          -         31200200      21487  EPT_VIOLATION=1000 EXTERNAL_INTERRUPT=300 CPUID=100\n"
		"      5 ?                    0            1          -           100000     100000  HLT=1\n"
		"    777 qemu-kvm             1           24       24.0            60000       2500  HLT=20 IO_INSTRUCTION=4\n"
		"   4242 web1                 2            0        0.0                0          -\n");
	es_hooks.sleep = NULL;
	CHECK(host("--live --json") == 1 && starts(ERR, "exitstat: --live is a view of its own"));
	CHECK(host("--live --vcpus") == 1 && host("--live -o x") == 1);
	CHECK(run("--live") == 1 && strstr(ERR, "go with --host"));

	/* a terminal: frames, then s, p, q */
	tree();
	snprintf(args, sizeof(args), "exitstat --host --debugfs %s --live", root);
	for (t = strtok(args, " "); t && argc < 15; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	live_waits = 0;
	fflush(stdout);
	pid = forkpty(&master, NULL, NULL, &ws);
	if (pid == 0) {
		struct termios tio;
		int rc;

		es_live_wait = fake_live_wait;
		rc = exitstat_main(argc, argv, NULL, stdout, stderr);
		/* the terminal as it was: line by line, with echo */
		if (tcgetattr(0, &tio) || !(tio.c_lflag & ICANON) || !(tio.c_lflag & ECHO))
			rc = 99;
		_exit(rc);
	}
	CHECK(pid > 0);
	if (pid < 0)
		return;
	/* the first frame: since the start; the second: 2 s of rates, sorted by exits */
	snprintf(rows, sizeof(rows), "%s%s%s", r777, r5, r4242);
	live_want(want, sizeof(want), "in the last 2.00 s", "exits", rows);
	CHECK(screen_has(master, buf, &len, sizeof(buf), "12.0", frame, sizeof(frame)));
	CHECK_STR(frame, want);
	CHECK(count_str(buf, "\033[H") == 2 && strstr(buf, "since the VMs started"));
	/* s: by cycles, at once, with the same numbers */
	CHECK(write(master, "s", 1) == 1);
	snprintf(rows, sizeof(rows), "%s%s%s", r5, r777, r4242);
	live_want(want, sizeof(want), "in the last 2.00 s", "cycles", rows);
	CHECK(screen_has(master, buf, &len, sizeof(buf), "sorted by cycles", frame, sizeof(frame)));
	CHECK_STR(frame, want);
	/* s: by pid; p: paused */
	CHECK(write(master, "s", 1) == 1);
	CHECK(screen_has(master, buf, &len, sizeof(buf), "sorted by pid", frame, sizeof(frame)));
	CHECK(write(master, "p", 1) == 1);
	snprintf(rows, sizeof(rows), "%s%s%s", r5, r777, r4242);
	live_want(want, sizeof(want), "in the last 2.00 s", "pid  [paused]", rows);
	CHECK(screen_has(master, buf, &len, sizeof(buf), "[paused]", frame, sizeof(frame)));
	CHECK_STR(frame, want);
	/* a narrower terminal: SIGWINCH, and the frame is drawn again to its width */
	ws.ws_col = 40;
	CHECK(!ioctl(master, TIOCSWINSZ, &ws));
	CHECK(screen_has(master, buf, &len, sizeof(buf), "(exits, cycles, pid\033[K\n", frame, sizeof(frame)));
	CHECK(strstr(frame, "      5 ?                    0          \033[K\n"));
	/* q: quits, status 0, the terminal as it was */
	CHECK(write(master, "q", 1) == 1);
	while (read(master, buf, sizeof(buf)) > 0)
		;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(master);
}

/* kvm.exit_stats=hist: the kernel's bounds, and a histogram per reason. */
#define HIST_BUCKETS \
	"buckets 256 512 1024 2048 4096 8192 16384 32768 65536 131072 262144 524288 1048576 " \
	"2097152 4194304 8388608 16777216\n"
#define HIST_ZEROS "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

/*
 * EPT_VIOLATION's 998 counts of 1000 exits (2 in flight): p50 = 499 at
 * the end of bucket 3 (below 2048), p99 = 989 (988.02 rounded up) in
 * bucket 10 (below 262144), max in the top bucket (16777216 and above);
 * CPUID's all in bucket 0, IO_INSTRUCTION's none yet. With more, that
 * many more EPT violations, all from 4096 up to below 8192 cycles.
 */
static void vm_hist(char *buf, size_t len, unsigned int more)
{
	snprintf(buf, len,
		 "# vmx exit reason, exits, cycles, name\n"
		 HIST_BUCKETS
		 "10 100 20000 CPUID\n"
		 "hist 10 100 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
		 "30 50 400000 IO_INSTRUCTION\n"
		 "hist 30 " HIST_ZEROS
		 "48 %u %u EPT_VIOLATION\n"
		 "l2 48 10 1000\n"
		 "hist 48 0 100 200 199 100 %u 100 89 0 100 8 0 0 0 0 0 0 2\n"
		 "other 2 200\n"
		 "hist other 0 2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
		 "l2 total 10 1000\n"
		 "clamped 0\n"
		 "total %u %u\n", 1000 + more, 90000000 + more * 10000, 100 + more,
		 1152 + more, 90420200 + more * 10000);
}

static void put_hist(unsigned int more)
{
	char buf[1024];

	vm_hist(buf, sizeof(buf), more);
	PUT("kvm/55-2/exit_stats", buf);
}

/* A second later: 10 more EPT violations. */
static void hist_sleep(unsigned int seconds)
{
	clock_advance(seconds);
	put_hist(10);
}

/* A second later, the module without histograms (exit_stats=1): the columns stay. */
static void hist_off_sleep(unsigned int seconds)
{
	clock_advance(seconds);
	PUT("kvm/55-2/exit_stats", "# vmx exit reason, exits, cycles, name\n"
	    "10 100 20000 CPUID\n30 50 400000 IO_INSTRUCTION\n48 1001 90000100 EPT_VIOLATION\n"
	    "other 2 200\nclamped 0\ntotal 1153 90420300\n");
}

/* The parser's part: the buckets, the histograms, and what it refuses. */
static void t_host_hist_parse(void)
{
#define HH "# vmx exit reason, exits, cycles, name\nbuckets 10 20\n"
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ HH "10 2 2 X\nhist 12 1 1 0\ntotal 2 2\n",
		  "line 4: not \"hist 10 N0 ... N2\" after reason 10's line" },
		{ HH "10 2 2 X\nhist other 1 1 0\ntotal 2 2\n", "line 4: not \"hist 10 N0 ... N2\"" },
		{ HH "other 2 2\nhist 10 1 1 0\ntotal 2 2\n",
		  "line 4: not \"hist other N0 ... N2\" after \"other\"" },
		{ HH "10 2 2 X\nhist 10 1 1\ntotal 2 2\n", "line 4: not 3 counts, one per bucket" },
		{ HH "10 2 2 X\nhist 10 1 1 0 0\ntotal 2 2\n", "line 4: not 3 counts" },
		{ HH "10 2 2 X\nhist 10 1 1 0 \ntotal 2 2\n", "line 4: not 3 counts" },
		{ HH "10 2 2 X\nhist 10 1  1 0\ntotal 2 2\n", "line 4: not 3 counts" },
		{ HH "10 2 2 X\nhist 10 1 1 x\ntotal 2 2\n", "line 4: not 3 counts" },
		{ HH "10 2 2 X\nhist 10\ntotal 2 2\n", "line 4: not \"hist 10 N0 ... N2\"" },
		{ HH "10 2 2 X\nhist 10 1 1 1\ntotal 2 2\n",
		  "line 4: more exits in the histogram than in all" },
		{ HH "other 1 1\nhist other 0 1 1\ntotal 1 1\n", "line 4: more exits in the histogram" },
		{ HH "10 2 2 X\nhist 10 18446744073709551615 1 0\ntotal 2 2\n",
		  "line 4: the sum passes 2^64" },
		{ "# vmx exit reason, exits, cycles, name\nbuckets 20 10\ntotal 0 0\n",
		  "line 2: the bucket bounds do not ascend from 1 up" },
		{ "# vmx exit reason, exits, cycles, name\nbuckets 10 10\ntotal 0 0\n",
		  "line 2: the bucket bounds do not ascend" },
		{ "# vmx exit reason, exits, cycles, name\nbuckets 0 10\ntotal 0 0\n",
		  "line 2: the bucket bounds do not ascend" },
		{ "# vmx exit reason, exits, cycles, name\nbuckets \ntotal 0 0\n",
		  "line 2: not \"buckets B0 B1 ...\" with 1 to 63 bounds" },
		{ "# vmx exit reason, exits, cycles, name\nbuckets 10,20\ntotal 0 0\n",
		  "line 2: not \"buckets B0 B1 ...\"" },
		{ "# vmx exit reason, exits, cycles, name\n10 2 2 X\nbuckets 10 20\nhist 10 1 1 0\ntotal 2 2\n",
		  "line 3: \"buckets\" is allowed only right after the header" },
		{ HH "buckets 10 20\ntotal 0 0\n", "line 3: \"buckets\" is allowed only" },
		{ "# vmx exit reason, exits, cycles, name\ncycles off\nbuckets 10 20\ntotal 0 0\n",
		  "line 3: \"buckets\" is allowed only" },
		{ HH "cycles off\ntotal 0 0\n", "line 3: \"cycles off\" is allowed only" },
		{ "# vmx exit reason, exits, cycles, name\n10 2 2 X\nhist 10 1 1 0\ntotal 2 2\n",
		  "line 3: \"hist\" without a \"buckets\" line" },
		{ HH "10 2 2 X\n12 1 1 Y\nhist 12 1 0 0\ntotal 3 3\n",
		  "line 4: no \"hist 10\" line after reason 10's" },
		{ HH "10 2 2 X\ntotal 2 2\n", "line 4: no \"hist 10\" line after reason 10's" },
		{ HH "10 2 2 X\nl2 10 1 1\nl2 total 1 1\ntotal 2 2\n", "line 5: no \"hist 10\" line" },
		{ HH "other 1 1\ntotal 1 1\n", "line 4: no \"hist other\" line after \"other\"" },
		{ HH "other 1 1\nl2 other 1 1\nclamped 0\ntotal 1 1\n", "line 5: no \"hist other\"" },
		{ HH "10 2 2 X\nhist 10 1 0 0\nl2 10 1 1\nl2 total 1 1\ntotal 2 2\n",
		  "line 5: \"l2\" must follow the line of its reason" },
		{ HH "10 2 2 X\nhist 10 1 0 0\nhist 10 1 0 0\ntotal 2 2\n",
		  "line 5: \"hist\" must follow the line of its reason (and its \"l2\" line)" },
		{ HH "hist 10 0 0 0\ntotal 0 0\n", "line 3: \"hist\" must follow" },
		{ HH "10 2 2 X\nhist 10 1 0 0\nl2 total 0 0\nhist 10 1 0 0\ntotal 2 2\n",
		  "line 6: \"hist\" must follow" },
	};
	static const char ok1[] =
		"# svm exit reason, exits, cycles, name\nbuckets 100\n"
		"114 3 300 cpuid\nl2 114 1 100\nhist 114 1 1\nother 4 4\nhist other 4 0\n"
		"l2 total 1 100\ntotal 7 304\n";
	static const uint64_t b3[] = { 10, 20, 40 };
	static const uint64_t h_none[] = { 0, 0, 0, 0 }, h_even[] = { 1, 1, 1, 1 };
	static const uint64_t h_three[] = { 1, 1, 1, 0 }, h_low[] = { 3, 0, 0, 0 };
	struct es_info info = { 0 };
	char why[160], text[1024];
	struct es_snap s;
	uint64_t cyc = 0;
	unsigned int i;
	int n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (es_host_parse(bad[i].text, strlen(bad[i].text), &info, &s, why, sizeof(why)) != -1 ||
		    !strstr(why, bad[i].why)) {
			printf("# case %u: %s# why: %s\n", i, bad[i].text, why);
			ok = false;
		}
	}
	/* the kernel's file */
	vm_hist(text, sizeof(text), 0);
	CHECK(es_host_parse(text, strlen(text), &info, &s, why, sizeof(why)) == 0);
	CHECK(s.nbounds == 17 && s.bounds[0] == 256 && s.bounds[16] == 16777216 && s.n == 49);
	CHECK(s.hist[10 * 18] == 100 && s.hist[48 * 18 + 3] == 199 && s.hist[48 * 18 + 17] == 2);
	CHECK(s.hist_other == s.hist + 49 * 18 && s.hist_other[1] == 2 && s.l2_exits[48] == 10);
	es_snap_free(&s);
	CHECK(!s.hist && !s.bounds && !s.nbounds);
	/* one bound, two buckets; SVM; other's histogram apart from the reasons' */
	CHECK(es_host_parse(ok1, strlen(ok1), &info, &s, why, sizeof(why)) == 0);
	CHECK(s.nbounds == 1 && s.n == 115 && s.hist[114 * 2] == 1 && s.hist[114 * 2 + 1] == 1 &&
	      s.hist_other[0] == 4 && !s.hist_other[1]);
	es_snap_free(&s);
	/* 63 bounds, and 64 bounds: one too many */
	n = snprintf(text, sizeof(text), "# vmx exit reason, exits, cycles, name\n");
	for (i = 1; i <= 63; i++)
		n += snprintf(text + n, sizeof(text) - n, "%s%u", i > 1 ? " " : "buckets ", i * 2);
	n += snprintf(text + n, sizeof(text) - n, "\n1 1 1 X\nhist 1");
	for (i = 0; i <= 63; i++)
		n += snprintf(text + n, sizeof(text) - n, " %u", i == 63);
	snprintf(text + n, sizeof(text) - n, "\ntotal 1 1\n");
	CHECK(es_host_parse(text, strlen(text), &info, &s, why, sizeof(why)) == 0);
	CHECK(s.nbounds == 63 && s.bounds[62] == 126 && s.hist[64 + 63] == 1);
	CHECK(es_hist_quantile(s.bounds, s.nbounds, s.hist + 64, 50, &cyc) == 1 && cyc == 126);
	es_snap_free(&s);
	n = snprintf(text, sizeof(text), "# vmx exit reason, exits, cycles, name\nbuckets");
	for (i = 1; i <= 64; i++)
		n += snprintf(text + n, sizeof(text) - n, " %u", i);
	snprintf(text + n, sizeof(text) - n, "\ntotal 0 0\n");
	CHECK(es_host_parse(text, strlen(text), &info, &s, why, sizeof(why)) == -1);
	CHECK_STR(why, "line 2: not \"buckets B0 B1 ...\" with 1 to 63 bounds");
	/* the quantiles: the bucket where the count reaches pct %, rounded up */
	CHECK(es_hist_quantile(b3, 3, h_none, 50, &cyc) == -1);
	CHECK(es_hist_quantile(b3, 3, h_even, 50, &cyc) == 0 && cyc == 20);
	CHECK(es_hist_quantile(b3, 3, h_even, 75, &cyc) == 0 && cyc == 40);
	CHECK(es_hist_quantile(b3, 3, h_even, 99, &cyc) == 1 && cyc == 40);
	CHECK(es_hist_quantile(b3, 3, h_three, 50, &cyc) == 0 && cyc == 20);	/* 1.5 -> 2 */
	CHECK(es_hist_quantile(b3, 3, h_three, 100, &cyc) == 0 && cyc == 40);
	CHECK(es_hist_quantile(b3, 3, h_low, 1, &cyc) == 0 && cyc == 10);
	CHECK(es_hist_quantile(b3, 3, h_low, 100, &cyc) == 0 && cyc == 10);
#undef HH
}

/* The histograms in the table, JSON, CSV, Prometheus, and as deltas. */
static void t_host_hist(void)
{
	static const char note[] =
		"p50, p99, max: the upper bound of the log2 histogram bucket (kvm.exit_stats=hist) "
		"that holds them, within a factor of 2; >N: the top bucket, N and above.\n";
	static const char *const prom[] = {
		"\n# HELP kvm_exitstat_exit_cycles Host TSC cycles KVM spent handling each VM exit, "
		"per exit reason (kvm.exit_stats=hist).\n# TYPE kvm_exitstat_exit_cycles histogram\n"
		"kvm_exitstat_exit_cycles_bucket{vm=\"hist\",pid=\"55\",reason=\"48\",name=\"EPT_VIOLATION\",le=\"255\"} 0\n"
		"kvm_exitstat_exit_cycles_bucket{vm=\"hist\",pid=\"55\",reason=\"48\",name=\"EPT_VIOLATION\",le=\"511\"} 100\n"
		"kvm_exitstat_exit_cycles_bucket{vm=\"hist\",pid=\"55\",reason=\"48\",name=\"EPT_VIOLATION\",le=\"1023\"} 300\n"
		"kvm_exitstat_exit_cycles_bucket{vm=\"hist\",pid=\"55\",reason=\"48\",name=\"EPT_VIOLATION\",le=\"2047\"} 499\n",
		"\nkvm_exitstat_exit_cycles_bucket{vm=\"hist\",pid=\"55\",reason=\"48\",name=\"EPT_VIOLATION\",le=\"131071\"} 988\n"
		"kvm_exitstat_exit_cycles_bucket{vm=\"hist\",pid=\"55\",reason=\"48\",name=\"EPT_VIOLATION\",le=\"262143\"} 996\n",
		"\nkvm_exitstat_exit_cycles_bucket{vm=\"hist\",pid=\"55\",reason=\"48\",name=\"EPT_VIOLATION\",le=\"16777215\"} 996\n"
		"kvm_exitstat_exit_cycles_bucket{vm=\"hist\",pid=\"55\",reason=\"48\",name=\"EPT_VIOLATION\",le=\"+Inf\"} 998\n"
		"kvm_exitstat_exit_cycles_sum{vm=\"hist\",pid=\"55\",reason=\"48\",name=\"EPT_VIOLATION\"} 90000000\n"
		"kvm_exitstat_exit_cycles_count{vm=\"hist\",pid=\"55\",reason=\"48\",name=\"EPT_VIOLATION\"} 998\n",
		"\nkvm_exitstat_exit_cycles_bucket{vm=\"hist\",pid=\"55\",reason=\"10\",name=\"CPUID\",le=\"255\"} 100\n",
		"\nkvm_exitstat_exit_cycles_count{vm=\"hist\",pid=\"55\",reason=\"30\",name=\"IO_INSTRUCTION\"} 0\n",
		"\nkvm_exitstat_exit_cycles_bucket{vm=\"hist\",pid=\"55\",reason=\"other\",name=\"other\",le=\"511\"} 2\n",
		"\nkvm_exitstat_exit_cycles_sum{vm=\"hist\",pid=\"55\",reason=\"other\",name=\"other\"} 200\n"
		"kvm_exitstat_exit_cycles_count{vm=\"hist\",pid=\"55\",reason=\"other\",name=\"other\"} 2\n",
	};
	uint32_t (*saved)(void);
	char want[2048];
	unsigned int i;

	tree();
	put_hist(0);
	PUT("proc/55/comm", "hist\n");
	CHECK(host("-p 55") == 0);
	snprintf(want, sizeof(want), "%s%s",
		"VM exits since the VM started, all vCPUs of VM hist (pid 55, 0 vCPUs) (Intel VMX)\n"
		"reason  name                  exits           cycles  cycles/exit  %exits %cycles"
		"     l2 exits        l2 cycles p50 cycles p99 cycles max cycles\n"
		"    48  EPT_VIOLATION          1000         90000000        90000   86.81   99.54"
		"           10             1000       2048     262144  >16777216\n"
		"    10  CPUID                   100            20000          200    8.68    0.02"
		"            0                0        256        256        256\n"
		"    30  IO_INSTRUCTION           50           400000         8000    4.34    0.44"
		"            0                0          -          -          -\n"
		"        total                  1152         90420200        78489  100.00  100.00"
		"           10             1000       2048     131072  >16777216\n"
		"l2: of those, the exits taken while the VM ran a nested guest (0.87 % of the exits).\n",
		note);
	CHECK_STR(OUT, want);
	/* at a known TSC rate, in us like the times */
	saved = es_hooks.host_tsc_khz;
	es_hooks.host_tsc_khz = tsc_2ghz;
	CHECK(host("-p 55 -e 48,30") == 0);
	CHECK(strstr(OUT, " %cycles     l2 exits        l2 cycles     p50 us     p99 us     max us\n"
		      "    48  EPT_VIOLATION "));
	CHECK(strstr(OUT, " 1000       1.02     131.07   >8388.61\n"));
	CHECK(strstr(OUT, " 0          -          -          -\n"));
	CHECK(strstr(OUT, "        total ") && strstr(OUT, " 1000       1.02      65.54   >8388.61\n"));
	CHECK(strstr(OUT, note) && strstr(OUT, "Times at the host's TSC rate"));
	es_hooks.host_tsc_khz = saved;
	/* the other VMs have no histograms: no columns, no note */
	CHECK(host("-p 4242") == 0 && !strstr(OUT, "p50") && !strstr(OUT, "histogram"));
	/* JSON: per reason and for all, in cycles; null in the top bucket or without counts */
	CHECK(host("-p 55 --json") == 0);
	CHECK(strstr(OUT, ",\"l2_cycles\":1000,\"hist\":{\"bounds\":[256,512,1024,2048,4096,8192,"
		      "16384,32768,65536,131072,262144,524288,1048576,2097152,4194304,8388608,16777216],"
		      "\"counts\":[100,102,200,199,100,100,100,89,0,100,8,0,0,0,0,0,0,2]},\"p50\":2048,"
		      "\"p99\":131072,\"max\":null,\"reasons\":[{\"reason\":48,"));
	CHECK(tool_accepts("jq", "jq -e '(.reasons | map({(.name): .}) | add) as $r | "
		      "($r.EPT_VIOLATION | .p50 == 2048 and .p99 == 262144 and .max == null and "
		      ".hist.counts[17] == 2 and (.hist.counts | add) == 998 and "
		      "(.hist.bounds | length) == 17) and "
		      "($r.CPUID | [.p50, .p99, .max] == [256, 256, 256]) and "
		      "($r.IO_INSTRUCTION | [.p50, .p99, .max] == [null, null, null] and "
		      "(.hist.counts | add) == 0)' %s >/dev/null", OUT));
	CHECK(host("-p 777 --json") == 0 &&
	      strstr(OUT, "\"hist\":null,\"p50\":null,\"p99\":null,\"max\":null,\"reasons\":[{") &&
	      count_str(OUT, "\"hist\"") == 1);
	/* CSV: empty where there is no upper bound or no count */
	CHECK(host("-p 55 --csv") == 0);
	CHECK_STR(OUT,
		"block,reason,name,exits,cycles,kind,time,interval,pid,vm,vcpu,clamped,l2_exits,l2_cycles,"
		"p50_cycles,p99_cycles,max_cycles\n"
		"0,48,EPT_VIOLATION,1000,90000000,cumulative,1700000000.000,,55,hist,,0,10,1000,2048,262144,\n"
		"0,10,CPUID,100,20000,cumulative,1700000000.000,,55,hist,,0,0,0,256,256,256\n"
		"0,30,IO_INSTRUCTION,50,400000,cumulative,1700000000.000,,55,hist,,0,0,0,,,\n"
		"0,,total,1152,90420200,cumulative,1700000000.000,,55,hist,,0,10,1000,2048,131072,\n");
	/* Prometheus: cumulative buckets, le one below the kernel's bound, +Inf, _sum, _count */
	CHECK(host("--prom") == 0);
	for (i = 0; i < sizeof(prom) / sizeof(prom[0]); i++)
		if (!strstr(OUT, prom[i])) {
			printf("# missing: %s", prom[i]);
			ok = false;
		}
	CHECK(count_str(OUT, "# TYPE kvm_exitstat_exit_cycles histogram\n") == 1);
	CHECK(count_str(OUT, "kvm_exitstat_exit_cycles_bucket{") == 4 * 18);
	CHECK(!strstr(OUT, "kvm_exitstat_exit_cycles_bucket{vm=\"qemu-kvm\""));
	CHECK(tool_accepts("promtool", "promtool check metrics < %s", OUT));
	CHECK(host("-p 4242 --prom") == 0 && !strstr(OUT, "exit_cycles"));
	/* intervals: the delta of each bucket */
	es_hooks.sleep = hist_sleep;
	CHECK(host("-p 55 -n 1 2") == 0);
	CHECK(strstr(OUT, "\n\n# all vCPUs of VM hist (pid 55, 0 vCPUs)\n"
		      "    48  EPT_VIOLATION           10       10.0           100000        10000  100.00"
		      "  100.00       8192       8192       8192\n"
		      "        total                   10       10.0           100000        10000  100.00"
		      "  100.00       8192       8192       8192\n"));
	CHECK(count_str(OUT, note) == 2);
	put_hist(0);
	CHECK(host("-p 55 --json 1 2") == 0);
	CHECK(tool_accepts("jq", "jq -e -s '.[1] | .kind == \"delta\" and .p50 == 8192 and "
		      ".hist.counts == [0,0,0,0,0,10,0,0,0,0,0,0,0,0,0,0,0,0] and "
		      "(.reasons | length) == 1 and .reasons[0].max == 8192' %s >/dev/null", OUT));
	/* a block without histograms (the module reloaded): the same columns, "-" */
	put_hist(0);
	es_hooks.sleep = hist_off_sleep;
	CHECK(host("-p 55 -n 1 2") == 0);
	CHECK(strstr(OUT, "\n\n# all vCPUs of VM hist (pid 55, 0 vCPUs)\n"
		      "    48  EPT_VIOLATION            1        1.0              100          100  100.00"
		      "  100.00          -          -          -\n"));
	CHECK(count_str(OUT, note) == 2);
	es_hooks.sleep = NULL;
}

void host_tests(void)
{
	test("--host: the VM list, names from QEMU's -name or comm", t_host_list);
	test("--host -p: tables, --vcpus, -e, --tsc-khz", t_host_table);
	test("--host --json, --csv", t_host_formats);
	test("--host --prom passes promtool", t_host_prom);
	test("--host INTERVAL: deltas per VM, new VMs", t_host_interval);
	test("--host errors: no debugfs, no VM, no per-vCPU files", t_host_errors);
	test("--host: a malformed file leaves its VM out, with a warning, never a number", t_host_malformed);
	test("the exit_stats parser", t_host_parse);
	test("--host: the L2 split in the table, the list, JSON, CSV, Prometheus", t_host_l2);
	test("QEMU's -name", t_qemu_name);
	test("--host: \"clamped\" in the table, JSON, CSV, Prometheus", t_host_clamped);
	test("--host: \"cycles off\" shows no cycles as zeros", t_host_cycles_off);
	test("--host: write errors", t_host_write_errors);
	test("--host -g PATTERN: VMs by name, none: status 4", t_host_vm_name);
	test("--host --vcpu N: one vCPU in every format", t_host_vcpu);
	test("--host --live: a pseudo-terminal, keys s, p, q, a resize; --line elsewhere", t_host_live);
	test("the exit_stats parser: kvm.exit_stats=hist's buckets and histograms", t_host_hist_parse);
	test("--host: histograms' p50, p99, max in the table, JSON, CSV; Prometheus histograms",
	     t_host_hist);
	if (*base) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
		if (system(cmd))
			printf("# %s failed\n", cmd);
	}
}
