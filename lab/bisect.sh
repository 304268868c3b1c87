#!/usr/bin/env bash
# Every prefix of each patch series runs, not only builds: the KVM modules
# built after each patch (in the tree kernel/build.sh keeps) load into the
# stock kernel, and a VM's CPUID loop runs on them without an oops, under
# QEMU (AMD SVM) and Bochs (Intel VMX) (tests/lab/bisect-payload.sh). One
# boot per kernel and vendor runs every prefix. make soak runs it.
#
#   lab/bisect.sh [-k "6.1 6.12 7.3"] [-v "amd intel"]
#
# Prints one line per prefix, kernel and vendor and "N passed, N failed".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"
. "$here/results.sh"

kernels="6.1 6.12 7.3" vendors="amd intel"
while getopts "k:v:" o; do
	case $o in
	k) kernels=$OPTARG ;; v) vendors=$OPTARG ;;
	*) die "usage: lab/bisect.sh [-k KERNELS] [-v VENDORS]" ;;
	esac
done
out=${LAB_OUT:-$top/build/bisect}
rm -rf "$out"
mkdir -p "$out"
make -s -C "$top/tests/lab" O="$out/tests" >/dev/null
passed=0 failed=0
for k in $kernels; do
	stock=$("$top/kernel/build.sh" "$k" stock | tail -1)
	"$top/kernel/build.sh" "$k" patched > /dev/null
	dir=$(dirname "$stock")
	src=$dir/src
	mods=$out/$k
	mkdir -p "$mods"
	(
		flock 9
		n=$(git -C "$src" rev-list --count stock..patched)
		for ((i = 1; i <= n; i++)); do
			git -C "$src" checkout -q -f "patched~$((n - i))"
			step "linux $k: building KVM after patch $i/$n: $(git -C "$src" log -1 --format=%s)"
			kernel_make "$src" M=arch/x86/kvm modules > "$mods/build-p$i.log" 2>&1 ||
				{ tail -20 "$mods/build-p$i.log" >&2; die "linux $k: KVM does not build after patch $i"; }
			for m in kvm kvm-amd kvm-intel; do
				cp "$src/arch/x86/kvm/$m.ko" "$mods/p$i.$m.ko"
			done
		done
		# back to the whole series, as kernel/build.sh left the tree
		git -C "$src" checkout -q -f patched
		kernel_make "$src" M=arch/x86/kvm modules > "$mods/build.log" 2>&1
	) 9>"$dir/lock"
	n=$(ls "$mods"/p*.kvm.ko | wc -l)
	for v in $vendors; do
		initrd=$out/initrd-$k-$v.gz log=$out/lab-$k-$v.log
		"$here/mkinitramfs.sh" -o "$initrd" -p "$top/tests/lab/bisect-payload.sh" \
			-s "$stock/modules" -t "$stock/modules" "$out/tests/test_exits_stat" "$mods"/p*.ko
		step "booting linux $k on $v with the modules of each of the $n prefixes (log: $log)"
		rc=0
		"$here/run.sh" -q -v "$v" -k "$stock/bzImage" -i "$initrd" -l "$log" -c 1 \
			-t "$([ "$v" = amd ] && echo 900 || echo 3600)" -S "$src/System.map" || rc=$?
		facts=$(boot_facts "$top/tests/lab/bisect-payload.sh" "$v" plain "$k" 1 "")
		seen=0
		while IFS=$'\t' read -r verdict name what; do
			if [ "$verdict" = PASS ]; then
				passed=$((passed + 1)) seen=$((seen + 1))
				echo "PASS  $name ($what)"
			else
				failed=$((failed + 1))
				echo "FAIL  $name: $what"
			fi
		done < <(boot_results "$log" "$k/$v" "$facts" "$top/tests/lab/manifest")
		if [ "$rc" != 0 ] || [ "$seen" != "$n" ]; then
			failed=$((failed + 1))
			echo "FAIL  $k/$v boot: exit status $rc, $seen of $n prefixes passed"
			tail -n 40 "$log"
		fi
	done
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
