/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * Model 3: the wait-free call_rcu1() queue and its fork gate, against
 * the call_rcu thread taking batches and a thread that forks twice.
 *
 * The queue is a stack that the consumer reverses: cbq.newest is the
 * last node exchanged in, and each node's next leads to the one before
 * it, or is &link_pending while its producer has not stored it yet.
 *
 * Producer, call_rcu1(): stores func and next = &link_pending; announces
 * itself with a seq_cst increment of cbq.enq; then loads the fork gate
 * (seq_cst): if a fork is being prepared it parks -- increments the
 * parked count, waits for the gate to open, decrements the count and
 * looks at the gate again, all seq_cst -- until it finds the gate open.
 * Then it exchanges its node into cbq.newest (seq_cst), stores the node
 * it got back into its node's next (release), and sets
 * rcu_call_ready_event if the queue was empty.
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
 * After its calls, each producer drains, drain_call_rcu(): it loads
 * cbq.enq (relaxed) as its target and returns at once if
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
 * the gate (seq_cst); then, until the counts add up, waits while taking
 * is set, loads parked and taken, counts the nodes reachable from
 * cbq.newest through stored links (load-acquire of cbq.newest, relaxed
 * links, stopping at a link in flight) and loads cbq.enq last, all
 * seq_cst: done when parked + taken + linked == enq, modulo 2^64.  The
 * parent handler decrements the gate.  Between the two, where fork()
 * copies the address space, the model plays the child: it walks the
 * inherited queue from cbq.newest and checks that no link is missing.
 *
 * The counters start three short of their wrap-around, as util/rcu.c's
 * do, so the modular sum is exercised.  Two producers queue two
 * callbacks each; the forker forks twice, so a producer parked by the
 * first fork can leave the gate while the second is being prepared.
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
 *  MODEL_BUG_ENQ_FIRST             the forker loads cbq.enq before the
 *                                  other counts and the walk
 *  MODEL_BUG_NO_TAKING             the consumer checks the gate but does
 *                                  not announce taking
 *  MODEL_BUG_PARK_NO_RECHECK       a parked producer goes on as soon as
 *                                  it sees the gate open, without
 *                                  looking again after leaving the
 *                                  parked count
 *  MODEL_BUG_GATE_LOAD_ACQUIRE     the producer's gate load is an
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

struct CallbackQueue : rl::test_suite<CallbackQueue, PRODUCERS + 2> {
    /* cbq */
    rl::atomic<ModelCb *> newest;
    rl::atomic<unsigned long> enq;
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
        newest($) = NULL;
        enq($) = SEQ_START;
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

    /* ---- producer ---- */

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
        while (gate_closed()) {
            rl::yield(1, $);
        }
        enqueuing[p] = true;
        parked.fetch_sub(1, rl::mo_seq_cst, $);
#else
        do {
            parked.fetch_add(1, rl::mo_seq_cst, $);
            while (gate_closed()) {
                rl::yield(1, $);
            }
            parked.fetch_sub(1, rl::mo_seq_cst, $);
        } while (gate_closed());
        enqueuing[p] = true;
#endif
    }

    void announce(void)
    {
        /* seq_cst: pairs with the gate's increment and the load of enq. */
        enq.fetch_add(1, rl::mo_seq_cst, $);
    }

    void call_rcu1(int p, ModelCb *node)
    {
        ModelCb *prev;

        node->func($) = CB_FUNC;
        /* A plain store in util/rcu.c: the node is not shared yet. */
        node->next.store(&link_pending, rl::mo_relaxed, $);
#ifdef MODEL_BUG_GATE_BEFORE_ANNOUNCE
        /* Wait for the gate to open, then announce: no parked count. */
        while (gate_closed()) {
            rl::yield(1, $);
        }
        enqueuing[p] = true;
        announce();
#else
        announce();
        if (gate_closed()) {
            rcu_fork_gate_park(p);
        } else {
            enqueuing[p] = true;
        }
#endif
#ifdef MODEL_BUG_EXCHANGE_ACQUIRE
        prev = newest.exchange(node, rl::mo_acquire, $);
#else
        /* A release: pairs with the consumer's exchange, the fork's load. */
        prev = newest.exchange(node, rl::mo_seq_cst, $);
#endif
        touch_queue();
        exchanged[nexchanged++] = (int)(node - cb);
        /* Release: the consumer rewrites the link after its acquire. */
        node->next.store(prev, rl::mo_release, $);
        touch_queue();
        enqueuing[p] = false;
        /* The call_rcu thread only sleeps after finding the queue empty. */
        if (!prev) {
            rcu_call_ready_event.set();
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
     * Every callback whose call_rcu1() returned before @target was loaded
     * from cbq.enq has run.  Acquire pairs with the store-release in
     * publish_ran().
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
        unsigned long target = enq.load(rl::mo_relaxed, $);

        d->target($) = target;
        if (!rcu_callbacks_ran_up_to(target)) {
            bool queued;

            /* qemu_event_init(): a plain store; the lock publishes it. */
            d->done.value.store(0, rl::mo_relaxed, $);
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
            if (queued) {
                d->done.wait();
            }
        }
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
        for (;; rl::yield(1, $)) {
            unsigned long w, t, r, e;

            if (taking.load(rl::mo_seq_cst, $)) {
                continue;
            }
#ifdef MODEL_BUG_ENQ_FIRST
            e = enq.load(rl::mo_seq_cst, $);
#endif
            w = parked.load(rl::mo_seq_cst, $);
            t = taken.load(rl::mo_seq_cst, $);
            r = linked_nodes();
#ifndef MODEL_BUG_ENQ_FIRST
            /* Last: a producer counted nowhere else makes the sum short. */
            e = enq.load(rl::mo_seq_cst, $);
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
            for (int k = 0; k < CALLS; k++) {
                call_rcu1((int)index, &cb[index * CALLS + k]);
            }
            drain((int)index);
        }
    }
};

int main(int argc, char **argv)
{
    unsigned it = model_iterations(argc, argv, 50000);
    ModelTally t = {};

    t.add(model_run<CallbackQueue>("two producers, consumer, two forks", it,
                                   20000));
    return t.verdict("model-callback-queue");
}
