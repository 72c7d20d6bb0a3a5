/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * QemuEvent under stress (lost wake-ups, the reset/check/wait pattern of
 * the RCU core, timed waits and spurious wake-ups) and the basics of
 * QemuMutex, QemuCond, QemuSemaphore and QemuThread.
 */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "test-util.h"

#include <signal.h>
#include <sys/syscall.h>
#include <linux/futex.h>

#define MS (1000 * 1000LL)
/* Upper bound for anything that should take milliseconds. */
#define GENEROUS_NS (5 * 1000 * MS)
/* How long a stress body may run before the watchdog calls it a hang. */
#define WATCHDOG_SECONDS 40

static int env_int(const char *name, int def)
{
    const char *s = g_getenv(name);

    return s && *s ? atoi(s) : def;
}

/*
 * Runs a body in its own thread and fails, naming its progress, if it
 * does not finish in time: a lost wake-up then shows as a failure rather
 * than a hung test.  The watchdog itself uses GLib's primitives so that
 * it does not depend on the code under test.
 */
typedef struct Watched {
    void (*body)(void *arg);
    void *arg;
    const long *progress;
    GMutex lock;
    GCond cond;
    bool done;
} Watched;

static void *watched_thread(void *opaque)
{
    Watched *w = opaque;

    w->body(w->arg);
    g_mutex_lock(&w->lock);
    w->done = true;
    g_cond_signal(&w->cond);
    g_mutex_unlock(&w->lock);
    return NULL;
}

static void run_watched(const char *what, void (*body)(void *), void *arg,
                        const long *progress)
{
    Watched w = { .body = body, .arg = arg, .progress = progress };
    int64_t deadline = g_get_monotonic_time() +
                       WATCHDOG_SECONDS * G_TIME_SPAN_SECOND;
    QemuThread t;

    g_mutex_init(&w.lock);
    g_cond_init(&w.cond);
    qemu_thread_create(&t, "watched", watched_thread, &w,
                       QEMU_THREAD_JOINABLE);
    g_mutex_lock(&w.lock);
    while (!w.done) {
        if (!g_cond_wait_until(&w.cond, &w.lock, deadline)) {
            g_error("%s: no progress for %d s (stuck at %ld): lost wake-up?",
                    what, WATCHDOG_SECONDS,
                    progress ? qatomic_read(progress) : -1L);
        }
    }
    g_mutex_unlock(&w.lock);
    qemu_thread_join(&t);
    g_mutex_clear(&w.lock);
    g_cond_clear(&w.cond);
}

/* An event's state, seen without blocking. */
static bool event_is_set(QemuEvent *ev)
{
    return qemu_event_timedwait(ev, 0);
}

static void test_event_basics(void)
{
    QemuEvent ev;

    qemu_event_init(&ev, true);
    g_assert_true(event_is_set(&ev));
    qemu_event_wait(&ev);               /* must not block */
    g_assert_true(event_is_set(&ev));   /* waiting does not consume it */
    qemu_event_reset(&ev);
    g_assert_false(event_is_set(&ev));
    qemu_event_destroy(&ev);

    qemu_event_init(&ev, false);
    g_assert_false(event_is_set(&ev));

    /* Idempotent: two sets are undone by one reset. */
    qemu_event_set(&ev);
    qemu_event_set(&ev);
    g_assert_true(event_is_set(&ev));
    qemu_event_reset(&ev);
    g_assert_false(event_is_set(&ev));
    qemu_event_reset(&ev);
    g_assert_false(event_is_set(&ev));

    qemu_event_set(&ev);
    qemu_event_wait(&ev);
    qemu_event_wait(&ev);
    g_assert_true(qemu_event_timedwait(&ev, 1000));
    g_assert_true(qemu_event_timedwait_ns(&ev, 0));
    g_assert_true(qemu_event_timedwait_ns(&ev, -1));
    qemu_event_destroy(&ev);
}

/*
 * Ping-pong: each side sets the other's event and waits on its own, many
 * thousand times.  A lost wake-up stops the game for good.  The payload
 * is a plain variable: the set/wait pair must order it.
 */
typedef struct PingPong {
    QemuEvent ping, pong;
    long rounds;
    long done;
    long payload;
    bool timed;
} PingPong;

static void pp_wait(PingPong *pp, QemuEvent *ev)
{
    if (pp->timed) {
        /* Timed waits that run out just go round again. */
        while (!qemu_event_timedwait_ns(ev, 200 * 1000)) {
            /* nothing */
        }
    } else {
        qemu_event_wait(ev);
    }
}

static void *pong_thread(void *opaque)
{
    PingPong *pp = opaque;
    long i;

    for (i = 0; i < pp->rounds; i++) {
        pp_wait(pp, &pp->ping);
        qemu_event_reset(&pp->ping);
        g_assert_cmpint(pp->payload, ==, 2 * i + 1);
        pp->payload++;
        qemu_event_set(&pp->pong);
    }
    return NULL;
}

static void ping_pong_body(void *opaque)
{
    PingPong *pp = opaque;
    QemuThread t;
    long i;

    qemu_thread_create(&t, "pong", pong_thread, pp, QEMU_THREAD_JOINABLE);
    for (i = 0; i < pp->rounds; i++) {
        g_assert_cmpint(pp->payload, ==, 2 * i);
        pp->payload++;
        qemu_event_set(&pp->ping);
        pp_wait(pp, &pp->pong);
        qemu_event_reset(&pp->pong);
        qatomic_set(&pp->done, i + 1);
    }
    qemu_thread_join(&t);
}

static void test_ping_pong(gconstpointer data)
{
    PingPong pp = {
        .rounds = env_int("QEMU_TEST_EVENT_ROUNDS", 10000),
        .timed = GPOINTER_TO_INT(data),
    };

    qemu_event_init(&pp.ping, false);
    qemu_event_init(&pp.pong, false);
    run_watched("ping-pong", ping_pong_body, &pp, &pp.done);
    g_assert_cmpint(pp.done, ==, pp.rounds);
    g_assert_cmpint(pp.payload, ==, 2 * pp.rounds);
    qemu_event_destroy(&pp.ping);
    qemu_event_destroy(&pp.pong);
}

/*
 * The RCU core's pattern: the waiter resets the event, then checks its
 * condition, then waits; each setter makes its part of the condition
 * true with a relaxed store and then sets the event.  Only the barriers
 * inside qemu_event_reset() and qemu_event_set() keep the waiter from
 * missing the last setter and sleeping forever.  In each round every
 * setter posts once and then waits for the waiter to acknowledge, so
 * a missed set cannot be rescued by a later one.
 */
#define MAX_SETTERS 16

typedef struct ResetRace {
    QemuEvent ev;
    int nsetters;
    long rounds;
    long posted[MAX_SETTERS];   /* last round each setter posted */
    long acked;                 /* last round the waiter saw complete */
    long waits;                 /* times the waiter actually slept */
} ResetRace;

typedef struct Setter {
    ResetRace *rr;
    int index;
    QemuThread thread;
} Setter;

static void *setter_thread(void *opaque)
{
    Setter *s = opaque;
    ResetRace *rr = s->rr;
    long r;

    for (r = 1; r <= rr->rounds; r++) {
        qatomic_set(&rr->posted[s->index], r);
        qemu_event_set(&rr->ev);
        while (qatomic_read(&rr->acked) < r) {
            sched_yield();
        }
    }
    return NULL;
}

static bool all_posted(ResetRace *rr, long r)
{
    int i;

    for (i = 0; i < rr->nsetters; i++) {
        if (qatomic_read(&rr->posted[i]) < r) {
            return false;
        }
    }
    return true;
}

static void reset_race_body(void *opaque)
{
    ResetRace *rr = opaque;
    Setter setters[MAX_SETTERS];
    long r;
    int i;

    for (i = 0; i < rr->nsetters; i++) {
        setters[i].rr = rr;
        setters[i].index = i;
        qemu_thread_create(&setters[i].thread, "setter", setter_thread,
                           &setters[i], QEMU_THREAD_JOINABLE);
    }
    for (r = 1; r <= rr->rounds; r++) {
        for (;;) {
            qemu_event_reset(&rr->ev);
            if (all_posted(rr, r)) {
                break;
            }
            rr->waits++;
            qemu_event_wait(&rr->ev);
        }
        qatomic_set(&rr->acked, r);
    }
    for (i = 0; i < rr->nsetters; i++) {
        qemu_thread_join(&setters[i].thread);
    }
}

static void test_reset_race(void)
{
    ResetRace rr = {
        .nsetters = MIN(env_int("QEMU_TEST_EVENT_SETTERS", 3), MAX_SETTERS),
        .rounds = env_int("QEMU_TEST_EVENT_RACE_ROUNDS", 2000),
    };

    qemu_event_init(&rr.ev, false);
    run_watched("reset/set race", reset_race_body, &rr, &rr.acked);
    g_assert_cmpint(rr.acked, ==, rr.rounds);
    g_test_message("%d setters, %ld rounds, waiter slept %ld times",
                   rr.nsetters, rr.rounds, rr.waits);
    qemu_event_destroy(&rr.ev);
}

/*
 * One set wakes every waiter, even after a reset from a bystander, and
 * the event stays set for latecomers.
 */
typedef struct Broadcast {
    QemuEvent ev;
    int started;
    int woken;
} Broadcast;

static void *broadcast_waiter(void *opaque)
{
    Broadcast *b = opaque;

    qatomic_inc(&b->started);
    qemu_event_wait(&b->ev);
    qatomic_inc(&b->woken);
    return NULL;
}

static void broadcast_body(void *opaque)
{
    Broadcast *b = opaque;
    QemuThread t[4];
    int i;

    for (i = 0; i < ARRAY_SIZE(t); i++) {
        qemu_thread_create(&t[i], "bcast", broadcast_waiter, b,
                           QEMU_THREAD_JOINABLE);
    }
    while (qatomic_read(&b->started) < ARRAY_SIZE(t)) {
        g_usleep(1000);
    }
    /* Most, if not all, are asleep in the kernel by now. */
    g_usleep(20 * 1000);
    g_assert_cmpint(qatomic_read(&b->woken), ==, 0);
    /*
     * A reset of the unset event by a thread that is not waiting must
     * not make the set that follows forget the sleepers.
     */
    qemu_event_reset(&b->ev);
    qemu_event_set(&b->ev);
    for (i = 0; i < ARRAY_SIZE(t); i++) {
        qemu_thread_join(&t[i]);
    }
    broadcast_waiter(b);
}

static void test_broadcast(void)
{
    Broadcast b = { 0 };

    qemu_event_init(&b.ev, false);
    run_watched("broadcast", broadcast_body, &b, NULL);
    g_assert_cmpint(b.woken, ==, 5);
    qemu_event_destroy(&b.ev);
}

static void test_timedwait_timeout(void)
{
    static const int64_t ns_cases[] = { 1, 1000, 2 * MS, 30 * MS };
    QemuEvent ev;
    int64_t start, took;
    int i;

    qemu_event_init(&ev, false);

    start = test_now_ns();
    g_assert_false(qemu_event_timedwait(&ev, 50));
    took = test_now_ns() - start;
    g_assert_cmpint(took, >=, 50 * MS);
    g_assert_cmpint(took, <, 50 * MS + GENEROUS_NS);

    start = test_now_ns();
    g_assert_false(qemu_event_timedwait(&ev, 0));
    g_assert_false(qemu_event_timedwait(&ev, -5));
    g_assert_false(qemu_event_timedwait_ns(&ev, -1));
    g_assert_false(qemu_event_timedwait_ns(&ev, -3 * 1000 * MS));
    g_assert_cmpint(test_now_ns() - start, <, GENEROUS_NS);

    for (i = 0; i < ARRAY_SIZE(ns_cases); i++) {
        start = test_now_ns();
        g_assert_false(qemu_event_timedwait_ns(&ev, ns_cases[i]));
        took = test_now_ns() - start;
        g_assert_cmpint(took, >=, ns_cases[i]);
        g_assert_cmpint(took, <, ns_cases[i] + GENEROUS_NS);
    }

    qemu_event_destroy(&ev);
}

/* A timed waiter woken by a set long before its deadline. */
typedef struct TimedWaiter {
    QemuEvent *ev;
    int64_t timeout_ns;
    bool result;
    int64_t took;
    bool started;
} TimedWaiter;

static void *timed_waiter_thread(void *opaque)
{
    TimedWaiter *w = opaque;
    int64_t start = test_now_ns();

    qatomic_set(&w->started, true);
    w->result = qemu_event_timedwait_ns(w->ev, w->timeout_ns);
    w->took = test_now_ns() - start;
    return NULL;
}

static void test_timedwait_wakeup(void)
{
    static const int64_t timeouts[] = { 30 * 1000 * MS, 2500 * MS };
    QemuEvent ev;
    int i;

    qemu_event_init(&ev, false);
    for (i = 0; i < ARRAY_SIZE(timeouts); i++) {
        TimedWaiter w = { .ev = &ev, .timeout_ns = timeouts[i] };
        QemuThread t;

        qemu_event_reset(&ev);
        qemu_thread_create(&t, "timed-waiter", timed_waiter_thread, &w,
                           QEMU_THREAD_JOINABLE);
        while (!qatomic_read(&w.started)) {
            g_usleep(1000);
        }
        g_usleep(20 * 1000);
        qemu_event_set(&ev);
        qemu_thread_join(&t);
        g_assert_true(w.result);
        /* Well before the deadline: the set woke it. */
        g_assert_cmpint(w.took, <, timeouts[i] / 2);
    }
    qemu_event_destroy(&ev);
}

/*
 * Spurious wake-ups must not end a timed wait on an event that is not
 * set.  First kind: raw FUTEX_WAKEs on the event's word, which is what
 * the futex-based implementation sleeps on; the event is never set.
 */
typedef struct Waker {
    QemuEvent *ev;
    bool stop;
    long wakes;
} Waker;

static void *futex_waker_thread(void *opaque)
{
    Waker *k = opaque;

    while (!qatomic_read(&k->stop)) {
        syscall(SYS_futex, &k->ev->value, FUTEX_WAKE_PRIVATE, INT_MAX,
                NULL, NULL, 0);
        k->wakes++;
        g_usleep(500);
    }
    return NULL;
}

static int64_t timedwait_with_futex_wakes(int64_t ns, long *wakes)
{
    QemuEvent ev;
    Waker k = { .ev = &ev };
    QemuThread t;
    int64_t start, took;

    qemu_event_init(&ev, false);
    qemu_thread_create(&t, "futex-waker", futex_waker_thread, &k,
                       QEMU_THREAD_JOINABLE);
    start = test_now_ns();
    g_assert_false(qemu_event_timedwait_ns(&ev, ns));
    took = test_now_ns() - start;
    qatomic_set(&k.stop, true);
    qemu_thread_join(&t);
    qemu_event_destroy(&ev);
    *wakes += k.wakes;
    return took;
}

static void test_timedwait_futex_spurious(void)
{
    long wakes = 0;
    int64_t took;

    took = timedwait_with_futex_wakes(100 * MS, &wakes);
    g_assert_cmpint(took, >=, 100 * MS);
    g_assert_cmpint(took, <, 100 * MS + GENEROUS_NS);

    /*
     * A deadline in the next second of the monotonic clock, so that the
     * absolute deadline's nanoseconds carry over, and wake-ups on both
     * sides of the second boundary.
     */
    while (test_now_ns() % (1000 * MS) < 985 * MS) {
        g_usleep(1000);
    }
    took = timedwait_with_futex_wakes(30 * MS, &wakes);
    g_assert_cmpint(took, >=, 30 * MS);
    g_assert_cmpint(took, <, 30 * MS + GENEROUS_NS);

    g_test_message("%ld spurious futex wakes", wakes);
}

/*
 * Second kind: the event is set and reset again while the waiter cannot
 * run.  The waiter is parked in a signal handler (sent while it sleeps
 * in the timed wait, or just before) for the whole set+reset, so it can
 * never observe the event set: the outcome is deterministic.
 */
static int park_entered;
static int park_released;

static void park_handler(int sig)
{
    int n = qatomic_fetch_inc(&park_entered) + 1;
    const struct timespec pause = { 0, 100 * 1000 };

    while (qatomic_read(&park_released) < n) {
        nanosleep(&pause, NULL);
    }
}

typedef struct ParkedWaiter {
    QemuEvent ev;
    int64_t timeout_ns;
    bool ready;
    bool result;
    int64_t took;
    bool finished;
    bool may_exit;
} ParkedWaiter;

static void *parked_waiter_thread(void *opaque)
{
    ParkedWaiter *w = opaque;
    sigset_t usr1;
    int64_t start;

    /* qemu_thread_create() starts threads with every signal blocked. */
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);

    qatomic_set(&w->ready, true);
    start = test_now_ns();
    w->result = qemu_event_timedwait_ns(&w->ev, w->timeout_ns);
    w->took = test_now_ns() - start;
    qatomic_store_release(&w->finished, true);

    /* A signal still on its way must find the thread alive. */
    while (!qatomic_read(&w->may_exit)) {
        g_usleep(1000);
    }
    return NULL;
}

static void test_timedwait_set_reset_while_parked(void)
{
    struct sigaction sa = { .sa_handler = park_handler };
    struct sigaction old;
    ParkedWaiter w = { .timeout_ns = 200 * MS };
    QemuThread t;
    int parks = 3;
    int i;

    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old);
    qatomic_set(&park_entered, 0);
    qatomic_set(&park_released, 0);
    qemu_event_init(&w.ev, false);

    qemu_thread_create(&t, "parked-waiter", parked_waiter_thread, &w,
                       QEMU_THREAD_JOINABLE);
    while (!qatomic_read(&w.ready)) {
        g_usleep(1000);
    }
    for (i = 1; i <= parks; i++) {
        int64_t deadline = test_now_ns() + GENEROUS_NS;

        g_usleep(10 * 1000);
        pthread_kill(t.thread, SIGUSR1);
        while (qatomic_read(&park_entered) < i) {
            g_assert_cmpint(test_now_ns(), <, deadline);
            g_usleep(100);
        }
        qemu_event_set(&w.ev);
        qemu_event_reset(&w.ev);
        qatomic_set(&park_released, i);
    }
    while (!qatomic_load_acquire(&w.finished)) {
        g_usleep(1000);
    }
    qatomic_set(&w.may_exit, true);
    qemu_thread_join(&t);
    sigaction(SIGUSR1, &old, NULL);

    g_assert_false(w.result);
    g_assert_cmpint(w.took, >=, w.timeout_ns);
    g_assert_cmpint(w.took, <, w.timeout_ns + GENEROUS_NS);
    qemu_event_destroy(&w.ev);
}

/*
 * Third kind, not deterministic but checked for what must always hold:
 * a waiter racing with set/reset pairs may or may not see one of them,
 * but if it reports a timeout the deadline really passed.
 */
typedef struct Flapper {
    QemuEvent *ev;
    bool stop;
} Flapper;

static void *flapper_thread(void *opaque)
{
    Flapper *f = opaque;

    while (!qatomic_read(&f->stop)) {
        qemu_event_set(f->ev);
        qemu_event_reset(f->ev);
        sched_yield();
    }
    return NULL;
}

static void test_timedwait_flapping(void)
{
    QemuEvent ev;
    Flapper f = { .ev = &ev };
    QemuThread t;
    int seen = 0;
    int i;

    qemu_event_init(&ev, false);
    qemu_thread_create(&t, "flapper", flapper_thread, &f,
                       QEMU_THREAD_JOINABLE);
    for (i = 0; i < 200; i++) {
        int64_t start = test_now_ns();

        if (qemu_event_timedwait_ns(&ev, 100 * 1000)) {
            seen++;
        } else {
            g_assert_cmpint(test_now_ns() - start, >=, 100 * 1000);
        }
    }
    qatomic_set(&f.stop, true);
    qemu_thread_join(&t);
    g_test_message("saw the event set in %d of 200 timed waits", seen);
    qemu_event_destroy(&ev);
}

static void *mutex_trylock_thread(void *opaque)
{
    QemuMutex *m = opaque;
    int ret = qemu_mutex_trylock(m);

    if (ret == 0) {
        qemu_mutex_unlock(m);
    }
    return GINT_TO_POINTER(ret);
}

static void test_mutex(void)
{
    QemuMutex m;
    QemuThread t;

    qemu_mutex_init(&m);
    g_assert_cmpint(qemu_mutex_trylock(&m), ==, 0);
    qemu_thread_create(&t, "trylock", mutex_trylock_thread, &m,
                       QEMU_THREAD_JOINABLE);
    g_assert_cmpint(GPOINTER_TO_INT(qemu_thread_join(&t)), ==, -EBUSY);
    qemu_mutex_unlock(&m);

    qemu_thread_create(&t, "trylock", mutex_trylock_thread, &m,
                       QEMU_THREAD_JOINABLE);
    g_assert_cmpint(GPOINTER_TO_INT(qemu_thread_join(&t)), ==, 0);

    qemu_mutex_lock(&m);
    qemu_mutex_unlock(&m);
    qemu_mutex_destroy(&m);
}

/* A QemuCond queue: a producer hands out items, consumers sleep. */
typedef struct CondQueue {
    QemuMutex lock;
    QemuCond cond;
    int items;
    int consumed;
    bool go;
    int going;
} CondQueue;

static void *cond_consumer(void *opaque)
{
    CondQueue *q = opaque;

    qemu_mutex_lock(&q->lock);
    for (;;) {
        while (q->items == 0) {
            qemu_cond_wait(&q->cond, &q->lock);
        }
        if (q->items < 0) {
            break;
        }
        q->items--;
        q->consumed++;
    }
    qemu_mutex_unlock(&q->lock);
    return NULL;
}

static void *cond_go_waiter(void *opaque)
{
    CondQueue *q = opaque;

    qemu_mutex_lock(&q->lock);
    while (!q->go) {
        qemu_cond_wait(&q->cond, &q->lock);
    }
    q->going++;
    qemu_mutex_unlock(&q->lock);
    return NULL;
}

static void cond_body(void *opaque)
{
    CondQueue *q = opaque;
    QemuThread t[3];
    int i;

    for (i = 0; i < ARRAY_SIZE(t); i++) {
        qemu_thread_create(&t[i], "consumer", cond_consumer, q,
                           QEMU_THREAD_JOINABLE);
    }
    for (i = 0; i < 3000; i++) {
        qemu_mutex_lock(&q->lock);
        q->items++;
        qemu_cond_signal(&q->cond);
        qemu_mutex_unlock(&q->lock);
    }
    /* Wait until all are consumed, then tell everybody to stop. */
    qemu_mutex_lock(&q->lock);
    while (q->items > 0) {
        qemu_mutex_unlock(&q->lock);
        g_usleep(100);
        qemu_mutex_lock(&q->lock);
    }
    q->items = -1;
    qemu_cond_broadcast(&q->cond);
    qemu_mutex_unlock(&q->lock);
    for (i = 0; i < ARRAY_SIZE(t); i++) {
        qemu_thread_join(&t[i]);
    }

    /* Broadcast wakes every waiter. */
    for (i = 0; i < ARRAY_SIZE(t); i++) {
        qemu_thread_create(&t[i], "go-waiter", cond_go_waiter, q,
                           QEMU_THREAD_JOINABLE);
    }
    g_usleep(10 * 1000);
    qemu_mutex_lock(&q->lock);
    q->go = true;
    qemu_cond_broadcast(&q->cond);
    qemu_mutex_unlock(&q->lock);
    for (i = 0; i < ARRAY_SIZE(t); i++) {
        qemu_thread_join(&t[i]);
    }
}

static void test_cond(void)
{
    CondQueue q = { 0 };
    int64_t start, took;
    bool woken = true;
    int i;

    qemu_mutex_init(&q.lock);
    qemu_cond_init(&q.cond);
    run_watched("cond", cond_body, &q, NULL);
    g_assert_cmpint(q.consumed, ==, 3000);
    g_assert_cmpint(q.going, ==, 3);

    /* Nobody signals: the timed wait times out. */
    qemu_mutex_lock(&q.lock);
    start = test_now_ns();
    for (i = 0; i < 10; i++) {
        woken = qemu_cond_timedwait(&q.cond, &q.lock, 30);
        if (!woken) {
            break;
        }
        /* A rare spurious wake-up: wait again, but not forever. */
    }
    took = test_now_ns() - start;
    qemu_mutex_unlock(&q.lock);
    g_assert_false(woken);
    g_assert_cmpint(took, >=, 30 * MS);
    g_assert_cmpint(took, <, 30 * MS + GENEROUS_NS);

    qemu_cond_destroy(&q.cond);
    qemu_mutex_destroy(&q.lock);
}

static void *sem_poster(void *opaque)
{
    QemuSemaphore *sem = opaque;

    g_usleep(20 * 1000);
    qemu_sem_post(sem);
    return NULL;
}

static void test_semaphore(void)
{
    QemuSemaphore sem;
    QemuThread t;
    int64_t start, took;

    qemu_sem_init(&sem, 2);
    qemu_sem_wait(&sem);
    g_assert_cmpint(qemu_sem_timedwait(&sem, 0), ==, 0);

    start = test_now_ns();
    g_assert_cmpint(qemu_sem_timedwait(&sem, 50), ==, -1);
    took = test_now_ns() - start;
    g_assert_cmpint(took, >=, 50 * MS);
    g_assert_cmpint(took, <, 50 * MS + GENEROUS_NS);
    g_assert_cmpint(qemu_sem_timedwait(&sem, 0), ==, -1);

    /* Posts are counted, not lost. */
    qemu_sem_post(&sem);
    qemu_sem_post(&sem);
    g_assert_cmpint(qemu_sem_timedwait(&sem, 0), ==, 0);
    qemu_sem_wait(&sem);
    g_assert_cmpint(qemu_sem_timedwait(&sem, 0), ==, -1);

    /* A post from another thread ends both kinds of wait. */
    qemu_thread_create(&t, "poster", sem_poster, &sem, QEMU_THREAD_JOINABLE);
    qemu_sem_wait(&sem);
    qemu_thread_join(&t);

    qemu_thread_create(&t, "poster", sem_poster, &sem, QEMU_THREAD_JOINABLE);
    start = test_now_ns();
    g_assert_cmpint(qemu_sem_timedwait(&sem, 30 * 1000), ==, 0);
    g_assert_cmpint(test_now_ns() - start, <, 15 * 1000 * MS);
    qemu_thread_join(&t);

    qemu_sem_destroy(&sem);
}

/* A thread that publishes its id and stays alive until told to go. */
typedef struct NamedThread {
    QemuThread thread;
    int tid;
    bool leave;
    bool self_ok;
} NamedThread;

static void *named_thread_fn(void *opaque)
{
    NamedThread *n = opaque;

    n->self_ok = qemu_thread_is_self(&n->thread);
    qatomic_store_release(&n->tid, qemu_get_thread_id());
    while (!qatomic_read(&n->leave)) {
        g_usleep(1000);
    }
    return n;
}

static char *thread_comm(const char *name)
{
    NamedThread n = { 0 };
    g_autofree char *path = NULL;
    char *comm = NULL;

    qemu_thread_create(&n.thread, name, named_thread_fn, &n,
                       QEMU_THREAD_JOINABLE);
    while (!qatomic_load_acquire(&n.tid)) {
        g_usleep(1000);
    }
    path = g_strdup_printf("/proc/self/task/%d/comm", n.tid);
    g_assert_true(g_file_get_contents(path, &comm, NULL, NULL));
    g_strchomp(comm);
    qatomic_set(&n.leave, true);
    g_assert_true(qemu_thread_join(&n.thread) == &n);
    g_assert_true(n.self_ok);
    return comm;
}

static void test_thread_names(void)
{
    g_autofree char *main_comm = NULL;
    char *comm;

    comm = thread_comm("short");
    g_assert_cmpstr(comm, ==, "short");
    g_free(comm);

    comm = thread_comm("exactly15-chars");
    g_assert_cmpstr(comm, ==, "exactly15-chars");
    g_free(comm);

    /* The kernel keeps 15 characters: the rest is cut. */
    comm = thread_comm("a-rather-long-thread-name");
    g_assert_cmpstr(comm, ==, "a-rather-long-t");
    g_free(comm);

    /* Naming off: the thread keeps the name it inherits. */
    g_assert_true(g_file_get_contents("/proc/thread-self/comm", &main_comm,
                                      NULL, NULL));
    g_strchomp(main_comm);
    qemu_thread_naming(false);
    comm = thread_comm("unnamed");
    qemu_thread_naming(true);
    g_assert_cmpstr(comm, ==, main_comm);
    g_free(comm);
}

static void *exit_thread_fn(void *opaque)
{
    qemu_thread_exit(opaque);
}

static void *return_thread_fn(void *opaque)
{
    return opaque;
}

static void test_thread_join(void)
{
    static int token;
    QemuThread t, self;

    qemu_thread_create(&t, "ret", return_thread_fn, &token,
                       QEMU_THREAD_JOINABLE);
    g_assert_true(qemu_thread_join(&t) == &token);

    qemu_thread_create(&t, "exit", exit_thread_fn, &token + 1,
                       QEMU_THREAD_JOINABLE);
    g_assert_true(qemu_thread_join(&t) == &token + 1);

    qemu_thread_create(&t, "null", return_thread_fn, NULL,
                       QEMU_THREAD_JOINABLE);
    g_assert_null(qemu_thread_join(&t));

    qemu_thread_get_self(&self);
    g_assert_true(qemu_thread_is_self(&self));
    g_assert_false(qemu_thread_is_self(&t));
    g_assert_cmpint(qemu_get_thread_id(), ==, getpid());
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/event/basics", test_event_basics);
    g_test_add_data_func("/event/ping-pong", GINT_TO_POINTER(false),
                         test_ping_pong);
    g_test_add_data_func("/event/ping-pong-timed", GINT_TO_POINTER(true),
                         test_ping_pong);
    g_test_add_func("/event/reset-race", test_reset_race);
    g_test_add_func("/event/broadcast", test_broadcast);
    g_test_add_func("/event/timedwait/timeout", test_timedwait_timeout);
    g_test_add_func("/event/timedwait/wakeup", test_timedwait_wakeup);
    g_test_add_func("/event/timedwait/futex-spurious",
                    test_timedwait_futex_spurious);
    g_test_add_func("/event/timedwait/set-reset-while-parked",
                    test_timedwait_set_reset_while_parked);
    g_test_add_func("/event/timedwait/flapping", test_timedwait_flapping);
    g_test_add_func("/mutex/basics", test_mutex);
    g_test_add_func("/cond/basics", test_cond);
    g_test_add_func("/sem/basics", test_semaphore);
    g_test_add_func("/thread/names", test_thread_names);
    g_test_add_func("/thread/join", test_thread_join);
    return g_test_run();
}
