/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uring-worker: io_uring workers parked on pipes, a writer updating
 * their RCU-protected table, and what the writer's grace periods cost
 * with the workers going offline while they block (--quiesce) and
 * without (--no-quiesce).  See docs/blocking-threads.md.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "uring-pool.h"

#include <sched.h>

enum {
    EXIT_UNSAFE = 1,            /* a worker read a reclaimed entry */
    EXIT_USAGE = 2,
    EXIT_ERROR = 3,             /* the pool could not start */
    EXIT_NO_URING = 77,         /* the kernel refuses io_uring */
};

typedef struct Options {
    unsigned workers;
    double seconds;
    unsigned update_rate;
    unsigned feed_rate;
    unsigned burst;
    unsigned slots;
    unsigned spin_ns;
    bool quiesce;
    bool no_quiesce;
    bool main_online;
    bool json;
} Options;

/* What one run measured. */
typedef struct RunResult {
    bool quiesce;
    double elapsed_s;
    UringPoolStats pool;
    RcuStats rcu;               /* deltas over the run */
    uint64_t keys_sent;
    uint64_t sync_count;
    uint64_t sync_total_ns;
    uint64_t sync_max_ns;
} RunResult;

typedef struct Writer {
    QemuThread thread;
    QemuEvent stop_event;
    bool stop;
    UringTable *table;
    unsigned rate;
    uint64_t count;
    uint64_t total_ns;
    uint64_t max_ns;
} Writer;

#define WRITER_MIN_SLEEP_NS (100 * 1000)

/*
 * The writer is a registered thread too: it goes offline while it sleeps
 * between updates, like any thread that blocks, and online around the
 * update.
 */
static void *writer_fn(void *opaque)
{
    Writer *wr = opaque;
    int64_t interval = 1000000000LL / wr->rate;
    int64_t next = uring_clock_ns();
    unsigned slot = 0;

    rcu_register_thread();
    rcu_thread_offline();
    while (!qatomic_read(&wr->stop)) {
        int64_t now = uring_clock_ns();

        if (next - now > WRITER_MIN_SLEEP_NS) {
            qemu_event_timedwait_ns(&wr->stop_event, next - now);
            continue;
        }
        if (next > now) {
            /* Timer slack would make such a short sleep far longer. */
            sched_yield();
            continue;
        }
        next = MAX(next + interval, now - interval);

        rcu_thread_online();
        now = uring_clock_ns();
        uring_table_update(wr->table, slot++);
        now = uring_clock_ns() - now;
        rcu_thread_offline();

        wr->count++;
        wr->total_ns += now;
        wr->max_ns = MAX(wr->max_ns, (uint64_t)now);
    }
    rcu_unregister_thread();
    return NULL;
}

static void pool_stats_delta(UringPoolStats *d, const UringPoolStats *a,
                             const UringPoolStats *b)
{
    d->requests = b->requests - a->requests;
    d->messages = b->messages - a->messages;
    d->file_reads = b->file_reads - a->file_reads;
    d->bytes = b->bytes - a->bytes;
    d->lookups = b->lookups - a->lookups;
    d->reclaimed_seen = b->reclaimed_seen - a->reclaimed_seen;
    d->waits = b->waits - a->waits;
    d->parked_ns = b->parked_ns - a->parked_ns;
    d->io_errors = b->io_errors - a->io_errors;
    d->kicks = b->kicks - a->kicks;
}

/* Lets the workers reach their first wait before anything is measured. */
static void wait_parked(UringPool *pool, unsigned workers)
{
    int64_t deadline = uring_clock_ns() + 1000000000LL;

    while (uring_pool_parked(pool) < workers && uring_clock_ns() < deadline) {
        g_usleep(1000);
    }
}

static int run(const Options *o, bool quiesce, RunResult *r)
{
    UringPoolConfig cfg = {
        .workers = o->workers,
        .quiesce = quiesce,
        .burst = o->burst,
        .spin_ns = o->spin_ns,
    };
    UringTable *table = uring_table_new(o->slots);
    UringPool *pool;
    UringFeeder *feeder;
    Writer wr = { .table = table, .rate = o->update_rate };
    UringPoolStats p0, p1;
    RcuStats s0, s1;
    int64_t t0, t1;
    int ret;

    ret = uring_pool_start(&pool, &cfg, table);
    if (ret < 0) {
        fprintf(stderr, "uring-worker: cannot start the pool: %s%s\n",
                strerror(-ret),
                ret == -ENOSYS || ret == -EPERM ?
                " (io_uring unavailable or disabled on this kernel)" : "");
        uring_table_free(table);
        return ret;
    }
    wait_parked(pool, o->workers);

    memset(r, 0, sizeof(*r));
    r->quiesce = quiesce;
    qemu_event_init(&wr.stop_event, false);

    uring_pool_get_stats(pool, &p0);
    rcu_get_stats(&s0);
    t0 = uring_clock_ns();
    if (o->update_rate) {
        qemu_thread_create(&wr.thread, "uring-writer", writer_fn, &wr,
                           QEMU_THREAD_JOINABLE);
    }
    feeder = uring_feeder_start(pool, o->feed_rate);

    /*
     * The main thread was registered by the library and would stay
     * online while it sleeps here, making every grace period pay for a
     * membarrier on its behalf: it is a blocking thread like the others.
     */
    if (!o->main_online) {
        rcu_thread_offline();
    }
    g_usleep((gulong)(o->seconds * G_USEC_PER_SEC));
    if (!o->main_online) {
        rcu_thread_online();
    }

    r->keys_sent = uring_feeder_stop(feeder);
    if (o->update_rate) {
        qatomic_set(&wr.stop, true);
        qemu_event_set(&wr.stop_event);
        qemu_thread_join(&wr.thread);
    }
    t1 = uring_clock_ns();
    rcu_get_stats(&s1);
    uring_pool_get_stats(pool, &p1);

    r->elapsed_s = (t1 - t0) / 1e9;
    rcu_stats_diff(&r->rcu, &s1, &s0);
    pool_stats_delta(&r->pool, &p0, &p1);
    r->sync_count = wr.count;
    r->sync_total_ns = wr.total_ns;
    r->sync_max_ns = wr.max_ns;

    uring_pool_stop(pool);
    uring_table_free(table);
    qemu_event_destroy(&wr.stop_event);
    return 0;
}

static double per_s(uint64_t n, const RunResult *r)
{
    return r->elapsed_s > 0 ? n / r->elapsed_s : 0;
}

static double parked_pct(const RunResult *r, const Options *o)
{
    return 100.0 * r->pool.parked_ns / (r->elapsed_s * 1e9 * o->workers);
}

static double sync_avg_us(const RunResult *r)
{
    return r->sync_count ? r->sync_total_ns / 1e3 / r->sync_count : 0;
}

static void print_text(const Options *o, const RunResult *res, int n)
{
    printf("uring-worker: %u workers, %.1f s per mode, %u updates/s, "
           "%u keys/s x %u file reads, membarrier %s%s\n",
           o->workers, o->seconds, o->update_rate, o->feed_rate, o->burst,
           qemu_membarrier_enabled() ? "active" : "off (fences)",
           o->main_online ? ", main thread stays online" : "");
    printf("%-10s %9s %8s %13s %10s %7s %9s %9s %9s\n",
           "mode", "req/s", "GP/s", "membarrier/s", "skipped/s", "parked",
           "sync avg", "sync max", "reclaimed");
    for (int i = 0; i < n; i++) {
        const RunResult *r = &res[i];

        printf("%-10s %9.0f %8.1f %13.1f %10.1f %6.1f%% %7.1fus %7.1fus "
               "%9" PRIu64 "\n",
               r->quiesce ? "quiesce" : "no-quiesce",
               per_s(r->pool.requests, r), per_s(r->rcu.grace_periods, r),
               per_s(r->rcu.membarrier_calls, r),
               per_s(r->rcu.membarriers_skipped, r), parked_pct(r, o),
               sync_avg_us(r), r->sync_max_ns / 1e3, r->pool.reclaimed_seen);
    }
}

static void print_json(const Options *o, const RunResult *res, int n)
{
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "{\"workers\": %u, \"seconds\": %g, "
                           "\"update_rate\": %u, \"feed_rate\": %u, "
                           "\"burst\": %u, \"membarrier\": %s, "
                           "\"main_online\": %s, \"runs\": [",
                           o->workers, o->seconds, o->update_rate,
                           o->feed_rate, o->burst,
                           qemu_membarrier_enabled() ? "true" : "false",
                           o->main_online ? "true" : "false");
    for (int i = 0; i < n; i++) {
        const RunResult *r = &res[i];

        g_string_append_printf(s,
            "%s\n  {\"quiesce\": %s, \"elapsed_s\": %.3f, "
            "\"requests\": %" PRIu64 ", \"requests_per_s\": %.1f, "
            "\"keys_sent\": %" PRIu64 ", \"file_reads\": %" PRIu64 ", "
            "\"lookups\": %" PRIu64 ", \"reclaimed_seen\": %" PRIu64 ", "
            "\"io_errors\": %" PRIu64 ", "
            "\"grace_periods\": %" PRIu64 ", \"grace_periods_per_s\": %.1f, "
            "\"membarrier_calls\": %" PRIu64 ", "
            "\"membarrier_calls_per_s\": %.1f, "
            "\"membarriers_skipped\": %" PRIu64 ", "
            "\"force_rcu_notifier_calls\": %" PRIu64 ", "
            "\"kicks\": %" PRIu64 ", "
            "\"parked_pct\": %.1f, \"sync_avg_us\": %.1f, "
            "\"sync_max_us\": %.1f}",
            i ? "," : "", r->quiesce ? "true" : "false", r->elapsed_s,
            r->pool.requests, per_s(r->pool.requests, r), r->keys_sent,
            r->pool.file_reads, r->pool.lookups, r->pool.reclaimed_seen,
            r->pool.io_errors, r->rcu.grace_periods,
            per_s(r->rcu.grace_periods, r), r->rcu.membarrier_calls,
            per_s(r->rcu.membarrier_calls, r), r->rcu.membarriers_skipped,
            r->rcu.force_rcu_notifier_calls, r->pool.kicks, parked_pct(r, o),
            sync_avg_us(r), r->sync_max_ns / 1e3);
    }
    g_string_append(s, "\n]}\n");
    fputs(s->str, stdout);
    g_string_free(s, true);
}

static bool parse_uint(const char *name, const char *s, unsigned *out)
{
    char *end;
    guint64 v;

    errno = 0;
    v = g_ascii_strtoull(s, &end, 10);
    if (errno || end == s || *end || v > UINT_MAX) {
        fprintf(stderr, "uring-worker: %s: not a number: %s\n", name, s);
        return false;
    }
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    Options o = {
        .workers = 2, .seconds = 2.0, .update_rate = 200,
        .feed_rate = 200, .burst = 4, .slots = 64,
    };
    g_autofree char *workers = NULL, *update_rate = NULL, *feed_rate = NULL;
    g_autofree char *burst = NULL, *slots = NULL, *spin_ns = NULL;
    GOptionEntry entries[] = {
        { "workers", 'w', 0, G_OPTION_ARG_STRING, &workers,
          "Worker threads (2)", "N" },
        { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &o.seconds,
          "Seconds per mode (2)", "S" },
        { "update-rate", 'u', 0, G_OPTION_ARG_STRING, &update_rate,
          "Table updates, each with synchronize_rcu(), per second (200)",
          "N" },
        { "feed-rate", 'f', 0, G_OPTION_ARG_STRING, &feed_rate,
          "Keys written to the workers' pipes per second in total; "
          "0 leaves the workers parked (200)", "N" },
        { "burst", 'b', 0, G_OPTION_ARG_STRING, &burst,
          "File reads per key (4, at most 32)", "N" },
        { "slots", 0, 0, G_OPTION_ARG_STRING, &slots,
          "Table entries (64)", "N" },
        { "spin-ns", 0, 0, G_OPTION_ARG_STRING, &spin_ns,
          "Time a lookup stays in its critical section (0)", "NS" },
        { "quiesce", 'q', 0, G_OPTION_ARG_NONE, &o.quiesce,
          "Run with workers offline while they block", NULL },
        { "no-quiesce", 'n', 0, G_OPTION_ARG_NONE, &o.no_quiesce,
          "Run with workers online while they block (both by default)",
          NULL },
        { "main-online", 0, 0, G_OPTION_ARG_NONE, &o.main_online,
          "Leave the main thread online while it waits (shows its cost)",
          NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &o.json,
          "Print JSON instead of a table", NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- io_uring workers that quiesce RCU");
    g_autoptr(GError) err = NULL;
    RunResult res[2];
    int n = 0;
    bool unsafe = false;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx,
        "Prints requests, grace periods and membarrier calls per second\n"
        "with the workers going offline around io_uring_submit_and_wait()\n"
        "(--quiesce) and without (--no-quiesce).  Exit status: 0, 1 if a\n"
        "worker saw a reclaimed entry, 2 on bad usage, 3 if the pool cannot\n"
        "start, 77 if the kernel has no io_uring or forbids it.");
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "uring-worker: %s\n", err->message);
        return EXIT_USAGE;
    }
    if ((workers && !parse_uint("--workers", workers, &o.workers)) ||
        (update_rate &&
         !parse_uint("--update-rate", update_rate, &o.update_rate)) ||
        (feed_rate && !parse_uint("--feed-rate", feed_rate, &o.feed_rate)) ||
        (burst && !parse_uint("--burst", burst, &o.burst)) ||
        (slots && !parse_uint("--slots", slots, &o.slots)) ||
        (spin_ns && !parse_uint("--spin-ns", spin_ns, &o.spin_ns))) {
        return EXIT_USAGE;
    }
    if (argc > 1 || o.workers < 1 || o.workers > 256 || o.burst > 32 ||
        o.slots < 1 || !(o.seconds > 0 && o.seconds <= 3600)) {
        fprintf(stderr, "uring-worker: bad arguments; see --help\n");
        return EXIT_USAGE;
    }
    if (!o.quiesce && !o.no_quiesce) {
        o.quiesce = o.no_quiesce = true;
    }

    for (int q = 1; q >= 0; q--) {
        int ret;

        if (!(q ? o.quiesce : o.no_quiesce)) {
            continue;
        }
        ret = run(&o, q, &res[n]);
        if (ret < 0) {
            return ret == -ENOSYS || ret == -EPERM ? EXIT_NO_URING
                                                   : EXIT_ERROR;
        }
        n++;
    }

    if (o.json) {
        print_json(&o, res, n);
    } else {
        print_text(&o, res, n);
    }
    for (int i = 0; i < n; i++) {
        if (res[i].pool.reclaimed_seen || res[i].pool.io_errors) {
            fprintf(stderr, "uring-worker: %s: %" PRIu64 " lookups found a "
                    "reclaimed entry, %" PRIu64 " bad reads\n",
                    res[i].quiesce ? "quiesce" : "no-quiesce",
                    res[i].pool.reclaimed_seen, res[i].pool.io_errors);
            unsafe = true;
        }
    }
    return unsafe ? EXIT_UNSAFE : 0;
}
