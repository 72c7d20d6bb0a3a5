/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * A minimal RCU example: reader threads look up keys in a hash table
 * published through one RCU-protected pointer, while an updater replaces
 * the table copy-on-write and frees old versions with g_free_rcu().
 *
 *   rcu-table [--readers N] [--seconds S]
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"

#define TABLE_SIZE 64

typedef struct Table {
    struct rcu_head rcu;
    unsigned generation;
    unsigned values[TABLE_SIZE];
} Table;

static Table *current_table;
static bool stop;
static uint64_t total_lookups;

static void *reader(void *opaque)
{
    uint64_t lookups = 0;
    unsigned key = GPOINTER_TO_UINT(opaque);

    rcu_register_thread();
    while (!qatomic_read(&stop)) {
        WITH_RCU_READ_LOCK_GUARD() {
            Table *t = qatomic_rcu_read(&current_table);

            /* Every slot of one version carries that version's number. */
            key = (key * 1103515245u + 12345u) % TABLE_SIZE;
            if (t->values[key] != t->generation) {
                fprintf(stderr, "torn table seen: slot %u\n", key);
                abort();
            }
        }
        lookups++;
    }
    qatomic_add(&total_lookups, lookups);
    rcu_unregister_thread();
    return NULL;
}

static void publish(unsigned generation)
{
    Table *fresh = g_new0(Table, 1);
    Table *old = qatomic_read(&current_table);

    fresh->generation = generation;
    for (int i = 0; i < TABLE_SIZE; i++) {
        fresh->values[i] = generation;
    }
    qatomic_rcu_set(&current_table, fresh);
    if (old) {
        g_free_rcu(old, rcu);
    }
}

int main(int argc, char **argv)
{
    int readers = 2;
    double seconds = 1.0;
    GOptionEntry entries[] = {
        { "readers", 'r', 0, G_OPTION_ARG_INT, &readers,
          "reader threads (default 2)", "N" },
        { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds,
          "run time (default 1)", "S" },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- RCU table demo");
    g_autoptr(GError) err = NULL;
    g_autofree QemuThread *threads = NULL;
    unsigned generation = 0;
    int64_t end;
    RcuStats stats;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || readers < 1) {
        fprintf(stderr, "%s\n", err ? err->message : "bad --readers");
        return 2;
    }

    publish(generation++);
    threads = g_new0(QemuThread, readers);
    for (int i = 0; i < readers; i++) {
        qemu_thread_create(&threads[i], "rcu-table-reader", reader,
                           GUINT_TO_POINTER(i + 1), QEMU_THREAD_JOINABLE);
    }
    end = g_get_monotonic_time() + (int64_t)(seconds * G_USEC_PER_SEC);
    while (g_get_monotonic_time() < end) {
        publish(generation++);
        g_usleep(100);
    }
    qatomic_set(&stop, true);
    for (int i = 0; i < readers; i++) {
        qemu_thread_join(&threads[i]);
    }
    drain_call_rcu();
    g_free(qatomic_read(&current_table));

    rcu_get_stats(&stats);
    printf("versions published: %u\n", generation);
    printf("lookups:            %" PRIu64 "\n", total_lookups);
    printf("grace periods:      %" PRIu64 " (%" PRIu64 " forced)\n",
           stats.grace_periods, stats.forced_grace_periods);
    printf("callbacks run:      %" PRIu64 "\n", stats.callbacks_run);
    return 0;
}
