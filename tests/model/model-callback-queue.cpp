/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Model 3: the wait-free call_rcu1() queue and its fork gate, against
 * the call_rcu thread taking batches and a thread that forks twice,
 * with and without membarrier (see model.h for how membarrier is
 * modelled).
 *
 * The queue is a stack that the consumer reverses: cbq.newest is the
 * last node exchanged in, and each node's next leads to the one before
 * it, or is &link_pending while its producer has not stored it yet.
 *
 * Producer, call_rcu1(): stores func and next = &link_pending, then
 * announces itself and loads the fork gate.  Producer 0 is a registered
 * thread with a producer slot, which it claims when it starts
 * (rcu_producer_slot_claim(): a seq_cst compare-and-swap of
 * rcu_producer_slots_used): it announces with a relaxed store of its
 * slot's calls + 1, then smp_mb_placeholder(), then a relaxed load of
 * the gate.  Producer 1 has no slot: it announces with a seq_cst
 * increment of cbq.enq and loads the gate with seq_cst.  If a fork is
 * being prepared the producer parks -- increments the parked count,
 * waits for the gate to open, decrements the count and looks at the
 * gate again, all seq_cst -- until it finds the gate open.  Then it
 * exchanges its node into cbq.newest (seq_cst), stores the node it got
 * back into its node's next (release), and sets rcu_call_ready_event if
 * the queue was empty.
 *
 * Consumer, call_rcu_thread(): rcu_take_batch() returns nothing if
 * cbq.newest is NULL; otherwise rcu_take_begin() stores taking = 1
 * (seq_cst) and loads the gate (seq_cst), backing off and waiting while
 * it is closed; then it exchanges cbq.newest with NULL (seq_cst) and
 * walks the nodes it got, waiting (load-acquire) for links in flight
 * and reversing them, adds the batch to taken and stores taking = 0
 * with release.  It runs the batch, oldest first.  With nothing to take
 * it looks once more (rcu_spin_for_callbacks()), resets the event,
 * takes again, and only then waits.
 *
 * After its calls, each producer drains, drain_call_rcu(): it takes
 * rcu_calls_announced() as its target, cbq.enq plus the calls of every
 * slot claimed (a load-acquire of rcu_producer_slots_used, relaxed
 * loads of the counts), and returns at once if
 * rcu_callbacks_ran_up_to() finds rcu_consumer.ran at or past it
 * (load-acquire).  Otherwise it takes rcu_drain_lock, checks again and,
 * if the target is still ahead, puts itself on rcu_drainers; after the
 * unlock it waits on its own event.  The call_rcu thread stores ran with
 * release after running each batch (the value of taken), then, in
 * rcu_wake_drainers(), takes the lock, unlinks every drainer whose
 * target ran has reached and sets its event.  The lock is a Relacy
 * mutex, which orders as a pthread mutex does; the list and the targets
 * are plain variables under it.  Each callback writes a plain field of
 * its node, which its producer reads once the drain has returned.
 *
 * Forker, rcu_fork_gate_close() in fork()'s prepare handler: increments
 * the gate (seq_cst) and executes smp_mb_global(); then, until the
 * counts add up, waits while taking is set, loads parked and taken
 * (seq_cst), counts the nodes reachable from cbq.newest through stored
 * links (load-acquire of cbq.newest, relaxed links, stopping at a link
 * in flight), and last, after smp_mb(), sums the announcements as the
 * drain does: done when parked + taken + linked == announced, modulo
 * 2^64.  The parent handler decrements the gate.  Between the two,
 * where fork() copies the address space, the model plays the child: it
 * walks the inherited queue from cbq.newest and checks that no link is
 * missing.
 *
 * Producer 0's announcement and gate load, against the forker's
 * increment and sum, is a store-buffering handshake.  With membarrier,
 * smp_mb_placeholder() is nothing and the forker's smp_mb_global() puts
 * a full barrier in producer 0 wherever it is: producer 0 calls
 * mb.point() between any two of its shared accesses (those inside
 * qemu_event_set() and rcu_drain_lock's lock and unlock excepted), also
 * while it waits at the gate or for its drain, and mb.leave() when it
 * ends.  With fences, both are smp_mb().  Producer 1 and the call_rcu
 * thread pair with the forker through seq_cst accesses alone; the model
 * gives them no membarrier barrier, which only takes away orderings
 * they would have.
 *
 * Producer 1's seq_cst increment of cbq.enq pairs with the forker's
 * smp_mb() and relaxed load of cbq.enq: by C++11 ([atomics.order] p4) a
 * load after a seq_cst fence observes the last seq_cst modification
 * that precedes the fence in the total order S, or a later one.  Relacy
 * does not implement that rule: its seq_cst fences synchronize only
 * with other seq_cst fences, and it finds the forker reading an older
 * cbq.enq at once.  The model loads cbq.enq in the forker with seq_cst,
 * which Relacy implements.  That load also observes increments made
 * between the barrier and the load, by producers that will find the
 * gate closed and that no count loaded before the barrier includes: the
 * sum is short and the forker tries again, where util/rcu.c may return
 * at once, which is right too.
 *
 * cbq.enq and the other counters start three short of their
 * wrap-around, as util/rcu.c's do, and the slot counts from 0, so the
 * modular sum is exercised.  Each producer queues two callbacks; the
 * forker forks twice, so a producer parked by the first fork can leave
 * the gate while the second is being prepared.
 *
 * Properties, checked on ghost state that the model's threads update in
 * the same step as the atomic operation it describes:
 *  - when prepare returns, no producer is between the gate check that
 *    found the gate open and its link ("no enqueue in flight at fork"),
 *    and the consumer is not between its gate check and the end of its
 *    take ("no take in progress at fork").  A producer that has
 *    announced itself but not yet looked at the gate is fine: it will
 *    find the gate closed and park;
 *  - until the parent handler runs, nobody exchanges cbq.newest, links a
 *    node or detaches a batch ("queue untouched during fork");
 *  - the forker, reading the queue as the child will, finds a complete
 *    chain from cbq.newest, no link in flight ("complete chain at
 *    fork"), and reads every node's func without a data race;
 *  - every callback runs exactly once, in the order of the exchanges on
 *    cbq.newest ("callbacks run once, in queueing order"), and none is
 *    left behind (LIVELOCK: the call_rcu thread waits for it forever);
 *  - when the drain returns, the drainer's own callbacks have run
 *    ("drained callbacks have run") and their writes happen before its
 *    reads (no DATA RACE); a drainer that nobody wakes waits forever
 *    (LIVELOCK);
 *  - the call_rcu thread does not touch a drainer's RcuDrainer, which
 *    lives in the drainer's stack frame, once it has set the event: the
 *    drainer overwrites it when the drain returns, so a later access is
 *    a DATA RACE;
 *  - func, written by call_rcu1() before it announces itself, is read
 *    by the call_rcu thread and the child without a DATA RACE (or, when
 *    no store is visible at all, an ACCESS TO UNINITIALIZED VARIABLE):
 *    the exchanges on cbq.newest, a release sequence, publish it.
 *
 * The consumer's rewrite of each link is a plain store in util/rcu.c,
 * which must come after the producer's link in happens-before (hence
 * release and acquire on the link); the model stores it relaxed, as
 * Relacy has no plain stores to atomics, and leaves that race to
 * ThreadSanitizer's torture run.
 *
 * "Complete chain at fork" reads the queue through the forker's own
 * C++11 view, which may lag behind the latest values; the ghost checks
 * look at the latest values.  Both must hold: the child goes on from the
 * forker's view, and the forker's count is only right if its walk saw
 * every link.
 *
 * Faults that can be re-introduced, each of which must make the model
 * fail (tests/model/meson.build runs every one):
 *  MODEL_BUG_GATE_BEFORE_ANNOUNCE  a producer waits for the gate to be
 *                                  open, then announces itself
 *                                  (check-then-act)
 *  MODEL_BUG_ENQ_FIRST             the forker sums the announcements
 *                                  before the other counts and the walk
 *  MODEL_BUG_NO_TAKING             the consumer checks the gate but does
 *                                  not announce taking
 *  MODEL_BUG_PARK_NO_RECHECK       a parked producer goes on as soon as
 *                                  it sees the gate open, without
 *                                  looking again after leaving the
 *                                  parked count
 *  MODEL_BUG_GATE_LOAD_ACQUIRE     producer 1's gate load after its
 *                                  announcement in cbq.enq is an
 *                                  acquire, not seq_cst
 *  MODEL_BUG_EXCHANGE_ACQUIRE      the producer's exchange is only an
 *                                  acquire: it publishes nothing
 *  MODEL_BUG_TAKE_NO_WAIT          the consumer takes a link in flight
 *                                  for the end of the batch
 *  MODEL_BUG_WAKE_NO_RECHECK       the call_rcu thread waits right after
 *                                  resetting the event, without taking
 *                                  again: lost wake-up
 *  MODEL_BUG_RAN_BEFORE_RUN        the call_rcu thread publishes ran
 *                                  before running the batch, as it does
 *                                  done
 *  MODEL_BUG_RAN_RELAXED           ran is stored relaxed
 *  MODEL_BUG_DRAIN_NO_RECHECK      the drainer queues itself under the
 *                                  lock on the strength of its check
 *                                  before it (check-then-act): lost
 *                                  wake-up
 *  MODEL_BUG_WAKE_BEFORE_RAN       the call_rcu thread walks the drainers
 *                                  before it publishes ran: lost wake-up
 *  MODEL_BUG_WAKE_UNREACHED        the call_rcu thread wakes every
 *                                  drainer on the list, reached or not
 *  MODEL_BUG_SET_BEFORE_UNLINK     the call_rcu thread sets a drainer's
 *                                  event before unlinking it
 *  MODEL_BUG_SLOT_NO_BARRIER       producer 0 loads the gate right after
 *                                  its slot's announcement, without
 *                                  smp_mb_placeholder() (with
 *                                  membarrier, that is what it does
 *                                  anyway)
 *  MODEL_BUG_FORK_LOCAL_BARRIER    the forker executes smp_mb() instead
 *                                  of smp_mb_global() (with fences, that
 *                                  is what it does anyway)
 */
#include "model.h"

#define PRODUCERS 2
#define CALLS     2
#define NODES     (PRODUCERS * CALLS)
#define FORKS     2
#define CONSUMER  PRODUCERS
#define FORKER    (PRODUCERS + 1)
#define CB_FUNC   0x5ca1ab1e
/* util/rcu.c starts its sequence counters close to their wrap-around. */
#define SEQ_START ((unsigned long)-3)
/* The producer with a slot; the other announces in cbq.enq. */
#define SLOT_PRODUCER 0
/* Its index among the membarrier's readers. */
#define SLOT_READER   0

struct ModelCb {
    rl::atomic<ModelCb *> next;
    rl::var<int> func;
    /* What the callback does: a plain store. */
    rl::var<int> effect;
};

/* RcuDrainer: in drain_call_rcu()'s stack frame. */
struct ModelDrainer {
    rl::var<unsigned long> target;
    ModelEvent done;
    rl::var<ModelDrainer *> next;
};

template<bool Membarrier>
struct CallbackQueue
    : rl::test_suite<CallbackQueue<Membarrier>, PRODUCERS + 2> {
    ModelMembarrier mb;
    /* cbq */
    rl::atomic<ModelCb *> newest;
    rl::atomic<unsigned long> enq;
    /* rcu_producer_slots[0].calls, rcu_producer_slots_used */
    rl::atomic<unsigned long> slot_calls;
    rl::atomic<unsigned> slots_used;
    /* rcu_consumer */
    rl::atomic<unsigned long> taken;
    rl::atomic<unsigned long> ran;
    rl::atomic<int> taking;
    /* rcu_fork_gate */
    rl::atomic<unsigned long> closed;
    rl::atomic<unsigned long> parked;
    ModelEvent rcu_call_ready_event;
    rl::mutex rcu_drain_lock;
    /* rcu_drainers, under rcu_drain_lock */
    rl::var<ModelDrainer *> drainers;
    /* Producer p's drain_call_rcu() */
    ModelDrainer drainer[PRODUCERS];
    ModelCb cb[NODES];
    /* rcu_link_pending */
    ModelCb link_pending;

    /*
     * Ghost state: plain variables that the threads update right after
     * the atomic operation that changes what they describe.  Relacy only
     * switches threads at an atomic operation, so each update is part of
     * that operation's step.
     */
    /* From the gate check that found it open to the link. */
    bool enqueuing[PRODUCERS];
    /* From the gate check that found it open to the end of the take. */
    bool consumer_in_take;
    /* From prepare's return to the parent handler: fork() copies here. */
    bool forking;
    int exchanged[NODES];
    int nexchanged;
    int nran;

    void before()
    {
        mb.init(Membarrier, 1);
        newest($) = NULL;
        enq($) = SEQ_START;
        slot_calls($) = 0;
        slots_used($) = 0;
        taken($) = SEQ_START;
        ran($) = SEQ_START;
        taking($) = 0;
        closed($) = 0;
        parked($) = 0;
        rcu_call_ready_event.init(false);
        drainers($) = NULL;
        for (int p = 0; p < PRODUCERS; p++) {
            enqueuing[p] = false;
        }
        consumer_in_take = false;
        forking = false;
        nexchanged = 0;
        nran = 0;
        for (int i = 0; i < NODES; i++) {
            cb[i].effect($) = 0;
        }
    }

    void touch_queue(void)
    {
        MODEL_CHECK(!forking, "queue untouched during fork");
    }

    /*
     * A point where producer @p may take the forker's membarrier: only
     * the producer with a slot counts on it.
     */
    void point(int p)
    {
        if (p == SLOT_PRODUCER) {
            mb.point(SLOT_READER);
        }
    }

    /*
     * rcu_calls_announced() in thread @p: relaxed loads, see the callers;
     * the forker loads cbq.enq with @enq_mo (see rcu_fork_gate_close()).
     */
    unsigned long rcu_calls_announced(int p, rl::memory_order enq_mo)
    {
        unsigned long sum = enq.load(enq_mo, $);

        point(p);
        /* Acquire pairs with the compare-and-swap in slot_claim(). */
        if (qatomic_load_acquire(slots_used)) {
            point(p);
            sum += qatomic_read(slot_calls);
        }
        return sum;
    }

    /* ---- producer ---- */

    /* rcu_producer_slot_claim(), the first and only claim. */
    void slot_claim(void)
    {
        unsigned used = 0;

        /* seq_cst, hence a release: pairs with rcu_calls_announced(). */
        slots_used.compare_exchange_strong(used, 1, rl::mo_seq_cst, $);
    }

    bool gate_closed(void)
    {
#ifdef MODEL_BUG_GATE_LOAD_ACQUIRE
        return closed.load(rl::mo_acquire, $) != 0;
#else
        /* Pairs with the increment in rcu_fork_gate_close(). */
        return closed.load(rl::mo_seq_cst, $) != 0;
#endif
    }

    /* rcu_fork_gate_park(): returns once it found the gate open. */
    void rcu_fork_gate_park(int p)
    {
#ifdef MODEL_BUG_PARK_NO_RECHECK
        parked.fetch_add(1, rl::mo_seq_cst, $);
        point(p);
        while (gate_closed()) {
            point(p);
            rl::yield(1, $);
        }
        enqueuing[p] = true;
        point(p);
        parked.fetch_sub(1, rl::mo_seq_cst, $);
#else
        do {
            parked.fetch_add(1, rl::mo_seq_cst, $);
            point(p);
            while (gate_closed()) {
                point(p);
                rl::yield(1, $);
            }
            point(p);
            parked.fetch_sub(1, rl::mo_seq_cst, $);
            point(p);
        } while (gate_closed());
        enqueuing[p] = true;
#endif
        point(p);
    }

    /* The announcement, in the slot or in cbq.enq. */
    void announce(int p)
    {
        if (p == SLOT_PRODUCER) {
            /* rcu_announce_in_slot(): only this thread writes the slot. */
            unsigned long calls = qatomic_read(slot_calls) + 1;

            point(p);
            qatomic_set(slot_calls, calls);
            point(p);
#ifndef MODEL_BUG_SLOT_NO_BARRIER
            /* Pairs with the smp_mb_global() in rcu_fork_gate_close(). */
            mb.placeholder();
            point(p);
#endif
        } else {
            /* seq_cst: pairs with the gate's increment and the barriers. */
            enq.fetch_add(1, rl::mo_seq_cst, $);
        }
    }

    /* The gate load that follows the announcement. */
    bool gate_closed_after_announce(int p)
    {
        if (p == SLOT_PRODUCER) {
            /* Relaxed: the barrier between orders it after the store. */
            return qatomic_read(closed) != 0;
        }
        return gate_closed();
    }

    void call_rcu1(int p, ModelCb *node)
    {
        ModelCb *prev;

        node->func($) = CB_FUNC;
        point(p);
        /* A plain store in util/rcu.c: the node is not shared yet. */
        node->next.store(&link_pending, rl::mo_relaxed, $);
        point(p);
#ifdef MODEL_BUG_GATE_BEFORE_ANNOUNCE
        /* Wait for the gate to open, then announce: no parked count. */
        while (gate_closed()) {
            point(p);
            rl::yield(1, $);
        }
        enqueuing[p] = true;
        point(p);
        announce(p);
#else
        announce(p);
        if (gate_closed_after_announce(p)) {
            point(p);
            rcu_fork_gate_park(p);
        } else {
            enqueuing[p] = true;
        }
#endif
        point(p);
#ifdef MODEL_BUG_EXCHANGE_ACQUIRE
        prev = newest.exchange(node, rl::mo_acquire, $);
#else
        /* A release: pairs with the consumer's exchange, the fork's load. */
        prev = newest.exchange(node, rl::mo_seq_cst, $);
#endif
        touch_queue();
        exchanged[nexchanged++] = (int)(node - cb);
        point(p);
        /* Release: the consumer rewrites the link after its acquire. */
        node->next.store(prev, rl::mo_release, $);
        touch_queue();
        enqueuing[p] = false;
        point(p);
        /* The call_rcu thread only sleeps after finding the queue empty. */
        if (!prev) {
            rcu_call_ready_event.set();
            point(p);
        }
    }

    /* ---- consumer ---- */

    /* The call_rcu thread enters its take only with the gate open. */
    void rcu_take_begin(void)
    {
#ifdef MODEL_BUG_NO_TAKING
        while (closed.load(rl::mo_seq_cst, $)) {
            rl::yield(1, $);
        }
        consumer_in_take = true;
#else
        for (;;) {
            /* seq_cst store and load: pairs with rcu_fork_gate_close(). */
            taking.store(1, rl::mo_seq_cst, $);
            if (!closed.load(rl::mo_seq_cst, $)) {
                consumer_in_take = true;
                return;
            }
            /* Relaxed: a forker that still reads 1 only waits longer. */
            taking.store(0, rl::mo_relaxed, $);
            while (closed.load(rl::mo_seq_cst, $)) {
                rl::yield(1, $);
            }
        }
#endif
    }

    /* rcu_take_batch(): the number of nodes taken, the oldest in @first. */
    int rcu_take_batch(ModelCb **first)
    {
        ModelCb *node, *next;
        int n;

        /*
         * Relaxed: a node seen here was exchanged in after this thread's
         * own last exchange, which the take below reads or follows.
         */
        if (!newest.load(rl::mo_relaxed, $)) {
            return 0;
        }
        rcu_take_begin();
        *first = NULL;
        /* seq_cst, an acquire: pairs with every producer's exchange. */
        node = newest.exchange(NULL, rl::mo_seq_cst, $);
        touch_queue();
        for (n = 0; node; node = next, n++) {
            /* Acquire pairs with the store-release of the link. */
            while ((next = node->next.load(rl::mo_acquire, $)) ==
                   &link_pending) {
#ifdef MODEL_BUG_TAKE_NO_WAIT
                next = NULL;
                break;
#endif
                rl::yield(1, $);
            }
            /* Only this thread reaches the node from now on. */
            node->next.store(*first, rl::mo_relaxed, $);
            *first = node;
        }
        /* Only this thread writes taken; the release below publishes it. */
        taken.store(taken.load(rl::mo_relaxed, $) + n, rl::mo_relaxed, $);
#ifndef MODEL_BUG_NO_TAKING
        /* Release: fork() reads taken after it finds taking clear. */
        taking.store(0, rl::mo_release, $);
#endif
        consumer_in_take = false;
        return n;
    }

    void publish_ran(void)
    {
#ifdef MODEL_BUG_RAN_RELAXED
        ran.store(taken.load(rl::mo_relaxed, $), rl::mo_relaxed, $);
#else
        /* Release: the batch's effects come first; pairs with the drain. */
        ran.store(taken.load(rl::mo_relaxed, $), rl::mo_release, $);
#endif
    }

    /*
     * Every callback whose call_rcu1() returned before @target was taken
     * from rcu_calls_announced() has run.  Acquire pairs with the
     * store-release in publish_ran().
     */
    bool rcu_callbacks_ran_up_to(unsigned long target)
    {
        return (long)(ran.load(rl::mo_acquire, $) - target) >= 0;
    }

    /* QSLIST_REMOVE() */
    void unlink_drainer(ModelDrainer *d)
    {
        rl::var<ModelDrainer *> *link = &drainers;

        while ((*link)($) != d) {
            link = &(*link)($)->next;
        }
        (*link)($) = d->next($);
        d->next($) = NULL;
    }

    void rcu_wake_drainers(void)
    {
        ModelDrainer *d, *d_next;

        rcu_drain_lock.lock($);
        for (d = drainers($); d; d = d_next) {
            d_next = d->next($);
#ifdef MODEL_BUG_WAKE_UNREACHED
            bool reached = true;
#else
            bool reached = rcu_callbacks_ran_up_to(d->target($));
#endif

            if (reached) {
#ifdef MODEL_BUG_SET_BEFORE_UNLINK
                d->done.set();
                unlink_drainer(d);
#else
                unlink_drainer(d);
                /* The last access to d: the drainer may return at once. */
                d->done.set();
#endif
            }
        }
        rcu_drain_lock.unlock($);
    }

    void run_batch(ModelCb *node, int n)
    {
#ifdef MODEL_BUG_RAN_BEFORE_RUN
        publish_ran();
#endif
        for (int k = 0; k < n; k++) {
            /* Relaxed: this thread stored the link in its take. */
            ModelCb *next = k + 1 < n ? node->next.load(rl::mo_relaxed, $) :
                                        NULL;
            /* Without happens-before, a DATA RACE (or uninitialised). */
            int func = node->func($);

            (void)func;
            MODEL_CHECK(nran < nexchanged && exchanged[nran] == node - cb,
                        "callbacks run once, in queueing order");
            nran++;
            node->effect($) = 1;
            node = next;
        }
#ifdef MODEL_BUG_WAKE_BEFORE_RAN
        rcu_wake_drainers();
#endif
#ifndef MODEL_BUG_RAN_BEFORE_RUN
        publish_ran();
#endif
#ifndef MODEL_BUG_WAKE_BEFORE_RAN
        /*
         * After ran is stored: a drainer that takes the lock after this
         * walk sees the new ran, one that took it before is on the list.
         */
        rcu_wake_drainers();
#endif
    }

    void call_rcu_thread(void)
    {
        int done = 0;

        while (done < NODES) {
            ModelCb *first = NULL;
            int n = rcu_take_batch(&first);

            while (!n) {
                /* rcu_spin_for_callbacks(), one look; relaxed as above. */
                if (newest.load(rl::mo_relaxed, $)) {
                    n = rcu_take_batch(&first);
                    continue;
                }
                /* A producer that finds the queue empty sets it again. */
                rcu_call_ready_event.reset();
#ifndef MODEL_BUG_WAKE_NO_RECHECK
                n = rcu_take_batch(&first);
                if (n) {
                    break;
                }
#endif
                rcu_call_ready_event.wait();
                n = rcu_take_batch(&first);
            }
            run_batch(first, n);
            done += n;
        }
    }

    /* drain_call_rcu() */
    void drain(int p)
    {
        ModelDrainer *d = &drainer[p];
        /* Relaxed: this thread's own announcements are counted anyway. */
        unsigned long target = rcu_calls_announced(p, rl::mo_relaxed);

        point(p);
        d->target($) = target;
        if (!rcu_callbacks_ran_up_to(target)) {
            bool queued;

            point(p);
            /* qemu_event_init(): a plain store; the lock publishes it. */
            d->done.value.store(0, rl::mo_relaxed, $);
            point(p);
            rcu_drain_lock.lock($);
#ifdef MODEL_BUG_DRAIN_NO_RECHECK
            queued = true;
#else
            queued = !rcu_callbacks_ran_up_to(target);
#endif
            if (queued) {
                /* QSLIST_INSERT_HEAD() */
                d->next($) = drainers($);
                drainers($) = d;
            }
            rcu_drain_lock.unlock($);
            point(p);
            /* qemu_event_wait(), taking membarriers while it sleeps. */
            while (queued && d->done.value.load(rl::mo_acquire, $) != 1) {
                point(p);
                rl::yield(1, $);
            }
        }
        point(p);
        /* The frame ends and its RcuDrainer with it: the stack is reused. */
        d->target($) = 0;
        d->next($) = NULL;
        for (int k = 0; k < CALLS; k++) {
            MODEL_CHECK(cb[p * CALLS + k].effect($) == 1,
                        "drained callbacks have run");
        }
    }

    /* ---- forker ---- */

    /* rcu_queue_length() */
    unsigned long linked_nodes(void)
    {
        unsigned long n = 0;
        ModelCb *next;

        /* Acquire pairs with the exchanges; the links are relaxed. */
        for (ModelCb *node = newest.load(rl::mo_acquire, $); node;
             node = next) {
            next = node->next.load(rl::mo_relaxed, $);
            if (next == &link_pending) {
                break;
            }
            n++;
        }
        return n;
    }

    void rcu_fork_gate_close(void)
    {
        /* seq_cst, like the loads below: pairs with call_rcu1()'s. */
        closed.fetch_add(1, rl::mo_seq_cst, $);
#ifdef MODEL_BUG_FORK_LOCAL_BARRIER
        smp_mb();
#else
        /* Pairs with the slot producer's smp_mb_placeholder(). */
        mb.global();
#endif
        for (;; rl::yield(1, $)) {
            unsigned long w, t, r, e;

            if (taking.load(rl::mo_seq_cst, $)) {
                continue;
            }
#ifdef MODEL_BUG_ENQ_FIRST
            e = rcu_calls_announced(FORKER, rl::mo_seq_cst);
#endif
            w = parked.load(rl::mo_seq_cst, $);
            t = taken.load(rl::mo_seq_cst, $);
            r = linked_nodes();
#ifndef MODEL_BUG_ENQ_FIRST
            /*
             * Last, after a full barrier: a producer counted nowhere else
             * makes the sum short.  util/rcu.c loads cbq.enq relaxed; by
             * C++11 the load then observes the last seq_cst increment
             * before the barrier, which Relacy does not implement (the
             * file comment): seq_cst implements it.
             */
            smp_mb();
            e = rcu_calls_announced(FORKER, rl::mo_seq_cst);
#endif
            if (w + t + r == e) {
                return;
            }
        }
    }

    /* What the child inherits: a chain from cbq.newest, every link set. */
    void check_child_queue(void)
    {
        bool complete = true;
        ModelCb *next;

        /* As the child's plain loads: the gate must have ordered them. */
        for (ModelCb *node = newest.load(rl::mo_relaxed, $); node;
             node = next) {
            /* The child runs it: without happens-before, a DATA RACE. */
            int func = node->func($);

            (void)func;
            next = node->next.load(rl::mo_relaxed, $);
            if (next == &link_pending) {
                complete = false;
                break;
            }
        }
        MODEL_CHECK(complete, "complete chain at fork");
    }

    void fork_twice(void)
    {
        for (int f = 0; f < FORKS; f++) {
            rcu_fork_gate_close();
            for (int p = 0; p < PRODUCERS; p++) {
                MODEL_CHECK(!enqueuing[p], "no enqueue in flight at fork");
            }
            MODEL_CHECK(!consumer_in_take, "no take in progress at fork");
            forking = true;
            check_child_queue();
            /* rcu_atfork_parent() */
            closed.fetch_sub(1, rl::mo_seq_cst, $);
            forking = false;
        }
    }

    void thread(unsigned index)
    {
        if (index == CONSUMER) {
            call_rcu_thread();
        } else if (index == FORKER) {
            fork_twice();
        } else {
            int p = (int)index;

            if (p == SLOT_PRODUCER) {
                /* rcu_register_thread() */
                point(p);
                slot_claim();
            }
            for (int k = 0; k < CALLS; k++) {
                point(p);
                call_rcu1(p, &cb[p * CALLS + k]);
            }
            point(p);
            drain(p);
            if (p == SLOT_PRODUCER) {
                mb.leave(SLOT_READER);
            }
        }
    }
};

int main(int argc, char **argv)
{
    unsigned it = model_iterations(argc, argv, 50000);
    ModelTally t = {};

    t.add(model_run<CallbackQueue<false> >(
              "two producers, consumer, two forks, fence", it, 20000));
    t.add(model_run<CallbackQueue<true> >(
              "two producers, consumer, two forks, membarrier", it, 20000));
    return t.verdict("model-callback-queue");
}
