/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stat64: values beyond 32 bits, min/max, and concurrent updates that
 * carry from the low into the high half.  Built twice: with the host's
 * variant and, as test-stats64-locked, with QEMU_STATS64_LOCKED, the
 * lock-based variant that hosts without 64-bit atomics use.
 *
 * Copyright (c) 2026 The qemu-rcu authors
 */
#include "qemu/osdep.h"
#include <sched.h>
#include "qemu/stats64.h"
#include "qemu/atomic.h"
#include "qemu/thread.h"

#define THREADS 4
#define ADDS 300000

static void test_basic(void)
{
    Stat64 s;

    stat64_init(&s, 0);
    g_assert_cmpuint(stat64_get(&s), ==, 0);
    stat64_add(&s, 0xffffffffu);
    stat64_add(&s, 1);
    g_assert_cmpuint(stat64_get(&s), ==, 0x100000000ull);
    stat64_set(&s, UINT64_MAX - 1);
    stat64_add(&s, 1);
    g_assert_cmpuint(stat64_get(&s), ==, UINT64_MAX);
    stat64_add(&s, 1);
    g_assert_cmpuint(stat64_get(&s), ==, 0);
}

static void test_min_max(void)
{
    Stat64 s;

    stat64_init(&s, 0x200000000ull);
    stat64_max(&s, 0x1ffffffffull);
    g_assert_cmpuint(stat64_get(&s), ==, 0x200000000ull);
    stat64_max(&s, 0x300000000ull);
    g_assert_cmpuint(stat64_get(&s), ==, 0x300000000ull);
    stat64_min(&s, 0x300000001ull);
    g_assert_cmpuint(stat64_get(&s), ==, 0x300000000ull);
    /* Low half larger, high half smaller: compared as one number. */
    stat64_min(&s, 0x2ffffffffull);
    g_assert_cmpuint(stat64_get(&s), ==, 0x2ffffffffull);
    stat64_min(&s, 5);
    g_assert_cmpuint(stat64_get(&s), ==, 5);
}

static Stat64 shared_sum, shared_max;
static int started;

/* Each add crosses into the high half, so a lost carry shows. */
static void *adder(void *arg)
{
    uint64_t id = (uintptr_t)arg;

    /* Start together, so that the updates overlap even on a busy host. */
    qatomic_inc(&started);
    while (qatomic_read(&started) < THREADS) {
        g_usleep(100);
    }
    for (uint64_t i = 0; i < ADDS; i++) {
        stat64_add(&shared_sum, 0x80000001ull);
        stat64_max(&shared_max, (i << 32) | id);
        if (i % 1024 == 0) {
            /* Mix the threads' updates even when they share one CPU. */
            sched_yield();
        }
    }
    return NULL;
}

static void test_concurrent(void)
{
    QemuThread t[THREADS];

    stat64_init(&shared_sum, 0);
    stat64_init(&shared_max, 0);
    for (uintptr_t i = 0; i < THREADS; i++) {
        qemu_thread_create(&t[i], "stat64-adder", adder, (void *)i,
                           QEMU_THREAD_JOINABLE);
    }
    for (int i = 0; i < THREADS; i++) {
        qemu_thread_join(&t[i]);
    }
    g_assert_cmpuint(stat64_get(&shared_sum), ==,
                     (uint64_t)THREADS * ADDS * 0x80000001ull);
    g_assert_cmpuint(stat64_get(&shared_max), ==,
                     ((uint64_t)(ADDS - 1) << 32) | (THREADS - 1));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#ifdef QEMU_STATS64_LOCKED
    g_test_message("Stat64 variant: lock-based");
#else
    g_test_message("Stat64 variant: 64-bit atomics");
#endif
    g_test_add_func("/stats64/basic", test_basic);
    g_test_add_func("/stats64/min-max", test_min_max);
    g_test_add_func("/stats64/concurrent", test_concurrent);
    return g_test_run();
}
