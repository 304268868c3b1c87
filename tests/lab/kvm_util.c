// SPDX-License-Identifier: GPL-2.0-only
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define KVM_TSS_GPA	0xfffbd000UL

static int ktap_planned, ktap_n, ktap_passed, ktap_failed, ktap_skipped;

void ktap_plan(int n)
{
	ktap_planned = n;
	printf("KTAP version 1\n1..%d\n", n);
	fflush(stdout);
}

bool ktap_result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d ", ok ? "" : "not ", ++ktap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (ok)
		ktap_passed++;
	else
		ktap_failed++;
	return ok;
}

void ktap_skip(const char *name, const char *reason_fmt, ...)
{
	va_list ap;

	printf("ok %d %s # SKIP ", ++ktap_n, name);
	va_start(ap, reason_fmt);
	vprintf(reason_fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	ktap_skipped++;
}

void ktap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

int ktap_finish(void)
{
	if (ktap_n != ktap_planned)
		ktap_diag("planned %d tests, ran %d", ktap_planned, ktap_n);
	ktap_diag("%d passed, %d failed, %d skipped",
		  ktap_passed, ktap_failed, ktap_skipped);
	return ktap_failed || ktap_n != ktap_planned;
}

void __test_assert_fail(const char *file, int line, const char *cond,
			const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	printf("# ASSERT FAILED at %s:%d: %s: ", file, line, cond);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (err)
		printf(" (errno %d: %s)", err, strerror(err));
	putchar('\n');
	fflush(stdout);
	exit(1);
}

static void __attribute__((noreturn)) usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-k K]\n", prog);
	exit(2);
}

bool test_init(int argc, char **argv, u32 *k)
{
	unsigned long v;
	char *end;
	int fd, opt;
	bool given = false;

	while ((opt = getopt(argc, argv, "k:")) != -1) {
		if (opt != 'k' || optarg[0] < '0' || optarg[0] > '9')
			usage(argv[0]);
		errno = 0;
		v = strtoul(optarg, &end, 10);
		if (errno || *end || v > UINT_MAX)
			usage(argv[0]);
		*k = v;
		given = true;
	}
	if (optind != argc)
		usage(argv[0]);

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("# open /dev/kvm: %s\n", strerror(errno));
		printf("Bail out! /dev/kvm not available\n");
		fflush(stdout);
		exit(1);
	}
	close(fd);
	errno = 0;
	return given;
}

char test_mode(int *argc, char ***argv, const char *modes)
{
	char **v = *argv, m;

	if (*argc < 2 || v[1][0] != '-' || !v[1][1] || v[1][2] || !strchr(modes, v[1][1]))
		return 0;
	m = v[1][1];
	v[1] = v[0];
	(*argc)--;
	(*argv)++;
	return m;
}

static struct vcpu *vcpu_get(struct vm *vm, int i)
{
	TEST_ASSERT(i >= 0 && i < vm->nr_vcpus,
		    "expected a vCPU index below %d, got %d", vm->nr_vcpus, i);
	return &vm->vcpu[i];
}

static void vcpu_add(struct vm *vm, int i)
{
	struct vcpu *vcpu = &vm->vcpu[i];

	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)i);
	TEST_ASSERT(vcpu->fd >= 0, "KVM_CREATE_VCPU %d failed", i);
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	TEST_ASSERT(vcpu->run != MAP_FAILED, "mmap of vCPU %d's kvm_run failed", i);
	vm->nr_vcpus = i + 1;
}

static struct vm *__vm_create(int nr_vcpus, bool irqchip)
{
	struct kvm_userspace_memory_region region = { .slot = 0 };
	struct vm *vm;
	int i, r;

	TEST_ASSERT(nr_vcpus > 0 && nr_vcpus <= VM_MAX_VCPUS,
		    "expected 1..%d vCPUs, got %d", VM_MAX_VCPUS, nr_vcpus);
	vm = calloc(1, sizeof(*vm));
	TEST_ASSERT(vm, "out of memory");

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	TEST_ASSERT(vm->kvm_fd >= 0, "opening /dev/kvm failed");
	r = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	TEST_ASSERT(r == KVM_API_VERSION, "expected KVM API version %d, got %d",
		    KVM_API_VERSION, r);
	vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	TEST_ASSERT(vm->fd >= 0, "KVM_CREATE_VM failed");
	/* Real mode without unrestricted guest (VMX) needs a TSS; no-op on SVM. */
	r = ioctl(vm->fd, KVM_SET_TSS_ADDR, KVM_TSS_GPA);
	TEST_ASSERT(!r, "KVM_SET_TSS_ADDR 0x%lx failed", KVM_TSS_GPA);

	vm->mem_size = GUEST_MEM_SIZE;
	vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(vm->mem != MAP_FAILED, "mmap of %zu bytes of guest memory failed",
		    vm->mem_size);
	region.memory_size = vm->mem_size;
	region.userspace_addr = (unsigned long)vm->mem;
	r = ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region);
	TEST_ASSERT(!r, "KVM_SET_USER_MEMORY_REGION of %zu bytes at GPA 0 failed",
		    vm->mem_size);

	r = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	TEST_ASSERT(r >= (int)sizeof(struct kvm_run),
		    "expected a kvm_run mmap size >= %zu, got %d",
		    sizeof(struct kvm_run), r);
	vm->run_size = r;
	if (irqchip) {
		r = ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0);
		TEST_ASSERT(!r, "KVM_CREATE_IRQCHIP failed");
	}
	for (i = 0; i < nr_vcpus; i++)
		vcpu_add(vm, i);
	return vm;
}

struct vm *vm_create(int nr_vcpus)
{
	return __vm_create(nr_vcpus, false);
}

struct vm *vm_create_irqchip(int nr_vcpus)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	struct vm *vm = __vm_create(nr_vcpus, true);
	int i;

	/* With an in-kernel LAPIC, vCPUs but the first wait for INIT/SIPI. */
	for (i = 1; i < nr_vcpus; i++)
		TEST_ASSERT(!ioctl(vm->vcpu[i].fd, KVM_SET_MP_STATE, &mp),
			    "KVM_SET_MP_STATE (runnable) on vCPU %d failed", i);
	return vm;
}

void vcpu_set_cpuid_x2apic(struct vm *vm, int i, u32 extra_ecx)
{
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[2];
	} c = {
		.h.nent = 2,
		.e[0] = { .function = 0, .eax = 1 },
		.e[1] = { .function = 1, .ecx = 1u << 21 | extra_ecx, .edx = 1u << 9 },
	};

	TEST_ASSERT(!ioctl(vcpu_get(vm, i)->fd, KVM_SET_CPUID2, &c),
		    "KVM_SET_CPUID2 (APIC, x2APIC) on vCPU %d failed", i);
}

void vm_free(struct vm *vm)
{
	int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		munmap(vm->vcpu[i].run, vm->run_size);
		close(vm->vcpu[i].fd);
	}
	close(vm->fd);
	munmap(vm->mem, vm->mem_size);
	close(vm->kvm_fd);
	free(vm);
}

void *gpa_to_hva(struct vm *vm, u64 gpa)
{
	TEST_ASSERT(gpa < vm->mem_size, "expected a GPA below 0x%zx, got 0x%llx",
		    vm->mem_size, gpa);
	return vm->mem + gpa;
}

void vm_load(struct vm *vm, u64 gpa, const void *code, size_t len)
{
	TEST_ASSERT(gpa <= vm->mem_size && len <= vm->mem_size - gpa,
		    "%zu bytes at GPA 0x%llx do not fit in %zu bytes of guest memory",
		    len, gpa, vm->mem_size);
	memcpy(vm->mem + gpa, code, len);
}

void vcpu_get_regs(struct vm *vm, int i, struct kvm_regs *regs)
{
	TEST_ASSERT(!ioctl(vcpu_get(vm, i)->fd, KVM_GET_REGS, regs),
		    "KVM_GET_REGS on vCPU %d failed", i);
}

void vcpu_set_regs(struct vm *vm, int i, const struct kvm_regs *regs)
{
	TEST_ASSERT(!ioctl(vcpu_get(vm, i)->fd, KVM_SET_REGS, regs),
		    "KVM_SET_REGS on vCPU %d failed", i);
}

void vcpu_setup_real_mode(struct vm *vm, int i, u64 entry_gpa)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = entry_gpa,
		.rsp = GUEST_STACK_TOP - i * GUEST_STACK_SIZE,
		.rsi = i,
		.rflags = 2,
	};
	struct kvm_segment *seg[] = {
		&sregs.cs, &sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss,
	};
	size_t s;
	int fd = vcpu_get(vm, i)->fd;

	TEST_ASSERT(entry_gpa < 0x10000, "expected a real-mode entry below 0x10000, got 0x%llx",
		    entry_gpa);
	TEST_ASSERT(!ioctl(fd, KVM_GET_SREGS, &sregs), "KVM_GET_SREGS on vCPU %d failed", i);
	for (s = 0; s < ARRAY_SIZE(seg); s++) {
		seg[s]->selector = 0;
		seg[s]->base = 0;
	}
	TEST_ASSERT(!ioctl(fd, KVM_SET_SREGS, &sregs), "KVM_SET_SREGS on vCPU %d failed", i);
	vcpu_set_regs(vm, i, &regs);
}

u32 vcpu_run(struct vm *vm, int i)
{
	struct vcpu *vcpu = vcpu_get(vm, i);
	int r;

	do
		r = ioctl(vcpu->fd, KVM_RUN, NULL);
	while (r == -1 && errno == EINTR);
	TEST_ASSERT(!r, "KVM_RUN on vCPU %d returned %d", i, r);
	errno = 0;
	return vcpu->run->exit_reason;
}

#define EXIT_NAME(r)	[KVM_EXIT_##r] = #r
static const char *const exit_names[] = {
	EXIT_NAME(UNKNOWN), EXIT_NAME(EXCEPTION), EXIT_NAME(IO),
	EXIT_NAME(HYPERCALL), EXIT_NAME(DEBUG), EXIT_NAME(HLT), EXIT_NAME(MMIO),
	EXIT_NAME(IRQ_WINDOW_OPEN), EXIT_NAME(SHUTDOWN), EXIT_NAME(FAIL_ENTRY),
	EXIT_NAME(INTR), EXIT_NAME(NMI), EXIT_NAME(INTERNAL_ERROR),
	EXIT_NAME(SYSTEM_EVENT),
};

const char *exit_reason_str(u32 exit_reason)
{
	if (exit_reason < ARRAY_SIZE(exit_names) && exit_names[exit_reason])
		return exit_names[exit_reason];
	return "?";
}

void vcpu_run_expect(struct vm *vm, int i, u32 want)
{
	u32 got = vcpu_run(vm, i);
	struct kvm_run *run = vm->vcpu[i].run;
	struct kvm_regs regs;

	if (got == want)
		return;
	vcpu_get_regs(vm, i, &regs);
	TEST_ASSERT(got == want,
		    "vCPU %d: expected exit %s (%u), got %s (%u) at rip 0x%llx; "
		    "io port 0x%x, entry failure 0x%llx, internal error %u",
		    i, exit_reason_str(want), want, exit_reason_str(got), got,
		    regs.rip, got == KVM_EXIT_IO ? run->io.port : 0,
		    got == KVM_EXIT_FAIL_ENTRY ?
			run->fail_entry.hardware_entry_failure_reason : 0,
		    got == KVM_EXIT_INTERNAL_ERROR ? run->internal.suberror : 0);
}

static u64 stats_read(int fd, const char *name)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d = NULL;
	size_t dsize, total;
	u64 val = 0;
	u8 *descs;
	u32 j;

	TEST_ASSERT(pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h),
		    "reading the KVM stats header failed");
	dsize = sizeof(*d) + h.name_size;
	total = dsize * h.num_desc;
	descs = malloc(total + 1);
	TEST_ASSERT(descs, "out of memory");
	TEST_ASSERT(pread(fd, descs, total, h.desc_offset) == (ssize_t)total,
		    "reading %u KVM stats descriptors failed", h.num_desc);
	for (j = 0; j < h.num_desc; j++) {
		d = (struct kvm_stats_desc *)(descs + j * dsize);
		if (strnlen(d->name, h.name_size) == strlen(name) &&
		    !strncmp(d->name, name, h.name_size))
			break;
	}
	TEST_ASSERT(j < h.num_desc, "expected a KVM statistic '%s', not among the %u present",
		    name, h.num_desc);
	TEST_ASSERT(pread(fd, &val, sizeof(val), h.data_offset + d->offset) ==
		    (ssize_t)sizeof(val), "reading KVM statistic '%s' failed", name);
	free(descs);
	return val;
}

static u64 stats_get(int owner_fd, const char *owner, const char *name)
{
	int fd = ioctl(owner_fd, KVM_GET_STATS_FD, NULL);
	u64 val;

	TEST_ASSERT(fd >= 0, "KVM_GET_STATS_FD on %s failed", owner);
	val = stats_read(fd, name);
	close(fd);
	return val;
}

u64 vm_vcpu_stat(struct vm *vm, int i, const char *name)
{
	return stats_get(vcpu_get(vm, i)->fd, "a vCPU", name);
}

u64 vm_stat(struct vm *vm, const char *name)
{
	return stats_get(vm->fd, "the VM", name);
}

static bool host_vendor_is(const char *vendor)
{
	unsigned int a, b, c, d;
	char v[13];

	__cpuid(0, a, b, c, d);
	memcpy(v, &b, 4);
	memcpy(v + 4, &d, 4);
	memcpy(v + 8, &c, 4);
	v[12] = 0;
	return !strcmp(v, vendor);
}

bool host_is_amd(void)
{
	return host_vendor_is("AuthenticAMD") || host_vendor_is("HygonGenuine");
}

bool host_is_intel(void)
{
	return host_vendor_is("GenuineIntel");
}

/* SVM EXITCODE or VMX basic exit reason of CPUID, as in kvm:kvm_exit. */
u32 cpuid_exit_reason(void)
{
	unsigned int a, b, c, d;

	if (host_is_amd()) {
		__cpuid(0x80000001, a, b, c, d);
		TEST_ASSERT(c & (1u << 2), "AMD host without SVM in CPUID 0x80000001");
		return 0x72;
	}
	TEST_ASSERT(host_is_intel(), "expected an AMD or Intel host");
	__cpuid(1, a, b, c, d);
	TEST_ASSERT(c & (1u << 5), "Intel host without VMX in CPUID 1");
	return 10;
}

static struct {
	char trigger[PATH_MAX];
	char keys[128];
	bool hex;
	bool active;
	bool atexit_set;
} hist;

static void tracefs_path(char *buf, size_t size, const char *event_dir,
			 const char *file)
{
	const char *root = "/sys/kernel/tracing";
	int n;

	if (access("/sys/kernel/tracing/events", F_OK))
		root = "/sys/kernel/debug/tracing";
	n = snprintf(buf, size, "%s/events/%s/%s", root, event_dir, file);
	TEST_ASSERT(n > 0 && (size_t)n < size, "tracefs path for %s too long", event_dir);
}

/* Trigger files must not be opened with O_TRUNC: it removes all triggers. */
static int hist_write(bool remove)
{
	char cmd[160];
	int fd, n, r;

	n = snprintf(cmd, sizeof(cmd), "%shist:keys=%s", remove ? "!" : "", hist.keys);
	fd = open(hist.trigger, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = write(fd, cmd, n) == n ? 0 : -1;
	close(fd);
	return r;
}

void hist_trigger_start(const char *event_dir, const char *keys)
{
	size_t n = strcspn(keys, ",");

	TEST_ASSERT(!hist.active, "expected no active hist trigger, found one in %s",
		    hist.trigger);
	TEST_ASSERT(strlen(keys) < sizeof(hist.keys), "hist keys '%s' too long", keys);
	tracefs_path(hist.trigger, sizeof(hist.trigger), event_dir, "trigger");
	strcpy(hist.keys, keys);
	hist.hex = n >= 4 && !strncmp(keys + n - 4, ".hex", 4);
	hist_write(true);	/* a stale trigger from an aborted run */
	errno = 0;
	TEST_ASSERT(!hist_write(false), "writing 'hist:keys=%s' to %s failed",
		    keys, hist.trigger);
	hist.active = true;
	if (!hist.atexit_set)
		hist.atexit_set = !atexit(hist_trigger_stop);
}

void hist_trigger_stop(void)
{
	if (!hist.active)
		return;
	hist.active = false;
	if (hist_write(true))
		ktap_diag("removing 'hist:keys=%s' from %s failed: %s",
			  hist.keys, hist.trigger, strerror(errno));
}

/*
 * Parse "{ key:        10 } hitcount:   1000"; the first key's value may also
 * read "NAME [N]" (symbolic) or be hex (".hex" key modifier, or "0x").
 */
static bool hist_parse_line(const char *line, u64 *key, u64 *hits)
{
	const char *colon, *brace, *field_end, *bracket, *start, *hc;
	char *end;

	if (strncmp(line, "{ ", 2))
		return false;
	colon = strchr(line, ':');
	brace = strchr(line, '}');
	if (!colon || !brace || colon > brace)
		return false;
	field_end = memchr(colon, ',', brace - colon);
	if (!field_end)
		field_end = brace;
	bracket = memchr(colon, '[', field_end - colon);
	start = bracket ? bracket + 1 : colon + 1;
	*key = strtoull(start, &end, bracket || !hist.hex ? 0 : 16);
	if (end == start || end > field_end)
		return false;
	hc = strstr(brace, "hitcount:");
	if (!hc)
		return false;
	*hits = strtoull(hc + strlen("hitcount:"), &end, 10);
	return end != hc + strlen("hitcount:");
}

static u64 hist_sum(const char *event_dir, bool all, u64 key_value)
{
	char path[PATH_MAX], line[1024];
	u64 key, hits, sum = 0;
	FILE *f;

	tracefs_path(path, sizeof(path), event_dir, "hist");
	f = fopen(path, "r");
	TEST_ASSERT(f, "opening %s failed", path);
	while (fgets(line, sizeof(line), f))
		if (hist_parse_line(line, &key, &hits) && (all || key == key_value))
			sum += hits;
	fclose(f);
	return sum;
}

u64 hist_count(const char *event_dir, u64 key_value)
{
	return hist_sum(event_dir, false, key_value);
}

u64 hist_total(const char *event_dir)
{
	return hist_sum(event_dir, true, 0);
}

void vcpu_prepare(struct vm *vm, int i, u32 edi, u32 ebp)
{
	struct kvm_regs regs;

	vcpu_setup_real_mode(vm, i, GUEST_CODE_GPA);
	vcpu_get_regs(vm, i, &regs);
	regs.rdi = edi;
	regs.rbp = ebp;
	vcpu_set_regs(vm, i, &regs);
}

struct vcpu_thread {
	pthread_t tid;
	struct vm *vm;
	int i;
	pthread_barrier_t *start;
};

static void *vcpu_thread(void *arg)
{
	struct vcpu_thread *t = arg;

	pthread_barrier_wait(t->start);
	vcpu_run_expect(t->vm, t->i, KVM_EXIT_HLT);
	return NULL;
}

void vcpus_run_parallel(struct vm *vm, int first, int n)
{
	struct vcpu_thread t[VM_MAX_VCPUS];
	pthread_barrier_t start;
	int i, r;

	pthread_barrier_init(&start, NULL, n);
	for (i = 0; i < n; i++) {
		t[i] = (struct vcpu_thread){ .vm = vm, .i = first + i, .start = &start };
		r = pthread_create(&t[i].tid, NULL, vcpu_thread, &t[i]);
		errno = r;
		TEST_ASSERT(!r, "creating the thread of vCPU %d failed", first + i);
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i].tid, NULL);
	pthread_barrier_destroy(&start);
}

GUEST_CODE(guest_cpuid_loop,
	GUEST_CPUID_LOOP
	"9:	hlt\n"
	"	jmp 9b\n");

void vm_load_cpuid_loop(struct vm *vm)
{
	vm_load_code(vm, GUEST_CODE_GPA, guest_cpuid_loop);
}

void vcpu_run_cpuids(struct vm *vm, int i, u32 k)
{
	struct kvm_regs regs;

	vcpu_prepare(vm, i, k, 0);
	vcpu_run_expect(vm, i, KVM_EXIT_HLT);
	vcpu_get_regs(vm, i, &regs);
	TEST_ASSERT((u32)regs.rdi == 0, "expected vCPU %d to run %u CPUIDs, %u were left",
		    i, k, (u32)regs.rdi);
}
