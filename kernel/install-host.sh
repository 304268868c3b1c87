#!/usr/bin/env bash
# Install the patched KVM modules on a real host, or take them out again.
#
#   kernel/install-host.sh install   [-k RELEASE] [-m DIR]
#   kernel/install-host.sh uninstall [-k RELEASE]
#
# install copies kvm.ko, kvm-amd.ko and kvm-intel.ko from DIR (default
# build/host/RELEASE/, which `make host-modules` fills) to
# /lib/modules/RELEASE/updates/kvm-exitstat/, runs depmod, and, when RELEASE
# is the running kernel and KVM is loaded, reloads kvm and the vendor module
# with modprobe, so the options in /etc/modprobe.d still apply. uninstall
# removes them and reloads the same way: the distribution's modules are
# back. RELEASE defaults to the running kernel.
#
# Nothing is changed while a VM runs: the processes holding /dev/kvm or a
# VM are named instead. Under Secure Boot or lockdown the modules must be
# signed: with DKMS's MOK key when it exists, otherwise the script says how.
# Exit status: 0 done, 1 refused (VMs running, signing needed) or failed,
# 2 bad use (not root, no modules, modules for another kernel).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

say() { echo "install-host: $*"; }
fail() { echo "install-host: $*" >&2; exit 1; }
usage() { echo "install-host: $*" >&2; exit 2; }

what=${1:-}
case $what in install|uninstall) shift ;; *) usage "usage: kernel/install-host.sh install|uninstall [-k RELEASE] [-m DIR]" ;; esac
rel=$(uname -r) dir=
while getopts "k:m:" o; do
	case $o in k) rel=$OPTARG ;; m) dir=$OPTARG ;; *) usage "usage: kernel/install-host.sh install|uninstall [-k RELEASE] [-m DIR]" ;; esac
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

# lockdown_on: the kernel only loads signed modules (Secure Boot's lockdown).
lockdown_on() {
	local l
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
	if [ -n "$v" ]; then modprobe "$v" || fail "modprobe $v failed"; else modprobe kvm || fail "modprobe kvm failed"; fi
}

case $what in
install)
	dir=${dir:-$top/build/host/$rel}
	for m in kvm kvm-amd kvm-intel; do
		[ -f "$dir/$m.ko" ] || usage "no $dir/$m.ko: build the modules first (make host-modules)"
		magic=$(modinfo -F vermagic "$dir/$m.ko")
		[ "${magic%% *}" = "$rel" ] || usage "$dir/$m.ko is built for ${magic%% *}, not $rel"
	done
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	cp "$dir"/kvm.ko "$dir"/kvm-amd.ko "$dir"/kvm-intel.ko "$stage/"
	if lockdown_on; then sign_all "$stage"; fi
	mkdir -p "$dest"
	cp "$stage"/*.ko "$dest/"
	chmod 0644 "$dest"/*.ko
	depmod -a "$rel"
	say "installed kvm.ko, kvm-amd.ko and kvm-intel.ko in $dest"
	reload
	if [ -n "$running" ] && [ -d /sys/module/kvm ]; then
		[ -e /sys/module/kvm/parameters/exit_stats ] ||
			fail "the loaded kvm.ko is not the patched one (no exit_stats parameter); modinfo -n kvm says $(modinfo -n kvm)"
		say "the patched KVM is loaded (kvm.exit_stats=$(cat /sys/module/kvm/parameters/exit_stats))"
	fi
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
