#!/usr/bin/env bash
# exitstat's unit tests (ASan, UBSan): `make -C guest check`, after
# installing what they use: jq for the JSON, promtool (Debian's prometheus
# package) for --prom.
#
#   tests/unit/unit.sh [BUILD-DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/lab/lib.sh"
need_pkgs build-essential jq prometheus
make -s -C "$top/guest" O="${1:-$top/build/guest}" check
