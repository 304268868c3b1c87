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

# lab_clock: the guest's uptime in seconds, to the hundredth. Under Bochs
# (clock: sync=none) the guest's clock follows the instructions emulated,
# so the differences say where a boot spends its emulator's CPU.
lab_clock() { awk '{ printf "%.2f", $1 }' /proc/uptime; }

# kvm_load SET [KVM_PARAMS] [VENDOR_PARAMS]: insmod irqbypass, ccp (where
# the set has it: Debian's kvm_amd depends on it), kvm, vendor
kvm_load() {
	set_=$1; kp=${2:-}; vp=${3:-}
	grep -q '^irqbypass ' /proc/modules || insmod /lab/modules/$set_/irqbypass.ko || return 1
	if [ "$(vendor)" = amd ] && [ -f /lab/modules/$set_/ccp.ko ] && ! grep -q '^ccp ' /proc/modules; then
		insmod /lab/modules/$set_/ccp.ko || return 1
	fi
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

# check NAME CONDITION-COMMAND...: a one-line test without KTAP; a failure
# sets the payload's fail=1.
check() {
	name=$1; shift
	if "$@"; then
		echo "lab: $name ends at uptime $(lab_clock) s"
		echo "LAB-TEST: $name passed=1 failed=0 rc=0"
	else
		echo "lab: $name ends at uptime $(lab_clock) s"
		echo "LAB-TEST: $name passed=0 failed=1 rc=1"
		fail=1
	fi
}

# run_ktap NAME CMD...: run a KTAP-speaking test (killed after
# LAB_TEST_TIMEOUT seconds), prefix its lines, and print one summary line
# the host-side runner collects: subtests passed, failed, skipped.
run_ktap() {
	name=$1; shift
	echo "lab: running $name"
	t0=$(lab_clock)
	{ timeout "${LAB_TEST_TIMEOUT:-600}" "$@" 2>&1; echo "$?" > /tmp/ktap.rc; } |
		tee /tmp/ktap.out | sed "s|^|[$name] |"
	rc=$(cat /tmp/ktap.rc)
	# a skipped subtest is "ok ... # SKIP": not counted as passed
	s=$(grep -c '^ok .* # SKIP' /tmp/ktap.out)
	p=$(($(grep -c '^ok ' /tmp/ktap.out) - s))
	f=$(grep -c '^not ok ' /tmp/ktap.out)
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	# killed by a signal (timeout's own status is 124): what the kernel
	# said of it, the registers at the fault included (lab/init sets
	# print-fatal-signals)
	if [ "$rc" -gt 128 ]; then
		dmesg | tail -n 40 | sed "s|^|[$name: dmesg] |"
	fi
	t1=$(lab_clock)
	echo "lab: $name took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s, ends at uptime $t1 s"
	echo "LAB-TEST: $name passed=$p failed=$f rc=$rc skipped=$s"
	return $rc
}

# An inner VM, started by QEMU -accel kvm inside the outer VM from the files
# lab/mkinitramfs.sh -q put in /inner. Its console output goes to
# /tmp/inner.log; inner_vm_say sends a line to its console (the inner payload
# waits for one with `read`), so the outer VM can read the host-side view at
# a point the inner VM chose. An inner VM that has not ended after
# INNER_TIMEOUT seconds (default 900) is killed, and counts as failed.
inner_vm_start() { # inner_vm_start MIB EXTRA-KERNEL-ARGS
	rm -f /tmp/inner.in
	mkfifo /tmp/inner.in
	timeout "${INNER_TIMEOUT:-900}" qemu-system-x86_64 -name lab-inner -accel kvm -cpu host -m "$1" -smp 1 -nodefaults -no-reboot \
		-display none -serial stdio -L /inner/share -kernel /inner/bzImage \
		-initrd /inner/initrd.gz -append "console=ttyS0 panic=-1 loglevel=3 $2" \
		< /tmp/inner.in > /tmp/inner.log 2>&1 &
	inner_pid=$!
	exec 7> /tmp/inner.in
}

inner_vm_wait_for() { # inner_vm_wait_for PATTERN [SECONDS]: 0 once it is in the log
	n=0
	while [ $n -lt "${2:-3000}" ]; do
		grep -q "$1" /tmp/inner.log && return 0
		kill -0 "$inner_pid" 2>/dev/null || return 1
		sleep 1
		n=$((n + 1))
	done
	return 1
}

inner_vm_say() { echo "$1" >&7; }

inner_vm_end() { # wait for the inner VM to end; 0 if it passed
	exec 7>&-
	wait "$inner_pid"
	tr -d '\r' < /tmp/inner.log > /tmp/inner.txt
	grep -q '^INNER-RESULT: PASS' /tmp/inner.txt
}
