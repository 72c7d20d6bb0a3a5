/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * fork() from any thread at any moment: against every lock a reader, a
 * writer and the call_rcu thread can hold, during a callback, from a
 * callback, from several threads at once, against an application's own
 * atfork handlers, against a stream of call_rcu1() and against
 * rcu_disable_atfork().  What the child must be able to do afterwards is
 * always the same: synchronize_rcu(), call_rcu1() and drain_call_rcu().
 *
 * Each case would hang or crash before its fix, so each runs in a
 * subprocess with a time limit.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "qemu/main-loop.h"
#include "test-util.h"
#include "test-subprocess.h"

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

/*
 * The call_rcu thread runs a long callback, holding the BQL, when another
 * thread forks.  A forker that holds the BQL, as QEMU's do, had to wait
 * for the batch to end: in the child the callback has run, once.  One
 * that does not hold it forks at once: in the child that callback is
 * neither finished nor run again, and the BQL is free.  Either way the
 * child runs the rest of the batch and then what was queued meanwhile,
 * each callback once and in queueing order.
 */
#define AFTER_LONG_CBS 4

static QemuEvent long_cb_started;
static int long_cb_runs;
static int after_long_cb_log[AFTER_LONG_CBS + 1], after_long_cb_runs;
static struct rcu_head after_long_cb_heads[AFTER_LONG_CBS];

static void long_cb(struct rcu_head *head)
{
    qemu_event_set(&long_cb_started);
    g_usleep(200 * 1000);
    long_cb_runs++;
}

static void after_long_cb(struct rcu_head *head)
{
    if (after_long_cb_runs < ARRAY_SIZE(after_long_cb_log)) {
        after_long_cb_log[after_long_cb_runs] = head - after_long_cb_heads;
    }
    after_long_cb_runs++;
}

static bool after_long_cbs_ran_in_order(void)
{
    if (after_long_cb_runs != AFTER_LONG_CBS) {
        return false;
    }
    for (int i = 0; i < AFTER_LONG_CBS; i++) {
        if (after_long_cb_log[i] != i) {
            return false;
        }
    }
    return true;
}

static void test_fork_during_callback(gconstpointer data)
{
    bool hold_bql = GPOINTER_TO_INT(data);

    if (g_test_subprocess()) {
        static struct rcu_head long_head;
        pid_t pid;

        qemu_event_init(&long_cb_started, false);
        /* Two in the long callback's batch, two queued while it runs. */
        call_rcu1(&long_head, long_cb);
        for (int i = 0; i < AFTER_LONG_CBS / 2; i++) {
            call_rcu1(&after_long_cb_heads[i], after_long_cb);
        }
        qemu_event_wait(&long_cb_started);
        for (int i = AFTER_LONG_CBS / 2; i < AFTER_LONG_CBS; i++) {
            call_rcu1(&after_long_cb_heads[i], after_long_cb);
        }
        if (hold_bql) {
            bql_lock();
        }
        pid = fork();
        if (pid == 0) {
            alarm(10);
            drain_call_rcu();
            _exit(long_cb_runs == hold_bql && after_long_cbs_ran_in_order() ?
                  0 : 1);
        }
        if (hold_bql) {
            bql_unlock();
        }
        wait_child(pid);
        drain_call_rcu();
        g_assert_cmpint(long_cb_runs, ==, 1);
        g_assert_true(after_long_cbs_ran_in_order());
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
/* --- several threads forking at once ------------------------------------ */

#define CONCURRENT_FORK_ROUNDS 20

static int fork_round, forkers_ready;

/*
 * Forks CONCURRENT_FORK_ROUNDS times in step with another forker; with
 * @opaque, holding the BQL.  Returns non-NULL if fork() ever came back
 * holding the BQL when it had not, or the other way round.
 */
static void *concurrent_forker_fn(void *opaque)
{
    bool hold_bql = opaque != NULL;

    for (int i = 1; i <= CONCURRENT_FORK_ROUNDS; i++) {
        pid_t pid;
        bool held;

        if (hold_bql) {
            bql_lock();
        }
        qatomic_inc(&forkers_ready);
        while (qatomic_read(&fork_round) < i) {
            cpu_relax();
        }
        pid = fork();
        if (pid == 0) {
            _exit(bql_locked() == hold_bql ? 0 : 1);
        }
        held = bql_locked();
        if (held) {
            bql_unlock();
        }
        wait_child(pid);
        if (held != hold_bql) {
            return GINT_TO_POINTER(i);
        }
    }
    return NULL;
}

/*
 * One thread holds the BQL and forks, another forks at the same moment
 * without it: each must come back holding exactly what it held.
 */
static void test_concurrent_forks(void)
{
    if (g_test_subprocess()) {
        QemuThread holder, other;

        qemu_thread_create(&holder, "forker-bql", concurrent_forker_fn,
                           GINT_TO_POINTER(1), QEMU_THREAD_JOINABLE);
        qemu_thread_create(&other, "forker", concurrent_forker_fn, NULL,
                           QEMU_THREAD_JOINABLE);
        for (int i = 1; i <= CONCURRENT_FORK_ROUNDS; i++) {
            while (qatomic_read(&forkers_ready) < 2 * i) {
                g_usleep(100);
            }
            qatomic_set(&fork_round, i);
        }
        g_assert_null(qemu_thread_join(&holder));
        g_assert_null(qemu_thread_join(&other));
        bql_lock();
        bql_unlock();
        return;
    }
    run_in_subprocess(NULL);
}

/* --- an application's own atfork handlers ------------------------------ */

/*
 * The application keeps a structure consistent across fork() with its
 * lock L, taken by its own prepare handler, and its RCU callbacks take L
 * too.  glibc runs that handler before the library's (registered
 * earlier), so the library must not then wait for anything a callback
 * holds, such as the BQL.
 */
static pthread_mutex_t app_lock = PTHREAD_MUTEX_INITIALIZER;
static bool app_in_fork;
static int app_cb_runs;
static QemuEvent app_cb_started;

static void app_prepare(void)
{
    pthread_mutex_lock(&app_lock);
    qatomic_set(&app_in_fork, true);
    /* Let the callback block on L. */
    g_usleep(100 * 1000);
}

static void app_parent(void)
{
    qatomic_set(&app_in_fork, false);
    pthread_mutex_unlock(&app_lock);
}

static void app_child(void)
{
    pthread_mutex_unlock(&app_lock);
}

static void app_cb(struct rcu_head *head)
{
    qemu_event_set(&app_cb_started);
    while (!qatomic_read(&app_in_fork)) {
        g_usleep(1000);
    }
    pthread_mutex_lock(&app_lock);
    app_cb_runs++;
    pthread_mutex_unlock(&app_lock);
}

static void test_fork_app_atfork_lock(void)
{
    if (g_test_subprocess()) {
        static struct rcu_head head;
        pid_t pid;

        qemu_event_init(&app_cb_started, false);
        pthread_atfork(app_prepare, app_parent, app_child);
        call_rcu1(&head, app_cb);
        qemu_event_wait(&app_cb_started);
        pid = fork_and_check();
        wait_child(pid);
        drain_call_rcu();
        g_assert_cmpint(app_cb_runs, ==, 1);
        return;
    }
    run_in_subprocess(NULL);
}

/* --- fork() against a stream of call_rcu1() ---------------------------- */

static bool stream_stop;
static int stream_outstanding;

static void stream_cb(struct rcu_head *head)
{
    qatomic_dec(&stream_outstanding);
    g_free(head);
}

/*
 * Queues callbacks back to back, keeping at most a few thousand queued.
 * A registered producer announces its calls in a producer slot (with
 * membarrier), an unregistered one in the shared count.
 */
static void *stream_producer_fn(void *opaque)
{
    bool registered = GPOINTER_TO_INT(opaque);

    if (registered) {
        rcu_register_thread();
        rcu_thread_offline();
    }
    while (!qatomic_read(&stream_stop)) {
        while (qatomic_read(&stream_outstanding) > 2000) {
            g_usleep(10);
        }
        qatomic_inc(&stream_outstanding);
        call_rcu1(g_new0(struct rcu_head, 1), stream_cb);
    }
    if (registered) {
        rcu_unregister_thread();
    }
    return NULL;
}

/*
 * Producers, one announcing in a producer slot (with membarrier) and one in
 * the shared count, are in the middle of call_rcu1() at any moment, and the
 * call_rcu thread in the middle of a batch with the BQL held; the child must
 * inherit a complete queue whose count agrees with it and a free BQL: every
 * callback it has runs (drain_call_rcu() returns) and the statistics say so.
 */
static void test_fork_during_enqueue_stream(void)
{
#ifdef QEMU_SANITIZE_ADDRESS
    g_test_skip("AddressSanitizer's allocator is not fork-safe");
    return;
#endif
    if (g_test_subprocess()) {
        QemuThread t[2];

        for (int i = 0; i < 2; i++) {
            qemu_thread_create(&t[i], "producer", stream_producer_fn,
                               GINT_TO_POINTER(i == 1), QEMU_THREAD_JOINABLE);
        }
        for (int i = 0; i < 100; i++) {
            pid_t pid;

            g_usleep(g_random_int_range(0, 3000));
            pid = fork();
            if (pid == 0) {
                RcuStats s;

                alarm(10);
                drain_call_rcu();
                rcu_get_stats(&s);
                _exit(s.callbacks_run == s.callbacks_queued ? 0 : 1);
            }
            wait_child(pid);
        }
        qatomic_set(&stream_stop, true);
        for (int i = 0; i < 2; i++) {
            qemu_thread_join(&t[i]);
        }
        drain_call_rcu();
        return;
    }
    run_in_subprocess(NULL);
}

/* --- rcu_disable_atfork() during fork() -------------------------------- */

static bool toggle_stop;

static void *atfork_toggler_fn(void *opaque)
{
    while (!qatomic_read(&toggle_stop)) {
        rcu_disable_atfork();
        rcu_enable_atfork();
    }
    return NULL;
}

/*
 * Each fork()'s parent and child handlers do what its prepare handler
 * decided, even if fork support is switched off and on meanwhile: the
 * parent can still queue and drain callbacks afterwards.
 */
static void test_fork_atfork_toggled(void)
{
    if (g_test_subprocess()) {
        static struct rcu_head head;
        QemuThread toggler;

        qemu_thread_create(&toggler, "toggler", atfork_toggler_fn, NULL,
                           QEMU_THREAD_JOINABLE);
        for (int i = 0; i < 100; i++) {
            pid_t pid = fork();

            if (pid == 0) {
                _exit(0);
            }
            wait_child(pid);
        }
        qatomic_set(&toggle_stop, true);
        qemu_thread_join(&toggler);
        queued_cb_ran = false;
        call_rcu1(&head, queued_cb);
        drain_call_rcu();
        g_assert_true(queued_cb_ran);
        return;
    }
    run_in_subprocess(NULL);
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
            g_strdup_printf("/rcu/fork/deadlock/%s", fork_cases[i]);
        g_test_add_data_func(path, GINT_TO_POINTER(i), test_fork_deadlock);
    }
    g_test_add_data_func("/rcu/fork/during-callback/forker-holds-bql",
                         GINT_TO_POINTER(1), test_fork_during_callback);
    g_test_add_data_func("/rcu/fork/during-callback/forker-without-bql",
                         GINT_TO_POINTER(0), test_fork_during_callback);
    g_test_add_func("/rcu/fork/deadlock/during-notifier",
                    test_fork_during_notifier);
    g_test_add_func("/rcu/fork/deadlock/during-churn",
                    test_fork_during_churn);
    g_test_add_func("/rcu/fork/from-callback", test_fork_from_callback);
    g_test_add_func("/rcu/fork/stats-reset-in-child",
                    test_stats_reset_in_child);
    g_test_add_func("/rcu/fork/concurrent-forks-keep-their-bql",
                    test_concurrent_forks);
    g_test_add_func("/rcu/fork/app-atfork-lock-taken-by-callback",
                    test_fork_app_atfork_lock);
    g_test_add_func("/rcu/fork/during-enqueue-stream",
                    test_fork_during_enqueue_stream);
    g_test_add_func("/rcu/fork/atfork-toggled-meanwhile",
                    test_fork_atfork_toggled);
    return g_test_run();
}
