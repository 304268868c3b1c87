# In-lab test plan, run by the outer VM's /init (busybox sh, with
# lab/lib-guest.sh sourced). Every test prints a "LAB-TEST:" line that
# lab/check.sh collects; a non-zero exit marks the whole run failed.
fail=0
P=$(paging_param)
cpuid_reason=$([ "$(vendor)" = amd ] && echo 114 || echo 10)

# check NAME CONDITION-COMMAND...: a one-line test without KTAP
check() {
	name=$1; shift
	if "$@"; then
		echo "LAB-TEST: $name passed=1 failed=0 rc=0"
	else
		echo "LAB-TEST: $name passed=0 failed=1 rc=1"
		fail=1
	fi
}

for pg in 1 0; do
	# Stock KVM: the oracles the patch is held against.
	kvm_load stock "" "$P=$pg" || exit 1
	for t in test_halt test_exits_stat test_exit_trace test_smp; do
		run_ktap "stock/$t/$P=$pg" /tests/$t || fail=1
	done
	/tests/test_leaf_probe > /tmp/leaves.stock || fail=1
	kvm_unload || exit 1

	# The assignment's flow: stock modules out, patched modules in.
	kvm_load test "" "$P=$pg" || exit 1
	for t in test_halt test_exit_stats test_exit_stats_abi test_exit_stats_oracles test_exit_stats_smp; do
		run_ktap "patched/$t/$P=$pg" /tests/$t || fail=1
	done
	kvm_unload || exit 1
done

# Feature off: the leaves answer exactly as stock KVM's do.
kvm_load test "exit_stats=0" || exit 1
/tests/test_leaf_probe > /tmp/leaves.off || fail=1
check "patched/exit_stats=0 answers like stock" cmp /tmp/leaves.stock /tmp/leaves.off
check "patched/exit_stats=0 has no debugfs view" sh -c '/tests/test_leaf_probe -d | grep -q "no exit_stats file"'
kvm_unload || exit 1

# Global scope: every VM sees all VMs' exits, and destroyed VMs' exits stay.
kvm_load test "exit_stats_scope=global" || exit 1
check "patched/global scope logs a warning" sh -c 'dmesg | grep -q "exit_stats_scope=global"'
run_ktap "patched/test_exit_stats_smp/global" /tests/test_exit_stats_smp -g || fail=1
kvm_unload || exit 1

# A bad scope is refused with a clear message.
check "patched/bad exit_stats_scope is refused" sh -c '! insmod /lab/modules/test/kvm.ko exit_stats_scope=bogus 2>/dev/null && dmesg | grep -q "exit_stats_scope must be"'

# KUnit: kvm.ko built with the series' KUnit tests runs them as it loads.
grep -q '^irqbypass ' /proc/modules || insmod /lab/modules/test/irqbypass.ko
say insmod test/kvm_kunit.ko
if insmod /lab/modules/test/kvm_kunit.ko; then
	dmesg | sed -n '/# Subtest: kvm-exit-stats/,/ok [0-9]* kvm-exit-stats/p' |
		sed 's/^\[[ 0-9.]*\] *//' > /tmp/kunit.out
	sed 's/^/[kunit] /' /tmp/kunit.out
	p=$(grep -c '^ok [0-9]* exit_stats_test_' /tmp/kunit.out)
	f=$(grep -c '^not ok ' /tmp/kunit.out)
	grep -q '^ok [0-9]* kvm-exit-stats' /tmp/kunit.out && [ "$p" -gt 0 ] && rc=0 || rc=1
	[ "$rc" = 0 ] || fail=1
	echo "LAB-TEST: patched/kunit kvm-exit-stats passed=$p failed=$f rc=$rc"
	rmmod kvm
else
	echo "LAB-TEST: patched/kunit kvm-exit-stats passed=0 failed=1 rc=1"
	fail=1
fi

# The kernel log lines of the assignment, on request.
kvm_load test "exit_stats_log=1" || exit 1
/tests/test_leaf_probe > /dev/null || fail=1
check "patched/exit_stats_log=1 logs queries in dmesg" sh -c 'dmesg | grep -q "cpuid 0x4fffffff"'
dmesg | grep 'cpuid 0x4ffffff' | tail -3
kvm_unload || exit 1

exit $fail
