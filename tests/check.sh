#!/usr/bin/env bash
# make check (and make check-quick): every test suite, in lanes that run side
# by side, then a timing table and one closing count.
#
#   tests/check.sh [-q] [-k "6.1 6.12"] [-v "amd intel"]
#
# The lanes, each a list of suites run one after another:
#   host   unit tests, libFuzzer, the patch series checks, and the sanitizer
#          kernel's build (compilers on the host)
#   amd    every boot under QEMU TCG (AMD SVM)
#   intel  every boot under Bochs (Intel VMX), make check's longest lane
# Each emulator is single-threaded for a tinyconfig kernel, so the two
# emulator lanes take a core each and the host lane fills the gaps. Kernel
# builds are shared through kernel/build.sh's lock: a lane that needs a
# kernel another lane is building waits for it.
#
# Every line a suite prints is shown with its lane in front; a failing
# in-lab run names test, kernel and vendor and shows the outer VM's log.
# The end: the failures again, a table of every suite's wall-clock seconds
# per lane, and "N passed, N failed".
#
# -q (make check-quick), for the edit-test loop: the unit tests, the patch
# checks and the in-lab tests on AMD, all for the first kernel only.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/lab/lib.sh"
kernels="6.1 6.12" vendors="amd intel" quick=
while getopts "qk:v:" o; do
	case $o in
	q) quick=1 ;; k) kernels=$OPTARG ;; v) vendors=$OPTARG ;;
	*) echo "usage: tests/check.sh [-q] [-k KERNELS] [-v VENDORS]" >&2; exit 1 ;;
	esac
done
first=${kernels%% *}
has() { case " $vendors " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

work=$top/build/check
rm -rf "$work"
mkdir -p "$work"
start=$SECONDS

# suite LANE NAME CMD...: run one suite that ends with "N passed, N failed";
# record "LANE|NAME|PASSED|FAILED|SECONDS|PROBLEM" in the lane's results.
suite() {
	local lane=$1 name=$2 out rc p f t0=$SECONDS problem=
	shift 2
	out=$work/$lane.$(printf '%s' "$name" | tr -c 'A-Za-z0-9.' '-').out
	echo "=== $name" | sed "s/^/[$lane] /"
	"$@" 2>&1 | tee "$out" | sed -u "s/^/[$lane] /"
	rc=${PIPESTATUS[0]}
	if read -r p f < <(counts "$out"); then
		[ "$rc" = 0 ] || [ "$f" != 0 ] || { f=$((f + 1)) problem="exit status $rc"; }
	else
		p=0 f=1 problem="no result line, exit status $rc"
	fi
	echo "$lane|$name|$p|$f|$((SECONDS - t0))|$problem" >> "$work/results.$lane"
	echo "=== $name: $p passed, $f failed, $((SECONDS - t0)) s" | sed "s/^/[$lane] /"
}

# step LANE NAME CMD...: a timed step with no tests of its own (a build);
# its failure counts as one.
step_timed() {
	local lane=$1 name=$2 t0=$SECONDS rc
	shift 2
	echo "=== $name" | sed "s/^/[$lane] /"
	"$@" 2>&1 | sed -u "s/^/[$lane] /"
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 0 ]; then
		echo "$lane|$name|0|0|$((SECONDS - t0))|" >> "$work/results.$lane"
	else
		echo "$lane|$name|0|1|$((SECONDS - t0))|exit status $rc" >> "$work/results.$lane"
	fi
}

lane_host() {
	suite host "exitstat unit tests (ASan, UBSan)" make -s -C "$top/guest" O="$work/guest" check
	if [ -n "$quick" ]; then
		suite host "patch series $first" bash "$top/kernel/check-patches.sh" "$first"
		return
	fi
	suite host "exitstat under libFuzzer" bash "$top/tests/unit/fuzz.sh"
	suite host "patch series" bash "$top/kernel/check-patches.sh" $kernels
	# The sanitizer kernel, built here while the emulators run; its lanes
	# wait for it through kernel/build.sh's lock.
	step_timed host "build: linux $first sanitizer kernel" "$top/kernel/build.sh" "$first" patched san
}

lane_emu() { # lane_emu VENDOR
	local v=$1 k
	export LAB_OUT=$top/build/lab-$v
	if [ -n "$quick" ]; then
		suite "$v" "in-lab tests $first/$v" bash "$top/lab/check.sh" -k "$first" -v "$v"
		return
	fi
	# The lab's own tests boot QEMU only; the bench smoke run is on AMD.
	[ "$v" = amd ] && suite amd "lab self-tests" bash "$top/lab/selftest.sh" "$first"
	for k in $kernels; do
		suite "$v" "in-lab tests $k/$v" bash "$top/lab/check.sh" -k "$k" -v "$v"
		if [ "$k" = "$first" ]; then
			suite "$v" "paging experiment, quick ($v)" bash "$top/lab/experiment.sh" -q -v "$v" -k "$first"
			[ "$v" = amd ] && suite amd "benchmark smoke run" bash "$top/lab/bench.sh" -s -k "$first"
		fi
	done
	suite "$v" "reliability on the sanitizer kernel, short ($v)" \
		bash "$top/lab/reliability.sh" -k "$first" -v "$v"
}

pids=()
lane_host &
pids+=($!)
for v in amd intel; do
	has "$v" || continue
	lane_emu "$v" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
wall=$((SECONDS - start))

echo "==="
cat "$work"/results.* > "$work/results"
grep -h '^FAIL' "$work"/*.out 2>/dev/null | sed 's/^/failed: /'
awk -F'|' '$6 != "" { print "broken: " $2 " (" $6 ")" }' "$work/results"
echo "timing (wall-clock seconds; the lanes run side by side):"
awk -F'|' -v wall="$wall" '
	{ printf "  %-6s %-52s %6d s %5d passed %3d failed\n", $1, $2, $5, $3, $4
	  lane[$1] += $5; p += $3; f += $4 }
	END {
		for (l in lane) printf "  %-6s %-52s %6d s\n", l, "(lane total)", lane[l]
		printf "  %-6s %-52s %6d s %5d passed %3d failed\n", "all", "make check, wall clock", wall, p, f
	}' "$work/results"
read -r passed failed < <(awk -F'|' '{ p += $3; f += $4 } END { print p + 0, f + 0 }' "$work/results")
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
