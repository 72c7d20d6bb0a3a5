/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The RCU core's state machine, callback ordering, drain, fork and the
 * fail-loudly checks.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "qemu/main-loop.h"
#include "test-util.h"
#include "test-subprocess.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* Upper bound for anything that should take milliseconds. */
#define GENEROUS_NS (5 * 1000000000LL)

/* Leaves the library with no callbacks in flight and default tunables. */
static void quiesce(void)
{
    RcuTunables t = {
        .force_callbacks = 30, .poll_max_us = 10000,
        .force_after_us = 50000, .stall_timeout_ms = 10000,
        .trim_min_interval_ms = 1000, .trim_idle_us = 50000,
    };

    rcu_set_tunables(&t);
    drain_call_rcu();
}

static void set_force_after_us(unsigned us)
{
    RcuTunables t;

    rcu_get_tunables(&t);
    t.force_after_us = us;
    rcu_set_tunables(&t);
}

/*
 * A reader thread.  In "stuck" mode it stays inside one critical section
 * until its force_rcu notifier fires (or, without a notifier, until told
 * to leave); otherwise it runs short sections back to back.
 */
typedef struct Reader {
    QemuThread thread;
    Notifier notifier;
    bool use_notifier;
    bool stuck;
    int kicks;          /* notifier calls */
    bool kick_pending;
    bool release;       /* leave the stuck section */
    bool inside;
    bool stop;
    bool saw_waiting;   /* ever found its waiting flag set */
    bool no_gap;        /* re-enter at once after leaving */
    long sections;
    struct rcu_reader_data *data;
} Reader;

static void reader_kick(Notifier *n, void *data)
{
    Reader *r = container_of(n, Reader, notifier);

    qatomic_inc(&r->kicks);
    qatomic_set(&r->kick_pending, true);
}

static void *reader_fn(void *opaque)
{
    Reader *r = opaque;

    rcu_register_thread();
    r->data = get_ptr_rcu_reader();
    if (r->use_notifier) {
        rcu_add_force_rcu_notifier(&r->notifier);
    }
    while (!qatomic_read(&r->stop)) {
        rcu_read_lock();
        qatomic_set(&r->inside, true);
        if (r->stuck) {
            while (!qatomic_read(&r->kick_pending) &&
                   !qatomic_read(&r->release) && !qatomic_read(&r->stop)) {
                cpu_relax();
            }
        } else {
            g_usleep(50);
        }
        if (qatomic_read(&r->data->waiting) & RCU_READER_WAITING) {
            qatomic_set(&r->saw_waiting, true);
        }
        qatomic_set(&r->inside, false);
        rcu_read_unlock();
        qatomic_set(&r->kick_pending, false);
        qatomic_inc(&r->sections);
        if (!r->no_gap) {
            g_usleep(r->stuck ? 1000 : 200);
        }
    }
    if (r->use_notifier) {
        rcu_remove_force_rcu_notifier(&r->notifier);
    }
    rcu_unregister_thread();
    return NULL;
}

/* Waits until the reader is inside a critical section. */
static void reader_wait_inside(Reader *r)
{
    while (!qatomic_read(&r->inside)) {
        g_usleep(100);
    }
}

static void reader_start_full(Reader *r, bool stuck, bool use_notifier,
                              bool no_gap)
{
    memset(r, 0, sizeof(*r));
    r->no_gap = no_gap;
    r->stuck = stuck;
    r->use_notifier = use_notifier;
    r->notifier.notify = reader_kick;
    qemu_thread_create(&r->thread, "test-reader", reader_fn, r,
                       QEMU_THREAD_JOINABLE);
    reader_wait_inside(r);
}

static void *release_later(void *opaque)
{
    Reader *r = opaque;

    /* Long enough for two stall warnings 0.2 s apart, even when loaded. */
    g_usleep(1500 * 1000);
    qatomic_set(&r->release, true);
    return NULL;
}

static void reader_start(Reader *r, bool stuck, bool use_notifier)
{
    reader_start_full(r, stuck, use_notifier, false);
}

static void reader_stop(Reader *r)
{
    qatomic_set(&r->stop, true);
    qemu_thread_join(&r->thread);
}

static void test_sync_idle(void)
{
    RcuStats before, after;

    quiesce();
    before = test_rcu_stats();
    for (int i = 0; i < 100; i++) {
        synchronize_rcu();
    }
    after = test_rcu_stats();
    g_assert_cmpuint(after.grace_periods - before.grace_periods, >=, 100);
    g_assert_cmpuint(after.forced_grace_periods,
                     ==, before.forced_grace_periods);
}

/* Readers that leave on their own never see the forced state. */
static void test_normal_state_no_force(void)
{
    Reader r;
    RcuStats before, after;

    quiesce();
    /* A reader preempted for 50 ms inside its section would force. */
    set_force_after_us(60 * 1000000);
    reader_start(&r, false, true);
    before = test_rcu_stats();
    for (int i = 0; i < 50; i++) {
        synchronize_rcu();
    }
    after = test_rcu_stats();
    reader_stop(&r);
    quiesce();

    g_assert_cmpuint(after.forced_grace_periods,
                     ==, before.forced_grace_periods);
    g_assert_cmpuint(after.force_rcu_notifier_calls,
                     ==, before.force_rcu_notifier_calls);
    g_assert_cmpint(r.kicks, ==, 0);
    g_assert_false(r.saw_waiting);
    g_assert_cmpint(r.sections, >, 0);
}

/* A reader that only leaves when kicked is kicked after polling. */
static void test_stuck_reader_forced_after_polls(void)
{
    Reader r;
    RcuStats before, after;
    int64_t start, took;

    quiesce();
    reader_start(&r, true, true);
    before = test_rcu_stats();
    start = test_now_ns();
    synchronize_rcu();
    took = test_now_ns() - start;
    after = test_rcu_stats();
    reader_stop(&r);

    g_assert_cmpint(r.kicks, >=, 1);
    g_assert_cmpuint(after.forced_grace_periods - before.forced_grace_periods,
                     >=, 1);
    /* The normal state polled for force_after_us (50 ms) first. */
    g_assert_cmpint(took, >=, 40 * 1000000LL);
    g_assert_cmpint(took, <, GENEROUS_NS);
}

static int cb_count;

static void count_cb(struct rcu_head *head)
{
    qatomic_inc(&cb_count);
    g_free(head);
}

/*
 * A stuck kickable reader, and forcing after polling so far off that
 * only the reason under test forces; counts callbacks from zero.
 */
static void start_stuck_reader(Reader *r)
{
    quiesce();
    set_force_after_us(60 * 1000000);
    reader_start(r, true, true);
    qatomic_set(&cb_count, 0);
}

/* force_callbacks pending callbacks force at once; one fewer does not. */
static void test_callbacks_force(void)
{
    Reader r;
    int64_t start;

    start_stuck_reader(&r);
    for (int i = 0; i < 29; i++) {
        call_rcu1(g_new0(struct rcu_head, 1), count_cb);
    }
    g_usleep(200 * 1000);
    g_assert_cmpint(qatomic_read(&r.kicks), ==, 0);
    g_assert_cmpint(qatomic_read(&cb_count), ==, 0);

    start = test_now_ns();
    call_rcu1(g_new0(struct rcu_head, 1), count_cb);
    while (qatomic_read(&r.kicks) < 1 || qatomic_read(&cb_count) < 1) {
        g_assert_cmpint(test_now_ns() - start, <, GENEROUS_NS);
        g_usleep(1000);
    }

    /*
     * If the call_rcu thread took an early batch, the rest (now fewer
     * than 30) needs a grace period of its own that forces on time.
     */
    set_force_after_us(50000);
    while (qatomic_read(&cb_count) < 30) {
        g_assert_cmpint(test_now_ns() - start, <, GENEROUS_NS);
        g_usleep(1000);
    }
    reader_stop(&r);
    quiesce();
}

/* Registered threads that each queue a share of the callbacks. */
typedef struct ShareProducer {
    QemuThread thread;
    int calls;
    /* Queue again after unregistering, in the shared count. */
    bool after_unregister;
    /* Hold the registration until released, so that slots run out. */
    bool *hold;
} ShareProducer;

static void *share_producer_fn(void *opaque)
{
    ShareProducer *p = opaque;

    rcu_register_thread();
    rcu_thread_offline();
    for (int i = 0; i < p->calls; i++) {
        call_rcu1(g_new0(struct rcu_head, 1), count_cb);
    }
    while (p->hold && !qatomic_read(p->hold)) {
        g_usleep(1000);
    }
    rcu_unregister_thread();
    if (p->after_unregister) {
        call_rcu1(g_new0(struct rcu_head, 1), count_cb);
    }
    return NULL;
}

/*
 * force_callbacks callbacks from several threads add up: no single
 * thread reaches the count, and the grace period's poll sees the total.
 */
static void test_callbacks_force_several_threads(void)
{
    ShareProducer p[3] = {
        { .calls = 10 }, { .calls = 10 }, { .calls = 10 },
    };
    Reader r;
    int64_t start;

    start_stuck_reader(&r);
    start = test_now_ns();
    for (int i = 0; i < 3; i++) {
        qemu_thread_create(&p[i].thread, "share", share_producer_fn, &p[i],
                           QEMU_THREAD_JOINABLE);
    }
    for (int i = 0; i < 3; i++) {
        qemu_thread_join(&p[i].thread);
    }
    while (qatomic_read(&r.kicks) < 1 || qatomic_read(&cb_count) < 30) {
        g_assert_cmpint(test_now_ns() - start, <, GENEROUS_NS);
        g_usleep(1000);
    }
    reader_stop(&r);
    set_force_after_us(50000);
    quiesce();
}

/*
 * More registered threads than producer slots, then threads that reuse
 * the slots of those that left, and calls after unregistering: the
 * count of queued callbacks stays exact, so drain_call_rcu() returns
 * once each has run, and not before.
 */
static void test_producer_slots(void)
{
    enum { WAVE = 80, ROUNDS = 3, CALLS = 20 };
    g_autofree ShareProducer *p = g_new0(ShareProducer, WAVE);
    RcuStats before, after;
    bool hold = false;
    long queued = 0;

    quiesce();
    qatomic_set(&cb_count, 0);
    before = test_rcu_stats();
    for (int r = 0; r < ROUNDS; r++) {
        qatomic_set(&hold, false);
        for (int i = 0; i < WAVE; i++) {
            p[i] = (ShareProducer) {
                .calls = CALLS, .after_unregister = i % 2, .hold = &hold,
            };
            qemu_thread_create(&p[i].thread, "slots", share_producer_fn,
                               &p[i], QEMU_THREAD_JOINABLE);
            queued += CALLS + i % 2;
        }
        g_usleep(20 * 1000);
        qatomic_set(&hold, true);
        for (int i = 0; i < WAVE; i++) {
            qemu_thread_join(&p[i].thread);
        }
        drain_call_rcu();
        g_assert_cmpint(qatomic_read(&cb_count), ==, queued);
    }
    after = test_rcu_stats();
    g_assert_cmpuint(after.callbacks_queued - before.callbacks_queued, ==,
                     queued);
    g_assert_cmpuint(after.callbacks_run - before.callbacks_run, ==, queued);
}

static void test_drain_forces(void)
{
    Reader r;
    int64_t start;

    start_stuck_reader(&r);
    call_rcu1(g_new0(struct rcu_head, 1), count_cb);
    start = test_now_ns();
    drain_call_rcu();
    g_assert_cmpint(test_now_ns() - start, <, GENEROUS_NS);
    g_assert_cmpint(qatomic_read(&cb_count), ==, 1);
    g_assert_cmpint(qatomic_read(&r.kicks), >=, 1);
    reader_stop(&r);
    quiesce();
}

/*
 * Releases a stuck reader once a grace period has armed its waiting
 * flag, however long that takes: a forced pass arms only after it has
 * watched its kicked readers for a while.
 */
static void *release_when_waited_for(void *opaque)
{
    Reader *r = opaque;
    int64_t start = test_now_ns();

    while (!(qatomic_read(&r->data->waiting) & RCU_READER_WAITING)) {
        if (test_now_ns() - start > GENEROUS_NS) {
            g_error("no grace period armed the stuck reader's waiting "
                    "flag in %lld s", GENEROUS_NS / 1000000000LL);
        }
        g_usleep(100);
    }
    qatomic_set(&r->release, true);
    return NULL;
}

/*
 * rcu_read_lock() learns whether to execute a fence from a bit of
 * rcu_gp_ctr (rcu.h): it must match the mode and survive grace periods,
 * and waiting, which the unlock tests, is 0 whenever no grace period
 * waits, in either mode.
 */
static void test_read_barrier_mode(void)
{
    bool fences = !qemu_membarrier_enabled();
    QemuThread releaser;
    Reader r;

    quiesce();
    g_assert_cmpint(!!(rcu_gp_ctr & RCU_GP_FENCES), ==, fences);
    g_assert_cmpint(get_ptr_rcu_reader()->waiting, ==, 0);
    reader_start(&r, true, false);
    g_assert_cmpint(qatomic_read(&r.data->waiting), ==, 0);
    qemu_thread_create(&releaser, "test-releaser", release_when_waited_for,
                       &r, QEMU_THREAD_JOINABLE);
    synchronize_rcu_expedited();
    qemu_thread_join(&releaser);
    g_assert_true(qatomic_read(&r.saw_waiting));
    g_assert_cmpint(qatomic_read(&r.data->waiting), ==, 0);
    reader_stop(&r);
    g_assert_cmpint(!!(rcu_gp_ctr & RCU_GP_FENCES), ==, fences);
    quiesce();
}

typedef struct SilentReader {
    bool inside;
    bool left;
    bool unregister;
} SilentReader;

static void *silent_reader_fn(void *opaque)
{
    SilentReader *sr = opaque;
    struct rcu_reader_data *self;

    rcu_register_thread();
    self = get_ptr_rcu_reader();
    rcu_read_lock();
    qatomic_set(&sr->inside, true);
    /* Until the grace period has scanned, looked again and gone to sleep. */
    while (!(qatomic_read(&self->waiting) & RCU_READER_WAITING)) {
        g_usleep(100);
    }
    g_usleep(20 * 1000);
    /* rcu_read_unlock() as if its load of waiting had come too early. */
    self->depth = 0;
    qatomic_store_release(&self->ctr, 0);
    qatomic_set(&sr->left, true);
    while (!qatomic_read(&sr->unregister)) {
        g_usleep(100);
    }
    rcu_unregister_thread();
    return NULL;
}

/* A grace period or a drain in a thread of its own, for a test to wait on. */
typedef struct Syncer {
    QemuThread thread;
    int64_t delay_us;   /* before synchronize_rcu(), like a slow start */
    bool expedited;     /* synchronize_rcu_expedited() instead */
    bool drain;         /* drain_call_rcu() instead */
    bool done;
} Syncer;

static void *sync_thread_fn(void *opaque)
{
    Syncer *s = opaque;

    rcu_register_thread();
    g_usleep(s->delay_us);
    if (s->drain) {
        drain_call_rcu();
    } else if (s->expedited) {
        synchronize_rcu_expedited();
    } else {
        synchronize_rcu();
    }
    rcu_unregister_thread();
    qatomic_set(&s->done, true);
    return NULL;
}

/* Starts @s and returns once its grace period has started. */
static void syncer_start(Syncer *s)
{
    unsigned long cookie = get_state_synchronize_rcu();
    int64_t start = test_now_ns();

    qemu_thread_create(&s->thread, "syncer", sync_thread_fn, s,
                       QEMU_THREAD_JOINABLE);
    /* The cookie moves on once the syncer's grace period has started. */
    while (get_state_synchronize_rcu() == cookie) {
        g_assert_cmpint(test_now_ns() - start, <, GENEROUS_NS);
        g_usleep(100);
    }
}

/*
 * A drain with nothing queued returns without a grace period, however
 * long a reader stays inside: like Linux's rcu_barrier(), it waits for
 * callbacks, not for readers.
 */
static void test_drain_nothing_queued(void)
{
    RcuStats before, after;
    Reader r;

    quiesce();
    set_force_after_us(60 * 1000000);
    reader_start(&r, true, true);
    rcu_get_stats(&before);
    drain_call_rcu();
    rcu_get_stats(&after);
    g_assert_cmpuint(after.grace_periods, ==, before.grace_periods);
    g_assert_cmpint(qatomic_read(&r.kicks), ==, 0);
    reader_stop(&r);
    quiesce();
}

typedef struct BlockingCb {
    struct rcu_head rcu;
    QemuEvent running;
    QemuEvent release;
} BlockingCb;

static void blocking_cb(struct rcu_head *head)
{
    BlockingCb *b = container_of(head, BlockingCb, rcu);

    qemu_event_set(&b->running);
    qemu_event_wait(&b->release);
}

/*
 * Starts a drain while a callback whose grace period is over is still
 * running, and lets the callback return 20 ms later.  Returns whether
 * the drain had returned before that, and in @gps the grace periods run
 * from the callback's start to the drain's end.
 */
static bool drain_behind_running_callback(uint64_t *gps)
{
    Syncer drainer = { .drain = true };
    RcuStats before, after;
    BlockingCb b;
    bool early;

    quiesce();
    qemu_event_init(&b.running, false);
    qemu_event_init(&b.release, false);
    call_rcu1(&b.rcu, blocking_cb);
    qemu_event_wait(&b.running);
    rcu_get_stats(&before);
    qemu_thread_create(&drainer.thread, "drainer", sync_thread_fn, &drainer,
                       QEMU_THREAD_JOINABLE);
    g_usleep(20000);
    early = qatomic_read(&drainer.done);
    qemu_event_set(&b.release);
    qemu_thread_join(&drainer.thread);
    rcu_get_stats(&after);
    *gps = after.grace_periods - before.grace_periods;
    qemu_event_destroy(&b.running);
    qemu_event_destroy(&b.release);
    return early;
}

/*
 * The queue is empty and the grace period done, yet drain_call_rcu()
 * must wait for the callback to finish.
 */
static void test_drain_waits_for_running_callback(void)
{
    uint64_t gps;

    g_assert_false(drain_behind_running_callback(&gps));
}

/*
 * The drain waits for the running callback and for nothing else: no
 * grace period of its own, which with a reader in a long section would
 * mean kicking it once more (a drain that queued a marker callback
 * behind the running batch needed one).
 */
static void test_drain_adds_no_grace_period(void)
{
    uint64_t gps;

    drain_behind_running_callback(&gps);
    g_assert_cmpuint(gps, ==, 0);
}

/*
 * With fences rcu_read_unlock() executes no fence, so its load of waiting
 * may come before the forced grace period's store reaches it, while that
 * grace period's scan still sees the reader's ctr from before the
 * unlock: nobody wakes the grace period.  Play that outcome with a reader
 * that leaves without looking at waiting; the grace period must still
 * end, because with fences its sleep has a timeout.  With membarrier the
 * outcome cannot happen (smp_mb_global() orders the reader).
 */
static void test_fences_missed_wake_up(void)
{
    SilentReader sr = { 0 };
    Syncer syncer = { .expedited = true };
    QemuThread reader;
    RcuTunables t;
    int64_t start;

    if (qemu_membarrier_enabled()) {
        g_test_skip("needs fences: test-rcu-core-fences runs it");
        return;
    }
    quiesce();
    rcu_get_tunables(&t);
    /* No stall warning, whose own timed sleep would end the wait too. */
    t.stall_timeout_ms = 0;
    rcu_set_tunables(&t);
    qemu_thread_create(&reader, "silent-reader", silent_reader_fn, &sr,
                       QEMU_THREAD_JOINABLE);
    while (!qatomic_read(&sr.inside)) {
        g_usleep(100);
    }
    qemu_thread_create(&syncer.thread, "syncer", sync_thread_fn, &syncer,
                       QEMU_THREAD_JOINABLE);
    while (!qatomic_read(&sr.left)) {
        g_usleep(100);
    }
    start = test_now_ns();
    while (!qatomic_read(&syncer.done) &&
           test_now_ns() - start < GENEROUS_NS) {
        g_usleep(1000);
    }
    g_assert_true(qatomic_read(&syncer.done));
    qemu_thread_join(&syncer.thread);
    qatomic_set(&sr.unregister, true);
    qemu_thread_join(&reader);
    quiesce();
}

/*
 * A 32-bit host's grace period flips a phase bit twice and waits for
 * readers after each flip.
 */
#define GRACE_PERIOD_PHASES (sizeof(long) == 8 ? 1 : 2)

/*
 * A forced grace period kicks a reader once per phase: on a 32-bit host
 * a reader that re-entered with the first phase's counter is kicked
 * again by the second phase.
 */
#define MAX_KICKS_PER_GRACE_PERIOD GRACE_PERIOD_PHASES

static void assert_kicked_once_per_phase(Reader *r, int before)
{
    int kicks = qatomic_read(&r->kicks) - before;

    g_assert_cmpint(kicks, >=, 1);
    g_assert_cmpint(kicks, <=, MAX_KICKS_PER_GRACE_PERIOD);
}

/* force_rcu() and expedited grace periods skip the polling. */
static void test_force_rcu_and_expedited(void)
{
    Reader r;
    int64_t start;
    int kicks;

    quiesce();
    set_force_after_us(60 * 1000000);
    reader_start(&r, true, true);
    start = test_now_ns();
    synchronize_rcu_expedited();
    g_assert_cmpint(test_now_ns() - start, <, GENEROUS_NS);
    assert_kicked_once_per_phase(&r, 0);

    reader_wait_inside(&r);
    kicks = qatomic_read(&r.kicks);
    start = test_now_ns();
    force_rcu();
    synchronize_rcu();
    g_assert_cmpint(test_now_ns() - start, <, GENEROUS_NS);
    assert_kicked_once_per_phase(&r, kicks);
    reader_stop(&r);
    quiesce();
}

/*
 * A forced grace period that kicks its reader out ends at the look after
 * the reader's wake-up, without arming again: one membarrier() per wait
 * for readers, the arming pass's, where a second pass used to cost
 * another.
 */
static void test_forced_wake_up_one_membarrier(void)
{
    enum { GPS = 20 };
    const unsigned waits = GPS * GRACE_PERIOD_PHASES;
    Reader r;
    RcuStats before, after;

    quiesce();
    set_force_after_us(60 * 1000000);
    /* Only the reader's barrier is counted: the call_rcu thread is idle. */
    g_assert_true(test_settle_offline(GENEROUS_NS));
    reader_start(&r, true, true);
    before = test_rcu_stats();
    for (int i = 0; i < GPS; i++) {
        reader_wait_inside(&r);
        synchronize_rcu_expedited();
    }
    after = test_rcu_stats();
    reader_stop(&r);
    g_assert_cmpint(qatomic_read(&r.kicks), >=, GPS);
    g_assert_cmpint(qatomic_read(&r.kicks), <=,
                    GPS * MAX_KICKS_PER_GRACE_PERIOD);
    if (qemu_membarrier_enabled()) {
        g_assert_cmpuint(after.membarrier_calls - before.membarrier_calls,
                         ==, waits);
    } else {
        g_assert_cmpuint(after.membarrier_calls, ==, before.membarrier_calls);
    }
    quiesce();
}

/*
 * One round of test_forced_later_kick_and_watch(): forces a grace period
 * @poll_us after it started polling; returns the membarrier() calls the
 * round made.
 */
static uint64_t forced_later_round(Reader *r, int64_t poll_us)
{
    Syncer syncer = { 0 };
    RcuStats before = test_rcu_stats();
    int kicks = qatomic_read(&r->kicks);

    syncer_start(&syncer);
    /* Time for the first scan, which finds the reader inside. */
    g_usleep(poll_us);
    force_rcu();
    qemu_thread_join(&syncer.thread);
    assert_kicked_once_per_phase(r, kicks);
    /* force_rcu() forces the next grace period too: use it up. */
    reader_wait_inside(r);
    synchronize_rcu_expedited();
    reader_wait_inside(r);
    return test_rcu_stats().membarrier_calls - before.membarrier_calls;
}

/*
 * A grace period that polled in the normal state and is then forced
 * kicks the reader and watches it leave before it arms: one membarrier()
 * per wait for readers, the first scan's, where arming cost a second
 * one.  Each round also runs an expedited grace period, one call per
 * wait.  A reader that does not leave within the watch (descheduled on
 * a loaded host) still costs the second call, so rounds repeat until
 * one shows the saving; before the watch, none could.
 */
static void test_forced_later_kick_and_watch(void)
{
    const uint64_t waits = 2 * GRACE_PERIOD_PHASES;
    int64_t start;
    uint64_t calls;
    Reader r;
    int rounds = 0;

    quiesce();
    set_force_after_us(60 * 1000000);
    g_assert_true(test_settle_offline(GENEROUS_NS));
    reader_start(&r, true, true);
    start = test_now_ns();
    do {
        calls = forced_later_round(&r, 5000);
        rounds++;
        if (!qemu_membarrier_enabled()) {
            g_assert_cmpuint(calls, ==, 0);
            break;
        }
        g_assert_cmpuint(calls, >=, waits);
        g_assert_cmpuint(calls, <=, waits + 1);
    } while (HOST_TSO && calls > waits &&
             test_now_ns() - start < GENEROUS_NS);
    reader_stop(&r);
    g_test_message("%d round(s), %" PRIu64 " calls in the last", rounds,
                   calls);
    if (HOST_TSO && qemu_membarrier_enabled()) {
        g_assert_cmpuint(calls, ==, waits);
    }
    quiesce();
}

/*
 * The kick and watch must not note a stall warning that nobody prints:
 * with a 1 ms stall timeout every pass of a grace period behind the
 * stuck reader is due one, including the forced pass whose watch sees
 * the reader leave, when it comes 1 ms or more after the pass before:
 * at 12 ms the grace period is in a poll of about 8 ms that began at 8
 * ms.  The grace period ends with no warning left unprinted (an
 * assertion in synchronize_rcu()).
 */
static void test_forced_later_stall_warning(void)
{
    if (g_test_subprocess()) {
        RcuTunables t;
        Reader r;

        set_force_after_us(60 * 1000000);
        rcu_get_tunables(&t);
        t.stall_timeout_ms = 1;
        rcu_set_tunables(&t);
        reader_start(&r, true, true);
        for (int i = 0; i < 20; i++) {
            forced_later_round(&r, 12000);
        }
        reader_stop(&r);
        return;
    }
    g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*grace period stalled for *");
}

/*
 * force_rcu() during another thread's grace period also forces the next
 * one, which a callback queued just before force_rcu() waits for.  The
 * other thread's grace period must have started by then: force_rcu()
 * does not force one that starts after the next (the call_rcu thread's),
 * so with forcing after 60 s here, a writer whose thread started late
 * (delay_us, as on a loaded machine) stalled the test for a minute.
 */
static void test_force_rcu_covers_next_grace_period(gconstpointer data)
{
    Syncer syncer = { .delay_us = GPOINTER_TO_INT(data) };
    Reader r;
    int64_t start;

    quiesce();
    set_force_after_us(60 * 1000000);
    reader_start_full(&r, true, true, true);
    qatomic_set(&cb_count, 0);
    syncer_start(&syncer);
    call_rcu1(g_new0(struct rcu_head, 1), count_cb);
    start = test_now_ns();
    force_rcu();
    while (!qatomic_read(&syncer.done) || qatomic_read(&cb_count) < 1) {
        g_assert_cmpint(test_now_ns() - start, <, GENEROUS_NS);
        g_usleep(1000);
    }
    qemu_thread_join(&syncer.thread);
    reader_stop(&r);
    quiesce();
}

/*
 * Kicks that arrive after the reader left (or that the reader sees in a
 * later section) only cost it an early exit; grace periods keep working.
 */
static void test_spurious_kicks(void)
{
    Reader r;
    Notifier extra = { .notify = reader_kick };

    quiesce();
    reader_start(&r, false, true);
    for (int i = 0; i < 200; i++) {
        synchronize_rcu_expedited();
        /* A kick from nowhere, like a stray async_run_on_cpu(). */
        extra.notify(&r.notifier, NULL);
    }
    reader_stop(&r);
    synchronize_rcu();
    g_assert_cmpint(r.sections, >, 0);
}

/* Forcing kicks only readers that are inside a critical section. */
static bool idle_stop;
static int idle_kicks;

static void idle_kick(Notifier *n, void *data)
{
    qatomic_inc(&idle_kicks);
}

static void *idle_reader_fn(void *opaque)
{
    Notifier n = { .notify = idle_kick };

    rcu_register_thread();
    rcu_add_force_rcu_notifier(&n);
    qatomic_set((bool *)opaque, true);
    while (!qatomic_read(&idle_stop)) {
        g_usleep(1000);
    }
    rcu_remove_force_rcu_notifier(&n);
    rcu_unregister_thread();
    return NULL;
}

static void test_force_skips_idle_readers(void)
{
    QemuThread t;
    bool ready = false;

    quiesce();
    qatomic_set(&idle_stop, false);
    qatomic_set(&idle_kicks, 0);
    qemu_thread_create(&t, "idle-reader", idle_reader_fn, &ready,
                       QEMU_THREAD_JOINABLE);
    while (!qatomic_read(&ready)) {
        g_usleep(100);
    }
    for (int i = 0; i < 20; i++) {
        drain_call_rcu();
        synchronize_rcu_expedited();
    }
    qatomic_set(&idle_stop, true);
    qemu_thread_join(&t);
    g_assert_cmpint(qatomic_read(&idle_kicks), ==, 0);
}

/* A reader without notifier holds the grace period until it leaves. */
static void test_reader_without_notifier_blocks(void)
{
    Reader r;

    quiesce();
    reader_start(&r, true, false);
    qatomic_set(&cb_count, 0);
    call_rcu1(g_new0(struct rcu_head, 1), count_cb);
    g_usleep(300 * 1000);
    g_assert_cmpint(qatomic_read(&cb_count), ==, 0);
    g_assert_true(qatomic_read(&r.inside));
    qatomic_set(&r.release, true);
    reader_stop(&r);
    drain_call_rcu();
    g_assert_cmpint(qatomic_read(&cb_count), ==, 1);
}

typedef struct SeqCb {
    struct rcu_head rcu;
    int producer;
    int seq;
} SeqCb;

static int next_seq[2];
static bool order_ok = true;

static void seq_cb(struct rcu_head *head)
{
    SeqCb *cb = container_of(head, SeqCb, rcu);

    g_assert_true(bql_locked());
    if (cb->seq != next_seq[cb->producer]) {
        order_ok = false;
    }
    next_seq[cb->producer] = cb->seq + 1;
    g_free(cb);
}

static void *fifo_producer(void *opaque)
{
    int producer = GPOINTER_TO_INT(opaque);

    for (int i = 0; i < 20000; i++) {
        SeqCb *cb = g_new0(SeqCb, 1);

        cb->producer = producer;
        cb->seq = i;
        call_rcu1(&cb->rcu, seq_cb);
    }
    return NULL;
}

static void test_fifo(void)
{
    QemuThread t;

    quiesce();
    next_seq[0] = next_seq[1] = 0;
    qemu_thread_create(&t, "fifo", fifo_producer, GINT_TO_POINTER(1),
                       QEMU_THREAD_JOINABLE);
    fifo_producer(GINT_TO_POINTER(0));
    qemu_thread_join(&t);
    drain_call_rcu();
    g_assert_true(order_ok);
    g_assert_cmpint(next_seq[0], ==, 20000);
    g_assert_cmpint(next_seq[1], ==, 20000);
}

/*
 * drain_call_rcu() under the BQL gives the lock up while it waits.  A
 * reader without a notifier keeps the drain waiting; meanwhile another
 * thread must get the BQL within a bounded time.  A drain that kept the
 * lock makes the probe time out and fail, rather than hang the test.
 */
typedef struct BqlDrainer {
    QemuThread thread;
    bool holds_bql;         /* has the BQL and is about to drain */
    bool returned;          /* drain_call_rcu() returned */
    bool bql_after;         /* bql_locked() once it returned */
} BqlDrainer;

static void *bql_drainer_fn(void *opaque)
{
    BqlDrainer *d = opaque;

    bql_lock();
    qatomic_set(&d->holds_bql, true);
    drain_call_rcu();
    d->bql_after = bql_locked();
    qatomic_set(&d->returned, true);
    bql_unlock();
    return NULL;
}

static void *bql_probe_fn(void *opaque)
{
    bql_lock();
    qatomic_set((bool *)opaque, true);
    bql_unlock();
    return NULL;
}

static void test_drain_releases_bql(void)
{
    BqlDrainer d = { 0 };
    QemuThread probe;
    bool probe_got_bql = false;
    Reader r;
    int64_t start;

    quiesce();
    reader_start(&r, true, false);
    qatomic_set(&cb_count, 0);
    call_rcu1(g_new0(struct rcu_head, 1), count_cb);
    qemu_thread_create(&d.thread, "bql-drainer", bql_drainer_fn, &d,
                       QEMU_THREAD_JOINABLE);
    while (!qatomic_read(&d.holds_bql)) {
        g_usleep(100);
    }

    /* Blocks until the drainer gives the BQL up inside drain_call_rcu(). */
    qemu_thread_create(&probe, "bql-probe", bql_probe_fn, &probe_got_bql,
                       QEMU_THREAD_JOINABLE);
    start = test_now_ns();
    while (!qatomic_read(&probe_got_bql)) {
        if (test_now_ns() - start > GENEROUS_NS) {
            g_error("no other thread got the BQL in %lld s while "
                    "drain_call_rcu() waited: the drainer kept it",
                    GENEROUS_NS / 1000000000LL);
        }
        g_usleep(1000);
    }
    /* The reader still holds the grace period: the drain is not over. */
    g_assert_false(qatomic_read(&d.returned));
    g_assert_cmpint(qatomic_read(&cb_count), ==, 0);
    qemu_thread_join(&probe);

    qatomic_set(&r.release, true);
    qemu_thread_join(&d.thread);
    g_assert_true(d.bql_after);
    g_assert_cmpint(qatomic_read(&cb_count), ==, 1);
    reader_stop(&r);
}

/*
 * Threads that register, read and unregister over and over while the
 * main thread replaces an object and poisons the old one after
 * synchronize_rcu(): a reader registered at any point of a grace period
 * that protects its section never finds poison; every callback queued
 * meanwhile runs once; the grace periods and the churn make progress.
 */
#define CHURN_LIVE   0x4c495645u
#define CHURN_POISON 0xdeadbeefu

typedef struct ChurnObj {
    unsigned magic;
} ChurnObj;

static ChurnObj *churn_ptr;
static bool churn_stop;
static long churn_registrations;
static long churn_sections;
static long churn_poisoned;
static long churn_not_online;

static void *churn_fn(void *opaque)
{
    while (!qatomic_read(&churn_stop)) {
        rcu_register_thread();
        if (!rcu_thread_is_online()) {
            qatomic_inc(&churn_not_online);
        }
        for (int i = 0; i < 10; i++) {
            WITH_RCU_READ_LOCK_GUARD() {
                ChurnObj *o = qatomic_rcu_read(&churn_ptr);
                unsigned first = qatomic_read(&o->magic);

                g_usleep(10);
                if (first != CHURN_LIVE ||
                    qatomic_read(&o->magic) != CHURN_LIVE) {
                    qatomic_inc(&churn_poisoned);
                }
            }
            qatomic_inc(&churn_sections);
        }
        rcu_unregister_thread();
        qatomic_inc(&churn_registrations);
    }
    return NULL;
}

static void test_register_churn(void)
{
    g_autoptr(GPtrArray) retired = g_ptr_array_new_with_free_func(g_free);
    QemuThread t[2];
    RcuStats before, after;
    long syncs = 0, queued = 0;
    int64_t start;

    quiesce();
    qatomic_set(&cb_count, 0);
    qatomic_set(&churn_stop, false);
    qatomic_set(&churn_registrations, 0);
    qatomic_set(&churn_sections, 0);
    qatomic_set(&churn_poisoned, 0);
    qatomic_set(&churn_not_online, 0);
    churn_ptr = g_new0(ChurnObj, 1);
    churn_ptr->magic = CHURN_LIVE;
    before = test_rcu_stats();
    for (int i = 0; i < 2; i++) {
        qemu_thread_create(&t[i], "churn", churn_fn, NULL,
                           QEMU_THREAD_JOINABLE);
    }
    start = test_now_ns();
    /* 0.3 s, and on a starved machine until both threads churned. */
    while (test_now_ns() - start < 300 * 1000000LL ||
           qatomic_read(&churn_registrations) < 4) {
        ChurnObj *old = churn_ptr, *new = g_new0(ChurnObj, 1);

        g_assert_cmpint(test_now_ns() - start, <, 4 * GENEROUS_NS);
        new->magic = CHURN_LIVE;
        qatomic_rcu_set(&churn_ptr, new);
        synchronize_rcu();
        /* Freed only at the end: a late reader finds poison, not junk. */
        qatomic_set(&old->magic, CHURN_POISON);
        g_ptr_array_add(retired, old);
        syncs++;
        call_rcu1(g_new0(struct rcu_head, 1), count_cb);
        queued++;
    }
    qatomic_set(&churn_stop, true);
    for (int i = 0; i < 2; i++) {
        qemu_thread_join(&t[i]);
    }
    drain_call_rcu();
    after = test_rcu_stats();
    g_test_message("%ld grace periods, %ld registrations, %ld sections",
                   syncs, churn_registrations, churn_sections);

    g_assert_cmpint(churn_poisoned, ==, 0);
    g_assert_cmpint(churn_not_online, ==, 0);
    g_assert_cmpint(qatomic_read(&cb_count), ==, queued);
    g_assert_cmpuint(after.grace_periods - before.grace_periods, >=, syncs);
    g_assert_cmpint(churn_registrations, >=, 4);
    g_free(churn_ptr);
}

static void test_polled(void)
{
    Reader r;
    unsigned long cookie;

    quiesce();
    reader_start(&r, true, false);
    cookie = get_state_synchronize_rcu();
    g_assert_false(poll_state_synchronize_rcu(cookie));
    cookie = start_poll_synchronize_rcu();
    g_usleep(200 * 1000);
    /* The reader began before the cookie and is still inside. */
    g_assert_false(poll_state_synchronize_rcu(cookie));
    qatomic_set(&r.release, true);
    reader_stop(&r);
    drain_call_rcu();
    g_assert_true(poll_state_synchronize_rcu(cookie));

    cookie = get_state_synchronize_rcu();
    cond_synchronize_rcu(cookie);
    g_assert_true(poll_state_synchronize_rcu(cookie));
}

static void test_offline_skips_membarrier(void)
{
    quiesce();
    /*
     * Only this thread stays online: the call_rcu thread goes offline
     * once it has finished the drain's batch, and then grace periods
     * need no membarrier.
     */
    g_assert_true(test_settle_offline(GENEROUS_NS));

    rcu_thread_offline();
    g_assert_false(rcu_thread_is_online());
    rcu_thread_online();
    g_assert_true(rcu_thread_is_online());
}

/* fork() while other threads queue callbacks and the batch runs. */
static bool fork_stop;

static void *fork_producer(void *opaque)
{
    while (!qatomic_read(&fork_stop)) {
        call_rcu1(g_new0(struct rcu_head, 1), count_cb);
        if (g_random_int_range(0, 64) == 0) {
            g_usleep(10);
        }
    }
    return NULL;
}

static void child_work(void)
{
    sigset_t alrm;

    /* A child forked from a QemuThread inherits its blocked signals. */
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
    alarm(10);
    qatomic_set(&cb_count, 0);
    call_rcu1(g_new0(struct rcu_head, 1), count_cb);
    synchronize_rcu();
    drain_call_rcu();
    if (qatomic_read(&cb_count) < 1) {
        _exit(2);
    }
    _exit(0);
}

static void *fork_from_thread(void *opaque)
{
    pid_t pid;

    rcu_register_thread();
    pid = fork();
    if (pid == 0) {
        child_work();
    }
    rcu_unregister_thread();
    return GINT_TO_POINTER(pid);
}

static void test_fork_anywhere(void)
{
    QemuThread producers[2];
    int rounds = g_test_slow() ? 200 : 30;

#ifdef QEMU_SANITIZE_ADDRESS
    /* A child can inherit ASan's allocator lock from a producer. */
    g_test_skip("AddressSanitizer's allocator is not fork-safe");
    return;
#endif
    quiesce();
    qatomic_set(&fork_stop, false);
    for (int i = 0; i < 2; i++) {
        qemu_thread_create(&producers[i], "fork-producer", fork_producer,
                           NULL, QEMU_THREAD_JOINABLE);
    }
    for (int i = 0; i < rounds; i++) {
        QemuThread forker;
        pid_t pid;
        int status;

        g_usleep(g_random_int_range(0, 2000));
        if (i % 2) {
            qemu_thread_create(&forker, "forker", fork_from_thread, NULL,
                               QEMU_THREAD_JOINABLE);
            pid = GPOINTER_TO_INT(qemu_thread_join(&forker));
        } else {
            pid = fork();
            if (pid == 0) {
                child_work();
            }
        }
        g_assert_cmpint(pid, >, 0);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            g_error("child %d of round %d failed: status %#x%s", pid, i,
                    status, WIFSIGNALED(status) &&
                    WTERMSIG(status) == SIGALRM ? " (hung)" : "");
        }
    }
    qatomic_set(&fork_stop, true);
    for (int i = 0; i < 2; i++) {
        qemu_thread_join(&producers[i]);
    }
    drain_call_rcu();
}

/* A reader without notifier that stays inside is named on stderr. */
static void test_stall_warning(void)
{
    if (g_test_subprocess()) {
        Reader r;
        RcuTunables t;
        RcuStats before, after;

        rcu_get_tunables(&t);
        t.stall_timeout_ms = 200;
        rcu_set_tunables(&t);
        reader_start(&r, true, false);
        before = test_rcu_stats();
        qemu_thread_create(&(QemuThread){0}, "test-releaser",
                           release_later, &r, QEMU_THREAD_DETACHED);
        synchronize_rcu();
        after = test_rcu_stats();
        reader_stop(&r);
        g_assert_cmpuint(after.stall_warnings - before.stall_warnings,
                         >=, 2);
        return;
    }
    g_test_trap_subprocess(NULL, 20 * G_USEC_PER_SEC, 0);
    g_test_trap_assert_passed();
    /*
     * The first warning is due at 0.2 s, the next 0.2 s later; a loaded
     * machine may print either late, so only the first is pinned down.
     */
    g_test_trap_assert_stderr("*grace period stalled for 0.* by 1 reader*"
                              "thread * (test-reader): no force_rcu "
                              "notifier*grace period stalled for *");
}

static void test_tunables_roundtrip(void)
{
    RcuTunables t, back;

    rcu_get_tunables(&t);
    g_assert_cmpuint(t.force_callbacks, ==, 30);
    g_assert_cmpuint(t.poll_max_us, ==, 10000);
    g_assert_cmpuint(t.force_after_us, ==, 50000);
    t.force_after_us = 1234;
    rcu_set_tunables(&t);
    rcu_get_tunables(&back);
    g_assert_cmpmem(&t, sizeof(t), &back, sizeof(back));
    quiesce();
}

/* Misuse: each runs in a subprocess that must die with a clear message. */
static void misuse_unbalanced_unlock(void)
{
    rcu_read_unlock();
}

static void misuse_sync_in_section(void)
{
    rcu_read_lock();
    synchronize_rcu();
}

static void misuse_drain_in_section(void)
{
    rcu_read_lock();
    drain_call_rcu();
}

static void drain_cb(struct rcu_head *head)
{
    drain_call_rcu();
}

static void misuse_drain_from_callback(void)
{
    static struct rcu_head head;

    call_rcu1(&head, drain_cb);
    g_usleep(5 * 1000 * 1000);
}

static void misuse_unregister_in_section(void)
{
    rcu_read_lock();
    rcu_unregister_thread();
}

static void misuse_register_twice(void)
{
    rcu_register_thread();
}

static const struct {
    const char *name;
    void (*fn)(void);
    const char *message;
} misuse_cases[] = {
    { "unbalanced-unlock", misuse_unbalanced_unlock,
      "*rcu_read_unlock() without a matching rcu_read_lock()*" },
    { "sync-in-section", misuse_sync_in_section,
      "*synchronize_rcu() called inside an RCU read-side critical*" },
    { "drain-in-section", misuse_drain_in_section,
      "*drain_call_rcu() called inside an RCU read-side critical*" },
    { "drain-from-callback", misuse_drain_from_callback,
      "*drain_call_rcu() called from an RCU callback*" },
    { "unregister-in-section", misuse_unregister_in_section,
      "*rcu_unregister_thread() called inside an RCU read-side*" },
    { "register-twice", misuse_register_twice,
      "*rcu_register_thread() called twice*" },
};

static void test_misuse(gconstpointer data)
{
    int i = GPOINTER_TO_INT(data);

    if (g_test_subprocess()) {
        misuse_cases[i].fn();
        return;
    }
    g_test_trap_subprocess(NULL, 10 * G_USEC_PER_SEC, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr(misuse_cases[i].message);
}

/* --- the call_rcu thread's scheduling ---------------------------------- */

#if defined(CONFIG_LINUX) && defined(SYS_sched_getattr)
/* struct sched_attr up to SCHED_ATTR_SIZE_VER0. */
typedef struct SchedAttr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
} SchedAttr;

#define CALL_RCU_THREAD_SLICE_NS 100000

static SchedAttr sched_attr_of(pid_t tid)
{
    SchedAttr attr = { 0 };

    g_assert_cmpint(syscall(SYS_sched_getattr, tid, &attr, sizeof(attr), 0),
                    ==, 0);
    return attr;
}

/* The thread named call_rcu, started by a callback if need be. */
static pid_t call_rcu_thread_tid(void)
{
    g_autoptr(GDir) dir = NULL;
    const char *name;

    call_rcu1(g_new0(struct rcu_head, 1), count_cb);
    drain_call_rcu();
    dir = g_dir_open("/proc/self/task", 0, NULL);
    g_assert_nonnull(dir);
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *path = g_strdup_printf("/proc/self/task/%s/comm",
                                                name);
        g_autofree char *comm = NULL;

        if (g_file_get_contents(path, &comm, NULL, NULL) &&
            g_str_equal(g_strchomp(comm), "call_rcu")) {
            return atoi(name);
        }
    }
    g_assert_not_reached();
}

/*
 * Kernels before Linux 6.12 have no per-thread slice and report 0 for a
 * SCHED_OTHER thread's sched_runtime.
 */
static void check_call_rcu_thread_sched(int nice)
{
    SchedAttr self = sched_attr_of(0);
    SchedAttr cr = sched_attr_of(call_rcu_thread_tid());

    g_assert_cmpuint(cr.sched_policy, ==, SCHED_OTHER);
    g_assert_cmpint(cr.sched_nice, ==, nice);
    if (self.sched_runtime) {
        g_assert_cmpuint(cr.sched_runtime, ==, CALL_RCU_THREAD_SLICE_NS);
        g_assert_cmpuint(self.sched_runtime, !=, CALL_RCU_THREAD_SLICE_NS);
    } else {
        g_test_message("no per-thread slices on this kernel");
    }
}

/*
 * The call_rcu thread asks for the shortest slice, so that its wake-up
 * can take the CPU from a spinning vCPU, and keeps the nice value of the
 * thread that started it: a fork child that lowered its priority starts
 * one at that priority.
 */
static void test_call_rcu_thread_short_slice(void)
{
    pid_t pid;

    quiesce();
    check_call_rcu_thread_sched(getpriority(PRIO_PROCESS, 0));
    pid = fork();
    if (pid == 0) {
        int nice = MIN(getpriority(PRIO_PROCESS, 0) + 3, 19);

        alarm(10);
        g_assert_cmpint(setpriority(PRIO_PROCESS, 0, nice), ==, 0);
        check_call_rcu_thread_sched(nice);
        _exit(0);
    }
    wait_child(pid);
}
#else
static void test_call_rcu_thread_short_slice(void)
{
    g_test_skip("no sched_getattr() on this host");
}
#endif

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rcu/core/sync-idle", test_sync_idle);
    g_test_add_func("/rcu/core/normal-state-no-force",
                    test_normal_state_no_force);
    g_test_add_func("/rcu/core/stuck-reader-forced-after-polls",
                    test_stuck_reader_forced_after_polls);
    g_test_add_func("/rcu/core/callbacks-force", test_callbacks_force);
    g_test_add_func("/rcu/core/callbacks-force-several-threads",
                    test_callbacks_force_several_threads);
    g_test_add_func("/rcu/core/producer-slots", test_producer_slots);
    g_test_add_func("/rcu/core/drain-forces", test_drain_forces);
    g_test_add_func("/rcu/core/drain-nothing-queued",
                    test_drain_nothing_queued);
    g_test_add_func("/rcu/core/drain-waits-for-running-callback",
                    test_drain_waits_for_running_callback);
    g_test_add_func("/rcu/core/drain-adds-no-grace-period",
                    test_drain_adds_no_grace_period);
    g_test_add_func("/rcu/core/read-barrier-mode", test_read_barrier_mode);
    g_test_add_func("/rcu/core/fences-missed-wake-up",
                    test_fences_missed_wake_up);
    g_test_add_func("/rcu/core/force-rcu-and-expedited",
                    test_force_rcu_and_expedited);
    g_test_add_data_func("/rcu/core/force-rcu-covers-next-grace-period",
                         GINT_TO_POINTER(0),
                         test_force_rcu_covers_next_grace_period);
    g_test_add_data_func("/rcu/core/force-rcu-covers-next-grace-period/"
                         "late-writer", GINT_TO_POINTER(200 * 1000),
                         test_force_rcu_covers_next_grace_period);
    g_test_add_func("/rcu/core/forced-later-kick-and-watch",
                    test_forced_later_kick_and_watch);
    g_test_add_func("/rcu/core/forced-later-stall-warning",
                    test_forced_later_stall_warning);
    g_test_add_func("/rcu/core/forced-wake-up-one-membarrier",
                    test_forced_wake_up_one_membarrier);
    g_test_add_func("/rcu/core/spurious-kicks", test_spurious_kicks);
    g_test_add_func("/rcu/core/force-skips-idle-readers",
                    test_force_skips_idle_readers);
    g_test_add_func("/rcu/core/reader-without-notifier-blocks",
                    test_reader_without_notifier_blocks);
    g_test_add_func("/rcu/core/fifo", test_fifo);
    g_test_add_func("/rcu/core/drain-releases-bql", test_drain_releases_bql);
    g_test_add_func("/rcu/core/register-churn", test_register_churn);
    g_test_add_func("/rcu/core/polled", test_polled);
    g_test_add_func("/rcu/core/offline-skips-membarrier",
                    test_offline_skips_membarrier);
    g_test_add_func("/rcu/core/fork-anywhere", test_fork_anywhere);
    g_test_add_func("/rcu/core/stall-warning", test_stall_warning);
    g_test_add_func("/rcu/core/tunables", test_tunables_roundtrip);
    g_test_add_func("/rcu/core/call-rcu-thread-short-slice",
                    test_call_rcu_thread_short_slice);
    for (int i = 0; i < G_N_ELEMENTS(misuse_cases); i++) {
        g_autofree char *path = g_strdup_printf("/rcu/core/misuse/%s",
                                                misuse_cases[i].name);
        g_test_add_data_func(path, GINT_TO_POINTER(i), test_misuse);
    }
    return g_test_run();
}
