#!/usr/bin/env bash
# make experiment: nested paging (EPT/NPT) against shadow paging, per vendor.
# For each vendor and paging mode, inner Linux VMs boot and run a fixed
# workload; exitstat --json inside reads the counts after boot and over the
# workload, and the host-side view is read independently. Writes
# docs/results/paging.md and its charts, or, with -q, runs one small round
# per vendor and mode and checks the qualitative result only.
#
#   lab/experiment.sh [-v "amd intel"] [-k 6.1] [-r REPS] [-w MIB,EXECS,FILE_MIB] [-q]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"

vendors="amd intel" kernel=6.1 reps= work= quick=
while getopts "v:k:r:w:q" o; do
	case $o in
	v) vendors=$OPTARG ;; k) kernel=$OPTARG ;; r) reps=$OPTARG ;; w) work=$OPTARG ;; q) quick=1 ;;
	*) die "usage: lab/experiment.sh [-v VENDORS] [-k KERNEL] [-r REPS] [-w MIB,EXECS,FILE_MIB] [-q]" ;;
	esac
done
if [ -n "$quick" ]; then reps=${reps:-1} work=${work:-16,20,4}; else reps=${reps:-3} work=${work:-64,300,16}; fi
need_pkgs build-essential python3 gnuplot-nox
# One output directory per vendor set and size, so that make check can run
# the vendors' quick runs at once.
out=$top/build/experiment${quick:+-quick}-${vendors// /-}
mkdir -p "$out"
stock=$("$top/kernel/build.sh" "$kernel" stock | tail -1)
patched=$("$top/kernel/build.sh" "$kernel" patched | tail -1)
make -s -C "$top/tests/lab" O="$out/tests" >/dev/null
make -s -C "$top/guest" O="$out/guest" >/dev/null
"$here/mkinitramfs.sh" -i -o "$out/inner.gz" -p "$here/experiment-inner.sh" \
	"$out/guest/exitstat" "$out/tests/exp_workload"
: > "$out/results.txt"
for v in $vendors; do
	# Bochs is deterministic: one run per mode says all.
	r=$reps
	[ "$v" = intel ] && [ -z "$quick" ] && r=1
	sed -e "s/^REPS=.*/REPS=$r/" -e "s/^WORK=.*/WORK=$work/" "$here/experiment-payload.sh" > "$out/payload.sh"
	"$here/mkinitramfs.sh" -o "$out/initrd.gz" -p "$out/payload.sh" \
		-s "$stock/modules" -t "$patched/modules" -q "$stock/bzImage:$out/inner.gz"
	step "paging experiment on $v (linux $kernel, $r run(s) per mode, workload $work)"
	"$here/run.sh" -q -v "$v" -k "$stock/bzImage" -i "$out/initrd.gz" -l "$out/lab-$v.log" \
		-c "$([ "$v" = amd ] && echo 2 || echo 1)" -m 1024 -t 3600 ||
		{ tail -n 30 "$out/lab-$v.log"; die "the experiment run failed on $v: $out/lab-$v.log"; }
	tr -d '\r' < "$out/lab-$v.log" | sed -n "s/^EXP /EXP $v /p" >> "$out/results.txt"
done
if [ -n "$quick" ]; then
	python3 "$here/experiment-report.py" --check "$out/results.txt"
else
	python3 "$here/experiment-report.py" "$out/results.txt" "$top/docs/results" "$kernel" "$work"
	step "wrote docs/results/paging.md"
fi
