#!/usr/bin/env bash
# make check: every test suite, one closing count.
#
#   tests/check.sh [-k "6.1 6.12"] [-v "amd intel"]
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/lab/lib.sh"
kernels="6.1 6.12" vendors="amd intel"
while getopts "k:v:" o; do
	case $o in
	k) kernels=$OPTARG ;; v) vendors=$OPTARG ;;
	*) echo "usage: tests/check.sh [-k KERNELS] [-v VENDORS]" >&2; exit 1 ;;
	esac
done

passed=0 failed=0 broken=()
suite() { # suite NAME CMD...: run a suite that ends with "N passed, N failed"
	local name=$1 out rc p f
	shift
	echo "=== $name"
	out=$(mktemp)
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	if ! read -r p f < <(counts "$out"); then
		rm -f "$out"
		failed=$((failed + 1))
		broken+=("$name (no result line, exit status $rc)")
		return
	fi
	rm -f "$out"
	passed=$((passed + p)) failed=$((failed + f))
	[ "$rc" = 0 ] || [ "$f" != 0 ] || { failed=$((failed + 1)); broken+=("$name (exit status $rc)"); }
}

suite "exitstat unit tests (ASan, UBSan)" make -s -C "$top/guest" check
suite "exitstat under libFuzzer" bash "$top/tests/unit/fuzz.sh"
suite "patch series" bash "$top/kernel/check-patches.sh" $kernels
suite "lab self-tests" bash "$top/lab/selftest.sh" "${kernels%% *}"
suite "in-lab tests" bash "$top/lab/check.sh" -k "$kernels" -v "$vendors"
suite "paging experiment, quick" bash "$top/lab/experiment.sh" -q -v "$vendors" -k "${kernels%% *}"
suite "benchmark smoke run" bash "$top/lab/bench.sh" -s -k "$kernels"
suite "reliability on the sanitizer kernel, short" bash "$top/lab/reliability.sh" -k "${kernels%% *}" -v "$vendors"

echo "==="
for b in "${broken[@]}"; do echo "broken: $b"; done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
