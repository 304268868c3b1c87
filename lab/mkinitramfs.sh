#!/usr/bin/env bash
# Build an initramfs for the lab's outer VM (or, with -i, for an inner VM).
#
#   lab/mkinitramfs.sh -o OUT.gz -p PAYLOAD [-s STOCK_MODULES -t TEST_MODULES]
#                      [-q INNER_KERNEL:INNER_INITRD] [-i] [FILE...]
#
#   -p  shell script /init runs (see lab/init); FILEs go to /tests
#   -s  the distribution's KVM modules, -t the ones under test
#   -q  also QEMU with its libraries and firmware, and the kernel and
#       initramfs of an inner VM for it to boot (/inner/)
#   -i  an inner VM's initramfs: Debian's cpuid with its libraries, no modules
#   -r  copy the tree DIR into the initramfs's root, and add bash and kmod
#       (depmod, modprobe, modinfo in /usr/local/kmod/) for scripts written
#       for a real host (kernel/install-host.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

out= payload= stock= test_mods= inner= innervm= overlay=
while getopts "o:p:s:t:q:ir:" o; do
	case $o in
	o) out=$OPTARG ;; p) payload=$OPTARG ;; s) stock=$OPTARG ;; t) test_mods=$OPTARG ;;
	q) inner=$OPTARG ;; i) innervm=1 ;; r) overlay=$OPTARG ;;
	*) die "usage: lab/mkinitramfs.sh -o OUT -p PAYLOAD [-s DIR -t DIR] [-q KERNEL:INITRD] [-i] [-r DIR] [FILE...]" ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$out" ] && [ -n "$payload" ] || die "lab/mkinitramfs.sh needs -o and -p"
[ -f "$payload" ] || die "payload $payload not found"
need_pkgs busybox-static cpio

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,lab,tests,etc}
cp /bin/busybox "$root/bin/busybox"
cp "$here/init" "$root/init"
cp "$here/lib-guest.sh" "$root/lab/"
cp "$payload" "$root/lab/payload"
chmod +x "$root/init"

# copy_elf FILE DEST: a dynamically linked program and the libraries it needs
copy_elf() {
	local lib
	install -D "$1" "$root$2"
	for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] || install -D "$lib" "$root$lib"
	done
}

if [ -n "$stock$test_mods" ]; then
	for d in "$stock" "$test_mods"; do [ -f "$d/kvm.ko" ] || die "no kvm.ko in '$d'"; done
	mkdir -p "$root/lab/modules/stock" "$root/lab/modules/test"
	cp "$stock"/*.ko "$root/lab/modules/stock/"
	cp "$test_mods"/*.ko "$root/lab/modules/test/"
fi
if [ -n "$innervm" ]; then
	need_pkgs cpuid
	copy_elf /usr/bin/cpuid /usr/bin/cpuid
fi
if [ -n "$inner" ]; then
	need_pkgs qemu-system-x86 seabios
	copy_elf "$(command -v qemu-system-x86_64)" /usr/bin/qemu-system-x86_64
	mkdir -p "$root/inner/share"
	cp -L /usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin \
		/usr/share/qemu/kvmvapic.bin "$root/inner/share/"
	cp "${inner%%:*}" "$root/inner/bzImage"
	cp "${inner#*:}" "$root/inner/initrd.gz"
fi
if [ -n "$overlay" ]; then
	cp -a "$overlay/." "$root/"
	copy_elf /bin/bash /bin/bash
	copy_elf /bin/kmod /usr/local/kmod/kmod
	for t in depmod modprobe modinfo; do ln -s kmod "$root/usr/local/kmod/$t"; done
fi
for f in "$@"; do cp -r "$f" "$root/tests/"; done
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out"
