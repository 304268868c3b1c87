// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for exitstat (guest/): its whole command line, from
 * argument parsing to the table, line, JSON, CSV and Prometheus output,
 * with a fake CPUID that answers the exit-statistics leaves with arbitrary
 * register values; and the host's parser of debugfs exit_stats files.
 * Built with clang -fsanitize=fuzzer,address,undefined by
 * `make -C guest fuzz` (a fixed number of runs) and `make -C guest
 * fuzz-long` (a fixed time).
 *
 * Input: byte 0 flags, bytes 1-4 the discovery leaf's EAX, then up to 8
 * NUL-terminated arguments ending with an empty one, then the register
 * values the other leaves answer with, 16 bytes per CPUID, reused from the
 * start when they run out (all zero if there are none).
 *   flags bit 0: no hypervisor bit in leaf 1
 *   flags bit 1: no "KVMExitStats" signature in the discovery leaf
 *   flags bit 2: keep EAX as given (else ABI version 1, a known ISA and
 *                a highest reason below 0x800, which keeps runs fast; the
 *                scope, cycles-off and reserved bits 27:24 as given)
 *   flags bit 3: the ISA forced is SVM (else VMX)
 *   flags bit 4: the rest is not the above but one exit_stats file (and a
 *                /proc/PID/cmdline), parsed and printed in every format
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitstat.h"

#define MAX_ARGS	8

static struct {
	uint8_t flags;
	uint32_t info;
	const uint8_t *regs;
	size_t nregs, pos;
} in;

static void fuzz_cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	(void)ctx;
	(void)subleaf;
	memset(r, 0, 4 * sizeof(r[0]));
	switch (leaf) {
	case 1:
		r[2] = in.flags & 1 ? 0 : 1u << 31;
		return;
	case 0x40000000:
		memcpy(r + 1, "KVMKVMKVM\0\0\0", 12);
		return;
	case ES_LEAF_INFO:
		r[0] = in.info;
		if (!(in.flags & 2))
			memcpy(r + 1, ES_SIGNATURE, 12);
		return;
	}
	if (in.nregs < 16)
		return;
	if (in.pos + 16 > in.nregs)
		in.pos = 0;
	memcpy(r, in.regs + in.pos, 16);
	in.pos += 16;
}

static const struct es_backend fuzz_be = { fuzz_cpuid, NULL };

static int fuzz_run(char *const argv[], FILE *err)
{
	(void)argv;
	(void)err;
	return 0;
}

static void fuzz_sleep(unsigned int seconds)
{
	(void)seconds;
}

/*
 * INTERVAL without COUNT runs until killed, and a large COUNT for long:
 * leave those out (the unit tests cover them), keep every other input but
 * those that write files (-o, in any group of short options) or read the
 * host's directories (--host, --debugfs). A long option must be spelled
 * out: getopt_long() takes unique prefixes too, and a prefix of one that
 * takes a value would hide that value from the count of INTERVAL COUNT.
 */
static int left_out(int argc, char **argv)
{
	static const char *const longs[] = {
		"--all", "--verbose", "--no-header", "--line", "--timestamps", "--help",
		"--version", "--json", "--csv", "--prom", "--raw", "--vcpus",
		"--reasons", "--sort", "--top", "--tsc-khz", "--pid", "--vm-name", "--vcpu", "--live",
	};
	static const char *const valued[] = { "-e", "--reasons", "--sort", "--top", "--tsc-khz", "-p", "--pid",
		"-g", "--vm-name", "--vcpu" };
	int i, npos = 0;
	size_t k, n;
	uint32_t v;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--raw") || !strcmp(argv[i], "--"))
			return 0;
		if (!strncmp(argv[i], "--", 2)) {
			n = strcspn(argv[i], "=");
			for (k = 0; k < sizeof(longs) / sizeof(longs[0]); k++)
				if (strlen(longs[k]) == n && !strncmp(argv[i], longs[k], n))
					break;
			if (k == sizeof(longs) / sizeof(longs[0]))
				return 1;
		} else if (argv[i][0] == '-' && strchr(argv[i], 'o')) {
			return 1;
		} else if (argv[i][0] == '-') {
			/* -ve 5: a group that ends in -e, -p or -g takes the next word */
			n = strcspn(argv[i] + 1, "epg") + 1;
			if (argv[i][n] && !argv[i][n + 1]) {
				i++;
				continue;
			}
		}
		for (k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
			if (!strcmp(argv[i], valued[k]))
				break;
		if (k < sizeof(valued) / sizeof(valued[0])) {
			i++;	/* its value is no INTERVAL */
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			continue;
		npos++;
		if (!es_parse_u32(argv[i], &v) && v > 3)
			return 1;
	}
	return npos == 1;
}

/* One exit_stats file: parsed, and if it passes, printed every way. */
static void fuzz_host(const uint8_t *data, size_t size, FILE *null)
{
	static const struct es_fmt fmt = {
		.title = "title", .verbose = true, .header = true, .stamps = true,
		.rates = true, .top = 3, .l2 = true,
	};
	struct es_select sel = { .sort = ES_SORT_CYCLES };
	struct es_info info = { .tsc_khz = 1000 };
	struct es_report rep;
	struct es_snap s;
	char why[160], name[16];

	es_qemu_name((const char *)data, size, name, sizeof(name));
	if (es_host_parse((const char *)data, size, &info, &s, why, sizeof(why)))
		return;
	info.tsc_source = "fuzz";
	if (!es_report(&info, &s, &s, &sel, &rep)) {
		rep.pid = 1;
		rep.vm = "vm";
		es_print_table(null, &rep, &fmt);
		es_print_line_header(null, &rep, &fmt);
		es_print_line(null, &rep, &fmt);
		es_print_json(null, &rep);
		es_print_csv(null, &rep, true);
		es_print_prom(null, &rep, 1);
		es_report_free(&rep);
	}
	es_snap_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	char *argv[MAX_ARGS + 2], *buf;
	const uint8_t *p, *end = data + size, *nul;
	int argc = 0;

	if (size < 1)
		return -1;
	if (!null) {
		null = fopen("/dev/null", "w");
		if (!null)
			abort();
	}
	if (data[0] & 16) {
		fuzz_host(data + 1, size - 1, null);
		return 0;
	}
	if (size < 5)
		return -1;
	in.flags = data[0];
	memcpy(&in.info, data + 1, 4);
	if (!(in.flags & 4))
		in.info = (in.info & 0x0f0007ff) | 1u << 16 |
			  (in.flags & 8 ? (uint32_t)ES_ISA_SVM : (uint32_t)ES_ISA_VMX) << 28;

	/* The arguments, copied so that exitstat gets writable strings. */
	buf = malloc(size);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	argv[argc++] = "exitstat";
	for (p = data + 5; p < end && argc <= MAX_ARGS; p = nul + 1) {
		nul = memchr(p, 0, end - p);
		if (!nul || nul == p) {
			p = nul ? nul + 1 : end;
			break;
		}
		argv[argc++] = buf + (p - data);
	}
	argv[argc] = NULL;
	in.regs = p < end ? p : end;
	in.nregs = end - in.regs;
	in.pos = 0;

	if (left_out(argc, argv)) {
		free(buf);
		return -1;
	}
	es_hooks.run = fuzz_run;
	es_hooks.sleep = fuzz_sleep;
	exitstat_main(argc, argv, &fuzz_be, null, null);
	free(buf);
	return 0;
}
