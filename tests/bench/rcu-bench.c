/* SPDX-License-Identifier: LGPL-2.1-or-later */
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

#include <math.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include "bench.h"

enum {
    FL_QEMU,
    FL_MEMB,
    FL_MB,
    FL_QSBR,
    FL_COUNT
};

static const char *const flavour_names[FL_COUNT] = {
    "qemu-rcu", "urcu-memb", "urcu-mb", "urcu-qsbr",
};

/* NULL: liburcu (or that flavour) was not found at build time. */
static const BenchFlavour *const flavours_built[FL_COUNT] = {
    &bench_qemu_rcu,
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
    int threads;
    int read_ms;
    int sync_samples;
    int max_ms;
    int callbacks;
    int repeat;
    int latency_samples;
    int stall_samples;
    int section_ns;
    int gap_us;
    int rounds;
} BenchParams;

static BenchParams params = {
    .threads = -1, .read_ms = -1, .sync_samples = -1, .max_ms = -1,
    .callbacks = -1, .repeat = -1, .latency_samples = -1,
    .stall_samples = -1, .section_ns = -1, .gap_us = -1, .rounds = -1,
};

/* ------------------------------------------------------------------ */
/* Helpers shared with the flavours (bench.h). */

int64_t bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
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
    g_free(r);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of @s (sorted in place), in nanoseconds. */
static double percentile(GArray *s, double pct)
{
    size_t rank;

    if (!s->len) {
        return NAN;
    }
    qsort(s->data, s->len, sizeof(int64_t), cmp_i64);
    rank = (size_t)ceil(pct / 100.0 * s->len);
    rank = CLAMP(rank, 1, s->len);
    return g_array_index(s, int64_t, rank - 1);
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
} Worker;

/*
 * The read side is timed in thread CPU time: on a busy machine a reader
 * that is preempted would otherwise be charged for the time it waited.
 */
static int64_t thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
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
        w->result = w->fl->read_loop(w->stop);
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

static bool sampling_done(int done, int samples, int64_t start)
{
    return done >= samples ||
           (done >= 3 &&
            bench_now_ns() - start > (int64_t)params.max_ms * 1000000);
}

/* Nanoseconds per read-side critical section, averaged over threads. */
static double measure_read_side(const BenchFlavour *fl, int nthreads)
{
    g_autofree Worker *w = g_new0(Worker, nthreads);
    pthread_barrier_t start;
    bool stop = false;
    double sum = 0;

    pthread_barrier_init(&start, NULL, nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        w[i].fl = fl;
        w[i].kind = W_READ;
        w[i].stop = &stop;
        w[i].start = &start;
        worker_start(&w[i]);
    }
    pthread_barrier_wait(&start);
    g_usleep(params.read_ms * 1000);
    __atomic_store_n(&stop, true, __ATOMIC_RELAXED);
    for (int i = 0; i < nthreads; i++) {
        pthread_join(w[i].thread, NULL);
        sum += (double)(w[i].t1 - w[i].t0) / MAX(w[i].result, 1);
    }
    pthread_barrier_destroy(&start);
    return sum / nthreads;
}

/* @reader: the kickable reader to wait for before each sample, or NULL */
static GArray *sample_op(void (*op)(void), int samples, Worker *reader)
{
    GArray *s = g_array_new(false, false, sizeof(int64_t));
    int64_t start = bench_now_ns();

    for (int i = 0; !sampling_done(i, samples, start); i++) {
        int64_t t0;

        wait_inside(reader);
        t0 = bench_now_ns();
        op();
        t0 = bench_now_ns() - t0;
        g_array_append_val(s, t0);
    }
    return s;
}

/* Time from call_rcu to the callback having run, one at a time. */
static GArray *sample_callback_latency(const BenchFlavour *fl, int samples,
                                       int gap_us, Worker *reader)
{
    GArray *s = g_array_new(false, false, sizeof(int64_t));
    void *cbs = fl->alloc_callbacks(samples);
    int64_t start = bench_now_ns();
    BenchCounter done;

    bench_counter_init(&done);
    for (int i = 0; !sampling_done(i, samples, start); i++) {
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

static GArray *sample_barrier_latency(const BenchFlavour *fl, int samples,
                                      int gap_us)
{
    GArray *s = g_array_new(false, false, sizeof(int64_t));
    int64_t start = bench_now_ns();

    for (int i = 0; !sampling_done(i, samples, start); i++) {
        int64_t t0;

        g_usleep(gap_us);
        t0 = bench_now_ns();
        fl->barrier();
        t0 = bench_now_ns() - t0;
        g_array_append_val(s, t0);
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
        t0 = bench_now_ns();
        bench_counter_wait(&done);
        t_all = bench_now_ns() - t0;
        for (int i = 0; i < producers; i++) {
            pthread_join(w[i].thread, NULL);
            t_enq = MAX(t_enq, w[i].t1 - t0);
        }
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

static void run_read_side(void)
{
    for (int t = 1; t <= params.threads; t++) {
        g_autofree char *key = g_strdup_printf("read_%dthread_ns", t);
        Row *r = row_new(key, "ns", "read lock+deref+unlock, %d thread%s",
                         t, t > 1 ? "s" : "");

        for (int f = 0; f < FL_COUNT; f++) {
            if (flavours[f]) {
                r->v[f] = measure_read_side(flavours[f], t);
            }
        }
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
            part = sample_op(fl->synchronize, per_round, NULL);
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

static void run_synchronize(void)
{
    Row *idle_med = row_new("sync_idle_median_us", "us",
                            "synchronize_rcu idle, median");
    Row *idle_p99 = row_new("sync_idle_p99_us", "us",
                            "synchronize_rcu idle, p99");
    Row *busy_med = row_new("sync_reader_median_us", "us",
                            "synchronize_rcu, %d ns-section reader, median",
                            params.section_ns);
    Row *busy_p99 = row_new("sync_reader_p99_us", "us",
                            "synchronize_rcu, %d ns-section reader, p99",
                            params.section_ns);

    for (int f = 0; f < FL_COUNT; f++) {
        const BenchFlavour *fl = flavours[f];
        GArray *s;

        if (!fl) {
            continue;
        }
        s = sample_op(fl->synchronize, params.sync_samples, NULL);
        record(idle_med, idle_p99, f, s, 1e3);
        g_array_free(s, true);
    }
    run_busy_reader(busy_med, busy_p99);
}

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

        for (int f = 0; f < FL_COUNT; f++) {
            double t, e;

            if (!flavours[f]) {
                continue;
            }
            measure_call_rcu(flavours[f], p, &t, &e);
            total->v[f] = t / 1e6;
            enq->v[f] = e;
        }
    }
}

static void run_idle_latency(void)
{
    Row *cb_med = row_new("callback_idle_median_us", "us",
                          "call_rcu callback latency idle, median");
    Row *cb_p99 = row_new("callback_idle_p99_us", "us",
                          "call_rcu callback latency idle, p99");
    Row *dr_med = row_new("drain_idle_median_us", "us",
                          "drain_call_rcu (rcu_barrier) idle, median");
    Row *dr_p99 = row_new("drain_idle_p99_us", "us",
                          "drain_call_rcu (rcu_barrier) idle, p99");

    for (int f = 0; f < FL_COUNT; f++) {
        const BenchFlavour *fl = flavours[f];
        GArray *s;

        if (!fl) {
            continue;
        }
        s = sample_callback_latency(fl, params.latency_samples,
                                    params.gap_us, NULL);
        record(cb_med, cb_p99, f, s, 1e3);
        g_array_free(s, true);
        s = sample_barrier_latency(fl, params.latency_samples,
                                   params.gap_us);
        record(dr_med, dr_p99, f, s, 1e3);
        g_array_free(s, true);
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
        bool expedited = fl && fl->synchronize_expedited;
        bool stop;
        Worker *w;
        GArray *s;

        mark_na(cb_med, fl, f, kickable);
        mark_na(cb_p99, fl, f, kickable);
        mark_na(sy_med, fl, f, kickable);
        mark_na(ex_med, fl, f, expedited);
        mark_na(ex_p99, fl, f, expedited);
        mark_na(ex_stuck, fl, f, expedited && kickable);

        if (expedited) {
            s = sample_op(fl->synchronize_expedited, params.sync_samples,
                          NULL);
            record(ex_med, ex_p99, f, s, 1e3);
            g_array_free(s, true);
        }
        if (!kickable) {
            continue;
        }
        w = background_start(fl, W_KICKABLE, &stop);
        s = sample_callback_latency(fl, params.stall_samples, 1000, w);
        record(cb_med, cb_p99, f, s, 1e6);
        g_array_free(s, true);
        s = sample_op(fl->synchronize, params.stall_samples, w);
        record(sy_med, NULL, f, s, 1e6);
        g_array_free(s, true);
        if (expedited) {
            s = sample_op(fl->synchronize_expedited, params.sync_samples, w);
            record(ex_stuck, NULL, f, s, 1e3);
            g_array_free(s, true);
        }
        background_stop(w);
    }
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

static double ratio(const Row *r, int f)
{
    double a = r->v[FL_QEMU], b = r->v[f];

    if (isnan(a) || isnan(b) || b <= 0) {
        return NAN;
    }
    return a / b;
}

static char *format_ratio(const Row *r, int f)
{
    double q = ratio(r, f);

    return isnan(q) ? g_strdup("-") :
           g_strdup_printf(q < 10 ? "%.2fx" : "%.0fx", q);
}

#define LABEL_WIDTH 50

static void print_table(void)
{
    GString *sep = g_string_new(NULL);

    printf("%-*s %-4s", LABEL_WIDTH, "figure", "unit");
    for (int f = 0; f < FL_COUNT; f++) {
        printf(" %10s", flavour_names[f]);
    }
    printf(" %8s %8s\n", "vs memb", "vs mb");
    g_string_append_len(sep, "----------------------------------------"
                        "----------------------------------------"
                        "----------------------------------------",
                        LABEL_WIDTH + 5 + 11 * FL_COUNT + 18);
    printf("%s\n", sep->str);
    g_string_free(sep, true);

    for (guint i = 0; i < rows->len; i++) {
        Row *r = g_ptr_array_index(rows, i);

        printf("%-*s %-4s", LABEL_WIDTH, r->label, r->unit);
        for (int f = 0; f < FL_COUNT; f++) {
            g_autofree char *s = format_value(r, f);

            printf(" %10s", s);
        }
        {
            g_autofree char *m = format_ratio(r, FL_MEMB);
            g_autofree char *b = format_ratio(r, FL_MB);

            printf(" %8s %8s\n", m, b);
        }
    }
}

static void json_string(GString *j, const char *s)
{
    g_string_append_c(j, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            g_string_append_c(j, '\\');
        }
        g_string_append_c(j, *s);
    }
    g_string_append_c(j, '"');
}

static void json_number(GString *j, double v)
{
    if (isnan(v)) {
        g_string_append(j, "null");
    } else {
        g_string_append_printf(j, "%.6g", v);
    }
}

static char *run_json(void)
{
    GString *j = g_string_new("{\n  \"tool\": \"qemu-rcu-bench\"");
    struct utsname u;

    uname(&u);
    g_string_append_printf(j, ",\n  \"cpus\": %ld,\n  \"kernel\": ",
                           sysconf(_SC_NPROCESSORS_ONLN));
    json_string(j, u.release);
    g_string_append(j, ",\n  \"liburcu\": ");
    json_string(j, URCU_VERSION);
    g_string_append_printf(j, ",\n  \"quick\": %s,\n  \"membarrier\": %s",
                           params.quick ? "true" : "false",
                           qemu_rcu_bench_membarrier() ? "true" : "false");
    g_string_append(j, ",\n  \"other_load\": ");
    json_number(j, other_load);
    g_string_append_printf(j, ",\n  \"params\": {\"threads\": %d, "
                           "\"read_ms\": %d, \"sync_samples\": %d, "
                           "\"max_ms\": %d, \"callbacks\": %d, "
                           "\"repeat\": %d, \"latency_samples\": %d, "
                           "\"stall_samples\": %d, \"section_ns\": %d, "
                           "\"gap_us\": %d, \"rounds\": %d, "
                           "\"pinned\": %s}",
                           params.threads, params.read_ms,
                           params.sync_samples, params.max_ms,
                           params.callbacks, params.repeat,
                           params.latency_samples, params.stall_samples,
                           params.section_ns, params.gap_us, params.rounds,
                           params.no_pin ? "false" : "true");
    g_string_append(j, ",\n  \"flavours\": {");
    for (int f = 0, n = 0; f < FL_COUNT; f++) {
        if (flavours[f]) {
            g_string_append_printf(j, "%s\n    ", n++ ? "," : "");
            json_string(j, flavour_names[f]);
            g_string_append(j, ": ");
            json_string(j, flavours[f]->describe());
        }
    }
    g_string_append(j, "\n  },\n  \"rows\": [");
    for (guint i = 0; i < rows->len; i++) {
        Row *r = g_ptr_array_index(rows, i);

        g_string_append_printf(j, "%s\n    {\"key\": ", i ? "," : "");
        json_string(j, r->key);
        g_string_append(j, ", \"label\": ");
        json_string(j, r->label);
        g_string_append(j, ", \"unit\": ");
        json_string(j, r->unit);
        for (int f = 0; f < FL_COUNT; f++) {
            g_string_append(j, ", ");
            json_string(j, flavour_names[f]);
            g_string_append(j, ": ");
            json_number(j, r->na[f] ? NAN : r->v[f]);
        }
        g_string_append(j, ", \"ratio_vs_memb\": ");
        json_number(j, ratio(r, FL_MEMB));
        g_string_append(j, ", \"ratio_vs_mb\": ");
        json_number(j, ratio(r, FL_MB));
        g_string_append(j, "}");
    }
    g_string_append(j, "\n  ],\n  \"stats\": {");
    for (int f = 0, n = 0; f < FL_COUNT; f++) {
        if (flavours[f] && flavours[f]->stats_json) {
            g_autofree char *st = flavours[f]->stats_json();

            g_string_append_printf(j, "%s\n    ", n++ ? "," : "");
            json_string(j, flavour_names[f]);
            g_string_append_printf(j, ": %s", st);
        }
    }
    g_string_append(j, "\n  }\n}");
    return g_string_free(j, false);
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
    printf("parameters: threads 1..%d, read %d ms per point, %d sync "
           "samples (max %d ms each figure), %d callbacks x %d runs, "
           "%d latency samples (gap %d us), %d stall samples, "
           "%d ns sections\n",
           params.threads, params.read_ms, params.sync_samples,
           params.max_ms, params.callbacks, params.repeat,
           params.latency_samples, params.gap_us, params.stall_samples,
           params.section_ns);
    for (int f = 0; f < FL_COUNT; f++) {
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

    if (!flavours[FL_QEMU]) {
        return;
    }
    st = flavours[FL_QEMU]->stats_json();
    printf("\nqemu-rcu statistics: %s\n", st);
}

/*
 * --both-modes: run again in a child whose qemu-rcu uses the other
 * barrier mode, and collect its JSON.
 */
static char *run_other_mode(void)
{
    g_autofree char *tmp = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) envp = g_get_environ();
    char *json = NULL;
    int fd, status;

    fd = g_file_open_tmp("qemu-rcu-bench-XXXXXX.json", &tmp, &err);
    if (fd < 0) {
        fprintf(stderr, "qemu-rcu-bench: %s\n", err->message);
        exit(1);
    }
    close(fd);

    g_ptr_array_add(argv, g_strdup("/proc/self/exe"));
    if (params.quick) {
        g_ptr_array_add(argv, g_strdup("--quick"));
    }
    if (params.only) {
        g_ptr_array_add(argv, g_strdup_printf("--only=%s", params.only));
    }
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
    g_ptr_array_add(argv, g_strdup_printf("--stall-samples=%d",
                                          params.stall_samples));
    g_ptr_array_add(argv, g_strdup_printf("--section-ns=%d",
                                          params.section_ns));
    g_ptr_array_add(argv, g_strdup_printf("--gap-us=%d", params.gap_us));
    g_ptr_array_add(argv, g_strdup_printf("--rounds=%d", params.rounds));
    if (params.no_pin) {
        g_ptr_array_add(argv, g_strdup("--no-pin"));
    }
    g_ptr_array_add(argv, g_strdup_printf("--json-run=%s", tmp));
    g_ptr_array_add(argv, NULL);

    if (qemu_rcu_bench_membarrier()) {
        envp = g_environ_setenv(envp, "QEMU_RCU_MEMBARRIER", "0", true);
        printf("\n=== again with QEMU_RCU_MEMBARRIER=0 (fence fallback) "
               "===\n\n");
    } else {
        envp = g_environ_unsetenv(envp, "QEMU_RCU_MEMBARRIER");
        printf("\n=== again without QEMU_RCU_MEMBARRIER=0 ===\n\n");
    }
    fflush(stdout);

    if (!g_spawn_sync(NULL, (char **)argv->pdata, envp, G_SPAWN_DEFAULT,
                      NULL, NULL, NULL, NULL, &status, &err) ||
        !g_spawn_check_wait_status(status, &err) ||
        !g_file_get_contents(tmp, &json, NULL, &err)) {
        fprintf(stderr, "qemu-rcu-bench: second mode failed: %s\n",
                err->message);
        unlink(tmp);
        exit(1);
    }
    unlink(tmp);
    return json;
}

int main(int argc, char **argv)
{
    GOptionEntry entries[] = {
        { "quick", 'q', 0, G_OPTION_ARG_NONE, &params.quick,
          "Run for a few seconds (smoke test, meson benchmark)", NULL },
        { "json", 'j', 0, G_OPTION_ARG_FILENAME, &params.json_file,
          "Also write the results as JSON to FILE", "FILE" },
        { "both-modes", 'b', 0, G_OPTION_ARG_NONE, &params.both_modes,
          "Run again with qemu-rcu in the other barrier mode "
          "(QEMU_RCU_MEMBARRIER=0)", NULL },
        { "no-pin", 0, 0, G_OPTION_ARG_NONE, &params.no_pin,
          "Do not pin the writer and the background reader to different "
          "CPUs", NULL },
        { "only", 'o', 0, G_OPTION_ARG_STRING, &params.only,
          "Comma-separated flavours: qemu-rcu,urcu-memb,urcu-mb,urcu-qsbr",
          "LIST" },
        { "threads", 't', 0, G_OPTION_ARG_INT, &params.threads,
          "Most reader threads in the read-side test (default: CPUs)", "N" },
        { "read-ms", 0, 0, G_OPTION_ARG_INT, &params.read_ms,
          "Duration of each read-side point (500; quick 30)", "MS" },
        { "sync-samples", 0, 0, G_OPTION_ARG_INT, &params.sync_samples,
          "Samples per grace-period latency figure (2000; quick 200)",
          "N" },
        { "max-ms", 0, 0, G_OPTION_ARG_INT, &params.max_ms,
          "Time cap for sampling one figure (2000; quick 200)", "MS" },
        { "callbacks", 'n', 0, G_OPTION_ARG_INT, &params.callbacks,
          "Callbacks per throughput run (1000000; quick 100000)", "N" },
        { "repeat", 0, 0, G_OPTION_ARG_INT, &params.repeat,
          "Throughput runs, the median is reported (5; quick 1)", "N" },
        { "latency-samples", 0, 0, G_OPTION_ARG_INT,
          &params.latency_samples,
          "Samples of idle callback and drain latency (100; quick 10)",
          "N" },
        { "stall-samples", 0, 0, G_OPTION_ARG_INT, &params.stall_samples,
          "Samples with a stuck kickable reader (20; quick 3)", "N" },
        { "section-ns", 0, 0, G_OPTION_ARG_INT, &params.section_ns,
          "Length of the busy reader's critical sections (1000)", "NS" },
        { "rounds", 0, 0, G_OPTION_ARG_INT, &params.rounds,
          "Busy-reader figure: rounds alternating between the libraries "
          "(5; quick 1)", "N" },
        { "gap-us", 0, 0, G_OPTION_ARG_INT, &params.gap_us,
          "Idle time before each idle-latency sample (2000; quick 200)",
          "US" },
        { "json-run", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME,
          &params.json_run_file, "Internal: write this run's JSON object",
          "FILE" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- qemu-rcu next to liburcu, one run");
    g_autoptr(GError) err = NULL;
    g_autofree char *json = NULL;
    g_autofree char *other = NULL;

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
    set_default(&params.latency_samples, 100, 10);
    set_default(&params.stall_samples, 20, 3);
    set_default(&params.section_ns, 1000, 1000);
    set_default(&params.gap_us, 2000, 200);
    set_default(&params.rounds, 5, 1);
    params.threads = MAX(params.threads, 1);
    params.callbacks = MAX(params.callbacks, 2);
    params.repeat = MAX(params.repeat, 1);
    params.sync_samples = MAX(params.sync_samples, 1);
    params.latency_samples = MAX(params.latency_samples, 1);
    params.stall_samples = MAX(params.stall_samples, 1);
    params.rounds = MAX(params.rounds, 1);

    select_flavours();
    for (int f = 0; f < FL_COUNT; f++) {
        if (flavours[f]) {
            flavours[f]->main_init();
        }
    }
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
    if (params.both_modes && !params.json_run_file) {
        other = run_other_mode();
    }
    if (params.json_file) {
        g_autofree char *doc =
            g_strdup_printf("{\"runs\": [\n%s%s%s\n]}\n", json,
                            other ? ",\n" : "", other ? other : "");

        write_file(params.json_file, doc);
    }
    g_ptr_array_free(rows, true);
    return 0;
}
