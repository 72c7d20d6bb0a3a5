/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Soak test: three RCU loads in one process for minutes on end.
 *
 *  - torture: readers walk a table of RCU-protected pointers that the
 *    two updaters of tests/unit/torture-common.c keep replacing, one
 *    reclaiming with call_rcu(), the other after synchronize_rcu()
 *    (plain, expedited, cond, polled);
 *  - vgpu: the blob unmap path of contrib/vgpu-unmap, with vCPUs that
 *    never leave their read-side critical sections unless their
 *    force_rcu notifier kicks them (and the kicked vCPU then takes the
 *    BQL), and a device thread that unmaps while holding the BQL and
 *    waits in drain_call_rcu() until the old map is destroyed;
 *  - bursts: every few seconds many g_free_rcu() of sizeable blocks,
 *    then idle, so the call_rcu thread trims the heap.  The call_rcu
 *    thread only trims after trim_idle_us without callbacks, which the
 *    other two loads never leave it, so during the idle window after a
 *    burst (QUIET_MS) the torture updaters and the vgpu device thread
 *    queue nothing; readers and vCPUs go on as ever.
 *
 * It samples RSS and rcu_get_stats() every second and fails on:
 *  - an early callback or grace period: readers publish the objects
 *    they hold, and a callback (or the synchronous updater after its
 *    grace period) that finds its object still held is an error; the
 *    reclaimed object is also poisoned and kept readable for a while,
 *    so a reader reaching it finds the poison (the vgpu machine makes
 *    the same two checks on its blobs);
 *  - a lost, repeated or reordered callback: per-object run counts and
 *    queueing tickets, queued minus run of the torture's callbacks and
 *    of the library's own counters once everything is drained;
 *  - any stall warning (every long reader has a force_rcu notifier);
 *  - RSS that keeps growing after warm-up: see rss_check();
 *  - a hang: a watchdog aborts the process.
 *
 * Duration: --seconds N, else QEMU_RCU_SOAK_SECONDS, else
 * QEMU_RCU_SOAK_DEFAULT_SECONDS (set by meson so that an outer
 * QEMU_RCU_SOAK_SECONDS still wins), else 600.  --csv FILE (or
 * QEMU_RCU_SOAK_CSV) writes the per-second samples.
 */
#include "qemu/osdep.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include "qemu/main-loop.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "test-util.h"
#include "torture-common.h"
#include "vgpu-machine.h"

#define MS (1000 * 1000LL)
#define MIB (1024 * 1024L)

/* Pointers in the table readers walk. */
#define SLOTS       TORTURE_SLOTS_MAX
#define MAX_ERRORS_SHOWN 20

/* The process is hung if it is still running this long after the end. */
#define WATCHDOG_GRACE_S 300

/* Burst defaults: 32 MiB of 16 KiB blocks every 10 s. */
#define BURST_BLOCK  (16 * 1024)
/*
 * Callback-free window after a burst: the call_rcu thread needs a grace
 * period, the burst's callbacks and trim_idle_us (50 ms by default) to
 * trim; the window leaves it about ten times that on a loaded machine.
 */
#define QUIET_MS     1000

/* RSS rule, see rss_check(). */
#define RSS_SLACK_BYTES (8 * MIB)
#define RSS_SLACK_PCT   10
/* Below this many samples per third the rule is not applied. */
#define RSS_MIN_THIRD   10

typedef struct Reader {
    QemuThread thread;
    GRand *rng;
    bool use_notifier;
    Notifier kick_notifier;
    bool kicked;
    /*
     * What the reader holds, published inside its critical section and
     * cleared before rcu_read_unlock(): that unlock's store-release,
     * paired with the grace period's load-acquire of the reader's
     * counter, makes the clearing visible to whoever runs after the
     * grace period.  Slot SLOTS holds a nested section's object.
     */
    TortureObj *held[SLOTS + 1];
    uint64_t sections;
    uint64_t kicks;
} Reader;

typedef struct Sample {
    double t;
    long rss;
    RcuStats rcu;
    uint64_t sections;
    uint64_t cb_updates;
    uint64_t sync_updates;
    uint64_t unmaps;
    int64_t unmap_max_ns;       /* longest unmap finished this second */
    uint64_t bursts;
    uint64_t burst_frees;
    long burst_peak;            /* RSS right after the last burst's malloc */
    long heap_in_use;           /* malloc'ed bytes, -1 if unknown */
    long errors;
} Sample;

typedef struct Soak {
    /* Options. */
    double seconds;
    unsigned nreaders;
    unsigned vcpus;
    unsigned burst_mib;
    unsigned burst_period_s;
    const char *csv_path;

    /*
     * The table, the updaters, the stop flag and the error count are
     * torture-common.c's "torture".
     */
    Reader *readers;
    uint64_t held_checks;
    uint64_t kicks;             /* sections a force_rcu notifier ended */

    /* Bursts. */
    bool quiet;                 /* no callbacks from the other loads */
    uint64_t bursts;
    uint64_t burst_frees;
    uint64_t bursts_trimmed;    /* a trim followed within QUIET_MS */
    long burst_peak;            /* last burst's RSS at its top */
    long burst_peak_max;
    long after_trim_max;        /* RSS at the end of a quiet window */

    /* vgpu. */
    VgpuConfig vcfg;
    VgpuResult vres;
    bool vgpu_ok;
    uint64_t unmaps;
    int64_t unmap_max_ns;       /* reset by the sampler every second */

    GArray *samples;
} Soak;

static Soak S;

/*
 * Called after the grace period that must protect @o: no reader may
 * still publish it.
 */
static void check_not_held(const TortureObj *o, const char *who)
{
    for (unsigned r = 0; r < S.nreaders; r++) {
        for (int i = 0; i <= SLOTS; i++) {
            if (qatomic_read(&S.readers[r].held[i]) == o) {
                torture_fail("%s for object %" PRIu64 " ran while reader %u "
                             "still held it", who, o->seq, r);
            }
        }
    }
    qatomic_inc(&S.held_checks);
}

/*
 * Readers.
 */
static void reader_kick(Notifier *n, void *data)
{
    Reader *r = container_of(n, Reader, kick_notifier);

    /* Runs in the grace-period thread with the registry lock: no block. */
    qatomic_set(&r->kicked, true);
}

static TortureObj *reader_fetch(Reader *r, unsigned slot, unsigned held)
{
    TortureObj *o = qatomic_rcu_read(&torture.table[slot]);

    qatomic_set(&r->held[held], o);
    torture_obj_check(o, "fetch");
    return o;
}

/* Keeps reading the objects for about @ns, or until kicked. */
static void reader_hold(Reader *r, int64_t ns)
{
    int64_t end = test_now_ns() + ns;

    do {
        for (int i = 0; i < SLOTS; i++) {
            if (!torture_obj_check(r->held[i], "while holding")) {
                return;
            }
        }
        if (r->use_notifier && qatomic_read(&r->kicked)) {
            r->kicks++;
            return;
        }
    } while (test_now_ns() < end);
}

static void reader_section(Reader *r)
{
    int mode = g_rand_int_range(r->rng, 0, 1000);
    int64_t hold;

    /*
     * Only readers with a notifier hold long sections: a stall warning
     * is a failure, and a reader nobody can kick is allowed to cause one.
     */
    if (mode < 900) {
        hold = 0;
    } else if (mode < 990 || !r->use_notifier) {
        hold = g_rand_int_range(r->rng, 10, 2000) * 1000LL;
    } else {
        hold = g_rand_int_range(r->rng, 10, 200) * MS;
    }

    qatomic_set(&r->kicked, false);
    rcu_read_lock();
    for (unsigned i = 0; i < SLOTS; i++) {
        reader_fetch(r, i, i);
    }
    if (mode & 1) {
        /* Leaving a nested section must not end the outer protection. */
        rcu_read_lock();
        reader_fetch(r, g_rand_int_range(r->rng, 0, SLOTS), SLOTS);
        torture_obj_check(r->held[SLOTS], "nested");
        qatomic_set(&r->held[SLOTS], NULL);
        rcu_read_unlock();
    }
    reader_hold(r, hold);
    for (unsigned i = 0; i < SLOTS; i++) {
        torture_obj_check(r->held[i], "end of section");
        qatomic_set(&r->held[i], NULL);
    }
    rcu_read_unlock();
    qatomic_set(&r->sections, r->sections + 1);
}

static void *reader_thread(void *opaque)
{
    Reader *r = opaque;

    rcu_register_thread();
    r->kick_notifier.notify = reader_kick;
    if (r->use_notifier) {
        rcu_add_force_rcu_notifier(&r->kick_notifier);
    }
    while (!qatomic_read(&torture.stop)) {
        int dice;

        reader_section(r);
        dice = g_rand_int_range(r->rng, 0, 1000);
        if (dice < 2) {
            /* Grace periods must skip a blocked, offline thread. */
            rcu_thread_offline();
            g_usleep(g_rand_int_range(r->rng, 100, 2000));
            rcu_thread_online();
        } else if (dice < 50) {
            /* Leave some CPU to everybody else on a shared machine. */
            g_usleep(g_rand_int_range(r->rng, 1, 500));
        }
    }
    if (r->use_notifier) {
        rcu_remove_force_rcu_notifier(&r->kick_notifier);
    }
    rcu_unregister_thread();
    return NULL;
}

/* Callback producers hold back during the quiet window after a burst. */
static void wait_while_quiet(void)
{
    while (qatomic_read(&S.quiet) && !qatomic_read(&torture.stop)) {
        g_usleep(1000);
    }
}

/*
 * Bursts: allocated here, freed through the call_rcu thread, then idle
 * long enough for the call_rcu thread to trim.  A block allocated after
 * the burst pins the top of this thread's heap, so free() alone cannot
 * give the burst back and only malloc_trim() can.
 */
typedef struct BurstObj {
    struct rcu_head rcu;
    struct BurstObj *next;
    uint8_t payload[BURST_BLOCK - sizeof(struct rcu_head) - sizeof(void *)];
} BurstObj;

static void *burst_thread(void *opaque)
{
    size_t count = (size_t)S.burst_mib * MIB / sizeof(BurstObj);
    int64_t next = test_now_ns() + (int64_t)S.burst_period_s * 1000 * MS / 2;

    void *pin = NULL;

    rcu_register_thread();
    while (!qatomic_read(&torture.stop)) {
        BurstObj *head = NULL;
        uint64_t trims;
        int64_t quiet_end;
        long rss;

        if (test_now_ns() < next) {
            g_usleep(10 * 1000);
            continue;
        }
        next += (int64_t)S.burst_period_s * 1000 * MS;
        for (size_t i = 0; i < count; i++) {
            BurstObj *b = g_new(BurstObj, 1);

            memset(b->payload, 0xa5, sizeof(b->payload));
            b->next = head;
            head = b;
        }
        g_free(pin);
        pin = g_malloc(BURST_BLOCK);
        rss = test_rss_bytes();
        qatomic_set(&S.burst_peak, rss);
        S.burst_peak_max = MAX(S.burst_peak_max, rss);

        qatomic_set(&S.quiet, true);
        trims = test_rcu_stats().malloc_trims;
        quiet_end = test_now_ns() + QUIET_MS * MS;
        while (head) {
            BurstObj *n = head->next;

            g_free_rcu(head, rcu);
            head = n;
        }
        qatomic_add(&S.burst_frees, count);
        while (test_now_ns() < quiet_end && !qatomic_read(&torture.stop)) {
            g_usleep(10 * 1000);
        }
        if (test_rcu_stats().malloc_trims != trims) {
            qatomic_inc(&S.bursts_trimmed);
        }
        S.after_trim_max = MAX(S.after_trim_max, test_rss_bytes());
        qatomic_set(&S.quiet, false);
        qatomic_inc(&S.bursts);
    }
    g_free(pin);
    rcu_unregister_thread();
    return NULL;
}

/*
 * The vgpu machine runs for the whole soak in a thread of its own.
 */
static void vgpu_progress(const VgpuProgress *p, void *opaque)
{
    int64_t max = qatomic_read(&S.unmap_max_ns);

    qatomic_set(&S.unmaps, p->done);
    /* Between two unmaps: the device thread holds nothing here. */
    wait_while_quiet();
    /* Only this thread raises it; the sampler resets it. */
    while (p->last_ns > max &&
           qatomic_cmpxchg(&S.unmap_max_ns, max, p->last_ns) != max) {
        max = qatomic_read(&S.unmap_max_ns);
    }
}

static void *vgpu_thread(void *opaque)
{
    S.vgpu_ok = vgpu_machine_run(&S.vcfg, &S.vres);
    return NULL;
}

static void *watchdog_thread(void *opaque)
{
    int64_t limit_s = (int64_t)S.seconds + WATCHDOG_GRACE_S;

    g_usleep(limit_s * G_USEC_PER_SEC);
    fprintf(stderr, "soak: FAIL: still running %" PRId64 " s after the "
            "start: hung\n", limit_s);
    abort();
}

/*
 * Sampling and reports.
 */

/*
 * Bytes the program has malloc'ed and not freed, all arenas: tells RSS
 * that grows with live data from RSS that grows with fragmentation.
 */
static long heap_in_use_bytes(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
#else
    return -1;
#endif
}

static void take_sample(Sample *s, double t)
{
    s->t = t;
    s->rss = test_rss_bytes();
    rcu_get_stats(&s->rcu);
    s->sections = 0;
    for (unsigned i = 0; i < S.nreaders; i++) {
        s->sections += qatomic_read(&S.readers[i].sections);
    }
    s->cb_updates = qatomic_read(&torture.cb_updates);
    s->sync_updates = qatomic_read(&torture.sync_updates[0]) +
                      qatomic_read(&torture.sync_updates[1]) +
                      qatomic_read(&torture.sync_updates[2]) +
                      qatomic_read(&torture.sync_updates[3]);
    s->unmaps = qatomic_read(&S.unmaps);
    s->unmap_max_ns = qatomic_xchg(&S.unmap_max_ns, 0);
    s->bursts = qatomic_read(&S.bursts);
    s->burst_frees = qatomic_read(&S.burst_frees);
    s->burst_peak = qatomic_read(&S.burst_peak);
    s->heap_in_use = heap_in_use_bytes();
    s->errors = qatomic_read(&torture.errors);
}

static void csv_write(FILE *f, const Sample *s)
{
    fprintf(f, "%.1f,%ld,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
            ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.3f,%" PRIu64
            ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.3f,%" PRIu64 ",%" PRIu64
            ",%ld,%ld,%ld\n",
            s->t, s->rss / 1024, s->rcu.grace_periods,
            s->rcu.forced_grace_periods, s->rcu.expedited_grace_periods,
            s->rcu.force_rcu_notifier_calls, s->rcu.callbacks_queued,
            s->rcu.callbacks_run, s->rcu.malloc_trims, s->rcu.stall_warnings,
            s->rcu.max_grace_period_ns / 1e6, s->sections, s->cb_updates,
            s->sync_updates, s->unmaps, s->unmap_max_ns / 1e6, s->bursts,
            s->burst_frees, s->burst_peak / 1024,
            s->heap_in_use < 0 ? -1 : s->heap_in_use / 1024, s->errors);
    fflush(f);
}

/* A summary of samples [from, to] (indices), as deltas from @from - 1. */
static void print_summary(const char *what, guint from, guint to)
{
    const Sample *a = &g_array_index(S.samples, Sample, from ? from - 1 : 0);
    const Sample *b = &g_array_index(S.samples, Sample, to);
    double secs = MAX(b->t - a->t, 0.001);
    long rmin = LONG_MAX, rmax = 0;
    int64_t umax = 0;

    for (guint i = from; i <= to; i++) {
        const Sample *s = &g_array_index(S.samples, Sample, i);

        rmin = MIN(rmin, s->rss);
        rmax = MAX(rmax, s->rss);
        umax = MAX(umax, s->unmap_max_ns);
    }
    printf("soak: %s: %.0f s, readers %.0f sections/s, %" PRIu64
           " GPs (%" PRIu64 " forced, %" PRIu64 " expedited), %" PRIu64
           " callbacks run, %" PRIu64 " unmaps (max %.1f ms), %" PRIu64
           " bursts, %" PRIu64 " trims, rss %.1f-%.1f MiB, %" PRIu64
           " stall warnings, %ld errors\n",
           what, secs, (b->sections - a->sections) / secs,
           b->rcu.grace_periods - a->rcu.grace_periods,
           b->rcu.forced_grace_periods - a->rcu.forced_grace_periods,
           b->rcu.expedited_grace_periods - a->rcu.expedited_grace_periods,
           b->rcu.callbacks_run - a->rcu.callbacks_run,
           b->unmaps - a->unmaps, umax / 1e6, b->bursts - a->bursts,
           b->rcu.malloc_trims - a->rcu.malloc_trims,
           rmin / (double)MIB, rmax / (double)MIB,
           b->rcu.stall_warnings - a->rcu.stall_warnings, b->errors);
    fflush(stdout);
}

/*
 * The peak counts the RSS the burst thread saw at the top of its last
 * burst, which one-second samples mostly miss.
 */
static long rss_extreme(guint from, guint to, bool want_min)
{
    long v = want_min ? LONG_MAX : 0;

    for (guint i = from; i < to; i++) {
        const Sample *s = &g_array_index(S.samples, Sample, i);

        v = want_min ? MIN(v, s->rss) : MAX(v, MAX(s->rss, s->burst_peak));
    }
    return v;
}

/*
 * RSS must not keep growing after warm-up.  The samples are split in
 * thirds; the first is warm-up (heaps, arenas and the graveyard reach
 * their working size).  Both the peak (tops of bursts included) and the
 * floor (the per-second samples, mostly between bursts) of the last
 * third may exceed those of the second third by at most
 * RSS_SLACK_BYTES + RSS_SLACK_PCT percent.  In 10 to 30-minute runs
 * the thirds differed by at most half a MiB; leaking one burst's blocks
 * adds 32 MiB.  In a 10-minute run the rule catches growth faster than
 * about 2.6 MiB a minute; slower leaks need longer runs (lost callbacks
 * are caught by the counters at any rate).  Runs with fewer than
 * 3 * RSS_MIN_THIRD samples are too short to tell.
 */
static bool rss_check(void)
{
    guint n = S.samples->len, third = n / 3;
    const char *what[2] = { "peak", "floor" };
    bool ok = true;

    if (third < RSS_MIN_THIRD) {
        printf("soak: rss: %u samples, too few for the growth rule\n", n);
        return true;
    }
    for (int m = 0; m < 2; m++) {
        long mid = rss_extreme(third, 2 * third, m);
        long last = rss_extreme(2 * third, n, m);
        long limit = mid + RSS_SLACK_BYTES + mid / 100 * RSS_SLACK_PCT;

        printf("soak: rss %s: second third %.1f MiB, last third %.1f MiB, "
               "limit %.1f MiB\n", what[m], mid / (double)MIB,
               last / (double)MIB, limit / (double)MIB);
        if (last > limit) {
            torture_fail("rss %s keeps growing: %.1f MiB after %.1f MiB",
                         what[m], last / (double)MIB, mid / (double)MIB);
            ok = false;
        }
    }
    return ok;
}

static unsigned env_unsigned(const char *name, unsigned def)
{
    const char *s = g_getenv(name);

    return s && *s ? (unsigned)g_ascii_strtoull(s, NULL, 10) : def;
}

static void parse_options(int argc, char **argv)
{
    double seconds = 0;
    int readers = -1, vcpus = -1, burst_mib = -1, burst_period = -1;
    g_autofree char *csv = NULL;
    GOptionEntry entries[] = {
        { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds,
          "Duration (default: QEMU_RCU_SOAK_SECONDS, "
          "QEMU_RCU_SOAK_DEFAULT_SECONDS or 600)", "N" },
        { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv,
          "Write the per-second samples to FILE (default: "
          "QEMU_RCU_SOAK_CSV)", "FILE" },
        { "readers", 0, 0, G_OPTION_ARG_INT, &readers,
          "Torture readers (default 2)", "N" },
        { "vcpus", 0, 0, G_OPTION_ARG_INT, &vcpus,
          "vgpu vCPUs (default 2)", "N" },
        { "burst-mib", 0, 0, G_OPTION_ARG_INT, &burst_mib,
          "MiB freed per burst (default 32)", "N" },
        { "burst-period", 0, 0, G_OPTION_ARG_INT, &burst_period,
          "Seconds between bursts (default 10)", "N" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "- RCU soak test: torture, vgpu unmaps and trim bursts together");
    g_autoptr(GError) err = NULL;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "soak: %s\n", err->message);
        exit(2);
    }
    if (seconds <= 0) {
        seconds = env_unsigned("QEMU_RCU_SOAK_SECONDS", 0);
    }
    if (seconds <= 0) {
        seconds = env_unsigned("QEMU_RCU_SOAK_DEFAULT_SECONDS", 600);
    }
    S.seconds = seconds;
    S.nreaders = readers > 0 ? readers : 2;
    S.vcpus = vcpus > 0 ? vcpus : 2;
    S.burst_mib = burst_mib > 0 ? burst_mib : 32;
    S.burst_period_s = burst_period > 0 ? burst_period : 10;
    S.csv_path = csv ? g_strdup(csv) : g_strdup(g_getenv("QEMU_RCU_SOAK_CSV"));
}

/*
 * The call_rcu thread trims after a burst once it has been idle for
 * trim_idle_us; the quiet window gives it about ten times what it needs,
 * and the rule asks only for half of the bursts.
 */
static void check_bursts(void)
{
    printf("soak: bursts: %" PRIu64 " of %u MiB, %" PRIu64 " followed by a "
           "trim within %d ms; rss at a burst's top up to %.1f MiB, after "
           "its quiet window up to %.1f MiB\n", S.bursts, S.burst_mib,
           S.bursts_trimmed, QUIET_MS, S.burst_peak_max / (double)MIB,
           S.after_trim_max / (double)MIB);
#if defined(CONFIG_MALLOC_TRIM)
    if (S.bursts_trimmed * 2 < S.bursts) {
        torture_fail("only %" PRIu64 " of %" PRIu64 " bursts were trimmed",
                     S.bursts_trimmed, S.bursts);
    }
#endif
}

/*
 * Every callback queued (the torture's, the bursts', the vgpu maps') has
 * run once the queue is drained: every thread that queues them has been
 * joined.  The library counts a callback just before it runs it, so its
 * totals match once drain_call_rcu() returns.
 */
static void check_callbacks(void)
{
    RcuStats st;

    drain_call_rcu();
    rcu_get_stats(&st);

    printf("soak: callbacks: torture %lu queued, %lu run; library %" PRIu64
           " queued, %" PRIu64 " run\n", torture.queued, torture.run,
           st.callbacks_queued, st.callbacks_run);
    if (torture.queued != torture.run) {
        torture_fail("%ld torture callbacks lost",
                     (long)(torture.queued - torture.run));
    }
    if (torture.expected_ticket != torture.next_ticket) {
        torture_fail("torture callbacks ran up to ticket %" PRIu64 " of %"
                     PRIu64, torture.expected_ticket, torture.next_ticket);
    }
    if (st.callbacks_queued != st.callbacks_run) {
        torture_fail("%" PRId64 " callbacks queued but not run",
                     (int64_t)(st.callbacks_queued - st.callbacks_run));
    }
}

static void check_vgpu(void)
{
    const VgpuResult *r = &S.vres;

    printf("soak: vgpu: %u unmaps, latency p50 %.1f ms, p99 %.1f ms, max "
           "%.1f ms; %" PRIu64 " vCPU sections, %" PRIu64 " kicks, %" PRIu64
           " own exits, %" PRIu64 " MMIO under the BQL, longest drain %.1f "
           "ms\n", r->unmaps, r->latency.p50_ns / 1e6,
           r->latency.p99_ns / 1e6, r->latency.max_ns / 1e6,
           r->vcpu.sections, r->vcpu.kick_exits, r->vcpu.own_exits,
           r->vcpu.mmio, r->max_drain_ns / 1e6);
    if (!S.vgpu_ok || r->hung) {
        torture_fail("vgpu: an unmap hung");
        return;
    }
    if (r->unmaps == 0) {
        torture_fail("vgpu: no unmap completed");
    }
    if (r->blobs_finalized != r->unmaps || r->suspends != r->unmaps ||
        r->replays != r->unmaps) {
        torture_fail("vgpu: %u unmaps but %" PRIu64 " finalized, %" PRIu64
                     " suspended, %" PRIu64 " replayed", r->unmaps,
                     r->blobs_finalized, r->suspends, r->replays);
    }
    if (r->finalize_errors || r->vcpu.violations) {
        torture_fail("vgpu: %" PRIu64 " early or repeated finalizations, %"
                     PRIu64 " poisoned regions seen by vCPUs",
                     r->finalize_errors, r->vcpu.violations);
    }
}

int main(int argc, char **argv)
{
    Reader *readers;
    QemuThread cb_upd, sync_upd, burst, vgpu, watchdog;
    GRand *cb_rng, *sync_rng;
    g_autoptr(GRand) rng = g_rand_new();
    FILE *csv = NULL;
    Sample first;
    int64_t start;
    guint minute_from = 0;
    unsigned tick = 0;
    bool stalled = false;

    parse_options(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);

    torture_init(&(TortureConfig) {
        .error_prefix = "soak: FAIL",
        .max_errors_shown = MAX_ERRORS_SHOWN,
        .slots = SLOTS,
        /* Every round pauses, leaving CPU to the other loads. */
        .pause_one_in = 1,
        .min_pause_us = 50,
        .before_update = wait_while_quiet,
        .check_reclaimed = check_not_held,
    });
    /* Sized up front, so the test's own bookkeeping does not grow RSS. */
    S.samples = g_array_sized_new(false, true, sizeof(Sample),
                                  (guint)S.seconds + 16);
    if (S.csv_path) {
        csv = fopen(S.csv_path, "w");
        if (!csv) {
            fprintf(stderr, "soak: %s: %s\n", S.csv_path, strerror(errno));
            return 2;
        }
        fprintf(csv, "t_s,rss_kib,grace_periods,forced_gps,expedited_gps,"
                "notifier_calls,callbacks_queued,callbacks_run,malloc_trims,"
                "stall_warnings,max_gp_ms,reader_sections,cb_updates,"
                "sync_updates,unmaps,unmap_max_ms,bursts,burst_frees,"
                "burst_peak_rss_kib,heap_in_use_kib,errors\n");
    }

    /*
     * The vgpu device holds the BQL across each unmap and drains under
     * it; the vCPUs never leave their sections on their own, and take
     * the BQL inside them (MMIO) and when kicked.
     */
    vgpu_config_init(&S.vcfg);
    S.vcfg.vcpus = S.vcpus;
    S.vcfg.unmaps = 0;
    S.vcfg.duration_ms = (unsigned)(S.seconds * 1000);
    S.vcfg.region_size = 256 * 1024;
    S.vcfg.kick = true;
    S.vcfg.section_ms = 0;
    S.vcfg.mmio_us = 1000;
    S.vcfg.bql_hold_us = 1000;
    S.vcfg.drain_under_bql = true;
    S.vcfg.keep_finalized = false;
    S.vcfg.deadline_ms = 10000;
    S.vcfg.hang_ms = 60000;
    S.vcfg.progress = vgpu_progress;

    printf("soak: %.0f s: %u torture readers (%u with force_rcu notifiers), "
           "call_rcu and synchronous updaters, %u vgpu vCPUs, bursts of %u "
           "MiB every %u s; csv %s\n", S.seconds, S.nreaders,
           (S.nreaders + 1) / 2, S.vcpus, S.burst_mib, S.burst_period_s,
           S.csv_path ? S.csv_path : "(none)");

    readers = g_new0(Reader, S.nreaders);
    S.readers = readers;
    for (unsigned i = 0; i < S.nreaders; i++) {
        readers[i].rng = g_rand_new_with_seed(g_rand_int(rng));
        readers[i].use_notifier = !(i & 1);
    }

    start = test_now_ns();
    take_sample(&first, 0);
    g_array_append_val(S.samples, first);
    qemu_thread_create(&watchdog, "soak-watchdog", watchdog_thread, NULL,
                       QEMU_THREAD_DETACHED);
    for (unsigned i = 0; i < S.nreaders; i++) {
        qemu_thread_create(&readers[i].thread, "soak-reader", reader_thread,
                           &readers[i], QEMU_THREAD_JOINABLE);
    }
    cb_rng = g_rand_new_with_seed(g_rand_int(rng));
    sync_rng = g_rand_new_with_seed(g_rand_int(rng));
    qemu_thread_create(&cb_upd, "soak-cb-upd", torture_call_rcu_updater,
                       cb_rng, QEMU_THREAD_JOINABLE);
    qemu_thread_create(&sync_upd, "soak-sync-upd", torture_sync_updater,
                       sync_rng, QEMU_THREAD_JOINABLE);
    qemu_thread_create(&burst, "soak-burst", burst_thread, NULL,
                       QEMU_THREAD_JOINABLE);
    qemu_thread_create(&vgpu, "soak-vgpu", vgpu_thread, NULL,
                       QEMU_THREAD_JOINABLE);

    for (;;) {
        int64_t next = start + (int64_t)(tick + 1) * 1000 * MS;
        int64_t now = test_now_ns();
        Sample s;

        if (next > now) {
            g_usleep((next - now) / 1000);
        }
        tick++;
        take_sample(&s, (test_now_ns() - start) / 1e9);
        g_array_append_val(S.samples, s);
        if (csv) {
            csv_write(csv, &s);
        }
        if (s.rcu.stall_warnings != first.rcu.stall_warnings) {
            torture_fail("%" PRIu64 " stall warnings although every long "
                         "reader has a force_rcu notifier",
                         s.rcu.stall_warnings - first.rcu.stall_warnings);
            stalled = true;
        }
        if (tick % 60 == 0) {
            g_autofree char *what = g_strdup_printf("minute %u", tick / 60);

            print_summary(what, minute_from, S.samples->len - 1);
            minute_from = S.samples->len;
        }
        if (s.errors || stalled || s.t >= S.seconds) {
            break;
        }
    }

    if (torture.errors) {
        /*
         * The vgpu machine cannot be stopped early, and the process is
         * in an unknown state: report and leave.
         */
        print_summary("at failure", 1, S.samples->len - 1);
        printf("soak: FAIL after %.0f s\n", (test_now_ns() - start) / 1e9);
        fflush(NULL);
        _exit(1);
    }

    qatomic_set(&torture.stop, true);
    qemu_thread_join(&cb_upd);
    qemu_thread_join(&sync_upd);
    qemu_thread_join(&burst);
    for (unsigned i = 0; i < S.nreaders; i++) {
        qemu_thread_join(&readers[i].thread);
        S.kicks += readers[i].kicks;
        g_rand_free(readers[i].rng);
    }
    qemu_thread_join(&vgpu);

    if (tick % 60 && minute_from < S.samples->len) {
        print_summary("last part", minute_from, S.samples->len - 1);
    }
    print_summary("total", 1, S.samples->len - 1);
    check_callbacks();
    check_vgpu();
    check_bursts();
    rss_check();
    torture_finish();
    printf("soak: torture: %lu call_rcu updates, synchronous: %lu "
           "synchronize_rcu, %lu expedited, %lu cond, %lu polled; %" PRIu64
           " hold checks, %lu objects poisoned and freed, %" PRIu64
           " reader sections ended by a kick\n", torture.cb_updates,
           torture.sync_updates[0], torture.sync_updates[1],
           torture.sync_updates[2], torture.sync_updates[3],
           S.held_checks, torture.freed, S.kicks);
    if (csv) {
        fclose(csv);
    }
    vgpu_result_clear(&S.vres);
    g_rand_free(cb_rng);
    g_rand_free(sync_rng);

    if (torture.errors) {
        printf("soak: FAIL (%ld errors)\n", torture.errors);
        return 1;
    }
    printf("soak: PASS\n");
    return 0;
}
