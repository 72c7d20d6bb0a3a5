#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
#
# Builds qemu-rcu and runs the virtio-gpu-like unmap demo (the README's
# main-job command): vCPU threads in long RCU read-side critical sections,
# a device that unmaps blobs and waits for the old memory map to be freed.
#   scripts/run-demo.sh [demo options ...]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build

"$top/scripts/setup-deps.sh"
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$top"
fi
meson compile -C "$build"
exec "$build/contrib/vgpu-unmap/vgpu-unmap" "$@"
