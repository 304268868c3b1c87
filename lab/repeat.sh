#!/usr/bin/env bash
# Run a suite N times in a row, stopping at the first failure: for a run
# that once failed at random (make soak runs the boot of Debian's 6.1 cloud
# kernel on AMD that once stalled in make check 20 times). Each run's
# output is kept in build/repeat/RUN.txt.
#
#   lab/repeat.sh N CMD...
#
# Prints one line per run and "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:?usage: lab/repeat.sh N CMD...}
shift
[ $# -gt 0 ] || { echo "usage: lab/repeat.sh N CMD..." >&2; exit 1; }
out=$top/build/repeat
rm -rf "$out"
mkdir -p "$out"
passed=0 failed=0
for ((i = 1; i <= n; i++)); do
	t0=$SECONDS
	if LAB_OUT=$out/$i "$@" > "$out/$i.txt" 2>&1; then
		passed=$((passed + 1))
		echo "PASS  run $i of $n: $(tail -1 "$out/$i.txt"), $((SECONDS - t0)) s"
	else
		failed=$((failed + 1))
		echo "FAIL  run $i of $n: $(tail -1 "$out/$i.txt"), $((SECONDS - t0)) s (log: $out/$i.txt)"
		grep -h -A40 '^lab: STALL' "$out/$i"/*.stall 2>/dev/null | head -60
		break
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" = "$n" ]
