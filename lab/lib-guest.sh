# Helpers for payload scripts, run inside the outer VM (busybox sh).
# Modules: /lab/modules/stock (the distribution's build) and
# /lab/modules/test (the build under test, e.g. patched).

vendor() {
	if grep -q '^flags.* svm' /proc/cpuinfo; then echo amd
	elif grep -q '^flags.* vmx' /proc/cpuinfo; then echo intel
	else echo none; fi
}

# vendor_mod: kvm-amd or kvm-intel (file name); vendor_param: npt or ept
vendor_mod() { [ "$(vendor)" = amd ] && echo kvm-amd || echo kvm-intel; }
paging_param() { [ "$(vendor)" = amd ] && echo npt || echo ept; }

say() { echo "lab\$ $*"; }

# kvm_load SET [KVM_PARAMS] [VENDOR_PARAMS]: insmod irqbypass, kvm, vendor
kvm_load() {
	set_=$1; kp=${2:-}; vp=${3:-}
	grep -q '^irqbypass ' /proc/modules || insmod /lab/modules/$set_/irqbypass.ko || return 1
	say insmod $set_/kvm.ko $kp
	insmod /lab/modules/$set_/kvm.ko $kp || return 1
	say insmod $set_/$(vendor_mod).ko $vp
	insmod /lab/modules/$set_/$(vendor_mod).ko $vp || return 1
	[ -c /dev/kvm ] || { echo "lab: /dev/kvm missing after loading KVM"; return 1; }
}

kvm_unload() {
	m=$(vendor_mod | tr - _)
	if grep -q "^$m " /proc/modules; then say rmmod $m; rmmod $m || return 1; fi
	if grep -q '^kvm ' /proc/modules; then say rmmod kvm; rmmod kvm || return 1; fi
	return 0
}

# run_ktap NAME CMD...: run a KTAP-speaking test (killed after
# LAB_TEST_TIMEOUT seconds), prefix its lines, and print one summary line
# the host-side runner collects.
run_ktap() {
	name=$1; shift
	echo "lab: running $name"
	{ timeout "${LAB_TEST_TIMEOUT:-600}" "$@" 2>&1; echo "$?" > /tmp/ktap.rc; } |
		tee /tmp/ktap.out | sed "s|^|[$name] |"
	rc=$(cat /tmp/ktap.rc)
	p=$(grep -c '^ok ' /tmp/ktap.out)
	f=$(grep -c '^not ok ' /tmp/ktap.out)
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	echo "LAB-TEST: $name passed=$p failed=$f rc=$rc"
	return $rc
}
