/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The io_uring worker pool and its RCU-protected table; see uring-pool.h
 * and docs/blocking-threads.md.
 */
#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/rcu-ext.h"
#include "uring-pool.h"

#include <fcntl.h>
#include <liburing.h>

#define URING_ENTRY_LIVE     0x4c4956454e545259ULL
#define URING_ENTRY_POISON   0xdeaddeaddeaddeadULL

/*
 * Poisoned entries are freed in bulk once the graveyard holds this many;
 * the older half has then been dead for thousands of grace periods.
 */
#define URING_GRAVEYARD_MAX  8192

#define URING_RING_ENTRIES   64
#define URING_MAX_READS      32         /* file reads in flight per worker */
#define URING_BLOCK          4096
#define URING_FILE_BLOCKS    256        /* a 1 MiB temporary file */
#define URING_STOP_KEY       UINT32_MAX

/* user_data of the pipe read; file reads use 1 + their buffer index. */
#define URING_UD_PIPE        0

typedef struct UringWorker {
    UringPool *pool;
    QemuThread thread;
    Notifier force_rcu;
    unsigned index;
    struct io_uring ring;
    int pipe_fd[2];

    /* Private to the worker thread. */
    uint32_t keys[URING_MAX_READS];
    uint8_t *buffers;                   /* URING_MAX_READS blocks */
    uint64_t read_block[URING_MAX_READS];
    uint32_t read_key[URING_MAX_READS];
    unsigned free_bufs[URING_MAX_READS];
    unsigned nfree;

    /* Written by the worker only, read by anybody. */
    bool parked;
    UringPoolStats stats;
    /*
     * Start of the idle wait in progress, or 0.  park_seq is odd while
     * the worker moves a finished wait into stats.parked_ns, so that
     * readers count each wait exactly once.
     */
    int64_t park_start;
    unsigned park_seq;
} UringWorker;

struct UringPool {
    UringPoolConfig cfg;
    UringTable *table;
    int file_fd;
    unsigned keys_per_read;             /* so that a burst always fits */
    unsigned next_worker;
    UringWorker *workers;
};

struct UringFeeder {
    UringPool *pool;
    QemuThread thread;
    QemuEvent stop_event;
    unsigned rate;
    bool stop;
    uint64_t sent;
};

int64_t uring_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Single-writer counters: a relaxed store is enough for the readers. */
#define stat_add(w, field, n) \
    qatomic_set(&(w)->stats.field, (w)->stats.field + (n))

G_NORETURN G_GNUC_PRINTF(1, 2) static void uring_fatal(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "uring-worker: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    abort();
}

/* The table */

static uint64_t uring_entry_value(uint32_t key, uint64_t generation)
{
    uint64_t v = ((uint64_t)key << 32) ^ generation ^ 0x9e3779b97f4a7c15ULL;

    v ^= v >> 31;
    v *= 0xbf58476d1ce4e5b9ULL;
    return v ^ (v >> 29);
}

static UringEntry *uring_entry_new(uint32_t key, uint64_t generation)
{
    UringEntry *e = g_new(UringEntry, 1);

    e->key = key;
    e->generation = generation;
    e->value = uring_entry_value(key, generation);
    e->magic = URING_ENTRY_LIVE;
    return e;
}

UringTable *uring_table_new(unsigned nslots)
{
    UringTable *t = g_new0(UringTable, 1);

    t->nslots = MAX(nslots, 1);
    t->slots = g_new(UringEntry *, t->nslots);
    for (unsigned i = 0; i < t->nslots; i++) {
        t->slots[i] = uring_entry_new(i, 0);
    }
    qemu_mutex_init(&t->lock);
    t->graveyard = g_ptr_array_new_with_free_func(g_free);
    return t;
}

void uring_table_free(UringTable *t)
{
    /* The caller has stopped every reader. */
    for (unsigned i = 0; i < t->nslots; i++) {
        g_free(t->slots[i]);
    }
    g_free(t->slots);
    g_ptr_array_free(t->graveyard, true);
    qemu_mutex_destroy(&t->lock);
    g_free(t);
}

void uring_table_update(UringTable *t, unsigned slot)
{
    UringEntry *old, *new;

    slot %= t->nslots;
    qemu_mutex_lock(&t->lock);
    old = t->slots[slot];
    new = uring_entry_new(slot, old->generation + 1);
    qatomic_rcu_set(&t->slots[slot], new);

    synchronize_rcu();

    /*
     * No reader can hold old any more.  Poison it where a reader that
     * could would look, and keep the memory so it reads poison.
     */
    qatomic_set(&old->magic, URING_ENTRY_POISON);
    qatomic_set(&old->value, ~old->value);
    if (t->graveyard->len >= URING_GRAVEYARD_MAX) {
        g_ptr_array_remove_range(t->graveyard, 0, URING_GRAVEYARD_MAX / 2);
    }
    g_ptr_array_add(t->graveyard, old);
    t->updates++;
    qemu_mutex_unlock(&t->lock);
}

bool uring_table_lookup(UringTable *t, uint32_t key, unsigned spin_ns,
                        uint64_t *value)
{
    UringEntry *e = qatomic_rcu_read(&t->slots[key % t->nslots]);
    uint64_t v;

    if (qatomic_read(&e->magic) != URING_ENTRY_LIVE) {
        return false;
    }
    v = qatomic_read(&e->value);
    if (spin_ns) {
        int64_t end = uring_clock_ns() + spin_ns;

        while (uring_clock_ns() < end) {
            cpu_relax();
        }
    }
    if (qatomic_read(&e->magic) != URING_ENTRY_LIVE ||
        v != uring_entry_value(e->key, e->generation)) {
        return false;
    }
    *value = v;
    return true;
}

/* The workers */

static void uring_lookup(UringWorker *w, uint32_t key)
{
    uint64_t v;
    bool ok;

    rcu_read_lock();
    ok = uring_table_lookup(w->pool->table, key, w->pool->cfg.spin_ns, &v);
    rcu_read_unlock();
    stat_add(w, lookups, 1);
    if (!ok) {
        stat_add(w, reclaimed_seen, 1);
    }
}

static struct io_uring_sqe *uring_get_sqe(UringWorker *w)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

    /* The ring has room for every read a worker can have in flight. */
    if (!sqe) {
        uring_fatal("worker %u: submission queue full", w->index);
    }
    return sqe;
}

static void uring_arm_pipe_read(UringWorker *w)
{
    struct io_uring_sqe *sqe = uring_get_sqe(w);

    io_uring_prep_read(sqe, w->pipe_fd[0], w->keys,
                       w->pool->keys_per_read * sizeof(uint32_t), 0);
    io_uring_sqe_set_data64(sqe, URING_UD_PIPE);
}

static void uring_queue_file_read(UringWorker *w, uint32_t key, unsigned i)
{
    struct io_uring_sqe *sqe = uring_get_sqe(w);
    unsigned buf = w->free_bufs[--w->nfree];
    uint64_t block = ((uint64_t)key * w->pool->cfg.burst + i) %
                     URING_FILE_BLOCKS;

    w->read_block[buf] = block;
    w->read_key[buf] = key;
    io_uring_prep_read(sqe, w->pool->file_fd,
                       w->buffers + (size_t)buf * URING_BLOCK, URING_BLOCK,
                       block * URING_BLOCK);
    io_uring_sqe_set_data64(sqe, 1 + buf);
}

/* Returns true when the pipe delivered the stop key or reached EOF. */
static bool uring_pipe_done(UringWorker *w, int res)
{
    bool stop = res == 0;
    unsigned n;

    if (res < 0) {
        uring_fatal("worker %u: pipe read: %s", w->index, strerror(-res));
    }
    /* Keys are written whole, and a pipe never splits a small write. */
    n = res / sizeof(uint32_t);
    for (unsigned k = 0; k < n; k++) {
        uint32_t key = w->keys[k];

        if (key == URING_STOP_KEY) {
            stop = true;
            break;
        }
        stat_add(w, messages, 1);
        uring_lookup(w, key);
        for (unsigned i = 0; i < w->pool->cfg.burst; i++) {
            uring_queue_file_read(w, key, i);
        }
    }
    return stop;
}

static void uring_file_done(UringWorker *w, unsigned buf, int res)
{
    uint64_t tag;

    if (res != URING_BLOCK) {
        stat_add(w, io_errors, 1);
    } else {
        memcpy(&tag, w->buffers + (size_t)buf * URING_BLOCK, sizeof(tag));
        if (tag != w->read_block[buf]) {
            stat_add(w, io_errors, 1);
        }
        stat_add(w, bytes, res);
    }
    stat_add(w, file_reads, 1);
    uring_lookup(w, w->read_key[buf]);
    w->free_bufs[w->nfree++] = buf;
}

/*
 * Runs in the thread of a grace period that had to force.  Lookups are
 * short and end on their own, so the notifier only counts: the tests
 * check that parked workers are never kicked.
 */
static void uring_force_rcu(Notifier *n, void *data)
{
    UringWorker *w = container_of(n, UringWorker, force_rcu);

    qatomic_inc(&w->stats.kicks);
}

static void *uring_worker_fn(void *opaque)
{
    UringWorker *w = opaque;
    bool quiesce = w->pool->cfg.quiesce;
    bool stopping = false;

    rcu_register_thread();
    w->force_rcu.notify = uring_force_rcu;
    rcu_add_force_rcu_notifier(&w->force_rcu);
    uring_arm_pipe_read(w);

    for (;;) {
        bool idle = w->nfree == URING_MAX_READS;
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        int64_t start, waited;
        int ret;

        /*
         * The worker may sleep here for as long as the pipe stays empty.
         * Offline, it costs grace periods no membarrier IPI, and they
         * never kick it.  parked is published after going offline and
         * cleared before coming back, so whoever sees it set may count
         * on the worker being offline.
         */
        if (quiesce) {
            rcu_thread_offline();
        }
        start = uring_clock_ns();
        if (idle) {
            qatomic_set(&w->park_start, start);
            qatomic_store_release(&w->parked, true);
        }
        do {
            ret = io_uring_submit_and_wait(&w->ring, 1);
        } while (ret == -EINTR);
        waited = uring_clock_ns() - start;
        qatomic_set(&w->parked, false);
        if (idle) {
            qatomic_set(&w->park_seq, w->park_seq + 1);
            /* Pairs with the smp_rmb()s in uring_parked_ns(). */
            smp_wmb();
            stat_add(w, parked_ns, waited);
            qatomic_set(&w->park_start, 0);
            smp_wmb();
            qatomic_set(&w->park_seq, w->park_seq + 1);
        }
        if (quiesce) {
            /*
             * A full fence, before any rcu_read_lock() below; it pairs
             * with the writer's check of the online count.
             */
            rcu_thread_online();
        }
        if (ret < 0) {
            uring_fatal("worker %u: io_uring_submit_and_wait: %s", w->index,
                        strerror(-ret));
        }
        stat_add(w, waits, 1);

        io_uring_for_each_cqe(&w->ring, head, cqe) {
            uint64_t ud = io_uring_cqe_get_data64(cqe);

            if (ud == URING_UD_PIPE) {
                stopping |= uring_pipe_done(w, cqe->res);
            } else {
                uring_file_done(w, ud - 1, cqe->res);
            }
            seen++;
        }
        io_uring_cq_advance(&w->ring, seen);
        stat_add(w, requests, seen);

        if (w->nfree == URING_MAX_READS && io_uring_sq_ready(&w->ring) == 0) {
            if (stopping) {
                break;
            }
            /* The burst is over: wait for the next message. */
            uring_arm_pipe_read(w);
        }
    }

    rcu_remove_force_rcu_notifier(&w->force_rcu);
    rcu_unregister_thread();
    return NULL;
}

static int uring_make_file(const char *dir)
{
    g_autofree char *path = g_build_filename(dir ? dir : g_get_tmp_dir(),
                                             "uring-worker-XXXXXX", NULL);
    g_autofree uint8_t *block = g_malloc0(URING_BLOCK);
    int fd = g_mkstemp(path);

    if (fd < 0) {
        return -errno;
    }
    unlink(path);
    for (uint64_t b = 0; b < URING_FILE_BLOCKS; b++) {
        memcpy(block, &b, sizeof(b));
        memset(block + sizeof(b), (int)b, URING_BLOCK - sizeof(b));
        if (pwrite(fd, block, URING_BLOCK, b * URING_BLOCK) != URING_BLOCK) {
            int err = errno ? -errno : -EIO;

            close(fd);
            return err;
        }
    }
    return fd;
}

static void uring_worker_cleanup(UringWorker *w)
{
    io_uring_queue_exit(&w->ring);
    close(w->pipe_fd[0]);
    close(w->pipe_fd[1]);
    free(w->buffers);
}

int uring_pool_start(UringPool **out, const UringPoolConfig *cfg,
                     UringTable *table)
{
    UringPool *p = g_new0(UringPool, 1);
    unsigned started = 0;
    int ret;

    p->cfg = *cfg;
    p->cfg.workers = MAX(p->cfg.workers, 1);
    p->cfg.burst = MIN(p->cfg.burst, URING_MAX_READS);
    p->keys_per_read = p->cfg.burst ? URING_MAX_READS / p->cfg.burst
                                    : URING_MAX_READS;
    p->table = table;
    p->workers = g_new0(UringWorker, p->cfg.workers);

    p->file_fd = uring_make_file(cfg->file_dir);
    if (p->file_fd < 0) {
        ret = p->file_fd;
        goto fail;
    }

    for (; started < p->cfg.workers; started++) {
        UringWorker *w = &p->workers[started];

        w->pool = p;
        w->index = started;
        ret = io_uring_queue_init(URING_RING_ENTRIES, &w->ring, 0);
        if (ret < 0) {
            goto fail;
        }
        if (pipe2(w->pipe_fd, O_CLOEXEC) < 0) {
            ret = -errno;
            io_uring_queue_exit(&w->ring);
            goto fail;
        }
        ret = -posix_memalign((void **)&w->buffers, URING_BLOCK,
                              (size_t)URING_MAX_READS * URING_BLOCK);
        if (ret < 0) {
            close(w->pipe_fd[0]);
            close(w->pipe_fd[1]);
            io_uring_queue_exit(&w->ring);
            goto fail;
        }
        for (unsigned i = 0; i < URING_MAX_READS; i++) {
            w->free_bufs[i] = URING_MAX_READS - 1 - i;
        }
        w->nfree = URING_MAX_READS;
    }

    for (unsigned i = 0; i < p->cfg.workers; i++) {
        g_autofree char *name = g_strdup_printf("uring-w%u", i);

        qemu_thread_create(&p->workers[i].thread, name, uring_worker_fn,
                           &p->workers[i], QEMU_THREAD_JOINABLE);
    }
    *out = p;
    return 0;

fail:
    for (unsigned i = 0; i < started; i++) {
        uring_worker_cleanup(&p->workers[i]);
    }
    if (p->file_fd >= 0) {
        close(p->file_fd);
    }
    g_free(p->workers);
    g_free(p);
    *out = NULL;
    return ret;
}

static void uring_write_key(UringWorker *w, uint32_t key)
{
    ssize_t n;

    do {
        n = write(w->pipe_fd[1], &key, sizeof(key));
    } while (n < 0 && errno == EINTR);
    if (n != sizeof(key)) {
        uring_fatal("worker %u: pipe write: %s", w->index,
                    n < 0 ? strerror(errno) : "short write");
    }
}

void uring_pool_feed(UringPool *p, uint32_t key)
{
    unsigned i = qatomic_fetch_inc(&p->next_worker) % p->cfg.workers;

    uring_write_key(&p->workers[i], key == URING_STOP_KEY ? 0 : key);
}

unsigned uring_pool_parked(UringPool *p)
{
    unsigned n = 0;

    for (unsigned i = 0; i < p->cfg.workers; i++) {
        /* Pairs with the store-release after rcu_thread_offline(). */
        n += qatomic_load_acquire(&p->workers[i].parked);
    }
    return n;
}

/* Idle time of w so far, including a wait still in progress. */
static uint64_t uring_parked_ns(UringWorker *w)
{
    unsigned seq;
    uint64_t acc;
    int64_t start;

    do {
        seq = qatomic_read(&w->park_seq);
        /* Pairs with the smp_wmb()s in uring_worker_fn(). */
        smp_rmb();
        acc = qatomic_read(&w->stats.parked_ns);
        start = qatomic_read(&w->park_start);
        smp_rmb();
    } while ((seq & 1) || seq != qatomic_read(&w->park_seq));
    return acc + (start ? MAX(uring_clock_ns() - start, 0) : 0);
}

void uring_pool_get_stats(UringPool *p, UringPoolStats *s)
{
    memset(s, 0, sizeof(*s));
    for (unsigned i = 0; i < p->cfg.workers; i++) {
        UringWorker *w = &p->workers[i];

        s->requests += qatomic_read(&w->stats.requests);
        s->messages += qatomic_read(&w->stats.messages);
        s->file_reads += qatomic_read(&w->stats.file_reads);
        s->bytes += qatomic_read(&w->stats.bytes);
        s->lookups += qatomic_read(&w->stats.lookups);
        s->reclaimed_seen += qatomic_read(&w->stats.reclaimed_seen);
        s->waits += qatomic_read(&w->stats.waits);
        s->parked_ns += uring_parked_ns(w);
        s->io_errors += qatomic_read(&w->stats.io_errors);
        s->kicks += qatomic_read(&w->stats.kicks);
    }
}

void uring_pool_stop(UringPool *p)
{
    for (unsigned i = 0; i < p->cfg.workers; i++) {
        uring_write_key(&p->workers[i], URING_STOP_KEY);
    }
    for (unsigned i = 0; i < p->cfg.workers; i++) {
        qemu_thread_join(&p->workers[i].thread);
        uring_worker_cleanup(&p->workers[i]);
    }
    close(p->file_fd);
    g_free(p->workers);
    g_free(p);
}

/* The feeder */

/* Never more than this much behind schedule: a stall is not made up. */
#define URING_FEED_MAX_LAG_NS (100 * 1000000LL)
#define URING_FEED_BATCH      64

static void *uring_feeder_fn(void *opaque)
{
    UringFeeder *f = opaque;
    int64_t interval = 1000000000LL / f->rate;
    int64_t next = uring_clock_ns();
    uint32_t key = 0;

    while (!qatomic_read(&f->stop)) {
        int64_t now = uring_clock_ns();
        unsigned batch = 0;

        if (now - next > URING_FEED_MAX_LAG_NS) {
            next = now;
        }
        while (next <= now && batch < URING_FEED_BATCH) {
            uring_pool_feed(f->pool, key++);
            next += interval;
            batch++;
        }
        qatomic_set(&f->sent, f->sent + batch);
        if (next > now) {
            qemu_event_timedwait_ns(&f->stop_event, next - now);
        }
    }
    return NULL;
}

UringFeeder *uring_feeder_start(UringPool *pool, unsigned rate)
{
    UringFeeder *f = g_new0(UringFeeder, 1);

    f->pool = pool;
    f->rate = rate;
    qemu_event_init(&f->stop_event, false);
    if (rate) {
        qemu_thread_create(&f->thread, "uring-feeder", uring_feeder_fn, f,
                           QEMU_THREAD_JOINABLE);
    }
    return f;
}

uint64_t uring_feeder_stop(UringFeeder *f)
{
    uint64_t sent;

    if (f->rate) {
        qatomic_set(&f->stop, true);
        qemu_event_set(&f->stop_event);
        qemu_thread_join(&f->thread);
    }
    sent = f->sent;
    qemu_event_destroy(&f->stop_event);
    g_free(f);
    return sent;
}
