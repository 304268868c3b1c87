#!/usr/bin/env bash
# make bench: what the exit accounting costs per VM exit, against stock KVM
# and against tracepoint-based accounting (a kvm_exit hist trigger), for
# each emulator and kernel; writes docs/results/bench.md.
#
#   lab/bench.sh [-k "6.1 6.12"] [-v "amd intel"] [-r RUNS] [-o FILE]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"

kernels="6.1 6.12" vendors="amd intel" runs=5 report=$top/docs/results/bench.md
while getopts "k:v:r:o:" o; do
	case $o in
	k) kernels=$OPTARG ;; v) vendors=$OPTARG ;; r) runs=$OPTARG ;; o) report=$OPTARG ;;
	*) die "usage: lab/bench.sh [-k KERNELS] [-v VENDORS] [-r RUNS] [-o FILE]" ;;
	esac
done
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
		sed "s/^R=.*/R=$runs/" "$top/tests/lab/bench-payload.sh" > "$out/payload.sh"
		"$here/mkinitramfs.sh" -o "$out/initrd.gz" -p "$out/payload.sh" \
			-s "$stock/modules" -t "$patched/modules" "$out/tests/bench_exits"
		step "benchmarking linux $k on $v"
		"$here/run.sh" -q -v "$v" -k "$stock/bzImage" -i "$out/initrd.gz" -l "$out/lab-$k-$v.log" \
			-c "$([ "$v" = amd ] && echo 2 || echo 1)" -t 1800 ||
			die "the benchmark run failed (linux $k, $v): $out/lab-$k-$v.log"
		tr -d '\r' < "$out/lab-$k-$v.log" | sed -n "s/^BENCH /BENCH $k $v /p" >> "$out/results.txt"
	done
done
python3 "$here/bench-report.py" "$out/results.txt" "$runs" > "$report"
step "wrote $report"
sed -n '/^## Results/,/^## Method/p' "$report" | head -40
