/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * rcu_thread_offline(), rcu_thread_online() and rcu_quiesce(): what an
 * offline thread costs grace periods, the misuse checks, and that coming
 * back online publishes the thread before its next critical section.
 * Registered twice: with membarrier (when the kernel has it) and with
 * QEMU_RCU_MEMBARRIER=0, where readers use fences.
 *
 * QEMU_TEST_OFFLINE_SECONDS (default 1) sets the length of the torture.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "test-util.h"

/* Bound for anything that should take milliseconds. */
#define GENEROUS_NS (10 * 1000000000LL)

/* Grace periods per measurement. */
#define GPS 20

static double torture_seconds = 1.0;

/* A registered thread that blocks and changes state on command. */
typedef enum HelperCmd {
    CMD_NONE,
    CMD_OFFLINE,
    CMD_ONLINE,
    CMD_QUIESCE,
    CMD_EXIT,
} HelperCmd;

typedef struct Helper {
    QemuThread thread;
    QemuSemaphore cmd_sem;
    QemuSemaphore ack_sem;
    HelperCmd cmd;
    bool online;            /* rcu_thread_is_online() after the command */
    Notifier notifier;
    int kicks;
} Helper;

static void helper_kick(Notifier *n, void *data)
{
    Helper *h = container_of(n, Helper, notifier);

    qatomic_inc(&h->kicks);
}

static void *helper_fn(void *opaque)
{
    Helper *h = opaque;
    bool done = false;

    rcu_register_thread();
    h->notifier.notify = helper_kick;
    rcu_add_force_rcu_notifier(&h->notifier);
    h->online = rcu_thread_is_online();
    qemu_sem_post(&h->ack_sem);

    while (!done) {
        /* Blocks outside any critical section, online or not. */
        qemu_sem_wait(&h->cmd_sem);
        switch (h->cmd) {
        case CMD_OFFLINE:
            rcu_thread_offline();
            break;
        case CMD_ONLINE:
            rcu_thread_online();
            break;
        case CMD_QUIESCE:
            rcu_quiesce();
            break;
        case CMD_EXIT:
            rcu_thread_online();
            done = true;
            break;
        case CMD_NONE:
            break;
        }
        h->online = rcu_thread_is_online();
        qemu_sem_post(&h->ack_sem);
    }
    rcu_remove_force_rcu_notifier(&h->notifier);
    rcu_unregister_thread();
    return NULL;
}

static void helper_cmd(Helper *h, HelperCmd cmd)
{
    h->cmd = cmd;
    qemu_sem_post(&h->cmd_sem);
    qemu_sem_wait(&h->ack_sem);
}

static void helper_start(Helper *h)
{
    memset(h, 0, sizeof(*h));
    qemu_sem_init(&h->cmd_sem, 0);
    qemu_sem_init(&h->ack_sem, 0);
    qemu_thread_create(&h->thread, "offline-helper", helper_fn, h,
                       QEMU_THREAD_JOINABLE);
    qemu_sem_wait(&h->ack_sem);
}

static void helper_stop(Helper *h)
{
    helper_cmd(h, CMD_EXIT);
    qemu_thread_join(&h->thread);
    qemu_sem_destroy(&h->cmd_sem);
    qemu_sem_destroy(&h->ack_sem);
}

/* GPS grace periods; returns the statistics deltas. */
static RcuStats run_gps(void)
{
    RcuStats a = test_rcu_stats(), b, d;

    for (int i = 0; i < GPS; i++) {
        synchronize_rcu();
    }
    b = test_rcu_stats();
    rcu_stats_diff(&d, &b, &a);
    return d;
}

static void test_state(void)
{
    Helper h;

    /* The library registers the main thread, online. */
    g_assert_true(rcu_thread_is_online());
    rcu_thread_offline();
    g_assert_false(rcu_thread_is_online());
    /* Both calls are idempotent. */
    rcu_thread_offline();
    g_assert_false(rcu_thread_is_online());
    rcu_thread_online();
    g_assert_true(rcu_thread_is_online());
    rcu_thread_online();
    g_assert_true(rcu_thread_is_online());
    /* Quiescing reports a quiescent state without going offline. */
    rcu_quiesce();
    g_assert_true(rcu_thread_is_online());

    helper_start(&h);
    g_assert_true(h.online);
    helper_cmd(&h, CMD_OFFLINE);
    g_assert_false(h.online);
    helper_cmd(&h, CMD_QUIESCE);
    g_assert_false(h.online);
    helper_cmd(&h, CMD_ONLINE);
    g_assert_true(h.online);
    helper_stop(&h);
}

static void *unregistered_is_online(void *opaque)
{
    return GINT_TO_POINTER(rcu_thread_is_online());
}

static void test_unregistered_state(void)
{
    QemuThread t;

    qemu_thread_create(&t, "unregistered", unregistered_is_online, NULL,
                       QEMU_THREAD_JOINABLE);
    g_assert_false(GPOINTER_TO_INT(qemu_thread_join(&t)));
}

/*
 * An offline thread is skipped at no cost: no global barrier, no
 * notifier; an online one, even blocked outside any critical section,
 * makes every grace period pay for the barrier.
 */
static void test_offline_skipped(void)
{
    Helper h;
    RcuStats d;
    int64_t start;

    helper_start(&h);

    /* Online and blocked: quiescent, but the barrier is needed. */
    d = run_gps();
    g_assert_cmpuint(d.grace_periods, ==, GPS);
    g_assert_cmpuint(d.membarriers_skipped, ==, 0);
    if (qemu_membarrier_enabled()) {
        g_assert_cmpuint(d.membarrier_calls, >=, GPS);
    } else {
        g_assert_cmpuint(d.membarrier_calls, ==, 0);
    }
    g_assert_cmpuint(d.forced_grace_periods, ==, 0);

    /* Offline: skipped, and the grace periods take no time. */
    helper_cmd(&h, CMD_OFFLINE);
    g_assert_true(test_settle_offline(GENEROUS_NS));
    start = test_now_ns();
    d = run_gps();
    g_assert_cmpint(test_now_ns() - start, <, GENEROUS_NS);
    g_assert_cmpuint(d.grace_periods, ==, GPS);
    g_assert_cmpuint(d.membarrier_calls, ==, 0);
    g_assert_cmpuint(d.membarriers_skipped, >=, GPS);
    g_assert_cmpuint(d.forced_grace_periods, ==, 0);
    g_assert_cmpuint(d.force_rcu_notifier_calls, ==, 0);
    g_assert_cmpint(qatomic_read(&h.kicks), ==, 0);

    /* rcu_quiesce() leaves an offline thread offline... */
    helper_cmd(&h, CMD_QUIESCE);
    d = run_gps();
    g_assert_cmpuint(d.membarrier_calls, ==, 0);
    g_assert_cmpuint(d.membarriers_skipped, >=, GPS);

    /* ...and back online it costs the barrier again. */
    helper_cmd(&h, CMD_ONLINE);
    d = run_gps();
    g_assert_cmpuint(d.membarriers_skipped, ==, 0);
    if (qemu_membarrier_enabled()) {
        g_assert_cmpuint(d.membarrier_calls, >=, GPS);
    }

    /* rcu_quiesce() does not take an online thread offline either. */
    helper_cmd(&h, CMD_QUIESCE);
    g_assert_true(h.online);
    d = run_gps();
    g_assert_cmpuint(d.membarriers_skipped, ==, 0);

    helper_stop(&h);
}

/*
 * A reader inside a critical section holds the grace period; once it has
 * left and gone offline it holds none, however long it blocks.
 */
typedef struct Blocker {
    QemuThread thread;
    QemuSemaphore inside;
    QemuSemaphore leave;
    QemuSemaphore offline;
    QemuSemaphore exit;
} Blocker;

static void *blocker_fn(void *opaque)
{
    Blocker *b = opaque;

    rcu_register_thread();
    rcu_read_lock();
    qemu_sem_post(&b->inside);
    qemu_sem_wait(&b->leave);
    rcu_read_unlock();
    rcu_thread_offline();
    qemu_sem_post(&b->offline);
    /* Offline and blocked for as long as the test likes. */
    qemu_sem_wait(&b->exit);
    rcu_unregister_thread();
    return NULL;
}

static void *sync_fn(void *opaque)
{
    synchronize_rcu();
    qatomic_set((bool *)opaque, true);
    return NULL;
}

static void test_offline_does_not_hold(void)
{
    Blocker b;
    QemuThread syncer;
    bool synced = false;
    RcuStats d;

    qemu_sem_init(&b.inside, 0);
    qemu_sem_init(&b.leave, 0);
    qemu_sem_init(&b.offline, 0);
    qemu_sem_init(&b.exit, 0);
    qemu_thread_create(&b.thread, "blocker", blocker_fn, &b,
                       QEMU_THREAD_JOINABLE);
    qemu_sem_wait(&b.inside);

    /* The reader's section holds the grace period... */
    qemu_thread_create(&syncer, "syncer", sync_fn, &synced,
                       QEMU_THREAD_JOINABLE);
    g_usleep(20 * 1000);
    g_assert_false(qatomic_read(&synced));

    /* ...until it leaves; offline, it holds none of the next ones. */
    qemu_sem_post(&b.leave);
    qemu_sem_wait(&b.offline);
    qemu_thread_join(&syncer);
    g_assert_true(qatomic_read(&synced));
    g_assert_true(test_settle_offline(GENEROUS_NS));
    d = run_gps();
    g_assert_cmpuint(d.grace_periods, ==, GPS);
    g_assert_cmpuint(d.membarrier_calls, ==, 0);
    g_assert_cmpuint(d.forced_grace_periods, ==, 0);

    qemu_sem_post(&b.exit);
    qemu_thread_join(&b.thread);
    qemu_sem_destroy(&b.inside);
    qemu_sem_destroy(&b.leave);
    qemu_sem_destroy(&b.offline);
    qemu_sem_destroy(&b.exit);
}

/* Misuse aborts with a message naming the mistake. */

static void misuse_offline_in_cs(void)
{
    rcu_read_lock();
    rcu_thread_offline();
}

static void misuse_online_in_cs(void)
{
    rcu_thread_offline();
    rcu_read_lock();
    rcu_thread_online();
}

static void misuse_quiesce_in_cs(void)
{
    rcu_read_lock();
    rcu_quiesce();
}

typedef void MisuseFn(void);

static void *unregistered_fn(void *opaque)
{
    ((MisuseFn *)opaque)();
    return NULL;
}

static void run_unregistered(MisuseFn *fn)
{
    QemuThread t;

    qemu_thread_create(&t, "unregistered", unregistered_fn, fn,
                       QEMU_THREAD_JOINABLE);
    qemu_thread_join(&t);
}

static void misuse_offline_unregistered(void)
{
    run_unregistered(rcu_thread_offline);
}

static void misuse_online_unregistered(void)
{
    run_unregistered(rcu_thread_online);
}

static void misuse_quiesce_unregistered(void)
{
    run_unregistered(rcu_quiesce);
}

typedef struct Misuse {
    const char *name;
    MisuseFn *fn;
    const char *stderr_pattern;
} Misuse;

static const Misuse misuses[] = {
    { "offline-in-cs", misuse_offline_in_cs,
      "*rcu_thread_offline() called inside an RCU read-side critical*" },
    { "online-in-cs", misuse_online_in_cs,
      "*rcu_thread_online() called inside an RCU read-side critical*" },
    { "quiesce-in-cs", misuse_quiesce_in_cs,
      "*rcu_quiesce() called inside an RCU read-side critical*" },
    { "offline-unregistered", misuse_offline_unregistered,
      "*rcu_thread_offline() called by a thread that is not registered*" },
    { "online-unregistered", misuse_online_unregistered,
      "*rcu_thread_online() called by a thread that is not registered*" },
    { "quiesce-unregistered", misuse_quiesce_unregistered,
      "*rcu_quiesce() called by a thread that is not registered*" },
};

static void test_misuse(gconstpointer opaque)
{
    const Misuse *m = opaque;

    if (g_test_subprocess()) {
        m->fn();
        /* Not reached if the misuse is caught. */
        fprintf(stderr, "misuse not detected\n");
        exit(0);
    }
    g_test_trap_subprocess(NULL, 10 * G_USEC_PER_SEC, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr(m->stderr_pattern);
}

/*
 * Torture: readers that spend most of their time offline, come online
 * and read at once, against a writer that replaces, waits and poisons.
 * A reader that finds poison read an object after its grace period.
 */
#define LIVE   0x4c495645u
#define POISON 0xdeadbeefu

typedef struct Obj {
    unsigned magic;
    unsigned long gen;
} Obj;

static Obj *torture_ptr;
static bool torture_stop;

typedef struct TortureReader {
    QemuThread thread;
    unsigned long reads;
    unsigned long bad;
} TortureReader;

static void *torture_reader_fn(void *opaque)
{
    TortureReader *r = opaque;
    unsigned seed = (uintptr_t)r;

    rcu_register_thread();
    while (!qatomic_read(&torture_stop)) {
        Obj *o;

        rcu_thread_offline();
        /* Stand-in for a short block: some spinning, sometimes a yield. */
        seed = seed * 1103515245 + 12345;
        if ((seed & 0x70000) == 0) {
            sched_yield();
        } else {
            for (unsigned i = (seed >> 20) & 63; i; i--) {
                cpu_relax();
            }
        }
        rcu_thread_online();

        /* Read immediately: the case the online fence exists for. */
        rcu_read_lock();
        o = qatomic_rcu_read(&torture_ptr);
        if (qatomic_read(&o->magic) != LIVE) {
            r->bad++;
        }
        for (int i = 0; i < 32; i++) {
            cpu_relax();
        }
        if (qatomic_read(&o->magic) != LIVE) {
            r->bad++;
        }
        rcu_read_unlock();
        r->reads++;
    }
    rcu_unregister_thread();
    return NULL;
}

static void test_online_publishes(void)
{
    TortureReader readers[2];
    GPtrArray *graveyard = g_ptr_array_new_with_free_func(g_free);
    RcuStats s0 = test_rcu_stats(), s1;
    unsigned long reads = 0, bad = 0, updates = 0;
    int64_t end;

    torture_ptr = g_new0(Obj, 1);
    torture_ptr->magic = LIVE;
    qatomic_set(&torture_stop, false);
    for (int i = 0; i < ARRAY_SIZE(readers); i++) {
        memset(&readers[i], 0, sizeof(readers[i]));
        qemu_thread_create(&readers[i].thread, "torture-reader",
                           torture_reader_fn, &readers[i],
                           QEMU_THREAD_JOINABLE);
    }

    end = test_now_ns() + (int64_t)(torture_seconds * 1e9);
    while (test_now_ns() < end) {
        Obj *old = torture_ptr;
        Obj *new = g_new0(Obj, 1);

        new->magic = LIVE;
        new->gen = old->gen + 1;
        qatomic_rcu_set(&torture_ptr, new);
        synchronize_rcu();
        qatomic_set(&old->magic, POISON);
        /* Kept, not freed: a late reader must read poison. */
        g_ptr_array_add(graveyard, old);
        if (graveyard->len >= 65536) {
            g_ptr_array_remove_range(graveyard, 0, 32768);
        }
        updates++;
    }

    qatomic_set(&torture_stop, true);
    for (int i = 0; i < ARRAY_SIZE(readers); i++) {
        qemu_thread_join(&readers[i].thread);
        reads += readers[i].reads;
        bad += readers[i].bad;
    }
    s1 = test_rcu_stats();
    if (g_test_verbose()) {
        g_test_message("%lu updates, %lu reads, %" PRIu64 " membarriers, %"
                       PRIu64 " skipped", updates, reads,
                       s1.membarrier_calls - s0.membarrier_calls,
                       s1.membarriers_skipped - s0.membarriers_skipped);
    }

    g_assert_cmpuint(bad, ==, 0);
    /* The interesting interleavings were reached. */
    g_assert_cmpuint(updates, >=, 10);
    g_assert_cmpuint(reads, >=, 100);
    /* Some grace periods found every reader offline and skipped. */
    g_assert_cmpuint(s1.membarriers_skipped - s0.membarriers_skipped, >, 0);

    g_free(torture_ptr);
    torture_ptr = NULL;
    g_ptr_array_free(graveyard, true);
}

int main(int argc, char **argv)
{
    const char *s = g_getenv("QEMU_TEST_OFFLINE_SECONDS");

    g_test_init(&argc, &argv, NULL);
    if (s && *s) {
        torture_seconds = CLAMP(g_ascii_strtod(s, NULL), 0.05, 3600);
    }

    g_test_add_func("/rcu-offline/state", test_state);
    g_test_add_func("/rcu-offline/unregistered-state",
                    test_unregistered_state);
    g_test_add_func("/rcu-offline/offline-skipped", test_offline_skipped);
    g_test_add_func("/rcu-offline/offline-does-not-hold",
                    test_offline_does_not_hold);
    for (int i = 0; i < ARRAY_SIZE(misuses); i++) {
        g_autofree char *path =
            g_strdup_printf("/rcu-offline/misuse/%s", misuses[i].name);

        g_test_add_data_func(path, &misuses[i], test_misuse);
    }
    g_test_add_func("/rcu-offline/online-publishes", test_online_publishes);
    return g_test_run();
}
