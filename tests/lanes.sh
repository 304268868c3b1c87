# The lanes of make check (sourced by tests/check.sh, and by
# lab/selftest.sh to test them): timed suites, recorded per lane, and the
# closing summary.
#
# A suite is a command that ends with "N passed, N failed". It counts as
# failed, on top of what it reports, when it exits non-zero with no failure
# counted, or prints no such line at all: a suite must not look green
# because it stopped early. A lane (lane_start) counts as failed when it
# exits non-zero or before its last suite, and a run with no result at all
# fails: nothing that stopped early looks green.

lanes_init() { # lanes_init DIR: a fresh directory for the lanes' records
	work=$1
	rm -rf "$work"
	mkdir -p "$work"
}

# cpu_ticks VAR: set VAR to the CPU time (user + system, in clock ticks) of
# this shell's children that it has waited for, and of theirs: what its
# suites used. (No subshell: it would read its own.)
cpu_ticks() {
	local stat f
	read -r stat < "/proc/$BASHPID/stat"
	read -r -a f <<<"${stat##*) }"
	printf -v "$1" '%d' "$((f[13] + f[14]))"
}

# suite LANE NAME CMD...: run one suite that ends with "N passed, N failed";
# record "LANE|NAME|PASSED|FAILED|SECONDS|PROBLEM|CPU-SECONDS" in the lane's
# results.
suite() {
	local lane=$1 name=$2 out rc p f t0=$SECONDS problem= c0 c1
	shift 2
	cpu_ticks c0
	out=$work/$lane.$(printf '%s' "$name" | tr -c 'A-Za-z0-9.' '-').out
	echo "=== $name" | sed "s/^/[$lane] /"
	"$@" 2>&1 | tee "$out" | sed -u "s/^/[$lane] /"
	rc=${PIPESTATUS[0]}
	if read -r p f < <(counts "$out"); then
		[ "$rc" = 0 ] || [ "$f" != 0 ] || { f=$((f + 1)) problem="exit status $rc"; }
	else
		# Its last line, which often says why (a die message), with the
		# record's separators taken out.
		p=0 f=1 problem="no result line, exit status $rc$(tail -n 1 "$out" | tr -d '|\r' | cut -c1-160 | sed 's/^./; its last line: &/')"
	fi
	cpu_ticks c1
	echo "$lane|$name|$p|$f|$((SECONDS - t0))|$problem|$(((c1 - c0) / $(getconf CLK_TCK)))" >> "$work/results.$lane"
	echo "=== $name: $p passed, $f failed, $((SECONDS - t0)) s" | sed "s/^/[$lane] /"
}

# lane_start LANE FUNCTION [ARGS...]: run a lane in the background; it must
# reach its end with status 0 (lanes_wait records what it did not).
lanes_pids=()
lane_start() {
	local lane=$1
	shift
	( "$@" && touch "$work/lane.$lane.done" ) &
	lanes_pids+=("$!:$lane")
}

# lanes_wait: wait for every lane; a lane that failed or stopped early is
# a failure of its own.
lanes_wait() {
	local e rc
	for e in "${lanes_pids[@]}"; do
		rc=0
		wait "${e%%:*}" || rc=$?
		[ -e "$work/lane.${e#*:}.done" ] && [ "$rc" = 0 ] ||
			echo "${e#*:}|lane ${e#*:}|0|1|0|the lane stopped early, exit status $rc|0" >> "$work/results.${e#*:}"
	done
}

# step LANE NAME CMD...: a timed step with no tests of its own (a build), run
# as a suite of none; its failure leaves no result line, which counts as one.
step_timed() {
	local lane=$1 name=$2
	shift 2
	suite "$lane" "$name" sh -c '"$@" && echo "0 passed, 0 failed"' step "$@"
}

# lanes_summary WALL-SECONDS: the failures again, the timing table and the
# closing count; sets lanes_status (0 when nothing failed).
lanes_summary() {
	local passed failed
	echo "==="
	cat "$work"/results.* > "$work/results" 2>/dev/null
	grep -h '^FAIL' "$work"/*.out 2>/dev/null | sed 's/^/failed: /'
	grep -h '^SKIP' "$work"/*.out 2>/dev/null | sed 's/^/skipped: /'
	awk -F'|' '$6 != "" { print "broken: " $1 ": " $2 " (" $6 ")" }' "$work/results"
	echo "timing (wall-clock seconds, the lanes side by side, and the CPU seconds each suite used; logs in $work):"
	awk -F'|' -v wall="$1" '
		{ printf "  %-9s %-52s %5d s %5d passed %3d failed %5d s CPU\n", $1, $2, $5, $3, $4, $7
		  if (!($1 in lane)) order[n++] = $1
		  lane[$1] += $5; cpu[$1] += $7; p += $3; f += $4; c += $7 }
		END {
			for (i = 0; i < n; i++) printf "  %-9s %-52s %5d s %25s %5d s CPU\n", order[i], "(lane total)", lane[order[i]], "", cpu[order[i]]
			printf "  %-9s %-52s %5d s %5d passed %3d failed %5d s CPU\n", "all", "wall clock", wall, p, f, c
		}' "$work/results"
	read -r passed failed < <(awk -F'|' '{ p += $3; f += $4 } END { print p + 0, f + 0 }' "$work/results")
	if [ "$((passed + failed))" = 0 ]; then
		echo "broken: no suite reported any result"
		failed=1
	fi
	# What failed once more, under the table: a log cut to its last lines
	# (CI keeps the tail) still names it.
	if [ "$failed" != 0 ]; then
		echo "what failed (named above, again here):"
		{
			awk -F'|' '$4 > 0 { print "  " $1 ": " $2 ": " $4 " failed" ($6 != "" ? " (" $6 ")" : "") }' "$work/results"
			grep -h '^FAIL' "$work"/*.out 2>/dev/null | sed 's/^/  /'
		} | head -n 12
	fi
	echo "$passed passed, $failed failed"
	lanes_status=$([ "$failed" = 0 ] && echo 0 || echo 1)
}
