# What a boot of the lab reported, held against tests/lab/manifest (sourced
# by lab/check.sh, and by lab/selftest.sh to test it).

# boot_facts PAYLOAD VENDOR FLAVOUR KERNEL CPUS INNER [ENV-FILE...]: the
# boot's facts, as tests/lab/manifest names them. The env files are the
# payload's knobs (payload.env, reliability.env), read with the defaults
# tests/lab/payload.sh has.
boot_facts() {
	local payload=$1 vendor=$2 flavour=$3 kernel=$4 cpus=$5 inner=$6
	shift 6
	(
		PAGING_MODES="1 0" STOCK_TESTS=1 SMALL_RELIABILITY=1 KUNIT_TESTS=1 INSTALL_HOST_TEST=0
		for f in "$@"; do case $f in *.env) . "$f" ;; esac; done
		f="vendor:$vendor flavour:${flavour:-plain} kernel:$kernel cpus:$cpus"
		case $(basename "$payload") in
		payload.sh) f+=" main" ;;
		reliability-payload.sh) f+=" main reliability" ;;
		migrate-payload.sh) f+=" migrate" ;;
		fastpath-payload.sh) f+=" fastpath" ;;
		bisect-payload.sh) f+=" bisect" ;;
		*) f+=" payload:$(basename "$payload")" ;;
		esac
		for pg in $PAGING_MODES; do f+=" pg$pg"; done
		[ "$STOCK_TESTS" != 1 ] || f+=" stock"
		[ "$SMALL_RELIABILITY" != 1 ] || f+=" small"
		[ "$KUNIT_TESTS" != 1 ] || f+=" kunit"
		[ "$INSTALL_HOST_TEST" != 1 ] || f+=" install"
		[ -z "$inner" ] || f+=" inner"
		echo "$f"
	)
}

# holds "FACTS" "CONDITIONS": whether every condition holds.
holds() {
	local c
	for c in $2; do
		case $c in
		'*') ;;
		!*) case " $1 " in *" ${c#!} "*) return 1 ;; esac ;;
		*) case " $1 " in *" $c "*) ;; *) return 1 ;; esac ;;
		esac
	done
}

# manifest_for MANIFEST FACTS PG: "NAME-GLOB|SKIP-ALLOWED" for each test the
# boot must report; PG is npt or ept.
manifest_for() {
	local when name skip
	while IFS='|' read -r when name skip; do
		when=$(echo "$when" | sed 's/^ *//; s/ *$//')
		[ -n "$when" ] && [ "${when#\#}" = "$when" ] || continue
		name=$(echo "$name" | sed 's/^ *//; s/ *$//')
		skip=$(echo "$skip" | sed 's/^ *//; s/ *$//')
		holds "$2" "$when" || continue
		if [ -n "$skip" ] && holds "$2" "$skip"; then skip=1; else skip=0; fi
		echo "${name//\{P\}/$3}|$skip"
	done < "$1"
}

# boot_results LOG TAG FACTS MANIFEST: one line per test the boot had to
# report or did, three fields split by tabs: PASS, SKIP or FAIL; "TAG
# NAME"; what happened. A test whose subtests all skipped is a SKIP where
# the manifest allows it, and a failure elsewhere.
boot_results() {
	out() { printf '%s\t%s\t%s\n' "$@"; }
	local log=$1 tag=$2 facts=$3 manifest=$4 pg=ept name p f r s want glob skip ok
	case " $facts " in *" vendor:amd "*) pg=npt ;; esac
	want=$(manifest_for "$manifest" "$facts" "$pg")
	declare -A seen=()
	while IFS='|' read -r name p f r s; do
		s=${s:-0}
		skip= ok=
		while IFS='|' read -r glob skip; do
			# shellcheck disable=SC2053 # the manifest's names are globs
			[ -n "$glob" ] && [[ $name == $glob ]] || continue
			seen[$glob]=1 ok=1
			break
		done <<<"$want"
		if [ -z "$ok" ]; then
			out FAIL "$tag $name" "reported, but not in the manifest for this boot ($facts)"
		elif [ "$f" != 0 ] || [ "$r" != 0 ]; then
			out FAIL "$tag $name" "$f of $((p + f + s)) subtests failed (exit status $r)"
		elif [ "$p" = 0 ] && [ "$s" != 0 ]; then
			if [ "$skip" = 1 ]; then
				out SKIP "$tag $name" "all $s subtests skipped, as the manifest allows here"
			else
				out FAIL "$tag $name" "all $s subtests skipped, which the manifest does not allow here"
			fi
		elif [ "$p" = 0 ]; then
			out FAIL "$tag $name" "no subtest ran"
		else
			out PASS "$tag $name" "$p subtests$([ "$s" = 0 ] || echo ", $s skipped")"
		fi
	done < <(tr -d '\r' < "$log" |
		sed -n 's/^LAB-TEST: \(.*\) passed=\([0-9]*\) failed=\([0-9]*\) rc=\([0-9]*\)\( skipped=\([0-9]*\)\)\{0,1\}$/\1|\2|\3|\4|\6/p')
	while IFS='|' read -r glob skip; do
		[ -n "$glob" ] && [ -z "${seen[$glob]:-}" ] || continue
		out FAIL "$tag $glob" "not reported (the manifest says this boot runs it)"
	done <<<"$want"
}
