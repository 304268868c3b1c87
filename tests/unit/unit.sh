#!/usr/bin/env bash
# exitstat's unit tests (ASan, UBSan): `make -C guest check`, after
# installing what they use: jq for the JSON, and promtool for --prom
# (lab/lib.sh need_promtool).
#
#   tests/unit/unit.sh [BUILD-DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/lab/lib.sh"
need_pkgs build-essential jq
bin=$(need_promtool)
PATH=$PATH:$bin EXITSTAT_TEST_TOOLS_REQUIRED=1 make -s -C "$top/guest" O="${1:-$top/build/guest}" check
