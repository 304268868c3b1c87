#!/usr/bin/env bash
# Run the in-lab tests: for each kernel and vendor, boot the stock kernel
# under emulation once, and inside it run the tests against the stock KVM
# modules (the oracles) and against the patched ones.
#
#   lab/check.sh [-k "6.1 6.12 7.3"] [-v "amd intel amd-bochs"] [-f san] [-p PAYLOAD [-e FILE...]]
#
# amd-bochs is AMD under Bochs's ryzen model instead of QEMU: slower, but
# with NRIP-save, so that KVM's SVM fastpath runs (lab/run.sh -e bochs).
#
# -f san boots the sanitizer flavour of the kernel (kernel/build.sh) and uses
# its modules; -f dist boots Debian 12's own kernel image of that series
# (-f dist-cloud its cloud flavour, -f dist13 Debian 13's: 6.12, or 7.3
# from trixie-backports), with Debian's KVM modules as the oracles and the
# modules the DKMS package built for it under test (lab/dist.sh), and the
# lab's kernel in the inner VM; -p runs another payload instead of tests/lab/payload.sh, with
# no inner VM, and -e adds files to its /tests (lab/reliability.sh does both).
#
# Prints one line per test, the outer VM's log of any run that failed, and
# a closing "N passed, N failed" line; exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"
. "$here/results.sh"

kernels="6.1 6.12 7.3"
vendors="amd intel"
flavour= payload=$top/tests/lab/payload.sh inner=1 extra=()
while getopts "k:v:f:p:e:" o; do
	case $o in
	k) kernels=$OPTARG ;; v) vendors=$OPTARG ;; f) flavour=$OPTARG ;;
	p) payload=$OPTARG inner= ;; e) extra+=("$OPTARG") ;;
	*) die "usage: lab/check.sh [-k \"6.1 6.12 7.3\"] [-v \"amd intel\"] [-f san] [-p PAYLOAD [-e FILE...]]" ;;
	esac
done

out=${LAB_OUT:-$top/build/lab}
mkdir -p "$out"
need_pkgs build-essential
step "building the in-lab test programs and exitstat"
make -s -C "$top/tests/lab" O="$out/tests" >/dev/null
make -s -C "$top/guest" O="$out/guest" >/dev/null
[ -z "$inner" ] || "$here/mkinitramfs.sh" -i -o "$out/inner.gz" -p "$top/tests/lab/inner-check.sh" "$out/guest/exitstat"

# LAB_PAGING_MODES: the nested paging settings the main payload tests, "1 0"
# (on, then off: EPT/NPT, then shadow paging) unless it says otherwise;
# make check's Intel boots of the kernels after the first give "1".
paging_env() {
	[ -z "${LAB_PAGING_MODES:-}" ] || [ "$payload" != "$top/tests/lab/payload.sh" ] || {
		case " $LAB_PAGING_MODES " in
		" 1 "|" 0 "|" 1 0 "|" 0 1 ") ;;
		*) die "LAB_PAGING_MODES='$LAB_PAGING_MODES': want 1, 0 or \"1 0\"" ;;
		esac
		printf 'PAGING_MODES="%s"\n' "$LAB_PAGING_MODES" >> "$out/payload.env"
	}
}

passed=0 failed=0 skipped=0
failures=() retried=()
record() { # record NAME OK DETAIL
	if [ "$2" = 1 ]; then
		passed=$((passed + 1))
		printf 'PASS  %s\n' "$1"
	else
		failed=$((failed + 1))
		failures+=("$1")
		printf 'FAIL  %s%s\n' "$1" "${3:+: $3}"
	fi
}

for k in $kernels; do
	env=() rootq=()
	case $flavour in
	dist|dist-cloud|dist13)
		case $flavour in
		dist) dq=(-d 12) deb=amd64 ;;
		dist-cloud) dq=(-d 12) deb=cloud-amd64 ;;
		dist13) dq=(-d 13) deb=amd64 ;;
		esac
		stock=$("$here/dist.sh" "${dq[@]}" kernel "$k" $deb | tail -1)
		patched=$("$here/dist.sh" "${dq[@]}" dkms "$k" $deb | tail -1)
		innerk=$(inner_kernel "$k")
		# Debian's kernels have no KUnit. kernel/install-host.sh runs there
		# as on a real host: the distribution's KVM in /lib/modules.
		printf 'KUNIT_TESTS=0\nINSTALL_HOST_TEST=1\n' > "$out/payload.env"
		paging_env
		env=("$out/payload.env" "$top/kernel/install-host.sh")
		rel=$("$here/dist.sh" "${dq[@]}" release "$k" $deb | tail -1)
		overlay=$out/root-$rel
		rm -rf "$overlay"
		m=$(dirname "$stock")/root/lib/modules/$rel
		mkdir -p "$overlay/lib/modules/$rel"
		cp "$m"/modules.builtin* "$m"/modules.order "$overlay/lib/modules/$rel/"
		# KVM and what it depends on (no ccp in the cloud flavour).
		(cd "$m" && for d in kernel/virt/lib kernel/arch/x86/kvm kernel/drivers/crypto/ccp; do
			[ ! -d "$d" ] || find "$d" -name '*.ko*'
		done | cpio -pdm --quiet "$overlay/lib/modules/$rel")
		rootq=(-r "$overlay")
		sysmap=$stock/System.map
		;;
	*)
		stock=$("$top/kernel/build.sh" "$k" stock $flavour | tail -1)
		patched=$("$top/kernel/build.sh" "$k" patched $flavour | tail -1)
		innerk=$(inner_kernel "$k")
		sysmap=$(dirname "$stock")/src/System.map
		: > "$out/payload.env"
		paging_env
		[ ! -s "$out/payload.env" ] || env=("$out/payload.env")
		;;
	esac
	for v in $vendors; do
		case $v in
		amd-bochs) vendor=amd emuq=(-e bochs) ;;
		*) vendor=$v emuq=() ;;
		esac
		kf=$k${flavour:+-$flavour}
		innerq=()
		[ -z "$inner" ] || innerq=(-q "$innerk:$out/inner.gz")
		tag="$kf/$v"
		initrd="$out/initrd-$kf-$v.gz"
		log="$out/lab-$kf-$v.log"
		"$here/mkinitramfs.sh" -o "$initrd" -p "$payload" \
			-s "$stock/modules" -t "$patched/modules" ${innerq[@]+"${innerq[@]}"} ${rootq[@]+"${rootq[@]}"} \
			"$out"/tests/test_* "$out/guest/exitstat" ${extra[@]+"${extra[@]}"} ${env[@]+"${env[@]}"}
		# CPUs of the outer VM. Bochs runs its CPUs in turn on one host
		# thread, deterministically: the plain kernels' Intel boots have 2,
		# so that the SMP tests run on two CPUs and the migration test can
		# move a vCPU thread between them (the sanitizer kernel's boot, the
		# longest, keeps 1). On AMD the lab kernel sees one CPU: it has no
		# ACPI, and SeaBIOS's MP table lists only the boot CPU; with ACPI
		# and QEMU's multi-threaded TCG, 2 CPUs stalled in the stress test
		# (as Debian's kernels did, below).
		# (Bochs's ryzen model gives a second CPU the wrong APIC ID in
		# CPUID, which 6.12 and 7.3 report: amd-bochs has one CPU too.)
		case $vendor/$flavour in amd/*) cpus=1 ;; intel/) cpus=2 ;; *) cpus=1 ;; esac
		# Debian's kernels patch their own text (text_poke_bp, int3) at each
		# static key and tracepoint switch, which KVM flips as VMs and vCPUs
		# come and go. Under QEMU's multi-threaded TCG with 2 CPUs that went
		# wrong: an int3 Oops in __schedule as 6.12's stock kvm-amd.ko
		# loaded, and stock and patched KVM alike stopped making progress
		# in tests that create VMs or enable kvm_exit on 6.1. So their 2
		# CPUs take turns on one host thread (LAB_DIST_TCG=multi to try).
		# And even so, with 2 CPUs the 6.1 lane once stopped making progress
		# as its inner VM started (make check, a loaded host); every hang
		# seen had 2 CPUs. One CPU unless LAB_DIST_CPUS says otherwise:
		# make check gives 2 to the migration test alone
		# (tests/lab/migrate-payload.sh), which starts no inner VM.
		tcgq=()
		case $flavour in
		dist*)
			[ "${LAB_DIST_TCG:-single}" = multi ] || tcgq=(-s)
			cpus=${LAB_DIST_CPUS:-1}
			;;
		esac
		# The wall-clock limit of the whole boot. Bochs emulates its CPUs in
		# turn on one host thread, so 2 CPUs take about twice as long: the
		# 6.1 Intel boot took 1,488 s and then 1,519 s (over the old single
		# limit, with nothing hung) while make check's other lanes ran.
		timeout=${LAB_TIMEOUT:-1500}
		[ -n "${LAB_TIMEOUT:-}" ] || [ "$vendor" != intel ] || [ "$cpus" = 1 ] || timeout=3000
		step "booting linux $k on $v (log: $log)"
		rc=0
		"$here/run.sh" -q ${tcgq[@]+"${tcgq[@]}"} -v "$vendor" ${emuq[@]+"${emuq[@]}"} -k "$stock/bzImage" -i "$initrd" -l "$log" \
			-c "$cpus" -t "$timeout" -S "$sysmap" || rc=$?
		# QEMU 7.2's TCG at times leaves the guest's only CPU halted with
		# interrupts on and a deliverable interrupt pending in its local
		# APIC (status 3: the dump shows it, lab/run.sh). No CPU does that,
		# so it is the emulator's fault: the boot runs once more, from the
		# start, and says so; its results are the second run's alone. A
		# second such stall, or any other failure, fails as it is.
		if [ "$rc" = 3 ] && [ "${LAB_EMU_RETRY:-1}" = 1 ]; then
			mv "$log" "$log.try1"
			mv "$log.stall" "$log.try1.stall"
			retried+=("$tag: $(sed -n 's/^lab: EMULATOR FAULT: //p' "$log.try1.stall") ($log.try1.stall)")
			echo "RETRY $tag boot: the emulator stalled with an interrupt pending; booting once more (dump: $log.try1.stall)"
			rc=0
			"$here/run.sh" -q ${tcgq[@]+"${tcgq[@]}"} -v "$vendor" ${emuq[@]+"${emuq[@]}"} -k "$stock/bzImage" -i "$initrd" -l "$log" \
				-c "$cpus" -t "$timeout" -S "$sysmap" || rc=$?
		fi
		# Every test the manifest names for this boot, and only those; a
		# test whose subtests all skipped is a SKIP where it allows one.
		facts=$(boot_facts "$payload" "$vendor" "$flavour" "$k" "$cpus" "$inner" \
			${extra[@]+"${extra[@]}"} ${env[@]+"${env[@]}"})
		[ "$v" != amd-bochs ] || facts+=" emu:bochs"
		seen=0
		while IFS=$'\t' read -r verdict name what; do
			seen=1
			case $verdict in
			PASS) record "$name ($what)" 1 ;;
			SKIP) skipped=$((skipped + 1)); printf 'SKIP  %s (%s)\n' "$name" "$what" ;;
			*) record "$name" 0 "$what" ;;
			esac
		done < <(boot_results "$log" "$tag" "$facts" "$top/tests/lab/manifest")
		# The main payload's test_exit_stats_hist puts exitstat's --prom text
		# for its VM in the log; promtool, on this side, checks it.
		if [[ " $facts " == *" main "* ]]; then
			what="$tag patched/exitstat --prom of a VM with histograms passes promtool"
			tr -d '\r' < "$log" | sed -n 's/^\[[^]]*\] # \[prom\] //p' > "$log.prom"
			if [ ! -s "$log.prom" ]; then
				record "$what" 0 "test_exit_stats_hist printed no --prom text"
			elif "$(need_promtool)/promtool" check metrics < "$log.prom" > "$log.promtool" 2>&1; then
				record "$what ($(grep -c '^kvm_exitstat_exit_cycles_bucket' "$log.prom") bucket series)" 1
			else
				record "$what" 0 "$(head -3 "$log.promtool" | tr '\n' ' ')"
			fi
		fi
		if [ "$rc" != 0 ]; then
			record "$tag boot" 0 "$(case $rc in 1) echo "payload or kernel failed" ;; *) echo "no result: crash, stall or timeout" ;; esac)"
			[ ! -f "$log.stall" ] || sed -n '1,2p' "$log.stall"
			echo "---- outer VM log ($tag), last 80 lines of $log ----"
			tail -n 80 "$log"
			echo "---- end of log ----"
		elif [ "$seen" = 0 ]; then
			record "$tag boot" 0 "the outer VM ran no test"
		fi
	done
done

if [ "${#failures[@]}" -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failures[@]}"
fi
if [ "${#retried[@]}" -gt 0 ]; then
	echo "${#retried[@]} boot(s) run again after an emulator stall (RETRY lines above):"
	printf '  %s\n' "${retried[@]}"
fi
[ "$skipped" = 0 ] || echo "$skipped skipped (SKIP lines above; a skip is not a pass)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
