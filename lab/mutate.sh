#!/usr/bin/env bash
# make mutate: small mutations of the patch series, one at a time, each
# built into KVM and run against the tests that should catch it; a mutation
# that no test catches (a survivor) fails the run. Part of make soak.
#
#   lab/mutate.sh [-l] [-m PATTERN]
#
# -l lists the mutations; -m runs only those whose name matches PATTERN.
#
# Each mutation is a Perl substitution on files of the patched tree that
# kernel/build.sh keeps; the tree is restored after each. A control run of
# the unmutated series with every mutation's tests must pass first, or a
# "caught" would mean nothing. Prints a table: mutation, tests, caught by.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"

# NAME | KERNEL | VENDOR | FILES | PERL SUBSTITUTION | TESTS: guest shell
# (no "|" in it; "t NAME CMD..." runs a KTAP test, and a failure counts,
# as does "fail=1"), or "kunit" for the KUnit tests of kvm_kunit.ko.
# VENDOR amd-bochs is AMD under Bochs's ryzen model, with NRIP-save, where
# kvm-amd's fastpath runs (lab/run.sh -e bochs).
mutations() {
	cat <<-'LIST'
	count taken after the answer (K + 1 rule off by one)|6.1|amd|arch/x86/kvm/exit_stats.c|s/\*eax = lower_32_bits\(sum->count\);/*eax = lower_32_bits(sum->count - 1);/|load test && t "patched/test_exit_stats" /tests/test_exit_stats && t "patched/test_exit_stats_oracles" /tests/test_exit_stats_oracles; kvm_unload
	SVM 0x400 (NPF) mapped to slot 0|6.1|amd|arch/x86/kvm/exit_stats.h|s/return reason - KVM_EXIT_STATS_HIGH_BASE \+ KVM_EXIT_STATS_LOW_END;/return reason - KVM_EXIT_STATS_HIGH_BASE;/|load test "" npt=1 && t "patched/test_exit_stats_oracles" /tests/test_exit_stats_oracles; kvm_unload
	L2 exits left out of the running total|6.1|amd|arch/x86/kvm/exit_stats.h|s/\te->count\+\+;\n\ts->total.count\+\+;/\te->count++;\n\tif (e >= s->slot && e < s->slot + KVM_EXIT_STATS_NR_SLOTS)\n\t\ts->total.count++;/|load test "" npt=1 && t "patched/test_exit_stats_nested" /tests/test_exit_stats_nested; kvm_unload
	L2 slots never allocated|6.1|amd|arch/x86/kvm/exit_stats.c|s/\ts = kvm_exit_stats_vcpu\(vcpu\);\n\ts->l2 = kcalloc/\treturn 0;\n\ts = kvm_exit_stats_vcpu(vcpu);\n\ts->l2 = kcalloc/|load test "" npt=1 && t "patched/test_exit_stats_nested" /tests/test_exit_stats_nested; kvm_unload
	global cycles not added|6.1|amd|arch/x86/kvm/exit_stats.h|s/(this_cpu_add\(kvm_exit_stats_pcpu->slot\[slot\]\.cycles, )cycles\);/${1}0);/; s/(this_cpu_add\(kvm_exit_stats_pcpu->total\.cycles, )cycles\);/${1}0);/|load test exit_stats_scope=global && t "patched/test_exit_stats_smp/global" /tests/test_exit_stats_smp -g; kvm_unload
	clamped incremented on every exit|6.1|amd|arch/x86/kvm/exit_stats.h|s/\treturn to - from;/\tWRITE_ONCE(s->clamped, s->clamped + 1);\n\treturn to - from;/|load test "" npt=1 && t "patched/test_exit_stats_oracles" /tests/test_exit_stats_oracles; kvm_unload
	undefined reasons answered like reasons KVM never saw|6.1|amd|arch/x86/kvm/exit_stats.c|s/\t\t\t\*edx = 0xffffffff;\n//|load test && t "patched/test_exit_stats_abi" /tests/test_exit_stats_abi; kvm_unload
	fastpath exits not counted|6.12|intel|arch/x86/kvm/vmx/vmx.c|s/\treturn vmx_exit_handlers_fastpath\(vcpu, force_immediate_exit\);/\t{\n\t\tfastpath_t f = vmx_exit_handlers_fastpath(vcpu, force_immediate_exit);\n\n\t\tif (f == EXIT_FASTPATH_REENTER_GUEST) {\n\t\t\tvmx->exit_stats.slot[vmx->exit_reason.basic].count--;\n\t\t\tvmx->exit_stats.total.count--;\n\t\t}\n\t\treturn f;\n\t}/|load test && t "patched/test_exit_stats_fastpath" /tests/test_exit_stats_fastpath; kvm_unload
	fastpath exits charged 0 cycles|6.12|intel|arch/x86/kvm/x86.c|s/(\t\t\+\+vcpu->stat\.exits;\n)\t\tkvm_exit_stats_end\(vcpu\);\n/$1/|load test && t "patched/test_exit_stats_fastpath" /tests/test_exit_stats_fastpath; kvm_unload
	SVM fastpath exits charged 0 cycles|6.12|amd-bochs|arch/x86/kvm/x86.c|s/(\t\t\+\+vcpu->stat\.exits;\n)\t\tkvm_exit_stats_end\(vcpu\);\n/$1/|load test && t "patched/test_exit_stats_fastpath" /tests/test_exit_stats_fastpath; kvm_unload
	the per-VM exit_stats_leaves ignored|6.12|amd|arch/x86/kvm/exit_stats.c|s/!exit_stats_leaves_shown\(READ_ONCE\(exit_stats_vm\(vcpu->kvm\)->leaves\),/!exit_stats_leaves_shown(KVM_EXIT_STATS_LEAVES_DEFAULT,/|load test && check "patched/a VM whose exit_stats_leaves is N answers like stock" sh -c '/tests/test_leaf_probe -w N > /tmp/hidden && ! grep -q 454d564b /tmp/hidden'; kvm_unload
	histogram buckets one too high|6.12|amd|arch/x86/kvm/exit_stats.h|s/\(KVM_EXIT_STATS_HIST_SHIFT - 1\),/(KVM_EXIT_STATS_HIST_SHIFT - 2),/|load test "exit_stats=hist" && t "patched/test_exit_stats_hist" /tests/test_exit_stats_hist; kvm_unload
	histogram of the next reason's slot|6.1|intel|arch/x86/kvm/exit_stats.h|s/s->hist\[slot\]\.bucket/s->hist[slot + 1].bucket/|load test "exit_stats=hist" && t "patched/test_exit_stats_hist" /tests/test_exit_stats_hist; kvm_unload
	VMX CPUID exits counted under the next reason|6.1|intel|arch/x86/kvm/vmx/vmx.c|s/kvm_exit_stats_vmx_slot\(vmx->exit_reason.basic\),/kvm_exit_stats_vmx_slot(vmx->exit_reason.basic + (vmx->exit_reason.basic == EXIT_REASON_CPUID)),/|load test && t "patched/test_exit_stats" /tests/test_exit_stats; kvm_unload
	the debugfs files pin neither kvm.ko nor the vendor module|6.12|amd|arch/x86/kvm/exit_stats.c|s/\t\.owner\t\t= THIS_MODULE,\n//g; s/!try_module_get\(v->owner\)/false/; s/\tstruct module \*owner = exit_stats_vendor->owner;\n\n//; s/\tmodule_put\(owner\);\n//; s/\t\tmodule_put\(v->owner\);\n//|load test && t "patched/test_exit_stats_unload" /tests/test_exit_stats_unload; kvm_unload
	VMX never registered in vt_init() (7.3's TDX-era main.c)|7.3|intel|arch/x86/kvm/vmx/main.c|s/\tkvm_exit_stats_set_vendor\(&vt_exit_stats_vendor\);\n//|load test && t "patched/test_exit_stats" /tests/test_exit_stats; kvm_unload
	static keys on before a vendor registers|6.1|amd|arch/x86/kvm/exit_stats.c arch/x86/kvm/exit_stats.h|s/(DE[A-Z]+_STATIC_KEY_)FALSE\((kvm_exit_stats_(?:cycles_)?key)\)/${1}TRUE($2)/g|kunit
	LIST
}
only=
while getopts "lm:" o; do
	case $o in
	l) mutations | cut -d'|' -f1-3; exit 0 ;;
	m) only=$OPTARG ;;
	*) die "usage: lab/mutate.sh [-l] [-m PATTERN]" ;;
	esac
done

out=${LAB_OUT:-$top/build/mutate}
rm -rf "$out"
mkdir -p "$out"
make -s -C "$top/tests/lab" O="$out/tests" >/dev/null
make -s -C "$top/guest" O="$out/guest" >/dev/null
tests=("$out"/tests/test_exit_stats "$out"/tests/test_exit_stats_oracles "$out"/tests/test_exit_stats_nested
	"$out"/tests/test_exit_stats_smp "$out"/tests/test_exit_stats_abi "$out"/tests/test_exit_stats_unload
	"$out"/tests/test_exit_stats_fastpath "$out"/tests/test_exit_stats_hist "$out"/tests/test_leaf_probe
	"$out/guest/exitstat")

# The KUnit line: kvm_kunit.ko (kvm.ko with the tests) loads alone, and
# every case must pass.
kunit_tests='grep -q "^irqbypass " /proc/modules || insmod /lab/modules/test/irqbypass.ko
insmod /lab/modules/test/kvm_kunit.ko || fail=1
dmesg | grep -E "^\[[ 0-9.]*\] +(not )?ok [0-9]+ exit_stats_test_" | sed "s/^\[[ 0-9.]*\] */[kunit] /"
! dmesg | grep -q "not ok" && dmesg | grep -q "ok 1 kvm-exit-stats" || fail=1
rmmod kvm 2>/dev/null'

# build NAME KERNEL FILE PERL KUNIT: the mutant's modules into
# $out/NAME/modules (PERL "none": the series as it is), and kvm_kunit.ko
# too if KUNIT is 1; non-zero if it does not build. The tree is back to
# the series either way.
build() {
	local name=$1 k=$2 file=$3 perl=$4 kunit=$5 stock dir src d
	stock=$("$top/kernel/build.sh" "$k" stock | tail -1)
	"$top/kernel/build.sh" "$k" patched > /dev/null
	dir=$(dirname "$stock") src=$dir/src d=$out/$name
	mkdir -p "$d/modules"
	(
		flock 9
		git -C "$src" checkout -q -f patched
		trap 'git -C "$src" checkout -q -f patched; kernel_make "$src" M=arch/x86/kvm modules > /dev/null 2>&1' EXIT
		if [ "$perl" != none ]; then
			for f in $file; do perl -0pi -e "$perl" "$src/$f"; done
			! git -C "$src" diff --quiet || { echo "the mutation did not change $file" > "$d/build.log"; exit 1; }
			git -C "$src" diff > "$d/mutation.diff"
		fi
		if [ "$kunit" = 1 ]; then
			kernel_make "$src" M=arch/x86/kvm CFLAGS_exit_stats.o=-DCONFIG_KVM_EXIT_STATS_KUNIT_TEST modules \
				> "$d/build.log" 2>&1 || exit 1
			cp "$src/arch/x86/kvm/kvm.ko" "$d/modules/kvm_kunit.ko"
		fi
		kernel_make "$src" M=arch/x86/kvm modules > "$d/build.log" 2>&1 || exit 1
		cp "$src/virt/lib/irqbypass.ko" "$src"/arch/x86/kvm/kvm.ko "$src"/arch/x86/kvm/kvm-amd.ko \
			"$src"/arch/x86/kvm/kvm-intel.ko "$d/modules/"
	) 9>"$dir/lock"
}

# run NAME KERNEL VENDOR TESTS: 0 if every test passed and the kernel
# reported nothing
run() {
	local name=$1 k=$2 v=$3 t=$4 stock d emuq=()
	[ "$v" != amd-bochs ] || emuq=(-e bochs)
	stock=$("$top/kernel/build.sh" "$k" stock | tail -1)
	d=$out/$name
	[ "$t" != kunit ] || t=$kunit_tests
	printf 'MUTANT=%q\nTESTS=%q\n' "$name" "$t" > "$d/mutate.env"
	"$here/mkinitramfs.sh" -o "$d/initrd.gz" -p "$top/tests/lab/mutate-payload.sh" \
		-s "$stock/modules" -t "$d/modules" "${tests[@]}" "$d/mutate.env"
	"$here/run.sh" -q -v "${v%-bochs}" ${emuq[@]+"${emuq[@]}"} \
		-k "$stock/bzImage" -i "$d/initrd.gz" -l "$d/lab.log" -c 1 \
		-t "$([ "$v" = amd ] && echo 900 || echo 2400)" -S "$(dirname "$stock")/src/System.map" 2>/dev/null
}

# What caught a mutant: its failed tests, or the kernel's report.
caught_by() {
	local log=$1 f
	f=$(tr -d '\r' < "$log" | sed -n -E 's/^\[[^]]*\] not ok [0-9]+ ([^ ]+).*/\1/p; s/^\[kunit\] +not ok [0-9]+ (.*)/kunit \1/p' | sort -u | paste -sd, -)
	[ -n "$f" ] || f=$(tr -d '\r' < "$log" | sed -n -E 's/^LAB-TEST: (.*) passed=[0-9]+ failed=[1-9][0-9]* .*/\1/p' | sort -u | paste -sd, -)
	if [ -n "$f" ]; then echo "$f"
	elif grep -q -E 'Kernel panic|BUG:|Oops' "$log"; then echo "kernel oops: $(grep -m1 -E 'BUG:|Oops|Kernel panic' "$log" | tr -d '\r' | cut -c1-80)"
	else echo "a failed boot"; fi
}

passed=0 failed=0
declare -A control=()
echo "| mutation | kernel, vendor | caught by |" > "$out/table.md"
echo "|---|---|---|" >> "$out/table.md"
while IFS='|' read -r name k v file perl t; do
	key=$k-$v-$(printf '%s' "$t" | cksum | cut -d' ' -f1)
	# The control: the same tests on the unmutated series pass.
	if [ ! -d "$out/control-$k" ]; then
		step "control: the unmutated series for linux $k"
		build "control-$k" "$k" "$file" none 1 || die "the unmutated series does not build for linux $k: $out/control-$k/build.log"
	fi
	if [ -z "${control[$key]:-}" ]; then
		step "control: the unmutated series on linux $k, $v, against: ${t:0:60}"
		mkdir -p "$out/control-$key"
		ln -sfn "$out/control-$k/modules" "$out/control-$key/modules"
		if run "control-$key" "$k" "$v" "$t"; then
			control[$key]=ok
		else
			control[$key]=bad
			failed=$((failed + 1))
			echo "FAIL  control for '$name' ($k, $v): the unmutated series fails its tests ($out/control-$key/lab.log)"
		fi
	fi
	[ "${control[$key]}" = ok ] || continue
	step "mutant: $name (linux $k, $v)"
	if ! build "$name" "$k" "$file" "$perl" "$([ "$t" = kunit ] && echo 1 || echo 0)"; then
		# A mutation must make code that builds, or it tests nothing.
		failed=$((failed + 1))
		echo "FAIL  mutant does not build: $name ($k, $v): $(grep -m1 -E 'error|did not' "$out/$name/build.log")"
		echo "| $name | $k, $v | **does not build** |" >> "$out/table.md"
	elif run "$name" "$k" "$v" "$t"; then
		failed=$((failed + 1))
		echo "FAIL  mutant survived: $name ($k, $v)"
		echo "| $name | $k, $v | **survived** |" >> "$out/table.md"
	else
		by=$(caught_by "$out/$name/lab.log")
		passed=$((passed + 1))
		echo "PASS  mutant caught: $name ($k, $v): $by"
		echo "| $name | $k, $v | $by |" >> "$out/table.md"
	fi
done < <(mutations | grep -e "${only:-.}")
cat "$out/table.md"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
