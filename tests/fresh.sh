#!/usr/bin/env bash
# make check-fresh: CI's command on a new Debian 12 machine, run several
# times in a row.
#
#   tests/fresh.sh [-n RUNS] [-d DIR] [-c COMMIT] [-t TARGET] [-k] [-r]
#
# A new Debian 12 system (debootstrap --variant=minbase from Debian's
# registry, with this machine's apt sources: nothing of the lab installed,
# nothing in its cache) gets a clone of COMMIT (default HEAD) and runs
# .ci/run in it (make check, CI=true, no stdin) RUNS times (default 2) in
# a row: the first run installs and builds all it needs (cold), the ones
# after it find it there (warm), as on a machine that ran it before. The
# system runs in a chroot in a mount namespace of its own (its /proc, /sys,
# /run, this machine's /dev): nothing it mounts or installs reaches this
# machine. Each run's log and time go to DIR (default
# /var/tmp/kvm-exitstat-fresh); the system is removed at the end unless -k.
# -t runs make TARGET instead (check-quick: the edit-test loop's suites on
# a new machine). -r runs again in the system a run with -k left in DIR
# (warm: its packages and cache as that run left them), its clone moved to
# COMMIT. Root only. It stops at the first run that fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$top/lab/lib.sh"

runs=2 dir=/var/tmp/kvm-exitstat-fresh commit=HEAD keep= target= reuse=
while getopts "n:d:c:t:kr" o; do
	case $o in
	n) runs=$OPTARG ;; d) dir=$OPTARG ;; c) commit=$OPTARG ;; t) target=$OPTARG ;; k) keep=1 ;; r) reuse=1 ;;
	*) die "usage: tests/fresh.sh [-n RUNS] [-d DIR] [-c COMMIT] [-t TARGET] [-k] [-r]" ;;
	esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "-n $runs: the number of runs is a whole number from 1"
[[ $target =~ ^[A-Za-z0-9_.-]*$ ]] || die "-t $target: not a make target"
[ "$(id -u)" = 0 ] || die "tests/fresh.sh makes a Debian system and chroots into it: run it as root"
rev=$(git -C "$top" rev-parse --verify -q "$commit^{commit}") || die "-c $commit: no such commit in $top"
short=$(git -C "$top" rev-parse --short "$rev")

root=$dir/root
mkdir -p "$dir"
exec 9>"$dir.lock"
flock -n 9 || die "$dir is in use by another tests/fresh.sh"

# in_root CMD...: CMD in the new system, as its root user in a login-like
# environment, with nothing of this one's (no cache, no variables). Its /
# is a mount, as a machine's is: the lab's own mount namespaces (the
# Debian 13 system's, lab/lib.sh in_debian13) make / private, which the
# kernel refuses (EINVAL) on a directory that is not a mount.
in_root() {
	unshare --mount --propagation private sh -c '
		r=$1; shift
		mount --bind "$r" "$r" &&
		mount -t proc proc "$r/proc" && mount -t sysfs sysfs "$r/sys" &&
		mount --rbind /dev "$r/dev" && mount -t tmpfs tmpfs "$r/run" &&
		exec chroot "$r" env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"' sh "$root" "$@"
}

# Whatever the runs left behind in the system (an emulator a timeout did
# not reach) is stopped before it is removed: every process whose root is
# the system's.
stop_root() {
	local p pids=()
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && pids+=("${p#/proc/}")
	done
	[ "${#pids[@]}" = 0 ] || kill -9 "${pids[@]}" 2>/dev/null || true
}
cleanup() {
	stop_root
	if [ -z "$keep" ] && [ -d "$root" ]; then rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT

# make_root: a new Debian 12 system in $root, with this machine's apt
# sources and a clone of COMMIT in root's home.
make_root() {
	need_pkgs debootstrap git
	step "making a new Debian 12 system in $root (debootstrap, minbase)"
	debootstrap --variant=minbase --include=git,make,ca-certificates bookworm "$root" \
		http://deb.debian.org/debian >"$dir/debootstrap.log" 2>&1 ||
		{ tail -5 "$dir/debootstrap.log" >&2; die "debootstrap of Debian 12 failed (log: $dir/debootstrap.log)"; }
	# The same suites as this machine's (updates and security too): the lab
	# resolves Debian's kernels from them.
	rm -f "$root/etc/apt/sources.list"
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && cp "$f" "$root$f"
	done
	in_root apt-get -q update >"$dir/apt-update.log" 2>&1 ||
		{ tail -5 "$dir/apt-update.log" >&2; die "apt-get update in $root failed (log: $dir/apt-update.log)"; }
	git clone -q --no-local "$top" "$root/root/kvm-exitstat"
	git -C "$root/root/kvm-exitstat" checkout -q "$rev"
}

if [ -n "$reuse" ]; then
	[ -d "$root/root/kvm-exitstat/.git" ] || die "-r: no system kept in $dir (make one with -k)"
	stop_root
	step "running again in the system kept in $root, at $short"
	git -C "$root/root/kvm-exitstat" fetch -q "$top" '+refs/heads/*:refs/remotes/origin/*'
	git -C "$root/root/kvm-exitstat" checkout -q "$rev"
else
	if [ -d "$root" ]; then
		stop_root
		rm -rf --one-file-system "$root"
	fi
	rm -f "$dir"/run*.log
	make_root
fi

what=".ci/run (make check)"
[ -z "$target" ] || what="make $target"
passed=0 failed=0
first=1 # the runs' numbers go on from the kept system's
while [ -e "$dir/run$first.log" ]; do first=$((first + 1)); done
for i in $(seq "$first" $((first + runs - 1))); do
	log=$dir/run$i.log
	step "run $i: $what at $short on the new system (log: $log)"
	t0=$SECONDS
	rc=0
	if [ -n "$target" ]; then
		in_root sh -c 'cd /root/kvm-exitstat && CI=true exec make "$1"' sh "$target"
	else
		in_root sh -c 'cd /root/kvm-exitstat && CI=true exec bash .ci/run'
	fi </dev/null >"$log" 2>&1 || rc=$?
	t=$((SECONDS - t0))
	stop_root
	closing=$(counts "$log" | sed 's/ / passed, /; s/$/ failed/' || echo "no closing count")
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1))
		echo "PASS  run $i at $short: ${t} s ($((t / 60)) min), $closing"
	else
		failed=$((failed + 1))
		echo "FAIL  run $i at $short: status $rc after ${t} s, $closing; the log's end:"
		tail -n 30 "$log" | sed 's/^/  /'
		break
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
