/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * RCU torture test.
 *
 * One RCU-protected pointer to a heap object is replaced over and over
 * by two updaters: one reclaims the old object with call_rcu(), the
 * other waits for a grace period itself (synchronize_rcu(), the
 * expedited variant or the polled API).  Reclaiming an object poisons
 * it and puts it in a graveyard that frees it only much later, so a
 * reader that still uses an object after its grace period finds poison
 * rather than crashing.  Readers check every object they reach, at the
 * start and again at the end of (nested) read-side critical sections of
 * varied length; churn threads register, read, unregister and exit over
 * and over.  At the end every call_rcu() callback must have run exactly
 * once and in queueing order.
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

#define MS (1000 * 1000LL)

#define OBJ_LIVE    0x4c495645u
#define OBJ_POISON  0xdeadbeefu
#define OBJ_WORDS   8
#define POISON_BYTE 0x5a

/* A reclaimed object stays readable (and poisoned) this long. */
#define GRAVE_NS    (1000 * MS)
/* call_rcu() callbacks allowed in flight before the updater backs off. */
#define MAX_INFLIGHT 4000
/* Longest read-side critical section a reader holds on purpose. */
#define LONG_SECTION_NS (20 * MS)
#define MAX_NEST    4
/* A polled grace period that has not completed by then never will. */
#define POLL_GIVE_UP_S 20
#define MAX_ERRORS_SHOWN 10

typedef struct TortureObj {
    struct rcu_head rcu;
    unsigned magic;
    int cb_runs;
    bool via_call_rcu;
    uint64_t seq;
    uint64_t cb_ticket;
    int64_t buried_ns;
    struct TortureObj *grave_next;
    uint64_t payload[OBJ_WORDS];
} TortureObj;

typedef struct Torture {
    TortureObj *ptr;            /* the RCU-protected pointer */
    QemuMutex update_lock;      /* serialises replacements */
    uint64_t next_seq;

    bool stop;
    long errors;

    /* call_rcu() accounting. */
    long queued;
    long run;
    uint64_t next_ticket;       /* issued by the call_rcu updater */
    uint64_t expected_ticket;   /* next one the callbacks expect */

    QemuMutex grave_lock;
    TortureObj *grave_head;
    TortureObj **grave_tail;
    long buried;
    long freed;

    /* Statistics for the report. */
    long sections;
    long long_sections;
    long kicks;
    long offline_naps;
    long call_rcu_updates;
    long sync_updates[4];
    long churn_threads;
    long churn_sections;
} Torture;

static Torture T;

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

G_GNUC_PRINTF(1, 2) static void torture_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    test_verror(&T.errors, MAX_ERRORS_SHOWN, "rcu-torture", fmt, ap);
    va_end(ap);
}

static TortureObj *obj_new(uint64_t seq)
{
    TortureObj *o = g_new0(TortureObj, 1);
    int i;

    o->magic = OBJ_LIVE;
    o->seq = seq;
    for (i = 0; i < OBJ_WORDS; i++) {
        o->payload[i] = test_payload_word(seq, i);
    }
    return o;
}

/* Checks an object a reader reached; false (and an error) if reclaimed. */
static bool obj_check(const TortureObj *o, const char *where)
{
    unsigned magic;
    uint64_t seq;
    int i;

    if (!o) {
        torture_error("%s: NULL object", where);
        return false;
    }
    magic = qatomic_read(&o->magic);
    seq = o->seq;               /* written once, before publication */
    if (magic != OBJ_LIVE) {
        torture_error("%s: object %" PRIu64 " %s", where, seq,
                      magic == OBJ_POISON ?
                      "was reclaimed while a reader could still see it" :
                      "is corrupt");
        return false;
    }
    for (i = 0; i < OBJ_WORDS; i++) {
        if (o->payload[i] != test_payload_word(seq, i)) {
            torture_error("%s: object %" PRIu64 " payload word %d is "
                          "%#" PRIx64, where, seq, i, o->payload[i]);
            return false;
        }
    }
    return true;
}

static void obj_poison(TortureObj *o)
{
    qatomic_set(&o->magic, OBJ_POISON);
    memset(o->payload, POISON_BYTE, sizeof(o->payload));
}

/* Frees graveyard objects buried long ago (all of them if @all). */
static void graveyard_reap(bool all)
{
    int64_t now = test_now_ns();
    TortureObj *o;

    qemu_mutex_lock(&T.grave_lock);
    while ((o = T.grave_head) &&
           (all || now - o->buried_ns >= GRAVE_NS)) {
        T.grave_head = o->grave_next;
        if (!T.grave_head) {
            T.grave_tail = &T.grave_head;
        }
        if (o->magic != OBJ_POISON) {
            torture_error("graveyard: object %" PRIu64 " lost its poison",
                          o->seq);
        }
        if (o->cb_runs != (o->via_call_rcu ? 1 : 0)) {
            torture_error("graveyard: object %" PRIu64 " callback ran %d "
                          "times", o->seq, o->cb_runs);
        }
        T.freed++;
        g_free(o);
    }
    qemu_mutex_unlock(&T.grave_lock);
}

static void graveyard_bury(TortureObj *o)
{
    obj_poison(o);
    o->buried_ns = test_now_ns();
    o->grave_next = NULL;
    qemu_mutex_lock(&T.grave_lock);
    *T.grave_tail = o;
    T.grave_tail = &o->grave_next;
    T.buried++;
    qemu_mutex_unlock(&T.grave_lock);
}

/* Publishes a new object and returns the old one. */
static TortureObj *replace_obj(void)
{
    TortureObj *old, *new;

    qemu_mutex_lock(&T.update_lock);
    old = T.ptr;
    new = obj_new(++T.next_seq);
    qatomic_rcu_set(&T.ptr, new);
    qemu_mutex_unlock(&T.update_lock);
    return old;
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
    TortureObj *o = qatomic_rcu_read(&T.ptr);

    if (obj_check(o, where)) {
        /* One pointer, one writer order: versions never go backwards. */
        if (o->seq < r->last_seq) {
            torture_error("%s: saw object %" PRIu64 " after %" PRIu64,
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
    while (i < OBJ_WORDS || test_now_ns() < end) {
        if (r->use_notifier && qatomic_read(&r->kicked)) {
            qatomic_inc(&T.kicks);
            return;
        }
        /* Keep touching the object: a reclaim shows up mid-section. */
        if (o->payload[i % OBJ_WORDS] !=
            test_payload_word(o->seq, i % OBJ_WORDS)) {
            obj_check(o, "while holding");
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
        obj_check(inner[d], "end of nested section");
        rcu_read_unlock();
        obj_check(outer, "outer, after a nested unlock");
        if (d > 0) {
            obj_check(inner[0], "first nested, after a deeper unlock");
        }
    }
    obj_check(outer, "end of outer section");
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
    while (!qatomic_read(&T.stop)) {
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
    } while (test_now_ns() < end && !qatomic_read(&T.stop));
    reader_end(r);
    return NULL;
}

static void *churn_thread(void *opaque)
{
    Churner *c = opaque;

    while (!qatomic_read(&T.stop)) {
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

/*
 * The call_rcu() updater.
 */
static void obj_reclaim_cb(TortureObj *o)
{
    if (qatomic_fetch_inc(&o->cb_runs) != 0) {
        torture_error("callback for object %" PRIu64 " ran again", o->seq);
        return;
    }
    if (!bql_locked()) {
        torture_error("callback for object %" PRIu64 " ran without the BQL",
                      o->seq);
    }
    /* Only the call_rcu thread touches expected_ticket. */
    if (o->cb_ticket != T.expected_ticket) {
        torture_error("callback %" PRIu64 " ran when %" PRIu64 " was due",
                      o->cb_ticket, T.expected_ticket);
    }
    T.expected_ticket = o->cb_ticket + 1;
    graveyard_bury(o);
    qatomic_inc(&T.run);
}

static void *call_rcu_updater(void *opaque)
{
    GRand *rng = opaque;

    rcu_register_thread();
    while (!qatomic_read(&T.stop)) {
        /*
         * Bursts of varied size and gaps, so that grace periods see both
         * a few callbacks (normal state) and many (forced).
         */
        int burst = g_rand_int_range(rng, 1, 64);
        int i;

        for (i = 0; i < burst; i++) {
            TortureObj *old = replace_obj();

            old->via_call_rcu = true;
            old->cb_ticket = T.next_ticket++;
            qatomic_inc(&T.queued);
            call_rcu(old, obj_reclaim_cb, rcu);
            T.call_rcu_updates++;
        }
        while (qatomic_read(&T.queued) - qatomic_read(&T.run) >
               MAX_INFLIGHT && !qatomic_read(&T.stop)) {
            g_usleep(500);
        }
        if (g_rand_int_range(rng, 0, 4) == 0) {
            g_usleep(g_rand_int_range(rng, 1, 3000));
        }
        graveyard_reap(false);
    }
    rcu_unregister_thread();
    return NULL;
}

/*
 * start_poll_synchronize_rcu() must get a grace period going by itself;
 * if none completes within a generous bound, that is the bug.
 */
static bool poll_until(unsigned long cookie)
{
    int64_t give_up = test_now_ns() + POLL_GIVE_UP_S * 1000 * MS;

    while (!poll_state_synchronize_rcu(cookie)) {
        if (test_now_ns() > give_up) {
            return false;
        }
        g_usleep(100);
    }
    return true;
}

static const char *const sync_names[] = {
    "synchronize_rcu()", "synchronize_rcu_expedited()",
    "cond_synchronize_rcu()", "a polled grace period",
};

/*
 * The synchronous updater: replace, wait for a grace period in one of
 * four ways, poison at once.
 */
static void *sync_updater(void *opaque)
{
    GRand *rng = opaque;

    rcu_register_thread();
    while (!qatomic_read(&T.stop)) {
        int how = g_rand_int_range(rng, 0, 4);
        TortureObj *old = replace_obj();
        /* Every way of waiting must also complete this cookie. */
        unsigned long replaced = get_state_synchronize_rcu();
        unsigned long cookie;

        switch (how) {
        case 0:
            synchronize_rcu();
            break;
        case 1:
            synchronize_rcu_expedited();
            break;
        case 2:
            cookie = get_state_synchronize_rcu();
            if (g_rand_boolean(rng)) {
                g_usleep(g_rand_int_range(rng, 1, 2000));
            }
            cond_synchronize_rcu(cookie);
            break;
        default:
            cookie = start_poll_synchronize_rcu();
            if (!poll_until(cookie)) {
                torture_error("polled grace period not done after %d s",
                              POLL_GIVE_UP_S);
                synchronize_rcu();
            }
            break;
        }
        if (!poll_state_synchronize_rcu(replaced)) {
            torture_error("%s returned before a grace period that began "
                          "after object %" PRIu64 " was replaced",
                          sync_names[how], old->seq);
        }
        graveyard_bury(old);
        T.sync_updates[how]++;
        if (g_rand_int_range(rng, 0, 8) == 0) {
            g_usleep(g_rand_int_range(rng, 1, 2000));
        }
        graveyard_reap(false);
    }
    rcu_unregister_thread();
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
    int64_t start, deadline;
    int i;

    memset(&T, 0, sizeof(T));
    qemu_mutex_init(&T.update_lock);
    qemu_mutex_init(&T.grave_lock);
    T.grave_tail = &T.grave_head;
    T.ptr = obj_new(0);

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
    qemu_thread_create(&cb_thread, "torture-cb-upd", call_rcu_updater,
                       cb_rng, QEMU_THREAD_JOINABLE);
    qemu_thread_create(&sync_thread, "torture-sync-upd", sync_updater,
                       sync_rng, QEMU_THREAD_JOINABLE);

    start = test_now_ns();
    deadline = start + (int64_t)(run->seconds * 1e9);
    while (test_now_ns() < deadline && !qatomic_read(&T.errors)) {
        g_usleep(10 * 1000);
    }
    qatomic_set(&T.stop, true);

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
    g_assert_cmpint(T.run, ==, T.queued);
    g_assert_cmpuint(T.expected_ticket, ==, T.next_ticket);

    rcu_set_tunables(&saved);
    rcu_get_stats(&after);
    /* No reader is left, so nothing can reach these any more. */
    graveyard_reap(true);
    g_assert_cmpint(T.freed, ==, T.buried);
    g_free(T.ptr);

    g_test_message("%s: %.1f s, %d readers (%ld sections, %ld long, %ld "
                   "kicks, %ld offline naps), %d churners (%ld threads, %ld "
                   "sections)", run->name, (test_now_ns() - start) / 1e9,
                   nreaders, T.sections, T.long_sections, T.kicks,
                   T.offline_naps, nchurn, T.churn_threads, T.churn_sections);
    g_test_message("%s: %ld call_rcu updates (%ld callbacks queued, %ld "
                   "run), synchronous updates: %ld synchronize_rcu, %ld "
                   "expedited, %ld cond_synchronize_rcu, %ld polled",
                   run->name, T.call_rcu_updates, T.queued, T.run,
                   T.sync_updates[0], T.sync_updates[1], T.sync_updates[2],
                   T.sync_updates[3]);
    report_stats(run->name, &before, &after);

    g_assert_cmpint(T.errors, ==, 0);
    g_assert_cmpint(T.call_rcu_updates, >, 0);
    g_assert_cmpint(T.sync_updates[0] + T.sync_updates[1] +
                    T.sync_updates[2] + T.sync_updates[3], >, 0);
    g_assert_cmpuint(after.grace_periods, >, before.grace_periods);
    if (nchurn) {
        g_assert_cmpint(T.churn_threads, >, 0);
    }

    g_rand_free(cb_rng);
    g_rand_free(sync_rng);
    g_free(readers);
    g_free(churners);
    qemu_mutex_destroy(&T.update_lock);
    qemu_mutex_destroy(&T.grave_lock);
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
