#!/usr/bin/env bash
# Apply the kvm-exitstat series that matches a kernel tree (make apply).
#
#   kernel/apply.sh [-n] TREE
#
# The series is picked by the tree's own VERSION and PATCHLEVEL (its top
# Makefile): kernel/patches/X.Y/. A tree with no matching series is refused,
# in one line naming its version and the versions there are series for.
#
# In a git tree (TREE is the top of a work tree) the series goes in with
# `git am`, one commit per patch, on the checked-out branch. Otherwise with
# `patch -p1`, exactly (no fuzz): each patch is tried first, and if one does
# not apply, the ones already applied are taken out again, so the tree is
# left as it was found.
#
# -n: only say which series would be applied, and how.
#
# Then build as the assignment does: `make modules M=arch/x86/kvm` in TREE
# (after a configured and built kernel with CONFIG_KVM=m).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "error: $*" >&2; exit 1; }
usage() { echo "usage: kernel/apply.sh [-n] TREE   (make apply TREE=DIR)" >&2; exit 2; }

dry=
while getopts n o; do
	case $o in n) dry=1 ;; *) usage ;; esac
done
shift $((OPTIND - 1))
[ $# = 1 ] || usage
tree=$1
[ -d "$tree" ] || die "$tree: no such directory"
tree=$(cd "$tree" && pwd)

ver=$(sed -n 's/^VERSION = *\([0-9]*\)$/\1/p' "$tree/Makefile" 2>/dev/null | head -1 || true)
lvl=$(sed -n 's/^PATCHLEVEL = *\([0-9]*\)$/\1/p' "$tree/Makefile" 2>/dev/null | head -1 || true)
[ -n "$ver" ] && [ -n "$lvl" ] && [ -d "$tree/arch/x86/kvm" ] ||
	die "$tree is not a Linux source tree (no VERSION and PATCHLEVEL in its Makefile, or no arch/x86/kvm)"
have=$(cd "$here/patches" && ls -d [0-9]* | sort -V | tr '\n' ' ')
series_dir=$here/patches/$ver.$lvl
[ -f "$series_dir/series" ] ||
	die "$tree is Linux $ver.$lvl; kvm-exitstat has series for ${have% } only"
mapfile -t patches < <(grep -v '^\s*\(#\|$\)' "$series_dir/series")
[ "${#patches[@]}" -gt 0 ] || die "$series_dir/series is empty"

git_top=$(git -C "$tree" rev-parse --show-toplevel 2>/dev/null || true)
if [ "$git_top" = "$tree" ]; then how="git am"; else how="patch -p1"; fi
echo "Linux $ver.$lvl in $tree: ${#patches[@]} patches from kernel/patches/$ver.$lvl, with $how"
[ -z "$dry" ] || exit 0

if [ "$how" = "git am" ]; then
	for p in "${patches[@]}"; do
		git -C "$tree" am -q --whitespace=error-all "$series_dir/$p" || {
			git -C "$tree" am --abort >/dev/null 2>&1 || true
			die "$p does not apply to $tree with git am; its branch is left at the last patch that did"
		}
	done
	git -C "$tree" log --oneline -"${#patches[@]}"
	exit 0
fi

command -v patch >/dev/null || die "patch is not installed (apt-get install patch)"
done_=()
undo() {
	local i
	for ((i = ${#done_[@]} - 1; i >= 0; i--)); do
		patch -d "$tree" -p1 -R -s -F0 --no-backup-if-mismatch <"$series_dir/${done_[i]}" ||
			echo "warning: could not take ${done_[i]} out again" >&2
	done
}
for p in "${patches[@]}"; do
	if ! out=$(patch -d "$tree" -p1 -N -F0 --dry-run <"$series_dir/$p" 2>&1); then
		undo
		die "$p does not apply to $tree (tree left as it was): $(grep -m1 -iE 'fail|reversed|previously' <<<"$out")"
	fi
	patch -d "$tree" -p1 -N -s -F0 --no-backup-if-mismatch <"$series_dir/$p"
	done_+=("$p")
	echo "applied $p"
done
