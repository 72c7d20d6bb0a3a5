/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The qemu-rcu flavour of the benchmark: the inline read side of
 * "qemu/rcu.h", call_rcu1(), drain_call_rcu() and the extensions of
 * "qemu/rcu-ext.h".
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "qemu/processor.h"
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

static uint64_t qr_read_loop(const bool *stop)
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

static void qr_synchronize_expedited(void)
{
    synchronize_rcu_expedited();
}

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

static char *qr_stats_json(void)
{
    RcuStats s;
    RcuTunables t;

    rcu_get_stats(&s);
    rcu_get_tunables(&t);
    return g_strdup_printf(
        "{\"grace_periods\": %" PRIu64 ", \"forced_grace_periods\": %" PRIu64
        ", \"expedited_grace_periods\": %" PRIu64
        ", \"force_rcu_notifier_calls\": %" PRIu64
        ", \"callbacks_run\": %" PRIu64 ", \"malloc_trims\": %" PRIu64
        ", \"membarrier_calls\": %" PRIu64
        ", \"membarriers_skipped\": %" PRIu64
        ", \"max_grace_period_ns\": %" PRIu64
        ", \"force_callbacks\": %u, \"poll_max_us\": %u"
        ", \"force_after_us\": %u}",
        s.grace_periods, s.forced_grace_periods, s.expedited_grace_periods,
        s.force_rcu_notifier_calls, s.callbacks_run, s.malloc_trims,
        s.membarrier_calls, s.membarriers_skipped, s.max_grace_period_ns,
        t.force_callbacks, t.poll_max_us, t.force_after_us);
}

const BenchFlavour bench_qemu_rcu = {
    .name = "qemu-rcu",
    .describe = qr_describe,
    .main_init = qr_main_init,
    .thread_init = qr_thread_init,
    .thread_exit = qr_thread_exit,
    .read_loop = qr_read_loop,
    .section_loop = qr_section_loop,
    .synchronize = qr_synchronize,
    .synchronize_expedited = qr_synchronize_expedited,
    .alloc_callbacks = qr_alloc_callbacks,
    .free_callbacks = qr_free_callbacks,
    .enqueue = qr_enqueue,
    .barrier = qr_barrier,
    .kickable_reader_loop = qr_kickable_reader_loop,
    .stats_json = qr_stats_json,
};
