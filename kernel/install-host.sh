#!/usr/bin/env bash
# Install the patched KVM modules on a real host, or take them out again.
#
#   kernel/install-host.sh install   [-k RELEASE | -K KDIR] [-m DIR]
#   kernel/install-host.sh uninstall [-k RELEASE]
#
# install copies kvm.ko, kvm-amd.ko and kvm-intel.ko from DIR (default
# build/host/RELEASE/, which `make host-modules` fills) to
# /lib/modules/RELEASE/updates/kvm-exitstat/ and runs depmod. They must be
# built for RELEASE: vermagic, and the Debian version that make
# host-modules recorded against the kernel's own. When RELEASE is the
# running kernel it then loads them with modprobe, so the options in
# /etc/modprobe.d still apply: if KVM was loaded, kvm and the vendor module
# are reloaded; if not, they are test-loaded and unloaded again (the vendor
# module only where the CPU has VMX or SVM). If a module refuses to load,
# the install is rolled back: the files it put in place are removed (an
# earlier install's come back), depmod runs again, and KVM is loaded again
# as it was. The host is never left without KVM. uninstall removes them
# and reloads the same way: the distribution's modules are back. RELEASE
# defaults to the running kernel; -K KDIR takes it from those headers (make
# install-host passes the KDIR it built for).
#
# Nothing is changed while a VM runs: the processes holding /dev/kvm or a
# VM are named instead. Under Secure Boot, lockdown or module.sig_enforce=1
# the modules must be signed: with DKMS's MOK key when it exists, otherwise
# the script says how. Exit status: 0 done, 1 refused (VMs running, signing
# needed) or failed and rolled back, 2 bad use (not root, no modules,
# modules for another kernel).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

say() { echo "install-host: $*"; }
fail() { echo "install-host: $*" >&2; exit 1; }
usage() { echo "install-host: $*" >&2; exit 2; }

what=${1:-}
use="usage: kernel/install-host.sh install|uninstall [-k RELEASE | -K KDIR] [-m DIR]"
case $what in install|uninstall) shift ;; *) usage "$use" ;; esac
rel=$(uname -r) dir=
while getopts "k:K:m:" o; do
	case $o in
	k) rel=$OPTARG ;; m) dir=$OPTARG ;;
	K) rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$OPTARG/include/generated/utsrelease.h" 2>/dev/null || true)
	   [ -n "$rel" ] || usage "no kernel headers at $OPTARG (no include/generated/utsrelease.h)" ;;
	*) usage "$use" ;;
	esac
done
[ "$(id -u)" = 0 ] || usage "must run as root (it writes /lib/modules/$rel and reloads KVM)"
MODROOT=${MODROOT:-/lib/modules}
[ -d "$MODROOT/$rel" ] || usage "no $MODROOT/$rel: kernel $rel is not installed"
dest=$MODROOT/$rel/updates/kvm-exitstat
running=
[ "$rel" = "$(uname -r)" ] && running=1

# kvm_users: "PID COMMAND" of every process with /dev/kvm or a VM open.
kvm_users() {
	local fd p
	for fd in /proc/[0-9]*/fd/*; do
		case $(readlink "$fd" 2>/dev/null) in
		/dev/kvm|anon_inode:kvm-vm|anon_inode:kvm-vcpu*) ;;
		*) continue ;;
		esac
		p=${fd#/proc/}
		p=${p%%/*}
		echo "$p $(cat "/proc/$p/comm" 2>/dev/null)"
	done | sort -un
}

vendor_loaded() {
	local m
	for m in kvm_intel kvm_amd; do
		[ -d "/sys/module/$m" ] && { echo "$m"; return 0; }
	done
	return 0
}

# Refuse before changing anything if reloading would pull KVM from under a VM.
if [ -n "$running" ] && [ -d /sys/module/kvm ]; then
	users=$(kvm_users)
	[ -z "$users" ] || fail "VMs are running; stop them first. Processes holding /dev/kvm or a VM:
$(echo "$users" | sed 's/^/  pid /')"
fi

# lockdown_on: the kernel only loads signed modules (Secure Boot's lockdown,
# or module.sig_enforce=1 on the command line or built in).
lockdown_on() {
	local l
	[ "$(cat /sys/module/module/parameters/sig_enforce 2>/dev/null)" != Y ] || return 0
	l=$(cat /sys/kernel/security/lockdown 2>/dev/null || true)
	[ -n "$l" ] && ! echo "$l" | grep -q '\[none\]' && return 0
	command -v mokutil >/dev/null && mokutil --sb-state 2>/dev/null | grep -q 'SecureBoot enabled'
}

sign_all() { # sign_all DIR: sign the modules in DIR with DKMS's MOK key
	local key=/var/lib/dkms/mok.key crt=/var/lib/dkms/mok.pub sign m
	sign=$MODROOT/$rel/build/scripts/sign-file
	if [ ! -f "$key" ] || [ ! -f "$crt" ] || [ ! -x "$sign" ]; then
		fail "this kernel only loads signed modules (Secure Boot or lockdown), and there is no key to sign with.
  Create DKMS's Machine Owner Key and enroll it, then run this again:
    dkms generate_mok                      # /var/lib/dkms/mok.key and mok.pub
    mokutil --import /var/lib/dkms/mok.pub # asks for a one-time password
    reboot                                 # confirm the key in MokManager
  Or install the kvm-exitstat-dkms package, which signs with the same key."
	fi
	for m in "$1"/*.ko; do "$sign" sha256 "$key" "$crt" "$m"; done
	say "signed the modules with DKMS's MOK key ($crt)"
	if command -v mokutil >/dev/null && ! mokutil --test-key "$crt" 2>/dev/null | grep -q 'already enrolled'; then
		say "that key is not enrolled yet: mokutil --import $crt, reboot, and confirm it in MokManager"
	fi
}

# cpu_vendor_mod: the vendor module this CPU can load, or nothing.
cpu_vendor_mod() {
	if grep -qw vmx /proc/cpuinfo; then echo kvm_intel
	elif grep -qw svm /proc/cpuinfo; then echo kvm_amd; fi
}

# unload_kvm: modprobe -r whichever of the vendor modules and kvm are loaded.
unload_kvm() {
	local m
	for m in kvm_intel kvm_amd kvm; do
		[ ! -d "/sys/module/$m" ] || modprobe -r "$m" || return 1
	done
}

# load_kvm VENDOR: modprobe the vendor module (and with it kvm), or kvm alone.
load_kvm() {
	if [ -n "$1" ]; then modprobe "$1"; else modprobe kvm; fi
}

reload() {
	local v
	[ -n "$running" ] || { say "$rel is not the running kernel: the modules load when it boots"; return 0; }
	v=$(vendor_loaded)
	if [ ! -d /sys/module/kvm ]; then
		say "KVM is not loaded; modprobe loads the modules now in place"
		return 0
	fi
	say "reloading kvm${v:+ and $v}"
	modprobe -r ${v:+"$v"} kvm || fail "modprobe -r ${v:+$v }kvm failed (still in use?)"
	load_kvm "$v" || fail "modprobe ${v:-kvm} failed"
}

# The target kernel's Debian version ("" where it cannot be told).
kernel_debver() {
	local v
	if [ -n "$running" ]; then
		v=$(uname -v)
	else
		v=$(cat "$MODROOT/$rel/build/include/generated/utsversion.h" 2>/dev/null || true)
	fi
	echo "$v" | sed -n 's/.* Debian \([^ ]*\) (.*/\1/p'
}

case $what in
install)
	dir=${dir:-$top/build/host/$rel}
	for m in kvm kvm-amd kvm-intel; do
		[ -f "$dir/$m.ko" ] || usage "no $dir/$m.ko: build the modules first (make host-modules)"
		magic=$(modinfo -F vermagic "$dir/$m.ko")
		[ "${magic%% *}" = "$rel" ] || usage "$dir/$m.ko is built for ${magic%% *}, not $rel"
	done
	# Same release, other Debian version (a kernel update that kept its
	# ABI name): the source the modules were built from is not this
	# kernel's.
	want=$(kernel_debver)
	have=$(cat "$dir/debian-version" 2>/dev/null || true)
	if [ -n "$want" ] && [ -n "$have" ] && [ "$want" != "$have" ]; then
		usage "$dir holds modules built for Debian $have, but kernel $rel is Debian $want: build them again (make host-modules)"
	fi
	[ -n "$have" ] || say "note: $dir does not say which Debian version it was built for (not made by make host-modules)"
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	cp "$dir"/kvm.ko "$dir"/kvm-amd.ko "$dir"/kvm-intel.ko "$stage/"
	if lockdown_on; then sign_all "$stage"; fi

	# What a rollback restores: an earlier install, and KVM as it was.
	old=
	if [ -d "$dest" ]; then
		old=$(mktemp -d "${TMPDIR:-/var/tmp}/kvm-exitstat-old.XXXXXX")	# not where depmod looks
		cp -a "$dest"/. "$old/"
	fi
	was_kvm= was_vendor=
	if [ -n "$running" ] && [ -d /sys/module/kvm ]; then
		was_kvm=1 was_vendor=$(vendor_loaded)
	fi
	rollback() { # rollback WHY
		echo "install-host: $1; rolling back" >&2
		[ -z "$running" ] || unload_kvm || true
		rm -rf "$dest"
		if [ -n "$old" ]; then mv "$old" "$dest"; fi
		depmod -a "$rel"
		if [ -n "$was_kvm" ]; then
			load_kvm "$was_vendor" ||
				fail "rolled back, but modprobe ${was_vendor:-kvm} failed: KVM is not loaded; see dmesg"
			fail "rolled back: ${old:+the modules of the earlier install are back in $dest, and }$(modinfo -n kvm) is loaded again"
		fi
		fail "rolled back: ${old:+the modules of the earlier install are back in $dest; }KVM is not loaded, as before"
	}

	mkdir -p "$dest"
	cp "$stage"/*.ko "$dest/"
	chmod 0644 "$dest"/*.ko
	depmod -a "$rel"
	say "installed kvm.ko, kvm-amd.ko and kvm-intel.ko in $dest"
	if [ -z "$running" ]; then
		say "$rel is not the running kernel: the modules load when it boots"
	elif [ -n "$was_kvm" ]; then
		say "reloading kvm${was_vendor:+ and $was_vendor}"
		modprobe -r ${was_vendor:+"$was_vendor"} kvm || rollback "modprobe -r ${was_vendor:+$was_vendor }kvm failed (still in use?)"
		load_kvm "$was_vendor" 2>"$stage/err" || rollback "modprobe ${was_vendor:-kvm} refused the new modules: $(tail -1 "$stage/err")"
	else
		v=$(cpu_vendor_mod)
		say "KVM is not loaded: test-loading the new modules (${v:-kvm alone: this CPU has no VMX or SVM})"
		load_kvm "$v" 2>"$stage/err" || rollback "modprobe ${v:-kvm} refused the new modules: $(tail -1 "$stage/err")"
	fi
	if [ -n "$running" ]; then
		[ -e /sys/module/kvm/parameters/exit_stats ] ||
			rollback "the loaded kvm.ko is not the patched one (no exit_stats parameter; modinfo -n kvm says $(modinfo -n kvm))"
		say "the patched KVM loads (kvm.exit_stats=$(cat /sys/module/kvm/parameters/exit_stats))"
		if [ -z "$was_kvm" ]; then
			unload_kvm || fail "modprobe -r of the test-loaded modules failed"
			say "unloaded it again, as KVM was not loaded before"
		fi
	fi
	[ -z "$old" ] || rm -rf "$old"
	;;
uninstall)
	if [ ! -d "$dest" ]; then
		say "nothing to remove: $dest does not exist"
		exit 0
	fi
	rm -rf "$dest"
	depmod -a "$rel"
	say "removed $dest"
	reload
	if [ -n "$running" ] && [ -e /sys/module/kvm/parameters/exit_stats ]; then
		fail "kvm.ko still has the exit_stats parameter: another copy is installed ($(modinfo -n kvm))"
	fi
	;;
esac
