#!/usr/bin/env bash
# make demo: build (or reuse) the lab kernel and the patched KVM modules,
# boot the outer VM under emulation, swap the stock KVM modules for the
# patched ones, run a guest and show what it reads.
#
#   lab/demo.sh [-v amd|intel] [-k 6.1|6.12|7.3]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"

vendor=amd kernel=6.1
while getopts "v:k:" o; do
	case $o in
	v) vendor=$OPTARG ;; k) kernel=$OPTARG ;;
	*) die "usage: lab/demo.sh [-v amd|intel] [-k 6.1|6.12|7.3]" ;;
	esac
done
case $vendor in amd|intel) ;; *) die "VENDOR must be amd or intel, not '$vendor'" ;; esac

out=$top/build/demo
mkdir -p "$out"
need_pkgs build-essential
stock=$("$top/kernel/build.sh" "$kernel" stock | tail -1)
patched=$("$top/kernel/build.sh" "$kernel" patched | tail -1)
step "building exitstat and the inner VM's initramfs"
make -s -C "$top/guest" O="$out/guest" >/dev/null
"$here/mkinitramfs.sh" -i -o "$out/inner.gz" -p "$here/inner-payload.sh" "$out/guest/exitstat"
step "building the outer VM's initramfs (with QEMU for the inner VM)"
"$here/mkinitramfs.sh" -o "$out/initrd.gz" -p "$here/demo-payload.sh" \
	-s "$stock/modules" -t "$patched/modules" -q "$(inner_kernel "$kernel"):$out/inner.gz"
case $vendor in
amd) step "booting linux $kernel under QEMU TCG (-cpu EPYC: AMD SVM with nested paging)" ;;
intel) step "booting linux $kernel under Bochs (corei7_skylake_x: Intel VMX with EPT); about a minute" ;;
esac
rc=0
"$here/run.sh" -q -v "$vendor" -k "$stock/bzImage" -i "$out/initrd.gz" -l "$out/outer-vm.log" \
	-c "$([ "$vendor" = amd ] && echo 2 || echo 1)" -m 1024 -t 1800 || rc=$?
# The readable part of the log: from the first step to the result line.
sed -n '/^== 1\./,/^LAB-RESULT/p' "$out/outer-vm.log" | grep -v '^\[ *[0-9.]*\] ' || true
if [ "$rc" != 0 ]; then
	tail -40 "$out/outer-vm.log"
	die "the demo failed (vendor $vendor, linux $kernel); full log: $out/outer-vm.log"
fi
echo "demo done ($vendor, linux $kernel); the outer VM's whole log: $out/outer-vm.log"
