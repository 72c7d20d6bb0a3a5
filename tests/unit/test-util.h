/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Helpers shared by the RCU test programs.
 */
#ifndef QEMU_RCU_TEST_UTIL_H
#define QEMU_RCU_TEST_UTIL_H

#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "test-rss.h"

/*
 * Hosts where a grace period's passes after its first scan need no
 * global barrier, and its first pass may scan before it decides whether
 * to force (RCU_HOST_TSO in util/rcu.c).
 */
#if defined(__i386__) || defined(__x86_64__) || defined(__s390x__)
#define HOST_TSO 1
#else
#define HOST_TSO 0
#endif

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

/*
 * The payload an RCU-protected test object with sequence number @seq
 * carries in word @i: a reader that finds another value saw the object
 * freed or reused.
 */
static inline uint64_t test_payload_word(uint64_t seq, int i)
{
    return seq * 0x9e3779b97f4a7c15ULL + i;
}

/*
 * Prints "PREFIX: message" for the first @max_shown errors and counts
 * every one in @errors.
 */
static inline void G_GNUC_PRINTF(4, 0)
test_verror(long *errors, long max_shown, const char *prefix,
            const char *fmt, va_list ap)
{
    if (qatomic_fetch_inc(errors) >= max_shown) {
        return;
    }
    fprintf(stderr, "%s: ", prefix);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
}

#endif /* QEMU_RCU_TEST_UTIL_H */
