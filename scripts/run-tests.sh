#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
#
# Builds qemu-rcu and runs its unit test suite (the README's test command).
#   scripts/run-tests.sh [BUILD_DIR] [extra meson test args ...]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
shift || true

"$top/scripts/setup-deps.sh"
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$top" -Dwerror=true
fi
meson compile -C "$build"

status=0
meson test -C "$build" --print-errorlogs "$@" || status=$?

# One plain summary line, counted from meson's own log.
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
