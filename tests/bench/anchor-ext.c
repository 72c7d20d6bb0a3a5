/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The qemu-rcu extensions that the vgpu-unmap demo calls, for building
 * it against QEMU's own util/rcu.c (tests/bench/anchors.sh): QEMU keeps
 * no statistics and has no tunables or force_rcu(), so the statistics
 * read as zero, the tunables as qemu-rcu's defaults (which are QEMU
 * 10.2's constants), and force_rcu() does nothing.  QEMU has no polled
 * grace periods either: polling a cookie waits in drain_call_rcu(), which
 * returns only after a grace period that started after the call (and is
 * the one path where QEMU 10.0 kicks its readers).
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"

void rcu_get_stats_sized(RcuStats *stats, size_t size)
{
    memset(stats, 0, size);
}

void rcu_get_tunables_sized(RcuTunables *t, size_t size)
{
    RcuTunables defaults = {
        .force_callbacks = 30,
        .poll_max_us = 10000,
        .force_after_us = 50000,
    };

    memcpy(t, &defaults, MIN(size, sizeof(defaults)));
}

void rcu_set_tunables_sized(const RcuTunables *t, size_t size)
{
}

void force_rcu(void)
{
}

unsigned long get_state_synchronize_rcu(void)
{
    return 0;
}

bool poll_state_synchronize_rcu(unsigned long cookie)
{
    drain_call_rcu();
    return true;
}
