#!/usr/bin/env bash
# Debian's own kernels in the lab: the image the distribution ships, its
# KVM modules, and the patched modules that the DKMS package builds for it.
#
#   lab/dist.sh release SERIES [FLAVOUR]   the kernel release, e.g. 6.1.0-57-amd64
#   lab/dist.sh kernel  SERIES [FLAVOUR]   DIR: DIR/bzImage (Debian's vmlinuz) and
#                                          DIR/modules/ (Debian's irqbypass, ccp,
#                                          kvm, kvm-amd, kvm-intel)
#   lab/dist.sh headers SERIES [FLAVOUR]   the headers' directory (KDIR)
#   lab/dist.sh dkms    SERIES [FLAVOUR]   DIR: DIR/modules/ with the patched kvm,
#                                          kvm-amd and kvm-intel that DKMS built,
#                                          beside Debian's irqbypass and ccp
#
# SERIES is 6.1 or 6.12, FLAVOUR amd64 (the default) or cloud-amd64. The
# release is resolved at run time: the headers package of that flavour whose
# Debian version is that of linux-source-SERIES, so the kernel, its headers
# and the KVM source are one Debian version. Downloads and builds are cached
# in ~/.cache/kvm-exitstat/debian/RELEASE/; the last line of stdout is the
# answer.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"

what=${1:?usage: lab/dist.sh release|kernel|headers|dkms SERIES [FLAVOUR]}
series=${2:?usage: lab/dist.sh release|kernel|headers|dkms SERIES [FLAVOUR]}
flavour=${3:-amd64}
case $series in 6.1|6.12) ;; *) die "unknown kernel series '$series' (want 6.1 or 6.12)" ;; esac
case $flavour in amd64|cloud-amd64) ;; *) die "unknown flavour '$flavour' (want amd64 or cloud-amd64)" ;; esac

# release: linux-headers-RELEASE at linux-source-SERIES's version; RELEASE
# is SERIES.N-ABI-FLAVOUR (6.1.0-57-amd64) or SERIES.N+debN-FLAVOUR.
release() {
	local want name rel abi
	want=$(apt-cache policy "linux-source-$series" | awk '/Candidate:/ { print $2 }')
	[ -n "$want" ] && [ "$want" != "(none)" ] || die "linux-source-$series is not in the apt sources"
	for name in $(apt-cache pkgnames "linux-headers-$series." | sort); do
		rel=${name#linux-headers-}
		abi=${rel%-"$flavour"}
		[ "$abi" != "$rel" ] || continue
		echo "$abi" | grep -q -E "^${series//./\\.}\.[0-9]+(-[0-9]+|\+deb[0-9]+)$" || continue
		[ "$(apt-cache policy "$name" | awk '/Candidate:/ { print $2 }')" = "$want" ] || continue
		echo "$rel"
		return 0
	done
	die "no linux-headers-*-$flavour package of Debian version $want (linux-source-$series)"
}
rel=$(release)
[ "$what" = release ] && { echo "$rel"; exit 0; }

dir=$(cache_dir)/debian/$rel
root=$dir/root
mkdir -p "$dir"
exec 9>"$dir/lock"
flock 9

# fetch PKG...: download and unpack Debian packages into ROOT, once.
fetch() {
	local p d
	d=$(mktemp -d)
	for p in "$@"; do
		[ -e "$dir/fetched-$p" ] && continue
		step "downloading and unpacking $p"
		(cd "$d" && apt-get -q -o APT::Sandbox::User=root download "$p" >/dev/null) ||
			{ rm -rf "$d"; die "apt-get download $p failed"; }
		dpkg-deb -x "$d"/*.deb "$root"
		rm -f "$d"/*.deb
		touch "$dir/fetched-$p"
	done
	rm -rf "$d"
}

# ko PATH DIR: the module PATH.ko into DIR, uncompressed (6.12's are .ko.xz;
# busybox insmod takes plain ELF).
ko() {
	if [ -f "$1.ko" ]; then cp "$1.ko" "$2/"
	elif [ -f "$1.ko.xz" ]; then xz -dc "$1.ko.xz" > "$2/$(basename "$1").ko"
	else die "no module $1.ko or $1.ko.xz"; fi
}

kernel() {
	if [ ! -e "$dir/kernel/done" ]; then
		fetch "linux-image-$rel"
		rm -rf "$dir/kernel"
		mkdir -p "$dir/kernel/modules"
		cp "$root/boot/vmlinuz-$rel" "$dir/kernel/bzImage"
		m=$root/lib/modules/$rel/kernel
		for f in virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd arch/x86/kvm/kvm-intel; do
			ko "$m/$f" "$dir/kernel/modules"
		done
		# kvm_amd depends on ccp where the kernel has SEV (modinfo depends).
		if modinfo -F depends "$dir/kernel/modules/kvm-amd.ko" | tr , '\n' | grep -x ccp >/dev/null; then
			ko "$m/drivers/crypto/ccp/ccp" "$dir/kernel/modules"
		fi
		touch "$dir/kernel/done"
	fi
	echo "$dir/kernel"
}

headers() {
	local kdir=/usr/src/linux-headers-$rel common kbuild
	# (no grep -q: with pipefail, its early exit can fail the pipe by SIGPIPE,
	# and the headers package, with its kernel, would then be installed)
	if apt-cache depends "linux-headers-$rel" | grep 'Depends: linux-image-' >/dev/null; then
		# These headers would install their kernel on this machine (6.12):
		# unpack them instead, with their absolute paths made local.
		if [ ! -e "$dir/headers-done" ]; then
			common=$(apt-cache depends "linux-headers-$rel" | sed -n 's/.*Depends: \(linux-headers-.*-common\)$/\1/p' | head -1)
			kbuild=$(apt-cache depends "linux-headers-$rel" | sed -n 's/.*Depends: \(linux-kbuild-.*\)$/\1/p' | head -1)
			fetch "linux-headers-$rel" "$common" "$kbuild"
			sed -i "s|^include /usr/src/|include $root/usr/src/|" "$root/usr/src/linux-headers-$rel/Makefile"
			touch "$dir/headers-done"
		fi
		kdir=$root/usr/src/linux-headers-$rel
	else
		need_pkgs "linux-headers-$rel"
	fi
	echo "$kdir"
}

dkms_modules() {
	local kdir kernel debs ver key out m a b
	kdir=$(headers | tail -1)
	kernel=$(kernel | tail -1)
	need_pkgs dkms
	debs=$("$top/kernel/deb.sh" | tail -1)
	# dpkg -i installs no dependency: the package's own, first.
	need_pkgs pahole $(dpkg-deb -f "$debs"/kvm-exitstat-dkms_*_all.deb Depends | tr ',' '\n' |
		sed -E 's/[(|].*//; s/[[:space:]]//g' | grep -v '^$')
	ver=$(dpkg-deb -f "$debs"/kvm-exitstat-dkms_*_all.deb Version)
	key=$(cat "$debs"/kvm-exitstat-dkms_*_all.deb.sha256)
	out=$dir/dkms-${key:0:12}
	if [ ! -e "$out/done" ]; then
		# The package, the build and the copy under the apt lock: the host
		# lane's DKMS transaction test removes and rebuilds the modules of
		# the same kernel (kernel/check-host-modules.sh).
		exec 6>"$(apt_lock)"
		flock 6
		dkms_pkg_install "$debs" "$dir/dpkg.log"
		step "dkms build kvm-exitstat/$ver for $rel (headers: $kdir)"
		as_root dkms build --force -m kvm-exitstat -v "$ver" -k "$rel" --kernelsourcedir "$kdir" \
			>"$dir/dkms.log" 2>&1 ||
			{ tail -30 "$dir/dkms.log" >&2
			  tail -30 "/var/lib/dkms/kvm-exitstat/$ver/build/make.log" >&2 2>/dev/null || true
			  die "dkms build for $rel failed"; }
		rm -rf "$dir"/dkms-*
		mkdir -p "$out/modules"
		for m in kvm kvm-amd kvm-intel; do
			ko /var/lib/dkms/kvm-exitstat/"$ver"/"$rel"/x86_64/module/$m "$out/modules"
		done
		cp "$kernel"/modules/irqbypass.ko "$out/modules/"
		[ ! -f "$kernel/modules/ccp.ko" ] || cp "$kernel/modules/ccp.ko" "$out/modules/"
		for m in kvm kvm-amd kvm-intel; do
			a=$(modinfo -F vermagic "$out/modules/$m.ko")
			b=$(modinfo -F vermagic "$kernel/modules/$m.ko")
			[ "$a" = "$b" ] || die "DKMS's $m.ko has vermagic '$a', Debian's '$b'"
		done
		touch "$out/done"
		exec 6>&-
	fi
	echo "$out"
}

case $what in
kernel) kernel ;;
headers) headers ;;
dkms) dkms_modules ;;
*) die "unknown request '$what' (want release, kernel, headers or dkms)" ;;
esac
