#!/usr/bin/env bash
# Build the lab kernel for one Debian kernel series, cached outside the clone.
#
#   kernel/build.sh 6.1|6.12|7.3 [stock|patched] [san]
#
# Prints the directory holding the result on the last line of stdout:
#   stock:   DIR/bzImage and DIR/modules/{irqbypass,kvm,kvm-amd,kvm-intel}.ko
#   patched: DIR/modules/*.ko built from the same tree with the series in
#            kernel/patches/VER/ applied by kernel/apply.sh, as `make apply`
#            does (the bzImage stays the stock one),
#            and DIR/modules/kvm_kunit.ko, kvm.ko with the KUnit tests.
#
# The tree is linux-source-VER's tarball (Debian 12's package for 6.1 and
# 6.12, Debian 13's backports for 7.3) in a fresh git repository: the
# assignment's flow on the closest thing to a release tarball to be had here.
#
# The cache key is the Debian package version plus a hash of the config
# fragment, so a second run rebuilds nothing, and a changed patch series
# rebuilds only arch/x86/kvm.
#
# With "san", the tree is configured with lab/kernel-san.config on top
# (KASAN, UBSAN, lockdep, kmemleak) and cached apart from the plain one.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$top/lab/lib.sh"

ver=${1:?usage: kernel/build.sh 6.1|6.12|7.3 [stock|patched] [san]}
what=${2:-stock}
flavour=${3:-}
case "$what" in stock|patched) ;; *) die "unknown build '$what' (want stock or patched)" ;; esac
fragments=("$top/lab/kernel.config")
case "$flavour" in
"") tag= ;;
san) tag=san- fragments+=("$top/lab/kernel-san.config") ;;
*) die "unknown kernel flavour '$flavour' (want san or nothing)" ;;
esac

need_pkgs build-essential flex bison bc libelf-dev libssl-dev kmod cpio xz-utils git
read -r pkgver tarball < <(kernel_source "$ver") && [ -n "$tarball" ] || exit 1
if [ -z "$tag" ]; then
	cfghash=$(sha256sum "$top/lab/kernel.config" | cut -c1-12)
else
	cfghash=$(cat "${fragments[@]}" | sha256sum | cut -c1-12)
fi
dir=$(cache_dir)/linux-$pkgver-$tag$cfghash
src=$dir/src
mkdir -p "$dir"
if [ "$what" = patched ]; then
	series_dir=$top/kernel/patches/$ver
	[ -f "$series_dir/series" ] || die "no patch series: $series_dir/series is missing"
	mapfile -t patches < <(grep -v '^\s*\(#\|$\)' "$series_dir/series")
	[ "${#patches[@]}" -gt 0 ] || die "patch series $series_dir/series is empty"
	serieshash=$( (cd "$series_dir" && cat "${patches[@]}") | sha256sum | cut -c1-12)
	out=$dir/patched-$serieshash
else
	out=$dir/stock
fi
# A finished build is read without the lock: its files are written before
# its done mark and never rewritten, and the tree's other users
# (kernel/check-patches.sh holds the lock for minutes, at the host lane's
# lower priority) do not touch them. Only a build waits for the lock.
if [ -e "$dir/stock/done" ] && [ -e "$out/done" ]; then
	echo "$out"
	exit 0
fi
exec 9>"$dir/lock"
flock 9

kmake() { kernel_make "$src" "$@"; }

if ! git -C "$src" rev-parse -q --verify stock >/dev/null 2>&1; then
	step "unpacking linux-source-$ver $pkgver into $src"
	rm -rf "$src" "$src.tmp" "$dir"/stock "$dir"/patched-* "$dir/config.fragment"
	mkdir -p "$src.tmp"
	tar -xmf "$tarball" -C "$src.tmp" --strip-components=1
	# Debian's .gitignore ignores everything at the top level; the tree we
	# format patches from must see every file.
	sed -i '/^# Debian packaging/,$d' "$src.tmp/.gitignore"
	git -C "$src.tmp" init -q -b stock
	git -C "$src.tmp" config user.name "kvm-exitstat lab"
	git -C "$src.tmp" config user.email "lab@kvm-exitstat.invalid"
	git -C "$src.tmp" config gc.auto 0
	git -C "$src.tmp" add -A
	git -C "$src.tmp" commit -q -m "linux-source-$ver $pkgver"
	mv "$src.tmp" "$src"
fi

if [ ! -e "$dir/stock/done" ]; then
	git -C "$src" checkout -q -f stock
	if [ ! -f "$src/.config" ] || ! cat "${fragments[@]}" | cmp -s - "$dir/config.fragment"; then
		step "configuring $ver: tinyconfig + ${fragments[*]#"$top/"}"
		kmake -s tinyconfig >/dev/null
		"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "${fragments[@]}" >/dev/null
		kmake -s olddefconfig
		while read -r line; do
			grep -qx "$line" "$src/.config" || die "kernel config lost '$line' (a dependency is missing in ${fragments[*]#"$top/"})"
		done < <(cat "${fragments[@]}" | grep '^CONFIG_')
		cat "${fragments[@]}" > "$dir/config.fragment"
	fi
	step "building linux $ver ${flavour:+($flavour) }bzImage and modules (about 4 to 6 minutes on 2 cores the first time)"
	kmake bzImage modules >"$dir/build.log" 2>&1 || { tail -40 "$dir/build.log" >&2; die "kernel build failed, log: $dir/build.log"; }
	rm -rf "$dir/stock"
	mkdir -p "$dir/stock/modules"
	cp "$src/arch/x86/boot/bzImage" "$dir/stock/"
	cp "$src/virt/lib/irqbypass.ko" "$src"/arch/x86/kvm/*.ko "$dir/stock/modules/"
	kmake -s kernelrelease >"$dir/stock/release"
	touch "$dir/stock/done"
fi

if [ "$what" = stock ]; then
	echo "$dir/stock"
	exit 0
fi

if [ ! -e "$out/done" ]; then
	step "applying ${#patches[@]} patches to linux $ver"
	git -C "$src" checkout -q -f -B patched stock
	"$here/apply.sh" "$src" >/dev/null || die "the $ver series does not apply to linux-source-$ver $pkgver"
	rm -rf "$dir"/patched-*	# older series
	mkdir -p "$out/modules"
	# kvm.ko with the KUnit tests built in, for the lab only (kvm_kunit.ko).
	step "building kvm.ko with the series' KUnit tests for $ver"
	kmake M=arch/x86/kvm CFLAGS_exit_stats.o=-DCONFIG_KVM_EXIT_STATS_KUNIT_TEST modules \
		>"$dir/patched.log" 2>&1 ||
		{ tail -40 "$dir/patched.log" >&2; die "KUnit module build failed, log: $dir/patched.log"; }
	cp "$src/arch/x86/kvm/kvm.ko" "$out/modules/kvm_kunit.ko"
	step "building patched KVM modules for $ver (make M=arch/x86/kvm modules)"
	kmake M=arch/x86/kvm modules >"$dir/patched.log" 2>&1 ||
		{ tail -40 "$dir/patched.log" >&2; die "patched module build failed, log: $dir/patched.log"; }
	cp "$src/virt/lib/irqbypass.ko" "$src"/arch/x86/kvm/kvm.ko "$src"/arch/x86/kvm/kvm-amd.ko \
		"$src"/arch/x86/kvm/kvm-intel.ko "$out/modules/"
	touch "$out/done"
fi
echo "$out"
