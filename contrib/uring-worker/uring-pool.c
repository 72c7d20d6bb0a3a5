/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The worker pool of uring-pool.h.  The lesson is uring_worker_fn():
 * rcu_thread_offline() before blocking in the kernel, rcu_thread_online()
 * after, so that grace periods skip a sleeping worker without a
 * membarrier and never wait for, or kick, it.
 *
 * Copyright (c) 2026 The qemu-rcu authors
 */
#include "qemu/osdep.h"
#include <glib-unix.h>
#include <liburing.h>
#include "qemu/atomic.h"
#include "qemu/error-report.h"
#include "qemu/notify.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "qemu/stats64.h"
#include "uring-pool.h"

#define ENTRY_LIVE      0x4c495645c0ffee11ULL
#define ENTRY_POISON    0xdeaddeaddeaddeadULL
#define STOP_KEY        UINT32_MAX
#define KEYS_PER_READ   64

typedef struct UringEntry {
    uint64_t magic;
    uint64_t generation;
} UringEntry;

struct UringTable {
    UringEntry **slots;         /* RCU-protected pointers */
    unsigned nslots;
    QemuMutex lock;             /* serialises updates */
    GPtrArray *graveyard;       /* poisoned entries */
};

typedef struct UringWorker {
    UringPool *pool;
    QemuThread thread;
    struct io_uring ring;
    int pipe[2];
    uint32_t keys[KEYS_PER_READ];
    Notifier force_rcu;
    bool parked;
} UringWorker;

struct UringPool {
    UringTable *table;
    unsigned nworkers;
    bool quiesce;
    unsigned spin_ns;
    unsigned next;
    UringWorker *workers;
    Stat64 messages, lookups, reclaimed_seen, waits, kicks;
};

int64_t uring_clock_ns(void)
{
    return g_get_monotonic_time() * 1000;
}

UringTable *uring_table_new(unsigned nslots)
{
    UringTable *t = g_new0(UringTable, 1);

    t->nslots = nslots;
    t->slots = g_new0(UringEntry *, nslots);
    for (unsigned i = 0; i < nslots; i++) {
        t->slots[i] = g_new0(UringEntry, 1);
        t->slots[i]->magic = ENTRY_LIVE;
    }
    qemu_mutex_init(&t->lock);
    t->graveyard = g_ptr_array_new_with_free_func(g_free);
    return t;
}

void uring_table_free(UringTable *t)
{
    for (unsigned i = 0; i < t->nslots; i++) {
        g_free(t->slots[i]);
    }
    g_ptr_array_free(t->graveyard, true);
    qemu_mutex_destroy(&t->lock);
    g_free(t->slots);
    g_free(t);
}

void uring_table_update(UringTable *t, unsigned slot)
{
    UringEntry *old, *e = g_new0(UringEntry, 1);

    qemu_mutex_lock(&t->lock);
    old = t->slots[slot % t->nslots];
    e->magic = ENTRY_LIVE;
    e->generation = old->generation + 1;
    qatomic_rcu_set(&t->slots[slot % t->nslots], e);
    synchronize_rcu();
    /* synchronize_rcu() orders this after every reader that saw @old. */
    qatomic_set(&old->magic, ENTRY_POISON);
    g_ptr_array_add(t->graveyard, old);
    qemu_mutex_unlock(&t->lock);
}

static void uring_lookup(UringPool *p, uint32_t key)
{
    UringTable *t = p->table;
    UringEntry *e;
    bool poisoned;

    rcu_read_lock();
    e = qatomic_rcu_read(&t->slots[key % t->nslots]);
    poisoned = qatomic_read(&e->magic) != ENTRY_LIVE;
    if (p->spin_ns) {
        int64_t until = uring_clock_ns() + p->spin_ns;

        while (uring_clock_ns() < until) {
            /* keep the section open */
        }
        poisoned |= qatomic_read(&e->magic) != ENTRY_LIVE;
    }
    rcu_read_unlock();
    stat64_add(&p->lookups, 1);
    if (poisoned) {
        stat64_add(&p->reclaimed_seen, 1);
    }
}

/* Only online readers inside a section are kicked: count, to show it. */
static void uring_force_rcu(Notifier *n, void *data)
{
    UringWorker *w = container_of(n, UringWorker, force_rcu);

    stat64_add(&w->pool->kicks, 1);
}

static void uring_arm_read(UringWorker *w)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

    io_uring_prep_read(sqe, w->pipe[0], w->keys, sizeof(w->keys), 0);
}

/* Handles one completed pipe read; false once the stop key came. */
static bool uring_pipe_done(UringWorker *w, int res)
{
    if (res <= 0 || res % sizeof(uint32_t)) {
        error_report("uring-worker: pipe read returned %d", res);
        abort();
    }
    for (int i = 0; i < res / (int)sizeof(uint32_t); i++) {
        if (w->keys[i] == STOP_KEY) {
            return false;
        }
        stat64_add(&w->pool->messages, 1);
        uring_lookup(w->pool, w->keys[i]);
    }
    uring_arm_read(w);
    return true;
}

static void *uring_worker_fn(void *opaque)
{
    UringWorker *w = opaque;
    bool running = true;

    rcu_register_thread();
    w->force_rcu.notify = uring_force_rcu;
    rcu_add_force_rcu_notifier(&w->force_rcu);
    uring_arm_read(w);

    while (running) {
        struct io_uring_cqe *cqe;
        int ret;

        /*
         * The worker may sleep here for as long as its pipe stays empty.
         * Offline, grace periods skip it: no membarrier on its behalf,
         * no kick.  parked is set after going offline, so whoever sees it
         * (with the acquire in uring_pool_parked()) sees an offline
         * worker.
         */
        if (w->pool->quiesce) {
            rcu_thread_offline();
        }
        qatomic_store_release(&w->parked, true);
        stat64_add(&w->pool->waits, 1);
        do {
            ret = io_uring_submit_and_wait(&w->ring, 1);
        } while (ret == -EINTR);
        qatomic_set(&w->parked, false);
        if (w->pool->quiesce) {
            /* A full barrier before the rcu_read_lock() of a lookup. */
            rcu_thread_online();
        }
        if (ret < 0 || io_uring_peek_cqe(&w->ring, &cqe) < 0) {
            error_report("uring-worker: io_uring_submit_and_wait: %s",
                         strerror(-ret));
            abort();
        }
        running = uring_pipe_done(w, cqe->res);
        io_uring_cqe_seen(&w->ring, cqe);
    }

    rcu_remove_force_rcu_notifier(&w->force_rcu);
    rcu_unregister_thread();
    return NULL;
}

static void uring_write_key(UringWorker *w, uint32_t key)
{
    /* Up to PIPE_BUF bytes, a pipe write is atomic: keys never split. */
    if (write(w->pipe[1], &key, sizeof(key)) != sizeof(key)) {
        error_report("uring-worker: pipe write: %s", strerror(errno));
        abort();
    }
}

int uring_pool_start(UringPool **pool, unsigned workers, bool quiesce,
                     unsigned spin_ns, UringTable *table)
{
    UringPool *p = g_new0(UringPool, 1);
    int ret;

    p->table = table;
    p->nworkers = workers;
    p->quiesce = quiesce;
    p->spin_ns = spin_ns;
    p->workers = g_new0(UringWorker, workers);
    for (unsigned i = 0; i < workers; i++) {
        UringWorker *w = &p->workers[i];

        w->pool = p;
        ret = io_uring_queue_init(4, &w->ring, 0);
        if (ret < 0) {
            while (i--) {
                io_uring_queue_exit(&p->workers[i].ring);
            }
            g_free(p->workers);
            g_free(p);
            return ret;
        }
        if (!g_unix_open_pipe(w->pipe, FD_CLOEXEC, NULL)) {
            error_report("uring-worker: pipe: %s", strerror(errno));
            abort();
        }
    }
    for (unsigned i = 0; i < workers; i++) {
        qemu_thread_create(&p->workers[i].thread, "uring-worker",
                           uring_worker_fn, &p->workers[i],
                           QEMU_THREAD_JOINABLE);
    }
    *pool = p;
    return 0;
}

void uring_pool_stop(UringPool *p)
{
    for (unsigned i = 0; i < p->nworkers; i++) {
        UringWorker *w = &p->workers[i];

        uring_write_key(w, STOP_KEY);
        qemu_thread_join(&w->thread);
        io_uring_queue_exit(&w->ring);
        close(w->pipe[0]);
        close(w->pipe[1]);
    }
    g_free(p->workers);
    g_free(p);
}

void uring_pool_feed(UringPool *p, uint32_t key)
{
    unsigned i = qatomic_fetch_inc(&p->next) % p->nworkers;

    uring_write_key(&p->workers[i], key == STOP_KEY ? 0 : key);
}

unsigned uring_pool_parked(UringPool *p)
{
    unsigned n = 0;

    for (unsigned i = 0; i < p->nworkers; i++) {
        /* Pairs with the store-release after rcu_thread_offline(). */
        n += qatomic_load_acquire(&p->workers[i].parked);
    }
    return n;
}

void uring_pool_get_stats(UringPool *p, UringPoolStats *s)
{
    s->messages = stat64_get(&p->messages);
    s->lookups = stat64_get(&p->lookups);
    s->reclaimed_seen = stat64_get(&p->reclaimed_seen);
    s->waits = stat64_get(&p->waits);
    s->kicks = stat64_get(&p->kicks);
}
