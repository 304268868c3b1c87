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

# apt_lock: the lock the lab's apt and dpkg runs take turns on (parallel
# lanes), where only its user can write: /run as root, else the user's.
# kernel/host-modules.sh picks the same path.
apt_lock() {
	if [ "$(id -u)" = 0 ]; then echo /run/kvm-exitstat-apt.lock
	else echo "${XDG_RUNTIME_DIR:-$(cache_dir)}/kvm-exitstat-apt.lock"; fi
}

# dkms_pkg_install DEBS LOG: install the kvm-exitstat-dkms package that
# kernel/deb.sh built in DEBS on this machine, unless that very build is
# installed (the caller holds the apt lock).
dkms_pkg_install() {
	local ver
	ver=$(dpkg-deb -f "$1"/kvm-exitstat-dkms_*_all.deb Version)
	if [ "$(dpkg-query -W -f '${db:Status-Abbrev} ${Version}' kvm-exitstat-dkms 2>/dev/null || true)" = "ii  $ver" ] &&
	   cmp -s "$1"/kvm-exitstat-dkms_*_all.deb.sha256 /var/lib/kvm-exitstat-dkms.sha256 2>/dev/null; then
		return 0
	fi
	step "installing kvm-exitstat-dkms $ver"
	as_root dpkg -i "$1"/kvm-exitstat-dkms_*_all.deb >"$2" 2>&1 ||
		{ tail -20 "$2" >&2; die "dpkg -i kvm-exitstat-dkms failed"; }
	as_root cp "$1"/kvm-exitstat-dkms_*_all.deb.sha256 /var/lib/kvm-exitstat-dkms.sha256
}

# need_pkgs PKG...: install the Debian packages that are not installed yet.
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ "${#missing[@]}" = 0 ] && return 0
	step "installing ${missing[*]}"
	local log
	log=$(cache_dir)/apt.log
	(
		exec 8>"$(apt_lock)"
		flock 8
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1 ||
			{ as_root apt-get update >/dev/null 2>&1 &&
			  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1; }
	) || { tail -20 "$log" >&2; die "apt-get install ${missing[*]} failed"; }
}

# need_promtool: the directory that holds promtool, Prometheus's checker,
# for exitstat's --prom. It is taken out of Debian's prometheus package
# into the cache rather than installing that package, which would start a
# Prometheus server on this machine.
need_promtool() {
	local bin d
	if command -v promtool >/dev/null; then
		dirname "$(command -v promtool)"
		return 0
	fi
	bin=$(cache_dir)/promtool
	(
		exec 8>"$bin.lock"
		flock 8
		[ ! -x "$bin/promtool" ] || exit 0
		step "unpacking promtool from Debian's prometheus package into $bin" >&2
		d=$(mktemp -d)
		(cd "$d" && apt-get -q -o APT::Sandbox::User=root download prometheus >/dev/null) ||
			die "apt-get download prometheus failed"
		mkdir -p "$bin"
		dpkg-deb --fsys-tarfile "$d"/prometheus_*.deb | tar -x -O ./usr/bin/promtool > "$bin/promtool.tmp"
		chmod +x "$bin/promtool.tmp"
		mv "$bin/promtool.tmp" "$bin/promtool"
		rm -rf "$d"
	) || exit 1
	echo "$bin"
}

# debian13_apt apt-get|apt-cache ARGS...: apt on Debian 13 (trixie and
# trixie-backports), for what Debian 12 does not carry (linux-source-7.3).
# The configuration, package lists and downloads are the cache's own; the
# system's sources and its package state are left alone. The lists are
# fetched again once a day; apt keeps its package cache there too (the
# system's configuration turns it off), so a query after the first takes
# a second, not ten.
debian13_apt() {
	local cmd=$1 d
	shift
	d=$(cache_dir)/apt-debian13
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	local opts=(-o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
		-o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" -o APT::Sandbox::User=root
		-o Dir::Cache::pkgcache=pkgcache.bin -o Dir::Cache::srcpkgcache=srcpkgcache.bin)
	if [ ! -f "$d/sources.list" ] || [ -z "$(find "$d/lists" -maxdepth 1 -name '*_Packages' -mmin -1440)" ]; then
		local k=/usr/share/keyrings/debian-archive-keyring.gpg
		printf 'deb [signed-by=%s] http://deb.debian.org/debian %s main\n' \
			"$k" trixie "$k" trixie-backports >"$d/sources.list"
		(
			exec 8>"$d/lock"
			flock 8
			apt-get -q "${opts[@]}" update >"$d/update.log" 2>&1
		) || { tail -5 "$d/update.log" >&2; die "apt-get update for Debian 13 failed (log: $d/update.log)"; }
	fi
	"$cmd" "${opts[@]}" "$@"
}

# debian13_root: a Debian 13 (trixie) system in the cache, made once with
# debootstrap from Debian's registry, for what needs Debian 13's own
# userland: its kernels are built with gcc-14, which Debian 12 lacks, and
# their kbuild tools and DKMS run there. Its apt sources are trixie and
# trixie-backports, and its lists are fetched again once a day. Whoever
# changes what is in it holds ROOT.use.lock (lab/dist.sh), taken before
# this is called; in_debian13 runs commands in it.
debian13_root() {
	local r
	r=$(cache_dir)/debian13-root
	(
		exec 8>"$r.lock"
		flock 8
		if [ ! -e "$r/.kvm-exitstat-root" ]; then
			need_pkgs debootstrap
			step "making a Debian 13 (trixie) system in $r (debootstrap: gcc-14, dkms)"
			rm -rf "$r"
			debootstrap --variant=minbase \
				--include=gcc-14,make,patch,xz-utils,dkms,kmod,dwarves,libelf-dev \
				trixie "$r" http://deb.debian.org/debian >"$r.log" 2>&1 ||
				{ tail -5 "$r.log" >&2; die "debootstrap of Debian 13 failed (log: $r.log)"; }
			printf 'deb http://deb.debian.org/debian %s main\n' trixie trixie-backports \
				>"$r/etc/apt/sources.list"
			touch "$r/.kvm-exitstat-root"
		fi
		# The backports' list, not any: debootstrap leaves trixie's, fresh,
		# and the kernels of the newest line come from trixie-backports.
		if [ -z "$(find "$r/var/lib/apt/lists" -maxdepth 1 -name '*_trixie-backports_main_binary-amd64_Packages' -mmin -1440)" ]; then
			in_debian13 "$r" apt-get -q update >"$r.update.log" 2>&1 ||
				{ tail -5 "$r.update.log" >&2; die "apt-get update in $r failed"; }
		fi
	) || exit 1
	echo "$r"
}

# in_debian13 ROOT CMD...: CMD chrooted into ROOT, with /proc and /dev
# mounted in a mount namespace of its own, so nothing is left mounted.
in_debian13() {
	as_root unshare --mount --propagation private sh -c \
		'r=$1; shift; mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" && exec chroot "$r" env DEBIAN_FRONTEND=noninteractive "$@"' \
		sh "$@"
}

# debian13_qemu: Debian 13's QEMU (trixie's qemu-system-x86, 10.0),
# installed in the Debian 13 system once (under its use lock), as a
# command line run from here: the root's own loader and libraries, its
# firmware (-L). Prints one word per line.
debian13_qemu() {
	local r
	r=$(debian13_root) || exit 1
	[ -e "$r/var/lib/kvm-exitstat-qemu" ] || (
		exec 6>"$(cache_dir)/debian13-root.use.lock"
		flock 6
		if [ ! -e "$r/var/lib/kvm-exitstat-qemu" ]; then
			step "installing Debian 13's qemu-system-x86 in $r"
			in_debian13 "$r" apt-get -q install -y --no-install-recommends qemu-system-x86 \
				>"$r.qemu.log" 2>&1 ||
				{ tail -5 "$r.qemu.log" >&2; die "installing qemu-system-x86 in $r failed (log: $r.qemu.log)"; }
			touch "$r/var/lib/kvm-exitstat-qemu"
		fi
	) || exit 1
	printf '%s\n' "$r/lib64/ld-linux-x86-64.so.2" --library-path \
		"$r/lib/x86_64-linux-gnu:$r/usr/lib/x86_64-linux-gnu" \
		"$r/usr/bin/qemu-system-x86_64" -L "$r/usr/share/qemu" -L "$r/usr/share/seabios"
}

# image_release BZIMAGE: the kernel release an x86 boot image carries (the
# string its setup header points to, up to the first blank), or nothing.
image_release() {
	local off
	off=$(od -An -tu2 -j 526 -N 2 "$1" 2>/dev/null | tr -d ' ')
	[ -n "$off" ] && [ "$off" -gt 0 ] || return 0
	dd if="$1" bs=1 skip=$((off + 512)) count=80 2>/dev/null | tr '\0' '\n' | head -1 | cut -d' ' -f1
}

# kernel_source VER: "PKGVER TARBALL" of linux-source-VER. Debian 12's lines
# (6.1, 6.12) come from the system's package, installed if missing; a newer
# line (7.3) from Debian 13's backports, downloaded into the cache once per
# version.
kernel_source() {
	local ver=$1
	case $ver in
	6.1|6.12)
		need_pkgs "linux-source-$ver"
		echo "$(dpkg-query -W -f '${Version}' "linux-source-$ver") /usr/src/linux-source-$ver.tar.xz"
		;;
	7.3)
		local pv d deb
		pv=$(debian13_apt apt-cache policy "linux-source-$ver" | sed -n 's/^ *Candidate: //p')
		case $pv in ""|"(none)") die "Debian 13 has no linux-source-$ver" ;; esac
		d=$(cache_dir)/linux-source-$ver-$pv
		exec 7>"$d.lock"
		flock 7
		if [ ! -f "$d/linux-source-$ver.tar.xz" ]; then
			step "downloading linux-source-$ver $pv (Debian 13 backports)"
			rm -rf "$d" "$d.tmp"
			mkdir -p "$d.tmp"
			(cd "$d.tmp" && debian13_apt apt-get -q download "linux-source-$ver=$pv" >/dev/null) ||
				die "apt-get download linux-source-$ver=$pv failed"
			deb=$(echo "$d.tmp"/linux-source-*.deb)
			dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$d.tmp" "./usr/src/linux-source-$ver.tar.xz" ||
				die "$deb holds no usr/src/linux-source-$ver.tar.xz"
			mv "$d.tmp/usr/src/linux-source-$ver.tar.xz" "$d.tmp/"
			rm -rf "$d.tmp/usr" "$deb"
			mv "$d.tmp" "$d"
		fi
		exec 7>&-
		echo "$pv $d/linux-source-$ver.tar.xz"
		;;
	*) die "unknown kernel series '$ver' (want 6.1, 6.12 or 7.3)" ;;
	esac
}

# inner_kernel VER: the bzImage an inner VM of a VER lab boot runs: the lab's
# own stock kernel of that line, except on 7.3. The lab's Linux 7.3 as a
# guest of KVM under QEMU's TCG (AMD) oopses as it boots: its xstate check
# turns XSAVE off ("x86/fpu: XSAVE disabled"), then the first fork
# dereferences NULL in prepare_creds(), with 7.3's stock KVM as with the
# patched one (under TCG itself, with or without XSAVE, it boots). The
# inner VM is only a guest of the KVM under test, so 7.3's boots give it
# 6.12's kernel.
inner_kernel() {
	local v=$1
	[ "$v" != 7.3 ] || v=6.12
	echo "$("$top/kernel/build.sh" "$v" stock | tail -1)/bzImage"
}

# kernel_make SRC ARGS...: make in a kernel tree of the cache, always with the
# same variables, so that one build never invalidates another's objects.
kernel_make() {
	local src=$1
	shift
	make -C "$src" -j"$(nproc)" LOCALVERSION= KBUILD_BUILD_USER=lab KBUILD_BUILD_HOST=lab "$@"
}

# undelivered_irq DUMP: QEMU's "info registers -a" and "info lapic" of a
# stalled guest. True, with one line saying why, when every CPU is halted
# with interrupts enabled (RFLAGS.IF) while the local APIC holds in its IRR
# a vector whose priority class is above the processor priority (PPR): an
# interrupt that a real CPU would take at once. Then the emulator, not the
# guest, failed to wake the CPU.
undelivered_irq() {
	awk '
	function hex(s,   i, c, v) {
		s = tolower(s); sub(/^0x/, "", s); v = 0
		for (i = 1; i <= length(s); i++) {
			c = index("0123456789abcdef", substr(s, i, 1))
			if (!c) return -1
			v = v * 16 + c - 1
		}
		return v
	}
	/^RIP=.* RFL=[0-9a-f]+ .*HLT=[01]/ {
		cpus++
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^RFL=/) fl = hex(substr($i, 5))
			if ($i ~ /^HLT=/) h = substr($i, 5)
		}
		if (h == 1 && int(fl / 512) % 2 == 1) halted_if++
	}
	/^IRR[ \t]/ && !seen_irr++ { irr = -1; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/ && $i + 0 > irr) irr = $i + 0 }
	/^APR .* PPR / { for (i = 1; i < NF; i++) if ($i == "PPR") ppr = hex($(i + 1)) }
	END {
		if (!cpus || halted_if != cpus || irr < 0 || ppr == "" || int(irr / 16) <= int(ppr / 16))
			exit 1
		printf "every CPU (%d) halted with interrupts on, and vector %d pending in the local APIC above PPR 0x%02x: a CPU would take it, the emulator did not\n", cpus, irr, ppr
	}' "$1"
}
