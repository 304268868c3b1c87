#!/usr/bin/env bash
# make check (and make check-quick): every test suite, in lanes that run side
# by side, then a timing table and one closing count.
#
#   tests/check.sh [-q] [-k "6.1 6.12 7.3"] [-v "amd intel"] [-d "6.1 6.12"] [-D "6.12 7.3"] [-s "7.3"] [-e "6.12 7.3"]
#
# -k the lab's kernel lines; -d those of them Debian 12 ships kernels of
# (the distribution boots and the host modules), -D those Debian 13 ships
# (their AMD boots, in the AMD lane, with the modules DKMS builds for them
# in a Debian 13 system: gcc-14; Intel in make soak); -s those whose Intel
# in-lab tests are left to make soak (none by default), for time: each
# Bochs boot takes 15 to 25 minutes of one core; -e those whose Intel boot
# tests nested paging (EPT) alone, its shadow paging half left to make
# soak (by default every kernel after the first: the first kernel's boot
# tests both).
#
# The lanes, each a list of suites run one after another:
#   host       unit tests, libFuzzer, the patch series checks (compilers on
#              the host)
#   amd        the lab's kernels under QEMU TCG (AMD SVM), the third
#              kernel's Bochs boot (Intel VMX), Debian 13's kernels (AMD)
#   intel      the first kernel's Bochs boot (Intel VMX) and the paging
#              experiment, then Debian's kernel of that line under QEMU
#   bochs      the second kernel's Bochs boot (Intel), AMD's SVM fastpath
#              under Bochs's ryzen model (NRIP-save) on every kernel, the
#              sanitizer kernel's short reliability run (AMD), then
#              Debian's other kernels under QEMU
# Each emulator is single-threaded for a tinyconfig kernel, so the
# emulator lanes share the two cores and the host lane fills the gaps.
# The three emulator lanes are about equal in CPU time (about 1,500 s
# each, measured per suite in the closing table), so that they end
# together.
# The Intel sanitizer kernel's reliability run, the longest suite (about
# 2,800 s alone, 4,246 s beside the others at 4450753), is in make soak,
# which runs the reliability suite on both vendors at full size; the AMD
# one stays here.
# Kernel builds are shared through kernel/build.sh's lock: a lane that needs
# a kernel another lane is building waits for it.
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
. "$top/tests/lanes.sh"
kernels="6.1 6.12 7.3" vendors="amd intel" dist="6.1 6.12" dist13="6.12 7.3" soak_intel= quick= ept_only=-
while getopts "qk:v:d:D:s:e:" o; do
	case $o in
	q) quick=1 ;; k) kernels=$OPTARG ;; v) vendors=$OPTARG ;;
	d) dist=$OPTARG ;; D) dist13=$OPTARG ;; s) soak_intel=$OPTARG ;; e) ept_only=$OPTARG ;;
	*) echo "usage: tests/check.sh [-q] [-k KERNELS] [-v VENDORS] [-d DIST_KERNELS] [-D DIST13_KERNELS] [-s SOAK_INTEL_KERNELS] [-e INTEL_EPT_ONLY]" >&2; exit 1 ;;
	esac
done
first=${kernels%% *}
[ "$ept_only" != - ] || ept_only=${kernels#"$first"}
has() { case " $vendors " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
in_list() { case " $2 " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
dist_kernels= dist13_kernels=
for k in $kernels; do
	in_list "$k" "$dist" && dist_kernels+="${dist_kernels:+ }$k"
	in_list "$k" "$dist13" && dist13_kernels+="${dist13_kernels:+ }$k"
done

lanes_init "$top/build/check"
start=$SECONDS

lane_host() {
	# At the emulators' priority: its compilers and DKMS builds are about
	# 1,000 s of CPU, which a lane at nice 10 beside three emulators got
	# only after them (at 6a63cf6 its patch checks were half done after
	# 44 minutes, when the emulator lanes ended, and it ran on alone).
	suite host "series from the shared core" bash "$top/kernel/check-series.sh"
	suite host "exitstat unit tests (ASan, UBSan)" bash "$top/tests/unit/unit.sh" "$work/guest"
	if [ -n "$quick" ]; then
		suite host "patch series $first" bash "$top/kernel/check-patches.sh" "$first"
		return
	fi
	suite host "exitstat under libFuzzer" bash "$top/tests/unit/fuzz.sh"
	suite host "patch series" bash "$top/kernel/check-patches.sh" $kernels
	suite host "host modules for Debian's kernels, packages" bash "$top/kernel/check-host-modules.sh" $dist_kernels
}

# intel_boot LANE VENDOR KERNEL: the in-lab tests of one kernel (on Intel,
# with nested paging alone for the kernels of -e).
intel_boot() {
	if [ "$2" = intel ] && in_list "$3" "$ept_only"; then
		suite "$1" "in-lab tests $3/$2, EPT" env LAB_PAGING_MODES=1 bash "$top/lab/check.sh" -k "$3" -v "$2"
	else
		suite "$1" "in-lab tests $3/$2" bash "$top/lab/check.sh" -k "$3" -v "$2"
	fi
}

lane_emu() { # lane_emu LANE VENDOR KERNELS [DEBIAN-KERNELS]
	local lane=$1 v=$2 ks=$3 dks=${4:-} k
	export LAB_OUT=$top/build/lab-$lane
	if [ -n "$quick" ]; then
		suite "$lane" "in-lab tests $first/$v" bash "$top/lab/check.sh" -k "$first" -v "$v"
		return
	fi
	# The lab's own tests boot QEMU only; the bench smoke run is on AMD.
	[ "$lane" = amd ] && suite amd "lab self-tests" bash "$top/lab/selftest.sh" "$first"
	for k in $ks; do
		[ -n "$k" ] || continue
		intel_boot "$lane" "$v" "$k"
		if [ "$k" = "$first" ]; then
			suite "$lane" "paging experiment, quick ($v)" bash "$top/lab/experiment.sh" -q -v "$v" -k "$first"
			[ "$v" = amd ] && suite amd "benchmark smoke run" bash "$top/lab/bench.sh" -s -k "$first"
		fi
	done
	# The Intel boots past the second kernel's, here: the AMD lane's QEMU
	# boots are short, and a Bochs boot started early leaves no long tail.
	if [ "$lane" = amd ]; then
		for k in $intel_tail; do
			intel_boot amd intel "$k"
		done
	fi
	# Debian 13's kernels (6.12; 7.3 from trixie-backports), built with
	# gcc-14: DKMS builds their modules in a Debian 13 system in the cache
	# (lab/dist.sh -d 13). On AMD here, on Intel in make soak.
	if [ "$lane" = amd ]; then
		for k in $dist13_kernels; do
			suite amd "in-lab tests on Debian 13's $k kernel (amd)" \
				bash "$top/lab/check.sh" -k "$k" -v amd -f dist13
		done
	fi
	# kvm-amd's fastpath needs NRIP-save, which QEMU's TCG lacks: the
	# fastpath test alone, on every kernel, under Bochs's ryzen model
	# (about 2.5 min a boot).
	if [ "$lane" = bochs ] && has amd; then
		for k in $kernels; do
			suite bochs "SVM fastpath with NRIP-save, Bochs ryzen ($k/amd)" \
				bash "$top/lab/check.sh" -k "$k" -v amd-bochs -p "$top/tests/lab/fastpath-payload.sh"
		done
		# In the lane whose Bochs boot is the shortest (EPT alone).
		suite bochs "reliability on the sanitizer kernel, short (amd)" \
			bash "$top/lab/reliability.sh" -k "$first" -v amd
	fi
	# Debian's own kernels on AMD, under QEMU, with the modules its DKMS
	# package built (on Intel, under Bochs, in make soak: lab/check.sh -f
	# dist -v intel), in whichever lane is given them, after its own
	# suites: the Bochs lanes end first.
	for k in $dks; do
		suite "$lane" "in-lab tests on Debian's $k kernel (amd)" \
			bash "$top/lab/check.sh" -k "$k" -v amd -f dist
		[ "$k" != "$first" ] || suite "$lane" "in-lab tests on Debian's $first cloud kernel (amd)" \
			bash "$top/lab/check.sh" -k "$first" -v amd -f dist-cloud
		# The migration test needs an outer VM with two CPUs: the lab's
		# AMD kernel sees one, Debian's (ACPI, SMP) two. It runs alone in
		# that boot, about 45 s, with a limit of 600 s.
		suite "$lane" "migration test on Debian's $k kernel, 2 CPUs (amd)" \
			env LAB_DIST_CPUS=2 LAB_TIMEOUT=600 bash "$top/lab/check.sh" \
			-k "$k" -v amd -f dist -p "$top/tests/lab/migrate-payload.sh"
	done
}

# Intel's boots (minus those left to make soak) in three lanes: the first
# kernel's (with the experiment) in the Intel lane, the second's in the
# Bochs lane, the others' in the AMD lane (or the Bochs lane, with no AMD
# lane). Debian's kernels on AMD follow them, the first kernel's in the
# Intel lane, the others' in the Bochs lane, or go to the AMD lane when
# there is no Intel lane.
intel_first= intel_rest= intel_tail= dist_first= dist_rest=
if has intel; then
	in_list "$first" "$soak_intel" || intel_first=$first
	for k in $kernels; do
		[ "$k" != "$first" ] && ! in_list "$k" "$soak_intel" || continue
		if [ -z "$intel_rest" ] || ! has amd || [ -n "$quick" ]; then
			intel_rest+="${intel_rest:+ }$k"
		else
			intel_tail+="${intel_tail:+ }$k"
		fi
	done
fi
if has amd && [ -z "$quick" ]; then
	for k in $dist_kernels; do
		if [ "$k" = "$first" ]; then dist_first=$k; else dist_rest+="${dist_rest:+ }$k"; fi
	done
fi
lane_start host lane_host
if has amd; then
	if [ -n "$intel_first" ]; then
		lane_start amd lane_emu amd amd "$kernels"
	else
		lane_start amd lane_emu amd amd "$kernels" "$dist_first${dist_rest:+ $dist_rest}"
		dist_first= dist_rest=
	fi
fi
[ -z "$intel_first" ] || lane_start intel lane_emu intel intel "$intel_first" "$dist_first"
if [ -z "$quick" ] && { [ -n "$intel_rest" ] || has amd; }; then
	lane_start bochs lane_emu bochs intel "$intel_rest" "$dist_rest"
fi
lanes_wait

# keep_logs: the records, every suite's output and the emulators' logs, in
# the cache (the last 5 runs): CI runs make check in a clone that it then
# removes, and keeps only the tail of what it printed.
keep_logs() {
	local d
	d=$(cache_dir)/check-logs/$(date -u +%Y%m%dT%H%M%SZ)-$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
	mkdir -p "$d" || return 0
	(cd "$top/build" && find check lab-* reliability-* -maxdepth 2 -type f \
		\( -path 'check/*' ! -path 'check/*/*' -o -name '*.log' -o -name '*.log.*' -o -name 'summary.txt' \) -print0 2>/dev/null |
		tar -c --null -T - | gzip) > "$d/logs.tar.gz" 2>/dev/null || true
	ls -1dt "$(dirname "$d")"/*/ | tail -n +6 | xargs -r rm -rf
	echo "$d"
}
logs=$(keep_logs)
[ -z "$logs" ] || echo "the logs of this run are kept in $logs/logs.tar.gz"
lanes_summary "$((SECONDS - start))"
exit "$lanes_status"
