/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * The qemu-rcu flavour of the benchmark: the inline read side of
 * "qemu/rcu.h", call_rcu1(), drain_call_rcu() and the extensions of
 * "qemu/rcu-ext.h".
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#ifndef BENCH_ANCHOR
#include "qemu/rcu-ext.h"
#endif
#include "qemu/processor.h"

#include <json-glib/json-glib.h>
#include "qemu/sys_membarrier.h"

#include "bench.h"

typedef struct BenchData {
    long value;
} BenchData;

static BenchData bench_data = { .value = 1 };
static BenchData *bench_ptr = &bench_data;

/* Keeps the loads of the read loops from being optimised away. */
static long bench_sink;

typedef struct BenchNode {
    struct rcu_head rcu;
    BenchCounter *done;
} BenchNode;

G_STATIC_ASSERT(sizeof(BenchNode) == BENCH_NODE_SIZE);

/*
 * Built with BENCH_ANCHOR (tests/bench/anchors.sh), this file drives
 * QEMU's own util/rcu.c and include/qemu/rcu.h instead: BENCH_ANCHOR is
 * the column's name, and there are no qemu-rcu extensions.
 */
#if defined(BENCH_ANCHOR) && defined(CONFIG_MEMBARRIER)
static const char *qr_describe(void)
{
    return "QEMU's util/rcu.c built with --enable-membarrier: read side "
           "compiler barriers, writer membarrier(MEMBARRIER_CMD_SHARED)";
}

bool qemu_rcu_bench_membarrier(void)
{
    return true;
}
#elif defined(BENCH_ANCHOR)
static const char *qr_describe(void)
{
    return "QEMU's util/rcu.c, as Debian builds it (no membarrier): read "
           "side smp_mb()";
}

bool qemu_rcu_bench_membarrier(void)
{
    return false;
}
#else
static const char *qr_describe(void)
{
    return qemu_membarrier_enabled() ?
           "membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), read side "
           "compiler barriers only" :
           "fence fallback (QEMU_RCU_MEMBARRIER=0 or no kernel support), "
           "read side smp_mb()";
}

bool qemu_rcu_bench_membarrier(void)
{
    return qemu_membarrier_enabled();
}
#endif

static void qr_main_init(void)
{
    /* The library's constructor registered the main thread. */
}

static void qr_thread_init(void)
{
    rcu_register_thread();
}

static void qr_thread_exit(void)
{
    rcu_unregister_thread();
}

static inline __attribute__((always_inline)) uint64_t
qr_read_loop(const bool *stop)
{
    uint64_t n = 0;
    long sum = 0;

    while (!bench_stopped(stop)) {
        for (int i = 0; i < 256; i++) {
            BenchData *d;

            rcu_read_lock();
            d = qatomic_rcu_read(&bench_ptr);
            sum += d->value;
            rcu_read_unlock();
        }
        n += 256;
    }
    qatomic_set(&bench_sink, sum);
    return n;
}

BENCH_READ_LOOPS(qr_read_loop)

static uint64_t qr_section_loop(const bool *stop, bool *running,
                                int64_t section_ns)
{
    uint64_t n = 0;

    while (!bench_stopped(stop)) {
        rcu_read_lock();
        bench_spin_ns(section_ns);
        rcu_read_unlock();
        if (!n++) {
            qatomic_set(running, true);
        }
    }
    return n;
}

static void qr_synchronize(void)
{
    synchronize_rcu();
}

#ifndef BENCH_ANCHOR
static void qr_synchronize_expedited(void)
{
    synchronize_rcu_expedited();
}
#endif

static void *qr_alloc_callbacks(size_t n)
{
    BenchNode *nodes = g_new0(BenchNode, n);

    bench_prefault(nodes, n * sizeof(*nodes));
    return nodes;
}

static void qr_free_callbacks(void *cbs)
{
    g_free(cbs);
}

static void qr_callback(struct rcu_head *head)
{
    BenchNode *node = container_of(head, BenchNode, rcu);

    bench_counter_add(node->done);
}

static void qr_enqueue(void *cbs, size_t first, size_t n, BenchCounter *done)
{
    BenchNode *nodes = cbs;

    for (size_t i = first; i < first + n; i++) {
        nodes[i].done = done;
        call_rcu1(&nodes[i].rcu, qr_callback);
    }
}

static void qr_barrier(void)
{
    drain_call_rcu();
}

typedef struct KickableReader {
    Notifier notifier;
    bool kicked;
} KickableReader;

/*
 * Runs in the synchronizing thread with the registry lock held: only
 * raise the flag the reader polls.
 */
static void qr_kick(Notifier *n, void *data)
{
    KickableReader *r = container_of(n, KickableReader, notifier);

    qatomic_set(&r->kicked, true);
}

static uint64_t qr_kickable_reader_loop(const bool *stop, bool *inside)
{
    KickableReader r = { .notifier.notify = qr_kick };
    uint64_t kicks = 0;

    rcu_add_force_rcu_notifier(&r.notifier);
    while (!bench_stopped(stop)) {
        rcu_read_lock();
        qatomic_set(inside, true);
        while (!qatomic_read(&r.kicked) && !bench_stopped(stop)) {
            cpu_relax();
        }
        if (qatomic_read(&r.kicked)) {
            qatomic_set(&r.kicked, false);
            kicks++;
        }
        qatomic_set(inside, false);
        rcu_read_unlock();
    }
    rcu_remove_force_rcu_notifier(&r.notifier);
    return kicks;
}

static void qr_stuck_reader(const bool *stop, bool *inside)
{
    rcu_read_lock();
    /* Pairs with the harness's acquire before it queues callbacks. */
    qatomic_store_release(inside, true);
    while (!bench_stopped(stop)) {
        g_usleep(1000);
    }
    rcu_read_unlock();
}

#ifndef BENCH_ANCHOR
static void qr_json_uint(JsonBuilder *b, const char *name, uint64_t v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, v);
}

static char *qr_stats_json(void)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) root = NULL;
    RcuStats s;
    RcuTunables t;

    rcu_get_stats(&s);
    rcu_get_tunables(&t);
    json_builder_begin_object(b);
    qr_json_uint(b, "grace_periods", s.grace_periods);
    qr_json_uint(b, "forced_grace_periods", s.forced_grace_periods);
    qr_json_uint(b, "expedited_grace_periods", s.expedited_grace_periods);
    qr_json_uint(b, "force_rcu_notifier_calls", s.force_rcu_notifier_calls);
    qr_json_uint(b, "callbacks_run", s.callbacks_run);
    qr_json_uint(b, "malloc_trims", s.malloc_trims);
    qr_json_uint(b, "membarrier_calls", s.membarrier_calls);
    qr_json_uint(b, "membarriers_skipped", s.membarriers_skipped);
    qr_json_uint(b, "max_grace_period_ns", s.max_grace_period_ns);
    qr_json_uint(b, "force_callbacks", t.force_callbacks);
    qr_json_uint(b, "poll_max_us", t.poll_max_us);
    qr_json_uint(b, "force_after_us", t.force_after_us);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    return json_to_string(root, false);
}

#endif

const BenchFlavour bench_qemu_rcu = {
#ifdef BENCH_ANCHOR
    .name = BENCH_ANCHOR,
#else
    .name = "qemu-rcu",
#endif
    .describe = qr_describe,
    .main_init = qr_main_init,
    .thread_init = qr_thread_init,
    .thread_exit = qr_thread_exit,
    .read_loop = BENCH_READ_LOOP_COPIES(qr_read_loop),
    .section_loop = qr_section_loop,
    .synchronize = qr_synchronize,
#ifndef BENCH_ANCHOR
    .synchronize_expedited = qr_synchronize_expedited,
    .stats_json = qr_stats_json,
    .kick_in_grace_period = true,
#elif !defined(BENCH_ANCHOR_DRAIN_ONLY_KICK)
    .kick_in_grace_period = true,
#endif
    .alloc_callbacks = qr_alloc_callbacks,
    .free_callbacks = qr_free_callbacks,
    .enqueue = qr_enqueue,
    .barrier = qr_barrier,
    .kickable_reader_loop = qr_kickable_reader_loop,
    .stuck_reader = qr_stuck_reader,
};
