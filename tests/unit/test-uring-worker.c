/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io_uring workers that go offline while blocked in
 * io_uring_submit_and_wait() (contrib/uring-worker): grace periods skip
 * them at no cost, and they stay correct when they come back online.
 *
 * Copyright (c) 2026 The qemu-rcu authors
 *
 * QEMU_TEST_URING_WORKERS (default 2) and QEMU_TEST_URING_SECONDS
 * (default 1) size the concurrent phases.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "uring-pool.h"
#include "test-util.h"

/* Bound for anything that should take milliseconds. */
#define GENEROUS_NS (10 * 1000000000LL)

/* Grace periods measured while the workers are parked. */
#define PARKED_GPS 50

static unsigned n_workers = 2;
static double seconds = 1.0;

/* Starts a pool or skips the test if the kernel refuses io_uring. */
static UringPool *start_pool(UringTable *table, bool quiesce,
                             unsigned spin_ns)
{
    UringPool *pool;
    int ret = uring_pool_start(&pool, n_workers, quiesce, spin_ns, table);

    if (ret == -ENOSYS || ret == -EPERM) {
        g_autofree char *msg =
            g_strdup_printf("io_uring unavailable on this kernel "
                            "(io_uring_queue_init: %s)", strerror(-ret));
        g_test_skip(msg);
        return NULL;
    }
    if (ret < 0) {
        g_error("uring_pool_start: %s", strerror(-ret));
    }
    return pool;
}

/*
 * Waits until every worker is parked and stays parked for 20 ms, so that
 * keys still in a pipe cannot wake one during the check.
 */
static void wait_all_parked(UringPool *pool)
{
    int64_t deadline = uring_clock_ns() + GENEROUS_NS;
    UringPoolStats a, b;

    do {
        while (uring_pool_parked(pool) < n_workers) {
            g_assert_cmpint(uring_clock_ns(), <, deadline);
            g_usleep(1000);
        }
        uring_pool_get_stats(pool, &a);
        g_usleep(20 * 1000);
        uring_pool_get_stats(pool, &b);
        g_assert_cmpint(uring_clock_ns(), <, deadline);
    } while (a.waits != b.waits || uring_pool_parked(pool) < n_workers);
}

/*
 * Parked, offline workers cost a grace period nothing: no membarrier, no
 * notifier, and they are not even woken.
 */
static void test_parked_offline(void)
{
    UringTable *table = uring_table_new(16);
    UringPool *pool = start_pool(table, true, 0);
    UringPoolStats p0, p1;
    RcuStats s0, s1;
    int64_t start, took;

    if (!pool) {
        uring_table_free(table);
        return;
    }

    /* Real I/O first, so the workers have been online and back. */
    for (unsigned i = 0; i < 4 * n_workers; i++) {
        uring_pool_feed(pool, i);
    }
    start = uring_clock_ns();
    do {
        g_assert_cmpint(uring_clock_ns() - start, <, GENEROUS_NS);
        g_usleep(1000);
        uring_pool_get_stats(pool, &p0);
    } while (p0.messages < 4 * n_workers);
    wait_all_parked(pool);
    g_assert_true(test_settle_offline(GENEROUS_NS));

    uring_pool_get_stats(pool, &p0);
    s0 = test_rcu_stats();
    start = uring_clock_ns();
    for (unsigned i = 0; i < PARKED_GPS; i++) {
        uring_table_update(table, i);
    }
    took = uring_clock_ns() - start;
    s1 = test_rcu_stats();
    uring_pool_get_stats(pool, &p1);

    g_assert_cmpuint(s1.grace_periods - s0.grace_periods, ==, PARKED_GPS);
    g_assert_cmpuint(s1.membarrier_calls, ==, s0.membarrier_calls);
    /* At least the global barrier before the first scan was skipped. */
    g_assert_cmpuint(s1.membarriers_skipped - s0.membarriers_skipped, >=,
                     PARKED_GPS);
    g_assert_cmpuint(s1.forced_grace_periods, ==, s0.forced_grace_periods);
    g_assert_cmpuint(s1.force_rcu_notifier_calls, ==,
                     s0.force_rcu_notifier_calls);
    g_assert_cmpuint(p1.kicks, ==, p0.kicks);
    /* Nobody woke up: the workers were simply skipped. */
    g_assert_cmpuint(p1.waits, ==, p0.waits);
    g_assert_cmpuint(uring_pool_parked(pool), ==, n_workers);
    g_assert_cmpint(took, <, GENEROUS_NS);
    g_assert_cmpuint(p1.reclaimed_seen, ==, 0);

    uring_pool_stop(pool);
    uring_table_free(table);
}

/*
 * Keeps the table changing (two slots, so readers keep hitting the
 * entries being replaced) while keys keep the workers waking up, going
 * online and reading.  Returns the statistics deltas.
 */
static void churn(UringTable *table, UringPool *pool, RcuStats *ds,
                  UringPoolStats *dp)
{
    UringPoolStats p0, p1;
    RcuStats s0, s1;
    int64_t end;
    unsigned slot = 0;

    uring_pool_get_stats(pool, &p0);
    s0 = test_rcu_stats();
    end = uring_clock_ns() + (int64_t)(seconds * 1e9);
    while (uring_clock_ns() < end) {
        uring_table_update(table, slot);
        for (unsigned i = 0; i < n_workers; i++) {
            uring_pool_feed(pool, slot + i);
        }
        slot++;
    }
    s1 = test_rcu_stats();
    uring_pool_get_stats(pool, &p1);

    rcu_stats_diff(ds, &s1, &s0);
    dp->lookups = p1.lookups - p0.lookups;
    dp->waits = p1.waits - p0.waits;
    dp->reclaimed_seen = p1.reclaimed_seen;

    if (g_test_verbose()) {
        g_test_message("%" PRIu64 " grace periods, %" PRIu64 " membarriers, "
                       "%" PRIu64 " skipped, %" PRIu64 " lookups, %" PRIu64
                       " waits", ds->grace_periods, ds->membarrier_calls,
                       ds->membarriers_skipped, dp->lookups, dp->waits);
    }
}

/*
 * Workers that come online and read while entries are replaced and
 * poisoned never see a poisoned (reclaimed) entry.
 */
static void test_online_reader_safe(void)
{
    UringTable *table = uring_table_new(2);
    UringPool *pool = start_pool(table, true, 500);
    UringPoolStats dp;
    RcuStats ds;

    if (!pool) {
        uring_table_free(table);
        return;
    }
    churn(table, pool, &ds, &dp);

    g_assert_cmpuint(dp.reclaimed_seen, ==, 0);
    /* The race was really run: many online/offline transitions. */
    g_assert_cmpuint(ds.grace_periods, >=, 10);
    g_assert_cmpuint(dp.waits, >=, 100);
    g_assert_cmpuint(dp.lookups, >=, 100);

    uring_pool_stop(pool);
    uring_table_free(table);
}

/*
 * Workers that never go offline are just as correct, but every grace
 * period pays for a process-wide barrier on their behalf.
 */
static void test_never_offline(void)
{
    UringTable *table = uring_table_new(2);
    UringPool *pool = start_pool(table, false, 500);
    UringPoolStats dp, p0, p1;
    RcuStats ds, s0, s1;

    if (!pool) {
        uring_table_free(table);
        return;
    }
    /* Every worker registered (and online for good) before counting. */
    wait_all_parked(pool);
    churn(table, pool, &ds, &dp);
    g_assert_cmpuint(dp.reclaimed_seen, ==, 0);
    g_assert_cmpuint(ds.grace_periods, >=, 10);
    g_assert_cmpuint(dp.lookups, >=, 100);

    /* Parked but online: each grace period needs the barrier. */
    wait_all_parked(pool);
    uring_pool_get_stats(pool, &p0);
    s0 = test_rcu_stats();
    for (unsigned i = 0; i < PARKED_GPS; i++) {
        uring_table_update(table, i);
    }
    s1 = test_rcu_stats();
    uring_pool_get_stats(pool, &p1);

    g_assert_cmpuint(s1.membarriers_skipped, ==, s0.membarriers_skipped);
    if (qemu_membarrier_enabled()) {
        g_assert_cmpuint(ds.membarrier_calls, >=, ds.grace_periods);
        g_assert_cmpuint(s1.membarrier_calls - s0.membarrier_calls, >=,
                         PARKED_GPS);
    } else {
        /* The fallback is a local fence and counts no call. */
        g_assert_cmpuint(s1.membarrier_calls, ==, s0.membarrier_calls);
    }
    /* Still no notifier and no wake-up: only the barrier costs. */
    g_assert_cmpuint(s1.force_rcu_notifier_calls, ==,
                     s0.force_rcu_notifier_calls);
    g_assert_cmpuint(p1.waits, ==, p0.waits);

    uring_pool_stop(pool);
    uring_table_free(table);
}

/*
 * Grace periods that force from the start (expedited, drain_call_rcu())
 * need no barrier for parked, offline workers and do not kick them: an
 * offline thread cannot be inside a critical section.  On TSO hosts
 * they do not even force, with fences or with membarrier while no other
 * thread is online: their first scan, which comes before the decision
 * there, finds everybody out.
 */
static void test_expedited_parked(void)
{
    UringTable *table = uring_table_new(4);
    UringPool *pool = start_pool(table, true, 0);
    UringPoolStats p0, p1;
    RcuStats s0, s1;
    uint64_t forced;

    if (!pool) {
        uring_table_free(table);
        return;
    }
    wait_all_parked(pool);
    g_assert_true(test_settle_offline(GENEROUS_NS));

    uring_pool_get_stats(pool, &p0);
    s0 = test_rcu_stats();
    for (unsigned i = 0; i < 10; i++) {
        synchronize_rcu_expedited();
    }
    s1 = test_rcu_stats();
    forced = s1.forced_grace_periods - s0.forced_grace_periods;
    g_assert_cmpuint(forced, ==, HOST_TSO ? 0 : 10);
    g_assert_cmpuint(s1.membarrier_calls, ==, s0.membarrier_calls);

    /* The call_rcu thread runs these; it may be online for a moment. */
    for (unsigned i = 0; i < 10; i++) {
        drain_call_rcu();
    }
    s1 = test_rcu_stats();
    uring_pool_get_stats(pool, &p1);

    g_assert_cmpuint(s1.force_rcu_notifier_calls, ==,
                     s0.force_rcu_notifier_calls);
    g_assert_cmpuint(p1.kicks, ==, p0.kicks);
    g_assert_cmpuint(p1.waits, ==, p0.waits);

    uring_pool_stop(pool);
    uring_table_free(table);
}

static void read_env(void)
{
    const char *w = g_getenv("QEMU_TEST_URING_WORKERS");
    const char *s = g_getenv("QEMU_TEST_URING_SECONDS");

    if (w && *w) {
        n_workers = CLAMP(atoi(w), 1, 64);
    }
    if (s && *s) {
        seconds = CLAMP(g_ascii_strtod(s, NULL), 0.05, 600);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    read_env();

    g_test_add_func("/uring-worker/parked-offline", test_parked_offline);
    g_test_add_func("/uring-worker/online-reader-safe",
                    test_online_reader_safe);
    g_test_add_func("/uring-worker/never-offline", test_never_offline);
    g_test_add_func("/uring-worker/expedited-parked", test_expedited_parked);
    return g_test_run();
}
