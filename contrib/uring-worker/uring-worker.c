/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uring-worker: what going offline before blocking saves.  Workers
 * sleep in io_uring_submit_and_wait() while the main thread replaces
 * table entries with synchronize_rcu() and feeds one key per update.
 * Prints, per mode, grace periods and membarrier calls per second: with
 * --quiesce the sleeping workers cost none.  See docs/blocking-threads.md.
 *
 * Copyright (c) 2026 The qemu-rcu authors
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "qemu/sys_membarrier.h"
#include "uring-pool.h"

enum { EXIT_RECLAIMED = 1, EXIT_USAGE = 2, EXIT_NO_URING = 77 };

typedef struct Options {
    int workers;
    double seconds;
    int update_rate;
} Options;

/* Runs one mode; returns the number of poisoned entries seen, or -errno. */
static int64_t run_mode(const Options *o, bool quiesce)
{
    UringTable *table = uring_table_new(16);
    int64_t period_ns = 1000000000LL / o->update_rate;
    int64_t start, end, next;
    UringPoolStats ps;
    RcuStats s0, s1, d;
    UringPool *pool;
    unsigned n = 0;
    double secs;
    int ret;

    ret = uring_pool_start(&pool, o->workers, quiesce, 0, table);
    if (ret < 0) {
        uring_table_free(table);
        return ret;
    }
    rcu_get_stats(&s0);
    start = next = uring_clock_ns();
    end = start + (int64_t)(o->seconds * 1e9);
    while ((next += period_ns) < end) {
        uring_table_update(table, n);
        uring_pool_feed(pool, n++);
        g_usleep(MAX(0, next - uring_clock_ns()) / 1000);
    }
    secs = (uring_clock_ns() - start) / 1e9;
    rcu_get_stats(&s1);
    uring_pool_get_stats(pool, &ps);
    uring_pool_stop(pool);
    uring_table_free(table);

    rcu_stats_diff(&d, &s1, &s0);
    printf("%-11s %9.1f %13.1f %10.1f %9" PRIu64 " %9" PRIu64 "\n",
           quiesce ? "quiesce" : "no-quiesce", d.grace_periods / secs,
           d.membarrier_calls / secs, d.membarriers_skipped / secs,
           ps.messages, ps.reclaimed_seen);
    return ps.reclaimed_seen;
}

int main(int argc, char **argv)
{
    Options o = { .workers = 2, .seconds = 1.0, .update_rate = 200 };
    gboolean only_quiesce = false, only_no_quiesce = false;
    g_autoptr(GOptionContext) ctx = NULL;
    g_autoptr(GError) err = NULL;
    int64_t bad = 0;
    GOptionEntry entries[] = {
        { "workers", 'w', 0, G_OPTION_ARG_INT, &o.workers,
          "io_uring worker threads (default 2)", "N" },
        { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &o.seconds,
          "run time per mode (default 1)", "S" },
        { "update-rate", 'u', 0, G_OPTION_ARG_INT, &o.update_rate,
          "table updates, each with synchronize_rcu(), per second "
          "(default 200)", "N" },
        { "quiesce", 0, 0, G_OPTION_ARG_NONE, &only_quiesce,
          "only the mode where workers go offline to block", NULL },
        { "no-quiesce", 0, 0, G_OPTION_ARG_NONE, &only_no_quiesce,
          "only the mode where workers stay online", NULL },
        { NULL }
    };

    ctx = g_option_context_new("- RCU cost of io_uring workers");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc > 1 ||
        o.workers < 1 || o.workers > 64 || o.seconds <= 0 ||
        o.seconds > 3600 || o.update_rate < 1 || o.update_rate > 1000000) {
        fprintf(stderr, "uring-worker: %s\n",
                err ? err->message : "bad arguments (see --help)");
        return EXIT_USAGE;
    }

    printf("uring-worker: %d workers, %.1f s per mode, %d updates/s, "
           "membarrier %s\n", o.workers, o.seconds, o.update_rate,
           qemu_membarrier_enabled() ? "active" : "off (fences)");
    printf("mode             GP/s  membarrier/s  skipped/s      keys "
           "reclaimed\n");
    for (int quiesce = 1; quiesce >= 0; quiesce--) {
        int64_t r;

        if ((quiesce && only_no_quiesce) || (!quiesce && only_quiesce)) {
            continue;
        }
        r = run_mode(&o, quiesce);
        if (r == -ENOSYS || r == -EPERM) {
            printf("uring-worker: io_uring unavailable: %s\n", strerror(-r));
            return EXIT_NO_URING;
        } else if (r < 0) {
            fprintf(stderr, "uring-worker: io_uring_queue_init: %s\n",
                    strerror(-r));
            return EXIT_USAGE;
        }
        bad += r;
    }
    return bad ? EXIT_RECLAIMED : EXIT_SUCCESS;
}
