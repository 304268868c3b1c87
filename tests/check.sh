#!/usr/bin/env bash
# make check (and make check-quick): every test suite, in lanes that run side
# by side, then a timing table and one closing count.
#
#   tests/check.sh [-q] [-k "6.1 6.12 7.3"] [-v "amd intel"] [-d "6.1 6.12"] [-s "7.3"]
#
# -k the lab's kernel lines; -d those of them Debian 12 ships kernels of
# (the distribution boots and the host modules); -s those whose Intel
# in-lab tests are left to make soak, for time: each Bochs boot adds 17 to
# 25 minutes to the Intel lane, which is the critical path.
#
# The lanes, each a list of suites run one after another:
#   host       unit tests, libFuzzer, the patch series checks (compilers on
#              the host)
#   amd        every boot under QEMU TCG (AMD SVM)
#   intel      the plain kernels' boots under Bochs (Intel VMX)
#   intel-san  the sanitizer kernel's boot under Bochs, make check's longest
#              suite: it gets a lane of its own, which starts as soon as
#              that kernel is built
# Each emulator is single-threaded for a tinyconfig kernel, so the
# emulator lanes share the two cores and the host lane fills the gaps.
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
kernels="6.1 6.12 7.3" vendors="amd intel" dist="6.1 6.12" soak_intel="7.3" quick=
while getopts "qk:v:d:s:" o; do
	case $o in
	q) quick=1 ;; k) kernels=$OPTARG ;; v) vendors=$OPTARG ;;
	d) dist=$OPTARG ;; s) soak_intel=$OPTARG ;;
	*) echo "usage: tests/check.sh [-q] [-k KERNELS] [-v VENDORS] [-d DIST_KERNELS] [-s SOAK_INTEL_KERNELS]" >&2; exit 1 ;;
	esac
done
first=${kernels%% *}
has() { case " $vendors " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
in_list() { case " $2 " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
dist_kernels=
for k in $kernels; do in_list "$k" "$dist" && dist_kernels+="${dist_kernels:+ }$k"; done

lanes_init "$top/build/check"
start=$SECONDS

lane_host() {
	# The emulator lanes are the critical path (Intel's, about 70 min at
	# 0b9879e..699f2fe); the host lane's compilers and DKMS builds, done in
	# about 37 min, give way to them.
	renice -n 10 -p "$BASHPID" >/dev/null 2>&1 || true
	suite host "exitstat unit tests (ASan, UBSan)" bash "$top/tests/unit/unit.sh" "$work/guest"
	if [ -n "$quick" ]; then
		suite host "patch series $first" bash "$top/kernel/check-patches.sh" "$first"
		return
	fi
	suite host "exitstat under libFuzzer" bash "$top/tests/unit/fuzz.sh"
	suite host "patch series" bash "$top/kernel/check-patches.sh" $kernels
	suite host "host modules for Debian's kernels, packages" bash "$top/kernel/check-host-modules.sh" $dist_kernels
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
		[ "$v" = intel ] && in_list "$k" "$soak_intel" && continue
		suite "$v" "in-lab tests $k/$v" bash "$top/lab/check.sh" -k "$k" -v "$v"
		if [ "$k" = "$first" ]; then
			suite "$v" "paging experiment, quick ($v)" bash "$top/lab/experiment.sh" -q -v "$v" -k "$first"
			[ "$v" = amd ] && suite amd "benchmark smoke run" bash "$top/lab/bench.sh" -s -k "$first"
		fi
	done
	[ "$v" = amd ] && suite amd "reliability on the sanitizer kernel, short (amd)" \
		bash "$top/lab/reliability.sh" -k "$first" -v amd
	# Debian's own kernels with the modules its DKMS package built (on
	# Intel, under Bochs, in make soak: lab/check.sh -f dist -v intel).
	if [ "$v" = amd ]; then
		for k in $dist_kernels; do
			suite amd "in-lab tests on Debian's $k kernel (amd)" \
				bash "$top/lab/check.sh" -k "$k" -v amd -f dist
		done
		suite amd "in-lab tests on Debian's $first cloud kernel (amd)" \
			bash "$top/lab/check.sh" -k "$first" -v amd -f dist-cloud
		# The migration test needs an outer VM with two CPUs: the lab's
		# AMD kernel sees one, Debian's (ACPI, SMP) two. It runs alone in
		# that boot, about 45 s, with a limit of 600 s.
		for k in $dist_kernels; do
			suite amd "migration test on Debian's $k kernel, 2 CPUs (amd)" \
				env LAB_DIST_CPUS=2 LAB_TIMEOUT=600 bash "$top/lab/check.sh" \
				-k "$k" -v amd -f dist -p "$top/tests/lab/migrate-payload.sh"
		done
	fi
}

lane_intel_san() {
	export LAB_OUT=$top/build/lab-intel-san
	step_timed intel-san "build: linux $first sanitizer kernel" \
		"$top/kernel/build.sh" "$first" patched san
	suite intel-san "reliability on the sanitizer kernel, short (intel)" \
		bash "$top/lab/reliability.sh" -k "$first" -v intel
}

lane_start host lane_host
for v in amd intel; do
	has "$v" || continue
	lane_start "$v" lane_emu "$v"
done
if [ -z "$quick" ] && has intel; then
	lane_start intel-san lane_intel_san
fi
lanes_wait

lanes_summary "$((SECONDS - start))"
exit "$lanes_status"
