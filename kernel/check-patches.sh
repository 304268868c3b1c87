#!/usr/bin/env bash
# Hold each patch series to the kernel's standards:
#   - every patch is `checkpatch.pl --strict` clean;
#   - the series applies to the Debian source with no fuzz (git am);
#   - the files it touches build with W=1 without new warnings;
#   - rebuilding vmlinux with the series applied recompiles nothing, so the
#     patched modules load into the stock kernel image;
#   - with -e (make soak), each patch builds alone: the KVM modules build
#     with W=1 after every patch of the series, with no warning in the
#     series' files;
#   - make apply (kernel/apply.sh) gives the same tree with patch -p1 and,
#     as commits, with git am; it refuses a tree a patch does not fit,
#     leaving it as it was, and a tree of another version, in one line.
#
#   kernel/check-patches.sh [-e] [6.1] [6.12] [7.3]
#
# Prints one PASS/FAIL line per check and "N passed, N failed".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$top/lab/lib.sh"

each=
if [ "${1:-}" = -e ]; then each=1; shift; fi
[ $# -gt 0 ] || set -- 6.1 6.12
need_pkgs python3-ply
passed=0 failed=0
result() { # result OK NAME [DETAIL]
	if [ "$1" = 1 ]; then passed=$((passed + 1)); echo "PASS  $2"
	else failed=$((failed + 1)); echo "FAIL  $2${3:+: $3}"; fi
}

for ver in "$@"; do
	stock=$("$here/build.sh" "$ver" stock | tail -1)
	patched=$("$here/build.sh" "$ver" patched | tail -1)
	dir=$(dirname "$stock")
	src=$dir/src
	exec 9>"$dir/lock"
	flock 9
	mapfile -t patches < <(grep -v '^\s*\(#\|$\)' "$here/patches/$ver/series")

	# MAINTAINERS already lists arch/x86/kvm/ for KVM x86, so checkpatch's
	# generic "does MAINTAINERS need updating?" question for new files
	# (FILE_PATH_CHANGES) does not apply.
	for p in "${patches[@]}"; do
		if o=$(cd "$src" && scripts/checkpatch.pl --strict --ignore FILE_PATH_CHANGES \
			"$here/patches/$ver/$p" 2>&1); then
			result 1 "$ver checkpatch --strict $p"
		else
			result 0 "$ver checkpatch --strict $p" "$(echo "$o" | grep -E '^(ERROR|WARNING|CHECK)' | head -5 | tr '\n' ' ')"
		fi
	done

	# Each patch applies to the stock tree with its context exact (git
	# apply takes no fuzz), one after another, into a scratch index, and
	# gives exactly the tree the lab builds.
	idx=$(mktemp)
	if o=$(export GIT_INDEX_FILE=$idx
		git -C "$src" read-tree stock &&
		for p in "${patches[@]}"; do
			git -C "$src" apply --cached "$here/patches/$ver/$p" 2>&1 || { echo "$p does not apply"; exit 1; }
		done && git -C "$src" write-tree) &&
	   [ "$(tail -1 <<<"$o")" = "$(git -C "$src" rev-parse 'patched^{tree}')" ]; then
		result 1 "$ver series applies to linux-source-$ver with no fuzz"
	else
		result 0 "$ver series applies to linux-source-$ver with no fuzz" "$(tail -2 <<<"$o" | tr '\n' ' ')"
	fi
	rm -f "$idx"

	# vmlinux: with the series applied, nothing built into the image changes.
	git -C "$src" checkout -q -f patched
	before=$(sha256sum "$src/vmlinux" | cut -c1-16)
	o=$(kernel_make "$src" vmlinux 2>&1)
	after=$(sha256sum "$src/vmlinux" | cut -c1-16)
	cc=$(echo "$o" | grep -E '^\s+(CC|AS|LD)\s' | grep -v 'vmlinux' || true)
	if [ "$before" = "$after" ] && [ -z "$cc" ]; then
		result 1 "$ver vmlinux unchanged by the series (stock bzImage + patched modules)"
	else
		result 0 "$ver vmlinux unchanged by the series" "rebuilt: $(echo "$cc" | head -5 | tr '\n' ' ')"
	fi
	# W=1: compile each touched C file before and after the series.
	# The C files the series touches, except those #included by another
	# (exit_stats_test.c), which are compiled where they are included.
	# Only the files the lab's configuration builds (it has an object for
	# them): 7.3's vmx/tdx.c needs CONFIG_KVM_INTEL_TDX, which the lab's
	# tinyconfig cannot have.
	unbuilt=()
	mapfile -t files < <(git -C "$src" diff --name-only stock patched -- '*.c' |
		while read -r f; do
			git -C "$src" grep -q "#include \"$(basename "$f")\"" patched -- arch/x86/kvm ||
				echo "$f"
		done)
	for i in "${!files[@]}"; do
		if [ ! -f "$src/${files[i]%.c}.o" ]; then
			unbuilt+=("${files[i]#arch/x86/kvm/}")
			unset 'files[i]'
		fi
	done
	files=("${files[@]}")
	w1() { # w1 REF: warnings of the touched files at REF
		git -C "$src" checkout -q -f "$1"
		for f in "${files[@]}"; do
			[ -f "$src/$f" ] || continue	# new in the series
			touch "$src/$f"
			f=${f#arch/x86/kvm/}
			# M= builds only the module directory, as a user would.
			# A file that does not build is a line of its own, which
			# differs between the two refs, so it counts as new.
			kernel_make "$src" W=1 CONFIG_KVM_WERROR= \
				M="$src/arch/x86/kvm" "${f%.c}.o" > "$dir/w1.out" 2>&1 ||
				echo "error: $f does not build at $1"
			grep -E 'warning:' "$dir/w1.out" | sed -E 's/:[0-9]+:[0-9]+:/:/' || true
			# and the KUnit tests, as the lab builds them into kvm_kunit.ko
			if [ "$f" = exit_stats.c ]; then
				touch "$src/arch/x86/kvm/$f"
				kernel_make "$src" W=1 CONFIG_KVM_WERROR= M="$src/arch/x86/kvm" \
					CFLAGS_exit_stats.o=-DCONFIG_KVM_EXIT_STATS_KUNIT_TEST exit_stats.o \
					> "$dir/w1.out" 2>&1 || echo "error: $f (KUnit) does not build at $1"
				grep -E 'warning:' "$dir/w1.out" | sed -E 's/:[0-9]+:[0-9]+:/:/' || true
			fi
		done | sort -u
	}
	w1 stock >"$dir/w1-stock.txt"
	w1 patched >"$dir/w1-patched.txt"
	new=$(comm -13 "$dir/w1-stock.txt" "$dir/w1-patched.txt")
	if [ -z "$new" ]; then
		result 1 "$ver W=1 build of ${#files[@]} touched files: no new warnings ($(wc -l <"$dir/w1-stock.txt") before, $(wc -l <"$dir/w1-patched.txt") after${unbuilt[*]:+; not in this config: ${unbuilt[*]}})"
	else
		result 0 "$ver W=1 build" "new warnings: $(echo "$new" | head -5 | tr '\n' ' ')"
	fi

	# 7.3's TDX code (vmx/tdx.c, and vmx/main.c's TDX half), which the lab's
	# tinyconfig cannot build: W=1 before and after the series in a second
	# tree of the same source, configured with CONFIG_KVM_INTEL_TDX=y
	# (cached beside the lab's tree; its objects are never booted).
	if [ -f "$src/arch/x86/kvm/vmx/tdx.c" ]; then
		tdx=$dir/tdx
		if [ ! -e "$tdx/.prepared" ]; then
			rm -rf "$tdx"
			git -C "$src" worktree prune
			git -C "$src" worktree add -q --detach "$tdx" stock
			cp "$src/.config" "$tdx/.config"
			"$tdx/scripts/config" --file "$tdx/.config" --enable HYPERVISOR_GUEST \
				--enable X86_X2APIC --enable MIGRATION --enable COMPACTION \
				--enable MEMORY_ISOLATION --enable CMA --enable INTEL_TDX_HOST \
				--enable X86_MCE --enable KVM_INTEL_TDX
			kernel_make "$tdx" -s olddefconfig >/dev/null
			kernel_make "$tdx" -s modules_prepare >"$dir/tdx.log" 2>&1 || true
			touch "$tdx/.prepared"
		fi
		w1tdx() { # w1tdx REF: warnings of the TDX files at REF
			git -C "$tdx" checkout -q -f --detach "$1"
			for f in vmx/tdx.c vmx/main.c; do
				touch "$tdx/arch/x86/kvm/$f"
				kernel_make "$tdx" W=1 CONFIG_KVM_WERROR= M="$tdx/arch/x86/kvm" \
					"${f%.c}.o" >"$dir/w1.out" 2>&1 || echo "error: $f does not build at $1"
				grep -E 'warning:' "$dir/w1.out" | sed -E 's/:[0-9]+:[0-9]+:/:/' || true
			done | sort -u
		}
		if ! grep -q '^CONFIG_KVM_INTEL_TDX=y' "$tdx/.config"; then
			result 0 "$ver W=1 build with CONFIG_KVM_INTEL_TDX=y" "the second tree's config lost KVM_INTEL_TDX"
		else
			w1tdx stock >"$dir/w1-tdx-stock.txt"
			w1tdx "$(git -C "$src" rev-parse patched)" >"$dir/w1-tdx-patched.txt"
			new=$(comm -13 "$dir/w1-tdx-stock.txt" "$dir/w1-tdx-patched.txt")
			if [ -z "$new" ]; then
				result 1 "$ver W=1 build of vmx/tdx.c and vmx/main.c with CONFIG_KVM_INTEL_TDX=y: no new warnings"
			else
				result 0 "$ver W=1 build with CONFIG_KVM_INTEL_TDX=y" "new warnings: $(echo "$new" | head -5 | tr '\n' ' ')"
			fi
		fi
	fi

	if [ -n "$each" ]; then
		n=${#patches[@]}
		for ((i = 1; i <= n; i++)); do
			git -C "$src" checkout -q -f "patched~$((n - i))"
			subject=$(git -C "$src" log -1 --format=%s)
			# every file the series has touched so far, for its warnings
			touched=$(git -C "$src" diff --name-only stock HEAD -- '*.c' '*.h' | sed 's|^arch/x86/kvm/||' | paste -sd'|')
			if o=$(kernel_make "$src" W=1 CONFIG_KVM_WERROR= M="$src/arch/x86/kvm" modules 2>&1); then
				w=$(echo "$o" | grep -E 'warning:' | grep -E "($touched)" || true)
				if [ -z "$w" ]; then
					result 1 "$ver patch $i/$n builds alone with W=1: $subject"
				else
					result 0 "$ver patch $i/$n builds alone with W=1: $subject" "$(echo "$w" | head -3 | tr '\n' ' ')"
				fi
			else
				result 0 "$ver patch $i/$n builds alone: $subject" "$(echo "$o" | grep -E 'error' | head -3 | tr '\n' ' ')"
			fi
		done
	fi
	# make apply (kernel/apply.sh) on a copy of the stock tree's Makefile
	# and arch/x86/kvm, which is all the series reads and writes; the lab
	# builds every patched kernel through it, in a git tree.
	t=$(mktemp -d)
	mkdir "$t/plain" "$t/git" "$t/clash" "$t/other"
	for d in plain git clash other; do
		git -C "$src" archive stock Makefile arch/x86/kvm | tar -x -C "$t/$d"
	done
	git -C "$src" archive patched arch/x86/kvm | tar -x -C "$t" && mv "$t/arch" "$t/want"
	if o=$(bash "$here/apply.sh" "$t/plain" 2>&1) && diff -r "$t/want/x86/kvm" "$t/plain/arch/x86/kvm" >/dev/null &&
	   [ -z "$(find "$t/plain" -name '*.orig' -o -name '*.rej')" ]; then
		result 1 "$ver make apply on a plain tree (patch -p1): the lab's patched tree"
	else
		result 0 "$ver make apply on a plain tree (patch -p1)" "$(tail -2 <<<"$o" | tr '\n' ' ')"
	fi
	(cd "$t/git" && git init -q && git add -A && git -c user.name=t -c user.email=t@t.invalid commit -q -m stock)
	if o=$(GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t.invalid make -s -C "$top" apply TREE="$t/git" 2>&1) &&
	   [ "$(git -C "$t/git" rev-parse HEAD:arch/x86/kvm)" = "$(git -C "$src" rev-parse patched:arch/x86/kvm)" ] &&
	   [ "$(git -C "$t/git" log --format=%s "HEAD~${#patches[@]}..HEAD")" = "$(git -C "$src" log --format=%s stock..patched)" ]; then
		result 1 "$ver make apply in a git tree: ${#patches[@]} commits, the lab's patched tree"
	else
		result 0 "$ver make apply in a git tree" "$(tail -2 <<<"$o" | tr '\n' ' ')"
	fi
	# A patch that cannot apply (the file the last patch to add one adds
	# is already there): refused, and the patches before it are taken out
	# again.
	last=$(git -C "$src" log --format= --name-only --diff-filter=A stock..patched | sed '/^$/d' | head -1)
	mkdir -p "$t/clash/$(dirname "$last")" && echo clash >"$t/clash/$last"
	cp -a "$t/clash" "$t/clash.before"
	if ! o=$(bash "$here/apply.sh" "$t/clash" 2>&1) && grep -q "tree left as it was" <<<"$o" &&
	   diff -r "$t/clash.before" "$t/clash" >/dev/null; then
		result 1 "$ver make apply refuses a tree a patch does not fit, and leaves it as it was"
	else
		result 0 "$ver make apply refuses a tree a patch does not fit" "$(tail -2 <<<"$o" | tr '\n' ' ')"
	fi
	sed -i 's/^PATCHLEVEL = .*/PATCHLEVEL = 99/' "$t/other/Makefile"
	if ! o=$(bash "$here/apply.sh" "$t/other" 2>&1) && [ "$(wc -l <<<"$o")" = 1 ] &&
	   grep -q "is Linux ${ver%%.*}.99; kvm-exitstat has series for .*$ver" <<<"$o"; then
		result 1 "$ver make apply refuses another version in one line: $o"
	else
		result 0 "$ver make apply refuses another version in one line" "$o"
	fi
	rm -rf "$t"

	git -C "$src" checkout -q -f patched
	flock -u 9
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
