/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Regression tests for liveness faults found in review: fork() against
 * every lock a reader, a writer and the call_rcu thread can hold, fork()
 * from a callback, threads that exit while registered, force_rcu() behind
 * other grace periods, statistics in a fork child, notifiers that remove
 * themselves, and counters near their wrap-around.
 *
 * Each would hang or crash before its fix, so each runs in a subprocess
 * with a time limit.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "qemu/main-loop.h"
#include "test-util.h"

#include <sys/wait.h>

#define SUBPROCESS_TIMEOUT_US (30 * G_USEC_PER_SEC)

static void set_tunables(unsigned force_after_us, unsigned force_callbacks)
{
    RcuTunables t;

    rcu_get_tunables(&t);
    t.force_after_us = force_after_us;
    t.force_callbacks = force_callbacks;
    rcu_set_tunables(&t);
}

static void run_in_subprocess(const char *stderr_pattern)
{
    g_test_trap_subprocess(NULL, SUBPROCESS_TIMEOUT_US, 0);
    if (stderr_pattern) {
        g_test_trap_assert_failed();
        g_test_trap_assert_stderr(stderr_pattern);
    } else {
        g_test_trap_assert_passed();
    }
}

/* --- fork() against the locks others hold ------------------------------ */

static int child_cb_runs;

static void child_cb(struct rcu_head *head)
{
    child_cb_runs++;
}

/* What a fork child must be able to do: exits 0 on success. */
static G_NORETURN void child_check(void)
{
    static struct rcu_head head;

    alarm(10);
    synchronize_rcu();
    call_rcu1(&head, child_cb);
    drain_call_rcu();
    _exit(child_cb_runs == 1 ? 0 : 1);
}

static void wait_child(pid_t pid)
{
    int status;

    g_assert_cmpint(pid, >, 0);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

static pid_t fork_and_check(void)
{
    pid_t pid = fork();

    if (pid == 0) {
        child_check();
    }
    return pid;
}

/*
 * A reader that takes the BQL inside its critical section, as QEMU's
 * MMIO dispatch does, once told to.
 */
typedef struct BqlReader {
    QemuThread thread;
    bool inside;
    bool go;
} BqlReader;

static void *bql_reader_fn(void *opaque)
{
    BqlReader *r = opaque;

    rcu_register_thread();
    rcu_read_lock();
    qatomic_set(&r->inside, true);
    while (!qatomic_read(&r->go)) {
        g_usleep(1000);
    }
    bql_lock();
    bql_unlock();
    rcu_read_unlock();
    rcu_unregister_thread();
    return NULL;
}

static void bql_reader_start(BqlReader *r)
{
    memset(r, 0, sizeof(*r));
    qemu_thread_create(&r->thread, "bql-reader", bql_reader_fn, r,
                       QEMU_THREAD_JOINABLE);
    while (!qatomic_read(&r->inside)) {
        g_usleep(1000);
    }
}

/*
 * Forks and checks the child.  With @hold_bql, forks holding the BQL as
 * QEMU does, after the reader has started to wait for it.
 */
typedef struct Forker {
    QemuThread thread;
    BqlReader *reader;
    bool hold_bql;
} Forker;

static void *forker_fn(void *opaque)
{
    Forker *f = opaque;
    pid_t pid;

    if (f->hold_bql) {
        bql_lock();
        qatomic_set(&f->reader->go, true);
        g_usleep(50 * 1000);
    }
    pid = fork_and_check();
    if (f->hold_bql) {
        bql_unlock();
    }
    return GINT_TO_POINTER(pid);
}

static void *sync_fn(void *opaque)
{
    rcu_register_thread();
    synchronize_rcu();
    rcu_unregister_thread();
    return NULL;
}

static bool queued_cb_ran;

static void queued_cb(struct rcu_head *head)
{
    qatomic_set(&queued_cb_ran, true);
}

typedef enum ForkCase {
    /* A writer waits for a reader that needs the BQL; forker holds none. */
    FORK_WRITER_WAITS,
    /* The same with the forker holding the BQL, as QEMU forks. */
    FORK_WRITER_WAITS_BQL_HELD,
    /* The waiting writer is the call_rcu thread, for a queued callback. */
    FORK_CALL_RCU_THREAD_WAITS,
} ForkCase;

static void fork_deadlock_subprocess(ForkCase c)
{
    static struct rcu_head head;
    BqlReader r;
    QemuThread writer;
    Forker f = { .reader = &r, .hold_bql = c == FORK_WRITER_WAITS_BQL_HELD };

    bql_reader_start(&r);
    if (c == FORK_CALL_RCU_THREAD_WAITS) {
        call_rcu1(&head, queued_cb);
    } else {
        qemu_thread_create(&writer, "writer", sync_fn, NULL,
                           QEMU_THREAD_JOINABLE);
    }
    /* Let the grace period start and wait for the reader. */
    g_usleep(100 * 1000);
    qemu_thread_create(&f.thread, "forker", forker_fn, &f,
                       QEMU_THREAD_JOINABLE);
    if (!f.hold_bql) {
        /* The forker is in fork() or past it; now the reader needs BQL. */
        g_usleep(50 * 1000);
        qatomic_set(&r.go, true);
    }
    wait_child(GPOINTER_TO_INT(qemu_thread_join(&f.thread)));
    qemu_thread_join(&r.thread);
    if (c == FORK_CALL_RCU_THREAD_WAITS) {
        drain_call_rcu();
        g_assert_true(qatomic_read(&queued_cb_ran));
    } else {
        qemu_thread_join(&writer);
    }
}

static void test_fork_deadlock(gconstpointer data)
{
    if (g_test_subprocess()) {
        fork_deadlock_subprocess(GPOINTER_TO_INT(data));
        return;
    }
    run_in_subprocess(NULL);
}

/* The call_rcu thread runs a long callback (BQL held) while we fork. */
static QemuEvent long_cb_started;
static int long_cb_runs;

static void long_cb(struct rcu_head *head)
{
    qemu_event_set(&long_cb_started);
    g_usleep(200 * 1000);
    long_cb_runs++;
}

static void test_fork_during_callback(void)
{
    if (g_test_subprocess()) {
        static struct rcu_head head;
        pid_t pid;

        qemu_event_init(&long_cb_started, false);
        call_rcu1(&head, long_cb);
        qemu_event_wait(&long_cb_started);
        pid = fork();
        if (pid == 0) {
            /* The batch was finished before the fork, never re-run. */
            alarm(10);
            drain_call_rcu();
            _exit(long_cb_runs == 1 ? 0 : 1);
        }
        wait_child(pid);
        drain_call_rcu();
        g_assert_cmpint(long_cb_runs, ==, 1);
        return;
    }
    run_in_subprocess(NULL);
}

/* A writer fires a slow notifier with the registry lock held. */
typedef struct SlowKickReader {
    QemuThread thread;
    Notifier notifier;
    bool inside;
    bool kicked;
    QemuEvent in_notifier;
} SlowKickReader;

static void slow_kick(Notifier *n, void *data)
{
    SlowKickReader *r = container_of(n, SlowKickReader, notifier);

    qemu_event_set(&r->in_notifier);
    g_usleep(100 * 1000);
    qatomic_set(&r->kicked, true);
}

static void *slow_kick_reader_fn(void *opaque)
{
    SlowKickReader *r = opaque;

    rcu_register_thread();
    rcu_add_force_rcu_notifier(&r->notifier);
    rcu_read_lock();
    qatomic_set(&r->inside, true);
    while (!qatomic_read(&r->kicked)) {
        g_usleep(1000);
    }
    rcu_read_unlock();
    rcu_remove_force_rcu_notifier(&r->notifier);
    rcu_unregister_thread();
    return NULL;
}

static void test_fork_during_notifier(void)
{
    if (g_test_subprocess()) {
        SlowKickReader r = { .notifier.notify = slow_kick };
        QemuThread writer;

        qemu_event_init(&r.in_notifier, false);
        qemu_thread_create(&r.thread, "slow-kick", slow_kick_reader_fn, &r,
                           QEMU_THREAD_JOINABLE);
        while (!qatomic_read(&r.inside)) {
            g_usleep(1000);
        }
        force_rcu();
        qemu_thread_create(&writer, "writer", sync_fn, NULL,
                           QEMU_THREAD_JOINABLE);
        qemu_event_wait(&r.in_notifier);
        wait_child(fork_and_check());
        qemu_thread_join(&writer);
        qemu_thread_join(&r.thread);
        return;
    }
    run_in_subprocess(NULL);
}

/* fork() while threads register, unregister and queue callbacks. */
static bool churn_stop;

static void *churn_fn(void *opaque)
{
    while (!qatomic_read(&churn_stop)) {
        rcu_register_thread();
        rcu_read_lock();
        rcu_read_unlock();
        call_rcu1(g_new0(struct rcu_head, 1), (RCUCBFunc *)g_free);
        rcu_unregister_thread();
    }
    return NULL;
}

static void test_fork_during_churn(void)
{
#ifdef QEMU_SANITIZE_ADDRESS
    /* A child can inherit ASan's allocator lock from a churning thread. */
    g_test_skip("AddressSanitizer's allocator is not fork-safe");
    return;
#endif
    if (g_test_subprocess()) {
        QemuThread t[2];

        for (int i = 0; i < 2; i++) {
            qemu_thread_create(&t[i], "churn", churn_fn, NULL,
                               QEMU_THREAD_JOINABLE);
        }
        for (int i = 0; i < 20; i++) {
            g_usleep(g_random_int_range(0, 3000));
            wait_child(fork_and_check());
        }
        qatomic_set(&churn_stop, true);
        for (int i = 0; i < 2; i++) {
            qemu_thread_join(&t[i]);
        }
        drain_call_rcu();
        return;
    }
    run_in_subprocess(NULL);
}

/* --- fork() from inside an RCU callback -------------------------------- */

#define FORK_CB_COUNT 10

static QemuEvent gate_open, gate_entered, batch_done;
static bool in_fork_child;
static pid_t fork_cb_pid;
static int fork_cb_runs[FORK_CB_COUNT];
static struct rcu_head fork_cb_heads[FORK_CB_COUNT + 3];

static void gate_cb(struct rcu_head *head)
{
    qemu_event_set(&gate_entered);
    qemu_event_wait(&gate_open);
}

static void forking_cb(struct rcu_head *head)
{
    pid_t pid = fork();

    if (pid == 0) {
        alarm(10);
        in_fork_child = true;
    } else {
        fork_cb_pid = pid;
    }
}

static void counting_cb(struct rcu_head *head)
{
    int i = head - &fork_cb_heads[2];

    /* Any callback that runs twice in one process is a double free. */
    if (qatomic_fetch_inc(&fork_cb_runs[i]) != 0) {
        _exit(3);
    }
}

static void *check_child_counts(void *opaque)
{
    /* Give a second runner of the batch, if any, time to show itself. */
    g_usleep(300 * 1000);
    for (int i = 0; i < FORK_CB_COUNT; i++) {
        if (qatomic_read(&fork_cb_runs[i]) != 1) {
            _exit(4);
        }
    }
    _exit(0);
}

static void final_cb(struct rcu_head *head)
{
    QemuThread checker;

    if (!in_fork_child) {
        qemu_event_set(&batch_done);
        return;
    }
    /* Check after the batch, once the BQL is free for anybody else. */
    qemu_thread_create(&checker, "checker", check_child_counts, NULL,
                       QEMU_THREAD_DETACHED);
}

static void test_fork_from_callback(void)
{
    if (g_test_subprocess()) {
        qemu_event_init(&gate_open, false);
        qemu_event_init(&gate_entered, false);
        qemu_event_init(&batch_done, false);
        /* Hold the call_rcu thread so that the rest forms one batch. */
        call_rcu1(&fork_cb_heads[0], gate_cb);
        qemu_event_wait(&gate_entered);
        call_rcu1(&fork_cb_heads[1], forking_cb);
        for (int i = 0; i < FORK_CB_COUNT; i++) {
            call_rcu1(&fork_cb_heads[2 + i], counting_cb);
        }
        call_rcu1(&fork_cb_heads[2 + FORK_CB_COUNT], final_cb);
        qemu_event_set(&gate_open);
        qemu_event_wait(&batch_done);
        wait_child(fork_cb_pid);
        for (int i = 0; i < FORK_CB_COUNT; i++) {
            g_assert_cmpint(fork_cb_runs[i], ==, 1);
        }
        return;
    }
    run_in_subprocess(NULL);
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

/* --- statistics in a fork child ---------------------------------------- */

static void test_stats_reset_in_child(void)
{
    RcuStats s;
    pid_t pid;

    for (int i = 0; i < 10; i++) {
        synchronize_rcu_expedited();
    }
    drain_call_rcu();
    rcu_get_stats(&s);
    g_assert_cmpuint(s.grace_periods, >=, 10);

    pid = fork();
    if (pid == 0) {
        int bad = 0;

        alarm(10);
        rcu_get_stats(&s);
        bad |= s.grace_periods || s.forced_grace_periods ||
               s.expedited_grace_periods || s.force_rcu_notifier_calls ||
               s.callbacks_queued || s.callbacks_run || s.malloc_trims ||
               s.membarrier_calls || s.membarriers_skipped ||
               s.stall_warnings || s.max_grace_period_ns;
        synchronize_rcu();
        rcu_get_stats(&s);
        bad |= s.grace_periods != 1;
        _exit(bad ? 1 : 0);
    }
    wait_child(pid);
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

int main(int argc, char **argv)
{
    static const char *const fork_cases[] = {
        [FORK_WRITER_WAITS] = "writer-waits-for-bql-reader",
        [FORK_WRITER_WAITS_BQL_HELD] = "forker-holds-bql",
        [FORK_CALL_RCU_THREAD_WAITS] = "call-rcu-thread-waits",
    };

    g_test_init(&argc, &argv, NULL);
    for (int i = 0; i < G_N_ELEMENTS(fork_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/rcu/faults/fork-deadlock/%s", fork_cases[i]);
        g_test_add_data_func(path, GINT_TO_POINTER(i), test_fork_deadlock);
    }
    g_test_add_func("/rcu/faults/fork-deadlock/during-callback",
                    test_fork_during_callback);
    g_test_add_func("/rcu/faults/fork-deadlock/during-notifier",
                    test_fork_during_notifier);
    g_test_add_func("/rcu/faults/fork-deadlock/during-churn",
                    test_fork_during_churn);
    g_test_add_func("/rcu/faults/fork-from-callback",
                    test_fork_from_callback);
    g_test_add_func("/rcu/faults/thread-exit/registered",
                    test_thread_exit_registered);
    g_test_add_func("/rcu/faults/thread-exit/in-section",
                    test_thread_exit_in_section);
    g_test_add_func("/rcu/faults/force-rcu-behind-writers",
                    test_force_rcu_behind_writers);
    g_test_add_func("/rcu/faults/stats-reset-in-fork-child",
                    test_stats_reset_in_child);
    g_test_add_func("/rcu/faults/notifier-removes-itself",
                    test_notifier_removes_itself);
    g_test_add_func("/rcu/faults/gp-seq-wrap", test_gp_seq_wrap);
    g_test_add_func("/rcu/faults/force-callbacks-max",
                    test_force_callbacks_max);
    return g_test_run();
}
