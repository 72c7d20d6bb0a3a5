/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Sequence counters across their wrap-around and across half their range.
 * Every counter starts 1000 short of its wrap, so the first thousand
 * callbacks and grace periods cross it; crossing 2^(BITS-1) would take
 * billions, so this program is linked with a build of the library that
 * can skip its counters ahead (QEMU_RCU_TEST_HOOKS).
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "test-util.h"

#include "util/rcu-test-hooks.h"

static bool ran;

static void ran_cb(struct rcu_head *head)
{
    qatomic_set(&ran, true);
}

/* Queues a callback and waits until it ran, without forcing anything. */
static void one_callback(void)
{
    static struct rcu_head head;

    qatomic_set(&ran, false);
    call_rcu1(&head, ran_cb);
    while (!qatomic_read(&ran)) {
        g_usleep(100);
    }
}

/*
 * A reader almost always inside a critical section, so that grace
 * periods wait for it and decide whether to force: with fences on TSO
 * hosts, one whose first scan finds every reader out never asks.  It
 * leaves on its own within microseconds; a force after 60 s of polling
 * only would have to come from a sequence compared the wrong way.
 */
typedef struct BusyReader {
    QemuThread thread;
    bool stop;
    RcuTunables saved;
} BusyReader;

static void *busy_reader_fn(void *opaque)
{
    BusyReader *b = opaque;

    rcu_register_thread();
    while (!qatomic_read(&b->stop)) {
        rcu_read_lock();
        g_usleep(20);
        rcu_read_unlock();
    }
    rcu_unregister_thread();
    return NULL;
}

static void busy_reader_start(BusyReader *b)
{
    RcuTunables t;

    rcu_get_tunables(&b->saved);
    t = b->saved;
    t.force_after_us = 60 * 1000000;
    rcu_set_tunables(&t);
    b->stop = false;
    qemu_thread_create(&b->thread, "test-busy-reader", busy_reader_fn, b,
                       QEMU_THREAD_JOINABLE);
}

static void busy_reader_stop(BusyReader *b)
{
    qatomic_set(&b->stop, true);
    qemu_thread_join(&b->thread);
    rcu_set_tunables(&b->saved);
}

/*
 * Callbacks queued one at a time never reach the 30 that force a grace
 * period, before and after the callback sequence wraps around.
 */
static void test_callback_seq_wrap(void)
{
    RcuStats before, after;
    BusyReader b;

    busy_reader_start(&b);
    rcu_get_stats(&before);
    for (int i = 0; i < 3000; i++) {
        one_callback();
    }
    rcu_get_stats(&after);
    busy_reader_stop(&b);
    g_assert_cmpuint(after.callbacks_run - before.callbacks_run, ==, 3000);
    g_assert_cmpuint(after.forced_grace_periods, ==,
                     before.forced_grace_periods);
}

static void noop_cb(struct rcu_head *head)
{
}

/*
 * Skipping sequences right after a drain must find the call_rcu thread's
 * counters consistent.  A drain that returned when a marker callback ran
 * could do so before the thread had finished that batch.
 */
static void test_skip_right_after_drain(void)
{
    static struct rcu_head head;

    for (int i = 0; i < 2000; i++) {
        call_rcu1(&head, noop_cb);
        drain_call_rcu();
        rcu_test_skip_sequences(2);
    }
}

/*
 * Once the counters have moved 2^(BITS-1) past the initial force_rcu()
 * targets, those targets must not read as the future: grace periods and
 * callbacks that nobody asked to force stay in the normal state.  The
 * counters move a quarter of their range at a time, with a callback and
 * its grace period in between, for the library to drag its targets along.
 */
static void test_half_range(void)
{
    RcuStats before, after;
    BusyReader b;

    for (int i = 0; i < 4; i++) {
        drain_call_rcu();
        rcu_test_skip_sequences(1UL << (sizeof(long) * 8 - 3));
        one_callback();
    }
    busy_reader_start(&b);
    rcu_get_stats(&before);
    for (int i = 0; i < 100; i++) {
        synchronize_rcu();
        one_callback();
    }
    rcu_get_stats(&after);
    g_assert_cmpuint(after.forced_grace_periods, ==,
                     before.forced_grace_periods);
    /* force_rcu() still works from there. */
    force_rcu();
    synchronize_rcu();
    rcu_get_stats(&after);
    busy_reader_stop(&b);
    g_assert_cmpuint(after.forced_grace_periods, >,
                     before.forced_grace_periods);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rcu/sequences/callback-seq-wrap",
                    test_callback_seq_wrap);
    g_test_add_func("/rcu/sequences/skip-right-after-drain",
                    test_skip_right_after_drain);
    g_test_add_func("/rcu/sequences/half-range", test_half_range);
    return g_test_run();
}
