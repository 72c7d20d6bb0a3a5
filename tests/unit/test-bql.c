/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The standalone BQL (mutual exclusion, bql_locked(), the guard, the
 * application hook, misuse), and the QemuLockable guards.
 */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "qemu/lockable.h"
#include "qemu/main-loop.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"

#define NTHREADS 3
#define ITERATIONS 20000

static int env_int(const char *name, int def)
{
    const char *s = g_getenv(name);

    return s && *s ? atoi(s) : def;
}

/*
 * Shared state for the mutual exclusion test.  counter is updated with
 * a plain read-modify-write on purpose: only the BQL makes it correct.
 * inside catches two threads in the critical section at once even when
 * the lost update happens to cancel out.
 */
static volatile long counter;
static int inside;
static int overlaps;

static void *bql_hammer(void *opaque)
{
    long iterations = (long)(uintptr_t)opaque;
    long i;

    g_assert_false(bql_locked());
    for (i = 0; i < iterations; i++) {
        long v;

        bql_lock();
        g_assert_true(bql_locked());
        if (qatomic_xchg(&inside, 1)) {
            qatomic_inc(&overlaps);
        }
        v = counter;
        if ((i & 255) == 0) {
            /* Widen the window so that a broken lock shows quickly. */
            sched_yield();
        }
        counter = v + 1;
        qatomic_set(&inside, 0);
        bql_unlock();
        g_assert_false(bql_locked());
    }
    return NULL;
}

static void test_mutual_exclusion(void)
{
    int nthreads = env_int("QEMU_TEST_BQL_THREADS", NTHREADS);
    long iterations = env_int("QEMU_TEST_BQL_ITERATIONS", ITERATIONS);
    QemuThread *threads = g_new(QemuThread, nthreads);
    int i;

    counter = 0;
    for (i = 0; i < nthreads; i++) {
        qemu_thread_create(&threads[i], "bql-hammer", bql_hammer,
                           (void *)(uintptr_t)iterations,
                           QEMU_THREAD_JOINABLE);
    }
    for (i = 0; i < nthreads; i++) {
        qemu_thread_join(&threads[i]);
    }
    g_assert_cmpint(qatomic_read(&overlaps), ==, 0);
    g_assert_cmpint(counter, ==, nthreads * iterations);
    g_free(threads);
}

/* A thread that tries to take the BQL while the main thread holds it. */
typedef struct Contender {
    QemuThread thread;
    bool saw_locked;
    bool acquired;
} Contender;

static void *contender_fn(void *opaque)
{
    Contender *c = opaque;

    c->saw_locked = bql_locked();
    bql_lock();
    qatomic_set(&c->acquired, true);
    bql_unlock();
    return NULL;
}

static void test_locked_per_thread(void)
{
    Contender c = { 0 };

    g_assert_false(bql_locked());
    bql_lock();
    g_assert_true(bql_locked());
    qemu_thread_create(&c.thread, "bql-contender", contender_fn, &c,
                       QEMU_THREAD_JOINABLE);
    /*
     * Whatever the contender's scheduling, it cannot get the lock while
     * we hold it; the sleep only gives a broken lock the chance to show.
     */
    g_usleep(50 * 1000);
    g_assert_false(qatomic_read(&c.acquired));
    g_assert_true(bql_locked());
    bql_unlock();
    g_assert_false(bql_locked());
    qemu_thread_join(&c.thread);
    g_assert_false(c.saw_locked);
    g_assert_true(c.acquired);
}

static void test_bql_guard(void)
{
    g_assert_false(bql_locked());
    {
        BQL_LOCK_GUARD();
        g_assert_true(bql_locked());
    }
    g_assert_false(bql_locked());

    /* Nothing else may be holding it now. */
    bql_lock();
    bql_unlock();
}

/* Runs fn(arg) in a new thread and returns its result. */
static bool in_other_thread(void *(*fn)(void *), void *arg)
{
    QemuThread t;

    qemu_thread_create(&t, "lock-prober", fn, arg, QEMU_THREAD_JOINABLE);
    return qemu_thread_join(&t) != NULL;
}

static void *mutex_is_free(void *opaque)
{
    QemuMutex *m = opaque;

    if (qemu_mutex_trylock(m) != 0) {
        return NULL;
    }
    qemu_mutex_unlock(m);
    return m;
}

static void *rec_mutex_is_free(void *opaque)
{
    QemuRecMutex *m = opaque;

    if (qemu_rec_mutex_trylock(m) != 0) {
        return NULL;
    }
    qemu_rec_mutex_unlock(m);
    return m;
}

static bool mutex_held(QemuMutex *m)
{
    return !in_other_thread(mutex_is_free, m);
}

static bool rec_mutex_held(QemuRecMutex *m)
{
    return !in_other_thread(rec_mutex_is_free, m);
}

static int guarded_return(QemuMutex *m)
{
    QEMU_LOCK_GUARD(m);

    g_assert_true(mutex_held(m));
    return 42;
}

/*
 * The guards get a pointer variable, not &m: QEMU_MAKE_LOCKABLE() tests
 * its argument for NULL inside the macro, which GCC's -Waddress rejects
 * for the address of an object (QEMU does that test in an inline
 * function instead).
 */
static void test_lock_guard_mutex(void)
{
    QemuMutex mutex;
    QemuMutex *m = &mutex;
    int i;

    qemu_mutex_init(m);
    g_assert_false(mutex_held(m));
    {
        QEMU_LOCK_GUARD(m);
        g_assert_true(mutex_held(m));
    }
    g_assert_false(mutex_held(m));

    g_assert_cmpint(guarded_return(m), ==, 42);
    g_assert_false(mutex_held(m));

    WITH_QEMU_LOCK_GUARD(m) {
        g_assert_true(mutex_held(m));
    }
    g_assert_false(mutex_held(m));

    /* Leaving the block early, with break, also unlocks. */
    for (i = 0; i < 3; i++) {
        WITH_QEMU_LOCK_GUARD(m) {
            if (i == 1) {
                break;
            }
        }
        g_assert_false(mutex_held(m));
    }
    g_assert_false(mutex_held(m));
    qemu_mutex_destroy(m);
}

static void test_lock_guard_rec_mutex(void)
{
    QemuRecMutex mutex;
    QemuRecMutex *m = &mutex;

    qemu_rec_mutex_init(m);
    {
        QEMU_LOCK_GUARD(m);
        WITH_QEMU_LOCK_GUARD(m) {
            QEMU_LOCK_GUARD(m);
            g_assert_true(rec_mutex_held(m));
        }
        /* One level left: still held. */
        g_assert_true(rec_mutex_held(m));
    }
    g_assert_false(rec_mutex_held(m));
    qemu_rec_mutex_destroy(m);
}

static void test_lock_guard_spin(void)
{
    QemuSpin spin;
    QemuSpin *s = &spin;

    qemu_spin_init(s);
    {
        QEMU_LOCK_GUARD(s);
        g_assert_true(qemu_spin_locked(s));
        g_assert_true(qemu_spin_trylock(s));   /* true means busy */
    }
    g_assert_false(qemu_spin_locked(s));
    WITH_QEMU_LOCK_GUARD(s) {
        g_assert_true(qemu_spin_locked(s));
    }
    g_assert_false(qemu_spin_locked(s));
    g_assert_false(qemu_spin_trylock(s));
    qemu_spin_unlock(s);
    qemu_spin_destroy(s);
}

/* The application's own big lock. */
static QemuMutex app_lock_mutex;
static __thread bool app_lock_held;
static int app_lock_calls;
static int app_unlock_calls;
static int app_locked_calls;
static bool app_cb_saw_locked;
static bool app_cb_ran;

static void app_lock(void)
{
    qemu_mutex_lock(&app_lock_mutex);
    app_lock_held = true;
    qatomic_inc(&app_lock_calls);
}

static void app_unlock(void)
{
    g_assert_true(app_lock_held);
    app_lock_held = false;
    qatomic_inc(&app_unlock_calls);
    qemu_mutex_unlock(&app_lock_mutex);
}

static bool app_locked(void)
{
    qatomic_inc(&app_locked_calls);
    return app_lock_held;
}

static const BQLFunctions app_funcs = {
    .lock = app_lock,
    .unlock = app_unlock,
    .locked = app_locked,
};

static void app_cb(struct rcu_head *head)
{
    /* bql_locked() goes through the hook, so this sees the app's flag. */
    qatomic_set(&app_cb_saw_locked, bql_locked() && app_lock_held);
    qatomic_set(&app_cb_ran, true);
    g_free(head);
}

static void test_set_lock_functions(void)
{
    int locks, unlocks, lockeds;

    qemu_mutex_init(&app_lock_mutex);

    /*
     * Earlier tests may have left the call_rcu thread inside a batch
     * under the built-in lock; taking it once waits for that to end.
     */
    bql_lock();
    bql_unlock();

    bql_set_lock_functions(&app_funcs);
    g_assert_false(bql_locked());
    g_assert_cmpint(app_locked_calls, ==, 1);

    bql_lock();
    g_assert_cmpint(app_lock_calls, ==, 1);
    g_assert_true(app_lock_held);
    g_assert_true(bql_locked());
    bql_unlock();
    g_assert_cmpint(app_unlock_calls, ==, 1);
    g_assert_false(app_lock_held);

    {
        BQL_LOCK_GUARD();
        g_assert_true(app_lock_held);
    }
    g_assert_false(app_lock_held);
    g_assert_cmpint(app_lock_calls, ==, 2);
    g_assert_cmpint(app_unlock_calls, ==, 2);

    /* The call_rcu thread runs callbacks under the application's lock. */
    call_rcu1(g_new0(struct rcu_head, 1), app_cb);
    drain_call_rcu();
    g_assert_true(qatomic_read(&app_cb_ran));
    g_assert_true(qatomic_read(&app_cb_saw_locked));
    /* The batch may still be unlocking: wait for it on the app's lock. */
    qemu_mutex_lock(&app_lock_mutex);
    qemu_mutex_unlock(&app_lock_mutex);
    g_assert_cmpint(qatomic_read(&app_lock_calls), >=, 3);
    g_assert_cmpint(qatomic_read(&app_lock_calls), ==,
                    qatomic_read(&app_unlock_calls));

    /* NULL goes back to the built-in lock: the hook is never called. */
    bql_set_lock_functions(NULL);
    locks = qatomic_read(&app_lock_calls);
    unlocks = qatomic_read(&app_unlock_calls);
    lockeds = qatomic_read(&app_locked_calls);
    g_assert_false(bql_locked());
    bql_lock();
    g_assert_true(bql_locked());
    g_assert_false(app_lock_held);
    bql_unlock();
    g_assert_false(bql_locked());
    g_assert_cmpint(qatomic_read(&app_lock_calls), ==, locks);
    g_assert_cmpint(qatomic_read(&app_unlock_calls), ==, unlocks);
    g_assert_cmpint(qatomic_read(&app_locked_calls), ==, lockeds);

    /* And the built-in lock still excludes other threads. */
    counter = 0;
    test_mutual_exclusion();

    qemu_mutex_destroy(&app_lock_mutex);
}

static void test_unlock_unheld(void)
{
    if (g_test_subprocess()) {
        bql_unlock();
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*bql_unlock() without holding the BQL*");
}

static void *unlock_fn(void *opaque)
{
    bql_unlock();
    return NULL;
}

static void test_unlock_other_thread_held(void)
{
    if (g_test_subprocess()) {
        QemuThread t;

        /*
         * The lock is held, but by another thread: our unlock must still
         * be refused because *we* do not hold it.
         */
        bql_lock();
        qemu_thread_create(&t, "bql-misuser", unlock_fn, NULL,
                           QEMU_THREAD_JOINABLE);
        qemu_thread_join(&t);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*bql_unlock() without holding the BQL*");
}

static void test_recursive_lock(void)
{
    if (g_test_subprocess()) {
        bql_lock();
        bql_lock();
        return;
    }
    /* A hang here would mean the recursion deadlocked instead of aborting. */
    g_test_trap_subprocess(NULL, 10 * G_USEC_PER_SEC,
                           G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*test-bql.c:*bql_lock() while holding the BQL*");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bql/mutual-exclusion", test_mutual_exclusion);
    g_test_add_func("/bql/locked-per-thread", test_locked_per_thread);
    g_test_add_func("/bql/guard", test_bql_guard);
    g_test_add_func("/bql/set-lock-functions", test_set_lock_functions);
    g_test_add_func("/bql/misuse/unlock-unheld", test_unlock_unheld);
    g_test_add_func("/bql/misuse/unlock-other-thread-held",
                    test_unlock_other_thread_held);
    g_test_add_func("/bql/misuse/recursive-lock", test_recursive_lock);
    g_test_add_func("/lockable/mutex", test_lock_guard_mutex);
    g_test_add_func("/lockable/rec-mutex", test_lock_guard_rec_mutex);
    g_test_add_func("/lockable/spin", test_lock_guard_spin);
    return g_test_run();
}
