# Shared helpers for the lab scripts (sourced, not run).

die() { echo "error: $*" >&2; exit 1; }
step() { echo "==> $*" >&2; }

cache_dir() {
	local d=${KVM_EXITSTAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvm-exitstat}
	mkdir -p "$d" && echo "$d"
}

# counts FILE: "PASSED FAILED" from the last "N passed, N failed" line of a
# suite's output; nothing (and status 1) when the suite printed none.
counts() {
	sed -n -E 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$1" | tail -1 | grep .
}

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# need_pkgs PKG...: install the Debian packages that are not installed yet.
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ "${#missing[@]}" = 0 ] && return 0
	step "installing ${missing[*]}"
	(
		exec 8>/tmp/kvm-exitstat-apt.lock
		flock 8
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/kvm-exitstat-apt.log 2>&1 ||
			{ as_root apt-get update >/dev/null 2>&1 &&
			  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/kvm-exitstat-apt.log 2>&1; }
	) || { tail -20 /tmp/kvm-exitstat-apt.log >&2; die "apt-get install ${missing[*]} failed"; }
}

# kernel_make SRC ARGS...: make in a kernel tree of the cache, always with the
# same variables, so that one build never invalidates another's objects.
kernel_make() {
	local src=$1
	shift
	make -C "$src" -j"$(nproc)" LOCALVERSION= KBUILD_BUILD_USER=lab KBUILD_BUILD_HOST=lab "$@"
}
