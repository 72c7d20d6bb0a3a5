#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
#
# Every source file carries the SPDX line in its first lines and a
# copyright line near the top, and COPYING holds the LGPL 2.1 text.
#   scripts/check-license.sh
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
if ! grep -q "GNU LESSER GENERAL PUBLIC LICENSE" COPYING 2>/dev/null ||
   ! grep -q "Version 2.1, February 1999" COPYING; then
    echo "check-license: COPYING is not the LGPL 2.1 text" >&2
    status=1
fi
files=$(git ls-files --cached --others --exclude-standard \
            '*.c' '*.h' '*.cpp' '*.c.inc' '*.py' '*.sh' '*.build' '*.map' \
            '*.ini' 'meson_options.txt' '.ci/run') || {
    echo "check-license: git ls-files failed" >&2
    exit 1
}
checked=0
while IFS= read -r f; do
    case $f in build*) continue ;; esac
    checked=$((checked + 1))
    if ! head -n 3 "$f" | grep -q "SPDX-License-Identifier: LGPL-2.1-or-later"; then
        echo "check-license: $f: no SPDX line in its first 3 lines" >&2
        status=1
    fi
    if ! head -n 15 "$f" | grep -q "Copyright (c) [0-9]"; then
        echo "check-license: $f: no copyright line in its first 15 lines" >&2
        status=1
    fi
done <<< "$files"
if [ "$checked" -eq 0 ]; then
    echo "check-license: no file to check" >&2
    status=1
fi
[ $status -eq 0 ] && echo "check-license: $checked files carry the licence lines"
exit $status
