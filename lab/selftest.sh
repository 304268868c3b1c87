#!/usr/bin/env bash
# The lab's own tests: a run that fails, a kernel panic, a sanitizer report
# and a hang must each be reported as such by lab/run.sh (exit 1, 1, 1 and 2),
# and a passing payload (or one with only a known report from outside KVM,
# lab/known-reports) as a pass; otherwise a broken guest could look green.
#
#   lab/selftest.sh [KERNEL]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"

stock=$("$top/kernel/build.sh" "${1:-6.1}" stock | tail -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

expect() { # expect NAME STATUS PAYLOAD-TEXT [TIMEOUT [INIT-TEXT]]
	local rc=0
	printf '%s\n' "$3" > "$work/payload"
	"$here/mkinitramfs.sh" -o "$work/initrd.gz" -p "$work/payload" -s "$stock/modules" -t "$stock/modules"
	if [ -n "${5:-}" ]; then # a second archive whose /init replaces the lab's
		mkdir -p "$work/over"
		printf '%s\n' "$5" > "$work/over/init"
		chmod +x "$work/over/init"
		(cd "$work/over" && echo init | cpio -o -H newc --quiet) | gzip >> "$work/initrd.gz"
	fi
	"$here/run.sh" -q -v amd -k "$stock/bzImage" -i "$work/initrd.gz" -l "$work/log" -t "${4:-120}" \
		2>"$work/err" || rc=$?
	if [ "$rc" = "$2" ]; then
		passed=$((passed + 1)); echo "PASS  lab self-test: $1 (exit status $rc)"
	else
		failed=$((failed + 1)); echo "FAIL  lab self-test: $1: exit status $rc, expected $2"
		tail -n 20 "$work/log" "$work/err"
	fi
}

expect "a passing payload passes" 0 'kvm_load stock && kvm_unload'
expect "a failing payload fails" 1 'echo "this payload fails"; exit 3'
expect "a kernel panic fails" 1 '' 60 '#!/bin/busybox sh
echo "init exits: the kernel panics"; exit 1'
expect "a sanitizer report in the kernel log fails" 1 'echo "<3>BUG: KASAN: slab-out-of-bounds in lab_selftest+0x0/0x0" > /dev/kmsg'
expect "a known report from outside KVM does not" 0 'echo "<3>UBSAN: shift-out-of-bounds in arch/x86/kernel/apic/apic_flat_64.c:101:25" > /dev/kmsg'
expect "a VM that dies without a result fails" 2 'reboot -f'
expect "a hang is caught by the timeout" 2 'sleep 100000' 20
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
