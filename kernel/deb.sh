#!/usr/bin/env bash
# Build the Debian packages (make deb): kvm-exitstat-dkms_VER_all.deb, the
# series and kernel/host-modules.sh as DKMS sources, and
# exitstat_VER_amd64.deb, the guest command and its man page. Both are
# checked with lintian; a finding fails the build.
#
#   kernel/deb.sh [-o OUTDIR]      (default build/deb/)
#
# The packages are built from a copy of the files they are made of, so the
# tree stays clean, and only again when one of those files changed. The
# last line of stdout is OUTDIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$top/lab/lib.sh"

out=$top/build/deb
while getopts "o:" o; do
	case $o in o) out=$OPTARG ;; *) die "usage: kernel/deb.sh [-o OUTDIR]" ;; esac
done
need_pkgs build-essential debhelper dh-dkms lintian jq
inputs=(debian guest kernel/host-modules.sh kernel/patches tests/unit)
key=$(cd "$top" && find "${inputs[@]}" -type f -not -path 'guest/build/*' -print0 | sort -z |
	xargs -0 sha256sum | sha256sum | cut -c1-16)
mkdir -p "$out"
out=$(cd "$out" && pwd -P)
exec 9>"$out/lock"
flock 9
if [ "$(cat "$out/key" 2>/dev/null)" != "$key" ]; then
	ver=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
	step "building kvm-exitstat-dkms and exitstat $ver (dpkg-buildpackage, lintian)"
	rm -rf "$out"/*.deb "$out"/*.sha256 "$out/src" "$out/key"
	src=$out/src/kvm-exitstat-$ver
	mkdir -p "$src"
	(cd "$top" && tar -c --exclude=guest/build "${inputs[@]}") | tar -x -C "$src"
	(cd "$src" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1 ||
		{ tail -30 "$out/build.log" >&2; die "dpkg-buildpackage failed, log: $out/build.log"; }
	mv "$out"/src/*.deb "$out/"
	rm -f "$out"/*-dbgsym_*.deb
	# Every tag lintian prints, pedantic and informational ones too, is a
	# finding (its lines start with E:, W:, I:, P:, X: or C:).
	lintian --pedantic --info "$out"/*.deb >"$out/lintian.log" 2>&1 || true
	! grep -q '^[EWIPXC]: ' "$out/lintian.log" ||
		{ cat "$out/lintian.log" >&2; die "lintian has findings (above; $out/lintian.log)"; }
	for d in "$out"/*.deb; do sha256sum < "$d" | cut -d' ' -f1 > "$d.sha256"; done
	rm -rf "$out/src"
	echo "$key" > "$out/key"
fi
ls "$out"/*.deb >&2
echo "$out"
