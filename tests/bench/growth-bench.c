/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * How an RCU implementation's costs grow with the number of threads:
 *  - synchronize_rcu() latency with N registered threads that are
 *    (a) online and idle, (b) offline, (c) idle but for one reader in a
 *    long critical section that leaves it when its force_rcu notifier
 *    kicks it;
 *  - call_rcu() throughput with P producers;
 *  - memory per registered thread.
 * A point whose runnable threads outnumber the CPUs is flagged
 * "oversubscribed": its figure says more about the scheduler than about
 * the library.  The thread and producer lists are options, so that the
 * same command covers bigger machines.  --json writes everything for
 * scripts/plot-bench.py.
 *
 * Built with BENCH_ANCHOR (tests/bench/anchors.sh --growth) against QEMU's
 * own rcu.c, which has no offline state (b), and, with
 * BENCH_ANCHOR_DRAIN_ONLY_KICK (QEMU 10.0), never kicks the reader of (c)
 * from synchronize_rcu(): those points are skipped.
 */
#ifdef BENCH_ANCHOR
#define GROWTH_NAME BENCH_ANCHOR
#else
#define GROWTH_NAME "qemu-rcu"
#endif
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#ifndef BENCH_ANCHOR
#include "qemu/rcu-ext.h"
#endif
#include "qemu/processor.h"
#include "qemu/sys_membarrier.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <sys/utsname.h>

#include "bench-util.h"

static gboolean opt_quick;
static char *opt_json;
static char *opt_threads;
static char *opt_producers;
static int opt_samples;
static int opt_stall_samples;
static int opt_callbacks;
static int opt_repeat;
static int ncpus;

/* The idle population: N threads parked on a condition variable. */
typedef enum { IDLE_ONLINE, IDLE_OFFLINE, IDLE_UNREGISTERED } IdleKind;

static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER;
static bool park_release;
static int parked;

static void *idle_thread(void *opaque)
{
    IdleKind kind = (IdleKind)(uintptr_t)opaque;

    if (kind != IDLE_UNREGISTERED) {
        rcu_register_thread();
#ifndef BENCH_ANCHOR
        if (kind == IDLE_OFFLINE) {
            rcu_thread_offline();
        }
#endif
    }
    pthread_mutex_lock(&park_lock);
    parked++;
    pthread_cond_broadcast(&park_cond);
    while (!park_release) {
        pthread_cond_wait(&park_cond, &park_lock);
    }
    pthread_mutex_unlock(&park_lock);
    if (kind != IDLE_UNREGISTERED) {
#ifndef BENCH_ANCHOR
        if (kind == IDLE_OFFLINE) {
            rcu_thread_online();
        }
#endif
        rcu_unregister_thread();
    }
    return NULL;
}

static pthread_t *idle_start(int n, IdleKind kind)
{
    pthread_t *t = g_new(pthread_t, n);
    pthread_attr_t attr;
    int target;

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_mutex_lock(&park_lock);
    park_release = false;
    target = parked + n;
    pthread_mutex_unlock(&park_lock);
    for (int i = 0; i < n; i++) {
        int err = pthread_create(&t[i], &attr, idle_thread,
                                 (void *)(uintptr_t)kind);
        if (err) {
            g_error("pthread_create: %s", strerror(err));
        }
    }
    pthread_attr_destroy(&attr);
    pthread_mutex_lock(&park_lock);
    while (parked < target) {
        pthread_cond_wait(&park_cond, &park_lock);
    }
    pthread_mutex_unlock(&park_lock);
    return t;
}

static void idle_release(void)
{
    pthread_mutex_lock(&park_lock);
    park_release = true;
    pthread_cond_broadcast(&park_cond);
    pthread_mutex_unlock(&park_lock);
}

/* After the joins: no thread of the population is left. */
static void idle_reset(void)
{
    pthread_mutex_lock(&park_lock);
    parked = 0;
    pthread_mutex_unlock(&park_lock);
}

static void idle_stop(pthread_t *t, int n)
{
    idle_release();
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
    }
    g_free(t);
    idle_reset();
}

/* Both sets of run_memory(), started with idle_start(n, ...) each. */
static void idle_stop_all(pthread_t **t, int n)
{
    idle_release();
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < n; i++) {
            pthread_join(t[s][i], NULL);
        }
        g_free(t[s]);
    }
    idle_reset();
}

/* The kickable reader of the virtio-gpu stall (see rcu-bench.c). */
typedef struct Kickable {
    pthread_t thread;
    Notifier notifier;
    bool kicked;
    bool inside;
    bool stop;
} Kickable;

/* Runs with the registry lock held: only raise the flag. */
static void kick(Notifier *n, void *data)
{
    Kickable *k = container_of(n, Kickable, notifier);

    qatomic_set(&k->kicked, true);
}

static void *kickable_thread(void *opaque)
{
    Kickable *k = opaque;

    rcu_register_thread();
    rcu_add_force_rcu_notifier(&k->notifier);
    while (!qatomic_read(&k->stop)) {
        rcu_read_lock();
        qatomic_set(&k->inside, true);
        while (!qatomic_read(&k->kicked) && !qatomic_read(&k->stop)) {
            g_usleep(100);
        }
        qatomic_set(&k->kicked, false);
        qatomic_set(&k->inside, false);
        rcu_read_unlock();
    }
    rcu_remove_force_rcu_notifier(&k->notifier);
    rcu_unregister_thread();
    return NULL;
}

static int64_t now_ns(void)
{
    return bench_clock_ns(CLOCK_MONOTONIC);
}

/* Median and p99 of @samples synchronize_rcu() calls, in microseconds. */
static void sample_sync(int samples, Kickable *k, double *med, double *p99)
{
    double *v = g_new(double, samples);

    for (int i = 0; i < samples; i++) {
        int64_t t0;

        while (k && !qatomic_read(&k->inside)) {
            g_usleep(50);
        }
        t0 = now_ns();
        synchronize_rcu();
        v[i] = (now_ns() - t0) / 1000.0;
    }
    *med = bench_percentile_double(v, samples, 50);
    *p99 = bench_percentile_double(v, samples, 99);
    g_free(v);
}

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) {
            resident = 0;
        }
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static GArray *parse_list(const char *s)
{
    GArray *a = g_array_new(false, false, sizeof(int));
    g_auto(GStrv) parts = g_strsplit(s, ",", -1);

    for (int i = 0; parts[i]; i++) {
        int v = atoi(parts[i]);
        if (v > 0) {
            g_array_append_val(a, v);
        }
    }
    return a;
}

static const char *const state_names[] = {
    "online-idle", "offline", "kickable-reader",
};

static void run_sync(JsonBuilder *b, GArray *threads)
{
    printf("synchronize_rcu() with N registered threads (us)\n");
    printf("%-8s %-16s %10s %10s  %s\n", "N", "state", "median", "p99",
           "note");
    json_builder_set_member_name(b, "synchronize_rcu");
    json_builder_begin_array(b);
    for (guint i = 0; i < threads->len; i++) {
        int n = g_array_index(threads, int, i);

        for (int s = 0; s < 3; s++) {
            /* In state (c) the kickable reader is one of the N. */
            int idle = s == 2 ? n - 1 : n;
            pthread_t *t;
            Kickable k = { .notifier.notify = kick };
            int samples = s == 2 ? opt_stall_samples : opt_samples;
            /* Runnable: the synchronizing thread and the kickable one. */
            bool over = (s == 2 ? 2 : 1) > ncpus;
            double med, p99;

#ifdef BENCH_ANCHOR
            if (s == 1) {
                continue;
            }
#endif
#ifdef BENCH_ANCHOR_DRAIN_ONLY_KICK
            if (s == 2) {
                continue;
            }
#endif
            t = idle_start(idle, s == 1 ? IDLE_OFFLINE : IDLE_ONLINE);

            if (s == 2) {
                pthread_create(&k.thread, NULL, kickable_thread, &k);
            }
            sample_sync(samples, s == 2 ? &k : NULL, &med, &p99);
            if (s == 2) {
                qatomic_set(&k.stop, true);
                pthread_join(k.thread, NULL);
            }
            idle_stop(t, idle);
            printf("%-8d %-16s %10.1f %10.1f  %s\n", n, state_names[s],
                   med, p99, over ? "oversubscribed" : "");
            json_builder_begin_object(b);
            bench_json_int(b, "threads", n);
            bench_json_string(b, "state", state_names[s]);
            bench_json_int(b, "samples", samples);
            bench_json_number(b, "median_us", med);
            bench_json_number(b, "p99_us", p99);
            bench_json_bool(b, "oversubscribed", over);
            json_builder_end_object(b);
        }
    }
    json_builder_end_array(b);
}

typedef struct Node {
    struct rcu_head rcu;
} Node;

/* Counts callbacks; unsigned long is atomic on every host. */
static unsigned long callbacks_run;

static void count_cb(struct rcu_head *h)
{
    /* Only the call_rcu thread writes it. */
    qatomic_set(&callbacks_run, qatomic_read(&callbacks_run) + 1);
}

typedef struct Producer {
    pthread_t thread;
    Node *nodes;
    size_t n;
    pthread_barrier_t *start;
    int64_t begin, end;
} Producer;

static void *producer_thread(void *opaque)
{
    Producer *p = opaque;

    rcu_register_thread();
    pthread_barrier_wait(p->start);
    p->begin = now_ns();
    for (size_t i = 0; i < p->n; i++) {
        call_rcu1(&p->nodes[i].rcu, count_cb);
    }
    p->end = now_ns();
    rcu_unregister_thread();
    return NULL;
}

/* One run: total ms until all ran, enqueue ns per call. */
static void call_rcu_once(int producers, size_t total, Node *nodes,
                          double *all_ms, double *enq_ns)
{
    g_autofree Producer *p = g_new0(Producer, producers);
    pthread_barrier_t start;
    int64_t t0, enq_end = 0;

    qatomic_set(&callbacks_run, 0);
    pthread_barrier_init(&start, NULL, producers + 1);
    for (int i = 0; i < producers; i++) {
        p[i].nodes = nodes + i * (total / producers);
        p[i].n = total / producers;
        p[i].start = &start;
        pthread_create(&p[i].thread, NULL, producer_thread, &p[i]);
    }
    pthread_barrier_wait(&start);
    t0 = INT64_MAX;
    /* The producers may run before this thread returns from the barrier. */
    for (int i = 0; i < producers; i++) {
        pthread_join(p[i].thread, NULL);
        t0 = MIN(t0, p[i].begin);
        enq_end = MAX(enq_end, p[i].end);
    }
    drain_call_rcu();
    *all_ms = (now_ns() - t0) / 1e6;
    *enq_ns = (double)(enq_end - t0) / (total / producers * producers);
    pthread_barrier_destroy(&start);
}

static void run_call_rcu(JsonBuilder *b, GArray *producers)
{
    size_t total = opt_callbacks;
    Node *nodes = g_new0(Node, total);

    memset(nodes, 0, total * sizeof(*nodes));
    printf("\n%d call_rcu() with P producers, median of %d\n",
           opt_callbacks, opt_repeat);
    printf("%-8s %12s %14s  %s\n", "P", "all ran, ms", "enqueue ns/call",
           "note");
    json_builder_set_member_name(b, "call_rcu");
    json_builder_begin_array(b);
    for (guint i = 0; i < producers->len; i++) {
        int np = g_array_index(producers, int, i);
        double *all = g_new(double, opt_repeat);
        double *enq = g_new(double, opt_repeat);
        /* Producers and the call_rcu thread. */
        bool over = np + 1 > ncpus;
        double all_med, enq_med;

        for (int r = 0; r < opt_repeat; r++) {
            call_rcu_once(np, total, nodes, &all[r], &enq[r]);
        }
        all_med = bench_percentile_double(all, opt_repeat, 50);
        enq_med = bench_percentile_double(enq, opt_repeat, 50);
        printf("%-8d %12.1f %14.1f  %s\n", np, all_med, enq_med,
               over ? "oversubscribed" : "");
        json_builder_begin_object(b);
        bench_json_int(b, "producers", np);
        bench_json_int(b, "callbacks", opt_callbacks);
        bench_json_number(b, "all_ran_ms", all_med);
        bench_json_number(b, "enqueue_ns", enq_med);
        bench_json_bool(b, "oversubscribed", over);
        json_builder_end_object(b);
        g_free(all);
        g_free(enq);
    }
    json_builder_end_array(b);
    g_free(nodes);
}

/*
 * Resident memory per thread with and without registration; the
 * difference is what registering costs (reader record, registry entry)
 * beyond the thread itself.
 */
static void run_memory(JsonBuilder *b, int n)
{
    double per[2];
    pthread_t *t[2];

    /*
     * Both populations stay alive together, so that neither reuses the
     * other's cached stacks.
     */
    for (int reg = 0; reg < 2; reg++) {
        long before = rss_kib();

        t[reg] = idle_start(n, reg ? IDLE_ONLINE : IDLE_UNREGISTERED);
        per[reg] = (double)(rss_kib() - before) / n;
    }
    idle_stop_all(t, n);
    printf("\nresident memory per thread, %d threads: %.1f KiB registered, "
           "%.1f KiB unregistered (difference %.2f KiB; "
           "struct rcu_reader_data: %zu bytes)\n",
           n, per[1], per[0], per[1] - per[0],
           sizeof(struct rcu_reader_data));
    json_builder_set_member_name(b, "memory");
    json_builder_begin_object(b);
    bench_json_int(b, "threads", n);
    bench_json_number(b, "registered_kib_per_thread", per[1]);
    bench_json_number(b, "unregistered_kib_per_thread", per[0]);
    bench_json_int(b, "sizeof_rcu_reader_data",
                   sizeof(struct rcu_reader_data));
    json_builder_end_object(b);
}

static void add_load(JsonBuilder *b, const char *name)
{
    double l[3] = { NAN, NAN, NAN };

    getloadavg(l, 3);
    json_builder_set_member_name(b, name);
    json_builder_begin_array(b);
    for (int i = 0; i < 3; i++) {
        json_builder_add_double_value(b, l[i]);
    }
    json_builder_end_array(b);
}

int main(int argc, char **argv)
{
    GOptionEntry entries[] = {
        { "quick", 'q', 0, G_OPTION_ARG_NONE, &opt_quick,
          "Small thread counts and few samples (CI)", NULL },
        { "json", 'j', 0, G_OPTION_ARG_FILENAME, &opt_json,
          "Also write the results as JSON to FILE", "FILE" },
        { "threads", 't', 0, G_OPTION_ARG_STRING, &opt_threads,
          "Registered thread counts (1,16,64,256,1024; quick 1,16,64)",
          "LIST" },
        { "producers", 'p', 0, G_OPTION_ARG_STRING, &opt_producers,
          "call_rcu() producer counts (1,2,4,8,16; quick 1,2,4)", "LIST" },
        { "samples", 0, 0, G_OPTION_ARG_INT, &opt_samples,
          "synchronize_rcu() samples per point (200; quick 20)", "N" },
        { "stall-samples", 0, 0, G_OPTION_ARG_INT, &opt_stall_samples,
          "Samples with the kickable reader (5; quick 2)", "N" },
        { "callbacks", 'n', 0, G_OPTION_ARG_INT, &opt_callbacks,
          "Callbacks per throughput run (1000000; quick 100000)", "N" },
        { "repeat", 0, 0, G_OPTION_ARG_INT, &opt_repeat,
          "Throughput runs, the median is reported (5; quick 1)", "N" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- RCU costs as threads grow");
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(GArray) threads = NULL;
    g_autoptr(GArray) producers = NULL;
    struct utsname u;
    int max_threads = 1;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        g_printerr("%s\n", err->message);
        return 2;
    }
    threads = parse_list(opt_threads ? opt_threads :
                         opt_quick ? "1,16,64" : "1,16,64,256,1024");
    producers = parse_list(opt_producers ? opt_producers :
                           opt_quick ? "1,2,4" : "1,2,4,8,16");
    if (!opt_samples) {
        opt_samples = opt_quick ? 20 : 200;
    }
    if (!opt_stall_samples) {
        opt_stall_samples = opt_quick ? 2 : 5;
    }
    if (!opt_callbacks) {
        opt_callbacks = opt_quick ? 100000 : 1000000;
    }
    if (!opt_repeat) {
        opt_repeat = opt_quick ? 1 : 5;
    }
    if (!threads->len || !producers->len || opt_samples < 1 ||
        opt_stall_samples < 1 || opt_callbacks < 16 || opt_repeat < 1) {
        g_printerr("bad parameters\n");
        return 2;
    }
    for (guint i = 0; i < threads->len; i++) {
        max_threads = MAX(max_threads, g_array_index(threads, int, i));
    }
    ncpus = sysconf(_SC_NPROCESSORS_ONLN);
    uname(&u);

    json_builder_begin_object(b);
    bench_json_string(b, "implementation", GROWTH_NAME);
    json_builder_set_member_name(b, "machine");
    json_builder_begin_object(b);
    bench_json_int(b, "cpus", ncpus);
    bench_json_string(b, "kernel", u.release);
    bench_json_bool(b, "membarrier", qemu_membarrier_enabled());
    add_load(b, "load_before");
    json_builder_end_object(b);
    {
        double l[3] = { 0, 0, 0 };

        getloadavg(l, 3);
        printf("%s growth with threads: %d CPUs, %s, "
               "load average %.2f %.2f %.2f\n\n", GROWTH_NAME, ncpus,
               qemu_membarrier_enabled() ? "membarrier" : "read side fences",
               l[0], l[1], l[2]);
    }

    run_sync(b, threads);
    run_call_rcu(b, producers);
    run_memory(b, max_threads);

    json_builder_set_member_name(b, "machine_after");
    json_builder_begin_object(b);
    add_load(b, "load_after");
    json_builder_end_object(b);
    json_builder_end_object(b);

    if (opt_json) {
        g_autoptr(JsonGenerator) gen = json_generator_new();
        g_autoptr(JsonNode) root = json_builder_get_root(b);

        json_generator_set_root(gen, root);
        json_generator_set_pretty(gen, true);
        if (!json_generator_to_file(gen, opt_json, &err)) {
            g_printerr("%s: %s\n", opt_json, err->message);
            return 1;
        }
    }
    return 0;
}
