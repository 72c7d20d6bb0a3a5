#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
#
# Builds qemu-rcu and runs the soak test (docs/reliability.md) for
# MINUTES minutes (default 10).  The per-second samples go to
# BUILD_DIR/soak-<time>.csv and the output to BUILD_DIR/soak-<time>.log.
#   scripts/soak.sh [MINUTES] [BUILD_DIR]
# On a shared machine run it as "nice -n 5 scripts/soak.sh".
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
minutes=${1:-10}
build=${2:-$top/build}

case $minutes in
    ''|*[!0-9]*) echo "usage: $0 [MINUTES] [BUILD_DIR]" >&2; exit 2 ;;
esac

"$top/scripts/setup-deps.sh"
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$top"
fi
meson compile -C "$build" tests/soak/soak

stamp=$(date -u +%Y%m%d-%H%M%S)
csv=$build/soak-$stamp.csv
log=$build/soak-$stamp.log
status=0
"$build/tests/soak/soak" --seconds $((minutes * 60)) --csv "$csv" 2>&1 |
    tee "$log" || status=$?
echo "soak: samples in $csv, output in $log"
exit $status
