#!/usr/bin/env bash
# exitstat under libFuzzer (clang, ASan, UBSan): `make -C guest fuzz`, a fixed
# number of runs from a fixed seed. Installs clang if needed.
#
#   tests/unit/fuzz.sh [RUNS]
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/lab/lib.sh"
need_pkgs clang libclang-rt-14-dev
out=$(mktemp)
trap 'rm -f "$out"' EXIT
make -s -C "$top/guest" O="$top/build/fuzz" FUZZ_RUNS="${1:-100000}" fuzz >"$out" 2>&1
rc=$?
done_line=$(grep -E '^Done [0-9]+ runs' "$out")
if [ "$rc" = 0 ] && [ -n "$done_line" ]; then
	echo "PASS  exitstat libFuzzer: $done_line, no crash"
	echo "1 passed, 0 failed"
else
	tail -40 "$out"
	echo "FAIL  exitstat libFuzzer (exit status $rc)"
	echo "0 passed, 1 failed"
	exit 1
fi
