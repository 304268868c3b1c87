# In-lab test plan, run by the outer VM's /init (busybox sh, with
# lab/lib-guest.sh sourced). Every test prints a "LAB-TEST:" line that
# lab/check.sh collects; a non-zero exit marks the whole run failed.
#
# Knobs, for the sanitizer kernel's run (tests/lab/reliability-payload.sh
# sets them from /tests/reliability.env); make check's normal runs use the
# defaults, which run everything:
#   PAGING_MODES    nested paging settings to test, "1 0" (on, then off)
#   STOCK_TESTS     1: run the oracle tests against stock KVM too
#   SMALL_RELIABILITY 1: the small fuzz, stress and lifecycle runs (the
#                   sanitizer run skips them: it runs the same tests bigger)
#   KUNIT_TESTS     1: load kvm_kunit.ko (the lab's kernels have KUnit;
#                   Debian's do not, and its lane sets 0)
#   INSTALL_HOST_TEST 1: kernel/install-host.sh against the distribution's
#                   KVM in /lib/modules (Debian's kernels' lane)
# /tests/payload.env, when there is one, sets them (lab/check.sh -f dist).
[ ! -f /tests/payload.env ] || . /tests/payload.env
fail=0
P=$(paging_param)
# Sizes: Bochs (Intel) takes about a second of one host core per hundredth
# of a second of guest time, QEMU far less; the VM-lifecycle and migration
# runs are smaller there (VMs one after another, and with a reader; moves
# of the vCPU thread). The soak's reliability run makes them big.
if [ "$(vendor)" = intel ]; then life_vms=40 reader_vms=10 moves=500
else life_vms=50 reader_vms=30 moves=2000; fi
PAGING_MODES=${PAGING_MODES:-1 0}
STOCK_TESTS=${STOCK_TESTS:-1}
SMALL_RELIABILITY=${SMALL_RELIABILITY:-1}
KUNIT_TESTS=${KUNIT_TESTS:-1}
INSTALL_HOST_TEST=${INSTALL_HOST_TEST:-0}

for pg in $PAGING_MODES; do
	# Stock KVM: the oracles the patch is held against.
	kvm_load stock "" "$P=$pg" || exit 1
	if [ "$STOCK_TESTS" = 1 ]; then
		for t in test_halt test_exits_stat test_exit_trace test_smp; do
			run_ktap "stock/$t/$P=$pg" /tests/$t || fail=1
		done
	fi
	/tests/test_leaf_probe > /tmp/leaves.stock || fail=1
	kvm_unload || exit 1

	# The assignment's flow: stock modules out, patched modules in.
	kvm_load test "" "$P=$pg" || exit 1
	for t in test_halt test_exit_stats test_exit_stats_abi test_exit_stats_invariant test_exit_stats_oracles test_exit_stats_smp test_exit_stats_nested; do
		run_ktap "patched/$t/$P=$pg" /tests/$t || fail=1
	done
	kvm_unload || exit 1
done

# The reliability tests, small (lab/reliability.sh runs them big, on the
# sanitizer kernel): leaf fuzzing, stress with exact counts, VM lifecycle.
if [ "$SMALL_RELIABILITY" = 1 ]; then
	kvm_load test || exit 1
	run_ktap "patched/test_exit_stats_fuzz" /tests/test_exit_stats_fuzz -k 20000 || fail=1
	run_ktap "patched/test_exit_stats_stress" /tests/test_exit_stats_stress -k 500 || fail=1
	run_ktap "patched/test_exit_stats_lifecycle" /tests/test_exit_stats_lifecycle -k "$life_vms" || fail=1
	kvm_unload || exit 1
fi

# The cycle window while the vCPU thread is preempted and moved between
# CPUs (skips when the outer VM has one CPU).
kvm_load test || exit 1
run_ktap "patched/test_exit_stats_migrate" /tests/test_exit_stats_migrate -k "$moves" || fail=1
kvm_unload || exit 1

# Unload while a VM's exit_stats files are open, after its process has
# exited: refused until they close (the test unloads KVM itself).
kvm_load test || exit 1
run_ktap "patched/test_exit_stats_unload" /tests/test_exit_stats_unload || fail=1
kvm_unload || exit 1

# Exits KVM's fastpath may take: x2APIC IPIs and TSC deadlines, counted
# exactly; their cycles at least 1 per exit and at most the run's.
kvm_load test || exit 1
run_ktap "patched/test_exit_stats_fastpath" /tests/test_exit_stats_fastpath || fail=1
kvm_unload || exit 1

# An inner Linux VM under QEMU -accel kvm: exitstat --json in it agrees
# with Debian's cpuid for the same leaves and with the host-side view.
# Counts only grow, so each later reading must lie between the earlier and
# the later one: J1 <= cpuid <= J2 and J1 <= host view <= J2.
json_counts() { # JSON line: "reason exits" per reason, then "total exits"
	echo "$1" | tr '{' '\n' | sed -n 's/.*"reason": *\([0-9]*\).*"exits": *\([0-9]*\).*/\1 \2/p'
	echo "$1" | sed -n 's/.*"total_exits": *\([0-9]*\).*/total \1/p'
}
# exitstat --host on the running inner VM: the list names it (QEMU's -name),
# and -p PID --vcpus --csv gives a VM total and per-vCPU totals (vcpu<N>/
# exit_stats) that lie between two reads of the VM's own file around it.
host_tool_check() {
	vmf=$(ls /sys/kernel/debug/kvm/*/exit_stats | head -1)
	pid=${vmf#/sys/kernel/debug/kvm/}
	pid=${pid%%-*}
	/tests/exitstat --host > /tmp/host.list 2>&1
	sed 's/^/[exitstat --host] /' /tmp/host.list
	check "patched/exitstat --host lists the inner VM by its -name" grep -q "^ *$pid  *lab-inner " /tmp/host.list
	a=$(awk '/^total/ { print $2 }' "$vmf")
	/tests/exitstat --host -p "$pid" --vcpus --csv > /tmp/host.csv 2>&1
	b=$(awk '/^total/ { print $2 }' "$vmf")
	sed 's/^/[exitstat --host --vcpus] /' /tmp/host.csv
	check "patched/exitstat --host --vcpus: VM and per-vCPU totals between two reads of the VM file" \
		awk -F, -v a="$a" -v b="$b" '
			$3 == "total" && $11 == "" { vm = $4; nvm++ }
			$3 == "total" && $11 != "" { s += $4; nv++ }
			END {
				print "host: VM file " a " <= exitstat VM " vm ", vCPUs " s " (" nv " vCPUs) <= VM file " b
				exit !(nvm == 1 && nv == 1 && vm >= a && vm <= b && s >= a && s <= b)
			}' /tmp/host.csv
}
inner_check() {
	inner_vm_start 160 ""
	if ! inner_vm_wait_for INNER-MARK 600; then
		echo "inner: the inner VM never reached INNER-MARK"
		tail -20 /tmp/inner.log
		inner_vm_say go
		inner_vm_end
		return 1
	fi
	cat /sys/kernel/debug/kvm/*/exit_stats > /tmp/host.view 2>/dev/null
	host_tool_check
	inner_vm_say go
	inner_vm_end; rc=$?
	sed 's/^/[inner] /' /tmp/inner.txt | grep -v '^\[inner\] \[' | tail -12
	[ "$rc" = 0 ] || return 1
	json_counts "$(sed -n 's/^INNER-J1 //p' /tmp/inner.txt)" > /tmp/j1
	json_counts "$(sed -n 's/^INNER-J2 //p' /tmp/inner.txt)" > /tmp/j2
	# the host view: "reason exits cycles name" and "total exits cycles"
	awk '/^[0-9]/ { print $1, $2 } /^total/ { print "total", $2 }' /tmp/host.view > /tmp/h
	tot=$(sed -n 's/^INNER-CPUID-TOTAL .*eax=\(0x[0-9a-f]*\) ebx=\(0x[0-9a-f]*\).*/\2 \1/p' /tmp/inner.txt)
	rsn=$(sed -n 's/^INNER-CPUID-REASON .*eax=\(0x[0-9a-f]*\) ebx=\(0x[0-9a-f]*\).*/\2 \1/p' /tmp/inner.txt)
	r=$([ "$(vendor)" = amd ] && echo 114 || echo 10)
	echo "cpuid total $(( $(echo $tot | awk '{print $1}') * 4294967296 + $(echo $tot | awk '{print $2}') ))" > /tmp/c
	echo "cpuid $r $(( $(echo $rsn | awk '{print $1}') * 4294967296 + $(echo $rsn | awk '{print $2}') ))" >> /tmp/c
	echo "inner: exitstat J1 $(wc -l < /tmp/j1) lines, host view $(wc -l < /tmp/h) lines, J2 $(wc -l < /tmp/j2) lines"
	awk -v r=$r '
		FILENAME == "/tmp/j1" { a[$1] = $2; next }
		FILENAME == "/tmp/j2" { b[$1] = $2; next }
		FILENAME == "/tmp/h" { h[$1] = $2; n++; next }
		{ k = $2 == "total" ? "total" : $2; c[k] = $3 }
		END {
			bad = 0
			if (!("total" in a) || !("total" in b) || !(r in a) || n < 3) { print "inner: missing data"; exit 1 }
			for (k in h) if (h[k] < a[k] + 0 || h[k] > b[k] + 0) { print "inner: reason " k ": exitstat " a[k] " <= host " h[k] " <= exitstat " b[k] " fails"; bad++ }
			for (k in c) if (c[k] <= a[k] || c[k] > b[k]) { print "inner: " k ": exitstat " a[k] " < cpuid " c[k] " <= exitstat " b[k] " fails"; bad++ }
			print "inner: total exits: exitstat " a["total"] ", host view " h["total"] ", cpuid " c["total"] ", exitstat " b["total"]
			exit bad != 0
		}' /tmp/j1 /tmp/j2 /tmp/h /tmp/c
}
if [ -d /inner ]; then
	kvm_load test || exit 1
	if inner_check; then
		echo "LAB-TEST: patched/inner VM: exitstat --json agrees with cpuid and the host view passed=1 failed=0 rc=0"
	else
		echo "LAB-TEST: patched/inner VM: exitstat --json agrees with cpuid and the host view passed=0 failed=1 rc=1"
		fail=1
	fi
	kvm_unload || exit 1
fi

# Feature off: the leaves answer exactly as stock KVM's do.
kvm_load test "exit_stats=0" || exit 1
/tests/test_leaf_probe > /tmp/leaves.off || fail=1
check "patched/exit_stats=0 answers like stock" cmp /tmp/leaves.stock /tmp/leaves.off
check "patched/exit_stats=0 has no debugfs view" sh -c '/tests/test_leaf_probe -d | grep -q "no exit_stats file"'
kvm_unload || exit 1

# Who reads the leaves: each VM's exit_stats_leaves in debugfs, over the
# module's default (kvm.exit_stats_leaves). A VM that does not read them
# gets stock KVM's answers, and the host view still counts its exits
# (test_leaf_probe -w checks the count).
kvm_load test || exit 1
/tests/test_leaf_probe -w N > /tmp/leaves.hidden || fail=1
check "patched/a VM whose exit_stats_leaves is N answers like stock" cmp /tmp/leaves.stock /tmp/leaves.hidden
kvm_unload || exit 1
kvm_load test "exit_stats_leaves=0" || exit 1
/tests/test_leaf_probe > /tmp/leaves.nodefault || fail=1
check "patched/exit_stats_leaves=0 answers like stock" cmp /tmp/leaves.stock /tmp/leaves.nodefault
/tests/test_leaf_probe -w Y > /tmp/leaves.shown || fail=1
check "patched/exit_stats_leaves=0: a VM whose exit_stats_leaves is Y reads the leaves" \
	grep -q '^0x4ffffffb 0x00000000: [0-9a-f]* 454d564b 53746978 73746174$' /tmp/leaves.shown
kvm_unload || exit 1

# Counts only: exact counts, no TSC read, and guest and host are told.
kvm_load test "exit_stats=counts" || exit 1
run_ktap "patched/test_exit_stats_counts" /tests/test_exit_stats_counts || fail=1
run_ktap "patched/test_exit_stats_smp/counts" /tests/test_exit_stats_smp || fail=1
kvm_unload || exit 1

# The histogram mode: each exit in its bucket, against the guest's own
# timing of it.
kvm_load test "exit_stats=hist" || exit 1
run_ktap "patched/test_exit_stats_hist" /tests/test_exit_stats_hist || fail=1
kvm_unload || exit 1

# Global scope: every VM sees all VMs' exits, and destroyed VMs' exits stay.
kvm_load test "exit_stats_scope=global" || exit 1
check "patched/global scope logs a warning" sh -c 'dmesg | grep -q "exit_stats_scope=global"'
run_ktap "patched/test_exit_stats_smp/global" /tests/test_exit_stats_smp -g || fail=1
run_ktap "patched/test_exit_stats_lifecycle/reader/global" /tests/test_exit_stats_lifecycle -r -k "$reader_vms" || fail=1
kvm_unload || exit 1

# A bad scope is refused with a clear message.
check "patched/bad exit_stats_scope is refused" sh -c '! insmod /lab/modules/test/kvm.ko exit_stats_scope=bogus 2>/dev/null && dmesg | grep -q "exit_stats_scope must be"'

# KUnit: kvm.ko built with the series' KUnit tests runs them as it loads.
if [ "$KUNIT_TESTS" = 1 ]; then
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
fi

# The kernel log lines of the assignment, on request.
kvm_load test "exit_stats_log=1" || exit 1
/tests/test_leaf_probe > /dev/null || fail=1
check "patched/exit_stats_log=1 logs queries in dmesg" sh -c 'dmesg | grep -q "cpuid 0x4fffffff"'
dmesg | grep 'cpuid 0x4ffffff' | tail -3
kvm_unload || exit 1

# make install-host as on a real host: Debian's KVM is in /lib/modules and
# loaded with modprobe; the script refuses while a process holds /dev/kvm,
# then installs the modules under test in updates/, which modprobe prefers,
# and uninstall brings Debian's back.
if [ "$INSTALL_HOST_TEST" = 1 ]; then
	ih() { PATH=/usr/local/kmod:$PATH bash /tests/install-host.sh "$@" -m /lab/modules/test > /tmp/ih.out 2>&1; r=$?; sed 's/^/[install-host] /' /tmp/ih.out; return $r; }
	patched_loaded() { [ -e /sys/module/kvm/parameters/exit_stats ]; }
	PATH=/usr/local/kmod:$PATH depmod -a
	PATH=/usr/local/kmod:$PATH modprobe "$(vendor_mod | tr - _)"
	check "install-host/Debian's KVM loads with modprobe" sh -c '[ -c /dev/kvm ] && ! [ -e /sys/module/kvm/parameters/exit_stats ]'
	sh -c 'exec 3</dev/kvm; exec sleep 600' &
	holder=$!
	sleep 1
	ih install; r=$?
	check "install-host/refuses while a process holds /dev/kvm, and names it" \
		sh -c "[ $r = 1 ] && grep -q 'pid $holder sleep' /tmp/ih.out && ! [ -e /sys/module/kvm/parameters/exit_stats ] && ! [ -d /lib/modules/$(uname -r)/updates ]"
	kill $holder; wait $holder 2>/dev/null
	ih install; r=$?
	check "install-host/installs, and modprobe loads the patched KVM from updates/" \
		sh -c "[ $r = 0 ] && [ -e /sys/module/kvm/parameters/exit_stats ] && PATH=/usr/local/kmod:\$PATH modinfo -n kvm | grep -q /updates/kvm-exitstat/"
	patched_loaded && run_ktap "install-host/test_exit_stats" /tests/test_exit_stats || fail=1
	ih uninstall; r=$?
	check "install-host/uninstall brings Debian's KVM back" \
		sh -c "[ $r = 0 ] && [ -c /dev/kvm ] && ! [ -e /sys/module/kvm/parameters/exit_stats ] && ! [ -d /lib/modules/$(uname -r)/updates/kvm-exitstat ]"
	# Modules that refuse to load: an option that only the patched kvm.ko
	# checks (Debian's ignores it, as an unknown parameter). The install
	# rolls back, and KVM is as it was: Debian's loaded, or none.
	ours=/lib/modules/$(uname -r)/updates/kvm-exitstat
	mkdir -p /etc/modprobe.d
	echo "options kvm exit_stats_scope=bogus" > /etc/modprobe.d/kvm-exitstat-lab.conf
	ih install; r=$?
	check "install-host/rolls back modules that refuse to load; Debian's KVM is loaded again" \
		sh -c "[ $r = 1 ] && grep -q 'rolled back' /tmp/ih.out && [ -c /dev/kvm ] && [ -d /sys/module/$(vendor_mod | tr - _) ] && ! [ -e /sys/module/kvm/parameters/exit_stats ] && ! [ -d $ours ]"
	kvm_unload
	ih install; r=$?
	check "install-host/KVM not loaded: test-loads, rolls back modules that refuse to load" \
		sh -c "[ $r = 1 ] && grep -q 'refused the new modules' /tmp/ih.out && ! [ -d /sys/module/kvm ] && ! [ -d $ours ]"
	rm -f /etc/modprobe.d/kvm-exitstat-lab.conf
	ih install; r=$?
	check "install-host/KVM not loaded: test-loads the patched modules, and leaves KVM unloaded" \
		sh -c "[ $r = 0 ] && grep -q 'the patched KVM loads' /tmp/ih.out && ! [ -d /sys/module/kvm ] && [ -d $ours ]"
	ih uninstall
	kvm_unload
fi

exit $fail
