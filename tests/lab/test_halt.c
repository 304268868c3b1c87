// SPDX-License-Identifier: GPL-2.0-only
/*
 * Without an in-kernel irqchip, HLT and port I/O exit to userspace:
 * KVM_RUN returns KVM_EXIT_HLT and KVM_EXIT_IO with the access's details.
 */
#include "kvm_util.h"

#define DEBUG_PORT	0xe9
#define OUT_VALUE	0x5a

GUEST_CODE(guest_hlt,
	"	hlt\n");

GUEST_CODE(guest_out,
	"	mov $" __stringify(OUT_VALUE) ", %al\n"
	"	out %al, $" __stringify(DEBUG_PORT) "\n"
	"	hlt\n");

static struct vm *vm_create_with(const u8 *code, size_t len)
{
	struct vm *vm = vm_create(1);

	vm_load(vm, GUEST_CODE_GPA, code, len);
	vcpu_setup_real_mode(vm, 0, GUEST_CODE_GPA);
	return vm;
}

static bool check_hlt(struct vm *vm, u64 want_rip)
{
	u32 reason = vcpu_run(vm, 0);
	struct kvm_regs regs;

	vcpu_get_regs(vm, 0, &regs);
	if (reason == KVM_EXIT_HLT && regs.rip == want_rip)
		return true;
	ktap_diag("expected KVM_EXIT_HLT with rip 0x%llx, got %s (%u) with rip 0x%llx",
		  want_rip, exit_reason_str(reason), reason, regs.rip);
	return false;
}

static void test_hlt(void)
{
	struct vm *vm = vm_create_with(guest_hlt_start, GUEST_CODE_SIZE(guest_hlt));

	ktap_result(check_hlt(vm, GUEST_CODE_GPA + GUEST_CODE_SIZE(guest_hlt)),
		    "hlt_exits_to_userspace");
	vm_free(vm);
}

static bool check_out(struct vm *vm)
{
	u32 reason = vcpu_run(vm, 0);
	struct kvm_run *run = vm->vcpu[0].run;
	u8 data;

	if (reason != KVM_EXIT_IO) {
		ktap_diag("expected KVM_EXIT_IO, got %s (%u)",
			  exit_reason_str(reason), reason);
		return false;
	}
	data = *((u8 *)run + run->io.data_offset);
	if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == DEBUG_PORT &&
	    run->io.size == 1 && run->io.count == 1 && data == OUT_VALUE)
		return true;
	ktap_diag("expected out port 0x%x size 1 count 1 data 0x%x, "
		  "got %s port 0x%x size %u count %u data 0x%x",
		  DEBUG_PORT, OUT_VALUE,
		  run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
		  run->io.port, run->io.size, run->io.count, data);
	return false;
}

static void test_out(void)
{
	struct vm *vm = vm_create_with(guest_out_start, GUEST_CODE_SIZE(guest_out));

	ktap_result(check_out(vm) &&
		    check_hlt(vm, GUEST_CODE_GPA + GUEST_CODE_SIZE(guest_out)),
		    "out_0x%x_exits_to_userspace", DEBUG_PORT);
	vm_free(vm);
}

int main(int argc, char **argv)
{
	u32 k = 0;

	test_init(argc, argv, &k);
	ktap_plan(2);
	test_hlt();
	test_out();
	return ktap_finish();
}
