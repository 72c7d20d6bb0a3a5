/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Regression tests for faults found in review: threads that exit while
 * registered, force_rcu() behind other grace periods, notifiers that
 * remove themselves, counters and tunables at their limits, tunables
 * changed during a grace period, stall warnings on a blocked stderr,
 * structures of another size, and callbacks that wait for a grace
 * period.  fork() has its own program, test-rcu-fork.c.
 *
 * Each would hang or crash before its fix, so each runs in a subprocess
 * with a time limit.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "qemu/main-loop.h"
#include "test-util.h"
#include "test-subprocess.h"

#include <fcntl.h>

static void set_tunables(unsigned force_after_us, unsigned force_callbacks)
{
    RcuTunables t;

    rcu_get_tunables(&t);
    t.force_after_us = force_after_us;
    t.force_callbacks = force_callbacks;
    rcu_set_tunables(&t);
}

static int child_cb_runs;

static void child_cb(struct rcu_head *head)
{
    child_cb_runs++;
}

static bool queued_cb_ran;

static void queued_cb(struct rcu_head *head)
{
    qatomic_set(&queued_cb_ran, true);
}

/* --- threads that exit while registered -------------------------------- */

static void *exit_registered_fn(void *opaque)
{
    rcu_register_thread();
    rcu_read_lock();
    rcu_read_unlock();
    /* No rcu_unregister_thread(). */
    return NULL;
}

static void test_thread_exit_registered(void)
{
    if (g_test_subprocess()) {
        static struct rcu_head head;

        for (int i = 0; i < 50; i++) {
            QemuThread t;

            qemu_thread_create(&t, "forgetful", exit_registered_fn, NULL,
                               QEMU_THREAD_JOINABLE);
            qemu_thread_join(&t);
            synchronize_rcu();
        }
        queued_cb_ran = false;
        call_rcu1(&head, queued_cb);
        drain_call_rcu();
        g_assert_true(queued_cb_ran);
        return;
    }
    run_in_subprocess(NULL);
}

static void *exit_in_section_fn(void *opaque)
{
    rcu_register_thread();
    rcu_read_lock();
    return NULL;
}

static void test_thread_exit_in_section(void)
{
    if (g_test_subprocess()) {
        QemuThread t;

        qemu_thread_create(&t, "exits-inside", exit_in_section_fn, NULL,
                           QEMU_THREAD_JOINABLE);
        qemu_thread_join(&t);
        return;
    }
    run_in_subprocess("*thread * (exits-inside) exited inside an RCU "
                      "read-side critical section*");
}

/* --- force_rcu() behind other grace periods ---------------------------- */

typedef struct KickedReader {
    QemuThread thread;
    Notifier notifier;
    bool kicked;
    bool inside;
    bool stop;
} KickedReader;

static void kicked_reader_kick(Notifier *n, void *data)
{
    KickedReader *r = container_of(n, KickedReader, notifier);

    qatomic_set(&r->kicked, true);
}

/* Re-enters at once after every kick: a vCPU that is always busy. */
static void *kicked_reader_fn(void *opaque)
{
    KickedReader *r = opaque;

    rcu_register_thread();
    rcu_add_force_rcu_notifier(&r->notifier);
    while (!qatomic_read(&r->stop)) {
        rcu_read_lock();
        qatomic_set(&r->inside, true);
        while (!qatomic_read(&r->kicked) && !qatomic_read(&r->stop)) {
            cpu_relax();
        }
        qatomic_set(&r->kicked, false);
        rcu_read_unlock();
    }
    rcu_remove_force_rcu_notifier(&r->notifier);
    rcu_unregister_thread();
    return NULL;
}

static void kicked_reader_start(KickedReader *r)
{
    memset(r, 0, sizeof(*r));
    r->notifier.notify = kicked_reader_kick;
    qemu_thread_create(&r->thread, "kicked-reader", kicked_reader_fn, r,
                       QEMU_THREAD_JOINABLE);
    while (!qatomic_read(&r->inside)) {
        g_usleep(1000);
    }
}

static void kicked_reader_stop(KickedReader *r)
{
    qatomic_set(&r->stop, true);
    qemu_thread_join(&r->thread);
}

#define SYNC_LOOPERS 4
static bool sync_loop_stop;

static void *sync_loop_fn(void *opaque)
{
    rcu_register_thread();
    while (!qatomic_read(&sync_loop_stop)) {
        synchronize_rcu();
    }
    rcu_unregister_thread();
    return NULL;
}

/*
 * Forcing normally starts after 10 s here.  A callback queued before
 * force_rcu() must run after a forced grace period even though the
 * call_rcu thread waits for its turn behind other writers' grace
 * periods.
 */
static void test_force_rcu_behind_writers(void)
{
    if (g_test_subprocess()) {
        static struct rcu_head head;
        KickedReader r;
        QemuThread loopers[SYNC_LOOPERS];
        int64_t start, elapsed;

        set_tunables(10 * 1000 * 1000, 30);
        kicked_reader_start(&r);
        for (int i = 0; i < SYNC_LOOPERS; i++) {
            qemu_thread_create(&loopers[i], "sync-loop", sync_loop_fn, NULL,
                               QEMU_THREAD_JOINABLE);
        }
        g_usleep(100 * 1000);

        start = test_now_ns();
        call_rcu1(&head, queued_cb);
        force_rcu();
        while (!qatomic_read(&queued_cb_ran) &&
               test_now_ns() - start < 20 * 1000000000LL) {
            g_usleep(1000);
        }
        elapsed = test_now_ns() - start;

        set_tunables(1000, 30);
        qatomic_set(&sync_loop_stop, true);
        for (int i = 0; i < SYNC_LOOPERS; i++) {
            qemu_thread_join(&loopers[i]);
        }
        kicked_reader_stop(&r);
        g_test_message("callback ran %.1f ms after force_rcu()",
                       elapsed / 1e6);
        /* Milliseconds expected; without forcing it takes >= 10 s. */
        g_assert_cmpint(elapsed, <, 5 * 1000000000LL);
        return;
    }
    run_in_subprocess(NULL);
}

/* --- a force_rcu notifier that removes itself -------------------------- */

typedef struct OneShotReader {
    QemuThread thread;
    Notifier notifier;
    int kicks;
    bool inside;
    bool leave;
} OneShotReader;

static void one_shot_kick(Notifier *n, void *data)
{
    OneShotReader *r = container_of(n, OneShotReader, notifier);

    qatomic_inc(&r->kicks);
    rcu_remove_force_rcu_notifier(n);
    qatomic_set(&r->leave, true);
}

static void *one_shot_reader_fn(void *opaque)
{
    OneShotReader *r = opaque;

    rcu_register_thread();
    rcu_add_force_rcu_notifier(&r->notifier);
    rcu_read_lock();
    qatomic_set(&r->inside, true);
    while (!qatomic_read(&r->leave)) {
        g_usleep(1000);
    }
    rcu_read_unlock();
    rcu_unregister_thread();
    return NULL;
}

static void test_notifier_removes_itself(void)
{
    if (g_test_subprocess()) {
        OneShotReader r = { .notifier.notify = one_shot_kick };

        qemu_thread_create(&r.thread, "one-shot", one_shot_reader_fn, &r,
                           QEMU_THREAD_JOINABLE);
        while (!qatomic_read(&r.inside)) {
            g_usleep(1000);
        }
        synchronize_rcu_expedited();
        qemu_thread_join(&r.thread);
        synchronize_rcu_expedited();
        g_assert_cmpint(r.kicks, ==, 1);
        return;
    }
    run_in_subprocess(NULL);
}

/* --- counters and tunables at their limits ----------------------------- */

/*
 * The grace-period sequence starts close to its wrap-around, so that a
 * comparison that is not wrap-safe fails in the first thousand grace
 * periods rather than after 2^31 of them on a 32-bit host.
 */
static void test_gp_seq_wrap(void)
{
    RcuStats before, after;

    drain_call_rcu();
    rcu_get_stats(&before);
    for (int i = 0; i < 3000; i++) {
        synchronize_rcu();
    }
    rcu_get_stats(&after);
    g_assert_cmpuint(after.forced_grace_periods, ==,
                     before.forced_grace_periods);
}

/* force_callbacks = UINT_MAX means "never force for callbacks". */
static void test_force_callbacks_max(void)
{
    static struct rcu_head heads[100];
    KickedReader r;
    RcuStats before, after;

    set_tunables(10 * 1000 * 1000, UINT_MAX);
    kicked_reader_start(&r);
    rcu_get_stats(&before);
    for (int i = 0; i < G_N_ELEMENTS(heads); i++) {
        call_rcu1(&heads[i], child_cb);
    }
    g_usleep(200 * 1000);
    rcu_get_stats(&after);
    set_tunables(50000, 30);
    kicked_reader_stop(&r);
    drain_call_rcu();
    g_assert_cmpuint(after.force_rcu_notifier_calls, ==,
                     before.force_rcu_notifier_calls);
}


/* --- tunables changed during a grace period ---------------------------- */

/* Stays inside one critical section, without a notifier, until released. */
typedef struct StuckReader {
    QemuThread thread;
    bool inside;
    bool release;
} StuckReader;

static void *stuck_reader_fn(void *opaque)
{
    StuckReader *r = opaque;

    rcu_register_thread();
    rcu_read_lock();
    qatomic_set(&r->inside, true);
    while (!qatomic_read(&r->release)) {
        g_usleep(1000);
    }
    rcu_read_unlock();
    rcu_unregister_thread();
    return NULL;
}

static void stuck_reader_start(StuckReader *r)
{
    memset(r, 0, sizeof(*r));
    qemu_thread_create(&r->thread, "stuck-reader", stuck_reader_fn, r,
                       QEMU_THREAD_JOINABLE);
    while (!qatomic_read(&r->inside)) {
        g_usleep(1000);
    }
}

static void stuck_reader_release(StuckReader *r)
{
    qatomic_set(&r->release, true);
    qemu_thread_join(&r->thread);
}

static void *expedited_fn(void *opaque)
{
    rcu_register_thread();
    synchronize_rcu_expedited();
    rcu_unregister_thread();
    return NULL;
}

static void set_stall_timeout_ms(unsigned ms)
{
    RcuTunables t;

    rcu_get_tunables(&t);
    t.stall_timeout_ms = ms;
    rcu_set_tunables(&t);
}

/* Polls the stall warning count for up to @ns; true once it grew. */
static bool stall_warned_within(uint64_t before, int64_t ns)
{
    int64_t deadline = test_now_ns() + ns;

    while (test_rcu_stats().stall_warnings == before) {
        if (test_now_ns() > deadline) {
            return false;
        }
        g_usleep(1000);
    }
    return true;
}

/*
 * Stall warnings switched on while a forced grace period already sleeps
 * waiting for a reader: rcu_set_tunables() applies at once, so the
 * warning comes within the new timeout, not after the reader leaves.
 */
static void test_tunables_apply_at_once(void)
{
    if (g_test_subprocess()) {
        StuckReader r;
        QemuThread writer;
        uint64_t before;
        bool warned;

        set_stall_timeout_ms(0);
        stuck_reader_start(&r);
        qemu_thread_create(&writer, "expedited", expedited_fn, NULL,
                           QEMU_THREAD_JOINABLE);
        g_usleep(200 * 1000);
        before = test_rcu_stats().stall_warnings;
        set_stall_timeout_ms(100);
        /* 100 ms expected; ten seconds of margin. */
        warned = stall_warned_within(before, 10 * 1000000000LL);
        stuck_reader_release(&r);
        qemu_thread_join(&writer);
        g_assert_true(warned);
        return;
    }
    run_in_subprocess(NULL);
}

/* --- a stall warning that cannot be written ---------------------------- */

static bool registered_meanwhile;

static void never_fired(Notifier *n, void *data)
{
}

static void *register_fn(void *opaque)
{
    Notifier n = { .notify = never_fired };

    rcu_register_thread();
    rcu_add_force_rcu_notifier(&n);
    rcu_remove_force_rcu_notifier(&n);
    rcu_unregister_thread();
    qatomic_set(&registered_meanwhile, true);
    return NULL;
}

static void *drain_pipe_fn(void *opaque)
{
    int fd = GPOINTER_TO_INT(opaque);
    char buf[4096];

    while (read(fd, buf, sizeof(buf)) > 0) {
        /* Discard. */
    }
    return NULL;
}

/*
 * The grace period writes a stall warning to a stderr that blocks (a full
 * pipe nobody reads).  It must not hold the registry lock meanwhile:
 * threads can still register and change their notifiers.
 */
static void test_stall_warning_blocked_stderr(void)
{
    if (g_test_subprocess()) {
        StuckReader r;
        QemuThread writer, registrar, drainer;
        int fds[2], saved_stderr = dup(2);
        char junk[4096] = { 0 };
        int64_t deadline;
        bool registered;

        g_assert_cmpint(pipe(fds), ==, 0);
        fcntl(fds[1], F_SETFL, O_NONBLOCK);
        while (write(fds[1], junk, sizeof(junk)) > 0) {
            /* Fill the pipe. */
        }
        fcntl(fds[1], F_SETFL, 0);
        dup2(fds[1], 2);

        set_stall_timeout_ms(50);
        stuck_reader_start(&r);
        qemu_thread_create(&writer, "writer", expedited_fn, NULL,
                           QEMU_THREAD_JOINABLE);
        /* The first warning is due after 50 ms and blocks in write(). */
        g_usleep(300 * 1000);
        qemu_thread_create(&registrar, "registrar", register_fn, NULL,
                           QEMU_THREAD_JOINABLE);
        deadline = test_now_ns() + 10 * 1000000000LL;
        while (!qatomic_read(&registered_meanwhile) &&
               test_now_ns() < deadline) {
            g_usleep(1000);
        }
        registered = qatomic_read(&registered_meanwhile);

        qemu_thread_create(&drainer, "drainer", drain_pipe_fn,
                           GINT_TO_POINTER(fds[0]), QEMU_THREAD_JOINABLE);
        set_stall_timeout_ms(0);
        stuck_reader_release(&r);
        qemu_thread_join(&writer);
        qemu_thread_join(&registrar);
        dup2(saved_stderr, 2);
        close(fds[1]);
        qemu_thread_join(&drainer);
        g_assert_true(registered);
        return;
    }
    run_in_subprocess(NULL);
}

/* --- structures of another size ---------------------------------------- */

/*
 * A program built against a newer header, whose RcuStats and RcuTunables
 * have more fields than this library knows, gets zeros in them rather
 * than whatever its stack held.
 */
static void test_sized_struct_tail(void)
{
    struct {
        RcuStats known;
        uint64_t newer[4];
    } stats;
    struct {
        RcuTunables known;
        unsigned newer[4];
    } tunables;

    memset(&stats, 0xaa, sizeof(stats));
    rcu_get_stats_sized(&stats.known, sizeof(stats));
    for (int i = 0; i < G_N_ELEMENTS(stats.newer); i++) {
        g_assert_cmpuint(stats.newer[i], ==, 0);
    }
    memset(&tunables, 0xaa, sizeof(tunables));
    rcu_get_tunables_sized(&tunables.known, sizeof(tunables));
    for (int i = 0; i < G_N_ELEMENTS(tunables.newer); i++) {
        g_assert_cmpuint(tunables.newer[i], ==, 0);
    }
    g_assert_cmpuint(tunables.known.force_callbacks, !=, 0xaaaaaaaa);
    /* Setting them back ignores the fields this library does not know. */
    rcu_set_tunables_sized(&tunables.known, sizeof(tunables));
}

/* --- callbacks that wait for a grace period ---------------------------- */

static void synchronize_in_cb(struct rcu_head *head)
{
    synchronize_rcu();
}

/*
 * Callbacks run with the BQL held, and a reader may need the BQL before
 * it can leave its critical section, so synchronize_rcu() in a callback
 * can deadlock: it fails loudly instead.
 */
static void test_synchronize_rcu_from_callback(void)
{
    if (g_test_subprocess()) {
        static struct rcu_head head;

        call_rcu1(&head, synchronize_in_cb);
        drain_call_rcu();
        return;
    }
    run_in_subprocess("*synchronize_rcu() called from an RCU callback*");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rcu/faults/thread-exit/registered",
                    test_thread_exit_registered);
    g_test_add_func("/rcu/faults/thread-exit/in-section",
                    test_thread_exit_in_section);
    g_test_add_func("/rcu/faults/force-rcu-behind-writers",
                    test_force_rcu_behind_writers);
    g_test_add_func("/rcu/faults/notifier-removes-itself",
                    test_notifier_removes_itself);
    g_test_add_func("/rcu/faults/gp-seq-wrap", test_gp_seq_wrap);
    g_test_add_func("/rcu/faults/force-callbacks-max",
                    test_force_callbacks_max);
    g_test_add_func("/rcu/faults/tunables-apply-at-once",
                    test_tunables_apply_at_once);
    g_test_add_func("/rcu/faults/stall-warning-on-blocked-stderr",
                    test_stall_warning_blocked_stderr);
    g_test_add_func("/rcu/faults/sized-struct-tail", test_sized_struct_tail);
    g_test_add_func("/rcu/faults/synchronize-rcu-from-callback",
                    test_synchronize_rcu_from_callback);
    return g_test_run();
}
