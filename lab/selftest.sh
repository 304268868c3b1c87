#!/usr/bin/env bash
# The lab's own tests: a run that fails, a kernel panic, a sanitizer report
# and a hang must each be reported as such by lab/run.sh (exit 1, 1, 1 and 2),
# and a passing payload (or one with only a known report from outside KVM,
# lab/known-reports) as a pass; otherwise a broken guest could look green.
# The lanes of make check and the soak's report generator come first: they
# need no VM.
#
#   lab/selftest.sh [KERNEL]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"
need_pkgs python3 # the soak report's cases (lab/reliability-report.py)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

# The soak's report must say what the logs say, and name what they lack:
# a real soak's log (tests/report/soak-amd.log) as is, with one count off,
# and with a test's result missing.
# The Intel log, where there is one, is the same log under Intel's name.
report() { # report NAME SED-SCRIPT WANTED UNWANTED [VENDORS]
	local d=$work/report out v
	rm -rf "$d" && mkdir -p "$d"
	touch -d @1000 "$d/reliability.env"
	for v in ${5:-amd intel}; do
		sed -e "$2" "$top/tests/report/soak-amd.log" > "$d/lab-6.1-san-$v.log"
		touch -d @1095 "$d/lab-6.1-san-$v.log"
	done
	echo "65 passed, 0 failed" > "$d/summary.txt"
	echo "Done 1234 runs in 60 second(s)" > "$d/fuzz.txt"
	out=$(python3 "$here/reliability-report.py" --kernel 6.1 --seconds 95 --commit test \
		--summary "$d/summary.txt" --fuzz-log "$d/fuzz.txt" "$d"/lab-6.1-san-*.log)
	if grep -qF -- "$3" <<<"$out" && ! grep -qF -- "$4" <<<"$out"; then
		passed=$((passed + 1)); echo "PASS  lab self-test: report: $1"
	else
		failed=$((failed + 1)); echo "FAIL  lab self-test: report: $1: wanted '$3', not '$4'"
		echo "$out" | sed -n '/^## Goals/,$p'
	fi
}
report "a clean soak meets every goal" '' "All met" "Not met"
report "it shows the logged figures" '' "| 0 per-reason counts off" "missing"
report "it gives the host time" '' "AMD SVM (QEMU TCG) 1 min 35 s" "missing"
report "it gives each test's time in the guest" '' \
	"fuzz 1000000 CPUIDs 163 s, stress 2 VMs x 4 vCPUs x 32000 iterations 292 s, lifecycle 1000 VMs 195 s" "missing"
report "a count off is named" '0,/HLT 16000 (expected 16000/s//HLT 15999 (expected 16000/' \
	"amd: stress_mismatch = 1" "All met"
report "a missing result is named" '/kmemleak: [0-9]* suspected/d' \
	"amd: leaks missing from lab-6.1-san-amd.log" "All met"
report "a vendor that did not run is named, not counted as wrong" '' \
	"Nothing lost or wrong, on AMD SVM (QEMU TCG): " "wrong or missing" amd
report "... in the list of what is not measured" '' \
	"- intel: not run in this soak (Intel VMX (Bochs)" "All met" amd

# make check's lanes (tests/lanes.sh) must count a suite that exits non-zero
# after "N passed, 0 failed", or that prints no result line, as failed, and
# name every failure again at the end.
# lanes_case NAME WANTED-STATUS WANTED-LINE-ERE BODY: BODY (shell) runs with
# tests/lanes.sh's functions on a fresh record, then the summary (7 s).
lanes_case() {
	local out rc=0
	out=$(
		. "$top/tests/lanes.sh"
		lanes_init "$work/lanes"
		eval "$4"
		lanes_summary 7
		exit "$lanes_status"
	) || rc=$?
	if [ "$rc" = "$2" ] && grep -qxE -- "$3" <<<"$out"; then
		passed=$((passed + 1)); echo "PASS  lab self-test: lanes: $1"
	else
		failed=$((failed + 1)); echo "FAIL  lab self-test: lanes: $1: status $rc (wanted $2), no line '$3'"
		echo "$out"
	fi
}
# lanes NAME WANTED-STATUS WANTED-LINE-ERE SUITE-SCRIPT: a passing suite,
# then the one under test.
lanes() {
	script=$4 lanes_case "$1" "$2" "$3" '
		suite one "a passing suite" sh -c '"'"'echo "PASS  x"; echo "2 passed, 0 failed"'"'"' > /dev/null
		suite two "the suite under test" sh -c "$script" > /dev/null'
}
lanes "passing suites pass" 0 "5 passed, 0 failed" 'echo "3 passed, 0 failed"'
lanes "a failure is named again at the end" 1 "failed: FAIL  6.1/intel patched/x" \
	'echo "FAIL  6.1/intel patched/x"; echo "3 passed, 1 failed"; exit 1'
lanes "a failure is named again under the table, for a log cut to its tail" 1 \
	"  two: the suite under test: 1 failed \\(no result line, exit status 0; its last line: PASS  y\\)" 'echo "PASS  y"'
lanes "a non-zero exit after 0 failed fails" 1 "5 passed, 1 failed" 'echo "3 passed, 0 failed"; exit 2'
lanes "a suite with no result line fails" 1 "broken: two: the suite under test \\(no result line, exit status 0; its last line: PASS  y\\)" 'echo "PASS  y"'
lanes "the table closes with the wall clock and the sums" 0 "  all +wall clock +7 s +5 passed +0 failed +0 s CPU" 'echo "3 passed, 0 failed"'
# about 3 s of CPU here: at least 1 s on a machine 3 times as fast
lanes "a suite's CPU seconds, its children's included, are in the table" 0 \
	"  two +the suite under test +[0-9]+ s +3 passed +0 failed +([1-9]|[1-9][0-9]+) s CPU" \
	'awk "BEGIN { for (i = 0; i < 2e8; i++) s += i }"; echo "3 passed, 0 failed"'
lanes "the summary lists the skips" 0 "skipped: SKIP  6.1/amd patched/m \\(all 3 subtests skipped\\)" \
	'echo "SKIP  6.1/amd patched/m (all 3 subtests skipped)"; echo "3 passed, 0 failed"'

# A lane (lane_start) that stops before its end, or with a non-zero
# status, fails; so does a run where no suite reported anything.
lane_case() { # lane_case NAME WANTED-STATUS WANTED-LINE-ERE LANE-BODY
	lanes_case "$1" "$2" "$3" "lane_a() { $4; }; lane_start a lane_a; lanes_wait"
}
lane_case "a lane that ends normally passes" 0 "2 passed, 0 failed" \
	'suite a one sh -c "echo \"2 passed, 0 failed\"" > /dev/null'
lane_case "a lane that exits early fails" 1 "broken: a: lane a \\(the lane stopped early, exit status 3\\)" \
	'suite a one sh -c "echo \"2 passed, 0 failed\"" > /dev/null; exit 3; suite a two true'
lane_case "no result at all fails" 1 "broken: no suite reported any result" 'true'

# What a boot reported, against tests/lab/manifest (lab/results.sh): every
# test it names, nothing else, and a test whose subtests all skipped is a
# SKIP only where it allows one.
. "$here/results.sh"
printf '%s\n' "a b | t/one/{P}=1" "a | t/two" "a | t/maybe | c" "!a | t/never" > "$work/manifest"
results() { # results NAME FACTS WANTED-LINE LOG-LINES...
	local name=$1 facts=$2 want=$3 out
	shift 3
	printf '%s\n' "$@" > "$work/boot.log"
	out=$(boot_results "$work/boot.log" 6.1/amd "$facts" "$work/manifest")
	if grep -qxF -- "$want" <<<"$out"; then
		passed=$((passed + 1)); echo "PASS  lab self-test: manifest: $name"
	else
		failed=$((failed + 1)); echo "FAIL  lab self-test: manifest: $name: no line '$want' in:"
		echo "$out"
	fi
}
ok="LAB-TEST: t/one/npt=1 passed=2 failed=0 rc=0"
two="LAB-TEST: t/two passed=1 failed=0 rc=0 skipped=1"
results "a listed test passes" "vendor:amd a b" "PASS	6.1/amd t/one/npt=1	2 subtests" "$ok" "$two" \
	"LAB-TEST: t/maybe passed=1 failed=0 rc=0"
results "a listed test that is not reported fails" "vendor:amd a b" \
	"FAIL	6.1/amd t/one/npt=1	not reported (the manifest says this boot runs it)" "$two"
results "a test not in the manifest fails" "vendor:amd a" \
	"FAIL	6.1/amd t/one/npt=1	reported, but not in the manifest for this boot (vendor:amd a)" "$ok" "$two"
results "all subtests skipped is a SKIP where the manifest allows it" "vendor:amd a c" \
	"SKIP	6.1/amd t/maybe	all 3 subtests skipped, as the manifest allows here" \
	"LAB-TEST: t/maybe passed=0 failed=0 rc=0 skipped=3"
results "all subtests skipped fails where it does not" "vendor:amd a" \
	"FAIL	6.1/amd t/maybe	all 3 subtests skipped, which the manifest does not allow here" \
	"LAB-TEST: t/maybe passed=0 failed=0 rc=0 skipped=3"
results "some subtests skipped still passes" "vendor:amd a" "PASS	6.1/amd t/two	1 subtests, 1 skipped" "$two"
results "a failed subtest fails" "vendor:amd a" "FAIL	6.1/amd t/two	1 of 3 subtests failed (exit status 1)" \
	"LAB-TEST: t/two passed=1 failed=1 rc=1 skipped=1"
results "a test with no subtest fails" "vendor:amd a" "FAIL	6.1/amd t/two	no subtest ran" \
	"LAB-TEST: t/two passed=0 failed=0 rc=0"
results "a negated condition" "vendor:amd" "PASS	6.1/amd t/never	1 subtests" \
	"LAB-TEST: t/never passed=1 failed=0 rc=0"

# An emulator the vendor cannot have is refused, in one line, before any boot.
rc=0
err=$("$here/run.sh" -q -v intel -e qemu -k /dev/null -i /dev/null -l "$work/log" 2>&1) || rc=$?
if [ "$rc" != 0 ] && grep -q "no emulator 'qemu' for intel (amd: qemu or bochs; intel: bochs)" <<<"$err"; then
	passed=$((passed + 1)); echo "PASS  lab self-test: run.sh refuses an emulator the vendor has not (exit status $rc)"
else
	failed=$((failed + 1)); echo "FAIL  lab self-test: run.sh -v intel -e qemu: exit status $rc, said: $err"
fi

rc=0
touch "$work/bzImage" "$work/initrd"
err=$(LAB_QEMU=9 "$here/run.sh" -q -v amd -k "$work/bzImage" -i "$work/initrd" -l "$work/log" 2>&1) || rc=$?
if [ "$rc" != 0 ] && grep -q "LAB_QEMU=9: want 12 (the system's QEMU) or 13 (Debian 13's)" <<<"$err"; then
	passed=$((passed + 1)); echo "PASS  lab self-test: run.sh refuses a QEMU it does not know (exit status $rc)"
else
	failed=$((failed + 1)); echo "FAIL  lab self-test: LAB_QEMU=9 run.sh: exit status $rc, said: $err"
fi

# dist.sh: a kernel series a Debian release has no kernels of, and an
# unknown release, are refused in one line before anything is fetched.
dist_refuses() { # dist_refuses NAME WANTED-TEXT ARGS...
	local name=$1 want=$2 rc=0 err
	shift 2
	err=$("$here/dist.sh" "$@" 2>&1) || rc=$?
	if [ "$rc" != 0 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -qF "$want" <<<"$err"; then
		passed=$((passed + 1)); echo "PASS  lab self-test: dist.sh refuses $name (exit status $rc)"
	else
		failed=$((failed + 1)); echo "FAIL  lab self-test: dist.sh $*: exit status $rc, said: $err"
	fi
}
dist_refuses "Debian 13's 6.1" "Debian 13 has no kernel series '6.1' in the lab (Debian 12: 6.1, 6.12; Debian 13: 6.12, 7.3)" -d 13 release 6.1
dist_refuses "Debian 12's 7.3" "Debian 12 has no kernel series '7.3' in the lab" -d 12 kernel 7.3
dist_refuses "Debian 11" "unknown Debian release '11' (want 12 or 13)" -d 11 release 6.1

stock=$("$top/kernel/build.sh" "${1:-6.1}" stock | tail -1)

expect() { # expect NAME STATUS PAYLOAD-TEXT [TIMEOUT [INIT-TEXT]]
	local rc=0 ok try
	printf '%s\n' "$3" > "$work/payload"
	"$here/mkinitramfs.sh" -o "$work/initrd.gz" -p "$work/payload" -s "$stock/modules" -t "$stock/modules"
	if [ -n "${5:-}" ]; then # a second archive whose /init replaces the lab's
		mkdir -p "$work/over"
		printf '%s\n' "$5" > "$work/over/init"
		chmod +x "$work/over/init"
		(cd "$work/over" && echo init | cpio -o -H newc --quiet) | gzip >> "$work/initrd.gz"
	fi
	# A boot whose timer check failed on a busy host (lab/run.sh, status
	# 3) runs once more, as lab/check.sh does.
	for try in 1 2; do
		rc=0
		"$here/run.sh" -q -v amd -k "$stock/bzImage" -i "$work/initrd.gz" -l "$work/log" -t "${4:-120}" \
			-S "$(dirname "$stock")/src/System.map" 2>"$work/err" || rc=$?
		[ "$rc" = 3 ] && [ "$try" = 1 ] && grep -qs "timer check failed" "$work/log.stall" || break
		echo "RETRY lab self-test: $1: the kernel's timer check failed on a busy host; booting once more"
	done
	# shellcheck disable=SC2254 # STATUS may be a pattern
	case $rc in $2) ok=1 ;; *) ok=0 ;; esac
	if [ "$ok" = 1 ] && { [ -z "${WANT_ERR:-}" ] || grep -qE -- "$WANT_ERR" "$work/err"; }; then
		passed=$((passed + 1)); echo "PASS  lab self-test: $1 (exit status $rc)"
	else
		failed=$((failed + 1)); echo "FAIL  lab self-test: $1: exit status $rc, expected $2${WANT_ERR:+, and '$WANT_ERR' on stderr}"
		tail -n 20 "$work/log" "$work/err" 2>&1 || true
	fi
}

expect "a passing payload passes" 0 'kvm_load stock && kvm_unload'
expect "a failing payload fails" 1 'echo "this payload fails"; exit 3'
expect "a kernel panic fails" 1 '' 60 '#!/bin/busybox sh
echo "init exits: the kernel panics"; exit 1'
expect "a sanitizer report in the kernel log fails" 1 'echo "<3>BUG: KASAN: slab-out-of-bounds in lab_selftest+0x0/0x0" > /dev/kmsg'
expect "a known report from outside KVM does not" 0 'echo "<3>UBSAN: shift-out-of-bounds in arch/x86/kernel/apic/apic_flat_64.c:101:25" > /dev/kmsg'
expect "a VM that dies without a result fails" 2 'reboot -f'
expect "a hang is caught by the timeout" 2 'sleep 100000' 20
# The kernel's timer check failing on a busy host is the host's fault:
# status 3 (expect boots it once more, and here the text comes back).
expect "a failed timer check is the host's fault" 3 \
	'echo "Kernel panic - not syncing: IO-APIC + timer doesn'"'"'t work!"; sleep 100' 60
# An idle, silent guest is a stall: caught long before the timeout, with
# the vCPUs' state and the RIP symbolized, naming the test that ran. Its
# status is 2, or 3 if QEMU's fault (below) struck this idle guest too.
WANT_ERR='RIP [0-9a-f]{16}: [a-z_]+.*\+0x' LAB_STALL=30 \
	expect "a stalled guest is caught early, with its RIP symbolized" '[23]' 'echo "lab: running t/stall"; sleep 100000' 300
grep -q "the test that was running: t/stall" "$work/log.stall" &&
	{ passed=$((passed + 1)); echo "PASS  lab self-test: a stall names the test that was running"; } ||
	{ failed=$((failed + 1)); echo "FAIL  lab self-test: a stall names the test that was running"; cat "$work/log.stall" 2>&1 || true; }
# A busy guest that hangs (CPUs going round with interrupts off) keeps its
# emulator busy: its heartbeat, stopped here, and its silent console tell.
WANT_ERR="the guest's heartbeat and serial log silent for 30 s" LAB_HEARTBEAT=30 \
	expect "a busy guest whose heartbeat stops is caught early" 2 \
	'sleep 12; echo "lab: running t/busy"; kill -STOP "$(cat /tmp/lab-heartbeat.pid)"; while :; do :; done' 300
grep -q "the test that was running: t/busy" "$work/log.stall" &&
	{ passed=$((passed + 1)); echo "PASS  lab self-test: a busy stall names the test that was running"; } ||
	{ failed=$((failed + 1)); echo "FAIL  lab self-test: a busy stall names the test that was running"; cat "$work/log.stall" 2>&1 || true; }
# A guest that only prints its heartbeat is alive: a test may be silent on
# the console for longer than the limit (the soak's stress test under
# Bochs prints nothing for 40 minutes) as long as the beats come, one
# every second of the guest's time.
# (Under QEMU a stall's report waits 20 s after an NMI, and a guest that
# then ends passes: hence the second check, that nothing was reported.)
LAB_HEARTBEAT=6 expect "a guest silent on its console, its heartbeat beating, passes" 0 \
	'echo "lab: running t/quiet"; sleep 20' 120
! grep -q "STALL" "$work/err" &&
	{ passed=$((passed + 1)); echo "PASS  lab self-test: a guest silent on its console, its heartbeat beating, is not a stall"; } ||
	{ failed=$((failed + 1)); echo "FAIL  lab self-test: a guest silent on its console, its heartbeat beating, is not a stall"; head -3 "$work/err" 2>&1 || true; }
# The emulator's fault (lab/run.sh status 3, which lab/check.sh boots once
# more): every CPU halted with IF set and a deliverable vector in the IRR,
# as in the dump of a Debian 6.1 boot on AMD; any other state is a stall.
emu_case() { # emu_case NAME WANT(0 fault, 1 not) SED-EXPRESSION
	sed "$3" > "$work/dump" <<-'DUMP'
	(qemu) info registers -a
	CPU#0
	RIP=ffffffff81a592eb RFL=00000206 [-----P-] CPL=0 II=0 A20=1 SMM=0 HLT=1
	(qemu) info lapic
	IRR	 236
	ISR	 (none)
	APR 0x00 TPR 0x10 DFR 0x0f LDR 0x01 PPR 0x10
	(qemu) info pic
	  IRR      (none)
	DUMP
	local rc=0
	undelivered_irq "$work/dump" > /dev/null || rc=$?
	if [ "$rc" = "$2" ]; then
		passed=$((passed + 1)); echo "PASS  lab self-test: $1"
	else
		failed=$((failed + 1)); echo "FAIL  lab self-test: $1 (undelivered_irq said $rc)"
	fi
}
emu_case "a halted CPU with IF set and vector 236 above PPR 0x10 is the emulator's fault" 0 ''
emu_case "with IF clear it is not" 1 's/RFL=00000206/RFL=00000006/'
emu_case "with the CPU running it is not" 1 's/HLT=1/HLT=0/'
emu_case "with nothing in the IRR it is not" 1 's/^IRR\t 236/IRR\t (none)/'
emu_case "with the vector not above PPR it is not" 1 's/PPR 0x10/PPR 0xe0/'
emu_case "with a second CPU running it is not" 1 's/^(qemu) info lapic/RIP=0 RFL=00000206 HLT=0\n&/'
# A list of known reports that holds only comments must count every report.
printf '# nothing known\n\n' > "$work/known"
LAB_KNOWN_REPORTS=$work/known expect "with only comments in known-reports, a report still fails" 1 \
	'echo "<3>UBSAN: shift-out-of-bounds in arch/x86/kernel/apic/apic_flat_64.c:101:25" > /dev/kmsg'
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
