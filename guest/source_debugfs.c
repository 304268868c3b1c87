// SPDX-License-Identifier: GPL-2.0-only
/*
 * exitstat, the host's source: the patched KVM's debugfs files
 *
 *   <root>/<pid>-<fd>/exit_stats		the whole VM
 *   <root>/<pid>-<fd>/vcpu<N>/exit_stats	one vCPU (--vcpus, --vcpu N)
 *
 * both in the same format:
 *
 *   # vmx exit reason, exits, cycles, name	(or svm)
 *   cycles off				kvm.exit_stats=counts: no cycles
 *   buckets <b0> <b1> ... <bk>			kvm.exit_stats=hist: the bounds of
 *						a histogram's buckets, ascending
 *   <reason> <exits> <cycles> <name>		per reason with exits
 *   other <exits> <cycles>			exits without a reason, if any
 *   l2 <reason> <exits> <cycles>		after a reason's line (or other's,
 *						"l2 other ..."): the part of its
 *						exits taken while L2 ran, if any
 *   hist <reason> <n0> <n1> ... <nk+1>		after a reason's line and its l2
 *						line (or other's, "hist other
 *						..."): its exits by handling
 *						cycles, n0 below b0, n(i) from
 *						b(i-1) up to below b(i), the last
 *						b(k) and above; with "buckets" only
 *   l2 total <exits> <cycles>			their sum
 *   clamped <n>				cycle windows closed below their
 *						opening TSC (counted as 0 cycles)
 *   total <exits> <cycles>
 *
 * "cycles off" or "buckets" (never both) only right after the header;
 * with "buckets", a "hist" line for every reason and other, whose counts
 * add up to no more than its exits (an exit is counted when it happens,
 * in its bucket when its handling ends: short by the exits in flight);
 * "l2 total" once, after the reasons; "clamped" once, right before the
 * total.  A file without "clamped", or without "l2 total" and so without
 * the L2 split, or without "buckets", from an older series or another
 * kvm.exit_stats mode, is read too.
 *
 * and the VMs' names from /proc/<pid>/cmdline (QEMU's -name) or comm.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "exitstat.h"

#define MAX_FILE	(4 << 20)
#define NO_FILE		(-1)		/* read_stats(), read_vm(): skip it */
#define BAD_FILE	(-2)		/* the same, after a warning: unreadable, malformed */
#define MAX_BOUNDS	63		/* of a "buckets" line */

/* ------------------------------------------------------------------ */
/* One file */

struct entry {
	uint32_t reason;
	uint64_t exits, cycles;
	uint64_t l2[2];			/* exits, cycles while L2 ran */
	const char *name;
	size_t namelen;
};

/* A decimal number and the one space or newline after it; NULL if none. */
static const char *parse_num(const char *p, const char *end, uint64_t *v)
{
	const char *start = p;

	*v = 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (*v > (UINT64_MAX - (*p - '0')) / 10)
			return NULL;
		*v = *v * 10 + (*p - '0');
	}
	if (p == start || p == end || (*p != ' ' && *p != '\n'))
		return NULL;
	return p;
}

/*
 * Decimal numbers one space apart up to the newline at eol, at most max
 * of them, into v: how many, or -1.
 */
static int parse_nums(const char *p, const char *eol, uint64_t *v, unsigned int max)
{
	unsigned int n = 0;
	const char *q;

	for (;;) {
		if (n == max || !(q = parse_num(p, eol + 1, &v[n])))
			return -1;
		n++;
		if (q == eol)
			return n;
		p = q + 1;
	}
}

static bool add(uint64_t *sum, uint64_t v)
{
	if (*sum > UINT64_MAX - v)
		return false;
	*sum += v;
	return true;
}

#define BAD(...) do { snprintf(why, whylen, __VA_ARGS__); goto out; } while (0)

int es_host_parse(const char *text, size_t len, struct es_info *info,
		  struct es_snap *s, char *why, size_t whylen)
{
	const char *p = text, *end = text + len, *eol, *q;
	struct entry *e = NULL;
	uint8_t *seen = NULL;
	uint64_t sum_exits = 0, sum_cycles = 0, total[2], other[2] = { 0, 0 }, r, clamped = 0;
	uint64_t l2_sum[2] = { 0, 0 }, l2[2], of[2];
	unsigned int ne = 0, line = 1, isa, i, n = 0;
	bool has_other = false, has_total = false, has_clamped = false, cycles_off = false;
	bool has_l2 = false, has_l2_total = false;
	uint64_t l2_total[2];
	enum { PREV_NONE, PREV_REASON, PREV_OTHER } prev = PREV_NONE, want = PREV_NONE;
	/* the "buckets" bounds; the entries' histograms (e[k]'s at k * (nb + 1)), other's */
	uint64_t bounds[MAX_BOUNDS], *eh = NULL, *h, oh[MAX_BOUNDS + 1] = { 0 }, hs;
	unsigned int nb = 0, ehcap = 0;
	int rc = -1, k;

	memset(s, 0, sizeof(*s));
	if (memchr(text, 0, len))
		BAD("a NUL byte");
	if (!len || text[len - 1] != '\n')
		BAD(len ? "no newline at the end: cut short" : "empty");
	eol = memchr(p, '\n', end - p);
	if (eol - p >= 20 && !strncasecmp(p, "# vmx exit reason", 17))
		isa = ES_ISA_VMX;
	else if (eol - p >= 20 && !strncasecmp(p, "# svm exit reason", 17))
		isa = ES_ISA_SVM;
	else
		BAD("line 1: not \"# vmx exit reason...\" or \"# svm exit reason...\"");
	e = calloc(len / 8 + 1, sizeof(*e));	/* a line is at least "1 1 1 x\n" */
	if (!e || !(seen = calloc(0x10000 / 8, 1)))
		BAD("out of memory");
	for (p = eol + 1; p < end; p = eol + 1) {
		line++;
		eol = memchr(p, '\n', end - p);
		if (has_total)
			BAD("line %u: after the total", line);
		if (has_clamped && !strncmp(p, "clamped ", 8))
			BAD("line %u: a second \"clamped\" line", line);
		if (has_clamped && strncmp(p, "total ", 6))
			BAD("line %u: after \"clamped\", only \"total\" may follow", line);
		if (eol - p == 10 && !memcmp(p, "cycles off", 10)) {
			if (line != 2)
				BAD("line %u: \"cycles off\" is allowed only right after the header", line);
			cycles_off = true;
			continue;
		}
		if (!strncmp(p, "buckets ", 8)) {
			if (line != 2)
				BAD("line %u: \"buckets\" is allowed only right after the header", line);
			if ((k = parse_nums(p + 8, eol, bounds, MAX_BOUNDS)) < 0)
				BAD("line 2: not \"buckets B0 B1 ...\" with 1 to %d bounds", MAX_BOUNDS);
			for (nb = k, i = 0; i < nb; i++)
				if (bounds[i] <= (i ? bounds[i - 1] : 0))
					BAD("line 2: the bucket bounds do not ascend from 1 up");
			continue;
		}
		if (want != PREV_NONE && strncmp(p, "hist ", 5) &&
		    (strncmp(p, "l2 ", 3) || !strncmp(p, "l2 total ", 9))) {
			if (want == PREV_OTHER)
				BAD("line %u: no \"hist other\" line after \"other\"", line);
			BAD("line %u: no \"hist %u\" line after reason %u's", line,
			    e[ne - 1].reason, e[ne - 1].reason);
		}
		if (!strncmp(p, "hist ", 5)) {
			if (!nb)
				BAD("line %u: \"hist\" without a \"buckets\" line", line);
			if (want == PREV_NONE)
				BAD("line %u: \"hist\" must follow the line of its reason (and its \"l2\" line)",
				    line);
			q = p + 5;
			if (want == PREV_OTHER) {
				if (strncmp(q, "other ", 6))
					BAD("line %u: not \"hist other N0 ... N%u\" after \"other\"", line, nb);
				q += 6;
				h = oh;
				of[0] = other[0];
			} else {
				if (!(q = parse_num(q, end, &r)) || r != e[ne - 1].reason || *q != ' ')
					BAD("line %u: not \"hist %u N0 ... N%u\" after reason %u's line",
					    line, e[ne - 1].reason, nb, e[ne - 1].reason);
				q++;
				if (ne > ehcap) {
					ehcap = ehcap * 2 > ne ? ehcap * 2 : ne + 15;
					if (!(h = realloc(eh, (size_t)ehcap * (nb + 1) * sizeof(*eh))))
						BAD("out of memory");
					eh = h;
				}
				h = eh + (size_t)(ne - 1) * (nb + 1);
				of[0] = e[ne - 1].exits;
			}
			if (parse_nums(q, eol, h, nb + 1) != (int)nb + 1)
				BAD("line %u: not %u counts, one per bucket", line, nb + 1);
			for (hs = 0, i = 0; i <= nb; i++)
				if (!add(&hs, h[i]))
					BAD("line %u: the sum passes 2^64", line);
			if (hs > of[0])
				BAD("line %u: more exits in the histogram than in all", line);
			want = prev = PREV_NONE;
			continue;
		}
		if (has_l2_total && strncmp(p, "clamped ", 8) && strncmp(p, "total ", 6))
			BAD("line %u: after \"l2 total\", only \"clamped\" and \"total\" may follow", line);
		if (!strncmp(p, "l2 total ", 9)) {
			if (has_clamped)
				BAD("line %u: \"l2 total\" after \"clamped\"", line);
			if (!(q = parse_num(p + 9, end, &l2_total[0])) || *q != ' ' ||
			    !(q = parse_num(q + 1, end, &l2_total[1])) || q != eol)
				BAD("line %u: not \"l2 total EXITS CYCLES\"", line);
			has_l2_total = true;
			prev = PREV_NONE;
			continue;
		}
		if (!strncmp(p, "l2 ", 3)) {
			if (prev == PREV_NONE)
				BAD("line %u: \"l2\" must follow the line of its reason", line);
			of[0] = prev == PREV_OTHER ? other[0] : e[ne - 1].exits;
			of[1] = prev == PREV_OTHER ? other[1] : e[ne - 1].cycles;
			q = p + 3;
			if (prev == PREV_OTHER) {
				if (strncmp(q, "other ", 6))
					BAD("line %u: not \"l2 other EXITS CYCLES\" after \"other\"", line);
				q += 5;
			} else if (!(q = parse_num(q, end, &r)) || r != e[ne - 1].reason) {
				BAD("line %u: not \"l2 %u EXITS CYCLES\" after reason %u's line",
				    line, e[ne - 1].reason, e[ne - 1].reason);
			}
			if (*q != ' ' || !(q = parse_num(q + 1, end, &l2[0])) || *q != ' ' ||
			    !(q = parse_num(q + 1, end, &l2[1])) || q != eol)
				BAD("line %u: not \"l2 REASON EXITS CYCLES\"", line);
			if (l2[0] > of[0] || l2[1] > of[1])
				BAD("line %u: more exits or cycles while L2 ran than in all", line);
			if (prev == PREV_REASON)
				memcpy(e[ne - 1].l2, l2, sizeof(l2));
			if (!add(&l2_sum[0], l2[0]) || !add(&l2_sum[1], l2[1]))
				BAD("line %u: the sum passes 2^64", line);
			has_l2 = true;
			prev = PREV_NONE;
			continue;
		}
		prev = PREV_NONE;
		if (!strncmp(p, "clamped ", 8)) {
			if (!(q = parse_num(p + 8, end, &clamped)) || q != eol)
				BAD("line %u: not \"clamped N\"", line);
			has_clamped = true;
			continue;
		}
		if (!strncmp(p, "other ", 6) || !strncmp(p, "total ", 6)) {
			bool tot = p[0] == 't';
			uint64_t *v = tot ? total : other;

			if (has_other && !tot)
				BAD("line %u: a second \"other\" line", line);
			if (!(q = parse_num(p + 6, end, &v[0])) || *q != ' ' ||
			    !(q = parse_num(q + 1, end, &v[1])) || q != eol)
				BAD("line %u: not \"%s EXITS CYCLES\"", line, tot ? "total" : "other");
			has_total |= tot;
			has_other |= !tot;
			if (!tot)
				prev = PREV_OTHER;
			if (!tot && nb)
				want = PREV_OTHER;
			continue;
		}
		if (!(q = parse_num(p, end, &r)) || *q != ' ' ||
		    !(q = parse_num(q + 1, end, &e[ne].exits)) || *q != ' ' ||
		    !(q = parse_num(q + 1, end, &e[ne].cycles)) || *q != ' ' || q + 1 == eol)
			BAD("line %u: not \"REASON EXITS CYCLES NAME\"", line);
		if (r > 0xffff)
			BAD("line %u: reason %llu is past 0xffff", line, (unsigned long long)r);
		if (seen[r / 8] & 1 << r % 8)
			BAD("line %u: reason %llu a second time", line, (unsigned long long)r);
		seen[r / 8] |= 1 << r % 8;
		e[ne].reason = r;
		e[ne].name = q + 1;
		e[ne].namelen = eol - q - 1;
		if (!add(&sum_exits, e[ne].exits) || !add(&sum_cycles, e[ne].cycles))
			BAD("line %u: the sum passes 2^64", line);
		if (r >= n)
			n = r + 1;
		ne++;
		prev = PREV_REASON;
		if (nb)
			want = PREV_REASON;
	}
	if (!has_total)
		BAD("no \"total\" line: cut short");
	if (!add(&sum_exits, other[0]) || !add(&sum_cycles, other[1]) ||
	    sum_exits != total[0] || sum_cycles != total[1])
		BAD("the lines do not add up to the total");
	if (has_l2 && !has_l2_total)
		BAD("\"l2\" lines without \"l2 total\"");
	if (has_l2_total && (l2_sum[0] != l2_total[0] || l2_sum[1] != l2_total[1]))
		BAD("the \"l2\" lines do not add up to \"l2 total\"");
	es_info_isa(info, isa);
	info->cycles_off = cycles_off;
	if (n <= info->cpuid_reason)
		n = info->cpuid_reason + 1;
	info->max_reason = n - 1;
	if (es_snap_alloc(s, n, true))
		BAD("out of memory");
	if (has_l2_total && (!(s->l2_exits = calloc(n, sizeof(*s->l2_exits))) ||
		       !(s->l2_cycles = calloc(n, sizeof(*s->l2_cycles)))))
		BAD("out of memory");
	s->l2_total_exits = l2_sum[0];
	s->l2_total_cycles = l2_sum[1];
	if (nb && (!(s->bounds = malloc(nb * sizeof(*s->bounds))) ||
		   !(s->hist = calloc((size_t)(n + 1) * (nb + 1), sizeof(*s->hist)))))
		BAD("out of memory");
	if (nb) {
		s->nbounds = nb;
		memcpy(s->bounds, bounds, nb * sizeof(*bounds));
		s->hist_other = s->hist + (size_t)n * (nb + 1);
		memcpy(s->hist_other, oh, (nb + 1) * sizeof(*oh));
	}
	for (i = 0; i < ne; i++) {
		char *name;

		s->exits[e[i].reason] = e[i].exits;
		s->cycles[e[i].reason] = e[i].cycles;
		if (has_l2_total) {
			s->l2_exits[e[i].reason] = e[i].l2[0];
			s->l2_cycles[e[i].reason] = e[i].l2[1];
		}
		if (nb)
			memcpy(s->hist + (size_t)e[i].reason * (nb + 1), eh + (size_t)i * (nb + 1),
			       (nb + 1) * sizeof(*eh));
		if (e[i].namelen == 1 && e[i].name[0] == '-')
			continue;	/* the kernel knows no name */
		name = strndup(e[i].name, e[i].namelen);
		if (!name)
			BAD("out of memory");
		for (q = name; *q; q++)
			if (!isprint((unsigned char)*q))
				name[q - name] = '?';
		s->names[e[i].reason] = name;
	}
	s->head.cpuid_exits.v = s->exits[info->cpuid_reason];
	s->head.cpuid_cycles.v = s->cycles[info->cpuid_reason];
	s->head.exits.v = total[0];
	s->head.cycles.v = total[1];
	s->tail = s->head;
	s->has_clamped = has_clamped;
	s->clamped = clamped;
	rc = 0;
out:
	free(e);
	free(eh);
	free(seen);
	if (rc)
		es_snap_free(s);
	return rc;
}

/* 0, or an errno. */
static int read_text(const char *path, char **buf, size_t *len)
{
	size_t cap = 4096;
	ssize_t r;
	int fd, e;
	char *b = malloc(cap), *nb;

	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !b) {
		e = fd < 0 ? errno : ENOMEM;
		goto fail;
	}
	for (;;) {
		if (*len == cap) {
			nb = cap < MAX_FILE ? realloc(b, cap *= 2) : NULL;
			if (!nb) {
				e = cap < MAX_FILE ? ENOMEM : EFBIG;
				goto fail;
			}
			b = nb;
		}
		r = read(fd, b + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			goto fail;
		}
		if (!r)
			break;
		*len += r;
	}
	close(fd);
	*buf = b;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(b);
	return e;
}

/*
 * Read and parse one exit_stats file: 0, NO_FILE, BAD_FILE after a warning,
 * or 2 (out of memory) after a message.
 */
static int read_stats(const char *path, struct es_info *info, struct es_snap *s, FILE *err)
{
	char *text, why[160];
	size_t len;
	int e = read_text(path, &text, &len);

	if (e == ENOENT)
		return NO_FILE;
	if (e == ENOMEM) {
		fprintf(err, "exitstat: out of memory\n");
		return 2;
	}
	if (e) {
		fprintf(err, "exitstat: warning: cannot read %s: %s\n", path, strerror(e));
		return BAD_FILE;
	}
	e = es_host_parse(text, len, info, s, why, sizeof(why));
	free(text);
	if (e) {
		fprintf(err, "exitstat: warning: %s: malformed: %s\n", path, why);
		return BAD_FILE;
	}
	es_hooks.clock(&s->t);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Names */

/* QEMU's -name: "NAME[,opt=...]" or "guest=NAME,..." (",," is a comma). */
bool es_qemu_name(const char *cmdline, size_t len, char *name, size_t namelen)
{
	char *buf = malloc(len + 1), *p, *end, *v = NULL;
	bool found = false, first = true, keep;
	size_t n;

	if (!buf || !namelen) {
		free(buf);
		return false;
	}
	memcpy(buf, cmdline, len);	/* each argument NUL-terminated, the last too */
	buf[len] = 0;
	end = buf + len;
	for (p = buf; p < end && !v; p += strlen(p) + 1)
		if (!strcmp(p, "-name") || !strcmp(p, "--name"))
			v = p + strlen(p) + 1;
	while (v && v < end && *v && !found) {
		keep = first && !memchr(v, '=', strcspn(v, ","));
		if (!strncmp(v, "guest=", 6)) {
			v += 6;
			keep = true;
		}
		for (n = 0; *v && (*v != ',' || v[1] == ','); v++) {
			if (*v == ',')
				v++;
			if (keep && n + 1 < namelen)
				name[n++] = isprint((unsigned char)*v) ? *v : '?';
		}
		if (*v)
			v++;
		first = false;
		if (keep && n) {
			name[n] = 0;
			found = true;
		}
	}
	free(buf);
	return found;
}

static void vm_name(struct es_vm *vm)
{
	char path[512], *text;
	size_t len, i;

	snprintf(path, sizeof(path), "%s/%d/cmdline", es_hooks.proc, vm->pid);
	if (!read_text(path, &text, &len)) {
		bool found = es_qemu_name(text, len, vm->name, sizeof(vm->name));

		free(text);
		if (found)
			return;
	}
	snprintf(path, sizeof(path), "%s/%d/comm", es_hooks.proc, vm->pid);
	snprintf(vm->name, sizeof(vm->name), "?");
	if (read_text(path, &text, &len))
		return;
	for (i = 0; i < len && i + 1 < sizeof(vm->name) && text[i] != '\n'; i++)
		vm->name[i] = isprint((unsigned char)text[i]) ? text[i] : '?';
	vm->name[i ? i : 1] = 0;
	free(text);
}

/* ------------------------------------------------------------------ */
/* All VMs */

static int cmp_int(const void *a, const void *b)
{
	return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

static int cmp_vm(const void *pa, const void *pb)
{
	const struct es_vm *a = pa, *b = pb;

	return a->pid != b->pid ? cmp_int(&a->pid, &b->pid) : cmp_int(&a->fd, &b->fd);
}

/* "<prefix><N>" with nothing else: N, else -1. */
static int numbered(const char *s, const char *prefix)
{
	uint32_t v;

	if (strncmp(s, prefix, strlen(prefix)) || !isdigit((unsigned char)s[strlen(prefix)]) ||
	    es_parse_u32(s + strlen(prefix), &v) || v > INT32_MAX)
		return -1;
	return v;
}

/*
 * The vcpu<N> directories: all of them counted in all_vcpus, those that
 * only (-1: all) selects in vcpu_ids; their count, or -1 if the VM is gone.
 */
static int find_vcpus(const char *root, struct es_vm *vm, int only)
{
	char path[512];
	struct dirent *d;
	DIR *dir;
	int id, *ids;

	snprintf(path, sizeof(path), "%s/%s", root, vm->dir);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		id = numbered(d->d_name, "vcpu");
		if (id < 0)
			continue;
		vm->all_vcpus++;
		if (only >= 0 && id != only)
			continue;
		ids = realloc(vm->vcpu_ids, (vm->nvcpus + 1) * sizeof(*ids));
		if (!ids)
			break;
		vm->vcpu_ids = ids;
		ids[vm->nvcpus++] = id;
	}
	closedir(dir);
	if (vm->nvcpus)
		qsort(vm->vcpu_ids, vm->nvcpus, sizeof(int), cmp_int);
	return vm->nvcpus;
}

/*
 * One VM's files: 0, NO_FILE (the VM is gone or has no file), BAD_FILE (one
 * of them could not be read or parsed: a warning said which), or 2.
 */
static int read_vm(const char *root, struct es_vm *vm, bool vcpus, FILE *err)
{
	char path[512];
	unsigned int i;
	struct es_info vinfo;
	int rc;

	snprintf(path, sizeof(path), "%s/%s/exit_stats", root, vm->dir);
	rc = read_stats(path, &vm->info, &vm->snap, err);
	if (rc || !vcpus)
		return rc;
	vm->vcpus = calloc(vm->nvcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus && vm->nvcpus) {
		fprintf(err, "exitstat: out of memory\n");
		return 2;
	}
	for (i = 0; i < vm->nvcpus; i++) {
		snprintf(path, sizeof(path), "%s/%s/vcpu%d/exit_stats", root, vm->dir,
			 vm->vcpu_ids[i]);
		rc = read_stats(path, &vinfo, &vm->vcpus[i], err);
		if (rc == NO_FILE) {
			fprintf(err, "exitstat: no per-vCPU exit statistics (%s): this KVM does not publish them\n",
				path);
			return 2;
		}
		if (rc)
			return rc;
		if (vinfo.isa != vm->info.isa) {
			fprintf(err, "exitstat: warning: %s: malformed: a different ISA than the VM's file\n",
				path);
			return BAD_FILE;
		}
		if (vinfo.max_reason > vm->info.max_reason)
			vm->info.max_reason = vinfo.max_reason;
		/* one module parameter for all files: any "cycles off" holds for the VM */
		vm->info.cycles_off |= vinfo.cycles_off;
	}
	return 0;
}

static int open_root(const char *root, DIR **dir, FILE *err)
{
	*dir = opendir(root);
	if (*dir)
		return 0;
	if (errno == EACCES || errno == EPERM)
		fprintf(err, "exitstat: cannot read %s: %s: exitstat --host needs root\n",
			root, strerror(errno));
	else if (errno == ENOENT)
		fprintf(err, "exitstat: no %s: KVM is not loaded, or debugfs is not mounted (mount -t debugfs none /sys/kernel/debug)\n",
			root);
	else
		fprintf(err, "exitstat: cannot read %s: %s\n", root, strerror(errno));
	return 2;
}

/* Does the VM's name match one of sel's patterns (or are there none)? */
static bool name_selected(const struct es_host_sel *sel, const char *name)
{
	unsigned int i;

	for (i = 0; i < sel->nnames; i++)
		if (!fnmatch(sel->names[i], name, 0))
			return true;
	return !sel->nnames;
}

/* "no VM of pid 42 named 'web*' or 'db' with a vCPU 3 in ROOT" */
static void no_match(const struct es_host_sel *sel, const char *root, FILE *err)
{
	unsigned int i;

	fputs("exitstat: no VM", err);
	if (sel->pid)
		fprintf(err, " of pid %d", sel->pid);
	for (i = 0; i < sel->nnames; i++)
		fprintf(err, "%s'%s'", i ? " or " : " named ", sel->names[i]);
	if (sel->vcpu >= 0)
		fprintf(err, " with a vCPU %d", sel->vcpu);
	fprintf(err, " in %s\n", root);
}

static void vm_free(struct es_vm *vm)
{
	unsigned int i;

	es_snap_free(&vm->snap);
	for (i = 0; vm->vcpus && i < vm->nvcpus; i++)
		es_snap_free(&vm->vcpus[i]);
	free(vm->vcpus);
	free(vm->vcpu_ids);
}

int es_host_read(const char *root, const struct es_host_sel *sel, struct es_host *h, FILE *err)
{
	struct es_vm *vm, *vms;
	struct dirent *d;
	unsigned int nogo = 0;
	bool vcpus = sel->vcpus || sel->vcpu >= 0;
	bool selecting = sel->pid || sel->nnames || sel->vcpu >= 0;
	char *dash;
	DIR *dir;
	int rc = 0, p, fd, pid = sel->pid;

	memset(h, 0, sizeof(*h));
	es_hooks.clock(&h->t);
	if (open_root(root, &dir, err))
		return 2;
	while (!rc && (d = readdir(dir))) {
		dash = strchr(d->d_name, '-');
		if (!dash || strlen(d->d_name) >= sizeof(vm->dir))
			continue;
		*dash = 0;
		p = numbered(d->d_name, "");
		fd = numbered(dash + 1, "");
		*dash = '-';
		if (p <= 0 || fd < 0 || (pid && p != pid))
			continue;
		vms = realloc(h->vms, (h->nvms + 1) * sizeof(*vms));
		if (!vms) {
			fprintf(err, "exitstat: out of memory\n");
			rc = 2;
			break;
		}
		h->vms = vms;
		vm = memset(&vms[h->nvms], 0, sizeof(*vm));
		memcpy(vm->dir, d->d_name, strlen(d->d_name) + 1);
		vm->pid = p;
		vm->fd = fd;
		h->nvms++;
		/*
		 * the selection first, so that a VM it leaves out is not
		 * read at all: its file cannot make a warning or status 3
		 */
		vm_name(vm);
		rc = find_vcpus(root, vm, sel->vcpu) < 0 ? NO_FILE : 0;
		if (!rc && (!name_selected(sel, vm->name) || (sel->vcpu >= 0 && !vm->nvcpus))) {
			vm_free(vm);
			h->nvms--;
			continue;
		}
		if (!rc)
			rc = read_vm(root, vm, vcpus, err);
		if (rc == NO_FILE || rc == BAD_FILE) {
			/*
			 * gone since readdir(), or no file: either way not
			 * listed; a bad file: not listed either, and counted
			 */
			if (rc == BAD_FILE) {
				fprintf(err, "exitstat: warning: VM %s skipped\n", vm->dir);
				h->skipped++;
			} else {
				nogo += !access(root, F_OK);
			}
			vm_free(vm);
			h->nvms--;
			rc = 0;
			continue;
		}
	}
	closedir(dir);
	if (!rc && h->skipped && !h->nvms) {
		fprintf(err, "exitstat: no VM in %s has a readable exit_stats file\n", root);
		rc = 2;
	}
	if (!rc && nogo && !h->nvms) {
		fprintf(err, "exitstat: no VM in %s has an exit_stats file: no patched KVM, or kvm.exit_stats=0\n",
			root);
		rc = 2;
	}
	if (!rc && selecting && !h->nvms) {
		no_match(sel, root, err);
		rc = ES_EXIT_NO_MATCH;
	}
	if (rc) {
		es_host_free(h);
		return rc;
	}
	if (h->nvms)
		qsort(h->vms, h->nvms, sizeof(*h->vms), cmp_vm);
	return 0;
}

void es_host_free(struct es_host *h)
{
	unsigned int i;

	for (i = 0; i < h->nvms; i++)
		vm_free(&h->vms[i]);
	free(h->vms);
	memset(h, 0, sizeof(*h));
}

/* ------------------------------------------------------------------ */
/* The host's TSC rate */

/*
 * The kernel's own factors for turning TSC cycles into nanoseconds, as
 * perf publishes them in a perf event's mmap page (time_mult, time_shift;
 * cap_user_time set only when the TSC is the stable clock):
 * ns = cycles * time_mult >> time_shift, so kHz = 10^6 << time_shift / time_mult.
 */
uint32_t es_perf_tsc_khz(void);
uint32_t es_perf_tsc_khz(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE, .config = PERF_COUNT_SW_DUMMY,
		.size = sizeof(attr), .exclude_kernel = 1, .exclude_hv = 1,
	};
	volatile struct perf_event_mmap_page *pc;
	long page = sysconf(_SC_PAGESIZE);
	uint32_t seq, mult = 0, shift = 0;
	uint64_t cap = 0, khz = 0;
	int fd;

	fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return 0;
	pc = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	if (pc != MAP_FAILED) {
		do {
			seq = pc->lock;
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			cap = pc->cap_user_time;
			mult = pc->time_mult;
			shift = pc->time_shift;
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
		} while (pc->lock != seq || (seq & 1));
		munmap((void *)pc, page);
	}
	close(fd);
	if (cap && mult && shift < 32)
		khz = (1000000ull << shift) / mult;
	return khz <= UINT32_MAX ? khz : 0;
}
