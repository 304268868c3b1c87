// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "exit_stats_util.h"

struct leaf guest_leaf(struct vm *vm, u64 gpa)
{
	struct leaf l;

	memcpy(&l, gpa_to_hva(vm, gpa), sizeof(l));
	return l;
}

u64 leaf_count(struct leaf l)
{
	return (u64)l.ebx << 32 | l.eax;
}

u64 leaf_cycles(struct leaf l)
{
	return (u64)l.ebx << 32 | l.ecx;
}

/*
 * Intel SDM Vol. 3C, Appendix C (basic exit reasons); AMD APM Vol. 2,
 * Appendix C (EXITCODE), as listed in docs/cpuid-abi.md: the reasons of
 * the ABI's first list, and from Linux 7.3 on the ones that line's uapi
 * headers add (VMX 84 and 85, SVM 0xa6). The kernel line is the outer
 * VM's own: the lab boots the kernel whose series it tests.
 */
static const u32 vmx_defined[][2] = {
	{ 0, 34 }, { 36, 37 }, { 39, 41 }, { 43, 70 }, { 72, 77 }, { 84, 85 },
};
static const u32 svm_defined[][2] = { { 0, 0xa5 }, { 0x400, 0x403 }, { 0xa6, 0xa6 } };

static bool linux_7_3(void)
{
	static int v = -1;
	struct utsname u;
	unsigned int maj = 0, min = 0;

	if (v < 0) {
		if (uname(&u) == 0)
			sscanf(u.release, "%u.%u", &maj, &min);
		v = maj > 7 || (maj == 7 && min >= 3);
	}
	return v;
}

bool reason_defined(u32 reason)
{
	const u32 (*d)[2] = host_is_amd() ? svm_defined : vmx_defined;
	/* the last range of each table is Linux 7.3's */
	size_t i, n = host_is_amd() ? 3 : sizeof(vmx_defined) / sizeof(vmx_defined[0]);

	if (!linux_7_3())
		n--;
	for (i = 0; i < n; i++)
		if (reason >= d[i][0] && reason <= d[i][1])
			return true;
	return false;
}

u32 reason_max_defined(void)
{
	return host_is_amd() ? 0x403 : linux_7_3() ? 85 : 77;
}

/* Up to @max numbers from @s into @n, as many as @s holds; -1 if more. */
static int view_nums(const char *s, u64 *n, int max)
{
	char *end;
	int i;

	for (i = 0; ; i++) {
		while (*s == ' ')
			s++;
		if (!isdigit(*s))
			return *s == '\n' || !*s ? i : -1;
		if (i == max)
			return -1;
		n[i] = strtoull(s, &end, 10);
		s = end;
	}
}

int view_read(struct vm *vm, struct view *v)
{
	char path[128], line[256], name[64];
	unsigned long long c, y;
	unsigned int r;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d/exit_stats",
		 getpid(), vm->fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	memset(v, 0, sizeof(*v));
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		if (!strcmp(line, "cycles off\n")) {
			v->cycles_off = true;
			continue;
		}
		if (!strncmp(line, "buckets ", 8)) {
			TEST_ASSERT(!v->n && !v->nbounds && !v->cycles_off,
				    "\"buckets\" line not right after the header in %s", path);
			v->nbounds = view_nums(line + 8, v->bounds, VIEW_HIST_MAX - 1);
			TEST_ASSERT(v->nbounds > 0, "bad \"buckets\" line in %s: %s", path, line);
			continue;
		}
		if (!strncmp(line, "hist ", 5)) {
			char *p = line + 5;

			TEST_ASSERT(v->n > 0 && v->nbounds && !v->has_hist[v->n - 1],
				    "\"hist\" line without buckets, or not after its reason's in %s: %s",
				    path, line);
			if (v->reason[v->n - 1] == ~0u)
				TEST_ASSERT(!strncmp(p, "other ", 6), "\"hist\" line not after its reason's in %s: %s",
					    path, line);
			else
				TEST_ASSERT(strtoul(p, NULL, 10) == v->reason[v->n - 1] && isdigit(*p),
					    "\"hist\" line not after its reason's in %s: %s", path, line);
			p = strchr(p, ' ');
			TEST_ASSERT(p && view_nums(p, v->hist[v->n - 1], VIEW_HIST_MAX) == v->nbounds + 1,
				    "\"hist\" line without %d buckets in %s: %s", v->nbounds + 1, path, line);
			v->has_hist[v->n - 1] = true;
			continue;
		}
		if (sscanf(line, "clamped %llu", &c) == 1) {
			v->clamped = c;
			continue;
		}
		if (sscanf(line, "l2 total %llu %llu", &c, &y) == 2) {
			v->has_l2_total = true;
			v->l2_total_count = c;
			v->l2_total_cycles = y;
			continue;
		}
		if (!strncmp(line, "l2 ", 3)) {
			bool other = sscanf(line, "l2 other %llu %llu", &c, &y) == 2;

			TEST_ASSERT(v->n > 0 && (other ? v->reason[v->n - 1] == ~0u :
				    sscanf(line, "l2 %u %llu %llu", &r, &c, &y) == 3 &&
				    r == v->reason[v->n - 1]),
				    "\"l2\" line not after its reason's in %s: %s", path, line);
			v->l2_count[v->n - 1] = c;
			v->l2_cycles[v->n - 1] = y;
			continue;
		}
		if (sscanf(line, "total %llu %llu", &c, &y) == 2) {
			v->total_count = c;
			v->total_cycles = y;
			continue;
		}
		if (sscanf(line, "other %llu %llu", &c, &y) == 2)
			r = ~0u;
		else
			TEST_ASSERT(sscanf(line, "%u %llu %llu %63s", &r, &c, &y, name) == 4,
				    "unexpected line in %s: %s", path, line);
		TEST_ASSERT(v->n < VIEW_MAX, "more than %d lines in %s", VIEW_MAX, path);
		v->reason[v->n] = r;
		v->count[v->n] = c;
		v->cycles[v->n] = y;
		v->n++;
	}
	fclose(f);
	return v->n;
}

/* The line of a reason, or -1 if it has none (no exits). */
static int view_line(const struct view *v, u32 reason)
{
	int i;

	for (i = 0; i < v->n; i++)
		if (v->reason[i] == reason)
			return i;
	return -1;
}

u64 view_count(const struct view *v, u32 reason)
{
	int i = view_line(v, reason);

	return i < 0 ? 0 : v->count[i];
}

const u64 *view_hist(const struct view *v, u32 reason)
{
	int i = view_line(v, reason);

	return i < 0 || !v->has_hist[i] ? NULL : v->hist[i];
}

u64 view_cycles(const struct view *v, u32 reason)
{
	int i = view_line(v, reason);

	return i < 0 ? 0 : v->cycles[i];
}

u64 view_l2_count(const struct view *v, u32 reason)
{
	int i = view_line(v, reason);

	return i < 0 ? 0 : v->l2_count[i];
}

bool module_param_read(const char *module, const char *param, char *buf, size_t len)
{
	char path[128];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", module, param);
	buf[0] = 0;
	f = fopen(path, "r");
	if (!f)
		return false;
	ok = fgets(buf, len, f) != NULL;
	fclose(f);
	if (!ok)
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return ok;
}

bool module_param_is(const char *module, const char *param, const char *value)
{
	char buf[64];

	return module_param_read(module, param, buf, sizeof(buf)) && !strcmp(buf, value);
}
