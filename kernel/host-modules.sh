#!/usr/bin/env bash
# Build the patched KVM modules for a distribution kernel, out of tree,
# against that kernel's headers: vermagic and symbol CRCs then match it.
#
#   kernel/host-modules.sh [-o OUTDIR] [-s SERIES_DIR] [-n] [-W] [KDIR]
#
#   KDIR   the kernel's build directory (its headers), by default
#          /lib/modules/$(uname -r)/build
#   -o     where kvm.ko, kvm-amd.ko and kvm-intel.ko go
#          (default build/host/<kernelrelease>/)
#   -s     the directory holding the per-series patch directories
#          (default kernel/patches/; the DKMS package passes its own copy)
#   -n     never install packages: a missing or mismatched linux-source is
#          an error (DKMS builds run under dpkg, where apt cannot run)
#   -W     build with W=1
#
# The KVM source is that of exactly the same Debian version as the headers:
# linux-source-X.Y at that version, installed with apt-get if it is missing.
# Only arch/x86/kvm and virt/kvm are unpacked, the series for X.Y applied
# (its KUnit tests build only with the lab's CONFIG_KVM_EXIT_STATS_KUNIT_TEST),
# and the result built with `make -C KDIR M=...`, which takes minutes, not a
# full modules_prepare. Exit status: 0 built, 1 the build failed, 2 nothing
# to build for those headers (not Debian's, no series, no matching source).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

die() { echo "error: $*" >&2; exit 1; }
refuse() { echo "kernel/host-modules.sh: $*" >&2; exit 2; }
step() { echo "==> $*" >&2; }

out= patches=$here/patches noinstall= w1=
while getopts "o:s:nW" o; do
	case $o in
	o) out=$OPTARG ;; s) patches=$OPTARG ;; n) noinstall=1 ;; W) w1=W=1 ;;
	*) echo "usage: kernel/host-modules.sh [-o OUTDIR] [-s SERIES_DIR] [-n] [-W] [KDIR]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
kdir=${1:-/lib/modules/$(uname -r)/build}

# The target kernel: its release and Debian version, from its headers.
[ -f "$kdir/include/generated/utsrelease.h" ] && [ -f "$kdir/Module.symvers" ] ||
	refuse "no kernel headers at $kdir (want include/generated/utsrelease.h and Module.symvers; on Debian: apt-get install linux-headers-$(uname -r))"
kdir=$(cd "$kdir" && pwd -P)
release=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$kdir/include/generated/utsrelease.h")
debver=$(sed -n 's/^#define UTS_VERSION ".* Debian \([^ ]*\) (.*"$/\1/p' "$kdir/include/generated/utsversion.h" 2>/dev/null || true)
[ -n "$release" ] || refuse "cannot read UTS_RELEASE from $kdir/include/generated/utsrelease.h"
[ -n "$debver" ] ||
	refuse "the headers at $kdir ($release) are not a Debian kernel's: no Debian version in UTS_VERSION (for other distributions, see the README's manual build)"
series=$(echo "$debver" | sed -n 's/^\([0-9]*\.[0-9]*\)\..*/\1/p')
[ -f "$patches/$series/series" ] ||
	refuse "no patch series for Linux $series (headers $release, Debian $debver); series exist for: $(cd "$patches" && ls -d */ 2>/dev/null | tr -d / | paste -sd ' ')"

# The lab's apt lock (lab/lib.sh apt_lock), where only its user can write.
if [ "$(id -u)" = 0 ]; then
	sudo= lock=/run/kvm-exitstat-apt.lock
else
	sudo=sudo lock=${XDG_RUNTIME_DIR:-${KVM_EXITSTAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvm-exitstat}}/kvm-exitstat-apt.lock
fi
apt_install() { # under the lab's apt lock, so that parallel lanes take turns
	step "installing $*"
	mkdir -p "$(dirname "$lock")"
	flock "$lock" $sudo env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends "$@" >&2 ||
		die "apt-get install $* failed"
}

# The tools the build needs; pahole only for kernels with BTF in modules.
cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*-\)\{0,1\}\(gcc-[0-9]*\) .*/\2/p' "$kdir/.config")
need=("make make" "patch patch" "xz xz-utils" "${cc:-gcc} ${cc:-gcc}")
grep -q '^CONFIG_DEBUG_INFO_BTF_MODULES=y' "$kdir/.config" && need+=("pahole dwarves")
missing=()
for n in "${need[@]}"; do command -v "${n% *}" >/dev/null || missing+=("${n#* }"); done
if [ "${#missing[@]}" -gt 0 ]; then
	[ -z "$noinstall" ] || refuse "missing build tools for $release: install ${missing[*]}"
	apt_install "${missing[@]}"
fi

# Its source, at the same Debian version. Unpacked is enough: in one apt
# run that brings new headers and a new linux-source, dpkg may configure
# the headers, and so run DKMS, while the source is unpacked but not yet
# configured (its tarball is in place; linux-source has no maintainer
# scripts).
srcpkg=linux-source-$series
have=$(dpkg-query -W -f '${Status} ${Version}' "$srcpkg" 2>/dev/null |
	sed -n 's/^install ok \(installed\|unpacked\|half-configured\|triggers-awaited\|triggers-pending\) //p')
if [ "$have" != "$debver" ]; then
	[ -z "$noinstall" ] ||
		refuse "$srcpkg ${have:-is not installed}${have:+ is installed}, the headers are Debian $debver ($release): install $srcpkg=$debver"
	avail=$(apt-cache madison "$srcpkg" 2>/dev/null | awk -v v="$debver" '$3 == v { print $3; exit }')
	[ -n "$avail" ] ||
		refuse "$srcpkg $debver, the source of headers $release, is not in the apt sources (installed: ${have:-none}; available: $(apt-cache madison "$srcpkg" 2>/dev/null | awk '{ print $3 }' | paste -sd ' '))"
	apt_install "$srcpkg=$debver"
fi
tarball=/usr/src/$srcpkg.tar.xz
[ -f "$tarball" ] || die "$tarball is missing although $srcpkg is installed"

out=${out:-$top/build/host/$release}
mkdir -p "$out"
out=$(cd "$out" && pwd -P)
work=$out/src
mapfile -t series_files < <(grep -v '^\s*\(#\|$\)' "$patches/$series/series")

# $out/src is this script's scratch copy, marked as such: anything else
# there (-o names a directory of the user's) is refused, never deleted.
[ ! -e "$work" ] || [ -e "$work/.kvm-exitstat-src" ] ||
	refuse "$work exists and is not a copy this script made; choose another -o"
step "unpacking arch/x86/kvm and virt/kvm of $srcpkg $debver into $work"
rm -rf "$work"
mkdir -p "$work/include/trace"
touch "$work/.kvm-exitstat-src"
tar -xJmf "$tarball" -C "$work" --strip-components=1 \
	"$srcpkg/arch/x86/kvm" "$srcpkg/virt/kvm"
step "applying ${#series_files[@]} patches for Linux $series"
for p in "${series_files[@]}"; do
	patch -d "$work" -p1 --batch --forward --quiet < "$patches/$series/$p" >&2 ||
		die "patch $p does not apply to $srcpkg $debver"
done

# kbuild reads KVM's Makefile as the external module's Kbuild; point its
# srctree paths at the unpacked copy. trace.h includes itself through
# TRACE_INCLUDE_PATH (../../arch/x86/kvm, from include/trace/), which
# include/trace/ of the copy resolves.
kvm=$work/arch/x86/kvm
sed -i -e 's|-I $(srctree)/arch/x86/kvm|-I $(src) -I $(src)/../../../include/trace|' \
	-e 's|^include $(srctree)/virt/kvm/Makefile.kvm|include $(src)/../../../virt/kvm/Makefile.kvm|' \
	"$kvm/Makefile"
grep -q 'include $(src)/../../../virt/kvm/Makefile.kvm' "$kvm/Makefile" ||
	die "KVM's Makefile in $srcpkg $debver has a shape this script does not know"

step "building kvm.ko, kvm-amd.ko and kvm-intel.ko for $release (make -C $kdir M=...)"
log=$out/build.log
make -C "$kdir" M="$kvm" -j"$(nproc)" $w1 modules >"$log" 2>&1 ||
	{ tail -30 "$log" >&2; die "module build failed for $release, log: $log"; }
for m in kvm kvm-amd kvm-intel; do
	[ -f "$kvm/$m.ko" ] || die "$m.ko was not built for $release (log: $log)"
	cp "$kvm/$m.ko" "$out/"
done
echo "$release" > "$out/release"
echo "$debver" > "$out/debian-version"
echo "$out"
