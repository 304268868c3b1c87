#!/usr/bin/env bash
# Build the outer VM's initramfs.
#
#   lab/mkinitramfs.sh OUT.cpio.gz PAYLOAD STOCK_MODULES_DIR [TEST_MODULES_DIR] [-- FILE...]
#
# PAYLOAD is a shell script run by /init inside the outer VM (see lab/init).
# FILEs after -- go to /tests (static test programs, scripts).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ $# -ge 3 ] || die "usage: lab/mkinitramfs.sh OUT PAYLOAD STOCK_MODULES [TEST_MODULES] [-- FILE...]"
out=$1 payload=$2 stock=$3
shift 3
test_mods=$stock
if [ $# -gt 0 ] && [ "$1" != -- ]; then test_mods=$1; shift; fi
[ $# -gt 0 ] && [ "$1" = -- ] && shift

need_pkgs busybox-static cpio
[ -f "$payload" ] || die "payload $payload not found"
for d in "$stock" "$test_mods"; do [ -f "$d/kvm.ko" ] || die "no kvm.ko in $d"; done

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,lab/modules/stock,lab/modules/test,tests,etc}
cp /bin/busybox "$root/bin/busybox"
cp "$here/init" "$root/init"
cp "$here/lib-guest.sh" "$root/lab/"
cp "$payload" "$root/lab/payload"
cp "$stock"/*.ko "$root/lab/modules/stock/"
cp "$test_mods"/*.ko "$root/lab/modules/test/"
for f in "$@"; do cp -r "$f" "$root/tests/"; done
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out"
