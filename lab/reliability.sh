#!/usr/bin/env bash
# Reliability and security suite: the sanitizer kernel (KASAN, UBSAN,
# lockdep, kmemleak) boots under both emulators and runs every in-lab test,
# then the leaf fuzzer, the stress test, the VM lifecycle in both scopes and
# module reloads (tests/lab/reliability-payload.sh).
#
#   lab/reliability.sh [-s] [-k KERNEL] [-v "amd intel"] [-o REPORT.md]
#
# Without -s, the short sizes make check runs; with -s (make soak), the
# full ones, and a report (default docs/results/reliability.md) is written
# from the logs. One kernel (default 6.1) is enough: the sanitizer build is
# the long part.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"

soak= kernel=6.1 vendors="amd intel" report=
while getopts "sk:v:o:" o; do
	case $o in
	s) soak=1 ;; k) kernel=$OPTARG ;; v) vendors=$OPTARG ;; o) report=$OPTARG ;;
	*) die "usage: lab/reliability.sh [-s] [-k KERNEL] [-v \"amd intel\"] [-o REPORT.md]" ;;
	esac
done
[ -n "$soak" ] || [ -z "$report" ] || die "-o needs -s: only a full run writes the report"
[ -z "$soak" ] || need_pkgs python3 # the report (lab/reliability-report.py)

# sizes VENDOR: FUZZ_K|STRESS_K|LIFE_N|RELOADS|PAGING_MODES|STOCK_TESTS.
# Under Bochs the sanitizer kernel needs about 1.5 s per VM of the
# lifecycle test, so the Intel soak holds fewer VMs and reloads to fit in a
# few hours' session; the report names the gap. make check's short run on
# Intel tests the patched KVM with EPT only and smaller sizes: Bochs is
# make check's critical path, the plain kernels' runs test both paging
# modes and stock KVM on Intel, and make soak runs all of it on this kernel.
sizes() {
	case $mode-$1 in
	soak-amd) echo "1000000|32000|1000|50|1 0|1" ;;
	soak-intel) echo "1000000|32000|200|20|1 0|1" ;;
	short-intel) echo "50000|1000|50|3|1|0" ;;
	*) echo "50000|2000|100|5|1 0|1" ;;
	esac
}
if [ -n "$soak" ]; then
	mode=soak timeout=14400 test_timeout=7200
	report=${report:-$top/docs/results/reliability.md}
else
	# A test that hangs (QEMU TCG now and then stops making progress, stock
	# KVM too) is killed after 10 minutes, not the whole run's budget. The
	# Intel boot is the long one (its in-lab part alone took 30 minutes in
	# a soak); it timed out at 60 next to another Bochs, and took 4,246 s
	# at 4450753 with the host lane's builds beside it. 80 keeps a margin
	# above that and still fits make check in CI's 90.
	mode=short timeout=4800 test_timeout=600
fi
out=${LAB_OUT:-$top/build/reliability-$mode}
mkdir -p "$out"
start=$SECONDS
# One emulator per vendor, each on its own core: the vendors run at once.
# check.sh builds the kernel and tests first; the second one reuses them.
"$top/kernel/build.sh" "$kernel" patched san > /dev/null
pids=()
for v in $vendors; do
	mkdir -p "$out/$v"
	IFS='|' read -r fuzz_k stress_k life_n reloads modes stock < <(sizes "$v")
	printf 'FUZZ_K=%s\nSTRESS_K=%s\nLIFE_N=%s\nRELOADS=%s\nLAB_TEST_TIMEOUT=%s\n' \
		"$fuzz_k" "$stress_k" "$life_n" "$reloads" "$test_timeout" > "$out/$v/reliability.env"
	# The in-lab tests' knobs (tests/lab/payload.sh): the small reliability
	# runs are left out, since the same tests run bigger after them.
	printf 'PAGING_MODES="%s"\nSTOCK_TESTS=%s\nSMALL_RELIABILITY=0\n' "$modes" "$stock" >> "$out/$v/reliability.env"
	pg=ept
	[ "$v" = amd ] && pg=npt
	step "reliability ($mode, $v): in-lab tests with $pg=${modes// /,}$([ "$stock" = 1 ] || echo ", patched KVM only"), $fuzz_k fuzzed CPUIDs, 2 VMs x 4 vCPUs x $stress_k stress iterations, $life_n VMs per scope, $reloads reloads"
	step "booting the sanitizer kernel on $v (log: $out/$v/lab-$kernel-san-$v.log)"
	LAB_OUT=$out/$v LAB_TIMEOUT=$timeout \
		"$here/check.sh" -k "$kernel" -v "$v" -f san -p "$top/tests/lab/reliability-payload.sh" \
		-e "$out/$v/reliability.env" -e "$top/tests/lab/payload.sh" > "$out/$v/summary.txt" 2>&1 &
	pids+=($!)
done
if [ -n "$soak" ]; then # at a lower priority, on whatever core is free
	step "exitstat under libFuzzer for ${FUZZ_TIME:-600} s"
	need_pkgs clang libclang-rt-14-dev
	nice -n 10 make -s -C "$top/guest" O="$out/guest-fuzz" FUZZ_TIME="${FUZZ_TIME:-600}" fuzz-long \
		> "$out/guest-fuzz.txt" 2>&1 &
	fuzz_pid=$!
fi
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
passed=0 failed=0
for v in $vendors; do
	grep -v -E '^[0-9]+ passed, [0-9]+ failed$' "$out/$v/summary.txt" | grep -v '^==>' || true
	read -r p f < <(counts "$out/$v/summary.txt") ||
		{ echo "FAIL  $kernel-san/$v: no result"; failed=$((failed + 1)); continue; }
	passed=$((passed + p)) failed=$((failed + f))
done
[ "$failed" = 0 ] || rc=1
echo "$passed passed, $failed failed" | tee "$out/summary.txt"
if [ -n "$soak" ]; then
	wait "$fuzz_pid" || { tail -30 "$out/guest-fuzz.txt"; rc=1; }
	python3 "$here/reliability-report.py" --kernel "$kernel" --seconds $((SECONDS - start)) \
		--commit "$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)" \
		--summary "$out/summary.txt" \
		--fuzz-log "$out/guest-fuzz.txt" "$out"/*/lab-*.log > "$report.tmp"
	mv "$report.tmp" "$report"
	step "report: $report"
fi
exit $rc
