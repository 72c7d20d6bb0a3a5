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
while IFS= read -r f; do
    if ! head -n 3 "$f" | grep -q "SPDX-License-Identifier: LGPL-2.1-or-later"; then
        echo "check-license: $f: no SPDX line in its first 3 lines" >&2
        status=1
    fi
    if ! head -n 15 "$f" | grep -q "Copyright (c) [0-9]"; then
        echo "check-license: $f: no copyright line in its first 15 lines" >&2
        status=1
    fi
done < <(git ls-files --cached --others --exclude-standard \
             '*.c' '*.h' '*.py' '*.sh' '*.build' 'meson_options.txt' \
             '.ci/run' | grep -v '^build')
exit $status
