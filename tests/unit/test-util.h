/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Helpers shared by the RCU test programs.
 */
#ifndef QEMU_RCU_TEST_UTIL_H
#define QEMU_RCU_TEST_UTIL_H

#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"

static inline int64_t test_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline RcuStats test_rcu_stats(void)
{
    RcuStats s;

    rcu_get_stats(&s);
    return s;
}

/*
 * The call_rcu thread is online while it runs callbacks, and so, briefly,
 * is any thread that registers.  Returns once a grace period found no
 * other thread online, i.e. skipped its global barrier(s) and made no
 * membarrier call, or false after timeout_ns.
 */
static inline bool test_settle_offline(int64_t timeout_ns)
{
    int64_t deadline = test_now_ns() + timeout_ns;

    do {
        RcuStats a = test_rcu_stats(), b;

        synchronize_rcu();
        b = test_rcu_stats();
        if (b.membarrier_calls == a.membarrier_calls &&
            b.membarriers_skipped > a.membarriers_skipped) {
            return true;
        }
        g_usleep(1000);
    } while (test_now_ns() < deadline);
    return false;
}

/* Resident set size in bytes, from /proc/self/statm; -1 on error. */
static inline long test_rss_bytes(void)
{
    g_autofree char *statm = NULL;
    long size, resident;

    if (!g_file_get_contents("/proc/self/statm", &statm, NULL, NULL) ||
        sscanf(statm, "%ld %ld", &size, &resident) != 2) {
        return -1;
    }
    return resident * sysconf(_SC_PAGESIZE);
}

#endif /* QEMU_RCU_TEST_UTIL_H */
