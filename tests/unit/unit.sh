#!/usr/bin/env bash
# exitstat's unit tests (ASan, UBSan): `make -C guest check`, after
# installing what they use: jq for the JSON, and promtool for --prom.
# promtool is taken out of Debian's prometheus package into the cache
# rather than installing that package, which would start a Prometheus
# server on this machine.
#
#   tests/unit/unit.sh [BUILD-DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/lab/lib.sh"
need_pkgs build-essential jq
bin=$(cache_dir)/promtool
if ! command -v promtool >/dev/null && [ ! -x "$bin/promtool" ]; then
	step "unpacking promtool from Debian's prometheus package into $bin"
	d=$(mktemp -d)
	(cd "$d" && apt-get -q -o APT::Sandbox::User=root download prometheus >/dev/null) ||
		die "apt-get download prometheus failed"
	mkdir -p "$bin"
	dpkg-deb --fsys-tarfile "$d"/prometheus_*.deb | tar -x -O ./usr/bin/promtool > "$bin/promtool.tmp"
	chmod +x "$bin/promtool.tmp"
	mv "$bin/promtool.tmp" "$bin/promtool"
	rm -rf "$d"
fi
PATH=$PATH:$bin EXITSTAT_TEST_TOOLS_REQUIRED=1 make -s -C "$top/guest" O="${1:-$top/build/guest}" check
