#!/usr/bin/env bash
# make bench: what the exit accounting costs per VM exit, against stock KVM
# and against tracepoint-based accounting (a kvm_exit hist trigger), for
# each emulator and kernel; writes docs/results/bench.md.
#
#   lab/bench.sh [-k "6.1 6.12"] [-v "amd intel"] [-r RUNS] [-o FILE] [-s]
#
# -s: a smoke run for make check (first kernel, AMD, 1 run of 2,000 exits):
# checks that every configuration and exit kind produced a number, and
# asserts nothing about speed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"

kernels="6.1 6.12" vendors="amd intel" runs=5 report=$top/docs/results/bench.md smoke= n=20000
while getopts "k:v:r:o:s" o; do
	case $o in
	k) kernels=$OPTARG ;; v) vendors=$OPTARG ;; r) runs=$OPTARG ;; o) report=$OPTARG ;;
	s) smoke=1 ;;
	*) die "usage: lab/bench.sh [-k KERNELS] [-v VENDORS] [-r RUNS] [-o FILE] [-s]" ;;
	esac
done
if [ -n "$smoke" ]; then
	kernels=${kernels%% *} vendors=amd runs=1 n=2000 report=$top/build/bench/smoke.md
fi
need_pkgs build-essential python3 binutils
out=$top/build/bench
mkdir -p "$out"
make -s -C "$top/tests/lab" O="$out/tests" >/dev/null
: > "$out/results.txt"
for k in $kernels; do
	stock=$("$top/kernel/build.sh" "$k" stock | tail -1)
	patched=$("$top/kernel/build.sh" "$k" patched | tail -1)
	echo "MODULES $k $stock/modules $patched/modules" >> "$out/results.txt"
	for v in $vendors; do
		sed -e "s/^R=.*/R=$runs/" -e "s/^N=.*/N=$n/" "$top/tests/lab/bench-payload.sh" > "$out/payload.sh"
		"$here/mkinitramfs.sh" -o "$out/initrd.gz" -p "$out/payload.sh" \
			-s "$stock/modules" -t "$patched/modules" "$out/tests/bench_exits"
		step "benchmarking linux $k on $v"
		"$here/run.sh" -q -v "$v" -k "$stock/bzImage" -i "$out/initrd.gz" -l "$out/lab-$k-$v.log" \
			-c "$([ "$v" = amd ] && echo 2 || echo 1)" -t 1800 ||
			die "the benchmark run failed (linux $k, $v): $out/lab-$k-$v.log"
		tr -d '\r' < "$out/lab-$k-$v.log" |
			sed -n -e "s/^BENCH /BENCH $k $v /p" -e "s/^BENCH-NOTE /NOTE $k $v /p" \
			-e "s/^BENCH-MEM /MEM $k $v /p" -e "s/^BENCH-HISTMEM /HISTMEM $k $v /p" >> "$out/results.txt"
	done
done
if [ -n "$smoke" ]; then
	# measured: the configurations and exit kinds with a positive figure
	got=$(awk '/^BENCH/ { for (i = 6; i <= NF; i++) if ($i + 0 > 0) { n[$4 " " $5] = 1; break } }
		END { for (c in n) m++; print m + 0 }' "$out/results.txt")
	if [ "$got" = 18 ]; then
		echo "PASS  bench smoke run: 6 configurations x 3 exit kinds measured"
		echo "1 passed, 0 failed"
	else
		echo "FAIL  bench smoke run: $got of 6 configurations x 3 exit kinds measured"
		echo "0 passed, 1 failed"
		exit 1
	fi
	exit 0
fi
python3 "$here/bench-report.py" "$out/results.txt" "$runs" "$n" \
	"$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)" > "$report"
step "wrote $report"
sed -n '/^\*\*Verdict/,/^## Results/p' "$report" | head -40
