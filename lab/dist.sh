#!/usr/bin/env bash
# Debian's own kernels in the lab: the image the distribution ships, its
# KVM modules, and the patched modules that the DKMS package builds for it.
#
#   lab/dist.sh [-d 12|13] release SERIES [FLAVOUR]   the kernel release, e.g. 6.1.0-57-amd64
#   lab/dist.sh [-d 12|13] kernel  SERIES [FLAVOUR]   DIR: DIR/bzImage (Debian's vmlinuz),
#                                          DIR/System.map and DIR/modules/ (Debian's
#                                          irqbypass, ccp, kvm, kvm-amd, kvm-intel)
#   lab/dist.sh [-d 12|13] headers SERIES [FLAVOUR]   the headers' directory (KDIR)
#   lab/dist.sh [-d 12|13] dkms    SERIES [FLAVOUR]   DIR: DIR/modules/ with the patched kvm,
#                                          kvm-amd and kvm-intel that DKMS built,
#                                          beside Debian's irqbypass and ccp
#
# -d 12 (the default): Debian 12's kernels, SERIES 6.1 or 6.12, from the
# system's apt sources; the DKMS package is built and installed on this
# machine. -d 13: Debian 13's, SERIES 6.12 (trixie) or 7.3 (trixie-
# backports), through the cache's own apt configuration (debian13_apt in
# lab/lib.sh); they are built with gcc-14, so DKMS builds their modules in
# a Debian 13 system in the cache (debian13_root), with its headers, its
# linux-source and its own dkms, and the headers directory printed is
# inside that system.
#
# FLAVOUR is amd64 (the default) or cloud-amd64. The release is resolved at
# run time: the headers package of that flavour whose Debian version is
# that of linux-source-SERIES (the newest one the release's sources have),
# so the kernel, its headers and the KVM source are one Debian version.
# Downloads and builds are cached in ~/.cache/kvm-exitstat/debian/RELEASE/;
# the last line of stdout is the answer.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib.sh"

usage="usage: lab/dist.sh [-d 12|13] release|kernel|headers|dkms SERIES [FLAVOUR]"
debian=12
while getopts "d:" o; do
	case $o in d) debian=$OPTARG ;; *) die "$usage" ;; esac
done
shift $((OPTIND - 1))
what=${1:?$usage}
series=${2:?$usage}
flavour=${3:-amd64}
case $debian/$series in
12/6.1|12/6.12|13/6.12|13/7.3) ;;
12/*|13/*) die "Debian $debian has no kernel series '$series' in the lab (Debian 12: 6.1, 6.12; Debian 13: 6.12, 7.3)" ;;
*) die "unknown Debian release '$debian' (want 12 or 13)" ;;
esac
case $flavour in amd64|cloud-amd64) ;; *) die "unknown flavour '$flavour' (want amd64 or cloud-amd64)" ;; esac

# apt_ CMD ARGS...: apt-get or apt-cache on this Debian release's sources.
apt_() {
	if [ "$debian" = 13 ]; then debian13_apt "$@"; else "$@"; fi
}

# source_version: linux-source-SERIES's version. Debian 12: the candidate
# of the system's sources. Debian 13: the newest its sources carry (the
# system's own linux-source-6.12, Debian 12's, may be installed and newer).
source_version() {
	local v best=
	if [ "$debian" = 12 ]; then
		apt-cache policy "linux-source-$series" | awk '/Candidate:/ { print $2 }'
		return 0
	fi
	for v in $(apt_ apt-cache madison "linux-source-$series" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }'); do
		[ -n "$best" ] && dpkg --compare-versions "$v" le "$best" || best=$v
	done
	echo "$best"
}

# release: linux-headers-RELEASE at linux-source-SERIES's version; RELEASE
# is SERIES.N-ABI-FLAVOUR (6.1.0-57-amd64) or SERIES.N+debN-FLAVOUR. One
# apt-cache call asks about every candidate package at once.
release() {
	local want name rel abi
	local -a names=()
	want=$(source_version)
	[ -n "$want" ] && [ "$want" != "(none)" ] || die "linux-source-$series is not in Debian $debian's apt sources"
	for name in $(apt_ apt-cache pkgnames "linux-headers-$series." | sort); do
		rel=${name#linux-headers-}
		abi=${rel%-"$flavour"}
		[ "$abi" != "$rel" ] || continue
		echo "$abi" | grep -q -E "^${series//./\\.}\.[0-9]+(-[0-9]+|\+deb[0-9]+)$" || continue
		names+=("$name")
	done
	[ "${#names[@]}" -gt 0 ] && if [ "$debian" = 12 ]; then
		# the packages whose candidate is WANT
		apt-cache policy "${names[@]}" |
			awk -v v="$want" '/^[^ ]/ { p = $1; sub(/:$/, "", p) }
				$1 == "Candidate:" && $2 == v { print p }'
	else
		# the packages Debian 13's sources carry at WANT (not the
		# candidate: Debian 12's own packages may be newer)
		apt_ apt-cache madison "${names[@]}" |
			awk -F'|' -v v="$want" '{ gsub(/ /, "", $1); gsub(/ /, "", $2) }
				$2 == v { print $1 }'
	fi | sort | sed -n '1s/^linux-headers-//p' | grep . ||
		die "no linux-headers-*-$flavour package of Debian version $want (linux-source-$series, Debian $debian)"
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
		(cd "$d" && apt_ apt-get -q -o APT::Sandbox::User=root download "$p" >/dev/null) ||
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
	if [ ! -e "$dir/kernel/done" ] || [ ! -e "$dir/kernel/System.map" ]; then
		fetch "linux-image-$rel"
		# Debian 13 backports' 7.3 splits the image: linux-image-RELEASE
		# depends on linux-binary (vmlinuz) and linux-base (System.map,
		# modules.order), and the modules are in linux-modules.
		if [ ! -e "$root/boot/vmlinuz-$rel" ]; then
			fetch "linux-binary-$rel" "linux-base-$rel" "linux-modules-$rel"
		fi
		# Debian 13's packages put modules in /usr/lib (merged /usr).
		[ -e "$root/lib" ] || [ ! -d "$root/usr/lib/modules" ] || ln -s usr/lib "$root/lib"
		rm -rf "$dir/kernel"
		mkdir -p "$dir/kernel/modules"
		if [ -e "$root/boot/vmlinuz-$rel" ]; then
			cp "$root/boot/vmlinuz-$rel" "$dir/kernel/bzImage"
			cp "$root/boot/System.map-$rel" "$dir/kernel/System.map"
		else
			cp "$root/lib/modules/$rel/vmlinuz" "$dir/kernel/bzImage"
			# (a stub there: the symbols are in the -dbg package)
			cp "$root/lib/modules/$rel/System.map" "$dir/kernel/System.map"
		fi
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

# package: the kvm-exitstat-dkms package make deb builds, as debs (its
# directory) and ver (its version), and out, where this kernel's modules
# from that very build go (the caller's locals).
package() {
	debs=$("$top/kernel/deb.sh" | tail -1)
	ver=$(dpkg-deb -f "$debs"/kvm-exitstat-dkms_*_all.deb Version)
	out=$dir/dkms-$(cut -c1-12 "$debs"/kvm-exitstat-dkms_*_all.deb.sha256)
}

# collect MODULE-DIR KERNEL OUT: DKMS's kvm, kvm-amd and kvm-intel from
# MODULE-DIR into OUT/modules/, beside Debian's irqbypass and ccp from
# KERNEL (lab/dist.sh kernel), each with the vermagic of Debian's own.
collect() {
	local m a b
	rm -rf "$dir"/dkms-*
	mkdir -p "$3/modules"
	for m in kvm kvm-amd kvm-intel; do ko "$1/$m" "$3/modules"; done
	cp "$2"/modules/irqbypass.ko "$3/modules/"
	[ ! -f "$2/modules/ccp.ko" ] || cp "$2/modules/ccp.ko" "$3/modules/"
	for m in kvm kvm-amd kvm-intel; do
		a=$(modinfo -F vermagic "$3/modules/$m.ko")
		b=$(modinfo -F vermagic "$2/modules/$m.ko")
		[ "$a" = "$b" ] || die "DKMS's $m.ko has vermagic '$a', Debian's '$b'"
	done
	touch "$3/done"
}

dkms_modules() {
	local kdir kernel debs ver out
	kdir=$(headers | tail -1)
	kernel=$(kernel | tail -1)
	need_pkgs dkms
	package
	# dpkg -i installs no dependency: the package's own, first.
	need_pkgs pahole $(dpkg-deb -f "$debs"/kvm-exitstat-dkms_*_all.deb Depends | tr ',' '\n' |
		sed -E 's/[(|].*//; s/[[:space:]]//g' | grep -v '^$')
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
		collect /var/lib/dkms/kvm-exitstat/"$ver"/"$rel"/x86_64/module "$kernel" "$out"
		exec 6>&-
	fi
	echo "$out"
}

# Debian 13: the kernel's headers, unpacked into the Debian 13 system
# (their kbuild tools are built for its libc) with the packages they
# depend on for building (the -common and linux-kbuild ones), not the
# kernel image they name; ROOT's use lock held.
headers13() {
	local r=$1 d p deps
	if [ ! -e "$r/usr/src/linux-headers-$rel/.kvm-exitstat-unpacked" ]; then
		deps=$(apt_ apt-cache depends "linux-headers-$rel" |
			sed -n 's/.*Depends: \(linux-headers-.*-common\|linux-kbuild-.*\)$/\1/p' | sort -u)
		step "unpacking linux-headers-$rel and $(echo $deps) into $r"
		d=$(mktemp -d)
		(cd "$d" && apt_ apt-get -q -o APT::Sandbox::User=root download "linux-headers-$rel" $deps >/dev/null) ||
			{ rm -rf "$d"; die "apt-get download linux-headers-$rel $deps failed"; }
		for p in "$d"/*.deb; do dpkg-deb -x "$p" "$r"; done
		rm -rf "$d"
		[ -e "$r/lib/modules/$rel/build/include/generated/utsrelease.h" ] ||
			die "linux-headers-$rel gave no /lib/modules/$rel/build in $r"
		touch "$r/usr/src/linux-headers-$rel/.kvm-exitstat-unpacked"
	fi
	echo "$r/usr/src/linux-headers-$rel"
}

# Debian 13: the modules that the DKMS package builds in the Debian 13
# system, as on a Debian 13 host: linux-source-SERIES at the kernel's
# version installed there with its apt, the headers unpacked, and the
# package installed there with dpkg (its postinst builds for every kernel
# whose headers that system holds), then `dkms build` for this kernel if
# that did not.
dkms13() {
	local r kernel debs ver out pv st mod
	kernel=$(kernel | tail -1)
	package
	if [ ! -e "$out/done" ]; then
		exec 6>"$(cache_dir)/debian13-root.use.lock"
		flock 6
		r=$(debian13_root | tail -1)
		pv=$(source_version)
		st=$(in_debian13 "$r" dpkg-query -W -f '${Status} ${Version}' "linux-source-$series" 2>/dev/null || true)
		if [ "$st" != "install ok installed $pv" ]; then
			step "installing linux-source-$series $pv in $r"
			in_debian13 "$r" apt-get install -y -q --no-install-recommends "linux-source-$series=$pv" \
				>"$dir/source.log" 2>&1 ||
				{ tail -20 "$dir/source.log" >&2; die "apt-get install linux-source-$series=$pv in $r failed"; }
		fi
		headers13 "$r" >/dev/null
		if ! cmp -s "$debs"/kvm-exitstat-dkms_*_all.deb.sha256 "$r/var/lib/kvm-exitstat-dkms.sha256"; then
			step "installing kvm-exitstat-dkms $ver in $r (DKMS builds for its kernels)"
			rm -f "$r/var/lib/kvm-exitstat-dkms.sha256"
			cp "$debs/kvm-exitstat-dkms_${ver}_all.deb" "$r/tmp/"
			in_debian13 "$r" dpkg -i "/tmp/kvm-exitstat-dkms_${ver}_all.deb" >"$dir/dpkg.log" 2>&1 ||
				{ tail -30 "$dir/dpkg.log" >&2
				  tail -30 "$r/var/lib/dkms/kvm-exitstat/$ver/build/make.log" >&2 2>/dev/null || true
				  die "dpkg -i kvm-exitstat-dkms in $r failed (log: $dir/dpkg.log)"; }
			rm -f "$r/tmp/kvm-exitstat-dkms_${ver}_all.deb"
			cp "$debs"/kvm-exitstat-dkms_*_all.deb.sha256 "$r/var/lib/kvm-exitstat-dkms.sha256"
		fi
		mod=$r/var/lib/dkms/kvm-exitstat/$ver/$rel/x86_64/module
		if [ ! -e "$mod/kvm.ko" ] && [ ! -e "$mod/kvm.ko.xz" ]; then
			step "dkms build kvm-exitstat/$ver for $rel in $r"
			in_debian13 "$r" dkms build -m kvm-exitstat -v "$ver" -k "$rel" >"$dir/dkms.log" 2>&1 ||
				{ tail -30 "$dir/dkms.log" >&2
				  tail -30 "$r/var/lib/dkms/kvm-exitstat/$ver/build/make.log" >&2 2>/dev/null || true
				  die "dkms build for $rel in $r failed"; }
		fi
		collect "$mod" "$kernel" "$out"
		exec 6>&-
	fi
	echo "$out"
}

case $debian/$what in
*/kernel) kernel ;;
12/headers) headers ;;
13/headers)
	exec 6>"$(cache_dir)/debian13-root.use.lock"
	flock 6
	headers13 "$(debian13_root | tail -1)"
	;;
12/dkms) dkms_modules ;;
13/dkms) dkms13 ;;
*) die "unknown request '$what' (want release, kernel, headers or dkms)" ;;
esac
