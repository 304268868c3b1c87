#!/usr/bin/env bash
# Assemble each kernel line's patch series from one shared core (make series).
#
#   kernel/series.sh build [-o DIR] [LINE...]   write DIR/LINE/*.patch and series
#                                               (default: kernel/patches/)
#   kernel/series.sh check [LINE...]            fail if kernel/patches/ is not
#                                               what kernel/series/ makes
#   kernel/series.sh split LINE PATCHDIR        take a series made with
#                                               git format-patch back apart
#
# The sources, in kernel/series/:
#   core/NN.msg    step NN's commit message (subject, blank line, body);
#   core/NN.diff   its change to the files that are the same on every line
#                  (arch/x86/kvm/exit_stats.c, exit_stats.h, exit_stats_test.c:
#                  the accounting, the leaves, debugfs, the parameters, KUnit);
#   LINE/NN.diff   the line's hooks into KVM's own files at step NN;
#   LINE/NN.msg    the line's commit message where it is not the core's;
#   LINE/core.sed  how the line's tree spells the core (its export macro,
#                  headers, the exit reasons its uapi headers define), applied
#                  to the core's files after every step; none for a line
#                  whose tree takes the core as it is.
#
# Patch NN of LINE is the core's files after step NN, spelled for LINE and
# diffed against the same after step NN-1, with LINE's hooks, in the
# order and form of `git format-patch` (path order, its diffstat, its
# header). The hooks are kept as diffs against LINE's tree, so no tree is
# needed here; kernel/check-patches.sh applies the result to the tree.
#
# Work on the series in a kernel tree: `make apply`, edit, commit,
# `git format-patch --zero-commit -o DIR stock..` (stock = the tree's
# first commit, as kernel/build.sh makes it), then `kernel/series.sh split
# LINE DIR` and `make series`. Splitting a line without core.sed writes
# the core; splitting one with it checks that the core is unchanged.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$here/series
core_re='^arch/x86/kvm/exit_stats[^/]*$'
# Every patch's header: one author and date, so that the same sources
# always give the same bytes, whatever the git that assembles them.
author_name="kvm-exitstat developers"
author_email="dev@kvm-exitstat.invalid"
author_date="Tue, 24 Nov 2026 12:00:00 +0000"
signature=2.39.5

die() { echo "error: $*" >&2; exit 1; }
usage() {
	echo "usage: kernel/series.sh build [-o DIR] [LINE...] | check [LINE...] | split LINE PATCHDIR" >&2
	exit 2
}

# git with nothing from the user's or the system's configuration, so that
# diff options, abbreviations and hooks are always git's defaults.
g() {
	HOME=$tmp XDG_CONFIG_HOME=$tmp GIT_CONFIG_NOSYSTEM=1 \
		GIT_AUTHOR_NAME=$author_name GIT_AUTHOR_EMAIL=$author_email \
		GIT_AUTHOR_DATE=$author_date GIT_COMMITTER_NAME=$author_name \
		GIT_COMMITTER_EMAIL=$author_email GIT_COMMITTER_DATE=$author_date \
		git -c core.abbrev=7 -c init.defaultBranch=main "$@"
}

lines() { (cd "$src" && ls -d [0-9]* | sort -V); }
steps() { (cd "$src/core" && ls [0-9][0-9].msg | sed 's/\.msg$//'); }

# sections DIFF DIR: DIR/paths lists each file DIFF touches, in order; the
# section of the Nth is DIR/N.
sections() {
	mkdir -p "$2"
	: >"$2/paths"
	[ -s "$1" ] || return 0
	awk -v d="$2" '
		/^diff --git / { n++; f = d "/" n; p = $3; sub(/^a\//, "", p)
				 print p >> (d "/paths") }
		/^-- $/ { exit }
		n { print > f }' "$1"
}

# is_core PATH
is_core() { [[ $1 =~ $core_re ]]; }

# build_line LINE OUT: OUT/*.patch and OUT/series for LINE.
build_line() {
	local line=$1 out=$2 w=$tmp/$1 n nsteps msg f i p
	[ -d "$src/$line" ] || die "no kernel line $line in kernel/series/ (there are: $(lines | tr '\n' ' '))"
	rm -rf "$w"
	mkdir -p "$out" "$w"
	rm -f "$out"/*.patch "$out/series"
	nsteps=$(steps | wc -l)
	# The core's diffs as LINE spells them, step by step: from SERIES_CACHE
	# when every step is there (keyed by the core's diffs up to the step
	# and by LINE's spelling), else made and kept there.
	local key= hit=1 keys=()
	for n in $(steps); do
		key=$({ echo "$key"; cat "$src/core/$n.diff" 2>/dev/null || true; echo
			cat "$src/$line/core.sed" 2>/dev/null || true; } | sha256sum | cut -c1-32)
		keys+=("$key")
		[ -e "$SERIES_CACHE/core-$key" ] || hit=0
	done
	i=0
	if [ "$hit" = 1 ]; then
		for n in $(steps); do
			cp "$SERIES_CACHE/core-${keys[i]}" "$w/$n.core"
			i=$((i + 1))
		done
	else
		mkdir -p "$w/canon" "$SERIES_CACHE"
		g init -q "$w/core"
		printf '*.[ch] diff=cpp\n' >"$w/core/.git/info/attributes"
		g -C "$w/core" commit -q --allow-empty -m base
		for n in $(steps); do
			if [ -f "$src/core/$n.diff" ]; then
				(cd "$w/canon" && g apply "$src/core/$n.diff") ||
					die "kernel/series/core/$n.diff does not apply to the core after step $((10#$n - 1))"
			fi
			rm -rf "$w/core/arch"
			cp -r "$w/canon/." "$w/core/"
			if [ -f "$src/$line/core.sed" ] && [ -d "$w/core/arch" ]; then
				find "$w/core/arch" -type f -exec sed -i -f "$src/$line/core.sed" {} +
			fi
			g -C "$w/core" add -A
			g -C "$w/core" commit -q --allow-empty -m "$n"
			g -C "$w/core" diff HEAD~ HEAD >"$w/$n.core"
			cp "$w/$n.core" "$SERIES_CACHE/core-${keys[i]}.$$"
			mv "$SERIES_CACHE/core-${keys[i]}.$$" "$SERIES_CACHE/core-${keys[i]}"
			i=$((i + 1))
		done
	fi

	for n in $(steps); do
		# The patch: the core's sections and the hooks', in path order.
		rm -rf "$w/s"
		sections "$w/$n.core" "$w/s/core"
		sections "$src/$line/$n.diff" "$w/s/hooks"
		for p in $(cat "$w/s/hooks/paths"); do
			is_core "$p" && die "kernel/series/$line/$n.diff touches $p, which is the core's"
		done
		for f in core hooks; do
			i=0
			while read -r p; do
				i=$((i + 1))
				printf '%s\t%s\n' "$p" "$w/s/$f/$i"
			done <"$w/s/$f/paths"
		done | LC_ALL=C sort -t "$(printf '\t')" -k1,1 >"$w/s/order"
		[ -s "$w/s/order" ] || die "step $n of $line changes nothing"
		cut -f2 "$w/s/order" | xargs cat >"$w/$n.diff"

		msg=$src/core/$n.msg
		[ -f "$src/$line/$n.msg" ] && msg=$src/$line/$n.msg
		header_cached "$w" "$n" "$nsteps" "$msg" "$w/$n.diff" >"$w/$n.head"
		f=$(head -1 "$w/$n.head")
		{ tail -n +2 "$w/$n.head"; cat "$w/$n.diff"; printf -- '-- \n%s\n\n' "$signature"; } >"$out/$f"
		echo "$f" >>"$out/series"
	done
}

# header W N TOTAL MSG DIFF: the patch's file name, then its mail header,
# message and diffstat, as git format-patch writes them. format-patch is
# run on a stand-in commit that adds and deletes as many lines in the
# same files as DIFF does, so its diffstat is DIFF's.
header() {
	local w=$1 n=$2 total=$3 msg=$4 diff=$5 r=$1/stat p add del new gone k
	rm -rf "$r"
	g init -q "$r"
	g -C "$r" commit -q --allow-empty -m base
	while IFS=$'\t' read -r p add del new gone; do
		mkdir -p "$r/$(dirname "$p")"
		[ "$new" = 1 ] || { { [ "$del" -gt 0 ] && seq -f 'old %g' "$del"; } || echo kept; } >"$r/$p"
	done < <(numstat "$diff")
	g -C "$r" add -A
	g -C "$r" commit -q --allow-empty -m before
	while IFS=$'\t' read -r p add del new gone; do
		if [ "$gone" = 1 ]; then rm "$r/$p"; continue; fi
		{ [ "$del" -gt 0 ] || [ "$new" = 1 ] || echo kept
		  [ "$add" -gt 0 ] && seq -f 'new %g' "$add"; } >"$r/$p" || true
	done < <(numstat "$diff")
	g -C "$r" add -A
	g -C "$r" commit -q -F "$msg"
	k=$(g -C "$r" format-patch --zero-commit --no-numbered --signature="$signature" \
		--subject-prefix="PATCH $((10#$n))/$total" --start-number="$((10#$n))" \
		-o "$w/fp" -1 HEAD)
	basename "$k"
	sed '/^diff --git /,$d' "$k"
	rm -rf "$w/fp"
}

# header_cached W N TOTAL MSG DIFF: header's result, kept in SERIES_CACHE
# (a directory; this run's own by default) under a hash of all it depends
# on, so that the same step's header is made once: it is most of the work.
header_cached() {
	local key
	key=$({ printf '%s\n' "$2" "$3" "$author_name" "$author_email" "$author_date" "$signature"
		cat "$4"; numstat "$5"; } | sha256sum | cut -c1-32)
	if [ ! -s "$SERIES_CACHE/$key" ]; then
		mkdir -p "$SERIES_CACHE"
		header "$@" >"$SERIES_CACHE/$key.$$"
		mv "$SERIES_CACHE/$key.$$" "$SERIES_CACHE/$key"
	fi
	cat "$SERIES_CACHE/$key"
}

# numstat DIFF: per file, "path adds deletes new gone".
numstat() {
	awk '
		function out() { if (p != "") printf "%s\t%d\t%d\t%d\t%d\n", p, a, d, nw, gn }
		/^diff --git / { out(); p = $3; sub(/^a\//, "", p); a = d = nw = gn = 0; h = 1; next }
		h && /^new file mode/ { nw = 1; next }
		h && /^deleted file mode/ { gn = 1; next }
		h && /^\+\+\+ / { h = 0; next }
		h { next }
		/^\+/ { a++ } /^-/ { d++ }
		END { out() }' "$1"
}

# split LINE DIR: the sources that give LINE the series in DIR.
split_line() {
	local line=$1 dir=$2 n f msg subj i p nsteps
	[ -d "$src/$line" ] || die "no kernel line $line in kernel/series/ (there are: $(lines | tr '\n' ' '))"
	mapfile -t pf < <(cd "$dir" && ls [0-9][0-9][0-9][0-9]-*.patch 2>/dev/null)
	[ "${#pf[@]}" -gt 0 ] || die "$dir holds no NNNN-*.patch"
	nsteps=${#pf[@]}
	[ ! -f "$src/$line/core.sed" ] || nsteps=$(steps | wc -l)
	[ "${#pf[@]}" = "$nsteps" ] || die "$dir holds ${#pf[@]} patches; the core has $nsteps steps"
	mkdir -p "$tmp/split"
	for f in "${pf[@]}"; do
		n=$(printf '%02d' "$((10#${f%%-*}))")
		subj=$(g mailinfo "$tmp/split/body" /dev/null <"$dir/$f" | sed -n 's/^Subject: //p')
		msg=$tmp/split/$n.msg
		{ echo "$subj"; echo; cat "$tmp/split/body"; } >"$msg"
		rm -rf "$tmp/split/s"
		sections "$dir/$f" "$tmp/split/s"
		: >"$tmp/split/$n.hooks"
		: >"$tmp/split/$n.core"
		i=0
		while read -r p; do
			i=$((i + 1))
			if is_core "$p"; then cat "$tmp/split/s/$i" >>"$tmp/split/$n.core"
			else cat "$tmp/split/s/$i" >>"$tmp/split/$n.hooks"; fi
		done <"$tmp/split/s/paths"
	done
	for n in $(seq -f '%02g' 1 "$nsteps"); do
		if [ -s "$tmp/split/$n.hooks" ]; then cp "$tmp/split/$n.hooks" "$src/$line/$n.diff"
		else rm -f "$src/$line/$n.diff"; fi
		if [ -f "$src/$line/core.sed" ]; then
			if cmp -s "$tmp/split/$n.msg" "$src/core/$n.msg"; then rm -f "$src/$line/$n.msg"
			else cp "$tmp/split/$n.msg" "$src/$line/$n.msg"; fi
		else
			mkdir -p "$src/core"
			cp "$tmp/split/$n.msg" "$src/core/$n.msg"
			rm -f "$src/$line/$n.msg"
			if [ -s "$tmp/split/$n.core" ]; then cp "$tmp/split/$n.core" "$src/core/$n.diff"
			else rm -f "$src/core/$n.diff"; fi
		fi
	done
	# The core as the line spells it must be what DIR holds.
	build_line "$line" "$tmp/split/out"
	for f in "${pf[@]}"; do
		cmp -s "$dir/$f" "$tmp/split/out/$f" || {
			diff -u "$dir/$f" "$tmp/split/out/$f" | head -30 >&2
			die "$line: $f is not what kernel/series/ makes of it: its core differs from kernel/series/core's (spelled by $line/core.sed), or it is not in git format-patch's form"
		}
	done
	echo "kernel/series/: $line split from $dir (${#pf[@]} patches)"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
SERIES_CACHE=${SERIES_CACHE:-$tmp/headers}
[ $# -gt 0 ] || usage
cmd=$1
shift
case $cmd in
build)
	out=$here/patches
	if [ "${1:-}" = -o ]; then out=${2:?usage: kernel/series.sh build -o DIR}; shift 2; fi
	[ $# -gt 0 ] || set -- $(lines)
	for line in "$@"; do build_line "$line" "$out/$line"; done
	echo "kernel/patches/: $* assembled from kernel/series/"
	;;
check)
	[ $# -gt 0 ] || set -- $(lines)
	bad=0
	for line in "$@"; do
		build_line "$line" "$tmp/out/$line"
		if d=$(diff -r "$here/patches/$line" "$tmp/out/$line"); then
			echo "PASS  kernel/patches/$line is what kernel/series/ makes"
		else
			echo "FAIL  kernel/patches/$line is not what kernel/series/ makes (make series):"
			echo "$d" | head -20 | sed 's/^/      /'
			bad=$((bad + 1))
		fi
	done
	[ "$bad" = 0 ]
	;;
split)
	[ $# = 2 ] || usage
	[ -d "$2" ] || die "$2: no such directory"
	split_line "$1" "$(cd "$2" && pwd)"
	;;
*) usage ;;
esac
