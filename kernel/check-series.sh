#!/usr/bin/env bash
# Hold the committed series to their sources (kernel/series.sh):
#   - kernel/patches/LINE/ is exactly what kernel/series/ makes, every line;
#   - taking each committed series apart again gives back the same sources;
#   - a change to the core, a line's spelling of it, a line's hooks or a
#     message changes the lines it should and no other;
#   - the refusals: a line that does not exist, a directory with no
#     patches, hooks that touch the core's files.
#
#   kernel/check-series.sh
#
# Prints one PASS/FAIL line per check and "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0
result() { # result OK NAME [DETAIL]
	if [ "$1" = 1 ]; then passed=$((passed + 1)); echo "PASS  $2"
	else failed=$((failed + 1)); echo "FAIL  $2${3:+: $3}"; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# One cache of patch headers for every run of series.sh here (its
# mutations leave most headers as they were).
export SERIES_CACHE=$tmp/headers
mapfile -t lines < <(cd "$here/series" && ls -d [0-9]* | sort -V)

out=$(bash "$here/series.sh" check "${lines[@]}" 2>&1)
for l in "${lines[@]}"; do
	if grep -qx "PASS  kernel/patches/$l is what kernel/series/ makes" <<<"$out"; then
		result 1 "kernel/patches/$l is what kernel/series/ makes"
	else
		result 0 "kernel/patches/$l is what kernel/series/ makes" \
			"$(grep -A6 "$l" <<<"$out" | head -8 | tr '\n' ' ')"
	fi
done

# A copy of kernel/ to change: series.sh works on the tree it sits in.
fresh() {
	rm -rf "$tmp/k"
	mkdir -p "$tmp/k"
	cp -r "$here/series.sh" "$here/series" "$here/patches" "$tmp/k/"
}
# check_lines: the lines whose committed series the copy's sources no
# longer make, in order.
check_lines() {
	bash "$tmp/k/series.sh" check "${lines[@]}" 2>&1 |
		sed -n 's|^FAIL  kernel/patches/\([^ ]*\) is not .*|\1|p' | tr '\n' ' ' | sed 's/ $//'
}

# Round trip: the lines without core.sed write the core, the others check
# it; either way the sources come back unchanged.
fresh
ok=1 why=
for l in "${lines[@]}"; do
	o=$(bash "$tmp/k/series.sh" split "$l" "$tmp/k/patches/$l" 2>&1) || { ok=0 why="$l: $o"; }
done
d=$(diff -r "$here/series" "$tmp/k/series") || { ok=0 why="${why:+$why; }$d"; }
result "$ok" "split of every committed series gives back kernel/series/" "$(echo "$why" | head -5 | tr '\n' ' ')"

# Mutations: each must change exactly the lines named.
all="${lines[*]}"
mutate() { # mutate NAME EXPECTED FILE SED-EXPRESSION
	local name=$1 want=$2 file=$3 expr=$4 got
	fresh
	[ -f "$tmp/k/series/$file" ] || { result 0 "$name" "no kernel/series/$file"; return; }
	cp "$tmp/k/series/$file" "$tmp/before"
	sed -i "$expr" "$tmp/k/series/$file"
	if cmp -s "$tmp/before" "$tmp/k/series/$file"; then
		result 0 "$name" "the mutation did not change kernel/series/$file"
		return
	fi
	got=$(check_lines)
	if [ "$got" = "$want" ]; then result 1 "$name (changes: ${want:-none})"
	else result 0 "$name" "changes '$got', want '$want'"; fi
}
mutate "a changed line of the core's last step changes every line" "$all" \
	core/09.diff '0,/^+.*BUCKET/s//&_X/'
mutate "a changed core message changes every line" "$all" \
	core/04.msg '1s/$/ now/'
mutate "7.3's spelling of the core changes 7.3 alone" "7.3" \
	7.3/core.sed '/EXPORT_SYMBOL_FOR_KVM_INTERNAL/d'
mutate "6.1's hooks change 6.1 alone" "6.1" \
	6.1/02.diff '0,/^+/s/^+.*/&  /'
mutate "7.3's own message changes 7.3 alone" "7.3" \
	7.3/02.msg '$a\Extra line.'

# Refusals.
fresh
o=$(bash "$tmp/k/series.sh" build -o "$tmp/o" 5.4 2>&1); rc=$?
[ "$rc" != 0 ] && grep -q "no kernel line 5.4 .*there are: ${lines[*]}" <<<"$o"
result $((! $?)) "build of a line with no sources is refused, naming the lines there are" "status $rc: $o"
mkdir -p "$tmp/empty"
o=$(bash "$tmp/k/series.sh" split "${lines[0]}" "$tmp/empty" 2>&1); rc=$?
[ "$rc" != 0 ] && grep -q "holds no NNNN-\*.patch" <<<"$o"
result $((! $?)) "split of a directory with no patches is refused" "status $rc: $o"
fresh
sed -i 's|^diff --git a/arch/x86/kvm/x86.c b/arch/x86/kvm/x86.c$|diff --git a/arch/x86/kvm/exit_stats.h b/arch/x86/kvm/exit_stats.h|' \
	"$tmp/k/series/${lines[0]}/01.diff"
o=$(bash "$tmp/k/series.sh" build -o "$tmp/o" "${lines[0]}" 2>&1); rc=$?
[ "$rc" != 0 ] && grep -q "touches arch/x86/kvm/exit_stats.h, which is the core's" <<<"$o"
result $((! $?)) "hooks that touch the core's files are refused" "status $rc: $o"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
