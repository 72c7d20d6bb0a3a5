/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * qemu-rcu-bench: qemu-rcu side by side with liburcu's memb, mb and
 * QSBR flavours, measured in one run.  Prints a table (and optionally
 * JSON) of read-side cost, grace-period latency, call_rcu throughput
 * and latency, and the stall scenario.  docs/benchmarks.md explains
 * every row.
 *
 * This file is the harness: timing, percentiles, threads and output.
 * Each library is driven through a BenchFlavour (bench.h) implemented
 * in its own translation unit.
 */
#include "qemu/osdep.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include "bench.h"
#include "bench-util.h"

/*
 * The columns.  The QEMU anchors (QEMU's own rcu.c, see
 * tests/bench/anchors.sh: qemu-10.x as Debian builds it, without
 * membarrier, and qemu-10.x-membarrier as --enable-membarrier builds
 * it) and qemu-rcu-fences are filled by child processes: the anchors run
 * another executable (--anchor), qemu-rcu-fences this one with
 * QEMU_RCU_MEMBARRIER=0 (--both-modes).
 */
enum {
    FL_Q100,
    FL_Q102,
    FL_Q100M,
    FL_Q102M,
    FL_QEMU,
    FL_FENCES,
    FL_MEMB,
    FL_MB,
    FL_QSBR,
    FL_COUNT
};

static const char *const flavour_names[FL_COUNT] = {
    "qemu-10.0", "qemu-10.2", "qemu-10.0-membarrier", "qemu-10.2-membarrier",
    "qemu-rcu", "qemu-rcu-fences", "urcu-memb", "urcu-mb", "urcu-qsbr",
};

/* The table's two header lines: implementation, then read-side mode. */
static const char *const flavour_heads[FL_COUNT] = {
    "qemu-10.0", "qemu-10.2", "qemu-10.0", "qemu-10.2",
    "qemu-rcu", "qemu-rcu", "urcu-memb", "urcu-mb", "urcu-qsbr",
};

static const char *flavour_mode(int f)
{
    switch (f) {
    case FL_Q100M:
    case FL_Q102M:
    case FL_MEMB:
        return "membarrier";
    case FL_QEMU:
        return qemu_rcu_bench_membarrier() ? "membarrier" : "fences";
    case FL_QSBR:
        return "qsbr";
    default:
        return "fences";
    }
}

/* Filled by a child's run, see above. */
static const char *flavour_child_desc[FL_COUNT];

/* NULL: liburcu (or that flavour) was not found at build time. */
static const BenchFlavour *const flavours_built[FL_COUNT] = {
    NULL,
    NULL,
    NULL,
    NULL,
    &bench_qemu_rcu,
    NULL,
#ifdef HAVE_URCU_MEMB
    &bench_urcu_memb,
#else
    NULL,
#endif
#ifdef HAVE_URCU_MB
    &bench_urcu_mb,
#else
    NULL,
#endif
#ifdef HAVE_URCU_QSBR
    &bench_urcu_qsbr,
#else
    NULL,
#endif
};

/* Built and selected with --only. */
static const BenchFlavour *flavours[FL_COUNT];

typedef struct BenchParams {
    gboolean quick;
    gboolean both_modes;
    gboolean no_pin;
    char *json_file;
    char *json_run_file;
    char *only;
    char **anchors;
    int threads;
    int read_ms;
    int sync_samples;
    int max_ms;
    int callbacks;
    int repeat;
    int latency_samples;
    int idle_samples;
    int stall_samples;
    int section_ns;
    int gap_us;
    int rounds;
    int read_rounds;
    int memory_threads;
    int memory_callbacks;
    char *memory_exe;
    char *memory_child;
    char *round_samples;
} BenchParams;

static BenchParams params = {
    .threads = -1, .read_ms = -1, .sync_samples = -1, .max_ms = -1,
    .callbacks = -1, .repeat = -1, .latency_samples = -1,
    .idle_samples = -1,
    .stall_samples = -1, .section_ns = -1, .gap_us = -1, .rounds = -1,
    .read_rounds = -1, .memory_threads = -1, .memory_callbacks = -1,
};

/* ------------------------------------------------------------------ */
/* Helpers shared with the flavours (bench.h). */

int64_t bench_now_ns(void)
{
    return bench_clock_ns(CLOCK_MONOTONIC);
}

void bench_spin_ns(int64_t ns)
{
    int64_t end = bench_now_ns() + ns;

    while (bench_now_ns() < end) {
        /* Busy-wait: a read-side critical section must not sleep. */
    }
}

void bench_prefault(void *p, size_t size)
{
    long page = sysconf(_SC_PAGESIZE);

    for (size_t i = 0; i < size; i += page) {
        ((volatile char *)p)[i] = 0;
    }
}

void bench_counter_init(BenchCounter *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
}

void bench_counter_destroy(BenchCounter *c)
{
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
}

void bench_counter_reset(BenchCounter *c, uint64_t target)
{
    pthread_mutex_lock(&c->lock);
    __atomic_store_n(&c->count, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&c->target, target, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&c->lock);
}

void bench_counter_add(BenchCounter *c)
{
    /*
     * Every library here runs a counter's callbacks in one thread (its
     * call_rcu thread), so a load and a store suffice; a locked
     * read-modify-write per callback would add several nanoseconds to
     * every flavour's throughput figure and shrink the ratios.  The
     * release store pairs with the acquire load in bench_counter_wait().
     */
    uint64_t n = __atomic_load_n(&c->count, __ATOMIC_RELAXED) + 1;

    __atomic_store_n(&c->count, n, __ATOMIC_RELEASE);
    if (n == __atomic_load_n(&c->target, __ATOMIC_RELAXED)) {
        /* Taking the lock closes the window between check and wait. */
        pthread_mutex_lock(&c->lock);
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
    }
}

void bench_counter_wait(BenchCounter *c)
{
    pthread_mutex_lock(&c->lock);
    while (__atomic_load_n(&c->count, __ATOMIC_ACQUIRE) < c->target) {
        pthread_cond_wait(&c->cond, &c->lock);
    }
    pthread_mutex_unlock(&c->lock);
}

/*
 * How busy the other processes kept the CPUs during the run: busy time
 * of all CPUs from /proc/stat minus this process's own CPU time.
 */
typedef struct CpuSnapshot {
    double busy_s;
    double self_s;
    double wall_s;
} CpuSnapshot;

static CpuSnapshot cpu_start;
static double other_load = NAN;

static void cpu_snapshot(CpuSnapshot *c)
{
    g_autofree char *text = NULL;
    unsigned long long v[8] = { 0 };
    struct rusage ru;

    c->busy_s = NAN;
    if (g_file_get_contents("/proc/stat", &text, NULL, NULL) &&
        sscanf(text, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
               &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
               &v[7]) == 8) {
        /* user nice system [idle iowait] irq softirq steal */
        c->busy_s = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
                    sysconf(_SC_CLK_TCK);
    }
    getrusage(RUSAGE_SELF, &ru);
    c->self_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    c->wall_s = bench_now_ns() / 1e9;
}

/* Fraction of all CPUs that other processes (or the host) used. */
static double cpu_other_load(const CpuSnapshot *a, const CpuSnapshot *b)
{
    double wall = b->wall_s - a->wall_s;
    double other = (b->busy_s - a->busy_s) - (b->self_s - a->self_s);

    return MAX(other, 0) / (wall * sysconf(_SC_NPROCESSORS_ONLN));
}

/* ------------------------------------------------------------------ */
/* Results. */

typedef struct Row {
    char *key;
    char *label;
    const char *unit;
    double v[FL_COUNT];
    /* The library has no such feature: "n/a" rather than "-". */
    bool na[FL_COUNT];
    /* Values within the measurement's resolution of 0: no ratios. */
    bool no_ratio;
    /*
     * The figure of each round, where a row is taken in rounds: its
     * ratios are then paired, round by round.
     */
    GArray *rounds[FL_COUNT];
} Row;

static GPtrArray *rows;

G_GNUC_PRINTF(3, 4)
static Row *row_new(const char *key, const char *unit, const char *fmt, ...)
{
    Row *r = g_new0(Row, 1);
    va_list ap;

    r->key = g_strdup(key);
    r->unit = unit;
    va_start(ap, fmt);
    r->label = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    for (int i = 0; i < FL_COUNT; i++) {
        r->v[i] = NAN;
    }
    g_ptr_array_add(rows, r);
    return r;
}

static void row_free(gpointer p)
{
    Row *r = p;

    g_free(r->key);
    g_free(r->label);
    for (int i = 0; i < FL_COUNT; i++) {
        if (r->rounds[i]) {
            g_array_free(r->rounds[i], true);
        }
    }
    g_free(r);
}

/* Nearest-rank percentile of @s (sorted in place), in nanoseconds. */
static double percentile(GArray *s, double pct)
{
    return s->len ? bench_percentile_i64((int64_t *)s->data, s->len, pct)
                  : NAN;
}

static void record(Row *median, Row *p99, int f, GArray *s, double scale)
{
    if (median) {
        median->v[f] = percentile(s, 50) / scale;
    }
    if (p99) {
        p99->v[f] = percentile(s, 99) / scale;
    }
}

static char *format_count(long n)
{
    if (n >= 1000000 && n % 1000000 == 0) {
        return g_strdup_printf("%ldM", n / 1000000);
    }
    if (n >= 1000 && n % 1000 == 0) {
        return g_strdup_printf("%ldk", n / 1000);
    }
    return g_strdup_printf("%ld", n);
}

/* ------------------------------------------------------------------ */
/* Worker threads. */

typedef enum WorkerKind {
    W_READ,
    W_SECTION,
    W_ENQUEUE,
    W_KICKABLE,
    W_STUCK,
} WorkerKind;

typedef struct Worker {
    pthread_t thread;
    const BenchFlavour *fl;
    WorkerKind kind;
    bool *stop;
    /*
     * Set by a section reader after its first section; for the kickable
     * reader, whether it is inside a section.
     */
    bool running;
    pthread_barrier_t *start;
    void *cbs;
    size_t first, n;
    BenchCounter *done;
    uint64_t result;
    int64_t t0, t1;
    /* Which copy of the read loop (BENCH_READ_LAYOUTS) a reader runs. */
    int layout;
} Worker;

/*
 * The read side is timed in thread CPU time: on a busy machine a reader
 * that is preempted would otherwise be charged for the time it waited.
 */
static int64_t thread_cpu_ns(void)
{
    return bench_clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static void *worker_fn(void *opaque)
{
    Worker *w = opaque;

    w->fl->thread_init();
    if (w->start) {
        pthread_barrier_wait(w->start);
    }
    w->t0 = w->kind == W_READ ? thread_cpu_ns() : bench_now_ns();
    switch (w->kind) {
    case W_READ:
        w->result = w->fl->read_loop[w->layout](w->stop);
        break;
    case W_SECTION:
        w->result = w->fl->section_loop(w->stop, &w->running,
                                        params.section_ns);
        break;
    case W_ENQUEUE:
        w->fl->enqueue(w->cbs, w->first, w->n, w->done);
        break;
    case W_KICKABLE:
        w->result = w->fl->kickable_reader_loop(w->stop, &w->running);
        break;
    case W_STUCK:
        w->fl->stuck_reader(w->stop, &w->running);
        break;
    }
    w->t1 = w->kind == W_READ ? thread_cpu_ns() : bench_now_ns();
    w->fl->thread_exit();
    return NULL;
}

static void worker_start(Worker *w)
{
    int err = pthread_create(&w->thread, NULL, worker_fn, w);

    if (err) {
        fprintf(stderr, "pthread_create: %s\n", strerror(err));
        exit(1);
    }
}

/* The main thread's CPUs before background_start() pinned it. */
static cpu_set_t main_cpus;

static void pin_to(pthread_t thread, int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(thread, sizeof(set), &set);
}

/*
 * Puts the writer on the first and the reader on the last CPU the
 * process may use, so that the reader really runs concurrently with the
 * writer whatever the scheduler's placement of a new thread.
 */
static void pin_apart(pthread_t reader)
{
    int first = -1, last = -1;

    if (params.no_pin ||
        pthread_getaffinity_np(pthread_self(), sizeof(main_cpus),
                               &main_cpus)) {
        return;
    }
    for (int i = 0; i < CPU_SETSIZE; i++) {
        if (CPU_ISSET(i, &main_cpus)) {
            first = first < 0 ? i : first;
            last = i;
        }
    }
    if (first != last) {
        pin_to(pthread_self(), first);
        pin_to(reader, last);
    }
}

static void unpin(void)
{
    if (!params.no_pin) {
        pthread_setaffinity_np(pthread_self(), sizeof(main_cpus),
                               &main_cpus);
    }
}

/* A reader running in the background while the main thread measures. */
static Worker *background_start(const BenchFlavour *fl, WorkerKind kind,
                                bool *stop)
{
    Worker *w = g_new0(Worker, 1);

    w->fl = fl;
    w->kind = kind;
    w->stop = stop;
    __atomic_store_n(stop, false, __ATOMIC_RELAXED);
    worker_start(w);
    pin_apart(w->thread);
    while (!__atomic_load_n(&w->running, __ATOMIC_RELAXED)) {
        g_usleep(100);
    }
    return w;
}

/*
 * Waits until the kickable reader is inside a critical section, which
 * only a grace period's kick ends: a reader that was kicked by the
 * previous sample and is not running yet would make the next one look
 * like an idle grace period.
 */
static void wait_inside(Worker *w)
{
    while (w && !__atomic_load_n(&w->running, __ATOMIC_RELAXED)) {
        g_usleep(10);
    }
}

static uint64_t background_stop(Worker *w)
{
    uint64_t result;

    __atomic_store_n(w->stop, true, __ATOMIC_RELAXED);
    pthread_join(w->thread, NULL);
    unpin();
    result = w->result;
    g_free(w);
    return result;
}

/* ------------------------------------------------------------------ */
/* Measurements. */

static bool sampling_done(int done, int samples, int max_ms, int64_t start)
{
    return done >= samples ||
           (done >= 3 && bench_now_ns() - start > (int64_t)max_ms * 1000000);
}

/*
 * CPU nanoseconds per read-side critical section over all threads: their
 * CPU time over their sections, so that a thread that a busy machine
 * hardly let run weighs by what it did (a per-thread average would
 * divide its start-up cost by a handful of sections).
 */
static double measure_read_layout(const BenchFlavour *fl, int nthreads,
                                  int layout, int ms)
{
    g_autofree Worker *w = g_new0(Worker, nthreads);
    pthread_barrier_t start;
    bool stop = false;
    double cpu = 0, sections = 0;

    pthread_barrier_init(&start, NULL, nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        w[i].fl = fl;
        w[i].kind = W_READ;
        w[i].layout = layout;
        w[i].stop = &stop;
        w[i].start = &start;
        worker_start(&w[i]);
    }
    pthread_barrier_wait(&start);
    g_usleep(ms * 1000);
    __atomic_store_n(&stop, true, __ATOMIC_RELAXED);
    for (int i = 0; i < nthreads; i++) {
        pthread_join(w[i].thread, NULL);
        cpu += w[i].t1 - w[i].t0;
        sections += w[i].result;
    }
    pthread_barrier_destroy(&start);
    return sections ? cpu / sections : NAN;
}

/*
 * ns per section with @nthreads readers: the median over the read
 * loop's copies (bench.h; the mean of the middle two), each run for a
 * share of @ms.
 */
static double measure_read_side(const BenchFlavour *fl, int nthreads,
                                int ms)
{
    double v[BENCH_READ_LAYOUTS];

    for (int k = 0; k < BENCH_READ_LAYOUTS; k++) {
        v[k] = measure_read_layout(fl, nthreads, k,
                                   MAX(ms / BENCH_READ_LAYOUTS, 1));
    }
    qsort(v, BENCH_READ_LAYOUTS, sizeof(v[0]), bench_cmp_double);
    return (v[BENCH_READ_LAYOUTS / 2 - 1] + v[BENCH_READ_LAYOUTS / 2]) / 2;
}

/* @reader: the kickable reader to wait for before each sample, or NULL */
/* Each sample times @batch back-to-back calls of @op. */
static GArray *sample_op(void (*op)(void), int samples, int max_ms,
                         int batch, Worker *reader)
{
    GArray *s = g_array_new(false, false, sizeof(int64_t));
    int64_t start = bench_now_ns();

    for (int i = 0; !sampling_done(i, samples, max_ms, start); i++) {
        int64_t t0;

        wait_inside(reader);
        t0 = bench_now_ns();
        for (int k = 0; k < batch; k++) {
            op();
        }
        t0 = bench_now_ns() - t0;
        g_array_append_val(s, t0);
    }
    return s;
}

/*
 * An idle synchronize_rcu() takes about 25 ns here, and this VM's clock
 * (the TSC, read by clock_gettime()) moves in steps of 10 ns: one call
 * per sample would measure the step.  Each of its samples times a batch
 * of SYNC_IDLE_BATCH back-to-back calls; the rows divide by it.
 */
#define SYNC_IDLE_BATCH 8

/* Time from call_rcu to the callback having run, one at a time. */
static GArray *sample_callback_latency(const BenchFlavour *fl, int samples,
                                       int max_ms, int gap_us, Worker *reader)
{
    GArray *s = g_array_new(false, false, sizeof(int64_t));
    void *cbs = fl->alloc_callbacks(samples);
    int64_t start = bench_now_ns();
    BenchCounter done;

    bench_counter_init(&done);
    for (int i = 0; !sampling_done(i, samples, max_ms, start); i++) {
        int64_t t0;

        g_usleep(gap_us);
        wait_inside(reader);
        bench_counter_reset(&done, 1);
        t0 = bench_now_ns();
        fl->enqueue(cbs, i, 1, &done);
        bench_counter_wait(&done);
        t0 = bench_now_ns() - t0;
        g_array_append_val(s, t0);
    }
    bench_counter_destroy(&done);
    fl->free_callbacks(cbs);
    return s;
}

/*
 * drain_call_rcu() latency.  With @queued each sample first queues one
 * callback, timed with the drain, so that the drain has a callback to
 * wait for: with nothing queued qemu-rcu's drain returns at once.
 */
static GArray *sample_barrier_latency(const BenchFlavour *fl, int samples,
                                      int max_ms, int gap_us, Worker *reader,
                                      bool queued)
{
    GArray *s = g_array_new(false, false, sizeof(int64_t));
    void *cbs = queued ? fl->alloc_callbacks(samples) : NULL;
    int64_t start = bench_now_ns();
    BenchCounter done;

    bench_counter_init(&done);
    for (int i = 0; !sampling_done(i, samples, max_ms, start); i++) {
        int64_t t0;

        g_usleep(gap_us);
        wait_inside(reader);
        bench_counter_reset(&done, queued);
        t0 = bench_now_ns();
        if (queued) {
            fl->enqueue(cbs, i, 1, &done);
        }
        fl->barrier();
        t0 = bench_now_ns() - t0;
        g_array_append_val(s, t0);
        /* Returns at once: the drain ran the callback. */
        bench_counter_wait(&done);
    }
    bench_counter_destroy(&done);
    if (cbs) {
        fl->free_callbacks(cbs);
    }
    return s;
}

/*
 * @count callbacks from @producers threads: the time until the last
 * callback ran and the enqueue cost per call, medians of
 * params.repeat runs, in nanoseconds.
 */
static void measure_call_rcu(const BenchFlavour *fl, int producers,
                             double *total_ns, double *enqueue_ns)
{
    GArray *totals = g_array_new(false, false, sizeof(int64_t));
    GArray *enqueues = g_array_new(false, false, sizeof(int64_t));
    size_t count = params.callbacks;

    for (int r = 0; r < params.repeat; r++) {
        g_autofree Worker *w = g_new0(Worker, producers);
        void *cbs = fl->alloc_callbacks(count);
        pthread_barrier_t start;
        BenchCounter done;
        int64_t t0, t_enq = 0, t_all;

        bench_counter_init(&done);
        bench_counter_reset(&done, count);
        pthread_barrier_init(&start, NULL, producers + 1);
        for (int i = 0; i < producers; i++) {
            w[i].fl = fl;
            w[i].kind = W_ENQUEUE;
            w[i].start = &start;
            w[i].cbs = cbs;
            w[i].first = count * i / producers;
            w[i].n = count * (i + 1) / producers - w[i].first;
            w[i].done = &done;
            worker_start(&w[i]);
        }
        pthread_barrier_wait(&start);
        bench_counter_wait(&done);
        t_all = bench_now_ns();
        /*
         * On a busy machine the producers may be done before this thread
         * returns from the barrier: time from the first one's start.
         */
        t0 = INT64_MAX;
        for (int i = 0; i < producers; i++) {
            pthread_join(w[i].thread, NULL);
            t0 = MIN(t0, w[i].t0);
        }
        for (int i = 0; i < producers; i++) {
            t_enq = MAX(t_enq, w[i].t1 - t0);
        }
        t_all -= t0;
        g_array_append_val(totals, t_all);
        g_array_append_val(enqueues, t_enq);
        pthread_barrier_destroy(&start);
        bench_counter_destroy(&done);
        fl->free_callbacks(cbs);
    }
    *total_ns = percentile(totals, 50);
    *enqueue_ns = percentile(enqueues, 50) / count;
    g_array_free(totals, true);
    g_array_free(enqueues, true);
}

/*
 * A read-side figure of a few nanoseconds follows the host's speed,
 * which on a VM drifts by tens of percent between minutes; the rows are
 * taken in the rounds of run_rounds(), where every column runs within
 * seconds of the others.  This only creates the rows.
 */
static Row **read_rows;

static void run_read_side(void)
{
    read_rows = g_new0(Row *, params.threads);
    for (int t = 1; t <= params.threads; t++) {
        g_autofree char *key = g_strdup_printf("read_%dthread_ns", t);

        read_rows[t - 1] = row_new(key, "ns",
                                   "read lock+deref+unlock, %d thread%s",
                                   t, t > 1 ? "s" : "");
    }
}

/*
 * On a shared machine this figure switches, for every library alike,
 * between a fast mode and one about 40 times slower as other jobs come
 * and go; taking it in rounds that alternate between the libraries
 * exposes each of them to the same conditions.
 */
static void run_busy_reader(Row *med, Row *p99)
{
    GArray *s[FL_COUNT] = { NULL };
    int per_round = MAX(params.sync_samples / params.rounds, 1);

    for (int r = 0; r < params.rounds; r++) {
        for (int f = 0; f < FL_COUNT; f++) {
            const BenchFlavour *fl = flavours[f];
            GArray *part;
            bool stop;
            Worker *w;

            if (!fl) {
                continue;
            }
            w = background_start(fl, W_SECTION, &stop);
            part = sample_op(fl->synchronize, per_round, params.max_ms, 1,
                             NULL);
            background_stop(w);
            if (!s[f]) {
                s[f] = g_array_new(false, false, sizeof(int64_t));
            }
            g_array_append_vals(s[f], part->data, part->len);
            g_array_free(part, true);
        }
    }
    for (int f = 0; f < FL_COUNT; f++) {
        if (s[f]) {
            record(med, p99, f, s[f], 1e3);
            g_array_free(s[f], true);
        }
    }
}

/*
 * The idle figures, and the rows that run_rounds() fills with them:
 * idle_rows[figure][0] the median, [1] the p99.
 */
enum { IDLE_SYNC, IDLE_CALLBACK, IDLE_DRAIN, IDLE_DRAIN_QUEUED, IDLE_FIGURES };
static Row *idle_rows[IDLE_FIGURES][2];

/*
 * An idle synchronize_rcu() takes a few tens of nanoseconds, and on a
 * VM one process runs the same loop at 40 ns and the next at 70, for
 * every library; its rows are taken in the rounds of run_rounds(), with
 * the other idle rows, so that every column meets both speeds.
 */
static void run_synchronize(void)
{
    Row *busy_med, *busy_p99;

    idle_rows[IDLE_SYNC][0] = row_new("sync_idle_median_us", "us",
                                      "synchronize_rcu idle, median");
    idle_rows[IDLE_SYNC][1] = row_new("sync_idle_p99_us", "us",
                                      "synchronize_rcu idle, p99");
    busy_med = row_new("sync_reader_median_us", "us",
                       "synchronize_rcu, %d ns-section reader, median",
                       params.section_ns);
    busy_p99 = row_new("sync_reader_p99_us", "us",
                       "synchronize_rcu, %d ns-section reader, p99",
                       params.section_ns);
    run_busy_reader(busy_med, busy_p99);
}

/*
 * call_rows[p - 1][0]: all ran with p producers, in ms; [1] the enqueue
 * per call, in ns.  Throughput follows the host's speed of the minute
 * as the read side does: the rows are taken in the rounds of
 * run_rounds(), params.repeat of them.  This only creates the rows.
 */
static Row *call_rows[2][2];

static void run_call_rcu(void)
{
    g_autofree char *n = format_count(params.callbacks);

    for (int p = 1; p <= 2; p++) {
        g_autofree char *total_key =
            g_strdup_printf("call_rcu_all_ran_%dp_ms", p);
        g_autofree char *enq_key =
            g_strdup_printf("call_rcu_enqueue_%dp_ns", p);
        Row *total = row_new(total_key, "ms", "%s call_rcu until all ran, "
                             "%d producer%s", n, p, p > 1 ? "s" : "");
        Row *enq = row_new(enq_key, "ns", "call_rcu enqueue per call, "
                           "%d producer%s", p, p > 1 ? "s" : "");

        call_rows[p - 1][0] = total;
        call_rows[p - 1][1] = enq;
    }
}

/*
 * Appends @sync_samples of an idle synchronize_rcu() (batches of
 * SYNC_IDLE_BATCH calls) and @samples of each other idle figure of @fl
 * to @out, in ns, each figure capped at @max_ms.
 */
static void sample_idle(const BenchFlavour *fl, int sync_samples,
                        int samples, int max_ms, GArray *out[IDLE_FIGURES])
{
    GArray *s[IDLE_FIGURES] = {
        sample_op(fl->synchronize, sync_samples, max_ms, SYNC_IDLE_BATCH,
                  NULL),
        sample_callback_latency(fl, samples, max_ms, params.gap_us, NULL),
        sample_barrier_latency(fl, samples, max_ms, params.gap_us, NULL,
                               false),
        sample_barrier_latency(fl, samples, max_ms, params.gap_us, NULL,
                               true),
    };

    for (int i = 0; i < IDLE_FIGURES; i++) {
        g_array_append_vals(out[i], s[i]->data, s[i]->len);
        g_array_free(s[i], true);
    }
}

/*
 * The idle rows follow how fast this host wakes a sleeping thread, which
 * on a VM switches between levels for minutes at a time; the rows are
 * taken in rounds that alternate between every column, each in a fresh
 * process, after the rest of the run (run_rounds()).  This only creates
 * the rows.
 */
static void run_idle_latency(void)
{
    static const struct {
        const char *key;
        const char *label;
    } figures[IDLE_FIGURES] = {
        /* IDLE_SYNC's rows come with the other grace-period rows. */
        [IDLE_CALLBACK] = { "callback_idle", "call_rcu callback latency idle" },
        [IDLE_DRAIN] = { "drain_idle", "drain_call_rcu (rcu_barrier) idle" },
        [IDLE_DRAIN_QUEUED] = { "drain_queued_idle",
                                "call_rcu + drain_call_rcu idle" },
    };

    for (int i = IDLE_CALLBACK; i < IDLE_FIGURES; i++) {
        g_autofree char *median = g_strdup_printf("%s_median_us",
                                                  figures[i].key);
        g_autofree char *p99 = g_strdup_printf("%s_p99_us", figures[i].key);

        idle_rows[i][0] = row_new(median, "us", "%s, median",
                                  figures[i].label);
        idle_rows[i][1] = row_new(p99, "us", "%s, p99", figures[i].label);
    }
}

static void mark_na(Row *r, const BenchFlavour *fl, int f, bool has)
{
    if (r && fl && !has) {
        r->na[f] = true;
    }
}

static void run_forcing(void)
{
    Row *cb_med = row_new("callback_stuck_reader_median_ms", "ms",
                          "callback latency, kickable stuck reader, median");
    Row *cb_p99 = row_new("callback_stuck_reader_p99_ms", "ms",
                          "callback latency, kickable stuck reader, p99");
    Row *sy_med = row_new("sync_stuck_reader_median_ms", "ms",
                          "synchronize_rcu, kickable stuck reader, median");
    Row *dr_med = row_new("drain_stuck_reader_median_ms", "ms",
                          "drain_call_rcu, kickable stuck reader, median");
    Row *dq_med = row_new("drain_queued_stuck_reader_median_ms", "ms",
                          "call_rcu + drain, kickable stuck reader, "
                          "median");
    Row *dq_p99 = row_new("drain_queued_stuck_reader_p99_ms", "ms",
                          "call_rcu + drain, kickable stuck reader, p99");
    Row *ex_med = row_new("expedited_idle_median_us", "us",
                          "synchronize_rcu_expedited idle, median");
    Row *ex_p99 = row_new("expedited_idle_p99_us", "us",
                          "synchronize_rcu_expedited idle, p99");
    Row *ex_stuck = row_new("expedited_stuck_reader_median_us", "us",
                            "synchronize_rcu_expedited, stuck reader, "
                            "median");

    for (int f = 0; f < FL_COUNT; f++) {
        const BenchFlavour *fl = flavours[f];
        bool kickable = fl && fl->kickable_reader_loop;
        /* Without it, a grace period with the stuck reader never ends. */
        bool kick_gp = kickable && fl->kick_in_grace_period;
        bool expedited = fl && fl->synchronize_expedited;
        bool stop;
        Worker *w;
        GArray *s;

        mark_na(cb_med, fl, f, kick_gp);
        mark_na(cb_p99, fl, f, kick_gp);
        mark_na(sy_med, fl, f, kick_gp);
        mark_na(dr_med, fl, f, kickable);
        mark_na(dq_med, fl, f, kickable);
        mark_na(dq_p99, fl, f, kickable);
        mark_na(ex_med, fl, f, expedited);
        mark_na(ex_p99, fl, f, expedited);
        mark_na(ex_stuck, fl, f, expedited && kickable);

        if (expedited) {
            s = sample_op(fl->synchronize_expedited, params.sync_samples,
                          params.max_ms, 1, NULL);
            record(ex_med, ex_p99, f, s, 1e3);
            g_array_free(s, true);
        }
        if (!kickable) {
            continue;
        }
        w = background_start(fl, W_KICKABLE, &stop);
        if (kick_gp) {
            s = sample_callback_latency(fl, params.stall_samples,
                                        params.max_ms, 1000, w);
            record(cb_med, cb_p99, f, s, 1e6);
            g_array_free(s, true);
            s = sample_op(fl->synchronize, params.stall_samples,
                          params.max_ms, 1, w);
            record(sy_med, NULL, f, s, 1e6);
            g_array_free(s, true);
        }
        /*
         * A drain that kicks costs microseconds, not the 50 ms of a
         * grace period the reader holds: take as many samples as the
         * idle rows, so that the p99 is not the largest of 40 (max_ms
         * still caps a column whose drain waits for the reader).
         */
        s = sample_barrier_latency(fl, params.latency_samples, params.max_ms,
                                   1000, w, false);
        record(dr_med, NULL, f, s, 1e6);
        g_array_free(s, true);
        s = sample_barrier_latency(fl, params.latency_samples, params.max_ms,
                                   1000, w, true);
        record(dq_med, dq_p99, f, s, 1e6);
        g_array_free(s, true);
        if (expedited) {
            s = sample_op(fl->synchronize_expedited, params.sync_samples,
                          params.max_ms, 1, w);
            record(ex_stuck, NULL, f, s, 1e3);
            g_array_free(s, true);
        }
        background_stop(w);
    }
}

/* ------------------------------------------------------------------ */
/*
 * Memory.  Each figure is taken in a fresh child process per column
 * (this executable again, with --memory-child), so that no column
 * inherits another's cached thread stacks or heap, and the anchors,
 * built from this file, do the same in theirs.
 */

/* The idle threads' stacks: small and the same for every column. */
#define MEMORY_STACK_SIZE (64 * 1024)

/* VmRSS of this process in KiB, from /proc/self/status. */
static long vmrss_kib(void)
{
    g_autofree char *text = NULL;
    const char *p;

    if (!g_file_get_contents("/proc/self/status", &text, NULL, NULL) ||
        !(p = strstr(text, "\nVmRSS:"))) {
        fprintf(stderr, "qemu-rcu-bench: no VmRSS in /proc/self/status\n");
        exit(1);
    }
    return strtol(p + strlen("\nVmRSS:"), NULL, 10);
}

/* The idle population: threads parked until released. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t all_parked;
    pthread_cond_t go;
    int parked, target;
    bool release;
} park = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .all_parked = PTHREAD_COND_INITIALIZER,
    .go = PTHREAD_COND_INITIALIZER,
};

/* @opaque: the flavour to register with, or NULL to stay unregistered. */
static void *parked_thread(void *opaque)
{
    const BenchFlavour *fl = opaque;

    if (fl) {
        fl->thread_init();
    }
    pthread_mutex_lock(&park.lock);
    if (++park.parked == park.target) {
        pthread_cond_signal(&park.all_parked);
    }
    while (!park.release) {
        pthread_cond_wait(&park.go, &park.lock);
    }
    pthread_mutex_unlock(&park.lock);
    if (fl) {
        fl->thread_exit();
    }
    return NULL;
}

static void *register_once_thread(void *opaque)
{
    const BenchFlavour *fl = opaque;

    fl->thread_init();
    fl->thread_exit();
    return NULL;
}

static pthread_t memory_thread_start(pthread_attr_t *attr,
                                     void *(*fn)(void *), void *arg)
{
    pthread_t t;
    int err = pthread_create(&t, attr, fn, arg);

    if (err) {
        fprintf(stderr, "qemu-rcu-bench: pthread_create: %s\n",
                strerror(err));
        exit(1);
    }
    return t;
}

/*
 * RSS before and after starting params.memory_threads threads that
 * (if @fl) register and then block outside any critical section.
 */
static void memory_threads(const BenchFlavour *fl, long *rss)
{
    int n = params.memory_threads;
    g_autofree pthread_t *t = g_new(pthread_t, n);
    pthread_attr_t attr;

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, MEMORY_STACK_SIZE);
    /*
     * Both children of a column (registered or not) first run one thread
     * that registers and unregisters, so that the code of both paths is
     * paged in before the baseline in either.
     */
    pthread_join(memory_thread_start(&attr, register_once_thread,
                                     (void *)fl), NULL);
    park.target = n;
    rss[0] = vmrss_kib();
    for (int i = 0; i < n; i++) {
        t[i] = memory_thread_start(&attr, parked_thread,
                                   !strcmp(params.memory_child,
                                           "threads-registered") ?
                                   (void *)fl : NULL);
    }
    pthread_mutex_lock(&park.lock);
    while (park.parked < n) {
        pthread_cond_wait(&park.all_parked, &park.lock);
    }
    pthread_mutex_unlock(&park.lock);
    rss[1] = vmrss_kib();

    pthread_mutex_lock(&park.lock);
    park.release = true;
    pthread_cond_broadcast(&park.go);
    pthread_mutex_unlock(&park.lock);
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
    }
    pthread_attr_destroy(&attr);
}

/*
 * RSS before and after allocating params.memory_callbacks callback
 * objects, and once they are queued, while a stuck reader keeps all of
 * them from running.  Fails if any ran before the reader left.
 */
static void memory_callbacks(const BenchFlavour *fl, long *rss)
{
    size_t n = params.memory_callbacks;
    BenchCounter done;
    uint64_t ran;
    void *cbs;
    bool stop;
    Worker *w;

    /* The call_rcu thread and anything created on first use. */
    bench_counter_init(&done);
    cbs = fl->alloc_callbacks(1);
    bench_counter_reset(&done, 1);
    fl->enqueue(cbs, 0, 1, &done);
    bench_counter_wait(&done);
    fl->free_callbacks(cbs);

    w = background_start(fl, W_STUCK, &stop);
    /*
     * Pairs with the reader's release store: its critical section began
     * before anything below, so every grace period these callbacks need
     * waits for it.
     */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    rss[0] = vmrss_kib();
    cbs = fl->alloc_callbacks(n);
    rss[1] = vmrss_kib();
    bench_counter_reset(&done, n);
    fl->enqueue(cbs, 0, n, &done);
    rss[2] = vmrss_kib();
    ran = __atomic_load_n(&done.count, __ATOMIC_ACQUIRE);
    background_stop(w);
    bench_counter_wait(&done);
    bench_counter_destroy(&done);
    fl->free_callbacks(cbs);
    if (ran) {
        fprintf(stderr, "qemu-rcu-bench: %s ran %" PRIu64 " of %zu "
                "callbacks while a reader stayed in its critical section\n",
                fl->name, ran, n);
        exit(1);
    }
}

/*
 * The child's side: the scenario params.memory_child for the one
 * flavour selected with --only; prints "memory" and the RSS readings
 * in KiB on stdout.
 */
static int memory_child_main(void)
{
    const BenchFlavour *fl = NULL;
    long rss[3] = { 0, 0, 0 };

    for (int f = 0; f < FL_COUNT; f++) {
        if (flavours[f]) {
            if (fl) {
                fprintf(stderr, "qemu-rcu-bench: --memory-child wants one "
                        "flavour (--only)\n");
                return 2;
            }
            fl = flavours[f];
        }
    }
    if (!fl) {
        fprintf(stderr, "qemu-rcu-bench: --memory-child: no flavour\n");
        return 2;
    }
    /* A scenario that hangs fails its column rather than the whole run. */
    alarm(600);
    fl->main_init();
    if (!strcmp(params.memory_child, "threads-registered") ||
        !strcmp(params.memory_child, "threads-unregistered")) {
        memory_threads(fl, rss);
    } else if (!strcmp(params.memory_child, "callbacks")) {
        memory_callbacks(fl, rss);
    } else {
        fprintf(stderr, "qemu-rcu-bench: unknown --memory-child '%s'\n",
                params.memory_child);
        return 2;
    }
    printf("memory %ld %ld %ld\n", rss[0], rss[1], rss[2]);
    return 0;
}

/*
 * Runs @argv (NULL-terminated) to completion, with QEMU_RCU_MEMBARRIER=0
 * if @fences, its standard output in @out (discarded if @out is NULL);
 * false, with @err set, if it could not run or failed.
 */
static bool spawn_child(GPtrArray *argv, bool fences, char **out,
                        GError **err)
{
    g_auto(GStrv) envp = g_get_environ();
    int status;

    if (fences) {
        envp = g_environ_setenv(envp, "QEMU_RCU_MEMBARRIER", "0", true);
    }
    fflush(stdout);
    return g_spawn_sync(NULL, (char **)argv->pdata, envp,
                        out ? G_SPAWN_DEFAULT : G_SPAWN_STDOUT_TO_DEV_NULL,
                        NULL, NULL, out, NULL, &status, err) &&
           g_spawn_check_wait_status(status, err);
}

/*
 * Runs @scenario for column @f in a child, qemu-rcu's in
 * params.memory_exe if given; false if it failed.
 */
static bool memory_child(int f, const char *scenario, long *rss)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL;

    g_ptr_array_add(argv, g_strdup(f == FL_QEMU && params.memory_exe ?
                                   params.memory_exe : "/proc/self/exe"));
    g_ptr_array_add(argv, g_strdup_printf("--only=%s", flavour_names[f]));
    g_ptr_array_add(argv, g_strdup_printf("--memory-child=%s", scenario));
    g_ptr_array_add(argv, g_strdup_printf("--memory-threads=%d",
                                          params.memory_threads));
    g_ptr_array_add(argv, g_strdup_printf("--memory-callbacks=%d",
                                          params.memory_callbacks));
    if (params.no_pin) {
        g_ptr_array_add(argv, g_strdup("--no-pin"));
    }
    g_ptr_array_add(argv, NULL);
    if (!spawn_child(argv, false, &out, &err)) {
        fprintf(stderr, "qemu-rcu-bench: %s: memory scenario %s failed: "
                "%s\n", flavour_names[f], scenario, err->message);
        return false;
    }
    if (sscanf(out, "memory %ld %ld %ld", &rss[0], &rss[1], &rss[2]) != 3) {
        fprintf(stderr, "qemu-rcu-bench: %s: memory scenario %s gave no "
                "result\n", flavour_names[f], scenario);
        return false;
    }
    return true;
}

/* False if a column's scenario failed. */
static bool run_memory(void)
{
    g_autofree char *nt = format_count(params.memory_threads);
    g_autofree char *nc = format_count(params.memory_callbacks);
    Row *unreg, *reg, *per_thread, *cb, *per_cb;
    bool ok = true;

    if (params.memory_threads <= 0 || params.memory_callbacks <= 0) {
        return true;
    }
    unreg = row_new("memory_threads_unregistered_kib", "KiB",
                    "RSS growth, %s threads not registered", nt);
    reg = row_new("memory_threads_registered_kib", "KiB",
                  "RSS growth, %s registered threads", nt);
    per_thread = row_new("memory_per_registered_thread_bytes", "B",
                         "RSS per registered thread beyond the thread");
    cb = row_new("memory_callbacks_mib", "MiB",
                 "RSS growth, %s queued callbacks", nc);
    per_cb = row_new("memory_per_queued_callback_bytes", "B",
                     "RSS per queued callback beyond the object");
    /*
     * The first row is the threads' own cost, which differs only with
     * the executable's static TLS; the per-item rows are within a few
     * bytes of 0 for most columns.  Ratios of those would mislead.
     */
    unreg->no_ratio = per_thread->no_ratio = per_cb->no_ratio = true;

    for (int f = 0; f < FL_COUNT; f++) {
        long u[3], r[3], c[3];

        if (!flavours[f]) {
            continue;
        }
        fprintf(stderr, "qemu-rcu-bench: memory, %s...\n",
                flavours[f]->name);
        if (!memory_child(f, "threads-unregistered", u) ||
            !memory_child(f, "threads-registered", r) ||
            !memory_child(f, "callbacks", c)) {
            ok = false;
            continue;
        }
        unreg->v[f] = u[1] - u[0];
        reg->v[f] = r[1] - r[0];
        per_thread->v[f] = (double)(reg->v[f] - unreg->v[f]) * 1024 /
                           params.memory_threads;
        cb->v[f] = (c[2] - c[0]) / 1024.0;
        per_cb->v[f] = (double)(c[2] - c[1]) * 1024 /
                       params.memory_callbacks;
    }
    return ok;
}

/* ------------------------------------------------------------------ */
/* Output. */

static char *format_value(const Row *r, int f)
{
    double v = r->v[f];

    if (r->na[f]) {
        return g_strdup("n/a");
    }
    if (isnan(v)) {
        return g_strdup("-");
    }
    if (v < 10) {
        return g_strdup_printf("%.2f", v);
    }
    if (v < 1000) {
        return g_strdup_printf("%.1f", v);
    }
    return g_strdup_printf("%.0f", v);
}

/*
 * Paired: the median over the rounds of column @own's figure against
 * column @b's in the same round, so that both sides of each ratio met
 * the same moment of the host.  NAN unless both were taken in the same
 * rounds.
 */
static double ratio_paired(const Row *r, int own, int b)
{
    GArray *x = r->rounds[own], *y = r->rounds[b];
    g_autofree double *q = NULL;
    guint n = 0;

    if (!x || !y || x->len != y->len) {
        return NAN;
    }
    q = g_new(double, x->len);
    for (guint i = 0; i < x->len; i++) {
        double other = g_array_index(y, double, i);

        if (other > 0) {
            q[n++] = g_array_index(x, double, i) / other;
        }
    }
    return n ? bench_percentile_double(q, n, 50) : NAN;
}

/* a / b for the same row, NAN when either is missing. */
static double ratio2(const Row *r, int a, int b)
{
    double x = r->v[a], y = r->v[b];

    if (r->na[a] || r->na[b] || isnan(x) || isnan(y) || y <= 0) {
        return NAN;
    }
    if (r->rounds[a] && r->rounds[b]) {
        return ratio_paired(r, a, b);
    }
    return x / y;
}

static double ratio(const Row *r, int f)
{
    return ratio2(r, FL_QEMU, f);
}

/*
 * Column @own against the better of two QEMU anchors for this row:
 * every row is a time, so the better anchor is the one that gives the
 * larger ratio (paired or not).  Not the better of the two in each
 * round: two equal QEMUs would then be a few percent ahead of either
 * of them, by the noise of the rounds alone.
 */
static double ratio_best_of(const Row *r, int own, int q100, int q102)
{
    double a, b;

    if (own < 0) {
        return NAN;
    }
    a = ratio2(r, own, q100);
    b = ratio2(r, own, q102);
    if (isnan(a)) {
        return b;
    }
    return isnan(b) ? a : MAX(a, b);
}

/* qemu-rcu's column in the mode QEMU uses when Debian builds it. */
static int own_fences_column(void)
{
    return qemu_rcu_bench_membarrier() ? FL_FENCES : FL_QEMU;
}

/* Like for like: fences against QEMU as Debian builds it. */
static double ratio_fences_vs_qemu(const Row *r)
{
    return ratio_best_of(r, own_fences_column(), FL_Q100, FL_Q102);
}

/* Like for like: membarrier against QEMU --enable-membarrier. */
static double ratio_membarrier_vs_qemu(const Row *r)
{
    return ratio_best_of(r, qemu_rcu_bench_membarrier() ? FL_QEMU : -1,
                         FL_Q100M, FL_Q102M);
}

/*
 * What changes for a Debian user: qemu-rcu as it runs by default
 * (membarrier where the kernel has it) against QEMU as Debian builds it
 * (fences).  Not like for like: the two read sides differ in kind.
 */
static double ratio_default_vs_debian_qemu(const Row *r)
{
    return ratio_best_of(r, FL_QEMU, FL_Q100, FL_Q102);
}

static char *format_ratio_value(double q)
{
    return isnan(q) ? g_strdup("-") :
           g_strdup_printf(q < 10 ? "%.2fx" : "%.0fx", q);
}

/* Whether any row has a value (or n/a) in column @f. */
static bool column_used(int f)
{
    for (guint i = 0; i < rows->len; i++) {
        Row *r = g_ptr_array_index(rows, i);

        if (r->na[f] || !isnan(r->v[f])) {
            return true;
        }
    }
    return false;
}

#define LABEL_WIDTH 50

/* The ratio columns, like for like first. */
#define NRATIOS 6
static const char *const ratio_heads[2][NRATIOS] = {
    { "fnc/QEMU", "mb/QEMU", "mb/QEMU", "vs memb", "vs mb", "fnc/mb" },
    { "fences", "membarr.", "fences", "", "", "" },
};

static void row_ratios(const Row *r, double *q)
{
    if (r->no_ratio) {
        for (int k = 0; k < NRATIOS; k++) {
            q[k] = NAN;
        }
        return;
    }
    q[0] = ratio_fences_vs_qemu(r);
    q[1] = ratio_membarrier_vs_qemu(r);
    q[2] = ratio_default_vs_debian_qemu(r);
    q[3] = ratio(r, FL_MEMB);
    q[4] = ratio(r, FL_MB);
    q[5] = ratio2(r, own_fences_column(), FL_MB);
}

static void print_table(void)
{
    bool used[FL_COUNT];
    int width = LABEL_WIDTH + 5 + NRATIOS * 9;

    for (int f = 0; f < FL_COUNT; f++) {
        used[f] = column_used(f);
        width += used[f] ? 11 : 0;
    }
    for (int line = 0; line < 2; line++) {
        printf("%-*s %-4s", LABEL_WIDTH, line ? "" : "figure",
               line ? "" : "unit");
        for (int f = 0; f < FL_COUNT; f++) {
            if (used[f]) {
                printf(" %10.10s", line ? flavour_mode(f) : flavour_heads[f]);
            }
        }
        for (int q = 0; q < NRATIOS; q++) {
            printf(" %8s", ratio_heads[line][q]);
        }
        printf("\n");
    }
    for (int i = 0; i < width; i++) {
        putchar('-');
    }
    putchar('\n');

    for (guint i = 0; i < rows->len; i++) {
        Row *r = g_ptr_array_index(rows, i);
        double q[NRATIOS];

        row_ratios(r, q);
        printf("%-*s %-4s", LABEL_WIDTH, r->label, r->unit);
        for (int f = 0; f < FL_COUNT; f++) {
            g_autofree char *s = NULL;

            if (!used[f]) {
                continue;
            }
            s = format_value(r, f);
            printf(" %10s", s);
        }
        for (int k = 0; k < NRATIOS; k++) {
            g_autofree char *s = format_ratio_value(q[k]);

            printf(" %8s", s);
        }
        printf("\n");
    }
    printf("\nLike for like, the same read-side barriers on both sides:\n"
           "  fnc/QEMU fences:   qemu-rcu with fences / the better QEMU as "
           "Debian builds it (no membarrier)\n"
           "  mb/QEMU membarr.:  qemu-rcu with membarrier / the better QEMU "
           "built with --enable-membarrier\n"
           "  fnc/mb:            qemu-rcu with fences / urcu-mb\n"
           "  vs memb:           qemu-rcu / urcu-memb (both membarrier where "
           "the kernel has it)\n"
           "Not like for like:\n"
           "  mb/QEMU fences:    qemu-rcu as it runs by default / the better "
           "QEMU as Debian builds it: what\n"
           "                     a Debian user gets by switching, read sides "
           "of different kinds\n"
           "  vs mb:             qemu-rcu as it runs by default / urcu-mb\n"
           "Read-side rows: each ratio is paired, the median over the rounds "
           "of that round's ratio;\n"
           "against the better QEMU, the larger of the ratios to either "
           "QEMU.\n");
    printf("n/a: liburcu has no force_rcu notifiers and no expedited grace "
           "period; QEMU has no expedited grace period, and QEMU 10.0 fires\n"
           "the notifiers only inside drain_call_rcu(), so a callback or "
           "synchronize_rcu() waits for the stuck reader forever.\n");
}

static const char *flavour_desc(int f)
{
    return flavours[f] ? flavours[f]->describe() : flavour_child_desc[f];
}

static char *run_json(void)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    struct utsname u;
    double load[3] = { NAN, NAN, NAN };

    uname(&u);
    getloadavg(load, 3);
    json_builder_begin_object(b);
    bench_json_string(b, "tool", "qemu-rcu-bench");
    bench_json_int(b, "cpus", sysconf(_SC_NPROCESSORS_ONLN));
    bench_json_string(b, "kernel", u.release);
    bench_json_string(b, "liburcu", URCU_VERSION);
    bench_json_bool(b, "quick", params.quick);
    bench_json_bool(b, "membarrier", qemu_rcu_bench_membarrier());
    bench_json_number(b, "other_load", other_load);
    bench_json_number(b, "load_average", load[0]);

    json_builder_set_member_name(b, "params");
    json_builder_begin_object(b);
    bench_json_int(b, "threads", params.threads);
    bench_json_int(b, "read_ms", params.read_ms);
    bench_json_int(b, "sync_samples", params.sync_samples);
    bench_json_int(b, "max_ms", params.max_ms);
    bench_json_int(b, "callbacks", params.callbacks);
    bench_json_int(b, "repeat", params.repeat);
    bench_json_int(b, "latency_samples", params.latency_samples);
    bench_json_int(b, "idle_samples", params.idle_samples);
    bench_json_int(b, "stall_samples", params.stall_samples);
    bench_json_int(b, "section_ns", params.section_ns);
    bench_json_int(b, "gap_us", params.gap_us);
    bench_json_int(b, "rounds", params.rounds);
    bench_json_int(b, "read_rounds", params.read_rounds);
    bench_json_bool(b, "pinned", !params.no_pin);
    bench_json_int(b, "memory_threads", params.memory_threads);
    bench_json_int(b, "memory_stack_kib", MEMORY_STACK_SIZE / 1024);
    bench_json_int(b, "memory_callbacks", params.memory_callbacks);
    json_builder_set_member_name(b, "memory_exe");
    if (params.memory_exe) {
        json_builder_add_string_value(b, params.memory_exe);
    } else {
        json_builder_add_null_value(b);
    }
    bench_json_int(b, "callback_object_bytes", BENCH_NODE_SIZE);
    json_builder_end_object(b);

    json_builder_set_member_name(b, "flavours");
    json_builder_begin_object(b);
    for (int f = 0; f < FL_COUNT; f++) {
        if (flavour_desc(f)) {
            bench_json_string(b, flavour_names[f], flavour_desc(f));
        }
    }
    json_builder_end_object(b);

    json_builder_set_member_name(b, "rows");
    json_builder_begin_array(b);
    for (guint i = 0; i < rows->len; i++) {
        Row *r = g_ptr_array_index(rows, i);
        double q[NRATIOS];

        json_builder_begin_object(b);
        bench_json_string(b, "key", r->key);
        bench_json_string(b, "label", r->label);
        bench_json_string(b, "unit", r->unit);
        for (int f = 0; f < FL_COUNT; f++) {
            bench_json_number(b, flavour_names[f],
                            r->na[f] ? NAN : r->v[f]);
        }
        json_builder_set_member_name(b, "na");
        json_builder_begin_array(b);
        for (int f = 0; f < FL_COUNT; f++) {
            if (r->na[f]) {
                json_builder_add_string_value(b, flavour_names[f]);
            }
        }
        json_builder_end_array(b);
        row_ratios(r, q);
        bench_json_number(b, "ratio_fences_vs_best_qemu", q[0]);
        bench_json_number(b, "ratio_membarrier_vs_best_qemu_membarrier",
                          q[1]);
        bench_json_number(b, "ratio_vs_best_qemu_as_debian_builds_it", q[2]);
        bench_json_number(b, "ratio_vs_memb", q[3]);
        bench_json_number(b, "ratio_vs_mb", q[4]);
        bench_json_number(b, "ratio_fences_vs_mb", q[5]);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "stats");
    json_builder_begin_object(b);
    for (int f = 0; f < FL_COUNT; f++) {
        g_autofree char *st = NULL;
        JsonNode *node;

        if (!flavours[f] || !flavours[f]->stats_json) {
            continue;
        }
        st = flavours[f]->stats_json();
        node = json_from_string(st, NULL);
        if (node) {
            json_builder_set_member_name(b, flavour_names[f]);
            json_builder_add_value(b, node);
        }
    }
    json_builder_end_object(b);
    json_builder_end_object(b);

    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, true);
    return json_generator_to_data(gen, NULL);
}

static void write_file(const char *path, const char *text)
{
    g_autoptr(GError) err = NULL;

    if (!g_file_set_contents(path, text, -1, &err)) {
        fprintf(stderr, "qemu-rcu-bench: %s\n", err->message);
        exit(1);
    }
}

/* ------------------------------------------------------------------ */
/* Driver. */

static void set_default(int *p, int full, int quick)
{
    if (*p < 0) {
        *p = params.quick ? quick : full;
    }
}

static void select_flavours(void)
{
    g_auto(GStrv) only = params.only ? g_strsplit(params.only, ",", -1) : NULL;

    for (int f = 0; f < FL_COUNT; f++) {
        flavours[f] = flavours_built[f];
        if (only && !g_strv_contains((const char *const *)only,
                                     flavour_names[f])) {
            flavours[f] = NULL;
        }
    }
    for (int i = 0; only && only[i]; i++) {
        int f;

        for (f = 0; f < FL_COUNT; f++) {
            if (!strcmp(only[i], flavour_names[f])) {
                break;
            }
        }
        if (f == FL_COUNT) {
            fprintf(stderr, "qemu-rcu-bench: unknown flavour '%s'\n",
                    only[i]);
            exit(2);
        }
    }
}

/* Latency figures mean little while other jobs compete for the CPUs. */
static void print_load_warning(void)
{
    g_autofree char *text = NULL;
    double load;

    if (g_file_get_contents("/proc/loadavg", &text, NULL, NULL) &&
        sscanf(text, "%lf", &load) == 1 &&
        load > 0.5 * sysconf(_SC_NPROCESSORS_ONLN)) {
        printf("warning: load average %.2f on %ld CPUs: other jobs are "
               "running, latency figures will be noisy\n",
               load, sysconf(_SC_NPROCESSORS_ONLN));
    }
}

static void print_header(void)
{
    struct utsname u;

    uname(&u);
    printf("qemu-rcu-bench: %ld CPUs, Linux %s, liburcu %s, %s run\n",
           sysconf(_SC_NPROCESSORS_ONLN), u.release, URCU_VERSION,
           params.quick ? "quick" : "full");
    printf("parameters: threads 1..%d, read %d ms per point in %d "
           "round%s, %d sync samples (max %d ms each figure), %d callbacks "
           "x %d runs, %d idle latency samples (gap %d us), %d drain "
           "samples and %d stall samples with the stuck reader, %d ns "
           "sections\n",
           params.threads, params.read_ms, params.read_rounds,
           params.read_rounds > 1 ? "s" : "", params.sync_samples,
           params.max_ms, params.callbacks, params.repeat,
           params.idle_samples, params.gap_us, params.latency_samples,
           params.stall_samples, params.section_ns);
    printf("memory: %d idle threads with %d KiB stacks, %d queued "
           "callbacks of %zu bytes, each in a fresh process\n",
           params.memory_threads, MEMORY_STACK_SIZE / 1024,
           params.memory_callbacks, BENCH_NODE_SIZE);
    if (params.memory_exe) {
        printf("memory: qemu-rcu's rows in %s\n", params.memory_exe);
    }
    for (int f = 0; f < FL_COUNT; f++) {
        if (f < FL_QEMU || f == FL_FENCES) {
            continue;
        }
        printf("  %-10s %s\n", flavour_names[f],
               flavours[f] ? flavours[f]->describe() :
               flavours_built[f] ? "not selected (--only)" :
               "not built (liburcu not found at build time)");
    }
    print_load_warning();
    printf("\n");
    fflush(stdout);
}

static void print_qemu_stats(void)
{
    g_autofree char *st = NULL;

    if (!flavours[FL_QEMU] || !flavours[FL_QEMU]->stats_json) {
        return;
    }
    st = flavours[FL_QEMU]->stats_json();
    printf("\nqemu-rcu statistics: %s\n", st);
}

/*
 * Runs @exe (this program or an anchor built from it) with the same
 * parameters for its qemu-rcu column only, and copies that column into
 * column @into of this run's rows.  @fences: with QEMU_RCU_MEMBARRIER=0.
 * False if the child failed or left no result: the column stays empty
 * and the run must not count as a success.
 */
static bool run_child(const char *exe, bool fences, int into)
{
    g_autofree char *tmp = NULL;
    g_autofree char *json = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonObject *root, *fl;
    JsonArray *crow;
    int fd;

    fd = g_file_open_tmp("qemu-rcu-bench-XXXXXX.json", &tmp, &err);
    if (fd < 0) {
        fprintf(stderr, "qemu-rcu-bench: %s\n", err->message);
        exit(1);
    }
    close(fd);

    g_ptr_array_add(argv, g_strdup(exe));
    if (params.quick) {
        g_ptr_array_add(argv, g_strdup("--quick"));
    }
    g_ptr_array_add(argv, g_strdup("--only=qemu-rcu"));
    g_ptr_array_add(argv, g_strdup_printf("--threads=%d", params.threads));
    g_ptr_array_add(argv, g_strdup_printf("--read-ms=%d", params.read_ms));
    g_ptr_array_add(argv, g_strdup_printf("--sync-samples=%d",
                                          params.sync_samples));
    g_ptr_array_add(argv, g_strdup_printf("--max-ms=%d", params.max_ms));
    g_ptr_array_add(argv, g_strdup_printf("--callbacks=%d",
                                          params.callbacks));
    g_ptr_array_add(argv, g_strdup_printf("--repeat=%d", params.repeat));
    g_ptr_array_add(argv, g_strdup_printf("--latency-samples=%d",
                                          params.latency_samples));
    g_ptr_array_add(argv, g_strdup_printf("--idle-samples=%d",
                                          params.idle_samples));
    g_ptr_array_add(argv, g_strdup_printf("--stall-samples=%d",
                                          params.stall_samples));
    g_ptr_array_add(argv, g_strdup_printf("--section-ns=%d",
                                          params.section_ns));
    g_ptr_array_add(argv, g_strdup_printf("--gap-us=%d", params.gap_us));
    g_ptr_array_add(argv, g_strdup_printf("--rounds=%d", params.rounds));
    g_ptr_array_add(argv, g_strdup_printf("--read-rounds=%d",
                                          params.read_rounds));
    g_ptr_array_add(argv, g_strdup_printf("--memory-threads=%d",
                                          params.memory_threads));
    g_ptr_array_add(argv, g_strdup_printf("--memory-callbacks=%d",
                                          params.memory_callbacks));
    if (params.no_pin) {
        g_ptr_array_add(argv, g_strdup("--no-pin"));
    }
    /* The anchors' qemu-rcu column is QEMU's rcu.c: not for them. */
    if (fences && params.memory_exe) {
        g_ptr_array_add(argv, g_strdup_printf("--memory-exe=%s",
                                              params.memory_exe));
    }
    g_ptr_array_add(argv, g_strdup_printf("--json-run=%s", tmp));
    g_ptr_array_add(argv, NULL);

    fprintf(stderr, "qemu-rcu-bench: running the %s column (%s)...\n",
            flavour_names[into], exe);

    if (!spawn_child(argv, fences, NULL, &err) ||
        !g_file_get_contents(tmp, &json, NULL, &err) ||
        !json_parser_load_from_data(parser, json, -1, &err)) {
        fprintf(stderr, "qemu-rcu-bench: %s column failed: %s\n",
                flavour_names[into], err->message);
        unlink(tmp);
        return false;
    }
    unlink(tmp);

    root = json_node_get_object(json_parser_get_root(parser));
    fl = json_object_get_object_member(root, "flavours");
    if (fl && json_object_has_member(fl, "qemu-rcu")) {
        flavour_child_desc[into] =
            g_strdup(json_object_get_string_member(fl, "qemu-rcu"));
    }
    crow = json_object_get_array_member(root, "rows");
    if (!crow || !json_array_get_length(crow)) {
        fprintf(stderr, "qemu-rcu-bench: %s column failed: no rows\n",
                flavour_names[into]);
        return false;
    }
    for (guint i = 0; i < json_array_get_length(crow); i++) {
        JsonObject *o = json_array_get_object_element(crow, i);
        const char *key = json_object_get_string_member(o, "key");
        JsonArray *na = json_object_get_array_member(o, "na");
        JsonNode *v = json_object_get_member(o, "qemu-rcu");

        for (guint j = 0; j < rows->len; j++) {
            Row *r = g_ptr_array_index(rows, j);

            if (strcmp(r->key, key)) {
                continue;
            }
            if (v && !json_node_is_null(v)) {
                r->v[into] = json_node_get_double(v);
            }
            for (guint k = 0; na && k < json_array_get_length(na); k++) {
                if (!strcmp(json_array_get_string_element(na, k),
                            "qemu-rcu")) {
                    r->na[into] = true;
                }
            }
        }
    }
    return true;
}

#define IDLE_WARM_UP_MS 1000

/*
 * A column's idle samples of one round are taken in slices, each a share
 * of every idle figure, so that its back-to-back synchronize_rcu() calls
 * spread over the round (some 600 ms) instead of one burst of about
 * 100 us.  A loop of them runs at 25 or 45 ns per call on this VM, the
 * slow level coming for milliseconds at a time in any library: a burst
 * lands on one level, and so did a column's median of five rounds.  The
 * first calls of a slice, after the latency samples' sleeps, refill the
 * caches (a few hundred ns): they are not the figure and are not timed.
 */
#define IDLE_SLICES 10

/* The column an --anchor NAME=PATH fills, with PATH in @path; -1 if none. */
static int anchor_column(const char *spec, const char **path)
{
    const char *eq = strchr(spec, '=');

    for (int f = FL_Q100; eq && f <= FL_Q102M; f++) {
        if (strlen(flavour_names[f]) == eq - spec &&
            !strncmp(spec, flavour_names[f], eq - spec)) {
            *path = eq + 1;
            return f;
        }
    }
    return -1;
}

/* The kinds of round, as --round-samples names them. */
typedef enum RoundKind { ROUND_READ, ROUND_CALLS, ROUND_IDLE } RoundKind;
static const char *const round_kinds[] = { "read", "calls", "idle" };

/* A calls round's figures: ms and ns per enqueue, 1 then 2 producers. */
#define CALL_FIGURES 4

/*
 * One column's samples from the rounds of run_rounds(): the read side's
 * ns per section, params.threads figures per round (1..threads), the
 * call_rcu() figures, CALL_FIGURES per round, and the idle rows'
 * samples in ns.
 */
typedef struct RoundSamples {
    GArray *read;
    GArray *calls;
    GArray *idle[IDLE_FIGURES];
} RoundSamples;

static void round_samples_init(RoundSamples *out)
{
    out->read = g_array_new(false, false, sizeof(double));
    out->calls = g_array_new(false, false, sizeof(double));
    for (int i = 0; i < IDLE_FIGURES; i++) {
        out->idle[i] = g_array_new(false, false, sizeof(int64_t));
    }
}

static void round_samples_destroy(RoundSamples *out)
{
    g_array_free(out->read, true);
    g_array_free(out->calls, true);
    for (int i = 0; i < IDLE_FIGURES; i++) {
        g_array_free(out->idle[i], true);
    }
}

static void sample_read_side(const BenchFlavour *fl, int ms, GArray *out)
{
    for (int t = 1; t <= params.threads; t++) {
        double ns = measure_read_side(fl, t, ms);

        g_array_append_val(out, ns);
    }
}

/*
 * A column of the rounds: @exe's column @column (qemu-rcu for an
 * anchor, whose qemu-rcu column is QEMU's rcu.c), into the table's
 * column @into, with QEMU_RCU_MEMBARRIER=0 if @fences.
 */
typedef struct RoundColumn {
    const char *exe;
    bool fences;
    int column;
    int into;
} RoundColumn;

/*
 * The rounds' columns, in the order of the table's first round, into
 * @c (FL_COUNT entries: an anchor given twice fills its column once).
 */
static int round_columns(bool fences_column, RoundColumn *c)
{
    bool taken[FL_COUNT] = { false };
    int n = 0;

    for (int f = 0; f < FL_COUNT; f++) {
        if (flavours[f]) {
            c[n++] = (RoundColumn) { "/proc/self/exe", false, f, f };
        }
    }
    if (fences_column) {
        c[n++] = (RoundColumn) { "/proc/self/exe", true, FL_QEMU, FL_FENCES };
    }
    for (int i = 0; params.anchors && params.anchors[i]; i++) {
        const char *path;
        int into = anchor_column(params.anchors[i], &path);

        if (!taken[into]) {
            taken[into] = true;
            c[n++] = (RoundColumn) { path, false, FL_QEMU, into };
        }
    }
    return n;
}

/*
 * One round of column @c, in a fresh process.  A read round measures
 * the read side for @read_ms per thread count, a calls round one run of
 * params.callbacks call_rcu() with one producer and one with two, and
 * each prints one line of figures; an idle round takes @samples of each
 * idle figure (this round's share of params.sync_samples of the idle
 * synchronize_rcu()) and prints a line per figure.  They are appended
 * to @out.
 */
static bool run_round_child(const RoundColumn *c, RoundKind kind,
                            int read_ms, int samples, RoundSamples *out)
{
    g_autofree char *text = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) lines = NULL;
    g_auto(GStrv) figures = NULL;
    int nread = 0, nlines;

    g_ptr_array_add(argv, g_strdup(c->exe));
    g_ptr_array_add(argv, g_strdup_printf("--only=%s",
                                          flavour_names[c->column]));
    g_ptr_array_add(argv, g_strdup_printf("--threads=%d", params.threads));
    g_ptr_array_add(argv, g_strdup_printf("--read-ms=%d", read_ms));
    g_ptr_array_add(argv, g_strdup_printf("--idle-samples=%d", samples));
    g_ptr_array_add(argv, g_strdup_printf("--sync-samples=%d",
                                          MAX(params.sync_samples /
                                              params.rounds, 1)));
    g_ptr_array_add(argv, g_strdup_printf("--gap-us=%d", params.gap_us));
    g_ptr_array_add(argv, g_strdup_printf("--max-ms=%d", params.max_ms));
    g_ptr_array_add(argv, g_strdup_printf("--callbacks=%d",
                                          params.callbacks));
    g_ptr_array_add(argv, g_strdup("--repeat=1"));
    g_ptr_array_add(argv, g_strdup_printf("--round-samples=%s",
                                          round_kinds[kind]));
    g_ptr_array_add(argv, NULL);

    if (!spawn_child(argv, c->fences, &text, &err)) {
        fprintf(stderr, "qemu-rcu-bench: %s column, rounds: %s\n",
                flavour_names[c->into], err->message);
        return false;
    }
    lines = g_strsplit(text, "\n", IDLE_FIGURES + 1);
    if (kind != ROUND_IDLE) {
        GArray *into = kind == ROUND_READ ? out->read : out->calls;
        int want = kind == ROUND_READ ? params.threads : CALL_FIGURES;

        figures = g_strsplit(lines[0] ? lines[0] : "", " ", -1);
        for (int k = 0; figures[k] && *figures[k]; k++, nread++) {
            double v = g_ascii_strtod(figures[k], NULL);

            g_array_append_val(into, v);
        }
        if (nread != want) {
            fprintf(stderr, "qemu-rcu-bench: %s column, %s round: %d "
                    "figures, not %d\n", flavour_names[c->into],
                    round_kinds[kind], nread, want);
            return false;
        }
        return true;
    }
    nlines = g_strv_length(lines);
    for (int i = 0; i < IDLE_FIGURES; i++) {
        const char *line = i < nlines ? lines[i] : "";
        g_auto(GStrv) v = g_strsplit(line, " ", -1);
        guint len = out->idle[i]->len;

        for (int k = 0; v[k]; k++) {
            int64_t ns = g_ascii_strtoll(v[k], NULL, 10);

            if (*v[k]) {
                g_array_append_val(out->idle[i], ns);
            }
        }
        if (out->idle[i]->len == len) {
            fprintf(stderr, "qemu-rcu-bench: %s column, idle rows: no "
                    "samples\n", flavour_names[c->into]);
            return false;
        }
    }
    return true;
}

/* Slice @k's share of @n samples, the remainder spread over the slices. */
static int slice_share(int n, int k)
{
    return n * (k + 1) / IDLE_SLICES - n * k / IDLE_SLICES;
}

/*
 * The child side of run_round_child(), for its one selected column
 * @fl, a round of @kind.  A fresh process
 * wakes its threads slowly at first, whatever the library (new threads,
 * the call_rcu thread among them): about 100 us instead of 15 for tens
 * of milliseconds on one host, wake-ups of 0.3-9 ms for 400 ms on
 * another; idle samples of the warm-up are dropped.
 */
static void print_round_samples(const BenchFlavour *fl, RoundKind kind)
{
    RoundSamples out;
    /* --max-ms caps a figure over the round, not each slice of it. */
    int slice_ms = MAX(params.max_ms / IDLE_SLICES, 1);
    int64_t warm;

    if (kind == ROUND_CALLS) {
        for (int p = 1; p <= 2; p++) {
            double t, e;

            measure_call_rcu(fl, p, &t, &e);
            printf("%s%.0f %.4f", p > 1 ? " " : "", t, e);
        }
        printf("\n");
        return;
    }
    round_samples_init(&out);
    if (kind == ROUND_READ) {
        sample_read_side(fl, params.read_ms, out.read);
        for (guint i = 0; i < out.read->len; i++) {
            printf("%s%.4f", i ? " " : "",
                   g_array_index(out.read, double, i));
        }
        printf("\n");
        round_samples_destroy(&out);
        return;
    }

    warm = bench_now_ns() + IDLE_WARM_UP_MS * 1000000LL;
    while (bench_now_ns() < warm) {
        sample_idle(fl, 1, 1, params.max_ms, out.idle);
    }
    for (int i = 0; i < IDLE_FIGURES; i++) {
        g_array_set_size(out.idle[i], 0);
    }
    for (int k = 0; k < IDLE_SLICES; k++) {
        int sync = slice_share(params.sync_samples, k);
        int samples = slice_share(params.idle_samples, k);

        /* Untimed: the caches refilled after the slice before slept. */
        for (int i = 0; i < SYNC_IDLE_BATCH; i++) {
            fl->synchronize();
        }
        sample_idle(fl, sync, samples, slice_ms, out.idle);
    }
    for (int i = 0; i < IDLE_FIGURES; i++) {
        GArray *s = out.idle[i];

        for (guint k = 0; k < s->len; k++) {
            printf("%s%" PRId64, k ? " " : "", g_array_index(s, int64_t, k));
        }
        printf("\n");
    }
    round_samples_destroy(&out);
}

/*
 * Column @f of @rows, from @samples, @figures per round (a round's
 * figure @k for @rows[@k], times @scale[@k], or 1 if @scale is NULL):
 * the median of its rounds, which are kept for the paired ratios.
 */
static void record_rounds(int f, GArray *samples, int figures, Row **rows,
                          const double *scale)
{
    int rounds = samples->len / figures;
    g_autofree double *v = g_new(double, MAX(rounds, 1));

    for (int k = 0; rounds && k < figures; k++) {
        for (int r = 0; r < rounds; r++) {
            v[r] = g_array_index(samples, double, r * figures + k) *
                   (scale ? scale[k] : 1);
        }
        rows[k]->rounds[f] = g_array_new(false, false, sizeof(double));
        g_array_append_vals(rows[k]->rounds[f], v, rounds);
        rows[k]->v[f] = bench_percentile_double(v, rounds, 50);
    }
}

/*
 * @rounds rounds of @kind over the @n columns @c, in an order that
 * rotates from round to round, into @out (indexed by column).
 */
static bool run_rotating_rounds(const RoundColumn *c, int n, int rounds,
                                RoundKind kind, int read_ms, int samples,
                                RoundSamples *out)
{
    bool ok = true;

    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < n; k++) {
            const RoundColumn *col = &c[(k + r) % n];

            ok &= run_round_child(col, kind, read_ms, samples,
                                  &out[col->into]);
        }
    }
    return ok;
}

/*
 * The read-side and idle rows, every column of a round in a fresh
 * process, as the QEMU columns must be, in an order that rotates from
 * round to round.  First params.read_rounds rounds of the read side,
 * params.read_ms / read_rounds per thread count each: a read-side row
 * is the median of its column's rounds, its paired ratios the medians
 * of the per-round ratios.  Then params.repeat rounds of the call_rcu()
 * rows, one run of each, likewise.  Then params.rounds rounds of the
 * idle rows,
 * params.idle_samples / rounds samples of each idle figure
 * (params.sync_samples / rounds of the idle synchronize_rcu()): an idle
 * row comes from all of its column's samples together.
 */
static bool run_rounds(bool fences_column)
{
    int per_round = MAX(params.idle_samples / params.rounds, 1);
    int read_ms = MAX(params.read_ms / params.read_rounds, 1);
    RoundColumn c[FL_COUNT];
    int n = round_columns(fences_column, c);
    RoundSamples out[FL_COUNT];
    Row *calls[CALL_FIGURES] = {
        call_rows[0][0], call_rows[0][1], call_rows[1][0], call_rows[1][1],
    };
    /* A calls round prints ns; the rows are in ms (all ran) and ns. */
    static const double calls_scale[CALL_FIGURES] = { 1e-6, 1, 1e-6, 1 };
    bool ok = true;

    for (int f = 0; f < FL_COUNT; f++) {
        round_samples_init(&out[f]);
    }
    fprintf(stderr, "qemu-rcu-bench: read side, %d round(s), call_rcu(), "
            "%d, idle rows, %d, over every column...\n", params.read_rounds,
            params.repeat, params.rounds);
    ok &= run_rotating_rounds(c, n, params.read_rounds, ROUND_READ, read_ms,
                              0, out);
    ok &= run_rotating_rounds(c, n, params.repeat, ROUND_CALLS, 0, 0, out);
    ok &= run_rotating_rounds(c, n, params.rounds, ROUND_IDLE, 0, per_round,
                              out);
    for (int f = 0; f < FL_COUNT; f++) {
        record_rounds(f, out[f].read, params.threads, read_rows, NULL);
        record_rounds(f, out[f].calls, CALL_FIGURES, calls, calls_scale);
        for (int i = 0; i < IDLE_FIGURES; i++) {
            if (out[f].idle[i]->len) {
                record(idle_rows[i][0], idle_rows[i][1], f, out[f].idle[i],
                       i == IDLE_SYNC ? 1e3 * SYNC_IDLE_BATCH : 1e3);
            }
        }
        round_samples_destroy(&out[f]);
    }
    return ok;
}

int main(int argc, char **argv)
{
    GOptionEntry entries[] = {
        { "quick", 'q', 0, G_OPTION_ARG_NONE, &params.quick,
          "Run for a few seconds (smoke test, meson benchmark)", NULL },
        { "json", 'j', 0, G_OPTION_ARG_FILENAME, &params.json_file,
          "Also write the results as JSON to FILE", "FILE" },
        { "both-modes", 'b', 0, G_OPTION_ARG_NONE, &params.both_modes,
          "Fill the qemu-rcu-fences column: qemu-rcu again, in a child "
          "process with QEMU_RCU_MEMBARRIER=0", NULL },
        { "no-pin", 0, 0, G_OPTION_ARG_NONE, &params.no_pin,
          "Do not pin the writer and the background reader to different "
          "CPUs", NULL },
        { "only", 'o', 0, G_OPTION_ARG_STRING, &params.only,
          "Comma-separated flavours: qemu-rcu,urcu-memb,urcu-mb,urcu-qsbr",
          "LIST" },
        { "threads", 't', 0, G_OPTION_ARG_INT, &params.threads,
          "Most reader threads in the read-side test (default: CPUs)", "N" },
        { "read-ms", 0, 0, G_OPTION_ARG_INT, &params.read_ms,
          "Duration of each read-side point, over all rounds (500; "
          "quick 30)", "MS" },
        { "sync-samples", 0, 0, G_OPTION_ARG_INT, &params.sync_samples,
          "Samples per grace-period latency figure (2000; quick 200)",
          "N" },
        { "max-ms", 0, 0, G_OPTION_ARG_INT, &params.max_ms,
          "Time cap for sampling one figure (2000; quick 200)", "MS" },
        { "callbacks", 'n', 0, G_OPTION_ARG_INT, &params.callbacks,
          "Callbacks per throughput run (1000000; quick 100000)", "N" },
        { "repeat", 0, 0, G_OPTION_ARG_INT, &params.repeat,
          "call_rcu() throughput: rounds alternating between the "
          "columns, one run each; the median is reported (5; quick 1)",
          "N" },
        { "latency-samples", 0, 0, G_OPTION_ARG_INT,
          &params.latency_samples,
          "Samples of drain latency with the stuck reader (500; quick 10)",
          "N" },
        { "idle-samples", 0, 0, G_OPTION_ARG_INT, &params.idle_samples,
          "Samples of callback and drain latency, idle, over all rounds "
          "(2000; quick 10)", "N" },
        { "stall-samples", 0, 0, G_OPTION_ARG_INT, &params.stall_samples,
          "Samples of callback and synchronize_rcu latency with a stuck "
          "kickable reader (40; quick 3)", "N" },
        { "section-ns", 0, 0, G_OPTION_ARG_INT, &params.section_ns,
          "Length of the busy reader's critical sections (1000)", "NS" },
        { "rounds", 0, 0, G_OPTION_ARG_INT, &params.rounds,
          "Busy-reader figure and idle rows: rounds alternating between "
          "the columns (5; quick 1)", "N" },
        { "read-rounds", 0, 0, G_OPTION_ARG_INT, &params.read_rounds,
          "Read side: rounds alternating between the columns, each a "
          "share of --read-ms (21; quick 3)", "N" },
        { "gap-us", 0, 0, G_OPTION_ARG_INT, &params.gap_us,
          "Idle time before each idle-latency sample (2000; quick 200)",
          "US" },
        { "anchor", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &params.anchors,
          "Fill a QEMU column (qemu-10.0, qemu-10.2, "
          "qemu-10.0-membarrier, qemu-10.2-membarrier) by running PATH, "
          "qemu-rcu-bench built against that QEMU's rcu.c "
          "(tests/bench/anchors.sh); repeatable", "NAME=PATH" },
        { "memory-threads", 0, 0, G_OPTION_ARG_INT, &params.memory_threads,
          "Idle threads of the memory rows, 0 = no memory rows (1024; "
          "quick 256)", "N" },
        { "memory-callbacks", 0, 0, G_OPTION_ARG_INT,
          &params.memory_callbacks,
          "Queued callbacks of the memory rows, 0 = no memory rows "
          "(1000000; quick 100000)", "N" },
        { "memory-exe", 0, 0, G_OPTION_ARG_FILENAME, &params.memory_exe,
          "Take the qemu-rcu columns' memory rows in PATH, qemu-rcu-bench "
          "with qemu-rcu's rcu.c linked into the executable as the QEMU "
          "columns link theirs (tests/bench/anchors.sh)", "PATH" },
        { "memory-child", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING,
          &params.memory_child, "Internal: run one memory scenario",
          "SCENARIO" },
        { "round-samples", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING,
          &params.round_samples,
          "Internal: measure one round of the read side (read), of the "
          "call_rcu() rows (calls) or of the idle rows (idle), print it",
          "KIND" },
        { "json-run", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME,
          &params.json_run_file, "Internal: write this run's JSON object",
          "FILE" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- qemu-rcu next to liburcu, one run");
    g_autoptr(GError) err = NULL;
    g_autofree char *json = NULL;
    bool columns_ok = true;
    bool fences_column;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "qemu-rcu-bench: %s\n", err->message);
        return 2;
    }
    set_default(&params.threads, sysconf(_SC_NPROCESSORS_ONLN),
                sysconf(_SC_NPROCESSORS_ONLN));
    set_default(&params.read_ms, 500, 30);
    set_default(&params.sync_samples, 2000, 200);
    set_default(&params.max_ms, 2000, 200);
    set_default(&params.callbacks, 1000000, 100000);
    set_default(&params.repeat, 5, 1);
    set_default(&params.latency_samples, 500, 10);
    set_default(&params.idle_samples, 2000, 10);
    set_default(&params.stall_samples, 40, 3);
    set_default(&params.section_ns, 1000, 1000);
    set_default(&params.gap_us, 2000, 200);
    set_default(&params.rounds, 5, 1);
    set_default(&params.read_rounds, 21, 3);
    set_default(&params.memory_threads, 1024, 256);
    set_default(&params.memory_callbacks, 1000000, 100000);
    params.threads = MAX(params.threads, 1);
    params.callbacks = MAX(params.callbacks, 2);
    params.repeat = MAX(params.repeat, 1);
    params.sync_samples = MAX(params.sync_samples, 1);
    params.latency_samples = MAX(params.latency_samples, 1);
    params.idle_samples = MAX(params.idle_samples, 1);
    params.stall_samples = MAX(params.stall_samples, 1);
    params.rounds = MAX(params.rounds, 1);
    params.read_rounds = MAX(params.read_rounds, 1);

    select_flavours();
    for (int i = 0; params.anchors && params.anchors[i]; i++) {
        const char *path;

        if (anchor_column(params.anchors[i], &path) < 0) {
            fprintf(stderr, "qemu-rcu-bench: --anchor wants qemu-10.x=PATH "
                    "or qemu-10.x-membarrier=PATH, not '%s'\n",
                    params.anchors[i]);
            return 2;
        }
    }
    if (params.memory_child) {
        return memory_child_main();
    }
    for (int f = 0; f < FL_COUNT; f++) {
        if (flavours[f]) {
            flavours[f]->main_init();
        }
    }
    if (params.round_samples) {
        RoundKind kind = ROUND_READ;
        int f = 0;

        while (f < FL_COUNT && !flavours[f]) {
            f++;
        }
        if (f == FL_COUNT) {
            fprintf(stderr, "qemu-rcu-bench: --round-samples needs a "
                    "column (--only)\n");
            return 2;
        }
        while (kind <= ROUND_IDLE &&
               strcmp(params.round_samples, round_kinds[kind])) {
            kind++;
        }
        if (kind > ROUND_IDLE) {
            fprintf(stderr, "qemu-rcu-bench: --round-samples wants read, "
                    "calls or idle\n");
            return 2;
        }
        print_round_samples(flavours[f], kind);
        return 0;
    }
    fences_column = params.both_modes && !params.json_run_file &&
                    qemu_rcu_bench_membarrier() && flavours[FL_QEMU];
    rows = g_ptr_array_new_with_free_func(row_free);

    print_header();
    cpu_snapshot(&cpu_start);
    run_read_side();
    run_synchronize();
    run_call_rcu();
    run_idle_latency();
    run_forcing();
    {
        CpuSnapshot end;

        cpu_snapshot(&end);
        other_load = cpu_other_load(&cpu_start, &end);
    }
    /* Child processes: after the load figure, which counts only ours. */
    columns_ok &= run_memory();
    /* The other columns, one child process each, after our own. */
    if (fences_column) {
        columns_ok &= run_child("/proc/self/exe", true, FL_FENCES);
    }
    for (int i = 0; params.anchors && params.anchors[i]; i++) {
        const char *path;
        int into = anchor_column(params.anchors[i], &path);

        columns_ok &= run_child(path, false, into);
    }
    /* A child's rows of the rounds would be replaced by its parent's. */
    if (!params.json_run_file) {
        columns_ok &= run_rounds(fences_column);
    }
    print_table();
    if (!isnan(other_load)) {
        printf("\nother processes used %.0f%% of the CPUs during the run"
               "%s\n", other_load * 100,
               other_load > 0.1 ? ": latency rows are noisy" : "");
    }
    print_qemu_stats();
    fflush(stdout);

    json = run_json();
    if (params.json_run_file) {
        write_file(params.json_run_file, json);
    }
    if (params.json_file) {
        write_file(params.json_file, json);
    }
    g_ptr_array_free(rows, true);
    g_free(read_rows);
    if (!columns_ok) {
        fprintf(stderr, "qemu-rcu-bench: a column failed (see above); its "
                "figures are missing from the table\n");
        return 1;
    }
    return 0;
}
