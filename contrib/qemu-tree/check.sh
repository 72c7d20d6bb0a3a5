#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (c) 2026 The qemu-rcu authors
#
# Check qemu-rcu's util/rcu.c inside real QEMU trees (Debian's QEMU 10.0 and
# 10.2 source packages by default, or your own with --qemu-src DIR):
#
#   default     QEMU's five RCU unit-test sources compiled unmodified against
#               the installed library; then, per tree, install.sh into a
#               copy, a minimal x86_64 configure and QEMU's unit suite
#   --system    also build qemu-system-x86_64 (TCG, pc and q35 boards) with
#               the tree's stock rcu.c and with ours, run the tree's
#               qtest-x86_64 suite against both; ours must pass what stock
#               passes
#   --qtest     also run contrib/qemu-tree/qtest/rcu-stall-test.c (libqtest)
#               against both builds: a vCPU spinning with interrupts off
#               while monitor commands wait for RCU.  Stock QEMU 10.0 must
#               still exceed the bound where a test declares it must
#               (XFAIL; an XPASS fails the check)
#   --replay    also build qemu-system-alpha and an Alpha Linux kernel and
#               run record/replay cycles with every build (replay.py); no
#               drop-in cycle may fail, stock failures are reported
#   --guest     also boot Debian's x86_64 cloud kernel under each build:
#               record/replay cycles (pc, q35; -smp 1) and hot-plug cycles
#               under load (hotplug.py); --asan adds an ASan drop-in
#
# Everything downloaded or built lives in ${QEMU_RCU_CACHE:-~/.cache/qemu-rcu}
# (private apt configuration, ccache); nothing is written to /etc/apt or
# into the trees given.  Run with --help for every option.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec /usr/bin/python3 "$here/qemu_tree.py" "$@"
