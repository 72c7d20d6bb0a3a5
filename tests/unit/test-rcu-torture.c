/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * RCU torture test.
 *
 * One RCU-protected pointer to a heap object is replaced over and over
 * by the two updaters of torture-common.c: one reclaims the old object
 * with call_rcu(), the other waits for a grace period itself
 * (synchronize_rcu(), the expedited variant or the polled API).
 * Reclaiming an object poisons it and puts it in a graveyard that frees
 * it only much later, so a reader that still uses an object after its
 * grace period finds poison rather than crashing.  Readers check every
 * object they reach, at the start and again at the end of (nested)
 * read-side critical sections of varied length; churn threads register,
 * read, unregister and exit over and over.  At the end every call_rcu()
 * callback must have run exactly once and in queueing order.
 *
 * Environment: QEMU_RCU_TORTURE_SECONDS (total, default 2),
 * QEMU_RCU_TORTURE_READERS (default 2), QEMU_RCU_TORTURE_CHURN (churn
 * threads, default 1).  The run is split between default tunables and
 * tunables that make nearly every grace period enter the forced state.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "qemu/main-loop.h"
#include "test-util.h"
#include "torture-common.h"

#define MS (1000 * 1000LL)

/* Longest read-side critical section a reader holds on purpose. */
#define LONG_SECTION_NS (20 * MS)
#define MAX_NEST    4
#define MAX_ERRORS_SHOWN 10

/* The readers' side; the updaters' is torture-common.c's "torture". */
typedef struct ReaderStats {
    long sections;
    long long_sections;
    long kicks;
    long offline_naps;
    long churn_threads;
    long churn_sections;
} ReaderStats;

static ReaderStats T;

static int env_int(const char *name, int def)
{
    const char *s = g_getenv(name);

    return s && *s ? atoi(s) : def;
}

static double env_double(const char *name, double def)
{
    const char *s = g_getenv(name);

    return s && *s ? g_ascii_strtod(s, NULL) : def;
}

/*
 * Readers.
 */
typedef struct Reader {
    QemuThread thread;
    GRand *rng;
    Notifier kick_notifier;
    bool use_notifier;
    bool kicked;
    uint64_t last_seq;
    long sections;
} Reader;

static void reader_kick(Notifier *n, void *data)
{
    Reader *r = container_of(n, Reader, kick_notifier);

    /* Runs in the grace-period thread: only ask, never block. */
    qatomic_set(&r->kicked, true);
}

static TortureObj *reader_fetch(Reader *r, const char *where)
{
    TortureObj *o = qatomic_rcu_read(&torture.table[0]);

    if (torture_obj_check(o, where)) {
        /* One pointer, one writer order: versions never go backwards. */
        if (o->seq < r->last_seq) {
            torture_fail("%s: saw object %" PRIu64 " after %" PRIu64,
                         where, o->seq, r->last_seq);
        }
        r->last_seq = o->seq;
    }
    return o;
}

/* Holds the current section for about @ns, or until kicked. */
static void reader_hold(Reader *r, const TortureObj *o, int64_t ns)
{
    int64_t end = test_now_ns() + ns;
    int i = 0;

    /* Short sections still read the whole object once. */
    while (i < TORTURE_OBJ_WORDS || test_now_ns() < end) {
        if (r->use_notifier && qatomic_read(&r->kicked)) {
            qatomic_inc(&T.kicks);
            return;
        }
        /* Keep touching the object: a reclaim shows up mid-section. */
        if (o->payload[i % TORTURE_OBJ_WORDS] !=
            test_payload_word(o->seq, i % TORTURE_OBJ_WORDS)) {
            torture_obj_check(o, "while holding");
            return;
        }
        i++;
        cpu_relax();
    }
}

static void reader_section(Reader *r)
{
    TortureObj *outer, *inner[MAX_NEST];
    int nest = g_rand_int_range(r->rng, 0, MAX_NEST + 1);
    int mode = g_rand_int_range(r->rng, 0, 1000);
    int d;

    qatomic_set(&r->kicked, false);
    rcu_read_lock();
    outer = reader_fetch(r, "outer");

    for (d = 0; d < nest; d++) {
        rcu_read_lock();
        inner[d] = reader_fetch(r, "nested");
    }
    if (nest && (mode & 1)) {
        WITH_RCU_READ_LOCK_GUARD() {
            reader_fetch(r, "guard");
        }
    }

    if (mode < 900) {
        reader_hold(r, outer, 0);
    } else if (mode < 995) {
        reader_hold(r, outer, 20 * 1000);
    } else {
        qatomic_inc(&T.long_sections);
        reader_hold(r, outer, LONG_SECTION_NS);
    }

    /*
     * Unwind: leaving an inner section must not end the protection the
     * enclosing ones still give to every object reached so far.
     */
    for (d = nest - 1; d >= 0; d--) {
        torture_obj_check(inner[d], "end of nested section");
        rcu_read_unlock();
        torture_obj_check(outer, "outer, after a nested unlock");
        if (d > 0) {
            torture_obj_check(inner[0], "first nested, after a deeper unlock");
        }
    }
    torture_obj_check(outer, "end of outer section");
    rcu_read_unlock();

    r->sections++;
}

static void reader_pause(Reader *r)
{
    int dice = g_rand_int_range(r->rng, 0, 1000);

    if (dice < 2) {
        /* Quiescent while blocked: grace periods must skip us. */
        rcu_thread_offline();
        g_usleep(g_rand_int_range(r->rng, 100, 2000));
        rcu_thread_online();
        qatomic_inc(&T.offline_naps);
    } else if (dice < 20) {
        g_usleep(g_rand_int_range(r->rng, 1, 200));
    } else if (dice < 100) {
        sched_yield();
    }
}

static void reader_begin(Reader *r)
{
    rcu_register_thread();
    r->kick_notifier.notify = reader_kick;
    if (r->use_notifier) {
        rcu_add_force_rcu_notifier(&r->kick_notifier);
    }
}

static void reader_end(Reader *r)
{
    if (r->use_notifier) {
        rcu_remove_force_rcu_notifier(&r->kick_notifier);
    }
    rcu_unregister_thread();
}

static void *reader_thread(void *opaque)
{
    Reader *r = opaque;

    reader_begin(r);
    while (!qatomic_read(&torture.stop)) {
        reader_section(r);
        reader_pause(r);
    }
    reader_end(r);
    qatomic_add(&T.sections, r->sections);
    return NULL;
}

/*
 * Churn: short-lived reader threads, one after another, so that
 * registration and unregistration race with grace periods.
 */
typedef struct Churner {
    QemuThread thread;
    GRand *rng;
} Churner;

static void *churn_child(void *opaque)
{
    Reader *r = opaque;
    int64_t end = test_now_ns() +
                  g_rand_int_range(r->rng, 0, 20 * 1000) * 1000LL;

    reader_begin(r);
    do {
        reader_section(r);
        reader_pause(r);
    } while (test_now_ns() < end && !qatomic_read(&torture.stop));
    reader_end(r);
    return NULL;
}

static void *churn_thread(void *opaque)
{
    Churner *c = opaque;

    while (!qatomic_read(&torture.stop)) {
        Reader r = {
            .rng = g_rand_new_with_seed(g_rand_int(c->rng)),
            .use_notifier = g_rand_boolean(c->rng),
        };

        qemu_thread_create(&r.thread, "torture-churn", churn_child, &r,
                           QEMU_THREAD_JOINABLE);
        qemu_thread_join(&r.thread);
        qatomic_inc(&T.churn_threads);
        qatomic_add(&T.churn_sections, r.sections);
        g_rand_free(r.rng);
    }
    return NULL;
}

typedef struct TortureRun {
    const char *name;
    double seconds;
    bool aggressive;
} TortureRun;

static void report_stats(const char *name, const RcuStats *a,
                         const RcuStats *b)
{
    g_test_message("%s: %" PRIu64 " grace periods, %" PRIu64 " forced, %"
                   PRIu64 " expedited, %" PRIu64 " force_rcu notifier "
                   "calls, %" PRIu64 " membarriers, %" PRIu64 " stall "
                   "warnings; longest grace period since start-up %.3f ms",
                   name,
                   b->grace_periods - a->grace_periods,
                   b->forced_grace_periods - a->forced_grace_periods,
                   b->expedited_grace_periods - a->expedited_grace_periods,
                   b->force_rcu_notifier_calls - a->force_rcu_notifier_calls,
                   b->membarrier_calls - a->membarrier_calls,
                   b->stall_warnings - a->stall_warnings,
                   b->max_grace_period_ns / 1e6);
}

static bool torture_made_progress(void)
{
    unsigned long syncs = 0;

    for (int how = 0; how < G_N_ELEMENTS(torture.sync_updates); how++) {
        syncs += qatomic_read(&torture.sync_updates[how]);
    }
    return syncs > 0 && qatomic_read(&torture.cb_updates) > 0;
}

static void test_torture(gconstpointer data)
{
    const TortureRun *run = data;
    int nreaders = MAX(env_int("QEMU_RCU_TORTURE_READERS", 2), 1);
    int nchurn = MAX(env_int("QEMU_RCU_TORTURE_CHURN", 1), 0);
    Reader *readers = g_new0(Reader, nreaders);
    Churner *churners = g_new0(Churner, MAX(nchurn, 1));
    QemuThread cb_thread, sync_thread;
    GRand *cb_rng, *sync_rng;
    RcuTunables saved, t;
    RcuStats before, after;
    int64_t start, deadline, give_up;
    int i;

    TortureConfig cfg = {
        .error_prefix = "rcu-torture",
        .max_errors_shown = MAX_ERRORS_SHOWN,
        .slots = 1,
        .pause_one_in = 4,
        .min_pause_us = 1,
    };

    memset(&T, 0, sizeof(T));
    torture_init(&cfg);

    rcu_get_tunables(&saved);
    if (run->aggressive) {
        /* Nearly every grace period forces, and kicks the readers. */
        t = saved;
        t.force_callbacks = 4;
        t.force_after_us = 300;
        t.poll_max_us = 100;
        rcu_set_tunables(&t);
    }
    rcu_get_stats(&before);

    for (i = 0; i < nreaders; i++) {
        readers[i].rng = g_rand_new_with_seed(g_test_rand_int());
        readers[i].use_notifier = !(i & 1);
        qemu_thread_create(&readers[i].thread, "torture-reader",
                           reader_thread, &readers[i], QEMU_THREAD_JOINABLE);
    }
    for (i = 0; i < nchurn; i++) {
        churners[i].rng = g_rand_new_with_seed(g_test_rand_int());
        qemu_thread_create(&churners[i].thread, "torture-churner",
                           churn_thread, &churners[i], QEMU_THREAD_JOINABLE);
    }
    cb_rng = g_rand_new_with_seed(g_test_rand_int());
    sync_rng = g_rand_new_with_seed(g_test_rand_int());
    qemu_thread_create(&cb_thread, "torture-cb-upd",
                       torture_call_rcu_updater, cb_rng,
                       QEMU_THREAD_JOINABLE);
    qemu_thread_create(&sync_thread, "torture-sync-upd",
                       torture_sync_updater, sync_rng, QEMU_THREAD_JOINABLE);

    start = test_now_ns();
    deadline = start + (int64_t)(run->seconds * 1e9);
    /*
     * On a slow host (32-bit builds run under TCG) a short run may end
     * before the first synchronous update: run on, up to a minute, until
     * both kinds of update have made progress, so that the checks below
     * test progress rather than the host's speed.
     */
    give_up = deadline + 60 * 1000000000LL;
    while (!qatomic_read(&torture.errors)) {
        int64_t now = test_now_ns();

        if (now >= give_up ||
            (now >= deadline && torture_made_progress())) {
            break;
        }
        g_usleep(10 * 1000);
    }
    qatomic_set(&torture.stop, true);

    qemu_thread_join(&cb_thread);
    qemu_thread_join(&sync_thread);
    for (i = 0; i < nchurn; i++) {
        qemu_thread_join(&churners[i].thread);
        g_rand_free(churners[i].rng);
    }
    for (i = 0; i < nreaders; i++) {
        qemu_thread_join(&readers[i].thread);
        g_rand_free(readers[i].rng);
        g_assert_cmpint(readers[i].sections, >, 0);
    }

    /* Every queued callback runs, exactly once (checked as it runs). */
    drain_call_rcu();
    g_assert_cmpuint(torture.run, ==, torture.queued);
    g_assert_cmpuint(torture.expected_ticket, ==, torture.next_ticket);

    rcu_set_tunables(&saved);
    rcu_get_stats(&after);
    torture_finish();
    g_assert_cmpuint(torture.freed, ==, torture.buried);

    g_test_message("%s: %.1f s, %d readers (%ld sections, %ld long, %ld "
                   "kicks, %ld offline naps), %d churners (%ld threads, %ld "
                   "sections)", run->name, (test_now_ns() - start) / 1e9,
                   nreaders, T.sections, T.long_sections, T.kicks,
                   T.offline_naps, nchurn, T.churn_threads, T.churn_sections);
    g_test_message("%s: %lu call_rcu updates (%lu callbacks queued, %lu "
                   "run), synchronous updates: %lu synchronize_rcu, %lu "
                   "expedited, %lu cond_synchronize_rcu, %lu polled",
                   run->name, torture.cb_updates, torture.queued,
                   torture.run, torture.sync_updates[0],
                   torture.sync_updates[1], torture.sync_updates[2],
                   torture.sync_updates[3]);
    report_stats(run->name, &before, &after);

    g_assert_cmpint(torture.errors, ==, 0);
    g_assert_cmpuint(torture.cb_updates, >, 0);
    g_assert_cmpuint(torture.sync_updates[0] + torture.sync_updates[1] +
                     torture.sync_updates[2] + torture.sync_updates[3], >, 0);
    g_assert_cmpuint(after.grace_periods, >, before.grace_periods);
    if (nchurn) {
        g_assert_cmpint(T.churn_threads, >, 0);
    }

    g_rand_free(cb_rng);
    g_rand_free(sync_rng);
    g_free(readers);
    g_free(churners);
}

int main(int argc, char **argv)
{
    double seconds = env_double("QEMU_RCU_TORTURE_SECONDS", 2);
    TortureRun normal = { "default tunables", seconds / 2, false };
    TortureRun forced = { "forcing tunables", seconds / 2, true };

    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/rcu/torture/default", &normal, test_torture);
    g_test_add_data_func("/rcu/torture/forcing", &forced, test_torture);
    return g_test_run();
}
