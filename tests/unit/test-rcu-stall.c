/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Stall regression: a reader that spins in one read-side critical
 * section and leaves it only when its force_rcu notifier asks must not
 * stop call_rcu1(), synchronize_rcu() or drain_call_rcu() from
 * completing (QEMU before the unified force-quiescent-state design only
 * kicked readers from drain_call_rcu(), so callbacks stalled forever).
 * A reader without a notifier holds the grace period back for exactly
 * as long as it stays inside, and no longer.
 *
 * Time bounds are generous (GENEROUS_MS) against the ~50-100 ms these
 * take; QEMU_RCU_STALL_HOLD_MS sets how long the notifier-less reader
 * stays inside.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "qemu/main-loop.h"

#define GENEROUS_MS 5000

typedef enum SpinMode {
    /* Sections back to back, each left only when the notifier fires. */
    SPIN_KICKABLE,
    /* One section without a notifier, left when the test says so. */
    SPIN_HOLD,
} SpinMode;

typedef struct Spinner {
    SpinMode mode;
    bool take_bql;              /* handle a kick under the BQL */
    QemuThread thread;
    Notifier force_rcu;
    bool exit_request;
    bool release;
    bool stop;
    /* Counters read atomically: unsigned long fits any host's atomics. */
    unsigned long entered;      /* sections begun */
    unsigned long completed;    /* sections ended */
    unsigned long kicks;
    QemuEvent inside;
} Spinner;

static int64_t now_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

static void spinner_force_rcu(Notifier *n, void *data)
{
    Spinner *sp = container_of(n, Spinner, force_rcu);

    /* Registry lock held: just ask. */
    qatomic_inc(&sp->kicks);
    qatomic_set(&sp->exit_request, true);
}

static bool spinner_should_leave(Spinner *sp)
{
    return qatomic_read(&sp->stop) ||
           (sp->mode == SPIN_KICKABLE ? qatomic_read(&sp->exit_request)
                                      : qatomic_read(&sp->release));
}

static void *spinner_thread(void *opaque)
{
    Spinner *sp = opaque;

    rcu_register_thread();
    if (sp->mode == SPIN_KICKABLE) {
        sp->force_rcu.notify = spinner_force_rcu;
        rcu_add_force_rcu_notifier(&sp->force_rcu);
    }
    while (!qatomic_read(&sp->stop)) {
        rcu_read_lock();
        qatomic_set(&sp->entered, sp->entered + 1);
        qemu_event_set(&sp->inside);
        while (!spinner_should_leave(sp)) {
            cpu_relax();
        }
        /* Before the unlock: a grace period that waited for us sees it. */
        qatomic_set(&sp->completed, sp->entered);
        rcu_read_unlock();

        if (qatomic_xchg(&sp->exit_request, false) && sp->take_bql) {
            bql_lock();
            bql_unlock();
        }
        if (sp->mode == SPIN_HOLD) {
            while (!qatomic_read(&sp->stop)) {
                g_usleep(1000);
            }
        }
    }
    if (sp->mode == SPIN_KICKABLE) {
        rcu_remove_force_rcu_notifier(&sp->force_rcu);
    }
    rcu_unregister_thread();
    return NULL;
}

static void spinner_start(Spinner *sp, SpinMode mode, bool take_bql)
{
    memset(sp, 0, sizeof(*sp));
    sp->mode = mode;
    sp->take_bql = take_bql;
    qemu_event_init(&sp->inside, false);
    qemu_thread_create(&sp->thread, "stall-reader", spinner_thread, sp,
                       QEMU_THREAD_JOINABLE);
    qemu_event_wait(&sp->inside);
}

static void spinner_stop(Spinner *sp)
{
    qatomic_set(&sp->stop, true);
    qemu_thread_join(&sp->thread);
    qemu_event_destroy(&sp->inside);
}

/* The section in progress now; a grace period starting later waits for it */
static unsigned long spinner_current(Spinner *sp)
{
    return qatomic_read(&sp->entered);
}

static bool spinner_has_left(Spinner *sp, unsigned long section)
{
    return qatomic_read(&sp->completed) >= section;
}

/*
 * Runs synchronize_rcu() or drain_call_rcu() in a helper thread, so that
 * the test can give up on it with a message instead of hanging.
 */
typedef enum WaitOp {
    OP_SYNCHRONIZE,
    OP_DRAIN,
    OP_DRAIN_UNDER_BQL,
} WaitOp;

typedef struct Waiter {
    WaitOp op;
    Spinner *sp;
    unsigned long section;      /* must be over when the call returns */
    QemuThread thread;
    QemuEvent done;
    bool returned;              /* set as soon as the call returned */
    bool early;                 /* it returned while @section went on */
    int64_t start_ms;
    int64_t end_ms;
} Waiter;

typedef struct StallCb {
    struct rcu_head rcu;
    Spinner *sp;
    unsigned long section;      /* must be over before the callback */
    Waiter *drain;              /* must not have returned yet, or NULL */
    bool early;
    bool after_drain;
    int64_t ran_ms;
    QemuEvent done;
} StallCb;

static void stall_cb(struct rcu_head *head)
{
    StallCb *cb = container_of(head, StallCb, rcu);

    cb->early = !spinner_has_left(cb->sp, cb->section);
    cb->after_drain = cb->drain && qatomic_read(&cb->drain->returned);
    cb->ran_ms = now_ms();
    qemu_event_set(&cb->done);
}

static void stall_cb_queue(StallCb *cb, Spinner *sp, Waiter *drain)
{
    memset(cb, 0, sizeof(*cb));
    cb->sp = sp;
    cb->drain = drain;
    qemu_event_init(&cb->done, false);
    cb->section = spinner_current(sp);
    call_rcu1(&cb->rcu, stall_cb);
}

static void *waiter_thread(void *opaque)
{
    Waiter *w = opaque;

    rcu_register_thread();
    w->start_ms = now_ms();
    switch (w->op) {
    case OP_SYNCHRONIZE:
        synchronize_rcu();
        break;
    case OP_DRAIN:
        drain_call_rcu();
        break;
    case OP_DRAIN_UNDER_BQL:
        bql_lock();
        drain_call_rcu();
        g_assert_true(bql_locked());
        bql_unlock();
        break;
    }
    qatomic_set(&w->returned, true);
    w->early = !spinner_has_left(w->sp, w->section);
    w->end_ms = now_ms();
    qemu_event_set(&w->done);
    rcu_unregister_thread();
    return NULL;
}

/*
 * Prepares @w to wait for a grace period that must cover the section
 * @sp is in now; waiter_start() then runs it.
 */
static void waiter_init(Waiter *w, WaitOp op, Spinner *sp)
{
    memset(w, 0, sizeof(*w));
    w->op = op;
    w->sp = sp;
    w->section = spinner_current(sp);
    qemu_event_init(&w->done, false);
}

static void waiter_start(Waiter *w)
{
    qemu_thread_create(&w->thread, "stall-waiter", waiter_thread, w,
                       QEMU_THREAD_JOINABLE);
}

static void waiter_finish(Waiter *w, int timeout_ms)
{
    if (!qemu_event_timedwait(&w->done, timeout_ms)) {
        g_error("%s did not complete in %d ms",
                w->op == OP_SYNCHRONIZE ? "synchronize_rcu()" :
                "drain_call_rcu()", timeout_ms);
    }
    qemu_thread_join(&w->thread);
    qemu_event_destroy(&w->done);
}

static void test_kickable_call_rcu(void)
{
    Spinner sp;
    StallCb cb;
    int64_t start;

    spinner_start(&sp, SPIN_KICKABLE, false);
    start = now_ms();
    stall_cb_queue(&cb, &sp, NULL);
    g_assert_true(qemu_event_timedwait(&cb.done, GENEROUS_MS));
    g_test_message("callback ran after %" PRId64 " ms, %lu kicks",
                   cb.ran_ms - start, qatomic_read(&sp.kicks));
    g_assert_false(cb.early);
    /* The reader never leaves unless asked: the kick ended the period. */
    g_assert_cmpuint(qatomic_read(&sp.kicks), >=, 1);
    spinner_stop(&sp);
    qemu_event_destroy(&cb.done);
}

static void test_kickable_synchronize(void)
{
    Spinner sp;
    Waiter w;

    spinner_start(&sp, SPIN_KICKABLE, false);
    waiter_init(&w, OP_SYNCHRONIZE, &sp);
    waiter_start(&w);
    waiter_finish(&w, GENEROUS_MS);
    g_test_message("synchronize_rcu() took %" PRId64 " ms",
                   w.end_ms - w.start_ms);
    g_assert_false(w.early);
    g_assert_cmpuint(qatomic_read(&sp.kicks), >=, 1);
    spinner_stop(&sp);
}

static void do_test_kickable_drain(WaitOp op)
{
    Spinner sp;
    StallCb cb;
    Waiter w;

    /* Under the BQL the kicked reader needs the lock drain must drop. */
    spinner_start(&sp, SPIN_KICKABLE, op == OP_DRAIN_UNDER_BQL);
    waiter_init(&w, op, &sp);
    stall_cb_queue(&cb, &sp, &w);
    waiter_start(&w);
    waiter_finish(&w, GENEROUS_MS);
    g_test_message("drain_call_rcu() took %" PRId64 " ms",
                   w.end_ms - w.start_ms);
    /* drain_call_rcu() returns only after earlier callbacks ran. */
    g_assert_true(qemu_event_timedwait(&cb.done, 0));
    g_assert_false(cb.after_drain);
    g_assert_false(cb.early);
    g_assert_false(w.early);
    g_assert_cmpuint(qatomic_read(&sp.kicks), >=, 1);
    spinner_stop(&sp);
    qemu_event_destroy(&cb.done);
}

static void test_kickable_drain(void)
{
    do_test_kickable_drain(OP_DRAIN);
}

static void test_kickable_drain_under_bql(void)
{
    do_test_kickable_drain(OP_DRAIN_UNDER_BQL);
}

static void test_no_notifier_holds_grace_period(void)
{
    int hold_ms = 300;
    const char *env = g_getenv("QEMU_RCU_STALL_HOLD_MS");
    RcuTunables saved, t;
    RcuStats before, after;
    Spinner sp;
    StallCb cb;
    Waiter w;
    int64_t released, deadline;

    if (env) {
        hold_ms = MAX(atoi(env), 1);
    }
    rcu_get_tunables(&saved);
    t = saved;
    t.stall_timeout_ms = MAX(hold_ms / 6, 1);
    rcu_set_tunables(&t);
    rcu_get_stats(&before);

    spinner_start(&sp, SPIN_HOLD, false);
    stall_cb_queue(&cb, &sp, NULL);
    waiter_init(&w, OP_SYNCHRONIZE, &sp);
    waiter_start(&w);

    /*
     * Long past the point where the grace period forces, and until it
     * has both forced and warned (a starved call_rcu thread may start
     * late on a loaded machine).
     */
    g_usleep(hold_ms * 1000);
    deadline = now_ms() + GENEROUS_MS;
    do {
        rcu_get_stats(&after);
        if (after.forced_grace_periods > before.forced_grace_periods &&
            after.stall_warnings > before.stall_warnings) {
            break;
        }
        g_usleep(10000);
    } while (now_ms() < deadline);
    g_assert_cmpuint(after.forced_grace_periods, >,
                     before.forced_grace_periods);
    g_assert_cmpuint(after.stall_warnings, >, before.stall_warnings);
    g_assert_false(qemu_event_timedwait(&cb.done, 0));
    g_assert_false(qemu_event_timedwait(&w.done, 0));

    released = now_ms();
    qatomic_set(&sp.release, true);
    g_assert_true(qemu_event_timedwait(&cb.done, GENEROUS_MS));
    waiter_finish(&w, GENEROUS_MS);
    g_test_message("after the reader left: callback %" PRId64 " ms, "
                   "synchronize_rcu() %" PRId64 " ms",
                   cb.ran_ms - released, w.end_ms - released);
    /* Neither may end while the reader is still inside. */
    g_assert_false(cb.early);
    g_assert_false(w.early);

    spinner_stop(&sp);
    qemu_event_destroy(&cb.done);
    rcu_set_tunables(&saved);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rcu-stall/notifier/call_rcu", test_kickable_call_rcu);
    g_test_add_func("/rcu-stall/notifier/synchronize_rcu",
                    test_kickable_synchronize);
    g_test_add_func("/rcu-stall/notifier/drain_call_rcu",
                    test_kickable_drain);
    g_test_add_func("/rcu-stall/notifier/drain_call_rcu-under-bql",
                    test_kickable_drain_under_bql);
    g_test_add_func("/rcu-stall/no-notifier/holds-grace-period",
                    test_no_notifier_holds_grace_period);
    return g_test_run();
}
