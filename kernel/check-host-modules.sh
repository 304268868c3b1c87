#!/usr/bin/env bash
# Tests of make host-modules and make deb, on the build machine:
#
#   kernel/check-host-modules.sh [SERIES...]     (default: 6.1 6.12)
#
# For each series, kernel/host-modules.sh -W against the headers of
# Debian's kernel of that series (lab/dist.sh headers): the modules'
# vermagic equals that of Debian's own kvm.ko, and W=1 reports nothing in
# the files the series adds. Then what it must refuse, with status 2 and
# one line naming the versions: headers that are not Debian's, a series we
# have no patches for, a Debian version apt cannot provide the source of.
# Last, both packages build and lintian has no finding. Ends with
# "N passed, N failed".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$top/lab/lib.sh"

series=${*:-6.1 6.12}
out=$top/build/check-host-modules
rm -rf "$out"
mkdir -p "$out"
passed=0 failed=0
result() { # result NAME OK [DETAIL]
	if [ "$2" = 1 ]; then
		passed=$((passed + 1))
		echo "PASS  $1"
	else
		failed=$((failed + 1))
		echo "FAIL  $1${3:+: $3}"
	fi
}

first_kdir=
for s in $series; do
	kdir=$("$top/lab/dist.sh" headers "$s" | tail -1)
	first_kdir=${first_kdir:-$kdir}
	kernel=$("$top/lab/dist.sh" kernel "$s" | tail -1)
	rel=$("$top/lab/dist.sh" release "$s" | tail -1)
	t0=$SECONDS
	if bash "$here/host-modules.sh" -W -o "$out/$rel" "$kdir" >"$out/$rel.log" 2>&1; then
		result "host-modules $rel: builds with W=1 ($((SECONDS - t0)) s)" 1
		for m in kvm kvm-amd kvm-intel; do
			a=$(modinfo -F vermagic "$out/$rel/$m.ko")
			b=$(modinfo -F vermagic "$kernel/modules/$m.ko")
			[ "$a" = "$b" ] && ok=1 || ok=0
			result "host-modules $rel: $m.ko vermagic '$a' is Debian's" $ok "Debian's is '$b'"
		done
		w=$(grep -E 'exit_stats[^ ]*\.[ch]:[0-9]+:[0-9]+: warning' "$out/$rel/build.log" || true)
		[ -z "$w" ] && ok=1 || ok=0
		result "host-modules $rel: W=1 warns about nothing in the series' files" $ok "$w"
	else
		tail -20 "$out/$rel.log"
		result "host-modules $rel: builds with W=1" 0 "log: $out/$rel.log"
	fi
done

# refuse NAME PATTERN KDIR: status 2 and a message matching PATTERN
refuse() {
	local rc=0 msg
	msg=$(bash "$here/host-modules.sh" -o "$out/refused" "$3" 2>&1 >/dev/null) || rc=$?
	echo "$msg" | sed 's/^/  /'
	[ "$rc" = 2 ] && echo "$msg" | grep -q -E "$2" && ok=1 || ok=0
	result "host-modules refuses $1 (status $rc)" $ok "$msg"
}
# fake_headers DIR RELEASE UTS_VERSION: just enough of a headers directory
fake_headers() {
	mkdir -p "$1/include/generated"
	printf '#define UTS_RELEASE "%s"\n' "$2" > "$1/include/generated/utsrelease.h"
	printf '#define UTS_VERSION "%s"\n' "$3" > "$1/include/generated/utsversion.h"
	: > "$1/Module.symvers"
	: > "$1/.config"
}
refuse "a directory with no headers" "no kernel headers at" "$out/nothing"
fake_headers "$out/fedora" 6.1.9-200.fc37.x86_64 "#1 SMP PREEMPT_DYNAMIC Fri Feb  3 12:00:00 UTC 2023"
refuse "headers that are not Debian's" "not a Debian kernel's" "$out/fedora"
fake_headers "$out/old" 5.10.0-30-amd64 "#1 SMP Debian 5.10.218-1 (2024-06-01)"
refuse "a series it has no patches for" "no patch series for Linux 5.10 .*5.10.0-30-amd64.*5.10.218-1" "$out/old"
fake_headers "$out/future" 6.1.0-99-amd64 "#1 SMP PREEMPT_DYNAMIC Debian 6.1.999-1 (2027-01-01)"
refuse "a source version apt cannot provide" "linux-source-6.1 6.1.999-1.*6.1.0-99-amd64.*installed: " "$out/future"
# -o naming a directory of the user's whose src/ the script did not make:
# refused, and nothing in it deleted.
if [ -n "$first_kdir" ]; then
	mkdir -p "$out/users/src"
	echo keep >"$out/users/src/mine.c"
	rc=0
	msg=$(bash "$here/host-modules.sh" -o "$out/users" "$first_kdir" 2>&1 >/dev/null) || rc=$?
	[ "$rc" = 2 ] && echo "$msg" | grep -q "is not a copy this script made" &&
		[ "$(cat "$out/users/src/mine.c")" = keep ] && ok=1 || ok=0
	result "host-modules refuses an -o whose src/ it did not make, and deletes nothing (status $rc)" $ok "$msg"
fi

if bash "$here/deb.sh" >"$out/deb.log" 2>&1; then
	result "make deb: both packages build and lintian has no finding" 1
else
	tail -20 "$out/deb.log"
	result "make deb: both packages build and lintian has no finding" 0 "log: $out/deb.log"
fi

# The kernel-update transaction: a kernel's new headers and a new
# linux-source in one dpkg run, headers first, so that dpkg configures the
# headers, and DKMS builds, while the source is only unpacked. Played with
# the versions at hand: the package installed, its build for that kernel
# undone (dkms unbuild: the module stays in DKMS's tree, as on a host that
# gets a kernel it never built for; dkms remove would take it out of the
# tree with its last kernel's build), then dpkg -i of both packages, and
# DKMS's status read. Under the apt lock, which the distribution suites'
# DKMS builds of the same kernel take too.
if [ -z "$first_kdir" ]; then
	result "DKMS builds in the dpkg run that brings the headers and linux-source" 0 "no Debian kernel's headers to try it with"
elif ! debs=$("$here/deb.sh" 2>/dev/null | tail -1) || [ ! -f "$debs/kvm-exitstat-dkms_$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)_all.deb" ]; then
	result "DKMS builds in the dpkg run that brings the headers and linux-source" 0 "no package: make deb failed"
else
	rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$first_kdir/include/generated/utsrelease.h")
	hdr=$(dpkg-query -S "$first_kdir" 2>/dev/null | sed -n 's/^\(linux-headers-[^:,]*\):.*/\1/p' | head -1)
	src=linux-source-${series%% *}
	need_pkgs dkms
	ver=$(dpkg-deb -f "$debs"/kvm-exitstat-dkms_*_all.deb Version)
	tx=$out/transaction
	mkdir -p "$tx"
	ok=0 detail="the headers at $first_kdir belong to no package"
	if [ -n "$hdr" ]; then
		(cd "$tx" && apt-get -q -o APT::Sandbox::User=root download \
			"$hdr=$(dpkg-query -W -f '${Version}' "$hdr")" "$src=$(dpkg-query -W -f '${Version}' "$src")" >/dev/null) || true
		(
			exec 6>"$(apt_lock)"
			flock 6
			dkms_pkg_install "$debs" "$tx/dpkg-dkms.log"
			as_root dkms unbuild -m kvm-exitstat -v "$ver" -k "$rel" >/dev/null 2>&1 || true
			as_root dpkg -i "$tx"/"$hdr"_*.deb "$tx"/"$src"_*.deb >"$tx/dpkg.log" 2>&1
			dkms status -m kvm-exitstat -v "$ver" -k "$rel" >"$tx/status" 2>&1
		) && st=$(cat "$tx/status") && echo "$st" | grep -q ': installed' && ok=1
		detail="dkms status: ${st:-none}; log: $tx/dpkg.log"
	fi
	result "DKMS builds $rel in the dpkg run that brings its headers and $src (headers configured first)" $ok "$detail"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
