# Each prefix of the series (lab/bisect.sh): its kvm.ko and vendor module
# load into the stock kernel, and a VM's 1,000 CPUIDs run, its exits agreeing
# exactly with KVM's own statistic and the kvm_exit tracepoint, without an
# oops. The prefixes' modules are /tests/pN.kvm.ko and /tests/pN.VENDOR.ko.
fail=0
vmod=$(vendor_mod)
grep -q '^irqbypass ' /proc/modules || insmod /lab/modules/stock/irqbypass.ko || exit 1
for kvm in /tests/p*.kvm.ko; do
	p=${kvm#/tests/}
	p=${p%.kvm.ko}
	say "insmod $p.kvm.ko $p.$vmod.ko"
	if insmod "$kvm" && insmod "/tests/$p.$vmod.ko"; then
		run_ktap "bisect/$p/test_exits_stat" /tests/test_exits_stat -k 1000 || fail=1
	else
		echo "LAB-TEST: bisect/$p/test_exits_stat passed=0 failed=1 rc=1"
		fail=1
	fi
	kvm_unload || exit 1
done
exit $fail
